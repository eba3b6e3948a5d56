//! Sagas built from data: a list of [`Link`]s over one state type, like talepy's
//! `run_transaction`.
//!
//! Every link gets the state as the links before it left it (`&mut S`, talepy's
//! mutable dict without the aliasing), and may return an output of its own type that
//! its compensation is lent later. Compensation sees the state as the later steps left
//! it, and the failing step's compensation runs only if it is marked uncertain.

use std::borrow::Cow;

use crate::clock::Clock;
use crate::closure::IntoStepResult;
use crate::error::SagaError;
use crate::event::Observer;
use crate::execution::Execution;
use crate::executor::Executor;
use crate::retry::Retry;
use crate::step::{Step, StepKind};

/// The type-erased body of a link: runs and compensates against the state, keeping its
/// own output between the two.
pub(crate) trait Body<S, E> {
    fn execute(&mut self, state: &mut S) -> Result<(), E>;
    fn compensate(&mut self, state: &mut S) -> Result<(), E>;
    fn compensate_uncertain(&mut self, state: &mut S) -> Result<(), E>;
    fn forget(&mut self);
}

struct Typed<X, C, O> {
    execute: X,
    compensate: Option<C>,
    output: Option<O>,
}

impl<S, E, X, R, C, U> Body<S, E> for Typed<X, C, R::Output>
where
    X: FnMut(&mut S) -> R,
    R: IntoStepResult<E>,
    C: FnMut(&mut S, Option<&R::Output>) -> U,
    U: IntoStepResult<E, Output = ()>,
{
    fn execute(&mut self, state: &mut S) -> Result<(), E> {
        self.output = Some((self.execute)(state).into_step_result()?);
        Ok(())
    }
    fn compensate(&mut self, state: &mut S) -> Result<(), E> {
        match &mut self.compensate {
            Some(undo) => undo(state, self.output.as_ref()).into_step_result(),
            None => Ok(()),
        }
    }
    fn compensate_uncertain(&mut self, state: &mut S) -> Result<(), E> {
        self.output = None;
        self.compensate(state)
    }
    fn forget(&mut self) {
        self.output = None;
    }
}

/// One step of a [`Saga`] built at run time: an execute closure over the state, an
/// optional compensation, and the step's name, kind and policies.
///
/// # Examples
///
/// ```
/// use tale::{Link, Retry};
///
/// struct Trip { seats: u32, log: Vec<String> }
///
/// let reserve: Link<'_, Trip, String> = Link::new("reserve", |t: &mut Trip| {
///     t.seats -= 1;
///     Ok(format!("seat {}", t.seats))
/// })
/// .compensate(|t, seat| {
///     t.seats += 1;
///     t.log.push(format!("released {seat:?}"));
///     Ok(())
/// })
/// .retry(Retry::times(2));
/// # let _ = reserve;
/// ```
pub struct Link<'a, S, E> {
    pub(crate) body: Box<dyn Body<S, E> + 'a>,
    pub(crate) meta: Meta<E>,
}

/// What a link is besides its closures: name, kind and policies.
pub(crate) struct Meta<E> {
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: StepKind,
    pub(crate) compensated: bool,
    pub(crate) uncertain: bool,
    pub(crate) retry: Option<Retry<E>>,
    pub(crate) compensation_retry: Option<Retry<E>>,
}

impl<E> Meta<E> {
    pub(crate) fn new(name: Cow<'static, str>, compensated: bool) -> Self {
        Self {
            name,
            kind: StepKind::Compensatable,
            compensated,
            uncertain: false,
            retry: None,
            compensation_retry: None,
        }
    }
}

/// The setters of a link type with a `meta: Meta<E>` field.
macro_rules! meta_setters {
    () => {
        /// Retries `execute` under `policy`.
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

        /// Marks the outcome as uncertain: when `execute` fails, the compensation runs
        /// with no output (`None`), before the earlier links' compensations.
        #[must_use]
        pub fn uncertain(mut self) -> Self {
            self.meta.uncertain = true;
            self
        }

        /// Sets the step's kind (a [`Retriable`](StepKind::Retriable) link without a
        /// policy is retried until it succeeds).
        #[must_use]
        pub fn kind(mut self, kind: StepKind) -> Self {
            self.meta.kind = kind;
            self
        }
    };
}

/// The metadata methods of a step type whose link is `self.link` (shared by the sync
/// and async bound links).
macro_rules! meta_methods {
    () => {
        fn kind(&self) -> StepKind {
            self.link.meta.kind
        }
        fn name(&self) -> &str {
            &self.link.meta.name
        }
        fn static_name(&self) -> Option<&'static str> {
            match self.link.meta.name {
                Cow::Borrowed(name) => Some(name),
                Cow::Owned(_) => None,
            }
        }
        fn has_compensation(&self) -> bool {
            self.link.meta.compensated
        }
        fn is_uncertain(&self) -> bool {
            self.link.meta.uncertain
        }
        fn retry_policy(&self) -> Option<Retry<E>> {
            self.link.meta.retry.clone()
        }
        fn compensation_retry_policy(&self) -> Option<Retry<E>> {
            self.link.meta.compensation_retry.clone()
        }
    };
}

/// The constructor and list methods of a saga type with `name` and `links: Vec<$link>`
/// fields (shared by the sync and async sagas).
macro_rules! chain_methods {
    ($link:ident) => {
        /// An empty saga.
        pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
            Self {
                name: name.into(),
                links: Vec::new(),
            }
        }

        #[doc = concat!("Appends a step (anything that converts into a [`", stringify!($link), "`]).")]
        #[must_use]
        pub fn step(mut self, link: impl Into<$link<'a, S, E>>) -> Self {
            self.links.push(link.into());
            self
        }

        /// Appends a step, in place.
        pub fn push(&mut self, link: impl Into<$link<'a, S, E>>) {
            self.links.push(link.into());
        }

        /// The number of steps.
        #[must_use]
        pub fn len(&self) -> usize {
            self.links.len()
        }

        /// True if the saga has no steps (running it succeeds and changes nothing).
        #[must_use]
        pub fn is_empty(&self) -> bool {
            self.links.is_empty()
        }
    };
}

pub(crate) use {chain_methods, meta_methods, meta_setters};

/// The compensation slot of a link that has none.
type NoUndo<S, O, E> = fn(&mut S, Option<&O>) -> Result<(), E>;

/// Ties a [`LinkBuilder`] to the types of its execute closure.
type Signature<'a, S, R, E> = (fn(&mut S) -> R, fn() -> E, &'a ());

/// A link on its way to having a compensation; finish it with
/// [`compensate`](LinkBuilder::compensate) or use it as it is.
pub struct LinkBuilder<'a, S, E, X, R> {
    name: Cow<'static, str>,
    execute: X,
    link: std::marker::PhantomData<Signature<'a, S, R, E>>,
}

impl<'a, S: 'a, E: 'a> Link<'a, S, E> {
    /// A link that runs `execute` on the state; `execute` returns a `Result` whose
    /// value is the link's output, or `()` if it cannot fail. Give it a compensation
    /// with [`LinkBuilder::compensate`], or use it as it is (no compensation).
    #[allow(clippy::new_ret_no_self)] // a builder that becomes a `Link`
    pub fn new<X, R>(name: impl Into<Cow<'static, str>>, execute: X) -> LinkBuilder<'a, S, E, X, R>
    where
        X: FnMut(&mut S) -> R + 'a,
        R: IntoStepResult<E>,
        R::Output: 'a,
    {
        LinkBuilder {
            name: name.into(),
            execute,
            link: std::marker::PhantomData,
        }
    }

    fn from_body(
        name: Cow<'static, str>,
        body: Box<dyn Body<S, E> + 'a>,
        compensated: bool,
    ) -> Self {
        Self {
            body,
            meta: Meta::new(name, compensated),
        }
    }

    meta_setters!();
}

impl<'a, S: 'a, E: 'a, X, R> LinkBuilder<'a, S, E, X, R>
where
    X: FnMut(&mut S) -> R + 'a,
    R: IntoStepResult<E>,
    R::Output: 'a,
{
    /// Adds the compensation: it gets the state and the output that `execute` produced
    /// (`None` only when compensating an [uncertain](Link::uncertain) link that failed),
    /// and returns a `Result` or `()`.
    pub fn compensate<C, U>(self, compensate: C) -> Link<'a, S, E>
    where
        C: FnMut(&mut S, Option<&R::Output>) -> U + 'a,
        U: IntoStepResult<E, Output = ()>,
    {
        let body = Typed {
            execute: self.execute,
            compensate: Some(compensate),
            output: None,
        };
        Link::from_body(self.name, Box::new(body), true)
    }

    /// See [`Link::retry`].
    #[must_use]
    pub fn retry(self, policy: Retry<E>) -> Link<'a, S, E> {
        Link::from(self).retry(policy)
    }

    /// See [`Link::kind`].
    #[must_use]
    pub fn kind(self, kind: StepKind) -> Link<'a, S, E> {
        Link::from(self).kind(kind)
    }
}

impl<'a, S: 'a, E: 'a, X, R> From<LinkBuilder<'a, S, E, X, R>> for Link<'a, S, E>
where
    X: FnMut(&mut S) -> R + 'a,
    R: IntoStepResult<E>,
    R::Output: 'a,
{
    fn from(builder: LinkBuilder<'a, S, E, X, R>) -> Self {
        let body: Typed<X, NoUndo<S, R::Output, E>, R::Output> = Typed {
            execute: builder.execute,
            compensate: None,
            output: None,
        };
        Link::from_body(builder.name, Box::new(body), false)
    }
}

/// A link bound to the state for one call into the engine.
struct Bound<'l, 'a, 's, S, E> {
    link: &'l mut Link<'a, S, E>,
    state: &'s mut S,
}

impl<S, E> Step for Bound<'_, '_, '_, S, E> {
    type Output = ();
    type Error = E;

    fn execute(&mut self) -> Result<(), E> {
        self.link.body.execute(self.state)
    }
    fn compensate(&mut self, (): &()) -> Result<(), E> {
        self.link.body.compensate(self.state)
    }
    fn compensate_uncertain(&mut self) -> Result<(), E> {
        self.link.body.compensate_uncertain(self.state)
    }
    meta_methods!();
}

/// A saga whose steps are known only at run time: [`Link`]s over one state type, run in
/// the order they were added.
///
/// A `Saga` can be run any number of times; each run starts with fresh retry counters.
///
/// # Examples
///
/// ```
/// use tale::{Executor, Link, Saga, SagaError};
///
/// let mut saga = Saga::new("counter");
/// for i in 0..3 {
///     saga = saga.step(
///         Link::new(format!("add {i}"), move |n: &mut i32| if i == 2 { Err("boom") } else { *n += 1; Ok(()) })
///             .compensate(|n, _| { *n -= 1; Ok(()) }),
///     );
/// }
/// let mut n = 0;
/// let error = saga.run(&mut Executor::new(), &mut n).unwrap_err();
/// assert!(matches!(error, SagaError::Compensated { .. }));
/// assert_eq!(n, 0);
/// ```
pub struct Saga<'a, S, E> {
    name: Cow<'static, str>,
    links: Vec<Link<'a, S, E>>,
}

impl<'a, S, E> Saga<'a, S, E> {
    chain_methods!(Link);

    /// Runs every step in order on `state`; on failure, compensates the completed
    /// steps in reverse order.
    ///
    /// # Errors
    ///
    /// The failed step, and every compensation that failed, as [`SagaError`].
    ///
    /// # Panics
    ///
    /// Resumes a step's panic after compensating the completed steps.
    pub fn run<O, C>(
        &mut self,
        executor: &mut Executor<O, C>,
        state: &mut S,
    ) -> Result<(), SagaError<E>>
    where
        O: Observer<E>,
        C: Clock,
    {
        let mut run = Execution::start(executor, &self.name);
        let mut completed = 0;
        let mut result = Ok(());
        for (index, link) in self.links.iter_mut().enumerate() {
            let mut bound = Bound { link, state };
            if let Err(unwind) = run.step(index, &mut bound) {
                result = Err(unwind);
                break;
            }
            completed += 1;
        }
        if result.is_err() {
            for (index, link) in self.links[..completed].iter_mut().enumerate().rev() {
                run.compensate(index, &mut Bound { link, state }, ());
            }
        }
        for link in &mut self.links {
            link.body.forget();
        }
        run.finish(result)
    }
}

/// Runs `links` in order on `state` as a saga named `transaction`, on a default
/// [`Executor`]: talepy's `run_transaction`, with `&mut S` in place of a threaded state.
///
/// # Errors
///
/// As [`Saga::run`].
///
/// # Examples
///
/// ```
/// use tale::{Link, run_transaction};
///
/// let mut state = 0;
/// let links: Vec<Link<'_, i32, String>> = vec![
///     Link::new("one", |s: &mut i32| { *s += 1; Ok(()) }).into(),
///     Link::new("two", |s: &mut i32| { *s += 2; Ok(()) }).into(),
/// ];
/// run_transaction(links, &mut state).unwrap();
/// assert_eq!(state, 3);
/// ```
pub fn run_transaction<'a, S, E, L>(
    links: impl IntoIterator<Item = L>,
    state: &mut S,
) -> Result<(), SagaError<E>>
where
    L: Into<Link<'a, S, E>>,
{
    let mut saga = Saga::new("transaction");
    saga.links.extend(links.into_iter().map(Into::into));
    saga.run(&mut Executor::new(), state)
}
