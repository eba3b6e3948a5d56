//! One run of a saga: the engine that `saga!` expansions and [`Saga`](crate::Saga) drive.
//!
//! The expansion owns the steps and their outputs (in locals, in a nested ladder of
//! scopes); this engine runs one step at a time under its retry policy, compensates
//! one step at a time, emits the events and gathers the failures.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::time::Duration;

use crate::clock::Clock;
use crate::error::{CompensationFailure, SagaError, StepFailure, StepId};
use crate::event::{Event, Observer, Outcome, StepRef};
use crate::executor::{Executor, OnCompensationFailure};
use crate::retry::{Attempts, Decision, Retry};
use crate::rng::Rng;
use crate::step::{Step, StepKind};

/// Why a saga is unwinding: a step failed for good, or panicked.
///
/// Carried outward through the compensation ladder to [`Execution::finish`].
pub enum Unwind<E> {
    /// A step failed for good.
    Failed(StepFailure<E>),
    /// A step panicked; the payload resumes once the compensations have run.
    Panicked(Box<dyn Any + Send>),
}

/// One run of a saga on an [`Executor`].
pub struct Execution<'x, E, O, C> {
    executor: &'x mut Executor<O, C>,
    saga: &'x str,
    rng: Option<Rng>,
    compensations: Vec<CompensationFailure<E>>,
    not_compensated: Vec<StepId>,
    stopped: bool,
    compensation_panic: Option<Box<dyn Any + Send>>,
}

/// The policy a step gets when it declares none.
fn default_policy<E>(kind: StepKind) -> Retry<E> {
    match kind {
        StepKind::Retriable => Retry::until_success()
            .exponential(Duration::from_millis(100))
            .max_delay(Duration::from_secs(30)),
        _ => Retry::times(0),
    }
}

fn step_ref<S: Step>(index: usize, step: &S) -> StepRef<'_> {
    StepRef {
        index,
        name: step.name(),
        kind: step.kind(),
    }
}

fn step_id<S: Step>(index: usize, step: &S) -> StepId {
    StepId {
        index,
        name: step.name().to_owned(),
    }
}

impl<'x, E, O: Observer<E>, C: Clock> Execution<'x, E, O, C> {
    /// Starts a run of the saga named `saga`.
    pub fn start(executor: &'x mut Executor<O, C>, saga: &'x str) -> Self {
        executor.observer.on_event(&Event::SagaStarted { saga });
        Self {
            executor,
            saga,
            rng: None,
            compensations: Vec::new(),
            not_compensated: Vec::new(),
            stopped: false,
            compensation_panic: None,
        }
    }

    #[inline]
    fn emit(&mut self, event: &Event<'_, E>) {
        self.executor.observer.on_event(event);
    }

    fn rng(&mut self) -> &mut Rng {
        let seed = self.executor.jitter_seed;
        self.rng
            .get_or_insert_with(|| seed.map_or_else(Rng::from_entropy, Rng::new))
    }

    /// Decides after a failed attempt, reading the clock and drawing jitter only now.
    fn decide(&mut self, attempts: &mut Attempts<E>, error: &E) -> Decision {
        let now = self.executor.clock.now();
        attempts.after_failure(error, now, self.rng())
    }

    /// Runs `step` (position `index`) until it succeeds or its retry policy gives up.
    ///
    /// On failure the failed step is compensated here if its outcome is uncertain; the
    /// caller compensates the steps that completed before it.
    pub fn step<S: Step<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
    ) -> Result<S::Output, Unwind<E>> {
        let mut attempt = 1;
        let mut attempts: Option<Attempts<E>> = None;
        let mut errors = Vec::new();
        loop {
            self.emit(&Event::AttemptStarted {
                step: step_ref(index, step),
                attempt,
            });
            let error = match catch_unwind(AssertUnwindSafe(|| step.execute())) {
                Ok(Ok(output)) => {
                    self.emit(&Event::AttemptSucceeded {
                        step: step_ref(index, step),
                        attempt,
                    });
                    return Ok(output);
                }
                Ok(Err(error)) => error,
                Err(payload) => {
                    self.emit(&Event::AttemptPanicked {
                        step: step_ref(index, step),
                        attempt,
                    });
                    self.compensate_uncertain(index, step);
                    return Err(Unwind::Panicked(payload));
                }
            };
            let attempts = attempts.get_or_insert_with(|| {
                Attempts::new(step.retry_policy().unwrap_or_else(|| default_policy(step.kind())))
            });
            let decision = self.decide(attempts, &error);
            let retry_in = match decision {
                Decision::RetryAfter(d) => Some(d),
                Decision::GiveUp(_) => None,
            };
            self.emit(&Event::AttemptFailed {
                step: step_ref(index, step),
                attempt,
                error: &error,
                retry_in,
            });
            errors.push(error);
            match decision {
                Decision::RetryAfter(delay) => {
                    self.executor.clock.sleep(delay);
                    attempt += 1;
                }
                Decision::GiveUp(gave_up) => {
                    self.compensate_uncertain(index, step);
                    return Err(Unwind::Failed(StepFailure {
                        step: step_id(index, step),
                        errors,
                        gave_up,
                    }));
                }
            }
        }
    }

    fn compensate_uncertain<S: Step<Error = E>>(&mut self, index: usize, step: &mut S) {
        if step.is_uncertain() && step.has_compensation() {
            self.run_compensation(index, step, true, S::compensate_uncertain);
        }
    }

    /// Compensates the completed step `step` (position `index`) given its output, under
    /// its compensation retry policy. Failures are recorded for [`finish`](Self::finish).
    pub fn compensate<S: Step<Error = E>>(&mut self, index: usize, step: &mut S, output: S::Output) {
        if !step.has_compensation() {
            return;
        }
        self.run_compensation(index, step, false, |s| s.compensate(&output));
    }

    fn run_compensation<S, F>(&mut self, index: usize, step: &mut S, uncertain: bool, mut undo: F)
    where
        S: Step<Error = E>,
        F: FnMut(&mut S) -> Result<(), E>,
    {
        if self.stopped {
            self.emit(&Event::CompensationSkipped {
                step: step_ref(index, step),
            });
            self.not_compensated.push(step_id(index, step));
            return;
        }
        let mut attempt = 1;
        let mut attempts: Option<Attempts<E>> = None;
        let mut errors = Vec::new();
        let gave_up = loop {
            self.emit(&Event::CompensationStarted {
                step: step_ref(index, step),
                attempt,
                uncertain,
            });
            let error = match catch_unwind(AssertUnwindSafe(|| undo(step))) {
                Ok(Ok(())) => {
                    self.emit(&Event::CompensationSucceeded {
                        step: step_ref(index, step),
                        attempt,
                    });
                    return;
                }
                Ok(Err(error)) => error,
                Err(payload) => {
                    // A panic is a bug, not a failure to retry: the remaining
                    // compensations still run, and the panic resumes at the end.
                    self.emit(&Event::CompensationFailed {
                        step: step_ref(index, step),
                        attempt,
                        error: None,
                        retry_in: None,
                    });
                    self.compensation_panic.get_or_insert(payload);
                    self.stop_if_asked();
                    return;
                }
            };
            let attempts = attempts.get_or_insert_with(|| {
                Attempts::new(step.compensation_retry_policy().unwrap_or_else(|| Retry::times(0)))
            });
            let decision = self.decide(attempts, &error);
            let retry_in = match decision {
                Decision::RetryAfter(d) => Some(d),
                Decision::GiveUp(_) => None,
            };
            self.emit(&Event::CompensationFailed {
                step: step_ref(index, step),
                attempt,
                error: Some(&error),
                retry_in,
            });
            errors.push(error);
            match decision {
                Decision::RetryAfter(delay) => {
                    self.executor.clock.sleep(delay);
                    attempt += 1;
                }
                Decision::GiveUp(gave_up) => break gave_up,
            }
        };
        self.compensations.push(CompensationFailure {
            step: step_id(index, step),
            errors,
            gave_up,
            uncertain,
        });
        self.stop_if_asked();
    }

    fn stop_if_asked(&mut self) {
        if self.executor.on_compensation_failure == OnCompensationFailure::Stop {
            self.stopped = true;
        }
    }

    /// Ends the run: emits the final event and turns the ladder's result into the
    /// saga's result.
    ///
    /// # Panics
    ///
    /// Resumes a step's panic once the compensations have run; failing that, the first
    /// compensation's panic.
    pub fn finish<T>(mut self, result: Result<T, Unwind<E>>) -> Result<T, SagaError<E>> {
        let (outcome, result) = match result {
            Ok(value) => (Outcome::Completed, Ok(value)),
            Err(Unwind::Panicked(payload)) => {
                self.finished(Outcome::Panicked);
                resume_unwind(payload)
            }
            Err(Unwind::Failed(failure)) => {
                if self.compensations.is_empty() && self.not_compensated.is_empty() {
                    (Outcome::Compensated, Err(SagaError::Compensated { failure }))
                } else {
                    let error = SagaError::CompensationFailed {
                        failure,
                        compensations: std::mem::take(&mut self.compensations),
                        not_compensated: std::mem::take(&mut self.not_compensated),
                    };
                    (Outcome::CompensationFailed, Err(error))
                }
            }
        };
        self.finished(outcome);
        if let Some(payload) = self.compensation_panic.take() {
            resume_unwind(payload);
        }
        result
    }

    fn finished(&mut self, outcome: Outcome) {
        let saga = self.saga;
        self.emit(&Event::SagaFinished { saga, outcome });
    }
}
