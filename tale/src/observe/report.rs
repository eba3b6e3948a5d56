//! [`Report`]: an observer that sums a run up: steps, attempts, durations, outcome.

use std::fmt;
use std::time::Duration;

use super::{Event, Observer, Outcome};
use crate::clock::{Clock, SystemClock};

/// What became of one step in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StepStatus {
    /// Started and not finished (only seen in a report read mid-run).
    Running,
    /// Succeeded and stands.
    Succeeded,
    /// Failed for good (or panicked).
    Failed,
    /// Succeeded (or failed uncertainly) and was compensated.
    Compensated,
    /// Its compensation failed for good.
    CompensationFailed,
    /// Its compensation was skipped after an earlier compensation failed.
    NotCompensated,
    /// It may have done its work (its attempt was cut short, or failed with an uncertain
    /// outcome) and cannot be undone without its output: not compensated.
    OutcomeUnknown,
}

/// One step's line in a [`Report`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepReport {
    /// Position in declaration order.
    pub index: usize,
    /// The step's name.
    pub name: String,
    /// Attempts of `execute`.
    pub attempts: u32,
    /// Attempts of the compensation (0 if it never ran).
    pub compensation_attempts: u32,
    /// From the first attempt's start to the last attempt's end, retry delays included.
    pub duration: Duration,
    /// From the compensation's first attempt to its end.
    pub compensation_duration: Duration,
    /// What became of the step.
    pub status: StepStatus,
}

/// An [`Observer`] that records each run as a list of steps with their attempts and
/// durations, measured on its own [`Clock`].
///
/// # Examples
///
/// ```
/// use tale::observe::Report;
/// use tale::step::from_fn;
/// use tale::{Executor, Outcome, SystemClock};
///
/// let mut executor = Executor::new().with_observer(Report::new(SystemClock));
/// executor.run_step(from_fn(|| Ok::<_, String>(()))).unwrap();
/// let report = executor.into_observer();
/// assert_eq!(report.outcome(), Some(Outcome::Completed));
/// assert_eq!(report.steps()[0].attempts, 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Report<C = SystemClock> {
    clock: C,
    saga: String,
    started: Duration,
    duration: Duration,
    steps: Vec<StepReport>,
    /// When each line's current phase (execution, then compensation) started, by line;
    /// per line, so that concurrent branches are timed apart.
    phase_started: Vec<Duration>,
    outcome: Option<Outcome>,
}

impl<C: Clock> Report<C> {
    /// A report that measures time on `clock`.
    pub fn new(clock: C) -> Self {
        Self {
            clock,
            saga: String::new(),
            started: Duration::ZERO,
            duration: Duration::ZERO,
            steps: Vec::new(),
            phase_started: Vec::new(),
            outcome: None,
        }
    }
}

impl<C> Report<C> {
    /// The saga's name.
    #[must_use]
    pub fn saga(&self) -> &str {
        &self.saga
    }
    /// Every step that started, in the order they started.
    #[must_use]
    pub fn steps(&self) -> &[StepReport] {
        &self.steps
    }
    /// How the run ended, or `None` while it runs.
    #[must_use]
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }
    /// The run's duration.
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.duration
    }

    /// The line of step `index` and when its current phase started.
    fn line(&mut self, index: usize) -> Option<(&mut StepReport, Duration)> {
        let at = self.steps.iter().rposition(|s| s.index == index)?;
        Some((&mut self.steps[at], self.phase_started[at]))
    }

    fn restart_phase(&mut self, index: usize, now: Duration) {
        if let Some(at) = self.steps.iter().rposition(|s| s.index == index) {
            self.phase_started[at] = now;
        }
    }
}

impl<E, C: Clock> Observer<E> for Report<C> {
    fn on_event(&mut self, event: &Event<'_, E>) {
        let now = self.clock.now();
        match *event {
            Event::SagaStarted { saga } => {
                saga.clone_into(&mut self.saga);
                self.steps.clear();
                self.phase_started.clear();
                self.outcome = None;
                self.started = now;
            }
            Event::AttemptStarted { step, attempt } => {
                if attempt == 1 {
                    self.phase_started.push(now);
                    self.steps.push(StepReport {
                        index: step.index,
                        name: step.name.to_owned(),
                        attempts: 0,
                        compensation_attempts: 0,
                        duration: Duration::ZERO,
                        compensation_duration: Duration::ZERO,
                        status: StepStatus::Running,
                    });
                }
                if let Some((line, started)) = self.line(step.index) {
                    line.attempts = attempt;
                    line.duration = now.saturating_sub(started);
                }
            }
            Event::AttemptSucceeded { step, .. } => {
                if let Some((line, started)) = self.line(step.index) {
                    line.status = StepStatus::Succeeded;
                    line.duration = now.saturating_sub(started);
                }
            }
            Event::AttemptFailed {
                step,
                retry_in: None,
                ..
            }
            | Event::AttemptPanicked { step, .. } => {
                if let Some((line, started)) = self.line(step.index) {
                    line.status = StepStatus::Failed;
                    line.duration = now.saturating_sub(started);
                }
            }
            Event::AttemptFailed { .. } => {}
            Event::CompensationStarted { step, attempt, .. } => {
                if attempt == 1 {
                    self.restart_phase(step.index, now);
                }
                if let Some((line, _)) = self.line(step.index) {
                    line.compensation_attempts = attempt;
                }
            }
            Event::CompensationSucceeded { step, .. } => {
                if let Some((line, started)) = self.line(step.index) {
                    line.status = StepStatus::Compensated;
                    line.compensation_duration = now.saturating_sub(started);
                }
            }
            Event::CompensationFailed {
                step,
                retry_in: None,
                ..
            } => {
                if let Some((line, started)) = self.line(step.index) {
                    line.status = StepStatus::CompensationFailed;
                    line.compensation_duration = now.saturating_sub(started);
                }
            }
            Event::CompensationFailed { .. } => {}
            Event::CompensationSkipped { step } => {
                if let Some((line, _)) = self.line(step.index) {
                    line.status = StepStatus::NotCompensated;
                }
            }
            Event::OutcomeUnknown { step } => {
                if let Some((line, _)) = self.line(step.index) {
                    line.status = StepStatus::OutcomeUnknown;
                }
            }
            Event::SagaFinished { outcome, .. } => {
                self.outcome = Some(outcome);
                self.duration = now.saturating_sub(self.started);
            }
        }
    }
}

impl fmt::Display for StepStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StepStatus::Running => "running",
            StepStatus::Succeeded => "succeeded",
            StepStatus::Failed => "FAILED",
            StepStatus::Compensated => "compensated",
            StepStatus::CompensationFailed => "COMPENSATION FAILED",
            StepStatus::NotCompensated => "NOT COMPENSATED",
            StepStatus::OutcomeUnknown => "OUTCOME UNKNOWN",
        })
    }
}

impl<C> fmt::Display for Report<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let outcome = self.outcome.map_or("running", Outcome::as_str);
        writeln!(f, "saga `{}`: {outcome} in {:?}", self.saga, self.duration)?;
        for s in &self.steps {
            write!(
                f,
                "  {:>2}. {:<24} {:<20} {} attempt{} in {:?}",
                s.index + 1,
                s.name,
                s.status.to_string(),
                s.attempts,
                if s.attempts == 1 { "" } else { "s" },
                s.duration
            )?;
            if s.compensation_attempts > 0 {
                write!(
                    f,
                    ", undone in {} attempt{} ({:?})",
                    s.compensation_attempts,
                    if s.compensation_attempts == 1 {
                        ""
                    } else {
                        "s"
                    },
                    s.compensation_duration
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
