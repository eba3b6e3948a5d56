//! The [`AsyncStep`] trait: a step whose execution and compensation are futures.

use std::future::Future;

use super::{Describe, Step};
use crate::timeout::Timeout;

/// A typed invocation whose `execute` and `compensate` are asynchronous: what
/// `#[step]` makes of an `async fn`. Every synchronous [`Step`] is also an `AsyncStep`,
/// so sync steps mix freely into async sagas.
///
/// The futures carry no `Send` bound: a saga's future is `Send` exactly when its steps'
/// futures are, so sagas of `Send` steps can be spawned on a multi-threaded runtime.
///
/// What the step is (its name, kind, policies) is its [`Describe`] impl, shared with
/// [`Step`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a saga step",
    label = "not a `tale::Step` or `tale::AsyncStep`",
    note = "an async saga runs `#[step]` functions (sync or async) called with their arguments, `step(|| ...)`, or your own `Step` or `AsyncStep` impl"
)]
pub trait AsyncStep: Describe {
    /// What a successful `execute` produces.
    type Output;

    /// Runs the step once. Called again for each retry.
    fn execute(&mut self) -> impl Future<Output = Result<Self::Output, Self::Error>>;

    /// Undoes a completed step, given the output its `execute` produced.
    fn compensate(
        &mut self,
        output: &Self::Output,
    ) -> impl Future<Output = Result<(), Self::Error>>;

    /// Undoes a step that failed with an uncertain outcome, as
    /// [`Step::compensate_uncertain`]: its future gives `None` (the default) if the step
    /// has no compensation that works without its output, and the saga then reports it
    /// as not compensated.
    fn compensate_uncertain(&mut self) -> impl Future<Output = Option<Result<(), Self::Error>>> {
        async { None }
    }

    /// How long one attempt may take. An attempt that takes longer is dropped and fails
    /// with the timeout's error; its outcome is uncertain, so the step's uncertain
    /// compensation runs if the step fails for good. `None`, the default, means no limit.
    fn timeout(&self) -> Option<Timeout<Self::Error>> {
        None
    }
}

impl<S: Step> AsyncStep for S {
    type Output = S::Output;

    // `async fn`, not `ready(...)`: the sync call must happen when the future is first
    // polled, so that a cancelled saga never starts it.
    async fn execute(&mut self) -> Result<S::Output, S::Error> {
        Step::execute(self)
    }
    async fn compensate(&mut self, output: &S::Output) -> Result<(), S::Error> {
        Step::compensate(self, output)
    }
    async fn compensate_uncertain(&mut self) -> Option<Result<(), S::Error>> {
        Step::compensate_uncertain(self)
    }
}
