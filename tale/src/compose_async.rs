//! Async sagas built from data: [`AsyncLink`]s over one state type, run in order by an
//! [`AsyncSaga`]; talepy's async `run_transaction`, with compensation in reverse order
//! and every compensation error reported (talepy runs them concurrently in forward
//! order and swallows their errors).

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use crate::async_execution::AsyncExecution;
use crate::async_step::AsyncStep;
use crate::clock::AsyncSleep;
use crate::closure::IntoStepResult;
use crate::compose::{Body, Link, LinkBuilder, Meta, chain_methods, meta_methods, meta_setters};
use crate::error::SagaError;
use crate::event::Observer;
use crate::executor::Executor;
use crate::retry::Retry;
use crate::step::StepKind;
use crate::timeout::{Limits, Timeout};

type BoxFuture<'s, T> = Pin<Box<dyn Future<Output = T> + 's>>;

/// The type-erased body of an async link: runs and compensates against the state,
/// keeping its own output between the two.
trait AsyncBody<S, E> {
    fn execute<'s>(&'s mut self, state: &'s mut S) -> BoxFuture<'s, Result<(), E>>;
    fn compensate<'s>(
        &'s mut self,
        state: &'s mut S,
        uncertain: bool,
    ) -> BoxFuture<'s, Result<(), E>>;
    fn forget(&mut self);
}

struct Typed<X, C, O> {
    execute: X,
    compensate: Option<C>,
    output: Option<O>,
}

impl<S, E, O, X, C> AsyncBody<S, E> for Typed<X, C, O>
where
    X: AsyncFnMut(&mut S) -> Result<O, E>,
    C: AsyncFnMut(&mut S, Option<&O>) -> Result<(), E>,
{
    fn execute<'s>(&'s mut self, state: &'s mut S) -> BoxFuture<'s, Result<(), E>> {
        Box::pin(async move {
            self.output = Some((self.execute)(state).await?);
            Ok(())
        })
    }
    fn compensate<'s>(
        &'s mut self,
        state: &'s mut S,
        uncertain: bool,
    ) -> BoxFuture<'s, Result<(), E>> {
        Box::pin(async move {
            if uncertain {
                self.output = None;
            }
            match &mut self.compensate {
                Some(undo) => undo(state, self.output.as_ref()).await,
                None => Ok(()),
            }
        })
    }
    fn forget(&mut self) {
        self.output = None;
    }
}

/// A sync link's body, run inline in an async saga.
struct Blocking<'a, S, E>(Box<dyn Body<S, E> + 'a>);

impl<S, E> AsyncBody<S, E> for Blocking<'_, S, E> {
    fn execute<'s>(&'s mut self, state: &'s mut S) -> BoxFuture<'s, Result<(), E>> {
        Box::pin(async move { self.0.execute(state) })
    }
    fn compensate<'s>(
        &'s mut self,
        state: &'s mut S,
        uncertain: bool,
    ) -> BoxFuture<'s, Result<(), E>> {
        Box::pin(async move {
            if uncertain {
                self.0.compensate_uncertain(state)
            } else {
                self.0.compensate(state)
            }
        })
    }
    fn forget(&mut self) {
        self.0.forget();
    }
}

/// The compensation slot of an async link that has none.
type NoUndo<S, O, E> = fn(&mut S, Option<&O>) -> std::future::Ready<Result<(), E>>;

/// One step of an [`AsyncSaga`]: an async closure over the state, an optional async
/// compensation, and the step's name, kind and policies. A sync [`Link`] converts into
/// one, so sync and async steps mix.
///
/// # Examples
///
/// ```
/// use tale::{AsyncLink, Retry};
///
/// let reserve: AsyncLink<'_, Vec<String>, String> =
///     AsyncLink::new("reserve", async |seats: &mut Vec<String>| {
///         seats.push("14C".to_owned());
///         Ok("14C".to_owned())
///     })
///     .compensate(async |seats, seat: Option<&String>| {
///         seats.retain(|s| Some(s) != seat);
///         Ok(())
///     })
///     .retry(Retry::times(2));
/// # let _ = reserve;
/// ```
pub struct AsyncLink<'a, S, E> {
    body: Box<dyn AsyncBody<S, E> + 'a>,
    meta: Meta<E>,
    timeout: Option<Timeout<E>>,
}

/// Ties an [`AsyncLinkBuilder`] to the types of its execute closure.
type Signature<'a, S, O, E> = (fn(&mut S) -> (O, E), &'a ());

/// An async link on its way to having a compensation; finish it with
/// [`compensate`](AsyncLinkBuilder::compensate) or use it as it is.
pub struct AsyncLinkBuilder<'a, S, E, X, O> {
    name: Cow<'static, str>,
    execute: X,
    link: std::marker::PhantomData<Signature<'a, S, O, E>>,
}

impl<'a, S: 'a, E: 'a> AsyncLink<'a, S, E> {
    /// A link that runs the async closure `execute` on the state.
    #[allow(clippy::new_ret_no_self)] // a builder that becomes an `AsyncLink`
    pub fn new<X, O>(
        name: impl Into<Cow<'static, str>>,
        execute: X,
    ) -> AsyncLinkBuilder<'a, S, E, X, O>
    where
        X: AsyncFnMut(&mut S) -> Result<O, E> + 'a,
        O: 'a,
    {
        AsyncLinkBuilder {
            name: name.into(),
            execute,
            link: std::marker::PhantomData,
        }
    }

    meta_setters!();

    /// Limits each attempt to `timeout`: a slower attempt is dropped and fails with the
    /// timeout's error, and if the link fails for good its compensation runs with no
    /// output, as for an uncertain link.
    #[must_use]
    pub fn timeout(mut self, timeout: Timeout<E>) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

impl<'a, S: 'a, E: 'a, X, O: 'a> AsyncLinkBuilder<'a, S, E, X, O>
where
    X: AsyncFnMut(&mut S) -> Result<O, E> + 'a,
{
    /// Adds the async compensation: it gets the state and the output that `execute`
    /// produced (`None` only when compensating an uncertain link that failed).
    pub fn compensate<C>(self, compensate: C) -> AsyncLink<'a, S, E>
    where
        C: AsyncFnMut(&mut S, Option<&O>) -> Result<(), E> + 'a,
    {
        AsyncLink {
            body: Box::new(Typed {
                execute: self.execute,
                compensate: Some(compensate),
                output: None,
            }),
            meta: Meta::new(self.name, true),
            timeout: None,
        }
    }

    /// See [`AsyncLink::retry`].
    #[must_use]
    pub fn retry(self, policy: Retry<E>) -> AsyncLink<'a, S, E> {
        AsyncLink::from(self).retry(policy)
    }

    /// See [`AsyncLink::timeout`].
    #[must_use]
    pub fn timeout(self, timeout: Timeout<E>) -> AsyncLink<'a, S, E> {
        AsyncLink::from(self).timeout(timeout)
    }
}

impl<'a, S: 'a, E: 'a, X, O: 'a> From<AsyncLinkBuilder<'a, S, E, X, O>> for AsyncLink<'a, S, E>
where
    X: AsyncFnMut(&mut S) -> Result<O, E> + 'a,
{
    fn from(builder: AsyncLinkBuilder<'a, S, E, X, O>) -> Self {
        let body: Typed<X, NoUndo<S, O, E>, O> = Typed {
            execute: builder.execute,
            compensate: None,
            output: None,
        };
        AsyncLink {
            body: Box::new(body),
            meta: Meta::new(builder.name, false),
            timeout: None,
        }
    }
}

impl<'a, S: 'a, E: 'a> From<Link<'a, S, E>> for AsyncLink<'a, S, E> {
    fn from(link: Link<'a, S, E>) -> Self {
        AsyncLink {
            body: Box::new(Blocking(link.body)),
            meta: link.meta,
            timeout: None,
        }
    }
}

impl<'a, S: 'a, E: 'a, X, R> From<LinkBuilder<'a, S, E, X, R>> for AsyncLink<'a, S, E>
where
    X: FnMut(&mut S) -> R + 'a,
    R: IntoStepResult<E>,
    R::Output: 'a,
{
    fn from(builder: LinkBuilder<'a, S, E, X, R>) -> Self {
        Link::from(builder).into()
    }
}

/// An async link bound to the state for one call into the engine.
struct Bound<'l, 'a, 's, S, E> {
    link: &'l mut AsyncLink<'a, S, E>,
    state: &'s mut S,
}

impl<S, E> AsyncStep for Bound<'_, '_, '_, S, E> {
    type Output = ();
    type Error = E;

    fn execute(&mut self) -> impl Future<Output = Result<(), E>> {
        self.link.body.execute(self.state)
    }
    fn compensate(&mut self, (): &()) -> impl Future<Output = Result<(), E>> {
        self.link.body.compensate(self.state, false)
    }
    fn compensate_uncertain(&mut self) -> impl Future<Output = Result<(), E>> {
        self.link.body.compensate(self.state, true)
    }
    fn timeout(&self) -> Option<Timeout<E>> {
        self.link.timeout
    }
    meta_methods!();
}

/// An async saga whose steps are known only at run time: [`AsyncLink`]s (or sync
/// [`Link`]s) over one state type, run one after the other in the order they were
/// added, compensated in reverse order.
///
/// # Examples
///
/// ```
/// use tale::{AsyncLink, AsyncSaga, Executor, Link, ManualClock};
///
/// let mut saga = AsyncSaga::new("counter")
///     .step(AsyncLink::new("async +1", async |n: &mut i32| { *n += 1; Ok(()) }))
///     .step(Link::new("sync +2", |n: &mut i32| *n += 2))
///     .step(AsyncLink::new("fails", async |_: &mut i32| Err::<(), _>("boom")));
/// let mut n = 0;
/// let mut executor = Executor::new().clock(ManualClock::new());
/// let run = saga.run(&mut executor, &mut n);
/// # let result = block_on(run);
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Waker};
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = Context::from_waker(Waker::noop());
/// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } }
/// # }
/// assert!(result.unwrap_err().is_compensated());
/// ```
pub struct AsyncSaga<'a, S, E> {
    name: Cow<'static, str>,
    links: Vec<AsyncLink<'a, S, E>>,
}

impl<'a, S, E> AsyncSaga<'a, S, E> {
    chain_methods!(AsyncLink);

    /// Runs every step in order on `state`; on failure, compensates the completed
    /// steps in reverse order, one at a time.
    ///
    /// # Errors
    ///
    /// The failed step, and every compensation that failed, as [`SagaError`].
    ///
    /// # Panics
    ///
    /// Resumes a step's panic after compensating the completed steps.
    pub async fn run<O, C>(
        &mut self,
        executor: &mut Executor<O, C>,
        state: &mut S,
    ) -> Result<(), SagaError<E>>
    where
        O: Observer<E>,
        C: AsyncSleep,
    {
        self.run_with(executor, state, Limits::new()).await
    }

    /// [`run`](Self::run) under a deadline or a cancel handle.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// # Panics
    ///
    /// As [`run`](Self::run).
    pub async fn run_with<'h, O, C>(
        &mut self,
        executor: &'h mut Executor<O, C>,
        state: &mut S,
        limits: Limits<'h, E>,
    ) -> Result<(), SagaError<E>>
    where
        O: Observer<E>,
        C: AsyncSleep,
    {
        let name = self.name.clone();
        let mut run = AsyncExecution::start(executor, &name).limits(limits);
        let mut completed = 0;
        let mut result = Ok(());
        for (index, link) in self.links.iter_mut().enumerate() {
            if let Err(unwind) = run.step(index, &mut Bound { link, state }).await {
                result = Err(unwind);
                break;
            }
            completed += 1;
        }
        if result.is_err() {
            for (index, link) in self.links[..completed].iter_mut().enumerate().rev() {
                run.compensate(index, &mut Bound { link, state }, ()).await;
            }
        }
        for link in &mut self.links {
            link.body.forget();
        }
        run.finish(result)
    }
}
