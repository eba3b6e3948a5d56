//! [`AsyncLink`]: one async step of an [`AsyncSaga`](super::AsyncSaga), a closure over
//! the state with an optional compensation; `Send` unless made [`local`](AsyncLink::local).

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;

use super::link::{Body, Link, LinkBuilder};
use super::meta::{Bound, Linked, Meta, meta_setters};
use super::step_body::{SendableStep, StepBody, ignore};
use super::threading::{BoxFuture, LinkBody, Local, LocalBoxFuture, Sendable, Threading};
use crate::step::{AsyncStep, Describe, IntoStepResult};
use crate::timeout::Timeout;

/// An async link's closures and the output kept between execution and compensation.
struct Typed<X, C, O> {
    execute: X,
    compensate: Option<C>,
    output: Option<O>,
}

impl<S, E, O, X, C> LinkBody<S, E, Sendable> for Typed<X, C, O>
where
    S: Send,
    O: Send,
    X: for<'s> FnMut(&'s mut S) -> BoxFuture<'s, Result<O, E>> + Send,
    C: for<'s> FnMut(&'s mut S, Option<&'s O>) -> BoxFuture<'s, Result<(), E>> + Send,
{
    fn execute<'s>(&'s mut self, state: &'s mut S) -> BoxFuture<'s, Result<(), E>> {
        Box::pin(async move {
            self.output = Some((self.execute)(state).await?);
            Ok(())
        })
    }
    fn compensate<'s>(&'s mut self, state: &'s mut S) -> BoxFuture<'s, Result<(), E>> {
        match &mut self.compensate {
            Some(undo) => undo(state, self.output.as_ref()),
            None => Box::pin(async { Ok(()) }),
        }
    }
    fn compensate_uncertain<'s>(
        &'s mut self,
        state: &'s mut S,
    ) -> BoxFuture<'s, Option<Result<(), E>>> {
        self.output = None;
        Box::pin(async move {
            match &mut self.compensate {
                Some(undo) => Some(undo(state, None).await),
                None => None,
            }
        })
    }
    fn forget(&mut self) {
        self.output = None;
    }
}

impl<S, E, O, X, C> LinkBody<S, E, Local> for Typed<X, C, O>
where
    X: AsyncFnMut(&mut S) -> Result<O, E>,
    C: AsyncFnMut(&mut S, Option<&O>) -> Result<(), E>,
{
    fn execute<'s>(&'s mut self, state: &'s mut S) -> LocalBoxFuture<'s, Result<(), E>> {
        Box::pin(async move {
            self.output = Some((self.execute)(state).await?);
            Ok(())
        })
    }
    fn compensate<'s>(&'s mut self, state: &'s mut S) -> LocalBoxFuture<'s, Result<(), E>> {
        Box::pin(async move {
            match &mut self.compensate {
                Some(undo) => undo(state, self.output.as_ref()).await,
                None => Ok(()),
            }
        })
    }
    fn compensate_uncertain<'s>(
        &'s mut self,
        state: &'s mut S,
    ) -> LocalBoxFuture<'s, Option<Result<(), E>>> {
        Box::pin(async move {
            self.output = None;
            match &mut self.compensate {
                Some(undo) => Some(undo(state, None).await),
                None => None,
            }
        })
    }
    fn forget(&mut self) {
        self.output = None;
    }
}

/// A sync link's body, run inline in a [`Local`] async saga.
struct Blocking<'a, S, E>(Box<dyn Body<S, E> + 'a>);

impl<S, E> LinkBody<S, E, Local> for Blocking<'_, S, E> {
    fn execute<'s>(&'s mut self, state: &'s mut S) -> LocalBoxFuture<'s, Result<(), E>> {
        Box::pin(async move { self.0.execute(state) })
    }
    fn compensate<'s>(&'s mut self, state: &'s mut S) -> LocalBoxFuture<'s, Result<(), E>> {
        Box::pin(async move { self.0.compensate(state) })
    }
    fn compensate_uncertain<'s>(
        &'s mut self,
        state: &'s mut S,
    ) -> LocalBoxFuture<'s, Option<Result<(), E>>> {
        Box::pin(async move { self.0.compensate_uncertain(state) })
    }
    fn forget(&mut self) {
        self.0.forget();
    }
    fn describe(&self) -> Option<&dyn Describe<Error = E>> {
        self.0.describe()
    }
}

/// The compensation slot of a sendable async link that has none.
type NoUndo<S, O, E> = for<'s> fn(&'s mut S, Option<&'s O>) -> BoxFuture<'s, Result<(), E>>;
/// The compensation slot of a local async link that has none.
type NoLocalUndo<S, O, E> = fn(&mut S, Option<&O>) -> std::future::Ready<Result<(), E>>;

/// One step of an [`AsyncSaga`](super::AsyncSaga): an async closure over the state, an
/// optional async compensation, and the step's name, kind, policies and timeout.
///
/// [`AsyncLink::new`] makes a link whose futures are `Send` (its closures return a
/// [`BoxFuture`]), so that a saga of such links can be spawned on a multi-threaded
/// runtime; [`AsyncLink::local`] takes async closures whose futures need not be `Send`,
/// for a saga run on one thread. A sync [`Link`] converts into a local one.
///
/// # Examples
///
/// ```
/// use tale::Retry;
/// use tale::compose::AsyncLink;
///
/// let reserve: AsyncLink<'_, Vec<String>, String> =
///     AsyncLink::new("reserve", |seats: &mut Vec<String>| Box::pin(async move {
///         seats.push("14C".to_owned());
///         Ok("14C".to_owned())
///     }))
///     .compensate(|seats, seat: Option<&String>| Box::pin(async move {
///         seats.retain(|s| Some(s) != seat);
///         Ok(())
///     }))
///     .retry(Retry::times(2));
/// # let _ = reserve;
/// ```
pub struct AsyncLink<'a, S: 'a, E: 'a, M: Threading = Sendable> {
    body: Box<M::Link<'a, S, E>>,
    meta: Meta<E>,
}

/// Ties an [`AsyncLinkBuilder`] to the types of its execute closure.
type Signature<'a, S, O, E, M> = (fn(&mut S) -> (O, E), &'a (), M);

/// An async link on its way to having a compensation; finish it with
/// [`compensate`](AsyncLinkBuilder::compensate) or use it as it is.
pub struct AsyncLinkBuilder<'a, S, E, X, O, M = Sendable> {
    name: Cow<'static, str>,
    execute: X,
    link: PhantomData<Signature<'a, S, O, E, M>>,
}

impl<'a, S: 'a, E: 'a> AsyncLink<'a, S, E, Sendable> {
    /// A link that runs `execute` on the state: a closure returning a boxed `Send`
    /// future, `|state| Box::pin(async move { ... })`.
    #[allow(clippy::new_ret_no_self)] // a builder that becomes an `AsyncLink`
    pub fn new<X, O>(
        name: impl Into<Cow<'static, str>>,
        execute: X,
    ) -> AsyncLinkBuilder<'a, S, E, X, O, Sendable>
    where
        X: for<'s> FnMut(&'s mut S) -> BoxFuture<'s, Result<O, E>> + Send + 'a,
        O: 'a,
    {
        AsyncLinkBuilder {
            name: name.into(),
            execute,
            link: PhantomData,
        }
    }
}

impl<'a, S: 'a, E: 'a> AsyncLink<'a, S, E, Local> {
    /// A link that runs the async closure `execute` on the state; its futures need not
    /// be `Send`, and the saga it joins is an `AsyncSaga<'_, S, E, Local>`.
    pub fn local<X, O>(
        name: impl Into<Cow<'static, str>>,
        execute: X,
    ) -> AsyncLinkBuilder<'a, S, E, X, O, Local>
    where
        X: AsyncFnMut(&mut S) -> Result<O, E> + 'a,
        O: 'a,
    {
        AsyncLinkBuilder {
            name: name.into(),
            execute,
            link: PhantomData,
        }
    }
}

impl<'a, S: Send + 'a, E: 'a> AsyncLink<'a, S, E, Sendable> {
    /// A link that runs a typed step whose futures are `Send` ([`SendableStep`]): what
    /// a `#[step] async fn` returns, or any sync [`Step`](crate::Step) that is `Send`.
    /// The link ignores the state; it keeps the step's output for the step's own
    /// compensation, and takes its name, kind, retry policies and uncertainty from the
    /// step, except for what its setters ([`named`](Self::named),
    /// [`retry`](Self::retry), [`timeout`](Self::timeout), ...) override.
    ///
    /// Such steps also convert into links, so
    /// [`AsyncSaga::step`](super::AsyncSaga::step) takes them as they are. Other
    /// [`AsyncStep`]s join a [`Local`] saga through [`local_step`](Self::local_step).
    ///
    /// A step whose attempt was cut short (a timeout, the deadline, a cancellation) or
    /// that failed with an uncertain outcome is undone through its
    /// [`compensate_uncertain`](AsyncStep::compensate_uncertain); if that has nothing to
    /// run without the output (a `#[step]` not declared `uncertain`), the saga reports
    /// the step as not compensated, its outcome unknown, never as undone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Mutex;
    /// use tale::compose::{AsyncLink, AsyncSaga};
    /// use tale::{Executor, ManualClock, NotCompensated, SagaError, step};
    ///
    /// #[step(compensate = cancel_seat)]
    /// async fn book_seat(seats: &Mutex<Vec<String>>, passenger: &str) -> Result<String, String> {
    ///     if passenger == "Mallory" { return Err("no fly list".into()) }
    ///     seats.lock().unwrap().push(passenger.to_owned());
    ///     Ok(passenger.to_owned())
    /// }
    ///
    /// async fn cancel_seat(seats: &Mutex<Vec<String>>, _: &str, seat: &String) -> Result<(), String> {
    ///     seats.lock().unwrap().retain(|s| s != seat);
    ///     Ok(())
    /// }
    ///
    /// let seats = Mutex::new(Vec::new());
    /// let mut saga: AsyncSaga<'_, (), String> = AsyncSaga::new("group booking");
    /// for p in ["Ada", "Grace"] {
    ///     saga.push(book_seat(&seats, p));
    /// }
    /// // Marked uncertain here, but its compensation needs the seat it did not return.
    /// saga.push(AsyncLink::step(book_seat(&seats, "Mallory")).uncertain());
    /// let mut executor = Executor::new().with_clock(ManualClock::new());
    /// # fn assert_send<T: Send>(_: &T) {}
    /// # assert_send(&saga.run(&mut executor, &mut ())); // a saga of `Send` steps is `Send`
    /// let error = block_on(saga.run(&mut executor, &mut ())).unwrap_err(); // or on tokio
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context, Poll, Waker};
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = Context::from_waker(Waker::noop());
    /// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } }
    /// # }
    /// let SagaError::CompensationFailed { not_compensated, .. } = &error else { panic!("{error}") };
    /// assert!(matches!(&not_compensated[..], [NotCompensated::OutcomeUnknown(s)] if s.index == 2));
    /// assert!(seats.lock().unwrap().is_empty()); // Ada's and Grace's seats cancelled
    /// ```
    pub fn step<T>(step: T) -> Self
    where
        T: SendableStep<Error = E> + 'a,
    {
        Self::step_then(step, ignore)
    }

    /// As [`step`](Self::step), and gives each output the step produces to `then`,
    /// with the state, once the step succeeded: how a saga built from data collects its
    /// steps' outputs.
    pub fn step_then<T, F>(step: T, then: F) -> Self
    where
        T: SendableStep<Error = E> + 'a,
        F: FnMut(&mut S, &T::Output) + Send + 'a,
    {
        let body: Box<<Sendable as Threading>::Link<'a, S, E>> =
            Box::new(StepBody::new(step, then));
        AsyncLink {
            body,
            meta: Meta::of_step(),
        }
    }
}

impl<'a, S: 'a, E: 'a> AsyncLink<'a, S, E, Local> {
    /// A link that runs any typed [`AsyncStep`] (or sync [`Step`](crate::Step)), whose
    /// futures need not be `Send`: a `#[step(local)] async fn`'s value, a hand-written
    /// impl, an [`AsyncTuned`](crate::step::AsyncTuned) step. Otherwise as
    /// [`step`](AsyncLink::step); the saga it joins is an `AsyncSaga<'_, S, E, Local>`,
    /// which also takes such steps as they are.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tale::compose::{AsyncLink, AsyncSaga, Local};
    /// use tale::step::AsyncTuned;
    /// use tale::{Executor, ManualClock, TimedOut, step};
    ///
    /// #[derive(Debug, PartialEq)]
    /// struct Late;
    /// impl From<TimedOut> for Late { fn from(_: TimedOut) -> Self { Late } }
    ///
    /// #[step]
    /// async fn quote(city: &'static str) -> Result<usize, Late> { Ok(city.len() * 10) }
    ///
    /// let mut saga: AsyncSaga<'_, Vec<usize>, Late, Local> = AsyncSaga::new("quotes");
    /// for city in ["Lisbon", "Oslo"] {
    ///     let tuned = AsyncTuned::new(quote(city)).timeout(Duration::from_secs(5));
    ///     saga.push(AsyncLink::local_step_then(tuned, |quotes: &mut Vec<usize>, q: &usize| quotes.push(*q)));
    /// }
    /// let mut quotes = Vec::new();
    /// let mut executor = Executor::new().with_clock(ManualClock::new());
    /// let run = saga.run(&mut executor, &mut quotes);
    /// # block_on(run).unwrap();
    /// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     use std::task::{Context, Poll, Waker};
    /// #     let mut f = std::pin::pin!(f);
    /// #     let mut cx = Context::from_waker(Waker::noop());
    /// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } }
    /// # }
    /// assert_eq!(quotes, [60, 40]);
    /// ```
    pub fn local_step<T>(step: T) -> Self
    where
        T: AsyncStep<Error = E> + 'a,
    {
        Self::local_step_then(step, ignore)
    }

    /// As [`local_step`](Self::local_step), and gives each output the step produces to
    /// `then`, with the state, once the step succeeded.
    pub fn local_step_then<T, F>(step: T, then: F) -> Self
    where
        T: AsyncStep<Error = E> + 'a,
        F: FnMut(&mut S, &T::Output) + 'a,
    {
        let body: Box<<Local as Threading>::Link<'a, S, E>> = Box::new(StepBody::new(step, then));
        AsyncLink {
            body,
            meta: Meta::of_step(),
        }
    }
}

/// A typed step whose futures are `Send` is a `Send` link: see [`AsyncLink::step`].
impl<'a, S: Send + 'a, E: 'a, T> From<T> for AsyncLink<'a, S, E, Sendable>
where
    T: SendableStep<Error = E> + 'a,
{
    fn from(step: T) -> Self {
        AsyncLink::step(step)
    }
}

/// Any typed step is a local link: see [`AsyncLink::local_step`].
impl<'a, S: 'a, E: 'a, T> From<T> for AsyncLink<'a, S, E, Local>
where
    T: AsyncStep<Error = E> + 'a,
{
    fn from(step: T) -> Self {
        AsyncLink::local_step(step)
    }
}

impl<'a, S: 'a, E: 'a, M: Threading> AsyncLink<'a, S, E, M> {
    meta_setters!();

    /// Limits each attempt to `timeout`: a slower attempt is dropped and fails with the
    /// timeout's error, and if the link fails for good its compensation runs with no
    /// output, as for an uncertain link.
    #[must_use]
    pub fn timeout(mut self, timeout: Timeout<E>) -> Self {
        self.meta.timeout = Some(timeout);
        self
    }

    pub(crate) fn forget(&mut self) {
        self.body.forget();
    }
}

impl<'a, S: Send + 'a, E: 'a, X, O: Send + 'a> AsyncLinkBuilder<'a, S, E, X, O, Sendable>
where
    X: for<'s> FnMut(&'s mut S) -> BoxFuture<'s, Result<O, E>> + Send + 'a,
{
    /// Adds the compensation: it gets the state and the output that `execute` produced
    /// (`None` only when compensating an uncertain link that failed), and returns a
    /// boxed `Send` future.
    pub fn compensate<C>(self, compensate: C) -> AsyncLink<'a, S, E>
    where
        C: for<'s> FnMut(&'s mut S, Option<&'s O>) -> BoxFuture<'s, Result<(), E>> + Send + 'a,
    {
        let body: Box<<Sendable as Threading>::Link<'a, S, E>> = Box::new(Typed {
            execute: self.execute,
            compensate: Some(compensate),
            output: None,
        });
        AsyncLink {
            body,
            meta: Meta::new(self.name, true),
        }
    }
}

impl<'a, S: 'a, E: 'a, X, O: 'a> AsyncLinkBuilder<'a, S, E, X, O, Local>
where
    X: AsyncFnMut(&mut S) -> Result<O, E> + 'a,
{
    /// Adds the async compensation: it gets the state and the output that `execute`
    /// produced (`None` only when compensating an uncertain link that failed).
    pub fn compensate<C>(self, compensate: C) -> AsyncLink<'a, S, E, Local>
    where
        C: AsyncFnMut(&mut S, Option<&O>) -> Result<(), E> + 'a,
    {
        let body: Box<<Local as Threading>::Link<'a, S, E>> = Box::new(Typed {
            execute: self.execute,
            compensate: Some(compensate),
            output: None,
        });
        AsyncLink {
            body,
            meta: Meta::new(self.name, true),
        }
    }
}

impl<'a, S: 'a, E: 'a, X, O: 'a, M: Threading> AsyncLinkBuilder<'a, S, E, X, O, M>
where
    Self: Into<AsyncLink<'a, S, E, M>>,
{
    /// See [`AsyncLink::retry`].
    #[must_use]
    pub fn retry(self, policy: crate::Retry<E>) -> AsyncLink<'a, S, E, M> {
        self.into().retry(policy)
    }

    /// See [`AsyncLink::timeout`].
    #[must_use]
    pub fn timeout(self, timeout: Timeout<E>) -> AsyncLink<'a, S, E, M> {
        self.into().timeout(timeout)
    }
}

impl<'a, S: Send + 'a, E: 'a, X, O: Send + 'a> From<AsyncLinkBuilder<'a, S, E, X, O, Sendable>>
    for AsyncLink<'a, S, E, Sendable>
where
    X: for<'s> FnMut(&'s mut S) -> BoxFuture<'s, Result<O, E>> + Send + 'a,
{
    fn from(builder: AsyncLinkBuilder<'a, S, E, X, O, Sendable>) -> Self {
        let body: Typed<X, NoUndo<S, O, E>, O> = Typed {
            execute: builder.execute,
            compensate: None,
            output: None,
        };
        let body: Box<<Sendable as Threading>::Link<'a, S, E>> = Box::new(body);
        AsyncLink {
            body,
            meta: Meta::new(builder.name, false),
        }
    }
}

impl<'a, S: 'a, E: 'a, X, O: 'a> From<AsyncLinkBuilder<'a, S, E, X, O, Local>>
    for AsyncLink<'a, S, E, Local>
where
    X: AsyncFnMut(&mut S) -> Result<O, E> + 'a,
{
    fn from(builder: AsyncLinkBuilder<'a, S, E, X, O, Local>) -> Self {
        let body: Typed<X, NoLocalUndo<S, O, E>, O> = Typed {
            execute: builder.execute,
            compensate: None,
            output: None,
        };
        let body: Box<<Local as Threading>::Link<'a, S, E>> = Box::new(body);
        AsyncLink {
            body,
            meta: Meta::new(builder.name, false),
        }
    }
}

impl<'a, S: 'a, E: 'a> From<Link<'a, S, E>> for AsyncLink<'a, S, E, Local> {
    fn from(link: Link<'a, S, E>) -> Self {
        let body: Box<<Local as Threading>::Link<'a, S, E>> = Box::new(Blocking(link.body));
        AsyncLink {
            body,
            meta: link.meta,
        }
    }
}

impl<'a, S: 'a, E: 'a, X, R> From<LinkBuilder<'a, S, E, X, R>> for AsyncLink<'a, S, E, Local>
where
    X: FnMut(&mut S) -> R + 'a,
    R: IntoStepResult<E>,
    R::Output: 'a,
{
    fn from(builder: LinkBuilder<'a, S, E, X, R>) -> Self {
        Link::from(builder).into()
    }
}

impl<S, E, M: Threading> Linked for AsyncLink<'_, S, E, M> {
    type Error = E;
    fn meta(&self) -> &Meta<E> {
        &self.meta
    }
    fn own(&self) -> Option<&dyn Describe<Error = E>> {
        if self.meta.typed {
            self.body.describe()
        } else {
            None
        }
    }
}

impl<S, E, M: Threading> AsyncStep for Bound<'_, AsyncLink<'_, S, E, M>, &mut S> {
    type Output = ();

    fn execute(&mut self) -> impl Future<Output = Result<(), E>> {
        self.link.body.execute(self.state)
    }
    fn compensate(&mut self, (): &()) -> impl Future<Output = Result<(), E>> {
        self.link.body.compensate(self.state)
    }
    fn compensate_uncertain(&mut self) -> impl Future<Output = Option<Result<(), E>>> {
        self.link.body.compensate_uncertain(self.state)
    }
    fn timeout(&self) -> Option<Timeout<E>> {
        self.link.meta.timeout.or_else(|| self.link.body.timeout())
    }
}
