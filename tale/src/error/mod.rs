//! What a failed saga reports: [`SagaError`], the step failure that stopped it, every
//! compensation that failed with it, and every completed step left as it was
//! ([`NotCompensated`]).

mod failure;

use std::error::Error;
use std::fmt;

pub(crate) use failure::Errors;
pub use failure::{CompensationFailure, StepFailure, StepId};

/// A step that the saga did not undo, though it may have done its work, and why.
///
/// A saga reports work as undone only if its compensation ran and succeeded; each of
/// these makes it [`SagaError::CompensationFailed`], never `Compensated`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NotCompensated {
    /// The step's attempt was cut short (a per-attempt timeout, the saga's deadline, a
    /// cancellation, a failed sibling of a `fail_fast` group), or it failed with an
    /// uncertain outcome, so its work may have happened; but it has no compensation
    /// that works without its output (declare it `uncertain`, with a compensation that
    /// takes `Option<&Output>`). Its outcome is unknown: someone must look.
    OutcomeUnknown(StepId),
    /// The step's compensation was not attempted: an earlier one failed, and the
    /// executor stops at the first failure
    /// ([`OnCompensationFailure::Stop`](crate::OnCompensationFailure::Stop)).
    Skipped(StepId),
    /// The step's compensation panicked (the panic resumes once the saga is done).
    Panicked(StepId),
}

impl NotCompensated {
    /// The step left as it was.
    #[must_use]
    pub fn step(&self) -> &StepId {
        match self {
            NotCompensated::OutcomeUnknown(step)
            | NotCompensated::Skipped(step)
            | NotCompensated::Panicked(step) => step,
        }
    }
}

/// `` `pay` (step 2): outcome unknown (...) ``
impl fmt::Display for NotCompensated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self {
            NotCompensated::OutcomeUnknown(_) => {
                "outcome unknown: its work may have happened, and it has no compensation without its output"
            }
            NotCompensated::Skipped(_) => {
                "skipped: the executor stops at the first failed compensation"
            }
            NotCompensated::Panicked(_) => "its compensation panicked",
        };
        write!(f, "{}: {why}", self.step())
    }
}

/// The error of a saga that failed: the step failure that stopped it and, one match
/// away, whether every completed step was compensated.
///
/// # Examples
///
/// ```
/// use tale::step::from_fn;
/// use tale::{Executor, SagaError};
///
/// let result = Executor::new().run_step(from_fn(|| Err::<(), _>("no seats")));
/// match result {
///     Err(SagaError::Compensated { failure }) => assert_eq!(*failure.error(), "no seats"),
///     Err(other) => unreachable!("nothing to compensate: {other}"),
///     Ok(()) => unreachable!(),
/// }
/// ```
#[non_exhaustive]
pub enum SagaError<E> {
    /// A step failed and every completed step was compensated: the world is as before.
    Compensated {
        /// The step that failed.
        failure: Box<StepFailure<E>>,
    },
    /// A step failed, and some step was not undone: a compensation failed for good, or
    /// was not attempted, or could not run for want of the step's output. Someone must
    /// look.
    CompensationFailed {
        /// The step that failed.
        failure: Box<StepFailure<E>>,
        /// Every compensation that failed, in the order they ran.
        compensations: Vec<CompensationFailure<E>>,
        /// The steps left as they were without a failed compensation, and why, in the
        /// order they would have been compensated.
        not_compensated: Vec<NotCompensated>,
    },
}

impl<E> SagaError<E> {
    /// The step failure that stopped the saga.
    #[must_use]
    pub fn failure(&self) -> &StepFailure<E> {
        match self {
            SagaError::Compensated { failure } | SagaError::CompensationFailed { failure, .. } => {
                failure
            }
        }
    }

    /// The compensations that failed, in the order they ran; empty if the saga was
    /// fully compensated.
    #[must_use]
    pub fn compensation_failures(&self) -> &[CompensationFailure<E>] {
        match self {
            SagaError::Compensated { .. } => &[],
            SagaError::CompensationFailed { compensations, .. } => compensations,
        }
    }

    /// True if every completed step was compensated.
    #[must_use]
    pub fn is_compensated(&self) -> bool {
        matches!(self, SagaError::Compensated { .. })
    }

    /// The failed step's last error, dropping the rest.
    #[must_use]
    pub fn into_step_error(self) -> E {
        match self {
            SagaError::Compensated { failure } | SagaError::CompensationFailed { failure, .. } => {
                failure.into_error()
            }
        }
    }
}

impl<E: fmt::Debug> fmt::Debug for SagaError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SagaError::Compensated { failure } => f
                .debug_struct("Compensated")
                .field("failure", failure)
                .finish(),
            SagaError::CompensationFailed {
                failure,
                compensations,
                not_compensated,
            } => f
                .debug_struct("CompensationFailed")
                .field("failure", failure)
                .field("compensations", compensations)
                .field("not_compensated", not_compensated)
                .finish(),
        }
    }
}

// Written by hand rather than with thiserror: the message lists every compensation
// failure, and thiserror cannot infer the `E: Display` bound that needs.
/// One line: `saga compensated: ...` or `saga NOT compensated: ...; ...`. The alternate
/// form (`{:#}`) gives one line per failure, for an operator:
///
/// ```text
/// saga NOT compensated
///   failed: `book_hotel` (step 1) after 3 attempts (no attempts left): sold out
///   compensation of `debit` (step 0) failed after 2 attempts: bank down
///   not compensated: `pay` (step 2): outcome unknown: its work may have happened, ...
/// ```
impl<E: fmt::Display> fmt::Display for SagaError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (failure, compensations, not_compensated) = match self {
            SagaError::Compensated { failure } => (failure, &[][..], &[][..]),
            SagaError::CompensationFailed {
                failure,
                compensations,
                not_compensated,
            } => (failure, &compensations[..], &not_compensated[..]),
        };
        let verdict = if self.is_compensated() {
            "saga compensated"
        } else {
            "saga NOT compensated"
        };
        if !f.alternate() {
            write!(f, "{verdict}: {failure}")?;
            for c in compensations {
                write!(f, "; {c}")?;
            }
            for n in not_compensated {
                write!(f, "; not compensated: {n}")?;
            }
            return Ok(());
        }
        write!(f, "{verdict}\n  failed: {} ", failure.step)?;
        failure.write_attempts(f)?;
        for sibling in &failure.siblings {
            write!(f, "\n  also failed, in parallel: {} ", sibling.step)?;
            sibling.write_attempts(f)?;
        }
        for c in compensations {
            write!(f, "\n  {c}")?;
        }
        for n in not_compensated {
            write!(f, "\n  not compensated: {n}")?;
        }
        Ok(())
    }
}

impl<E: Error + 'static> Error for SagaError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.failure())
    }
}
