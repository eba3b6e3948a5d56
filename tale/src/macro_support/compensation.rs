//! Calling a `compensate = path` function with the step's arguments and its output.
//!
//! The `#[step]` expansion checks the function once, where the step's argument, output
//! and error types are all known, with autoref specialization:
//! `(&&CheckSync::<_, O, E, _>::new(path, &args)).tale_fits()` gives [`Fits`] when `path`
//! fits, [`IsAsync`] when it is an `async fn` that would fit an async step, and
//! [`DoesNotFit`] otherwise. The `call` of the last two requires a trait with no impls
//! whose `on_unimplemented` message says what is wrong in the step's terms. (A plain
//! `F: FnMut(..)` bound would report rustc's generic "type mismatch in function
//! arguments" instead, even with `#[diagnostic::do_not_recommend]`.)

use std::future::Future;
use std::marker::PhantomData;

/// A function that compensates a sync step: the step's arguments, then `&Output`.
pub trait Compensation<A, O, E> {
    /// Runs the compensation.
    ///
    /// # Errors
    ///
    /// The compensation's error.
    fn call(&mut self, args: A, output: &O) -> Result<(), E>;
}

/// A function that compensates a sync step marked `uncertain`.
pub trait UncertainCompensation<A, O, E> {
    /// Runs the compensation.
    ///
    /// # Errors
    ///
    /// The compensation's error.
    fn call(&mut self, args: A, output: Option<&O>) -> Result<(), E>;
}

/// A function that compensates an async step: an `async fn` taking the step's
/// arguments, then `&Output`.
#[diagnostic::on_unimplemented(
    message = "`compensate = ...` does not fit this async step: it must be an `async fn` taking the step's arguments, then `&{O}` (the step's output)",
    label = "expected `async fn(<the step's arguments>, &{O}) -> Result<(), {E}>`",
    note = "the compensation of an `async fn` step is awaited, so it is an `async fn` too"
)]
pub trait AsyncCompensation<A, O, E> {
    /// Runs the compensation.
    fn call(&mut self, args: A, output: &O) -> impl Future<Output = Result<(), E>>;
}

/// A function that compensates an async step marked `uncertain`.
#[diagnostic::on_unimplemented(
    message = "`compensate = ...` does not fit this async `uncertain` step: it must be an `async fn` taking the step's arguments, then `Option<&{O}>` (the step's output, if any)",
    label = "expected `async fn(<the step's arguments>, Option<&{O}>) -> Result<(), {E}>`",
    note = "the compensation of an `uncertain` step also runs when the step itself failed, with `None` for the output it never returned"
)]
pub trait AsyncUncertainCompensation<A, O, E> {
    /// Runs the compensation.
    fn call(&mut self, args: A, output: Option<&O>) -> impl Future<Output = Result<(), E>>;
}

macro_rules! compensations {
    ($($ty:ident $arg:ident),*) => {
        #[diagnostic::do_not_recommend]
        impl<F, $($ty,)* O, E> Compensation<($($ty,)*), O, E> for F
        where
            F: FnMut($($ty,)* &O) -> Result<(), E>,
        {
            #[inline]
            fn call(&mut self, ($($arg,)*): ($($ty,)*), output: &O) -> Result<(), E> {
                self($($arg,)* output)
            }
        }

        #[diagnostic::do_not_recommend]
        impl<F, $($ty,)* O, E> UncertainCompensation<($($ty,)*), O, E> for F
        where
            F: FnMut($($ty,)* Option<&O>) -> Result<(), E>,
        {
            #[inline]
            fn call(&mut self, ($($arg,)*): ($($ty,)*), output: Option<&O>) -> Result<(), E> {
                self($($arg,)* output)
            }
        }

        #[diagnostic::do_not_recommend]
        impl<F, $($ty,)* O, E> AsyncCompensation<($($ty,)*), O, E> for F
        where
            F: AsyncFnMut($($ty,)* &O) -> Result<(), E>,
        {
            #[inline]
            fn call(&mut self, ($($arg,)*): ($($ty,)*), output: &O) -> impl Future<Output = Result<(), E>> {
                self($($arg,)* output)
            }
        }

        #[diagnostic::do_not_recommend]
        impl<F, $($ty,)* O, E> AsyncUncertainCompensation<($($ty,)*), O, E> for F
        where
            F: AsyncFnMut($($ty,)* Option<&O>) -> Result<(), E>,
        {
            #[inline]
            fn call(&mut self, ($($arg,)*): ($($ty,)*), output: Option<&O>) -> impl Future<Output = Result<(), E>> {
                self($($arg,)* output)
            }
        }
    };
}

compensations!();
compensations!(A1 a1);
compensations!(A1 a1, A2 a2);
compensations!(A1 a1, A2 a2, A3 a3);
compensations!(A1 a1, A2 a2, A3 a3, A4 a4);
compensations!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
compensations!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);
compensations!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7);
compensations!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8);

/// A compensation function that fits its step, found by [`TaleFits`].
#[derive(Clone, Copy)]
pub struct Fits<F>(F);

impl<F> Fits<F> {
    /// Runs the compensation of a sync step.
    ///
    /// # Errors
    ///
    /// The compensation's error.
    #[inline]
    pub fn call<A, O, E>(&mut self, args: A, output: &O) -> Result<(), E>
    where
        F: Compensation<A, O, E>,
    {
        self.0.call(args, output)
    }
    /// Runs the compensation of a sync `uncertain` step.
    ///
    /// # Errors
    ///
    /// The compensation's error.
    #[inline]
    pub fn call_uncertain<A, O, E>(&mut self, args: A, output: Option<&O>) -> Result<(), E>
    where
        F: UncertainCompensation<A, O, E>,
    {
        self.0.call(args, output)
    }
}

/// Finds `Fits` when the function fits (method resolution tries it first).
pub trait TaleFits {
    /// `Fits`.
    type Out;
    /// The checked compensation.
    fn tale_fits(&self) -> Self::Out;
}

/// Finds [`IsAsync`] when the function does not fit but takes the step's arguments and
/// its output and returns a future: an `async fn` given to a sync step (tried second).
pub trait TaleIsAsync {
    /// `IsAsync`.
    type Out;
    /// The mismatch, reported when it is called.
    fn tale_fits(&self) -> Self::Out;
}

/// Finds [`DoesNotFit`] otherwise (tried last).
pub trait TaleMismatch {
    /// `DoesNotFit`.
    type Out;
    /// The mismatch, reported when it is called.
    fn tale_fits(&self) -> Self::Out;
}

/// A function that, called with the arguments `A` and then `P` (the step's output as
/// the compensation receives it, at `'static`), returns a future. Only asked of a
/// compensation that does not fit a sync step, to say why: it is an `async fn`.
pub trait ReturnsFuture<A, P> {}

macro_rules! returns_future {
    ($($ty:ident),*) => {
        impl<F, $($ty,)* P, Fut> ReturnsFuture<($($ty,)*), P> for F
        where
            F: FnMut($($ty,)* P) -> Fut,
            Fut: Future,
        {
        }
    };
}

returns_future!();
returns_future!(A1);
returns_future!(A1, A2);
returns_future!(A1, A2, A3);
returns_future!(A1, A2, A3, A4);
returns_future!(A1, A2, A3, A4, A5);
returns_future!(A1, A2, A3, A4, A5, A6);
returns_future!(A1, A2, A3, A4, A5, A6, A7);
returns_future!(A1, A2, A3, A4, A5, A6, A7, A8);

// The expansion calls `(&&Check::new(f, &args)).tale_fits()`. Method resolution tries
// the impl on `&Check` first (the receiver as it is), then the one on `&&Check` (one
// autoref), then the one on `Check` (one deref): fits, is async, does not fit.
macro_rules! check {
    ($check:ident, $trait:ident, ($($out:tt)*)) => {
        /// The question whether `F` compensates a step of arguments `A`, output `O`
        /// and error `E`.
        pub struct $check<A, O, E, F>(F, PhantomData<fn(A, &O) -> E>);

        impl<A, O, E, F> $check<A, O, E, F> {
            /// Asks about `f`, called with arguments like `args`.
            #[inline]
            pub fn new(f: F, _args: &A) -> Self {
                $check(f, PhantomData)
            }
        }

        impl<A, O, E, F: $trait<A, O, E> + Copy> TaleFits for &$check<A, O, E, F> {
            type Out = Fits<F>;
            #[inline]
            fn tale_fits(&self) -> Fits<F> {
                Fits(self.0)
            }
        }

        impl<A, O: 'static, E, F: ReturnsFuture<A, $($out)*>> TaleIsAsync for &&$check<A, O, E, F> {
            type Out = IsAsync<A, O, E, F>;
            #[inline]
            fn tale_fits(&self) -> IsAsync<A, O, E, F> {
                IsAsync(PhantomData)
            }
        }

        impl<A, O, E, F> TaleMismatch for $check<A, O, E, F> {
            type Out = DoesNotFit<A, O, E, F>;
            #[inline]
            fn tale_fits(&self) -> DoesNotFit<A, O, E, F> {
                DoesNotFit(PhantomData)
            }
        }
    };
}

check!(CheckSync, Compensation, (&'static O));
check!(CheckUncertain, UncertainCompensation, (Option<&'static O>));

/// Implemented by nothing: the error of a `compensate = ...` function that does not
/// fit a sync step.
#[diagnostic::on_unimplemented(
    message = "`compensate = ...` does not fit this step: it must take the step's arguments, then `&{O}` (the step's output)",
    label = "expected `fn(<the step's arguments>, &{O}) -> Result<(), {E}>`",
    note = "a compensation receives the step's arguments in the step's order, then the step's output by reference, and returns `Result<(), {E}>`"
)]
pub trait CompensatesStep<A, O, E> {}

/// Implemented by nothing: the error of a `compensate = ...` function that does not
/// fit a sync `uncertain` step.
#[diagnostic::on_unimplemented(
    message = "`compensate = ...` does not fit this `uncertain` step: it must take the step's arguments, then `Option<&{O}>` (the step's output, if any)",
    label = "expected `fn(<the step's arguments>, Option<&{O}>) -> Result<(), {E}>`",
    note = "the compensation of an `uncertain` step also runs when the step itself failed, with `None` for the output it never returned"
)]
pub trait CompensatesUncertainStep<A, O, E> {}

/// Implemented by nothing: the error of an `async fn` given as the compensation of a
/// sync step.
#[diagnostic::on_unimplemented(
    message = "`compensate = ...` is an `async fn`, but this step is sync: make the compensation a plain `fn`, or the step an `async fn`",
    label = "an `async fn`, which returns a future",
    note = "a sync step's compensation is called and returns `Result<(), {E}>`; an `async fn` step's compensation is awaited"
)]
pub trait SyncCompensation<A, O, E> {}

/// A compensation function that does not fit; calling it reports why.
pub struct DoesNotFit<A, O, E, F>(PhantomData<fn(F, A, &O) -> E>);

// Written out rather than generated: the error's note quotes the bound, and a bound
// inside a `macro_rules!` expansion would bring the macro's backtrace along.
impl<A, O, E, F> DoesNotFit<A, O, E, F> {
    /// Never compiles: reports the mismatch.
    #[inline]
    pub fn call<A2, E2>(&mut self, _args: A2, _output: &O) -> Result<(), E2>
    where
        F: CompensatesStep<A, O, E>,
    {
        unreachable!("`CompensatesStep` has no impls")
    }

    /// Never compiles: reports the mismatch.
    #[inline]
    pub fn call_uncertain<A2, E2>(&mut self, _args: A2, _output: Option<&O>) -> Result<(), E2>
    where
        F: CompensatesUncertainStep<A, O, E>,
    {
        unreachable!("`CompensatesUncertainStep` has no impls")
    }
}

/// An `async fn` given as the compensation of a sync step; calling it reports that.
pub struct IsAsync<A, O, E, F>(PhantomData<fn(F, A, &O) -> E>);

impl<A, O, E, F> IsAsync<A, O, E, F> {
    /// Never compiles: reports the mismatch.
    #[inline]
    pub fn call<A2, E2>(&mut self, _args: A2, _output: &O) -> Result<(), E2>
    where
        F: SyncCompensation<A, O, E>,
    {
        unreachable!("`SyncCompensation` has no impls")
    }

    /// Never compiles: reports the mismatch.
    #[inline]
    pub fn call_uncertain<A2, E2>(&mut self, _args: A2, _output: Option<&O>) -> Result<(), E2>
    where
        F: SyncCompensation<A, O, E>,
    {
        unreachable!("`SyncCompensation` has no impls")
    }
}

/// Runs the compensation `f` of an async step. The arguments come first so that their
/// types are known when `f`'s bound is checked. (Async functions cannot go through the
/// [`TaleFits`] check: method resolution does not see that an `async fn` item
/// implements `AsyncFnMut`, so a mismatch reports rustc's own "type mismatch in
/// function arguments".)
#[inline]
pub fn compensate_async<A, O, E, F>(
    args: A,
    output: &O,
    f: &mut F,
) -> impl Future<Output = Result<(), E>>
where
    F: AsyncCompensation<A, O, E>,
{
    f.call(args, output)
}

/// Runs the compensation `f` of an async `uncertain` step; see [`compensate_async`].
#[inline]
pub fn compensate_uncertain_async<A, O, E, F>(
    args: A,
    output: Option<&O>,
    f: &mut F,
) -> impl Future<Output = Result<(), E>>
where
    F: AsyncUncertainCompensation<A, O, E>,
{
    f.call(args, output)
}
