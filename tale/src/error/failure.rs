//! [`StepFailure`] and [`CompensationFailure`]: a step or a compensation that failed for
//! good, with every attempt's error; and [`StepId`], the step they name.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;

use crate::retry::GaveUp;

/// A step's position in its saga (declaration order, from 0) and its name; for a step
/// of a fan-out (`for` in `saga!`), also the position of its item.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StepId {
    /// Position in the run, from 0. A fan-out's items are numbered in turn, so the
    /// steps after a fan-out of `n` items are `n` further on than they are written.
    pub index: usize,
    /// The step's [`name`](crate::step::Describe::name) (borrowed when it is a `&'static str`,
    /// as a `#[step]` function's is, so that recording a failure does not allocate it).
    pub name: Cow<'static, str>,
    /// For a step of a fan-out, its item's position in the iterator, from 0.
    pub item: Option<usize>,
}

impl StepId {
    /// Step `index` named `name`: the name is borrowed if `static_name` says it is a
    /// `&'static str` (a `#[step]` function's, a link's named by a literal), copied
    /// otherwise.
    pub(crate) fn new(index: usize, name: &str, static_name: Option<&'static str>) -> Self {
        Self {
            index,
            name: static_name.map_or_else(|| Cow::Owned(name.to_owned()), Cow::Borrowed),
            item: None,
        }
    }
}

/// `` `reserve` (step 2) ``; a step whose name says no more than its position (the
/// default name `step`, or `step 2` itself) is just `step 2`; the step of a fan-out's
/// item 3 is `` `book_seat` (item 3, step 5) ``.
impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let index = self.index;
        let positional = self.name == "step"
            || self
                .name
                .strip_prefix("step ")
                .is_some_and(|n| n.parse() == Ok(index));
        match (positional, self.item) {
            (true, None) => write!(f, "step {index}"),
            (true, Some(item)) => write!(f, "item {item} (step {index})"),
            (false, None) => write!(f, "`{}` (step {index})", self.name),
            (false, Some(item)) => write!(f, "`{}` (item {item}, step {index})", self.name),
        }
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

// Everything Display shows, and more: `unwrap()` on a saga must lose nothing.
impl<E: fmt::Debug> fmt::Debug for StepFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("StepFailure");
        s.field("step", &self.step)
            .field("gave_up", &self.gave_up)
            .field("errors", &self.errors.as_slice());
        if !self.siblings.is_empty() {
            s.field("siblings", &self.siblings);
        }
        s.finish()
    }
}

impl<E: fmt::Debug> fmt::Debug for CompensationFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompensationFailure")
            .field("step", &self.step)
            .field("uncertain", &self.uncertain)
            .field("gave_up", &self.gave_up)
            .field("errors", &self.errors.as_slice())
            .finish()
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

pub(super) fn attempts(n: usize) -> &'static str {
    if n == 1 { "attempt" } else { "attempts" }
}

impl<E: fmt::Display> StepFailure<E> {
    /// "after 3 attempts (no attempts left): sold out"
    pub(super) fn write_attempts(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.attempts();
        write!(f, "after {n} {}", attempts(n))?;
        if n > 1 || self.gave_up != GaveUp::AttemptsExhausted {
            write!(f, " ({})", self.gave_up)?;
        }
        write!(f, ": {}", self.error())
    }
}

/// `` `book_hotel` (step 1) failed after 3 attempts (no attempts left): sold out ``, then
/// each sibling that failed in the same parallel group.
impl<E: fmt::Display> fmt::Display for StepFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed ", self.step)?;
        self.write_attempts(f)?;
        for sibling in &self.siblings {
            write!(f, "; in parallel, {sibling}")?;
        }
        Ok(())
    }
}

/// `` compensation of `debit` (step 0) failed after 2 attempts: bank down ``
impl<E: fmt::Display> fmt::Display for CompensationFailure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.attempts();
        let which = if self.uncertain {
            " (of its uncertain outcome)"
        } else {
            ""
        };
        write!(
            f,
            "compensation{which} of {} failed after {n} {}: {}",
            self.step,
            attempts(n),
            self.error()
        )
    }
}
