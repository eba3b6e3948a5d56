//! Testing your sagas (feature `testing`): make steps and compensations fail, run steps
//! twice, delay them, without touching their code; and record what ran.
//!
//! [`Faults`] is an [`Observer`] that injects faults at the points you name (by step
//! name or position) and records a [`Trace`] of every attempt. It works the same for
//! `saga!` sagas, runtime-composed ones, sync and async, because it acts inside the
//! executor.
//!
//! # Examples
//!
//! A test a user would write: make the hotel fail and check that the flight was
//! cancelled and the card refunded, in that order.
//!
//! ```
//! use tale::testing::Faults;
//! use tale::compose::{Link, Saga};
//! use tale::Executor;
//!
//! #[derive(Debug, PartialEq)]
//! enum BookingError { NoRooms }
//!
//! let mut saga: Saga<'_, Vec<&str>, BookingError> = Saga::new("trip")
//!     .step(Link::new("debit", |log: &mut Vec<&str>| log.push("charged"))
//!         .compensate(|log, _| log.push("refunded")))
//!     .step(Link::new("flight", |log: &mut Vec<&str>| log.push("flight booked"))
//!         .compensate(|log, _| log.push("flight cancelled")))
//!     .step(Link::new("hotel", |log: &mut Vec<&str>| log.push("hotel booked")));
//!
//! let faults = Faults::new().fail_step("hotel", || BookingError::NoRooms);
//! let mut executor = Executor::new().with_observer(faults);
//! let mut world = Vec::new();
//! let error = saga.run(&mut executor, &mut world).unwrap_err();
//!
//! assert_eq!(*error.failure().error(), BookingError::NoRooms);
//! assert_eq!(world, ["charged", "flight booked", "flight cancelled", "refunded"]);
//! assert_eq!(
//!     executor.observer().trace().lines(),
//!     [
//!         "step `debit` attempt 1: ok",
//!         "step `flight` attempt 1: ok",
//!         "step `hotel` attempt 1: failed: NoRooms (injected)",
//!         "compensation of `flight` attempt 1: ok",
//!         "compensation of `debit` attempt 1: ok",
//!     ]
//! );
//! ```

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use super::{Event, Fault, FaultPoint, Observer, StepRef};

/// Which step a fault applies to: its name or its position (from 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every step with this name.
    Name(Cow<'static, str>),
    /// The step at this position in declaration order.
    Index(usize),
}

impl From<&'static str> for Target {
    fn from(name: &'static str) -> Self {
        Target::Name(Cow::Borrowed(name))
    }
}

impl From<String> for Target {
    fn from(name: String) -> Self {
        Target::Name(Cow::Owned(name))
    }
}

impl From<usize> for Target {
    fn from(index: usize) -> Self {
        Target::Index(index)
    }
}

impl Target {
    fn matches(&self, step: &StepRef<'_>) -> bool {
        match self {
            Target::Name(name) => step.name == name,
            Target::Index(index) => step.index == *index,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Execute,
    Compensate,
}

enum Action<E> {
    Fail(Box<dyn FnMut() -> E + Send>),
    Repeat,
    Delay(Duration),
}

struct Rule<E> {
    target: Target,
    phase: Phase,
    /// The fault applies to attempts `1..=attempts` (all attempts if `u32::MAX`).
    attempts: u32,
    action: Action<E>,
}

/// Faults to inject into the sagas an executor runs, and the [`Trace`] of what ran.
///
/// Use it as the executor's observer (or beside another one, as a pair). See the
/// [module docs](self) for a complete test.
pub struct Faults<E> {
    rules: Vec<Rule<E>>,
    trace: Trace,
    injected: Option<(usize, u32, Phase)>,
}

impl<E> Default for Faults<E> {
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            trace: Trace::default(),
            injected: None,
        }
    }
}

impl<E> fmt::Debug for Faults<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults")
            .field("rules", &self.rules.len())
            .field("trace", &self.trace)
            .finish()
    }
}

impl<E> Faults<E> {
    /// No faults; only records the trace.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn rule(
        mut self,
        target: impl Into<Target>,
        phase: Phase,
        attempts: u32,
        action: Action<E>,
    ) -> Self {
        self.rules.push(Rule {
            target: target.into(),
            phase,
            attempts,
            action,
        });
        self
    }

    /// Every attempt of the step fails with `error()`, without running.
    #[must_use]
    pub fn fail_step(
        self,
        target: impl Into<Target>,
        error: impl FnMut() -> E + Send + 'static,
    ) -> Self {
        self.rule(
            target,
            Phase::Execute,
            u32::MAX,
            Action::Fail(Box::new(error)),
        )
    }

    /// The first `n` attempts of the step fail with `error()`; later ones run: a
    /// transient failure, for testing retry policies.
    #[must_use]
    pub fn fail_step_times(
        self,
        target: impl Into<Target>,
        n: u32,
        error: impl FnMut() -> E + Send + 'static,
    ) -> Self {
        self.rule(target, Phase::Execute, n, Action::Fail(Box::new(error)))
    }

    /// Every attempt of the step's compensation fails with `error()`, without running.
    #[must_use]
    pub fn fail_compensation(
        self,
        target: impl Into<Target>,
        error: impl FnMut() -> E + Send + 'static,
    ) -> Self {
        self.rule(
            target,
            Phase::Compensate,
            u32::MAX,
            Action::Fail(Box::new(error)),
        )
    }

    /// The first `n` attempts of the step's compensation fail with `error()`.
    #[must_use]
    pub fn fail_compensation_times(
        self,
        target: impl Into<Target>,
        n: u32,
        error: impl FnMut() -> E + Send + 'static,
    ) -> Self {
        self.rule(target, Phase::Compensate, n, Action::Fail(Box::new(error)))
    }

    /// Runs each attempt of the step twice, keeping the second output: if the step is
    /// idempotent, the world looks as if it ran once.
    #[must_use]
    pub fn repeat_step(self, target: impl Into<Target>) -> Self {
        self.rule(target, Phase::Execute, u32::MAX, Action::Repeat)
    }

    /// Delays each attempt of the step by `delay` on the executor's clock, for
    /// instance past its timeout.
    #[must_use]
    pub fn delay_step(self, target: impl Into<Target>, delay: Duration) -> Self {
        self.rule(target, Phase::Execute, u32::MAX, Action::Delay(delay))
    }

    /// What ran so far.
    #[must_use]
    pub fn trace(&self) -> &Trace {
        &self.trace
    }
}

/// The record of every attempt of every step and compensation, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    entries: Vec<Traced>,
}

/// One attempt in a [`Trace`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Traced {
    /// The step's position.
    pub index: usize,
    /// The step's name.
    pub name: String,
    /// True for a compensation attempt.
    pub compensation: bool,
    /// The attempt's number, from 1.
    pub attempt: u32,
    /// How it ended.
    pub result: AttemptResult,
}

/// How a traced attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptResult {
    /// It succeeded.
    Succeeded,
    /// It failed with this error (`Debug` form); `injected` if a [`Faults`] rule made it.
    Failed {
        /// The error's `Debug` form.
        error: String,
        /// True if the failure was injected.
        injected: bool,
    },
    /// It panicked.
    Panicked,
}

impl Trace {
    /// Every attempt, in order.
    #[must_use]
    pub fn entries(&self) -> &[Traced] {
        &self.entries
    }

    /// The names of the steps that completed, in order.
    #[must_use]
    pub fn completed(&self) -> Vec<&str> {
        self.names(false)
    }

    /// The names of the steps whose compensation completed, in order.
    #[must_use]
    pub fn compensated(&self) -> Vec<&str> {
        self.names(true)
    }

    fn names(&self, compensation: bool) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| e.compensation == compensation && e.result == AttemptResult::Succeeded)
            .map(|e| e.name.as_str())
            .collect()
    }

    /// One readable line per attempt.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        self.entries.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for Traced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.compensation {
            "compensation of"
        } else {
            "step"
        };
        write!(f, "{what} `{}` attempt {}: ", self.name, self.attempt)?;
        match &self.result {
            AttemptResult::Succeeded => f.write_str("ok"),
            AttemptResult::Failed { error, injected } => {
                write!(
                    f,
                    "failed: {error}{}",
                    if *injected { " (injected)" } else { "" }
                )
            }
            AttemptResult::Panicked => f.write_str("panicked"),
        }
    }
}

impl<E: fmt::Debug> Observer<E> for Faults<E> {
    fn on_event(&mut self, event: &Event<'_, E>) {
        let (step, attempt, compensation, result) = match *event {
            Event::AttemptSucceeded { step, attempt } => {
                (step, attempt, false, AttemptResult::Succeeded)
            }
            Event::AttemptFailed {
                step,
                attempt,
                error,
                ..
            } => {
                let injected = self.injected == Some((step.index, attempt, Phase::Execute));
                let error = format!("{error:?}");
                (
                    step,
                    attempt,
                    false,
                    AttemptResult::Failed { error, injected },
                )
            }
            Event::AttemptPanicked { step, attempt } => {
                (step, attempt, false, AttemptResult::Panicked)
            }
            Event::CompensationSucceeded { step, attempt } => {
                (step, attempt, true, AttemptResult::Succeeded)
            }
            Event::CompensationFailed {
                step,
                attempt,
                error,
                ..
            } => {
                let injected = self.injected == Some((step.index, attempt, Phase::Compensate));
                let result = match error {
                    Some(error) => AttemptResult::Failed {
                        error: format!("{error:?}"),
                        injected,
                    },
                    None => AttemptResult::Panicked,
                };
                (step, attempt, true, result)
            }
            _ => return,
        };
        self.trace.entries.push(Traced {
            index: step.index,
            name: step.name.to_owned(),
            compensation,
            attempt,
            result,
        });
    }

    fn intercept(&mut self, point: &FaultPoint<'_>) -> Option<Fault<E>> {
        let (step, attempt, phase) = match *point {
            FaultPoint::Execute { step, attempt } => (step, attempt, Phase::Execute),
            FaultPoint::Compensate { step, attempt } => (step, attempt, Phase::Compensate),
        };
        let rule = self
            .rules
            .iter_mut()
            .find(|r| r.phase == phase && attempt <= r.attempts && r.target.matches(&step))?;
        Some(match &mut rule.action {
            Action::Fail(error) => {
                self.injected = Some((step.index, attempt, phase));
                Fault::Fail(error())
            }
            Action::Repeat => Fault::Repeat,
            Action::Delay(delay) => Fault::Delay(*delay),
        })
    }
}
