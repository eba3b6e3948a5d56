//! Typed steps as link bodies: a [`Step`] or [`AsyncStep`] value held by a [`Link`] or an
//! [`AsyncLink`], with its output kept for its own compensation, and [`SendableStep`], the
//! typed steps a `Send` async link can hold.
//!
//! [`Link`]: super::Link
//! [`AsyncLink`]: super::AsyncLink

use std::future::Future;

use super::link::Body;
use super::threading::{BoxFuture, LinkBody, Local, LocalBoxFuture, Sendable};
use crate::macro_support::send_step::{SendAsyncStep, SendStep};
use crate::step::{AsyncStep, Describe, Step};
use crate::timeout::Timeout;

/// What a link's compensation is lent: the output of a completed step. The saga
/// compensates only the steps that completed, so it is always there.
const COMPLETED: &str = "a link is compensated only after it completed";

/// A typed step, what it does with its output (`then`: nothing, or the caller's
/// closure), and the output kept between execution and compensation. Boxed once, as
/// the link's body.
pub(crate) struct StepBody<T, F, O> {
    step: T,
    then: F,
    output: Option<O>,
}

impl<T, F, O> StepBody<T, F, O> {
    pub(crate) fn new(step: T, then: F) -> Self {
        Self {
            step,
            then,
            output: None,
        }
    }
}

/// The `then` of a link that does nothing with its step's output (a zero-sized fn item).
pub(crate) fn ignore<S, O>(_: &mut S, _: &O) {}

impl<S, E, T, F, O> Body<S, E> for StepBody<T, F, O>
where
    T: Step<Error = E, Output = O>,
    F: FnMut(&mut S, &O),
{
    fn execute(&mut self, state: &mut S) -> Result<(), E> {
        let output = self.step.execute()?;
        (self.then)(state, &output);
        self.output = Some(output);
        Ok(())
    }
    fn compensate(&mut self, _: &mut S) -> Result<(), E> {
        let output = self.output.as_ref().expect(COMPLETED);
        self.step.compensate(output)
    }
    fn compensate_uncertain(&mut self, _: &mut S) -> Option<Result<(), E>> {
        self.output = None;
        self.step.compensate_uncertain()
    }
    fn forget(&mut self) {
        self.output = None;
    }
    fn describe(&self) -> Option<&dyn Describe<Error = E>> {
        Some(&self.step)
    }
}

impl<S, E, T, F, O> LinkBody<S, E, Local> for StepBody<T, F, O>
where
    T: AsyncStep<Error = E, Output = O>,
    F: FnMut(&mut S, &O),
{
    fn execute<'s>(&'s mut self, state: &'s mut S) -> LocalBoxFuture<'s, Result<(), E>> {
        Box::pin(async move {
            let output = self.step.execute().await?;
            (self.then)(state, &output);
            self.output = Some(output);
            Ok(())
        })
    }
    fn compensate<'s>(&'s mut self, _: &'s mut S) -> LocalBoxFuture<'s, Result<(), E>> {
        let output = self.output.as_ref().expect(COMPLETED);
        Box::pin(self.step.compensate(output))
    }
    fn compensate_uncertain<'s>(
        &'s mut self,
        _: &'s mut S,
    ) -> LocalBoxFuture<'s, Option<Result<(), E>>> {
        self.output = None;
        Box::pin(self.step.compensate_uncertain())
    }
    fn forget(&mut self) {
        self.output = None;
    }
    fn describe(&self) -> Option<&dyn Describe<Error = E>> {
        Some(&self.step)
    }
    fn timeout(&self) -> Option<Timeout<E>> {
        self.step.timeout()
    }
}

impl<S, E, T, F, O> LinkBody<S, E, Sendable> for StepBody<T, F, O>
where
    S: Send,
    T: SendableStep<Error = E, Output = O>,
    F: FnMut(&mut S, &O) + Send,
    O: Send,
{
    fn execute<'s>(&'s mut self, state: &'s mut S) -> BoxFuture<'s, Result<(), E>> {
        Box::pin(async move {
            let output = self.step.execute_send().await?;
            (self.then)(state, &output);
            self.output = Some(output);
            Ok(())
        })
    }
    fn compensate<'s>(&'s mut self, _: &'s mut S) -> BoxFuture<'s, Result<(), E>> {
        let output = self.output.as_mut().expect(COMPLETED);
        Box::pin(self.step.compensate_send(output))
    }
    fn compensate_uncertain<'s>(
        &'s mut self,
        _: &'s mut S,
    ) -> BoxFuture<'s, Option<Result<(), E>>> {
        self.output = None;
        Box::pin(self.step.compensate_uncertain_send())
    }
    fn forget(&mut self) {
        self.output = None;
    }
    fn describe(&self) -> Option<&dyn Describe<Error = E>> {
        Some(&self.step)
    }
    fn timeout(&self) -> Option<Timeout<E>> {
        self.step.timeout()
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A typed step whose futures are `Send`, so that a `Send` ([`Sendable`]) async link
/// can hold it: any sync [`Step`] that is `Send` (with a `Send` output), and what a
/// `#[step] async fn` returns (unless it is `#[step(local)]`).
///
/// Other [`AsyncStep`]s (a `#[step(local)]` function's, a hand-written impl's, an
/// [`AsyncTuned`](crate::step::AsyncTuned) step) join [`Local`] sagas, through
/// [`AsyncLink::local_step`](super::AsyncLink::local_step): rustc cannot see that the
/// futures of an arbitrary `AsyncStep` are `Send`. Sealed.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a step whose futures are `Send`",
    label = "not a sync `Step` + `Send`, nor a `#[step] async fn`'s value",
    note = "a `Send` async saga holds sync steps that are `Send` and the values of `#[step] async fn`s; run other async steps in an `AsyncSaga<'_, S, E, Local>` (`AsyncLink::local_step`)"
)]
pub trait SendableStep: AsyncStep<Output: Send> + Send + sealed::Sealed {
    /// [`AsyncStep::execute`], with a future rustc can see is `Send`.
    #[doc(hidden)]
    fn execute_send(&mut self) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;
    /// [`AsyncStep::compensate`], likewise. The output is lent `&mut` (the
    /// compensation only reads it) so that the future is `Send` when the output is,
    /// without asking it to be `Sync`.
    #[doc(hidden)]
    fn compensate_send(
        &mut self,
        output: &mut Self::Output,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// [`AsyncStep::compensate_uncertain`], likewise.
    #[doc(hidden)]
    fn compensate_uncertain_send(
        &mut self,
    ) -> impl Future<Output = Option<Result<(), Self::Error>>> + Send;
}

impl<T: Step + Send> sealed::Sealed for T where T::Output: Send {}

// The sync call happens when the future is first polled, as for every sync step run in
// an async saga, so that a cancelled saga never starts it.
impl<T: Step + Send> SendableStep for T
where
    T::Output: Send,
{
    async fn execute_send(&mut self) -> Result<T::Output, T::Error> {
        Step::execute(self)
    }
    async fn compensate_send(&mut self, output: &mut T::Output) -> Result<(), T::Error> {
        Step::compensate(self, output)
    }
    async fn compensate_uncertain_send(&mut self) -> Option<Result<(), T::Error>> {
        Step::compensate_uncertain(self)
    }
}

impl<X: SendAsyncStep + Send> sealed::Sealed for SendStep<X> where X::Output: Send {}

// `SendStep`'s futures are `X`'s, which its trait declares `Send`.
impl<X: SendAsyncStep + Send> SendableStep for SendStep<X>
where
    X::Output: Send,
{
    fn execute_send(&mut self) -> impl Future<Output = Result<X::Output, X::Error>> + Send {
        AsyncStep::execute(self)
    }
    fn compensate_send(
        &mut self,
        output: &mut X::Output,
    ) -> impl Future<Output = Result<(), X::Error>> + Send {
        AsyncStep::compensate(self, output)
    }
    fn compensate_uncertain_send(
        &mut self,
    ) -> impl Future<Output = Option<Result<(), X::Error>>> + Send {
        AsyncStep::compensate_uncertain(self)
    }
}
