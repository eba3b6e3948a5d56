//! Concurrent transactions: every step gets the same input and runs at the same time,
//! talepy's `run_concurrent_transaction`, with retries, timeouts and every error kept.

use std::borrow::Cow;
use std::future::Future;

use super::meta::{Bound, Linked, Meta};
use super::threading::{BoxFuture, ExecBranch, Local, LocalFn, Sendable, Threading, UndoBranch};
use crate::clock::AsyncSleep;
use crate::engine::join::join_all;
use crate::engine::{AsyncRun, Executor, GroupFailure, JoinItems};
use crate::error::SagaError;
use crate::macro_support::item::Item;
use crate::observe::Observer;
use crate::retry::Retry;
use crate::step::{Async, AsyncStep};
use crate::timeout::{Limits, Timeout};

/// One step of a concurrent transaction: a closure of the shared input, an optional
/// compensation, and its policies.
///
/// [`Branch::new`] makes a branch whose futures are `Send` (its closures return a
/// [`BoxFuture`]); [`Branch::local`] takes async closures whose futures need not be.
///
/// # Examples
///
/// ```
/// use tale::Retry;
/// use tale::compose::Branch;
///
/// let quote: Branch<'_, String, usize, String> =
///     Branch::new("quote", |city: &String| Box::pin(async move { Ok(city.len() * 10) }))
///         .compensate(|_, _| Box::pin(async { Ok(()) }))
///         .retry(Retry::times(2));
/// # let _ = quote;
/// ```
pub struct Branch<'a, I: 'a, O: 'a, E: 'a, M: Threading = Sendable> {
    execute: Box<M::Exec<'a, I, O, E>>,
    compensate: Option<Box<M::Undo<'a, I, O, E>>>,
    meta: Meta<E>,
}

impl<'a, I: 'a, O: 'a, E: 'a> Branch<'a, I, O, E, Sendable> {
    /// A branch that runs `execute` on the input, with no compensation yet: a closure
    /// returning a boxed `Send` future, `|input| Box::pin(async move { ... })`.
    pub fn new<X>(name: impl Into<Cow<'static, str>>, execute: X) -> Self
    where
        X: for<'s> FnMut(&'s I) -> BoxFuture<'s, Result<O, E>> + Send + 'a,
    {
        let execute: Box<<Sendable as Threading>::Exec<'a, I, O, E>> = Box::new(execute);
        Self {
            execute,
            compensate: None,
            meta: Meta::new(name.into(), false),
        }
    }

    /// Sets the compensation, which gets the input and the branch's output (`None`
    /// when compensating a branch that timed out, whose outcome is uncertain).
    #[must_use]
    pub fn compensate<C>(mut self, compensate: C) -> Self
    where
        C: for<'s> FnMut(&'s I, Option<&'s O>) -> BoxFuture<'s, Result<(), E>> + Send + 'a,
    {
        let compensate: Box<<Sendable as Threading>::Undo<'a, I, O, E>> = Box::new(compensate);
        self.compensate = Some(compensate);
        self.meta.compensated = true;
        self
    }
}

impl<'a, I: 'a, O: 'a, E: 'a> Branch<'a, I, O, E, Local> {
    /// A branch that runs the async closure `execute` on the input; its futures need
    /// not be `Send`.
    pub fn local<X>(name: impl Into<Cow<'static, str>>, execute: X) -> Self
    where
        X: AsyncFnMut(&I) -> Result<O, E> + 'a,
    {
        let execute: Box<<Local as Threading>::Exec<'a, I, O, E>> = Box::new(LocalFn(execute));
        Self {
            execute,
            compensate: None,
            meta: Meta::new(name.into(), false),
        }
    }

    /// Sets the async compensation, which gets the input and the branch's output
    /// (`None` when compensating a branch that timed out, whose outcome is uncertain).
    #[must_use]
    pub fn compensate<C>(mut self, compensate: C) -> Self
    where
        C: AsyncFnMut(&I, Option<&O>) -> Result<(), E> + 'a,
    {
        let compensate: Box<<Local as Threading>::Undo<'a, I, O, E>> =
            Box::new(LocalFn(compensate));
        self.compensate = Some(compensate);
        self.meta.compensated = true;
        self
    }
}

impl<'a, I: 'a, O: 'a, E: 'a, M: Threading> Branch<'a, I, O, E, M> {
    /// Retries the branch under `policy`.
    #[must_use]
    pub fn retry(mut self, policy: Retry<E>) -> Self {
        self.meta.retry = Some(policy);
        self
    }

    /// Retries the compensation under `policy`.
    #[must_use]
    pub fn compensation_retry(mut self, policy: Retry<E>) -> Self {
        self.meta.compensation_retry = Some(policy);
        self
    }

    /// Limits each attempt to `timeout`; a timed-out branch that fails for good is
    /// compensated (with no output) as an uncertain one.
    #[must_use]
    pub fn timeout(mut self, timeout: Timeout<E>) -> Self {
        self.meta.timeout = Some(timeout);
        self
    }
}

impl<I, O, E, M: Threading> Linked for Branch<'_, I, O, E, M> {
    type Error = E;
    fn meta(&self) -> &Meta<E> {
        &self.meta
    }
}

/// A branch bound to the transaction's input.
type BoundBranch<'b, 'a, I, O, E, M> = Bound<'b, Branch<'a, I, O, E, M>, &'b I>;

impl<I, O, E, M: Threading> AsyncStep for Bound<'_, Branch<'_, I, O, E, M>, &I> {
    type Output = O;

    fn execute(&mut self) -> impl Future<Output = Result<O, E>> {
        self.link.execute.call(self.state)
    }
    async fn compensate(&mut self, output: &O) -> Result<(), E> {
        match &mut self.link.compensate {
            Some(undo) => undo.call(self.state, Some(output)).await,
            None => Ok(()),
        }
    }
    async fn compensate_uncertain(&mut self) -> Option<Result<(), E>> {
        match &mut self.link.compensate {
            Some(undo) => Some(undo.call(self.state, None).await),
            None => None,
        }
    }
    fn timeout(&self) -> Option<Timeout<E>> {
        self.link.meta.timeout
    }
}

/// Runs every branch at once on the same `input` and returns their outputs in branch
/// order: talepy's `run_concurrent_transaction`, with retries allowed.
///
/// If any branch fails for good, the branches still running finish, every branch that
/// succeeded is compensated (concurrently), and the error's
/// [`failure`](SagaError::failure) is the first failed branch in branch order, with the
/// others in its [`siblings`](crate::StepFailure::siblings).
///
/// # Errors
///
/// Every failed branch and every failed compensation, as [`SagaError`].
///
/// # Panics
///
/// Resumes a branch's panic once the other branches are done and compensated.
///
/// # Examples
///
/// ```
/// use tale::compose::{Branch, run_concurrent_transaction};
/// use tale::{Executor, ManualClock};
///
/// # futures_lite_block_on(async {
/// let branches: Vec<Branch<'_, u32, u32, String>> = (1..=3)
///     .map(|i| Branch::new(format!("times {i}"), move |n: &u32| Box::pin(async move { Ok(n * i) })))
///     .collect();
/// let mut executor = Executor::new().with_clock(ManualClock::new());
/// let outputs = run_concurrent_transaction(&mut executor, branches, &5).await.unwrap();
/// assert_eq!(outputs, [5, 10, 15]);
/// # });
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Waker};
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = Context::from_waker(Waker::noop());
/// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } }
/// # }
/// ```
pub async fn run_concurrent_transaction<'a, I, O, E, M, Ob, C>(
    executor: &mut Executor<Ob, C>,
    branches: impl IntoIterator<Item = Branch<'a, I, O, E, M>>,
    input: &I,
) -> Result<Vec<O>, SagaError<E>>
where
    I: 'a,
    O: 'a,
    E: 'a,
    M: Threading,
    Ob: Observer<E>,
    C: AsyncSleep,
{
    run_concurrent_transaction_with(executor, branches, input, Limits::new()).await
}

/// [`run_concurrent_transaction`] under a deadline or a cancel handle.
///
/// # Errors
///
/// As [`run_concurrent_transaction`]; a branch stopped by the deadline or the handle
/// fails with [`GaveUp::DeadlineExceeded`](crate::GaveUp::DeadlineExceeded) or
/// [`GaveUp::Cancelled`](crate::GaveUp::Cancelled).
///
/// # Panics
///
/// As [`run_concurrent_transaction`].
pub async fn run_concurrent_transaction_with<'a, 'h, I, O, E, M, Ob, C>(
    executor: &'h mut Executor<Ob, C>,
    branches: impl IntoIterator<Item = Branch<'a, I, O, E, M>>,
    input: &I,
    limits: Limits<'h, E>,
) -> Result<Vec<O>, SagaError<E>>
where
    I: 'a,
    O: 'a,
    E: 'a,
    M: Threading,
    Ob: Observer<E>,
    C: AsyncSleep,
{
    let mut branches: Vec<Branch<'a, I, O, E, M>> = branches.into_iter().collect();
    let run = AsyncRun::start(executor, "concurrent transaction").limits(limits);
    let mut bound: Vec<BoundBranch<'_, 'a, I, O, E, M>> = branches
        .iter_mut()
        .map(|link| Bound { link, state: input })
        .collect();
    let results = join_all(
        bound
            .iter_mut()
            .enumerate()
            .map(|(index, step)| Box::pin(run.branch(index, step))),
    )
    .await;
    let mut failed = GroupFailure::new();
    let mut any_failed = false;
    let mut outputs = Vec::with_capacity(results.len());
    for (index, result) in results.into_iter().enumerate() {
        match result {
            Ok(output) => outputs.push(Some(output)),
            Err(unwind) => {
                failed.add(index, unwind);
                any_failed = true;
                outputs.push(None);
            }
        }
    }
    if !any_failed {
        return run.finish(Ok(outputs.into_iter().flatten().collect()));
    }
    // Started in branch order, as talepy gathers them.
    join_all(
        bound
            .iter_mut()
            .zip(outputs)
            .enumerate()
            .filter_map(|(index, (step, output))| {
                Some(Box::pin(run.compensate(index, step, output?)))
            }),
    )
    .await;
    let unwind = failed.into_unwind();
    run.finish(Err(unwind))
}

/// Runs typed steps of one type at once, such as a `#[step]` function's values made
/// from data, and returns their outputs in order: the runtime twin of `saga!`'s
/// `join!(for ...)`, keeping each step's compensation, retry policy, timeout and name.
///
/// The steps start in order, all at once; once one has failed for good no further
/// step starts, the ones in flight run to their end (or are stopped, under a
/// [`Limits`] with `fail_fast`), then every step that succeeded is compensated
/// (concurrently, last first), each with its own output. The error's
/// [`failure`](SagaError::failure) is the first failed step in order, with the others
/// in its [`siblings`](crate::StepFailure::siblings); each names its step's position as
/// its [`item`](crate::StepId::item).
///
/// # Errors
///
/// Every failed step and every failed compensation, as [`SagaError`].
///
/// # Panics
///
/// Resumes a step's panic once the other steps are done and compensated.
///
/// # Examples
///
/// ```
/// use tale::compose::run_concurrent_steps;
/// use tale::{Executor, ManualClock, step};
///
/// # #[derive(Debug)] pub struct Full;
/// #[step(compensate = release)]
/// async fn book_seat(passenger: &str) -> Result<String, Full> {
///     Ok(format!("seat for {passenger}"))
/// }
/// async fn release(_passenger: &str, _seat: &String) -> Result<(), Full> {
///     Ok(())
/// }
///
/// # futures_lite_block_on(async {
/// let passengers = ["ada", "bob"];
/// let mut executor = Executor::new().with_clock(ManualClock::new());
/// let steps = passengers.iter().map(|p| book_seat(p));
/// let seats = run_concurrent_steps(&mut executor, steps).await.unwrap();
/// assert_eq!(seats, ["seat for ada", "seat for bob"]);
/// # });
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Waker};
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = Context::from_waker(Waker::noop());
/// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } }
/// # }
/// ```
pub async fn run_concurrent_steps<S, Ob, C>(
    executor: &mut Executor<Ob, C>,
    steps: impl IntoIterator<Item = S>,
) -> Result<Vec<S::Output>, SagaError<S::Error>>
where
    S: AsyncStep,
    Ob: Observer<S::Error>,
    C: AsyncSleep,
{
    run_concurrent_steps_with(executor, steps, Limits::new()).await
}

/// [`run_concurrent_steps`] under a deadline, a cancel handle, `fail_fast` or a bound
/// on the compensations at once.
///
/// # Errors
///
/// As [`run_concurrent_steps`]; a step stopped by the deadline or the handle fails with
/// [`GaveUp::DeadlineExceeded`](crate::GaveUp::DeadlineExceeded) or
/// [`GaveUp::Cancelled`](crate::GaveUp::Cancelled).
///
/// # Panics
///
/// As [`run_concurrent_steps`].
pub async fn run_concurrent_steps_with<'h, S, Ob, C>(
    executor: &'h mut Executor<Ob, C>,
    steps: impl IntoIterator<Item = S>,
    limits: Limits<'h, S::Error>,
) -> Result<Vec<S::Output>, SagaError<S::Error>>
where
    S: AsyncStep,
    Ob: Observer<S::Error>,
    C: AsyncSleep,
{
    // Each step tells events and errors its position, as a fan-out's items do.
    let mut steps: Vec<Item<S, Async>> = steps
        .into_iter()
        .enumerate()
        .map(|(item, step)| Item::new(item, step))
        .collect();
    let run = AsyncRun::start(executor, "concurrent steps").limits(limits);
    let started = steps
        .iter_mut()
        .enumerate()
        .map(|(index, step)| run.branch(index, step));
    let results = match JoinItems::new(started, usize::MAX, true).await {
        Ok(outputs) => return run.finish(Ok(outputs)),
        Err(results) => results,
    };
    let run_ref = &run;
    let settled = steps.iter_mut().zip(results).enumerate().rev().map(
        move |(index, (step, result))| async move {
            match run_ref.settle_branch(index, step, result).await {
                Some(unwind) => Err((index, unwind)),
                None => Ok(()),
            }
        },
    );
    let mut failed = GroupFailure::new();
    if let Err(results) = JoinItems::new(settled, usize::MAX, false).await {
        failed.add_items(results);
    }
    run.finish(Err(failed.into_unwind()))
}
