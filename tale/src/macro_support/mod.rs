//! Not public API: the runtime side of `#[step]` and `saga!`, reached only through
//! [`__private`](crate::__private).
//!
//! - [`step_fn`]: the step values that `#[step]` functions return;
//! - [`send_step`]: the `Send` flavour of an async step value, whose futures rustc can
//!   see are `Send`;
//! - [`kind`]: step kinds at the type level, for the pivot checks of `saga!`;
//! - [`compensation`]: calling a `compensate = ...` function, with a readable error
//!   when its signature does not fit the step;
//! - [`stub`]: what a `#[step]` function with a macro error returns, so that its callers
//!   raise no further errors;
//! - this file: the small traits whose `on_unimplemented` messages the expansions rely on.

pub(crate) mod compensation;
pub(crate) mod item;
pub(crate) mod kind;
pub(crate) mod send_step;
pub(crate) mod step_fn;
pub(crate) mod stub;

use crate::clock::Clock;
use crate::engine::Executor;
use crate::error::SagaError;

/// What a `#[step]` function returns: `Result<Output, Error>`.
#[diagnostic::on_unimplemented(
    message = "a `#[step]` function must return `Result<Output, Error>`, not `{Self}`",
    label = "expected `Result<_, _>`",
    note = "the `Ok` value is the step's output, which later steps borrow and its compensation receives; the `Err` value fails the step"
)]
pub trait StepReturn {
    /// The step's output.
    type Output;
    /// The step's error.
    type Error;
    /// The result, unchanged.
    ///
    /// # Errors
    ///
    /// The step's error.
    fn into_result(self) -> Result<Self::Output, Self::Error>;
}

// No "the trait is implemented for" list from tale's source: the message says it.
#[diagnostic::do_not_recommend]
impl<T, E> StepReturn for Result<T, E> {
    type Output = T;
    type Error = E;
    #[inline]
    fn into_result(self) -> Result<T, E> {
        self
    }
}

/// What the `fn` form of `saga!` returns: `Result<T, SagaError<E>>`.
#[diagnostic::on_unimplemented(
    message = "a `saga!` function must return `Result<T, tale::SagaError<E>>`, not `{Self}`",
    label = "expected `Result<_, tale::SagaError<_>>`",
    note = "`T` is the type of the saga's final expression and `E` the error type of its steps"
)]
pub trait SagaReturn {
    /// The steps' error type.
    type Error;
}

// No "the trait is implemented for" list from tale's source: the message says it.
#[diagnostic::do_not_recommend]
impl<T, E> SagaReturn for Result<T, SagaError<E>> {
    type Error = E;
}

/// Makes an `impl Trait` return type capture lifetimes in every edition (the
/// "`Captures` trick"): `#[step]` functions return `impl Step + Captures<(&'a (), ...)>`.
pub trait Captures<T: ?Sized> {}

impl<T: ?Sized, U: ?Sized> Captures<T> for U {}

/// An argument that a `#[step]` function takes by value: cloned for every attempt and
/// every compensation, because the function may consume it.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is taken by value by a `#[step]` function but is not `Clone`",
    label = "cloned for every attempt of the step",
    note = "a step may run more than once (retries) and its compensation gets the arguments too: take the argument by reference (`&{Self}`), or make it `Clone`"
)]
pub trait ByValueArg: Clone {}

impl<T: Clone> ByValueArg for T {}

/// A fresh copy of a by-value argument for one call of the step's body or compensation.
#[inline]
#[must_use]
pub fn per_attempt<T: ByValueArg>(arg: &T) -> T {
    arg.clone()
}

/// Where a saga runs: an owned [`Executor`] (`executor = Executor::new().with_clock(c)`) or
/// a borrowed one (`executor = &mut executor`).
#[diagnostic::on_unimplemented(
    message = "`executor = ...` must be a `tale::Executor` or a `&mut tale::Executor`, not `{Self}`",
    label = "not an executor"
)]
pub trait ExecutorMut {
    /// The observer.
    type Observer;
    /// The clock.
    type Clock;
    /// The executor, borrowed for one run.
    fn executor_mut(&mut self) -> &mut Executor<Self::Observer, Self::Clock>;
}

// No "the trait is implemented for" list from tale's source: the message says it.
#[diagnostic::do_not_recommend]
impl<O, C: Clock> ExecutorMut for Executor<O, C> {
    type Observer = O;
    type Clock = C;
    #[inline]
    fn executor_mut(&mut self) -> &mut Executor<O, C> {
        self
    }
}

// No "the trait is implemented for" list from tale's source: the message says it.
#[diagnostic::do_not_recommend]
impl<O, C: Clock> ExecutorMut for &mut Executor<O, C> {
    type Observer = O;
    type Clock = C;
    #[inline]
    fn executor_mut(&mut self) -> &mut Executor<O, C> {
        self
    }
}

/// Drops a step value. A saga that succeeded drops its step values (last first, as
/// their scopes would end) before its tail moves the outputs they may borrow.
#[inline(always)]
pub fn release<T>(value: T) {
    drop(value);
}

/// The failure of a step: the expansion binds a step's output with
/// `let Ok(output) = result else { break 'level failed(result) }`, so that a failed
/// step's `Unwind` leaves its level without a `match` arm of type `!` (whose coercion
/// into the output's type would let an uninferred output fall back to `!`).
///
/// # Panics
///
/// On an `Ok`, which the expansion never passes.
#[inline(always)]
pub fn failed<T, E>(result: Result<T, E>) -> E {
    match result {
        Err(error) => error,
        Ok(_) => unreachable!("the expansion matched `Ok` first"),
    }
}

/// The output of a branch that succeeded: the expansion of `join!` checks every
/// branch's result with `is_ok` first, then moves each whole result here (or, if some
/// branch failed, into its compensation). Moving each result whole on both paths
/// spares a drop flag per branch, which an async saga's state machine would keep
/// across every await (rustc's layout pass is cubic in them).
///
/// # Panics
///
/// On an `Err`, which the expansion never passes.
#[inline(always)]
pub fn succeeded<T, E>(result: Result<T, E>) -> T {
    match result {
        Ok(output) => output,
        Err(_) => unreachable!("the expansion checked every branch with `is_ok`"),
    }
}
