//! The [`Step`] trait: one typed invocation with its compensation.

use crate::retry::Retry;

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
/// [`from_fn`](crate::from_fn) and [`from_fns`](crate::from_fns). Implement it by hand
/// when a step needs state of its own.
///
/// # Examples
///
/// ```
/// use tale::{Executor, Step};
///
/// struct Reserve<'a> { seats: &'a mut u32, wanted: u32 }
///
/// impl Step for Reserve<'_> {
///     type Output = u32;
///     type Error = String;
///
///     fn name(&self) -> &str { "reserve" }
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
pub trait Step {
    /// What a successful [`execute`](Step::execute) produces; later steps may borrow it
    /// and the compensation receives it by value.
    type Output;
    /// The error of an attempt or of a compensation.
    type Error;

    /// Runs the step once. Called again for each retry.
    ///
    /// # Errors
    ///
    /// The step's failure; the executor retries it under the step's
    /// [`retry_policy`](Step::retry_policy) or fails the saga with it.
    fn execute(&mut self) -> Result<Self::Output, Self::Error>;

    /// Undoes a completed step, given the output its `execute` produced.
    ///
    /// The output is lent, not given: a compensation that fails may be retried, and
    /// every attempt needs it. The executor drops it once the compensation is over.
    ///
    /// The default does nothing: a step with nothing to undo (a log line, an email that
    /// cannot be unsent) keeps it and says so with [`has_compensation`](Step::has_compensation).
    ///
    /// # Errors
    ///
    /// The compensation's failure; it is retried under
    /// [`compensation_retry_policy`](Step::compensation_retry_policy) and then reported
    /// in [`SagaError`](crate::SagaError), never swallowed.
    fn compensate(&mut self, output: &Self::Output) -> Result<(), Self::Error> {
        let _ = output;
        Ok(())
    }

    /// Undoes a step whose `execute` failed with an uncertain outcome: the work may have
    /// happened before the error (a timeout after the request was sent). Runs only for
    /// steps whose [`is_uncertain`](Step::is_uncertain) is true, before the compensations
    /// of the earlier steps. The default does nothing.
    ///
    /// # Errors
    ///
    /// As for [`compensate`](Step::compensate).
    fn compensate_uncertain(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The step's kind. A [`Retriable`](StepKind::Retriable) step without a retry
    /// policy of its own is retried under [`Retry::until_success`].
    fn kind(&self) -> StepKind {
        StepKind::Compensatable
    }

    /// The step's name in events, reports and errors.
    fn name(&self) -> &str {
        "step"
    }

    /// The name as a `&'static str`, if it is one: a failure then records the name
    /// without allocating. Not part of the stable API.
    #[doc(hidden)]
    fn static_name(&self) -> Option<&'static str> {
        None
    }

    /// Whether the step has a compensation at all. Steps without one emit no
    /// compensation events and cannot be undone.
    fn has_compensation(&self) -> bool {
        true
    }

    /// Whether a failed `execute` may still have done its work, so that
    /// [`compensate_uncertain`](Step::compensate_uncertain) must run.
    fn is_uncertain(&self) -> bool {
        false
    }

    /// The retry policy of `execute`. `None`, the default, means one attempt.
    ///
    /// Asked only after a failed attempt, so a step that succeeds pays nothing for it.
    fn retry_policy(&self) -> Option<Retry<Self::Error>> {
        None
    }

    /// The retry policy of the compensation. `None`, the default, means one attempt.
    fn compensation_retry_policy(&self) -> Option<Retry<Self::Error>> {
        None
    }
}

impl<S: Step + ?Sized> Step for &mut S {
    type Output = S::Output;
    type Error = S::Error;

    fn execute(&mut self) -> Result<S::Output, S::Error> {
        (**self).execute()
    }
    fn compensate(&mut self, output: &S::Output) -> Result<(), S::Error> {
        (**self).compensate(output)
    }
    fn compensate_uncertain(&mut self) -> Result<(), S::Error> {
        (**self).compensate_uncertain()
    }
    fn kind(&self) -> StepKind {
        (**self).kind()
    }
    fn name(&self) -> &str {
        (**self).name()
    }
    fn static_name(&self) -> Option<&'static str> {
        (**self).static_name()
    }
    fn has_compensation(&self) -> bool {
        (**self).has_compensation()
    }
    fn is_uncertain(&self) -> bool {
        (**self).is_uncertain()
    }
    fn retry_policy(&self) -> Option<Retry<S::Error>> {
        (**self).retry_policy()
    }
    fn compensation_retry_policy(&self) -> Option<Retry<S::Error>> {
        (**self).compensation_retry_policy()
    }
}
