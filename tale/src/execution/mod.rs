//! One run of a saga: the engine that `saga!` expansions and [`Saga`](crate::Saga) drive.
//!
//! The expansion owns the steps and their outputs (in locals, in a nested ladder of
//! scopes); this engine runs one step at a time under its retry policy, compensates
//! one step at a time, emits the events and gathers the failures.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{CompensationFailure, Errors, SagaError, StepFailure, StepId};
use crate::event::{Event, Fault, FaultPoint, Observer, Outcome, StepRef};
use crate::executor::Executor;
use crate::retry::{Attempts, Retry};
use crate::rng::Rng;
use crate::step::{Step, StepKind};

mod settle;

/// Why a saga is unwinding: a step failed for good, or panicked.
///
/// Carried outward through the compensation ladder to [`Execution::finish`].
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
    policy: Option<Attempts<E>>,
    errors: Errors<E>,
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

/// An attempt's result, or its panic's payload.
pub(crate) type Caught<T, E> = Result<Result<T, E>, Box<dyn Any + Send>>;

/// What follows an attempt.
pub(crate) enum Flow<T, E> {
    Done(T),
    Retry(Duration),
    Fail(Unwind<E>),
}

/// One run of a saga on an [`Executor`].
pub struct Execution<'x, E, O, C> {
    pub(crate) executor: &'x mut Executor<O, C>,
    saga: &'x str,
    /// Everything a run needs only once something fails, allocated then: a saga that
    /// succeeds carries one empty pointer.
    trouble: Option<Box<Trouble<E>>>,
}

impl<E> Trouble<E> {
    fn new() -> Box<Self> {
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
struct Trouble<E> {
    /// The last step that succeeded after a retry, and how many attempts it took.
    retried: Option<(usize, u32)>,
    rng: Option<Rng>,
    compensations: Vec<CompensationFailure<E>>,
    not_compensated: Vec<StepId>,
    stopped: bool,
    compensation_panic: Option<Box<dyn Any + Send>>,
}

/// The policy a step gets when it declares none: a retriable step retries until it
/// succeeds; any other gets none (`None`, which fails it on its first error, as
/// `Retry::times(0)` would).
fn default_policy<E>(kind: StepKind) -> Option<Retry<E>> {
    (kind == StepKind::Retriable).then(|| {
        Retry::until_success()
            .exponential(Duration::from_millis(100))
            .max_delay(Duration::from_secs(30))
    })
}

impl<'x, E, O: Observer<E>, C: Clock> Execution<'x, E, O, C> {
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

    fn trouble(&mut self) -> &mut Trouble<E> {
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
        self.attempt_started(index, Step::name(step), Step::kind(step), 1);
        let point = FaultPoint::Execute {
            step: StepRef {
                index,
                name: Step::name(step),
                kind: Step::kind(step),
            },
            attempt: 1,
        };
        let result = match self.executor.observer.intercept(&point) {
            None => catch_unwind(AssertUnwindSafe(|| step.execute())),
            Some(fault) => self.faulty(fault, || catch_unwind(AssertUnwindSafe(|| step.execute()))),
        };
        match result {
            Ok(Ok(output)) => {
                let step = StepRef {
                    index,
                    name: Step::name(step),
                    kind: Step::kind(step),
                };
                self.emit(&Event::AttemptSucceeded { step, attempt: 1 });
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
            let meta = (Step::name(step), Step::kind(step), Step::static_name(step));
            let attempt = tries.attempt;
            match self.settle(index, meta, || Step::retry_policy(step), &mut tries, result) {
                Flow::Done(output) => {
                    self.trouble().retried = Some((index, attempt));
                    return Ok(output);
                }
                Flow::Retry(delay) => self.executor.clock.sleep(delay),
                Flow::Fail(unwind) => return Err(unwind),
            }
            self.attempt_started(index, Step::name(step), Step::kind(step), tries.attempt);
            let point = FaultPoint::Execute {
                step: StepRef {
                    index,
                    name: Step::name(step),
                    kind: Step::kind(step),
                },
                attempt: tries.attempt,
            };
            result = match self.executor.observer.intercept(&point) {
                None => catch_unwind(AssertUnwindSafe(|| step.execute())),
                Some(fault) => {
                    self.faulty(fault, || catch_unwind(AssertUnwindSafe(|| step.execute())))
                }
            };
        }
    }

    /// Compensates a step that failed, if its outcome is uncertain.
    #[cold]
    pub(crate) fn compensate_uncertain<S: Step<Error = E>>(&mut self, index: usize, step: &mut S) {
        if Step::is_uncertain(step) && Step::has_compensation(step) {
            self.undo(index, step, true, S::compensate_uncertain);
        }
    }

    #[cfg(feature = "journal")]
    /// Compensates a failed step as an uncertain one, whatever it declares (the journal
    /// found it started and never ended).
    pub(crate) fn compensate_uncertain_now<S: Step<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
    ) {
        if Step::has_compensation(step) {
            self.undo(index, step, true, S::compensate_uncertain);
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
    /// The compensation failures recorded so far, in the order they happened.
    pub(crate) fn compensation_failures(&self) -> &[CompensationFailure<E>] {
        self.trouble.as_deref().map_or(&[], |t| &t.compensations)
    }

    #[cfg(feature = "journal")]
    /// Records a compensation failure that happened in an earlier run (replayed from a
    /// journal), as if it had happened now.
    pub(crate) fn replay_compensation_failure(&mut self, failure: CompensationFailure<E>) {
        self.trouble().compensations.push(failure);
        self.stop_if_asked();
    }

    /// True if the executor stops at the first compensation failure and one happened.
    pub(crate) fn stopped(&self) -> bool {
        self.trouble.as_ref().is_some_and(|t| t.stopped)
    }

    #[cfg(feature = "journal")]
    /// True if some compensation failed or was skipped.
    pub(crate) fn left_work_undone(&self) -> bool {
        self.trouble
            .as_ref()
            .is_some_and(|t| !t.compensations.is_empty() || !t.not_compensated.is_empty())
    }

    /// Compensates the completed step `step` (position `index`) given its output, under
    /// its compensation retry policy. Failures are recorded for [`finish`](Self::finish).
    pub fn compensate<S: Step<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
        output: S::Output,
    ) {
        if Step::has_compensation(step) {
            self.undo(index, step, false, |s| s.compensate(&output));
        }
    }

    #[inline(never)]
    fn undo<S, F>(&mut self, index: usize, step: &mut S, uncertain: bool, mut undo: F)
    where
        S: Step<Error = E>,
        F: FnMut(&mut S) -> Result<(), E>,
    {
        if self.skipped(index, Step::name(step), Step::kind(step)) {
            return;
        }
        let mut result = self.undo_once(index, step, uncertain, 1, &mut undo);
        if let Ok(Ok(())) = result {
            let step = StepRef {
                index,
                name: Step::name(step),
                kind: Step::kind(step),
            };
            self.emit(&Event::CompensationSucceeded { step, attempt: 1 });
            return;
        }
        // The first attempt failed: settle it, then retry under the policy.
        let mut tries = Tries::new();
        loop {
            let meta = (Step::name(step), Step::kind(step), Step::static_name(step));
            let policy = || Step::compensation_retry_policy(step);
            match self.settle_compensation(index, meta, policy, &mut tries, result, uncertain) {
                Some(delay) => self.executor.clock.sleep(delay),
                None => return,
            }
            result = self.undo_once(index, step, uncertain, tries.attempt, &mut undo);
        }
    }

    /// One attempt of a compensation: its start event, an injected fault if any, the
    /// call.
    fn undo_once<S, F>(
        &mut self,
        index: usize,
        step: &mut S,
        uncertain: bool,
        attempt: u32,
        undo: &mut F,
    ) -> Caught<(), E>
    where
        S: Step<Error = E>,
        F: FnMut(&mut S) -> Result<(), E>,
    {
        self.compensation_started(
            index,
            Step::name(step),
            Step::kind(step),
            attempt,
            uncertain,
        );
        let point = FaultPoint::Compensate {
            step: StepRef {
                index,
                name: Step::name(step),
                kind: Step::kind(step),
            },
            attempt,
        };
        match self.executor.observer.intercept(&point) {
            // A compensation is not repeated: `Repeat` only applies to steps.
            None | Some(Fault::Repeat) => catch_unwind(AssertUnwindSafe(|| undo(step))),
            Some(fault) => self.faulty(fault, || catch_unwind(AssertUnwindSafe(|| undo(step)))),
        }
    }

    /// Runs an attempt altered by an injected fault.
    #[cold]
    fn faulty<T>(
        &mut self,
        fault: Fault<E>,
        mut attempt: impl FnMut() -> Caught<T, E>,
    ) -> Caught<T, E> {
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

    pub(crate) fn attempt_started(
        &mut self,
        index: usize,
        name: &str,
        kind: StepKind,
        attempt: u32,
    ) {
        let step = StepRef { index, name, kind };
        self.emit(&Event::AttemptStarted { step, attempt });
    }

    pub(crate) fn compensation_started(
        &mut self,
        index: usize,
        name: &str,
        kind: StepKind,
        attempt: u32,
        uncertain: bool,
    ) {
        let step = StepRef { index, name, kind };
        self.emit(&Event::CompensationStarted {
            step,
            attempt,
            uncertain,
        });
    }

    /// Records a compensation that will not run because an earlier one failed and the
    /// executor stops at the first failure. Returns true if so.
    pub(crate) fn skipped(&mut self, index: usize, name: &str, kind: StepKind) -> bool {
        let stopped = self.stopped();
        if stopped {
            self.emit(&Event::CompensationSkipped {
                step: StepRef { index, name, kind },
            });
            self.trouble()
                .not_compensated
                .push(StepId::new(index, name, None));
        }
        stopped
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
                self.finished(Outcome::Completed);
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
        let (outcome, result) = match result {
            Ok(value) => (Outcome::Completed, Ok(Some(value))),
            Err(Unwind::Panicked(payload)) => {
                self.finished(Outcome::Panicked);
                resume_unwind(payload)
            }
            // A compensation that panicked did not finish: its panic resumes below.
            Err(Unwind::Failed(_)) if compensation_panic.is_some() => (Outcome::Panicked, Ok(None)),
            Err(Unwind::Failed(failure)) => match trouble {
                Some(t) if !t.compensations.is_empty() || !t.not_compensated.is_empty() => {
                    let error = SagaError::CompensationFailed {
                        failure,
                        compensations: t.compensations,
                        not_compensated: t.not_compensated,
                    };
                    (Outcome::CompensationFailed, Err(error))
                }
                _ => (
                    Outcome::Compensated,
                    Err(SagaError::Compensated { failure }),
                ),
            },
        };
        self.finished(outcome);
        if let Some(payload) = compensation_panic {
            resume_unwind(payload);
        }
        // Invariant: `Ok(None)` only stands for a compensation panic, resumed above.
        result.map(|value| value.expect("a value unless a compensation panicked"))
    }

    #[inline]
    fn finished(&mut self, outcome: Outcome) {
        let saga = self.saga;
        self.emit(&Event::SagaFinished { saga, outcome });
    }
}
