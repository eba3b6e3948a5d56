//! What a failed saga reports: the step that failed and why, and every compensation
//! that failed with it.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;

use crate::retry::GaveUp;

/// A step's position in its saga (declaration order, from 0) and its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StepId {
    /// Position in declaration order, from 0.
    pub index: usize,
    /// The step's [`name`](crate::step::Describe::name) (borrowed when it is a `&'static str`,
    /// as a `#[step]` function's is, so that recording a failure does not allocate it).
    pub name: Cow<'static, str>,
}

impl StepId {
    /// Step `index` named `name`: the name is borrowed if `static_name` says it is a
    /// `&'static str` (a `#[step]` function's, a link's named by a literal), copied
    /// otherwise.
    pub(crate) fn new(index: usize, name: &str, static_name: Option<&'static str>) -> Self {
        Self {
            index,
            name: static_name.map_or_else(|| Cow::Owned(name.to_owned()), Cow::Borrowed),
        }
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` (step {})", self.name, self.index)
    }
}

/// Every attempt's error, oldest first. The first is kept inline: a step that fails
/// once (the common case) costs no list.
#[derive(Default)]
pub(crate) enum Errors<E> {
    #[default]
    Empty,
    One(E),
    Many(Vec<E>),
}

impl<E> Errors<E> {
    pub(crate) fn push(&mut self, error: E) {
        *self = match std::mem::take(self) {
            Errors::Empty => Errors::One(error),
            Errors::One(first) => Errors::Many(vec![first, error]),
            Errors::Many(mut all) => {
                all.push(error);
                Errors::Many(all)
            }
        };
    }

    pub(crate) fn as_slice(&self) -> &[E] {
        match self {
            Errors::Empty => &[],
            Errors::One(error) => std::slice::from_ref(error),
            Errors::Many(all) => all,
        }
    }

    fn into_vec(self) -> Vec<E> {
        match self {
            Errors::Empty => Vec::new(),
            Errors::One(error) => vec![error],
            Errors::Many(all) => all,
        }
    }

    fn into_last(self) -> Option<E> {
        match self {
            Errors::Empty => None,
            Errors::One(error) => Some(error),
            Errors::Many(mut all) => all.pop(),
        }
    }
}

impl<E> From<Vec<E>> for Errors<E> {
    fn from(mut all: Vec<E>) -> Self {
        match all.len() {
            0 => Errors::Empty,
            1 => all.pop().map_or(Errors::Empty, Errors::One),
            _ => Errors::Many(all),
        }
    }
}

/// A step that failed for good: every attempt's error, in order, and why retrying stopped.
pub struct StepFailure<E> {
    pub(crate) step: StepId,
    pub(crate) errors: Errors<E>,
    pub(crate) gave_up: GaveUp,
    pub(crate) siblings: Vec<StepFailure<E>>,
}

/// A compensation that failed for good: every attempt's error, in order.
pub struct CompensationFailure<E> {
    pub(crate) step: StepId,
    pub(crate) errors: Errors<E>,
    pub(crate) gave_up: GaveUp,
    pub(crate) uncertain: bool,
}

macro_rules! attempts_accessors {
    ($ty:ident, $what:literal) => {
        impl<E> $ty<E> {
            #[doc = concat!("The step whose ", $what, " failed.")]
            #[must_use]
            pub fn step(&self) -> &StepId {
                &self.step
            }
            #[doc = concat!("The error of the last attempt of the ", $what, ".")]
            #[must_use]
            pub fn error(&self) -> &E {
                // Invariant: built only after at least one failed attempt.
                self.errors
                    .as_slice()
                    .last()
                    .expect("a failure holds at least one error")
            }
            /// Every attempt's error, oldest first; never empty.
            #[must_use]
            pub fn errors(&self) -> &[E] {
                self.errors.as_slice()
            }
            /// How many attempts were made.
            #[must_use]
            pub fn attempts(&self) -> usize {
                self.errors.as_slice().len()
            }
            /// Why retrying stopped.
            #[must_use]
            pub fn gave_up(&self) -> GaveUp {
                self.gave_up
            }
            /// Every attempt's error, oldest first.
            #[must_use]
            pub fn into_errors(self) -> Vec<E> {
                self.errors.into_vec()
            }
        }

        impl<E: fmt::Debug> fmt::Debug for $ty<E> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("step", &self.step)
                    .field("gave_up", &self.gave_up)
                    .field("errors", &self.errors.as_slice())
                    .finish()
            }
        }

        impl<E: Error + 'static> Error for $ty<E> {
            fn source(&self) -> Option<&(dyn Error + 'static)> {
                Some(self.error())
            }
        }
    };
}

attempts_accessors!(StepFailure, "step");
attempts_accessors!(CompensationFailure, "compensation");

impl<E> StepFailure<E> {
    /// The other branches of the same parallel group that failed too, in step order
    /// (this failure is the first of the group's failures). Empty outside parallel groups.
    #[must_use]
    pub fn siblings(&self) -> &[StepFailure<E>] {
        &self.siblings
    }

    /// The error of the last attempt, by value.
    #[must_use]
    pub fn into_error(self) -> E {
        self.errors
            .into_last()
            .expect("a failure holds at least one error")
    }
}

impl<E> CompensationFailure<E> {
    /// True for the compensation of the failed step itself, run because its outcome
    /// was uncertain; false for a completed step's compensation.
    #[must_use]
    pub fn is_uncertain(&self) -> bool {
        self.uncertain
    }
}

fn attempts(n: usize) -> &'static str {
    if n == 1 { "attempt" } else { "attempts" }
}

impl<E: fmt::Display> fmt::Display for StepFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.attempts();
        write!(f, "step {} failed after {n} {}", self.step, attempts(n))?;
        if n > 1 || self.gave_up != GaveUp::AttemptsExhausted {
            write!(f, " ({})", self.gave_up)?;
        }
        write!(f, ": {}", self.error())?;
        for sibling in &self.siblings {
            write!(f, "; in parallel, {sibling}")?;
        }
        Ok(())
    }
}

impl<E: fmt::Display> fmt::Display for CompensationFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.attempts();
        write!(
            f,
            "compensation of step {} failed after {n} {}",
            self.step,
            attempts(n)
        )?;
        write!(f, ": {}", self.error())
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
    /// A step failed and at least one compensation failed too, or was never run because
    /// the executor stops at the first compensation failure: someone must look.
    CompensationFailed {
        /// The step that failed.
        failure: Box<StepFailure<E>>,
        /// Every compensation that failed, in the order they ran.
        compensations: Vec<CompensationFailure<E>>,
        /// The completed steps whose compensation was not attempted, in the order they
        /// would have run (only with
        /// [`OnCompensationFailure::Stop`](crate::OnCompensationFailure::Stop)).
        not_compensated: Vec<StepId>,
    },
}

/// Lists what a saga left undone, after its step failure.
struct Unfinished<'a, E>(&'a [CompensationFailure<E>], &'a [StepId]);

impl<E: fmt::Display> fmt::Display for Unfinished<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0 {
            write!(f, "; {c}")?;
        }
        for (i, s) in self.1.iter().enumerate() {
            let lead = if i == 0 {
                "; never compensated: "
            } else {
                ", "
            };
            write!(f, "{lead}{s}")?;
        }
        Ok(())
    }
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
impl<E: fmt::Display> fmt::Display for SagaError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SagaError::Compensated { failure } => write!(f, "saga compensated: {failure}"),
            SagaError::CompensationFailed {
                failure,
                compensations,
                not_compensated,
            } => write!(
                f,
                "saga NOT compensated: {failure}{}",
                Unfinished(compensations, not_compensated)
            ),
        }
    }
}

impl<E: Error + 'static> Error for SagaError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(self.failure())
    }
}
