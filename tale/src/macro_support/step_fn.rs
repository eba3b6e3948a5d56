//! The step values that `#[step]` functions return.
//!
//! A `#[step]` function keeps its body in an inner function and returns
//! `StepFn::new((arg0, arg1), Consts, marker, |args| body(args.0, args.1))`: the
//! arguments live in a tuple, closures that capture nothing (so are zero-sized) call the
//! body and the compensation with them, and the step's name, kind and uncertainty are
//! constants of the zero-sized `Consts`. Nothing is boxed.

use std::future::Future;
use std::marker::PhantomData;

use crate::retry::Retry;
use crate::step::{AsyncStep, Describe, Step, StepKind};

use super::kind::Kinded;

/// No compensation.
pub struct NoUndo;
/// A compensation closure, lent the arguments and the output (`None` for a failed
/// uncertain step).
pub struct Undo<G>(pub(super) G);
/// No retry policy of the step's own.
pub struct NoPolicy;
/// A retry policy, built only when an attempt has failed.
pub struct Policy<F>(F);

/// What a step's [`Describe`] impl answers, known at compile time: `#[step]` declares a
/// zero-sized type per step function with these constants, so that a step value holds
/// its arguments and nothing else.
pub trait StepConsts {
    /// The step's name.
    const NAME: &'static str;
    /// The step's kind.
    const KIND: StepKind;
    /// Whether the step's outcome is uncertain.
    const UNCERTAIN: bool;
}

/// A retry policy slot.
pub trait PolicyOf<E> {
    /// The policy, if any.
    fn policy(&self) -> Option<Retry<E>>;
}
impl<E> PolicyOf<E> for NoPolicy {
    #[inline]
    fn policy(&self) -> Option<Retry<E>> {
        None
    }
}
impl<E, F: Fn() -> Retry<E>> PolicyOf<E> for Policy<F> {
    #[inline]
    fn policy(&self) -> Option<Retry<E>> {
        Some((self.0)())
    }
}

macro_rules! step_fn {
    ($ty:ident, $doc:literal, $exec:ident, $undo_bound:ident) => {
        #[doc = $doc]
        pub struct $ty<A, X, U, P, Q, K, O, M, E> {
            args: A,
            execute: X,
            undo: U,
            retry: P,
            compensation_retry: Q,
            kind: PhantomData<fn() -> (K, O, M, E)>,
        }

        impl<A, X, K, O, M: StepConsts, E> $ty<A, X, NoUndo, NoPolicy, NoPolicy, K, O, M, E> {
            /// A step of `args` that runs `execute`, with no compensation; `consts` and
            /// `marker` only carry types.
            #[inline]
            pub fn new(args: A, _consts: M, _marker: K, execute: X) -> Self
            where
                X: $exec(&mut A) -> Result<O, E>,
            {
                $ty {
                    args,
                    execute,
                    undo: NoUndo,
                    retry: NoPolicy,
                    compensation_retry: NoPolicy,
                    kind: PhantomData,
                }
            }
        }

        impl<A, X, P, Q, K, O, M, E> $ty<A, X, NoUndo, P, Q, K, O, M, E> {
            /// Adds the compensation.
            #[inline]
            pub fn compensate<G>(self, undo: G) -> $ty<A, X, Undo<G>, P, Q, K, O, M, E>
            where
                X: $exec(&mut A) -> Result<O, E>,
                G: $undo_bound(&mut A, Option<&O>) -> Result<(), E>,
            {
                $ty {
                    args: self.args,
                    execute: self.execute,
                    undo: Undo(undo),
                    retry: self.retry,
                    compensation_retry: self.compensation_retry,
                    kind: PhantomData,
                }
            }
        }

        impl<A, X, U, Q, K, O, M, E> $ty<A, X, U, NoPolicy, Q, K, O, M, E> {
            /// Adds the default retry policy.
            #[inline]
            pub fn retry<F>(self, policy: F) -> $ty<A, X, U, Policy<F>, Q, K, O, M, E>
            where
                X: $exec(&mut A) -> Result<O, E>,
                F: Fn() -> Retry<E>,
            {
                $ty {
                    args: self.args,
                    execute: self.execute,
                    undo: self.undo,
                    retry: Policy(policy),
                    compensation_retry: self.compensation_retry,
                    kind: PhantomData,
                }
            }
        }

        impl<A, X, U, P, K, O, M, E> $ty<A, X, U, P, NoPolicy, K, O, M, E> {
            /// Adds the default retry policy of the compensation.
            #[inline]
            pub fn compensation_retry<F>(self, policy: F) -> $ty<A, X, U, P, Policy<F>, K, O, M, E>
            where
                X: $exec(&mut A) -> Result<O, E>,
                F: Fn() -> Retry<E>,
            {
                $ty {
                    args: self.args,
                    execute: self.execute,
                    undo: self.undo,
                    retry: self.retry,
                    compensation_retry: Policy(policy),
                    kind: PhantomData,
                }
            }
        }

        impl<A, X, U, P, Q, K: Default, O, M, E> Kinded for $ty<A, X, U, P, Q, K, O, M, E> {
            type Kind = K;
        }

        impl<A, X, U, P, Q, K, O, M, E> Describe for $ty<A, X, U, P, Q, K, O, M, E>
        where
            M: StepConsts,
            U: UndoSlot,
            P: PolicyOf<E>,
            Q: PolicyOf<E>,
        {
            type Error = E;

            fn kind(&self) -> StepKind {
                M::KIND
            }
            fn name(&self) -> &str {
                M::NAME
            }
            fn static_name(&self) -> Option<&'static str> {
                Some(M::NAME)
            }
            fn has_compensation(&self) -> bool {
                U::EXISTS
            }
            fn is_uncertain(&self) -> bool {
                M::UNCERTAIN
            }
            // Only an `uncertain` step's compensation takes `Option<&Output>`.
            fn compensates_without_output(&self) -> bool {
                U::EXISTS && M::UNCERTAIN
            }
            fn retry_policy(&self) -> Option<Retry<E>> {
                self.retry.policy()
            }
            fn compensation_retry_policy(&self) -> Option<Retry<E>> {
                self.compensation_retry.policy()
            }
        }
    };
}

step_fn!(
    StepFn,
    "The step value of a sync `#[step]` function.",
    FnMut,
    FnMut
);
step_fn!(
    AsyncStepFn,
    "The step value of an `async fn` marked `#[step]`.",
    AsyncFnMut,
    AsyncFnMut
);

impl<A, X, U, P, Q, K, O, M, E> AsyncStepFn<A, X, U, P, Q, K, O, M, E> {
    /// The arguments and the body, borrowed apart.
    #[inline]
    pub(super) fn args_and_execute(&mut self) -> (&mut A, &mut X) {
        (&mut self.args, &mut self.execute)
    }
    /// The arguments and the compensation, borrowed apart.
    #[inline]
    pub(super) fn args_and_undo(&mut self) -> (&mut A, &mut U) {
        (&mut self.args, &mut self.undo)
    }
}

/// Whether a compensation slot holds a compensation.
pub trait UndoSlot {
    /// True for [`Undo`], false for [`NoUndo`].
    const EXISTS: bool;
}
impl UndoSlot for NoUndo {
    const EXISTS: bool = false;
}
impl<G> UndoSlot for Undo<G> {
    const EXISTS: bool = true;
}

/// The compensation slot of a [`StepFn`].
pub trait UndoSync<A, O, E> {
    /// Runs it.
    ///
    /// # Errors
    ///
    /// The compensation's error.
    fn undo(&mut self, args: &mut A, output: Option<&O>) -> Result<(), E>;
}
impl<A, O, E> UndoSync<A, O, E> for NoUndo {
    #[inline]
    fn undo(&mut self, _: &mut A, _: Option<&O>) -> Result<(), E> {
        Ok(())
    }
}
impl<A, O, E, G: FnMut(&mut A, Option<&O>) -> Result<(), E>> UndoSync<A, O, E> for Undo<G> {
    #[inline]
    fn undo(&mut self, args: &mut A, output: Option<&O>) -> Result<(), E> {
        (self.0)(args, output)
    }
}

/// The compensation slot of an [`AsyncStepFn`].
pub trait UndoAsync<A, O, E> {
    /// Runs it.
    fn undo(&mut self, args: &mut A, output: Option<&O>) -> impl Future<Output = Result<(), E>>;
}
impl<A, O, E> UndoAsync<A, O, E> for NoUndo {
    #[inline]
    fn undo(&mut self, _: &mut A, _: Option<&O>) -> impl Future<Output = Result<(), E>> {
        std::future::ready(Ok(()))
    }
}
impl<A, O, E, G: AsyncFnMut(&mut A, Option<&O>) -> Result<(), E>> UndoAsync<A, O, E> for Undo<G> {
    #[inline]
    fn undo(&mut self, args: &mut A, output: Option<&O>) -> impl Future<Output = Result<(), E>> {
        (self.0)(args, output)
    }
}

impl<A, X, U, P, Q, K, O, M, E> Step for StepFn<A, X, U, P, Q, K, O, M, E>
where
    M: StepConsts,
    X: FnMut(&mut A) -> Result<O, E>,
    U: UndoSync<A, O, E> + UndoSlot,
    P: PolicyOf<E>,
    Q: PolicyOf<E>,
{
    type Output = O;

    #[inline]
    fn execute(&mut self) -> Result<O, E> {
        (self.execute)(&mut self.args)
    }
    #[inline]
    fn compensate(&mut self, output: &O) -> Result<(), E> {
        self.undo.undo(&mut self.args, Some(output))
    }
    /// Only a step declared `uncertain` has a compensation that takes no output.
    fn compensate_uncertain(&mut self) -> Option<Result<(), E>> {
        M::UNCERTAIN.then(|| self.undo.undo(&mut self.args, None))
    }
}

impl<A, X, U, P, Q, K, O, M, E> AsyncStep for AsyncStepFn<A, X, U, P, Q, K, O, M, E>
where
    M: StepConsts,
    X: AsyncFnMut(&mut A) -> Result<O, E>,
    U: UndoAsync<A, O, E> + UndoSlot,
    P: PolicyOf<E>,
    Q: PolicyOf<E>,
{
    type Output = O;

    #[inline]
    fn execute(&mut self) -> impl Future<Output = Result<O, E>> {
        (self.execute)(&mut self.args)
    }
    #[inline]
    fn compensate(&mut self, output: &O) -> impl Future<Output = Result<(), E>> {
        self.undo.undo(&mut self.args, Some(output))
    }
    /// Only a step declared `uncertain` has a compensation that takes no output.
    fn compensate_uncertain(&mut self) -> impl Future<Output = Option<Result<(), E>>> {
        let undo = self.undo.undo(&mut self.args, None);
        async move { if M::UNCERTAIN { Some(undo.await) } else { None } }
    }
}
