//! The [`AsyncStep`] trait: a step whose execution and compensation are futures.

use std::future::Future;

use crate::retry::Retry;
use crate::step::{Step, StepKind};
use crate::timeout::Timeout;

/// A typed invocation whose `execute` and `compensate` are asynchronous: what
/// `#[step]` makes of an `async fn`. Every synchronous [`Step`] is also an `AsyncStep`,
/// so sync steps mix freely into async sagas.
///
/// The futures carry no `Send` bound: a saga's future is `Send` exactly when its steps'
/// futures are, so sagas of `Send` steps can be spawned on a multi-threaded runtime.
///
/// The metadata methods mean what they mean on [`Step`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a saga step",
    label = "not a `tale::Step` or `tale::AsyncStep`",
    note = "an async saga runs `#[step]` functions (sync or async) called with their arguments, `step(|| ...)`, or your own `Step` or `AsyncStep` impl"
)]
pub trait AsyncStep {
    /// What a successful `execute` produces.
    type Output;
    /// The error of an attempt or of a compensation.
    type Error;

    /// Runs the step once. Called again for each retry.
    fn execute(&mut self) -> impl Future<Output = Result<Self::Output, Self::Error>>;

    /// Undoes a completed step, given the output its `execute` produced.
    fn compensate(
        &mut self,
        output: &Self::Output,
    ) -> impl Future<Output = Result<(), Self::Error>>;

    /// Undoes a step that failed with an uncertain outcome.
    fn compensate_uncertain(&mut self) -> impl Future<Output = Result<(), Self::Error>> {
        async { Ok(()) }
    }

    /// See [`Step::kind`].
    fn kind(&self) -> StepKind {
        StepKind::Compensatable
    }
    /// See [`Step::name`].
    fn name(&self) -> &str {
        "step"
    }
    /// See `Step::static_name`. Not part of the stable API.
    #[doc(hidden)]
    fn static_name(&self) -> Option<&'static str> {
        None
    }
    /// See [`Step::has_compensation`].
    fn has_compensation(&self) -> bool {
        true
    }
    /// See [`Step::is_uncertain`].
    fn is_uncertain(&self) -> bool {
        false
    }
    /// See [`Step::retry_policy`].
    fn retry_policy(&self) -> Option<Retry<Self::Error>> {
        None
    }
    /// How long one attempt may take. An attempt that takes longer is dropped and fails
    /// with the timeout's error; its outcome is uncertain, so the step's uncertain
    /// compensation runs if the step fails for good. `None`, the default, means no limit.
    fn timeout(&self) -> Option<Timeout<Self::Error>> {
        None
    }
    /// See [`Step::compensation_retry_policy`].
    fn compensation_retry_policy(&self) -> Option<Retry<Self::Error>> {
        None
    }
}

impl<S: Step> AsyncStep for S {
    type Output = S::Output;
    type Error = S::Error;

    // `async fn`, not `ready(...)`: the sync call must happen when the future is first
    // polled, so that a cancelled saga never starts it.
    async fn execute(&mut self) -> Result<S::Output, S::Error> {
        Step::execute(self)
    }
    async fn compensate(&mut self, output: &S::Output) -> Result<(), S::Error> {
        Step::compensate(self, output)
    }
    async fn compensate_uncertain(&mut self) -> Result<(), S::Error> {
        Step::compensate_uncertain(self)
    }
    fn kind(&self) -> StepKind {
        Step::kind(self)
    }
    fn name(&self) -> &str {
        Step::name(self)
    }
    fn static_name(&self) -> Option<&'static str> {
        Step::static_name(self)
    }
    fn has_compensation(&self) -> bool {
        Step::has_compensation(self)
    }
    fn is_uncertain(&self) -> bool {
        Step::is_uncertain(self)
    }
    fn retry_policy(&self) -> Option<Retry<S::Error>> {
        Step::retry_policy(self)
    }
    fn compensation_retry_policy(&self) -> Option<Retry<S::Error>> {
        Step::compensation_retry_policy(self)
    }
}
