//! Events: one per transition of a saga, delivered to an [`Observer`].

use std::fmt;
use std::time::Duration;

use crate::step::StepKind;

/// The step an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepRef<'a> {
    /// Position in declaration order, from 0.
    pub index: usize,
    /// The step's name.
    pub name: &'a str,
    /// The step's kind.
    pub kind: StepKind,
}

/// How a saga ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// Every step succeeded.
    Completed,
    /// A step failed and every completed step was compensated.
    Compensated,
    /// A step failed and some compensation failed or was not run.
    CompensationFailed,
    /// A step panicked; the completed steps were compensated and the panic resumed.
    Panicked,
}

impl Outcome {
    /// The lower-case name used in reports.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Compensated => "compensated",
            Outcome::CompensationFailed => "compensation failed",
            Outcome::Panicked => "panicked",
        }
    }
}

/// One transition of a saga.
///
/// Attempts are numbered from 1. `retry_in` is the delay before the next attempt, or
/// `None` when the executor gives up.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a, E> {
    /// The saga started.
    SagaStarted {
        /// The saga's name.
        saga: &'a str,
    },
    /// An attempt of a step started.
    AttemptStarted {
        /// The step.
        step: StepRef<'a>,
        /// The attempt's number, from 1.
        attempt: u32,
    },
    /// An attempt of a step succeeded: the step is complete.
    AttemptSucceeded {
        /// The step.
        step: StepRef<'a>,
        /// The attempt's number, from 1.
        attempt: u32,
    },
    /// An attempt of a step failed.
    AttemptFailed {
        /// The step.
        step: StepRef<'a>,
        /// The attempt's number, from 1.
        attempt: u32,
        /// The attempt's error.
        error: &'a E,
        /// The delay before the next attempt, or `None` if the step has failed for good.
        retry_in: Option<Duration>,
    },
    /// An attempt of a step panicked; the step has failed for good.
    AttemptPanicked {
        /// The step.
        step: StepRef<'a>,
        /// The attempt's number, from 1.
        attempt: u32,
    },
    /// An attempt of a compensation started.
    CompensationStarted {
        /// The step being compensated.
        step: StepRef<'a>,
        /// The attempt's number, from 1.
        attempt: u32,
        /// True when compensating the failed step itself because its outcome is uncertain.
        uncertain: bool,
    },
    /// A compensation succeeded.
    CompensationSucceeded {
        /// The step compensated.
        step: StepRef<'a>,
        /// The attempt's number, from 1.
        attempt: u32,
    },
    /// An attempt of a compensation failed (or panicked, with `error` `None`).
    CompensationFailed {
        /// The step being compensated.
        step: StepRef<'a>,
        /// The attempt's number, from 1.
        attempt: u32,
        /// The attempt's error, or `None` if it panicked.
        error: Option<&'a E>,
        /// The delay before the next attempt, or `None` if the compensation has failed for good.
        retry_in: Option<Duration>,
    },
    /// A completed step's compensation was not attempted because an earlier one failed
    /// and the executor stops at the first compensation failure.
    CompensationSkipped {
        /// The step left as it is.
        step: StepRef<'a>,
    },
    /// The saga finished.
    SagaFinished {
        /// The saga's name.
        saga: &'a str,
        /// How it ended.
        outcome: Outcome,
    },
}

impl<E: fmt::Display> fmt::Display for Event<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::SagaStarted { saga } => write!(f, "saga `{saga}` started"),
            Event::AttemptStarted { step, attempt } => {
                write!(f, "step `{}` attempt {attempt} started", step.name)
            }
            Event::AttemptSucceeded { step, attempt } => {
                write!(f, "step `{}` attempt {attempt} succeeded", step.name)
            }
            Event::AttemptFailed {
                step,
                attempt,
                error,
                retry_in,
            } => {
                write!(f, "step `{}` attempt {attempt} failed: {error}", step.name)?;
                write_retry(f, *retry_in)
            }
            Event::AttemptPanicked { step, attempt } => {
                write!(f, "step `{}` attempt {attempt} panicked", step.name)
            }
            Event::CompensationStarted {
                step,
                attempt,
                uncertain,
            } => {
                let which = if *uncertain {
                    " (uncertain outcome)"
                } else {
                    ""
                };
                write!(
                    f,
                    "compensation of `{}`{which} attempt {attempt} started",
                    step.name
                )
            }
            Event::CompensationSucceeded { step, attempt } => {
                write!(
                    f,
                    "compensation of `{}` attempt {attempt} succeeded",
                    step.name
                )
            }
            Event::CompensationFailed {
                step,
                attempt,
                error,
                retry_in,
            } => {
                write!(f, "compensation of `{}` attempt {attempt} ", step.name)?;
                match error {
                    Some(e) => write!(f, "failed: {e}")?,
                    None => f.write_str("panicked")?,
                }
                write_retry(f, *retry_in)
            }
            Event::CompensationSkipped { step } => {
                write!(f, "compensation of `{}` skipped", step.name)
            }
            Event::SagaFinished { saga, outcome } => {
                write!(f, "saga `{saga}` finished: {}", outcome.as_str())
            }
        }
    }
}

fn write_retry(f: &mut fmt::Formatter<'_>, retry_in: Option<Duration>) -> fmt::Result {
    match retry_in {
        Some(d) => write!(f, "; retrying in {d:?}"),
        None => f.write_str("; giving up"),
    }
}

/// Receives every [`Event`] of the sagas an [`Executor`](crate::Executor) runs.
///
/// `()` observes nothing and costs nothing. A pair `(A, B)` delivers to both, `&mut O`
/// lets you keep the observer, and [`observe_fn`] turns a closure into one.
///
/// # Examples
///
/// ```
/// use tale::{Event, Executor, from_fn, observe_fn};
///
/// let mut lines = Vec::new();
/// let mut executor = Executor::new().observer(observe_fn(|e: &Event<'_, String>| lines.push(e.to_string())));
/// executor.run_step(from_fn(|| Ok::<_, String>(7))).unwrap();
/// drop(executor);
/// assert_eq!(lines[1], "step `closure` attempt 1 started");
/// ```
pub trait Observer<E> {
    /// Called for each transition, in order.
    fn on_event(&mut self, event: &Event<'_, E>);

    /// Called before each attempt of a step or a compensation; a fault returned here
    /// replaces or alters the attempt. This is how the `testing` feature's `Faults`
    /// makes steps fail without touching their code. The default injects nothing and
    /// costs nothing.
    #[inline]
    fn intercept(&mut self, point: &FaultPoint<'_>) -> Option<Fault<E>> {
        let _ = point;
        None
    }

    /// True if this observer ignores every event and injects nothing, so that a run
    /// need not reach it at all: the branches of an async parallel group then skip
    /// taking the run's lock on their first attempt. Only `()` says so; not part of the
    /// stable API.
    #[doc(hidden)]
    #[inline]
    fn is_silent(&self) -> bool {
        false
    }
}

/// Where a fault can be injected: before an attempt of a step or of a compensation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultPoint<'a> {
    /// Before an attempt of a step.
    Execute {
        /// The step.
        step: StepRef<'a>,
        /// The attempt's number, from 1.
        attempt: u32,
    },
    /// Before an attempt of a compensation.
    Compensate {
        /// The step being compensated.
        step: StepRef<'a>,
        /// The attempt's number, from 1.
        attempt: u32,
    },
}

/// What an [`Observer::intercept`] does to an attempt.
#[derive(Debug)]
#[non_exhaustive]
pub enum Fault<E> {
    /// The attempt fails with this error without running.
    Fail(E),
    /// The attempt runs twice: the first output is dropped and the second kept, to show
    /// that the step is idempotent (only for step attempts).
    Repeat,
    /// The attempt waits this long on the executor's clock before running; in an async
    /// saga the wait counts against the step's timeout and the saga's deadline.
    Delay(Duration),
}

impl<E> Observer<E> for () {
    #[inline]
    fn on_event(&mut self, _: &Event<'_, E>) {}
    #[inline]
    fn is_silent(&self) -> bool {
        true
    }
}

impl<E, O: Observer<E> + ?Sized> Observer<E> for &mut O {
    fn on_event(&mut self, event: &Event<'_, E>) {
        (**self).on_event(event);
    }
    fn intercept(&mut self, point: &FaultPoint<'_>) -> Option<Fault<E>> {
        (**self).intercept(point)
    }
    fn is_silent(&self) -> bool {
        (**self).is_silent()
    }
}

impl<E, A: Observer<E>, B: Observer<E>> Observer<E> for (A, B) {
    fn on_event(&mut self, event: &Event<'_, E>) {
        self.0.on_event(event);
        self.1.on_event(event);
    }
    fn intercept(&mut self, point: &FaultPoint<'_>) -> Option<Fault<E>> {
        self.0.intercept(point).or_else(|| self.1.intercept(point))
    }
}

/// An [`Observer`] made from a closure; see [`observe_fn`].
#[derive(Clone, Debug)]
pub struct FnObserver<F>(F);

/// Turns a closure into an [`Observer`].
pub fn observe_fn<E, F: FnMut(&Event<'_, E>)>(f: F) -> FnObserver<F> {
    FnObserver(f)
}

impl<E, F: FnMut(&Event<'_, E>)> Observer<E> for FnObserver<F> {
    fn on_event(&mut self, event: &Event<'_, E>) {
        (self.0)(event);
    }
}
