//! Closures as steps: talepy's lambda steps and `(execute, compensate)` pairs.

use std::marker::PhantomData;

use super::{Describe, Step};

/// What a step closure may return: a `Result`, or `()` for a step that cannot fail.
#[diagnostic::on_unimplemented(
    message = "a step closure returns `Result<T, E>` or `()`, not `{Self}`",
    label = "expected `Result<_, _>` or `()`",
    note = "the `Ok` value is the step's output and the `Err` value fails the step: return `Ok(value)`"
)]
pub trait IntoStepResult<E> {
    /// The step's output.
    type Output;
    /// Converts into the step's result.
    ///
    /// # Errors
    ///
    /// The closure's error, unchanged.
    fn into_step_result(self) -> Result<Self::Output, E>;
}

impl<E> IntoStepResult<E> for () {
    type Output = ();
    #[inline]
    fn into_step_result(self) -> Result<(), E> {
        Ok(())
    }
}

impl<T, E> IntoStepResult<E> for Result<T, E> {
    type Output = T;
    #[inline]
    fn into_step_result(self) -> Result<T, E> {
        self
    }
}

/// A step made of a closure with no compensation; see [`from_fn`].
pub struct FnStep<F, E> {
    execute: F,
    error: PhantomData<fn() -> E>,
}

/// A step made of an execute closure and a compensate closure; see
/// [`FnStep::with_compensation`].
pub struct FnPair<F, G, E> {
    execute: F,
    compensate: G,
    error: PhantomData<fn() -> E>,
}

/// Makes a step of a closure, with no compensation (a log line, an email that cannot be
/// unsent), or give it one with [`FnStep::with_compensation`]. The closure may return a `Result`
/// or `()`. Its name in events is `closure`; rename it with
/// [`StepExt::named`](crate::StepExt::named).
///
/// # Examples
///
/// ```
/// use tale::Executor;
/// use tale::step::from_fn;
///
/// let total = Executor::new().run_step(from_fn(|| Ok::<_, String>(40 + 2)));
/// assert_eq!(total.unwrap(), 42);
/// ```
///
/// A step closure takes no arguments: it captures its inputs. (talepy rejects a
/// two-argument function at run time; here it does not compile.)
///
/// ```compile_fail
/// let step = tale::step::from_fn(|a: i32, b: i32| Ok::<_, String>(a + b));
/// tale::Executor::new().run_step(step);
/// ```
pub fn from_fn<F, R, E>(execute: F) -> FnStep<F, E>
where
    F: FnMut() -> R,
    R: IntoStepResult<E>,
{
    FnStep {
        execute,
        error: PhantomData,
    }
}

impl<F, E> FnStep<F, E> {
    /// Adds a compensation, which is lent the output of the execute closure.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::Cell;
    /// use tale::Executor;
    /// use tale::step::from_fn;
    ///
    /// let seats = Cell::new(5);
    /// let reserve = from_fn(|| { seats.set(seats.get() - 2); Ok::<_, String>(2) })
    ///     .with_compensation(|n: &u32| seats.set(seats.get() + n));
    /// assert_eq!(Executor::new().run_step(reserve).unwrap(), 2);
    /// assert_eq!(seats.get(), 3);
    /// ```
    pub fn with_compensation<G, R, C>(self, compensate: G) -> FnPair<F, G, E>
    where
        F: FnMut() -> R,
        R: IntoStepResult<E>,
        G: FnMut(&R::Output) -> C,
        C: IntoStepResult<E, Output = ()>,
    {
        FnPair {
            execute: self.execute,
            compensate,
            error: PhantomData,
        }
    }
}

impl<F, E> Describe for FnStep<F, E> {
    type Error = E;

    fn name(&self) -> &str {
        "closure"
    }
    fn static_name(&self) -> Option<&'static str> {
        Some("closure")
    }
    fn has_compensation(&self) -> bool {
        false
    }
}

#[diagnostic::do_not_recommend]
impl<F, R, E> Step for FnStep<F, E>
where
    F: FnMut() -> R,
    R: IntoStepResult<E>,
{
    type Output = R::Output;

    #[inline]
    fn execute(&mut self) -> Result<R::Output, E> {
        (self.execute)().into_step_result()
    }
    /// Never called: the step says it has no compensation.
    fn compensate(&mut self, _: &R::Output) -> Result<(), E> {
        Ok(())
    }
}

impl<F, G, E> Describe for FnPair<F, G, E> {
    type Error = E;

    fn name(&self) -> &str {
        "closure"
    }
    fn static_name(&self) -> Option<&'static str> {
        Some("closure")
    }
}

#[diagnostic::do_not_recommend]
impl<F, G, R, C, E> Step for FnPair<F, G, E>
where
    F: FnMut() -> R,
    R: IntoStepResult<E>,
    G: FnMut(&R::Output) -> C,
    C: IntoStepResult<E, Output = ()>,
{
    type Output = R::Output;

    #[inline]
    fn execute(&mut self) -> Result<R::Output, E> {
        (self.execute)().into_step_result()
    }
    fn compensate(&mut self, output: &R::Output) -> Result<(), E> {
        (self.compensate)(output).into_step_result()
    }
}
