//! The `metrics` feature: saga events as counters, histograms and a gauge through the
//! [`metrics`] facade, which the application points at the exporter it chose
//! (Prometheus, StatsD, OpenTelemetry, ...). The metrics and their labels are listed on
//! [`MetricsObserver`].

use std::sync::Arc;
use std::time::Duration;

use metrics::{SharedString, Unit, counter, describe_counter, describe_gauge, describe_histogram};
use metrics::{gauge, histogram};

use super::{Event, Observer, Outcome, StepRef};
use crate::clock::{Clock, SystemClock};

const SAGAS_STARTED: &str = "tale_sagas_started_total";
const SAGAS_FINISHED: &str = "tale_sagas_finished_total";
const SAGAS_IN_FLIGHT: &str = "tale_sagas_in_flight";
const SAGA_DURATION: &str = "tale_saga_duration_seconds";
const STEP_ATTEMPTS: &str = "tale_step_attempts_total";
const STEP_FAILURES: &str = "tale_step_failures_total";
const COMPENSATION_ATTEMPTS: &str = "tale_compensation_attempts_total";
const COMPENSATION_FAILURES: &str = "tale_compensation_failures_total";
const STEP_DURATION: &str = "tale_step_duration_seconds";

/// An [`Observer`] that records every saga it sees through the [`metrics`] facade:
/// counters of sagas, attempts and compensations, histograms of durations and a gauge of
/// the sagas in flight. tale installs no recorder: the application installs the exporter
/// it wants (Prometheus, StatsD, OpenTelemetry, ...), and without one every call is a
/// no-op.
///
/// | metric | type | labels | what it counts |
/// |---|---|---|---|
/// | `tale_sagas_started_total` | counter | `saga` | sagas started |
/// | `tale_sagas_finished_total` | counter | `saga`, `outcome` | sagas finished, by outcome |
/// | `tale_sagas_in_flight` | gauge | `saga` | sagas started and not finished |
/// | `tale_saga_duration_seconds` | histogram | `saga`, `outcome` | from start to finish |
/// | `tale_step_attempts_total` | counter | `saga`, `step` | attempts of a step, retries included |
/// | `tale_step_failures_total` | counter | `saga`, `step` | attempts that failed (or panicked), retried or not |
/// | `tale_compensation_attempts_total` | counter | `saga`, `step` | attempts of a step's compensation |
/// | `tale_compensation_failures_total` | counter | `saga`, `step` | compensation attempts that failed (or panicked) |
/// | `tale_step_duration_seconds` | histogram | `saga`, `step`, `phase` | one phase of a step, first attempt to last, retry delays included |
///
/// The labels' values:
///
/// - `saga`: the saga's name (`#![saga(name = "...")]`, the `fn`'s name, `Saga::new`'s);
/// - `step`: the step's name (its `fn`'s, or `.named("...")`);
/// - `outcome`: `completed`, `compensated` (a step failed and every completed step was
///   undone), `stuck` (a step failed and some step was not undone: a compensation failed,
///   was skipped, or could not run; [`Outcome::CompensationFailed`], someone must look),
///   or `panicked` (a step or a compensation panicked; the panic resumed);
/// - `phase`: `execute` or `compensate`.
///
/// A step that failed for good is one whose saga finished `compensated` or `stuck`;
/// `tale_step_attempts_total - tale_step_failures_total` is the attempts that succeeded.
///
/// Durations are measured on the observer's own [`Clock`]: [`SystemClock`] by
/// [`new`](Self::new), any other with [`with_clock`](Self::with_clock) (pass the
/// executor's [`ManualClock`](crate::ManualClock) in tests).
///
/// # Cardinality
///
/// Every label value is the name of a saga or of a step, or one of the fixed words
/// above, so the number of series is bounded by the sagas and steps in your code. Keep
/// it so: name sagas and steps with fixed names, never with an id, an input or anything
/// that grows with traffic (`.named(format!("charge {order}"))` would make one series per
/// order). Names are copied once per saga and step and reused from run to run.
///
/// # In flight
///
/// The gauge goes up when a saga starts and down when it finishes, panics included (the
/// engine reports a panicked saga before the panic resumes). A saga that never finishes
/// because its future was dropped mid-run is taken off the gauge when the same observer
/// sees its next saga start, or when the observer is dropped.
///
/// # Examples
///
/// ```
/// use tale::observe::MetricsObserver;
/// use tale::step::from_fn;
/// use tale::Executor;
///
/// // Install an exporter first (`metrics-exporter-prometheus`, say); without one, the
/// // observer's calls do nothing.
/// let mut executor = Executor::new().with_observer(MetricsObserver::new());
/// executor.run_step(from_fn(|| Ok::<_, String>(()))).unwrap();
/// ```
///
/// With `tracing` too (feature `tracing`): a pair of observers delivers every event to
/// both.
///
/// ```
/// # #[cfg(feature = "tracing")] {
/// use tale::observe::{MetricsObserver, TracingObserver};
/// use tale::Executor;
///
/// let executor = Executor::new().with_observer((TracingObserver::new(), MetricsObserver::new()));
/// # let _ = executor;
/// # }
/// ```
///
/// [`describe`](MetricsObserver::describe) gives each metric its unit and help text,
/// once, after the exporter is installed:
///
/// ```
/// tale::observe::MetricsObserver::describe();
/// ```
#[derive(Debug, Default)]
pub struct MetricsObserver<C = SystemClock> {
    clock: C,
    /// The name of the saga running, or of the last one: kept, so that the next run of
    /// the same saga does not copy it again.
    saga: SharedString,
    /// When the saga running started; `None` between sagas.
    started: Option<Duration>,
    /// Each step's name and when its current phase started, by index: the branches of a
    /// parallel group run at once, each in its own phase.
    steps: Vec<StepSlot>,
}

#[derive(Debug, Default)]
struct StepSlot {
    name: SharedString,
    phase_started: Option<Duration>,
}

impl MetricsObserver {
    /// An observer timing on [`SystemClock`], with no saga running.
    #[must_use]
    pub fn new() -> Self {
        Self::with_clock(SystemClock)
    }

    /// Describes every metric to the installed recorder: its unit and a line of help
    /// (Prometheus's `# HELP`). Call it once after installing the exporter; the metrics
    /// are recorded whether or not it was called.
    pub fn describe() {
        let sagas = "sagas started, by saga";
        describe_counter!(SAGAS_STARTED, Unit::Count, sagas);
        let finished =
            "sagas finished, by saga and outcome (completed, compensated, stuck, panicked)";
        describe_counter!(SAGAS_FINISHED, Unit::Count, finished);
        describe_gauge!(
            SAGAS_IN_FLIGHT,
            Unit::Count,
            "sagas started and not finished"
        );
        let duration = "saga duration from start to finish, by saga and outcome";
        describe_histogram!(SAGA_DURATION, Unit::Seconds, duration);
        let attempts = "attempts of a step, retries included";
        describe_counter!(STEP_ATTEMPTS, Unit::Count, attempts);
        let failures = "attempts of a step that failed or panicked, retried or not";
        describe_counter!(STEP_FAILURES, Unit::Count, failures);
        let attempts = "attempts of a step's compensation";
        describe_counter!(COMPENSATION_ATTEMPTS, Unit::Count, attempts);
        let failures = "attempts of a step's compensation that failed or panicked";
        describe_counter!(COMPENSATION_FAILURES, Unit::Count, failures);
        let duration =
            "a step's execution or compensation, first attempt to last, retry delays included";
        describe_histogram!(STEP_DURATION, Unit::Seconds, duration);
    }
}

impl<C: Clock> MetricsObserver<C> {
    /// An observer timing on `clock`, with no saga running.
    pub fn with_clock(clock: C) -> Self {
        Self {
            clock,
            saga: SharedString::const_str(""),
            started: None,
            steps: Vec::new(),
        }
    }

    /// Step `step`'s slot, its name copied if the slot held another.
    fn slot(&mut self, step: StepRef<'_>) -> &mut StepSlot {
        if self.steps.len() <= step.index {
            self.steps.resize_with(step.index + 1, StepSlot::default);
        }
        let slot = &mut self.steps[step.index];
        if *slot.name != *step.name {
            slot.name = shared(step.name);
            slot.phase_started = None;
        }
        slot
    }

    /// Counts an attempt of `step` in `metric`, starting its phase on the first.
    fn attempt(&mut self, metric: &'static str, step: StepRef<'_>, attempt: u32) {
        let now = (attempt == 1).then(|| self.clock.now());
        let slot = self.slot(step);
        if now.is_some() {
            slot.phase_started = now;
        }
        let name = slot.name.clone();
        counter!(metric, "saga" => self.saga.clone(), "step" => name).increment(1);
    }

    /// Counts a failed attempt of `step` in `metric`.
    fn failure(&mut self, metric: &'static str, step: StepRef<'_>) {
        let name = self.slot(step).name.clone();
        counter!(metric, "saga" => self.saga.clone(), "step" => name).increment(1);
    }

    /// Ends `step`'s current phase: records its duration.
    fn phase_ended(&mut self, step: StepRef<'_>, phase: &'static str) {
        let now = self.clock.now();
        let slot = self.slot(step);
        let Some(started) = slot.phase_started.take() else {
            return;
        };
        let name = slot.name.clone();
        histogram!(STEP_DURATION, "saga" => self.saga.clone(), "step" => name, "phase" => phase)
            .record(now.saturating_sub(started).as_secs_f64());
    }

    fn saga_started(&mut self, saga: &str) {
        self.leave();
        if *self.saga != *saga {
            self.saga = shared(saga);
        }
        self.started = Some(self.clock.now());
        counter!(SAGAS_STARTED, "saga" => self.saga.clone()).increment(1);
        gauge!(SAGAS_IN_FLIGHT, "saga" => self.saga.clone()).increment(1.0);
    }

    fn saga_finished(&mut self, outcome: Outcome) {
        let now = self.clock.now();
        let Some(started) = self.started.take() else {
            return;
        };
        let outcome = outcome_label(outcome);
        gauge!(SAGAS_IN_FLIGHT, "saga" => self.saga.clone()).decrement(1.0);
        counter!(SAGAS_FINISHED, "saga" => self.saga.clone(), "outcome" => outcome).increment(1);
        histogram!(SAGA_DURATION, "saga" => self.saga.clone(), "outcome" => outcome)
            .record(now.saturating_sub(started).as_secs_f64());
    }
}

impl<C> MetricsObserver<C> {
    /// Takes a saga that never finished (its future was dropped mid-run) off the gauge.
    fn leave(&mut self) {
        if self.started.take().is_some() {
            gauge!(SAGAS_IN_FLIGHT, "saga" => self.saga.clone()).decrement(1.0);
        }
    }
}

impl<C> Drop for MetricsObserver<C> {
    fn drop(&mut self) {
        self.leave();
    }
}

/// A name as a label value, copied once and shared by every series that carries it.
fn shared(name: &str) -> SharedString {
    SharedString::from(Arc::<str>::from(name))
}

/// The `outcome` label: [`Outcome::CompensationFailed`] is `stuck`, a saga left half
/// done.
fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Completed => "completed",
        Outcome::Compensated => "compensated",
        Outcome::CompensationFailed => "stuck",
        Outcome::Panicked => "panicked",
    }
}

impl<E, C: Clock> Observer<E> for MetricsObserver<C> {
    fn on_event(&mut self, event: &Event<'_, E>) {
        match *event {
            Event::SagaStarted { saga } => self.saga_started(saga),
            Event::AttemptStarted { step, attempt } => self.attempt(STEP_ATTEMPTS, step, attempt),
            Event::AttemptSucceeded { step, .. } => self.phase_ended(step, "execute"),
            Event::AttemptFailed { step, retry_in, .. } => {
                self.failure(STEP_FAILURES, step);
                if retry_in.is_none() {
                    self.phase_ended(step, "execute");
                }
            }
            Event::AttemptPanicked { step, .. } => {
                self.failure(STEP_FAILURES, step);
                self.phase_ended(step, "execute");
            }
            Event::CompensationStarted { step, attempt, .. } => {
                self.attempt(COMPENSATION_ATTEMPTS, step, attempt);
            }
            Event::CompensationSucceeded { step, .. } => self.phase_ended(step, "compensate"),
            Event::CompensationFailed { step, retry_in, .. } => {
                self.failure(COMPENSATION_FAILURES, step);
                if retry_in.is_none() {
                    self.phase_ended(step, "compensate");
                }
            }
            // The saga's outcome (`stuck`) says that some step was left as it was.
            Event::CompensationSkipped { .. } | Event::OutcomeUnknown { .. } => {}
            Event::SagaFinished { outcome, .. } => self.saga_finished(outcome),
        }
    }
}
