//! [`Event`]: one per transition of a saga.

use std::fmt;
use std::time::Duration;

use crate::error::SagaError;
use crate::step::describe::StepRef;

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
    /// A step or a compensation panicked; the other compensations ran and the panic
    /// resumed.
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
    /// A step whose work may have happened (its attempt was cut short, or it failed with
    /// an uncertain outcome) cannot be undone: it has no compensation that works without
    /// its output. The saga will not report it as compensated.
    OutcomeUnknown {
        /// The step left as it is.
        step: StepRef<'a>,
    },
    /// The saga finished.
    SagaFinished {
        /// The saga's name.
        saga: &'a str,
        /// How it ended.
        outcome: Outcome,
        /// The saga's error, if it failed; also when a compensation panicked, whose
        /// panic then resumes (the error is dropped with it: this event is where the
        /// step failure that started the unwinding can still be read).
        error: Option<&'a SagaError<E>>,
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
            Event::OutcomeUnknown { step } => write!(
                f,
                "step `{}`: outcome unknown, not compensated (no compensation without its output)",
                step.name
            ),
            Event::SagaFinished { saga, outcome, .. } => {
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
