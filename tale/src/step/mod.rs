//! The step vocabulary: [`Step`] and [`AsyncStep`] (what a step does), [`Describe`]
//! (what it is), closures as steps ([`from_fn`]), and [`StepExt`] / [`Tuned`] /
//! [`AsyncTuned`] (a step's name and policies changed where it is used).
//!
//! `#[step]` writes these impls for a function; implement them by hand when a step needs
//! state of its own.

mod async_step;
mod closure;
pub(crate) mod describe;
mod tuned;

pub use async_step::AsyncStep;
pub use closure::{FnPair, FnStep, IntoStepResult, from_fn};
pub use describe::Describe;
pub use tuned::{Async, AsyncTuned, Blocking, StepExt, Tuned, Tuning};

/// What a step is in the saga's structure (Garcia-Molina and Salem's taxonomy, as
/// popularised by Chris Richardson's *Microservices Patterns*).
///
/// `saga!` checks the order at compile time: nothing compensatable may follow the pivot,
/// and a saga has at most one pivot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum StepKind {
    /// An ordinary step that can be undone by its compensation (or needs no undoing).
    #[default]
    Compensatable,
    /// The go/no-go point: once it succeeds, the saga runs to completion. It has no
    /// compensation and no compensatable step may follow it.
    Pivot,
    /// A step after the pivot that is retried until it succeeds and never compensated.
    Retriable,
}

impl StepKind {
    /// The lower-case name used in events and reports.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            StepKind::Compensatable => "compensatable",
            StepKind::Pivot => "pivot",
            StepKind::Retriable => "retriable",
        }
    }
}

/// A typed invocation: a value that holds a step's arguments and knows how to run the
/// step and how to undo it.
///
/// The executor decides when and how often [`execute`](Step::execute) runs (retries call
/// it again on the same value), and later lends the output it produced to
/// [`compensate`](Step::compensate). Between the two, the output lives in the saga, where
/// later steps borrow it: no `Clone` is needed anywhere.
///
/// `#[step]` writes this impl for a function; closures become steps with
/// [`from_fn`] (and [`FnStep::with_compensation`]). Implement it by hand
/// when a step needs state of its own.
///
/// # Examples
///
/// ```
/// use tale::step::Describe;
/// use tale::{Executor, Step};
///
/// struct Reserve<'a> { seats: &'a mut u32, wanted: u32 }
///
/// impl Describe for Reserve<'_> {
///     type Error = String;
///     fn name(&self) -> &str { "reserve" }
/// }
///
/// impl Step for Reserve<'_> {
///     type Output = u32;
///
///     fn execute(&mut self) -> Result<u32, String> {
///         if *self.seats < self.wanted { return Err("sold out".into()) }
///         *self.seats -= self.wanted;
///         Ok(self.wanted)
///     }
///
///     fn compensate(&mut self, reserved: &u32) -> Result<(), String> {
///         *self.seats += *reserved;
///         Ok(())
///     }
/// }
///
/// let mut seats = 3;
/// let reserved = Executor::new().run_step(Reserve { seats: &mut seats, wanted: 2 });
/// assert_eq!(reserved.unwrap(), 2);
/// assert_eq!(seats, 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a synchronous saga step",
    label = "not a `tale::Step`",
    note = "a sync saga runs values that implement `tale::Step`: a `#[step]` function called with its arguments, `step(|| ...)`, or your own impl",
    note = "an `async fn` step can only run in an async saga"
)]
pub trait Step: Describe {
    /// What a successful [`execute`](Step::execute) produces; later steps may borrow it
    /// and the compensation receives it by value.
    type Output;

    /// Runs the step once. Called again for each retry.
    ///
    /// # Errors
    ///
    /// The step's failure; the executor retries it under the step's
    /// [`retry_policy`](Describe::retry_policy) or fails the saga with it.
    fn execute(&mut self) -> Result<Self::Output, Self::Error>;

    /// Undoes a completed step, given the output its `execute` produced.
    ///
    /// The output is lent, not given: a compensation that fails may be retried, and
    /// every attempt needs it. The executor drops it once the compensation is over.
    ///
    /// There is no default: a step says what undoing it takes, even when that is
    /// nothing (`Ok(())` for a step with nothing to undo, which may also say
    /// [`has_compensation`](Describe::has_compensation) `false` so that no compensation
    /// events are emitted for it).
    ///
    /// # Errors
    ///
    /// The compensation's failure; it is retried under
    /// [`compensation_retry_policy`](Describe::compensation_retry_policy) and then
    /// reported in [`SagaError`](crate::SagaError), never swallowed.
    fn compensate(&mut self, output: &Self::Output) -> Result<(), Self::Error>;

    /// Undoes a step whose `execute` failed with an uncertain outcome: the work may have
    /// happened before the error (a timeout after the request was sent). The executor
    /// calls it only for a step whose [`is_uncertain`](Describe::is_uncertain) is true,
    /// before the compensations of the earlier steps.
    ///
    /// `None` says the step has no compensation that works without its output: the
    /// default. The saga then reports the step as not compensated, its outcome unknown
    /// ([`NotCompensated::OutcomeUnknown`](crate::NotCompensated::OutcomeUnknown)),
    /// never as undone.
    ///
    /// # Errors
    ///
    /// `Some(Err(..))`: as for [`compensate`](Step::compensate).
    fn compensate_uncertain(&mut self) -> Option<Result<(), Self::Error>> {
        None
    }
}

#[diagnostic::do_not_recommend]
impl<S: Step + ?Sized> Step for &mut S {
    type Output = S::Output;

    fn execute(&mut self) -> Result<S::Output, S::Error> {
        (**self).execute()
    }
    fn compensate(&mut self, output: &S::Output) -> Result<(), S::Error> {
        (**self).compensate(output)
    }
    fn compensate_uncertain(&mut self) -> Option<Result<(), S::Error>> {
        (**self).compensate_uncertain()
    }
}
