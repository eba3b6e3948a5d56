//! [`Threading`]: whether a runtime-composed async saga is `Send` ([`Sendable`], the
//! default) or runs on one thread ([`Local`]), and the type-erased closures each flavour
//! boxes.

use std::future::Future;
use std::pin::Pin;

use crate::step::Describe;
use crate::timeout::Timeout;

/// A boxed future that is `Send`: what the closures of a [`Sendable`] async link or
/// branch return (`|state| Box::pin(async move { ... })`).
pub type BoxFuture<'s, T> = Pin<Box<dyn Future<Output = T> + Send + 's>>;

/// A boxed future that need not be `Send`: what a [`Local`] link's async closure
/// becomes.
pub type LocalBoxFuture<'s, T> = Pin<Box<dyn Future<Output = T> + 's>>;

mod sealed {
    pub trait Sealed {}
}

/// Whether the futures of an [`AsyncSaga`](super::AsyncSaga) or a concurrent
/// transaction are `Send`: [`Sendable`] or [`Local`]. Sealed: these two are all there
/// is.
pub trait Threading: sealed::Sealed + Sized + 'static {
    /// The boxed future of one call.
    #[doc(hidden)]
    type Future<'s, T: 's>: Future<Output = T> + 's;
    /// A link's erased body.
    #[doc(hidden)]
    type Link<'a, S: 'a, E: 'a>: ?Sized + LinkBody<S, E, Self> + 'a;
    /// A branch's erased execute closure.
    #[doc(hidden)]
    type Exec<'a, I: 'a, O: 'a, E: 'a>: ?Sized + ExecBranch<I, O, E, Self> + 'a;
    /// A branch's erased compensation.
    #[doc(hidden)]
    type Undo<'a, I: 'a, O: 'a, E: 'a>: ?Sized + UndoBranch<I, O, E, Self> + 'a;
}

/// Links and branches whose futures are `Send`, so that the saga's future is: made by
/// [`AsyncLink::new`](super::AsyncLink::new) and [`Branch::new`](super::Branch::new).
#[derive(Debug)]
pub enum Sendable {}

/// Links and branches whose futures need not be `Send` (an `Rc`, a `RefCell` borrow
/// across an `.await`), run on one thread: made by
/// [`AsyncLink::local`](super::AsyncLink::local) and
/// [`Branch::local`](super::Branch::local).
#[derive(Debug)]
pub enum Local {}

impl sealed::Sealed for Sendable {}
impl sealed::Sealed for Local {}

impl Threading for Sendable {
    type Future<'s, T: 's> = BoxFuture<'s, T>;
    type Link<'a, S: 'a, E: 'a> = dyn LinkBody<S, E, Sendable> + Send + 'a;
    type Exec<'a, I: 'a, O: 'a, E: 'a> = dyn ExecBranch<I, O, E, Sendable> + Send + 'a;
    type Undo<'a, I: 'a, O: 'a, E: 'a> = dyn UndoBranch<I, O, E, Sendable> + Send + 'a;
}

impl Threading for Local {
    type Future<'s, T: 's> = LocalBoxFuture<'s, T>;
    type Link<'a, S: 'a, E: 'a> = dyn LinkBody<S, E, Local> + 'a;
    type Exec<'a, I: 'a, O: 'a, E: 'a> = dyn ExecBranch<I, O, E, Local> + 'a;
    type Undo<'a, I: 'a, O: 'a, E: 'a> = dyn UndoBranch<I, O, E, Local> + 'a;
}

/// The type-erased body of an async link: runs and compensates against the state,
/// keeping its own output between the two.
#[doc(hidden)]
pub trait LinkBody<S, E, M: Threading> {
    /// Runs the link once.
    fn execute<'s>(&'s mut self, state: &'s mut S) -> M::Future<'s, Result<(), E>>;
    /// Compensates it with its output.
    fn compensate<'s>(&'s mut self, state: &'s mut S) -> M::Future<'s, Result<(), E>>;
    /// Compensates it without an output, after it failed with an uncertain outcome:
    /// `None` if it has no compensation that works without its output (the saga then
    /// reports it as not compensated, never as undone).
    fn compensate_uncertain<'s>(
        &'s mut self,
        state: &'s mut S,
    ) -> M::Future<'s, Option<Result<(), E>>>;
    /// Drops the kept output.
    fn forget(&mut self);
    /// The typed step inside, which describes itself; `None` for closures.
    fn describe(&self) -> Option<&dyn Describe<Error = E>> {
        None
    }
    /// The typed step's own time limit per attempt; `None` for closures.
    fn timeout(&self) -> Option<Timeout<E>> {
        None
    }
}

/// A branch's execute closure, type-erased.
#[doc(hidden)]
pub trait ExecBranch<I, O, E, M: Threading> {
    /// Runs the branch once.
    fn call<'s>(&'s mut self, input: &'s I) -> M::Future<'s, Result<O, E>>;
}

/// A branch's compensation, type-erased.
#[doc(hidden)]
pub trait UndoBranch<I, O, E, M: Threading> {
    /// Compensates the branch (with no output for an uncertain one).
    fn call<'s>(&'s mut self, input: &'s I, output: Option<&'s O>) -> M::Future<'s, Result<(), E>>;
}

/// A [`Local`] closure: an async closure whose future is boxed at each call.
pub(crate) struct LocalFn<F>(pub(crate) F);

impl<I, O, E, X> ExecBranch<I, O, E, Sendable> for X
where
    X: for<'s> FnMut(&'s I) -> BoxFuture<'s, Result<O, E>>,
{
    fn call<'s>(&'s mut self, input: &'s I) -> BoxFuture<'s, Result<O, E>> {
        self(input)
    }
}

impl<I, O, E, X: AsyncFnMut(&I) -> Result<O, E>> ExecBranch<I, O, E, Local> for LocalFn<X> {
    fn call<'s>(&'s mut self, input: &'s I) -> LocalBoxFuture<'s, Result<O, E>> {
        Box::pin((self.0)(input))
    }
}

impl<I, O, E, C> UndoBranch<I, O, E, Sendable> for C
where
    C: for<'s> FnMut(&'s I, Option<&'s O>) -> BoxFuture<'s, Result<(), E>>,
{
    fn call<'s>(&'s mut self, input: &'s I, output: Option<&'s O>) -> BoxFuture<'s, Result<(), E>> {
        self(input, output)
    }
}

impl<I, O, E, C> UndoBranch<I, O, E, Local> for LocalFn<C>
where
    C: AsyncFnMut(&I, Option<&O>) -> Result<(), E>,
{
    fn call<'s>(
        &'s mut self,
        input: &'s I,
        output: Option<&'s O>,
    ) -> LocalBoxFuture<'s, Result<(), E>> {
        Box::pin((self.0)(input, output))
    }
}
