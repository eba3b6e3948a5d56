//! Async `#[step]` functions whose futures are `Send`, so that a saga of them can be
//! spawned on a multi-threaded runtime.
//!
//! A `#[step] async fn` returns an opaque type, and rustc cannot see through an opaque
//! type to the futures of its trait methods: an `impl AsyncStep` step makes every saga
//! that runs it non-`Send`. So the step function returns `SendStep<impl SendAsyncStep>`
//! instead: [`SendAsyncStep`] promises `Send` futures in its signatures, and
//! [`SendStep`] is a concrete `AsyncStep` whose futures are those, visibly `Send`.
//!
//! The body and the compensation are called through fn items that `#[step]` generates
//! (`fn exec<'a>(args: &'a mut A) -> impl Future + Send + 'a`): a closure cannot return
//! a future that borrows its argument, and an async closure's future cannot be bounded
//! on stable Rust. [`SendFn`] and [`SendUndoFn`] name those futures so that bounds can
//! ask for `Send`.

use std::future::Future;

use crate::retry::Retry;
use crate::step::{AsyncStep, Describe, StepKind};

use super::kind::Kinded;
use super::step_fn::{AsyncStepFn, NoUndo, PolicyOf, StepConsts, Undo, UndoSlot};

/// A step body called with its arguments, returning a `Send` future.
///
/// `Bound` is never named: its default, `&'a A`, limits `for<'a> SendFn<'a, A>` to the
/// lifetimes `A` outlives (without it, the bound would demand `A: 'static`).
pub trait SendFn<'a, A, Bound = &'a A> {
    /// What the body's future produces.
    type Output;
    /// The body's future.
    type Future: Future<Output = Self::Output> + Send + 'a;
    /// Calls the body.
    fn call(&mut self, args: &'a mut A) -> Self::Future;
}

impl<'a, A, F, Fut> SendFn<'a, A> for F
where
    F: FnMut(&'a mut A) -> Fut,
    Fut: Future + Send + 'a,
{
    type Output = Fut::Output;
    type Future = Fut;
    #[inline]
    fn call(&mut self, args: &'a mut A) -> Fut {
        self(args)
    }
}

/// A compensation called with the arguments and the output (`None` for a failed
/// uncertain step), returning a `Send` future. `Bound` as on [`SendFn`].
pub trait SendUndoFn<'a, 'b, A, O, E, Bound = (&'a A, &'b O)> {
    /// The compensation's future.
    type Future: Future<Output = Result<(), E>> + Send;
    /// Calls the compensation.
    fn call(&mut self, args: &'a mut A, output: Option<&'b O>) -> Self::Future;
}

impl<'a, 'b, A, O, E, F, Fut> SendUndoFn<'a, 'b, A, O, E> for F
where
    F: FnMut(&'a mut A, Option<&'b O>) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send,
{
    type Future = Fut;
    #[inline]
    fn call(&mut self, args: &'a mut A, output: Option<&'b O>) -> Fut {
        self(args, output)
    }
}

/// The compensation slot of a `Send` async step.
pub trait SendUndo<A, O, E> {
    /// Runs it.
    fn undo(
        &mut self,
        args: &mut A,
        output: Option<&O>,
    ) -> impl Future<Output = Result<(), E>> + Send;
}

impl<A, O, E> SendUndo<A, O, E> for NoUndo {
    // Not an `async fn`, whose future would hold the arguments (and be `Send` only if
    // they are), nor `ready(Ok(()))`, which holds the result (`Send` only if `E` is).
    #[allow(clippy::manual_async_fn)]
    #[inline]
    fn undo(&mut self, _: &mut A, _: Option<&O>) -> impl Future<Output = Result<(), E>> + Send {
        async { Ok(()) }
    }
}

impl<A, O, E, G> SendUndo<A, O, E> for Undo<G>
where
    G: for<'a, 'b> SendUndoFn<'a, 'b, A, O, E>,
{
    #[inline]
    fn undo(
        &mut self,
        args: &mut A,
        output: Option<&O>,
    ) -> impl Future<Output = Result<(), E>> + Send {
        self.0.call(args, output)
    }
}

/// [`AsyncStep`] with `Send` futures: what a `#[step] async fn` returns, wrapped in
/// [`SendStep`]. What the step is, is its [`Describe`] impl.
pub trait SendAsyncStep: Describe {
    /// What a successful `execute` produces.
    type Output;
    /// Runs the step once.
    fn execute(&mut self) -> impl Future<Output = Result<Self::Output, Self::Error>> + Send;
    /// Undoes a completed step.
    fn compensate(
        &mut self,
        output: &Self::Output,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Undoes a step that failed with an uncertain outcome, if it can.
    fn compensate_uncertain(
        &mut self,
    ) -> impl Future<Output = Option<Result<(), Self::Error>>> + Send;
}

impl<A, X, U, P, Q, K, O, M, E> SendAsyncStep for AsyncStepFn<A, X, U, P, Q, K, O, M, E>
where
    M: StepConsts,
    X: for<'a> SendFn<'a, A, Output = Result<O, E>>,
    U: SendUndo<A, O, E> + UndoSlot,
    P: PolicyOf<E>,
    Q: PolicyOf<E>,
{
    type Output = O;

    #[inline]
    fn execute(&mut self) -> impl Future<Output = Result<O, E>> + Send {
        let (args, execute) = self.args_and_execute();
        execute.call(args)
    }
    #[inline]
    fn compensate(&mut self, output: &O) -> impl Future<Output = Result<(), E>> + Send {
        let (args, undo) = self.args_and_undo();
        undo.undo(args, Some(output))
    }
    /// Only a step declared `uncertain` has a compensation that takes no output.
    fn compensate_uncertain(&mut self) -> impl Future<Output = Option<Result<(), E>>> + Send {
        let (args, undo) = self.args_and_undo();
        let undo = undo.undo(args, None);
        async move { if M::UNCERTAIN { Some(undo.await) } else { None } }
    }
}

/// The step value of a `#[step] async fn`: an [`AsyncStep`] whose futures are `Send`
/// (unless the function is `#[step(local)]`, which returns an `impl AsyncStep`). Its
/// futures are those of `S`, so rustc sees that they are `Send`.
pub struct SendStep<S>(S);

impl<S: SendAsyncStep> SendStep<S> {
    /// Wraps a step with `Send` futures.
    #[inline]
    pub fn new(step: S) -> Self {
        SendStep(step)
    }
}

impl<S: Kinded> Kinded for SendStep<S> {
    type Kind = S::Kind;
}

// The one place that forwards a step's description: `S` is an opaque type, so the
// wrapper must name its futures, and with them everything else.
impl<S: Describe> Describe for SendStep<S> {
    type Error = S::Error;

    fn kind(&self) -> StepKind {
        self.0.kind()
    }
    fn name(&self) -> &str {
        self.0.name()
    }
    fn static_name(&self) -> Option<&'static str> {
        self.0.static_name()
    }
    fn has_compensation(&self) -> bool {
        self.0.has_compensation()
    }
    fn is_uncertain(&self) -> bool {
        self.0.is_uncertain()
    }
    fn compensates_without_output(&self) -> bool {
        self.0.compensates_without_output()
    }
    fn retry_policy(&self) -> Option<Retry<S::Error>> {
        self.0.retry_policy()
    }
    fn compensation_retry_policy(&self) -> Option<Retry<S::Error>> {
        self.0.compensation_retry_policy()
    }
}

impl<S: SendAsyncStep> AsyncStep for SendStep<S> {
    type Output = S::Output;

    #[inline]
    fn execute(&mut self) -> impl Future<Output = Result<S::Output, S::Error>> {
        self.0.execute()
    }
    #[inline]
    fn compensate(&mut self, output: &S::Output) -> impl Future<Output = Result<(), S::Error>> {
        self.0.compensate(output)
    }
    fn compensate_uncertain(&mut self) -> impl Future<Output = Option<Result<(), S::Error>>> {
        self.0.compensate_uncertain()
    }
}
