//! [`Observer`]: what receives every event of a run, and may inject a [`Fault`] before
//! an attempt.

use std::fmt;
use std::time::Duration;

use super::event::Event;
use super::scope::Scope;
use crate::step::describe::StepRef;

/// Receives every [`Event`] of the sagas an [`Executor`](crate::Executor) runs.
///
/// `()` observes nothing and costs nothing. A pair `(A, B)` delivers to both, `&mut O`
/// lets you keep the observer, and [`observe_fn`] turns a closure into one.
///
/// # Examples
///
/// ```
/// use tale::observe::observe_fn;
/// use tale::step::from_fn;
/// use tale::{Event, Executor};
///
/// let mut lines = Vec::new();
/// let mut executor = Executor::new().with_observer(observe_fn(|e: &Event<'_, String>| lines.push(e.to_string())));
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

    /// The scope the attempt of step `index` that just started (after its
    /// `AttemptStarted` or `CompensationStarted` event) runs in: the engine enters it
    /// around the step's `execute` or `compensate` call, and around every poll of an
    /// async attempt's future, so that what the step's code traces nests under the
    /// step's span. The default is no scope, and costs nothing; `TracingObserver`
    /// hands out its step's span. Not part of the stable API.
    #[doc(hidden)]
    #[inline]
    fn scope(&self, index: usize) -> Scope {
        let _ = index;
        Scope::none()
    }

    /// A durable run says which saga instance it is (its `SagaId`), right after its
    /// `SagaStarted` event. Not part of the stable API.
    #[doc(hidden)]
    #[inline]
    fn execution_id(&mut self, id: &dyn fmt::Display) {
        let _ = id;
    }

    /// A durable run answered `step` from its journal instead of running it: an
    /// earlier run completed it (`succeeded`), or failed it for good. Not part of the
    /// stable API.
    #[doc(hidden)]
    #[inline]
    fn replayed(&mut self, step: StepRef<'_>, succeeded: bool) {
        let _ = (step, succeeded);
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
    #[inline]
    fn scope(&self, index: usize) -> Scope {
        (**self).scope(index)
    }
    fn execution_id(&mut self, id: &dyn fmt::Display) {
        (**self).execution_id(id);
    }
    fn replayed(&mut self, step: StepRef<'_>, succeeded: bool) {
        (**self).replayed(step, succeeded);
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
    #[inline]
    fn scope(&self, index: usize) -> Scope {
        self.0.scope(index).or_else(|| self.1.scope(index))
    }
    fn execution_id(&mut self, id: &dyn fmt::Display) {
        self.0.execution_id(id);
        self.1.execution_id(id);
    }
    fn replayed(&mut self, step: StepRef<'_>, succeeded: bool) {
        self.0.replayed(step, succeeded);
        self.1.replayed(step, succeeded);
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
