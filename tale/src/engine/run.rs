//! [`Run`]: one run of a sync saga, which `saga!` expansions and
//! [`Saga`](crate::compose::Saga) drive; and [`Executor::run_step`], a saga of one step.
//!
//! The expansion owns the steps and their outputs (in locals, in a nested ladder of
//! scopes); a run executes one step at a time under its retry policy, compensates one
//! step at a time, emits the events and gathers the failures.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;

use super::executor::Executor;
use crate::clock::Clock;
use crate::error::{CompensationFailure, Errors, NotCompensated, SagaError, StepFailure};
use crate::observe::{Event, Fault, FaultPoint, Observer, Outcome, Scope, StepRef};
use crate::retry::{Attempts, Retry};
use crate::rng::Rng;
use crate::step::{Step, StepKind};

/// Why a saga is unwinding: a step failed for good, or panicked.
///
/// Carried outward through the compensation ladder of a saga to the run's `finish`,
/// which turns it into the saga's [`SagaError`] (or resumes the panic). Code that
/// drives a run by hand (a [`DurableRun`](crate::journal::DurableRun)) only passes it on.
pub enum Unwind<E> {
    /// A step failed for good. Boxed, so that the ladder's results stay as small as
    /// the outputs they carry on the success path.
    Failed(Box<StepFailure<E>>),
    /// A step panicked; the payload resumes once the compensations have run.
    Panicked(Box<dyn Any + Send>),
}

/// The attempts of one step or compensation so far.
pub(crate) struct Tries<E> {
    pub(crate) attempt: u32,
    pub(super) policy: Option<Attempts<E>>,
    pub(super) errors: Errors<E>,
}

impl<E> Tries<E> {
    pub(crate) fn new() -> Self {
        Self {
            attempt: 1,
            policy: None,
            errors: Errors::Empty,
        }
    }
}

/// What became of a compensation: what a durable run journals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Undone {
    /// It ran and succeeded.
    Succeeded,
    /// It failed for good (recorded among the run's compensation failures).
    Failed,
    /// It was not attempted: the run stops at the first failed compensation.
    Skipped,
    /// The step has no compensation without its output.
    OutcomeUnknown,
    /// It panicked; the panic resumes when the run finishes.
    Panicked,
}

impl Undone {
    /// What a compensation attempt's result makes of it, if no attempt follows.
    pub(crate) fn of<E>(result: &Caught<(), E>) -> Self {
        match result {
            Ok(Ok(())) => Undone::Succeeded,
            Ok(Err(_)) => Undone::Failed,
            Err(_) => Undone::Panicked,
        }
    }
}

/// An attempt's result, or its panic's payload.
pub(crate) type Caught<T, E> = Result<Result<T, E>, Box<dyn Any + Send>>;

/// What follows an attempt.
pub(crate) enum Flow<T, E> {
    Done(T),
    Retry(Duration),
    Fail(Unwind<E>),
}

/// One run of a saga on an [`Executor`].
pub struct Run<'x, E, O, C> {
    pub(crate) executor: &'x mut Executor<O, C>,
    saga: &'x str,
    /// Everything a run needs only once something fails, allocated then: a saga that
    /// succeeds carries one empty pointer.
    pub(super) trouble: Option<Box<Trouble<E>>>,
}

impl<E> Trouble<E> {
    pub(super) fn new() -> Box<Self> {
        Box::new(Trouble {
            retried: None,
            rng: None,
            compensations: Vec::new(),
            not_compensated: Vec::new(),
            stopped: false,
            compensation_panic: None,
        })
    }
}

/// The state of a run that has seen a failure.
pub(super) struct Trouble<E> {
    /// The last step that succeeded after a retry, and how many attempts it took.
    pub(super) retried: Option<(usize, u32)>,
    pub(super) rng: Option<Rng>,
    pub(super) compensations: Vec<CompensationFailure<E>>,
    pub(super) not_compensated: Vec<NotCompensated>,
    pub(super) stopped: bool,
    pub(super) compensation_panic: Option<Box<dyn Any + Send>>,
}

/// The policy a step gets when it declares none: a retriable step retries until it
/// succeeds; any other gets none (`None`, which fails it on its first error, as
/// `Retry::times(0)` would).
pub(super) fn default_policy<E>(kind: StepKind) -> Option<Retry<E>> {
    (kind == StepKind::Retriable).then(|| {
        Retry::until_success()
            .exponential(Duration::from_millis(100))
            .max_delay(Duration::from_secs(30))
    })
}

impl<'x, E, O: Observer<E>, C: Clock> Run<'x, E, O, C> {
    /// Starts a run of the saga named `saga`.
    #[inline]
    pub fn start(executor: &'x mut Executor<O, C>, saga: &'x str) -> Self {
        executor.observer.on_event(&Event::SagaStarted { saga });
        Self {
            executor,
            saga,
            trouble: None,
        }
    }

    pub(super) fn trouble(&mut self) -> &mut Trouble<E> {
        self.trouble.get_or_insert_with(Trouble::new)
    }

    #[inline]
    pub(crate) fn emit(&mut self, event: &Event<'_, E>) {
        self.executor.observer.on_event(event);
    }

    /// Runs `step` (position `index`) until it succeeds or its retry policy gives up.
    ///
    /// On failure the failed step is compensated here if its outcome is uncertain; the
    /// caller compensates the steps that completed before it.
    #[inline]
    pub fn step<S: Step<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
    ) -> Result<S::Output, Unwind<E>> {
        let result = self.attempt(index, step);
        if result.is_err() {
            self.compensate_uncertain(index, step);
        }
        result
    }

    /// Runs the attempts of `step` under its retry policy, without compensating it.
    ///
    /// The first attempt's success is the hot path and is inlined into the caller;
    /// everything else (faults, failures, retries) lives out of line.
    #[inline]
    pub(crate) fn attempt<S: Step<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
    ) -> Result<S::Output, Unwind<E>> {
        // A silent observer (`()`) is not told anything, so the step is not asked to
        // describe itself: for a link built at run time, that is a call through its box.
        let silent = self.executor.observer.is_silent();
        let fault = if silent {
            None
        } else {
            self.attempt_started(StepRef::of(index, step), 1)
        };
        let result = match fault {
            // The scope is a temporary, gone before anything that can unwind: with an
            // observer that keeps no spans, nothing of it is left on the success path.
            None => self
                .scope(index)
                .enter(|| catch_unwind(AssertUnwindSafe(|| step.execute()))),
            Some(fault) => self.faulty(index, fault, || {
                catch_unwind(AssertUnwindSafe(|| step.execute()))
            }),
        };
        match result {
            Ok(Ok(output)) => {
                if !silent {
                    let step = StepRef::of(index, step);
                    self.emit(&Event::AttemptSucceeded { step, attempt: 1 });
                }
                Ok(output)
            }
            result => self.after_first_attempt(index, step, result),
        }
    }

    /// Settles a first attempt that did not succeed, then runs the retries.
    #[cold]
    #[inline(never)]
    fn after_first_attempt<S: Step<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
        first: Caught<S::Output, E>,
    ) -> Result<S::Output, Unwind<E>> {
        let mut tries = Tries::new();
        let mut result = first;
        loop {
            let attempt = tries.attempt;
            match self.settle(index, &*step, &mut tries, result) {
                Flow::Done(output) => {
                    self.trouble().retried = Some((index, attempt));
                    return Ok(output);
                }
                Flow::Retry(delay) => self.executor.clock.sleep(delay),
                Flow::Fail(unwind) => return Err(unwind),
            }
            let fault = self.attempt_started(StepRef::of(index, step), tries.attempt);
            let execute = || catch_unwind(AssertUnwindSafe(|| step.execute()));
            result = match fault {
                None => self.scope(index).enter(execute),
                Some(fault) => self.faulty(index, fault, execute),
            };
        }
    }

    #[cfg(feature = "journal")]
    /// How many attempts the step at `index` took, if it just succeeded.
    pub(crate) fn attempts_of(&self, index: usize) -> u32 {
        match self.trouble.as_ref().and_then(|t| t.retried) {
            Some((retried, attempts)) if retried == index => attempts,
            _ => 1,
        }
    }

    #[cfg(feature = "journal")]
    /// Tells the observer which saga instance the run is: a durable run's id.
    pub(crate) fn execution_id(&mut self, id: &dyn std::fmt::Display) {
        self.executor.observer.execution_id(id);
    }

    #[cfg(feature = "journal")]
    /// Tells the observer that step `index` was answered from the journal: an earlier run
    /// completed it (`succeeded`), or failed it for good.
    pub(crate) fn replayed<S: crate::step::Describe + ?Sized>(
        &mut self,
        index: usize,
        step: &S,
        succeeded: bool,
    ) {
        let step = StepRef::of(index, step);
        self.executor.observer.replayed(step, succeeded);
    }

    #[cfg(feature = "journal")]
    /// Records a compensation failure that happened in an earlier run (replayed from a
    /// journal), as if it had happened now.
    pub(crate) fn replay_compensation_failure(&mut self, failure: CompensationFailure<E>) {
        self.trouble().compensations.push(failure);
        self.stop_if_asked();
    }

    /// True if the executor stops at the first compensation failure and one happened.
    #[inline]
    pub(crate) fn stopped(&self) -> bool {
        self.trouble.as_ref().is_some_and(|t| t.stopped)
    }

    #[cfg(feature = "journal")]
    /// True if some step was left as it was: a compensation failed, was skipped, or
    /// could not run.
    pub(crate) fn left_work_undone(&self) -> bool {
        self.trouble
            .as_ref()
            .is_some_and(|t| !t.compensations.is_empty() || !t.not_compensated.is_empty())
    }

    /// Runs an attempt of step `index` altered by an injected fault, in the attempt's
    /// scope.
    #[cold]
    pub(super) fn faulty<T>(
        &mut self,
        index: usize,
        fault: Fault<E>,
        mut attempt: impl FnMut() -> Caught<T, E>,
    ) -> Caught<T, E> {
        let scope = self.scope(index);
        let mut attempt = || scope.enter(&mut attempt);
        match fault {
            Fault::Fail(error) => Ok(Err(error)),
            Fault::Delay(delay) => {
                self.executor.clock.sleep(delay);
                attempt()
            }
            Fault::Repeat => match attempt() {
                Ok(Ok(_)) => attempt(),
                other => other,
            },
        }
    }

    /// The scope the attempt of step `index` that just started runs in
    /// ([`Observer::scope`]).
    #[inline]
    pub(crate) fn scope(&self, index: usize) -> Scope {
        self.executor.observer.scope(index)
    }

    /// Emits the start of an attempt of `step` and asks the observer for a fault to
    /// inject into it.
    pub(crate) fn attempt_started(&mut self, step: StepRef<'_>, attempt: u32) -> Option<Fault<E>> {
        self.emit(&Event::AttemptStarted { step, attempt });
        let point = FaultPoint::Execute { step, attempt };
        self.executor.observer.intercept(&point)
    }

    /// Ends the run: emits the final event and turns the ladder's result into the
    /// saga's result.
    ///
    /// # Panics
    ///
    /// Resumes a step's panic once the compensations have run; failing that, the first
    /// compensation's panic.
    #[inline]
    pub fn finish<T>(mut self, result: Result<T, Unwind<E>>) -> Result<T, SagaError<E>> {
        match result {
            Ok(value) if self.trouble.is_none() => {
                self.finished(Outcome::Completed, None);
                Ok(value)
            }
            result => self.finish_in_trouble(result),
        }
    }

    #[cold]
    #[inline(never)]
    fn finish_in_trouble<T>(mut self, result: Result<T, Unwind<E>>) -> Result<T, SagaError<E>> {
        // Taken out, not allocated: a step that failed with nothing else going wrong
        // never needed any failure state.
        let mut trouble = self.trouble.take();
        let compensation_panic = trouble.as_mut().and_then(|t| t.compensation_panic.take());
        let failure = match result {
            Ok(value) => {
                self.finished(Outcome::Completed, None);
                return Ok(value);
            }
            Err(Unwind::Panicked(payload)) => {
                self.finished(Outcome::Panicked, None);
                resume_unwind(payload)
            }
            Err(Unwind::Failed(failure)) => failure,
        };
        let error = match trouble {
            Some(t) if !t.compensations.is_empty() || !t.not_compensated.is_empty() => {
                SagaError::CompensationFailed {
                    failure,
                    compensations: t.compensations,
                    not_compensated: t.not_compensated,
                }
            }
            _ => SagaError::Compensated { failure },
        };
        let outcome = match (&compensation_panic, &error) {
            (Some(_), _) => Outcome::Panicked,
            (None, SagaError::Compensated { .. }) => Outcome::Compensated,
            (None, _) => Outcome::CompensationFailed,
        };
        // The observer sees the error even when a compensation panicked: that panic
        // resumes now, and the error goes with it.
        self.finished(outcome, Some(&error));
        if let Some(payload) = compensation_panic {
            drop(error);
            resume_unwind(payload);
        }
        Err(error)
    }

    #[inline]
    fn finished(&mut self, outcome: Outcome, error: Option<&SagaError<E>>) {
        let saga = self.saga;
        self.emit(&Event::SagaFinished {
            saga,
            outcome,
            error,
        });
    }
}

impl<O, C> Executor<O, C> {
    /// Runs a single step as a saga of one: retries, events and, if the outcome is
    /// uncertain, its compensation on failure.
    ///
    /// # Errors
    ///
    /// The step's failure, as [`SagaError`].
    ///
    /// # Panics
    ///
    /// Resumes the step's panic, after compensating it if its outcome is uncertain.
    pub fn run_step<S>(&mut self, mut step: S) -> Result<S::Output, SagaError<S::Error>>
    where
        S: Step,
        O: Observer<S::Error>,
        C: Clock,
    {
        let mut run = Run::start(self, "step");
        let result = run.step(0, &mut step);
        run.finish(result)
    }
}
