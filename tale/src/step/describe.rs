//! [`Describe`]: what a step is, as opposed to what it does: its name, kind, error type,
//! whether it can be undone, and its retry policies. [`Step`](super::Step) and
//! [`AsyncStep`](super::AsyncStep) share it, so a wrapper describes a step once.

use crate::error::StepId;
use crate::retry::Retry;

use super::StepKind;

/// What a step is: its name, kind and error type, whether it has a compensation and
/// whether its outcome is uncertain, and its retry policies.
///
/// Every [`Step`](super::Step) and [`AsyncStep`](super::AsyncStep) describes itself
/// with this supertrait; `#[step]` and the closure steps write it for you. Every method
/// has a default, so a hand-written step overrides only what it needs (its name, say).
///
/// # Examples
///
/// ```
/// use tale::step::Describe;
/// use tale::{Retry, Step};
///
/// struct Ping;
///
/// impl Describe for Ping {
///     type Error = String;
///     fn name(&self) -> &str { "ping" }
///     fn has_compensation(&self) -> bool { false } // nothing to undo
///     fn retry_policy(&self) -> Option<Retry<String>> { Some(Retry::times(2)) }
/// }
///
/// impl Step for Ping {
///     type Output = ();
///     fn execute(&mut self) -> Result<(), String> { Ok(()) }
///     fn compensate(&mut self, (): &()) -> Result<(), String> { Ok(()) }
/// }
/// # tale::Executor::new().run_step(Ping).unwrap();
/// ```
pub trait Describe {
    /// The error of an attempt or of a compensation.
    type Error;

    /// The step's name in events, reports and errors.
    fn name(&self) -> &str {
        "step"
    }

    /// The name as a `&'static str`, if it is one: a failure then records the name
    /// without allocating. Not part of the stable API.
    #[doc(hidden)]
    fn static_name(&self) -> Option<&'static str> {
        None
    }

    /// For the step of a fan-out's item (`for` in `saga!`), the item's position, which
    /// events and errors name. Not part of the stable API.
    #[doc(hidden)]
    fn item(&self) -> Option<usize> {
        None
    }

    /// The step's kind. A [`Retriable`](StepKind::Retriable) step without a retry
    /// policy of its own is retried under [`Retry::until_success`].
    fn kind(&self) -> StepKind {
        StepKind::Compensatable
    }

    /// Whether the step has a compensation at all. Steps without one emit no
    /// compensation events and cannot be undone.
    fn has_compensation(&self) -> bool {
        true
    }

    /// Whether a failed attempt may still have done its work, so that the step's
    /// uncertain compensation ([`Step::compensate_uncertain`](super::Step::compensate_uncertain))
    /// must run when it fails. A step that is not uncertain but whose attempt was cut
    /// short (a timeout, the deadline, a cancellation) cannot be undone: the saga
    /// reports it as not compensated, its outcome unknown.
    fn is_uncertain(&self) -> bool {
        false
    }

    /// Whether the step can be compensated without its output, that is, whether its
    /// uncertain compensation (`compensate_uncertain`) does something: what the saga asks
    /// before undoing a step whose attempt may have done its work but returned nothing (it
    /// failed uncertainly, or timed out, or was cancelled). False, the default, and the saga
    /// reports such a step as not compensated, its outcome unknown, without calling it.
    fn compensates_without_output(&self) -> bool {
        false
    }

    /// The retry policy of `execute`. `None`, the default, means one attempt.
    ///
    /// Asked only after a failed attempt, so a step that succeeds pays nothing for it.
    fn retry_policy(&self) -> Option<Retry<Self::Error>> {
        None
    }

    /// The retry policy of the compensation. `None`, the default, means one attempt.
    fn compensation_retry_policy(&self) -> Option<Retry<Self::Error>> {
        None
    }
}

impl<S: Describe + ?Sized> Describe for &mut S {
    type Error = S::Error;

    fn name(&self) -> &str {
        (**self).name()
    }
    fn static_name(&self) -> Option<&'static str> {
        (**self).static_name()
    }
    fn item(&self) -> Option<usize> {
        (**self).item()
    }
    fn kind(&self) -> StepKind {
        (**self).kind()
    }
    fn has_compensation(&self) -> bool {
        (**self).has_compensation()
    }
    fn is_uncertain(&self) -> bool {
        (**self).is_uncertain()
    }
    fn compensates_without_output(&self) -> bool {
        (**self).compensates_without_output()
    }
    fn retry_policy(&self) -> Option<Retry<S::Error>> {
        (**self).retry_policy()
    }
    fn compensation_retry_policy(&self) -> Option<Retry<S::Error>> {
        (**self).compensation_retry_policy()
    }
}

/// The step an event is about: its position, name and kind, read from its [`Describe`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepRef<'a> {
    /// Position in declaration order, from 0.
    pub index: usize,
    /// The step's name.
    pub name: &'a str,
    /// The step's kind.
    pub kind: StepKind,
    /// For the step of a fan-out's item, the item's position in the iterator.
    pub item: Option<usize>,
}

impl<'a> StepRef<'a> {
    /// Step `index` (its position in the saga) as events name it.
    #[inline]
    pub(crate) fn of<S: Describe + ?Sized>(index: usize, step: &'a S) -> Self {
        StepRef {
            index,
            name: step.name(),
            kind: step.kind(),
            item: step.item(),
        }
    }
}

impl StepId {
    /// Step `index` as errors name it: its name borrowed when it is a `&'static str`.
    pub(crate) fn of<S: Describe + ?Sized>(index: usize, step: &S) -> Self {
        let mut id = Self::new(index, step.name(), step.static_name());
        id.item = step.item();
        id
    }
}
