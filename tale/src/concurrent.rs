//! Concurrent transactions: every step gets the same input and runs at the same time,
//! talepy's `run_concurrent_transaction`, with retries, timeouts and every error kept.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use crate::async_execution::AsyncExecution;
use crate::async_step::AsyncStep;
use crate::clock::AsyncSleep;
use crate::error::SagaError;
use crate::event::Observer;
use crate::executor::Executor;
use crate::join::{GroupFailure, join_all};
use crate::retry::Retry;
use crate::timeout::{Limits, Timeout};

type BoxFuture<'s, T> = Pin<Box<dyn Future<Output = T> + 's>>;

/// A type-erased `execute` closure.
trait Run<I, O, E> {
    fn call<'s>(&'s mut self, input: &'s I) -> BoxFuture<'s, Result<O, E>>;
}

/// A type-erased `compensate` closure.
trait Undo<I, O, E> {
    fn call<'s>(&'s mut self, input: &'s I, output: Option<&'s O>) -> BoxFuture<'s, Result<(), E>>;
}

impl<I, O, E, X: AsyncFnMut(&I) -> Result<O, E>> Run<I, O, E> for X {
    fn call<'s>(&'s mut self, input: &'s I) -> BoxFuture<'s, Result<O, E>> {
        Box::pin(self(input))
    }
}

impl<I, O, E, C: AsyncFnMut(&I, Option<&O>) -> Result<(), E>> Undo<I, O, E> for C {
    fn call<'s>(&'s mut self, input: &'s I, output: Option<&'s O>) -> BoxFuture<'s, Result<(), E>> {
        Box::pin(self(input, output))
    }
}

/// One step of a concurrent transaction: an async closure of the shared input, an
/// optional compensation, and its policies.
///
/// # Examples
///
/// ```
/// use tale::{Branch, Retry};
///
/// let quote: Branch<'_, String, usize, String> =
///     Branch::new("quote", async |city: &String| Ok(city.len() * 10))
///         .compensate(async |_, _| Ok(()))
///         .retry(Retry::times(2));
/// # let _ = quote;
/// ```
pub struct Branch<'a, I, O, E> {
    execute: Box<dyn Run<I, O, E> + 'a>,
    compensate: Option<Box<dyn Undo<I, O, E> + 'a>>,
    name: Cow<'static, str>,
    retry: Option<Retry<E>>,
    compensation_retry: Option<Retry<E>>,
    timeout: Option<Timeout<E>>,
}

impl<'a, I: 'a, O: 'a, E: 'a> Branch<'a, I, O, E> {
    /// A branch that runs `execute` on the input, with no compensation yet.
    pub fn new<X>(name: impl Into<Cow<'static, str>>, execute: X) -> Self
    where
        X: AsyncFnMut(&I) -> Result<O, E> + 'a,
    {
        Self {
            execute: Box::new(execute),
            compensate: None,
            name: name.into(),
            retry: None,
            compensation_retry: None,
            timeout: None,
        }
    }

    /// Sets the compensation, which gets the input and the branch's output (`None`
    /// when compensating a branch that timed out, whose outcome is uncertain).
    #[must_use]
    pub fn compensate<C>(mut self, compensate: C) -> Self
    where
        C: AsyncFnMut(&I, Option<&O>) -> Result<(), E> + 'a,
    {
        self.compensate = Some(Box::new(compensate));
        self
    }

    /// Retries the branch under `policy`.
    #[must_use]
    pub fn retry(mut self, policy: Retry<E>) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Retries the compensation under `policy`.
    #[must_use]
    pub fn compensation_retry(mut self, policy: Retry<E>) -> Self {
        self.compensation_retry = Some(policy);
        self
    }

    /// Limits each attempt to `timeout`; a timed-out branch that fails for good is
    /// compensated (with no output) as an uncertain one.
    #[must_use]
    pub fn timeout(mut self, timeout: Timeout<E>) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// A branch bound to the input for one run.
struct Bound<'b, 'a, I, O, E> {
    branch: &'b mut Branch<'a, I, O, E>,
    input: &'b I,
}

impl<I, O, E> AsyncStep for Bound<'_, '_, I, O, E> {
    type Output = O;
    type Error = E;

    fn execute(&mut self) -> impl Future<Output = Result<O, E>> {
        self.branch.execute.call(self.input)
    }
    async fn compensate(&mut self, output: &O) -> Result<(), E> {
        match &mut self.branch.compensate {
            Some(undo) => undo.call(self.input, Some(output)).await,
            None => Ok(()),
        }
    }
    async fn compensate_uncertain(&mut self) -> Result<(), E> {
        match &mut self.branch.compensate {
            Some(undo) => undo.call(self.input, None).await,
            None => Ok(()),
        }
    }
    fn name(&self) -> &str {
        &self.branch.name
    }
    fn static_name(&self) -> Option<&'static str> {
        match self.branch.name {
            Cow::Borrowed(name) => Some(name),
            Cow::Owned(_) => None,
        }
    }
    fn has_compensation(&self) -> bool {
        self.branch.compensate.is_some()
    }
    fn retry_policy(&self) -> Option<Retry<E>> {
        self.branch.retry.clone()
    }
    fn compensation_retry_policy(&self) -> Option<Retry<E>> {
        self.branch.compensation_retry.clone()
    }
    fn timeout(&self) -> Option<Timeout<E>> {
        self.branch.timeout
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
/// use tale::{Branch, Executor, ManualClock, run_concurrent_transaction};
///
/// # futures_lite_block_on(async {
/// let branches: Vec<Branch<'_, u32, u32, String>> = (1..=3)
///     .map(|i| Branch::new(format!("times {i}"), async move |n: &u32| Ok(n * i)))
///     .collect();
/// let mut executor = Executor::new().clock(ManualClock::new());
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
pub async fn run_concurrent_transaction<'a, I, O, E, Ob, C>(
    executor: &mut Executor<Ob, C>,
    branches: impl IntoIterator<Item = Branch<'a, I, O, E>>,
    input: &I,
) -> Result<Vec<O>, SagaError<E>>
where
    I: 'a,
    O: 'a,
    E: 'a,
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
pub async fn run_concurrent_transaction_with<'a, 'h, I, O, E, Ob, C>(
    executor: &'h mut Executor<Ob, C>,
    branches: impl IntoIterator<Item = Branch<'a, I, O, E>>,
    input: &I,
    limits: Limits<'h, E>,
) -> Result<Vec<O>, SagaError<E>>
where
    I: 'a,
    O: 'a,
    E: 'a,
    Ob: Observer<E>,
    C: AsyncSleep,
{
    let mut branches: Vec<Branch<'a, I, O, E>> = branches.into_iter().collect();
    let run = AsyncExecution::start(executor, "concurrent transaction").limits(limits);
    let mut bound: Vec<Bound<'_, 'a, I, O, E>> = branches
        .iter_mut()
        .map(|branch| Bound { branch, input })
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
