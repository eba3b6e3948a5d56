//! [`DurableRun`]: one run of a durable saga, the engine's [`Run`] with a journal around
//! it.
//! Every transition is recorded before the next action, and a saga resumed after a
//! crash replays what its journal says instead of doing it again.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::key::{IdempotencyKey, Phase, with_key};
use super::replay::{Replay, StepLog};
use super::{JournalError, NewSaga, Record, SagaId, Status, Store};
use crate::clock::Clock;
use crate::engine::{Executor, Run, Unwind};
use crate::error::{CompensationFailure, Errors, SagaError, StepFailure, StepId};
use crate::observe::Observer;
use crate::retry::GaveUp;
use crate::step::Step;

/// Why a durable step failed without an error of its own: the error a durable saga's
/// error type must be able to hold (`impl From<Interrupted> for MyError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Interrupted {
    /// The process stopped while an uncertain step ran (its start is in the journal,
    /// its end is not).
    Crashed,
    /// The step panicked.
    Panicked,
    /// The journal could not be written, so the saga stopped before acting.
    Journal,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Interrupted::Crashed => "the process stopped while the step ran",
            Interrupted::Panicked => "the step panicked",
            Interrupted::Journal => "the journal could not be written",
        })
    }
}

impl std::error::Error for Interrupted {}

/// The error of a durable saga: the saga's own, or the journal's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DurableError<E> {
    /// The saga failed (see [`SagaError`]); the journal records how it ended.
    #[error(transparent)]
    Saga(SagaError<E>),
    /// The journal failed: the saga stopped where it was, without acting further.
    /// Recovery finishes it once the journal works again.
    #[error("saga stopped: {0}")]
    Journal(#[source] JournalError),
}

/// The payload errors (de)serialize through.
fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

/// Where a durable run comes from: a new saga, or one to resume from its journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Start a new saga (its inputs are recorded in the journal).
    New,
    /// Resume the saga with this id: its code runs again with the same inputs, and the
    /// steps its journal shows as done are answered from the journal.
    Resume(SagaId),
}

/// One run of a durable saga.
pub struct DurableRun<'x, E, O, C> {
    run: Run<'x, E, O, C>,
    store: &'x dyn Store,
    saga: SagaId,
    replay: Replay,
    halted: Option<JournalError>,
}

impl<'x, E, O, C> DurableRun<'x, E, O, C>
where
    E: Serialize + DeserializeOwned + From<Interrupted>,
    O: Observer<E>,
    C: Clock,
{
    /// Starts a new saga `name` with `inputs`, or resumes one, on `store`.
    ///
    /// # Errors
    ///
    /// The journal's failure to record the start, or to read the journal of the saga
    /// to resume (unknown saga, corrupt record, a saga of another name).
    pub fn start<I: Serialize + ?Sized>(
        executor: &'x mut Executor<O, C>,
        store: &'x dyn Store,
        name: &'x str,
        inputs: &I,
        origin: Origin,
    ) -> Result<Self, JournalError> {
        let (saga, replay) = match origin {
            Origin::New => {
                let inputs = to_json(inputs).map_err(|reason| JournalError::Payload {
                    saga: SagaId(0),
                    step: None,
                    reason,
                })?;
                let saga = NewSaga {
                    name,
                    inputs: &inputs,
                    fingerprint: None,
                };
                (store.begin(&saga)?, Replay::default())
            }
            Origin::Resume(saga) => {
                let row = store.saga(saga)?;
                if row.name != name {
                    return Err(JournalError::Mismatch {
                        saga,
                        reason: format!("it is a `{}` saga, not `{name}`", row.name),
                    });
                }
                (saga, Replay::read(saga, &store.records(saga)?)?)
            }
        };
        Ok(Self {
            run: Run::start(executor, name),
            store,
            saga,
            replay,
            halted: None,
        })
    }

    /// The saga instance's id.
    pub fn saga_id(&self) -> SagaId {
        self.saga
    }

    fn key(&self, index: usize, phase: Phase) -> IdempotencyKey {
        IdempotencyKey {
            saga: self.saga,
            index: u32::try_from(index).unwrap_or(u32::MAX),
            phase,
        }
    }

    /// Writes `record`; on failure the run halts: nothing more is done.
    fn write(&mut self, record: &Record) -> bool {
        if self.halted.is_some() {
            return false;
        }
        match self.store.append(self.saga, record) {
            Ok(()) => true,
            Err(error) => {
                self.halted = Some(error);
                false
            }
        }
    }

    fn halt(&mut self, error: JournalError) {
        self.halted.get_or_insert(error);
    }

    /// A failure of step `index` that has no error of its own.
    fn interrupted<S: Step<Error = E>>(
        index: usize,
        step: &S,
        why: Interrupted,
        gave_up: GaveUp,
    ) -> Unwind<E> {
        Unwind::Failed(Box::new(StepFailure {
            step: StepId::of(index, step),
            errors: Errors::One(E::from(why)),
            gave_up,
            siblings: Vec::new(),
        }))
    }

    fn log(&self, index: usize) -> StepLog {
        self.replay.step(index)
    }

    /// Runs step `index`, or answers it from the journal if an earlier run completed it.
    ///
    /// A step the journal shows as started but not ended (the process stopped while it
    /// ran) fails with [`Interrupted::Crashed`] if it is uncertain, and its uncertain
    /// compensation runs; any other step runs again, under the same idempotency key.
    pub fn step<S>(&mut self, index: usize, step: &mut S) -> Result<S::Output, Unwind<E>>
    where
        S: Step<Error = E>,
        S::Output: Serialize + DeserializeOwned,
    {
        if self.halted.is_some() {
            return Err(Self::interrupted(
                index,
                step,
                Interrupted::Journal,
                GaveUp::Interrupted,
            ));
        }
        let log = self.log(index);
        if let Some(output) = log.output {
            return serde_json::from_str(&output).map_err(|e| {
                self.halt(self.payload_error(index, &e));
                Self::interrupted(index, step, Interrupted::Journal, GaveUp::Interrupted)
            });
        }
        if let Some((errors, gave_up)) = log.failure {
            let unwind = match serde_json::from_str::<Vec<E>>(&errors) {
                Ok(errors) if !errors.is_empty() => Unwind::Failed(Box::new(StepFailure {
                    step: StepId::of(index, step),
                    errors: Errors::from(errors),
                    gave_up,
                    siblings: Vec::new(),
                })),
                Ok(_) => {
                    self.halt(self.payload_error(index, &"an empty error list"));
                    Self::interrupted(index, step, Interrupted::Journal, GaveUp::Interrupted)
                }
                Err(e) => {
                    self.halt(self.payload_error(index, &e));
                    Self::interrupted(index, step, Interrupted::Journal, GaveUp::Interrupted)
                }
            };
            self.compensate_uncertain(index, step);
            return Err(unwind);
        }
        if log.started {
            // The process stopped while the step ran. An uncertain step fails and is
            // compensated without output; any other step runs again under the same
            // idempotency key, so the service answers the call it already served.
            if step.is_uncertain() {
                let unwind =
                    Self::interrupted(index, step, Interrupted::Crashed, GaveUp::Interrupted);
                self.record_failure(index, &unwind);
                self.undo_uncertain(index, step);
                return Err(unwind);
            }
        } else if !self.write(&Record::StepStarted {
            index: index_u32(index),
            name: step.name().to_owned(),
        }) {
            return Err(Self::interrupted(
                index,
                step,
                Interrupted::Journal,
                GaveUp::Interrupted,
            ));
        }
        let key = self.key(index, Phase::Execute);
        let result = with_key(key, || self.run.attempt(index, step));
        match result {
            Ok(output) => match to_json(&output) {
                Ok(json) => {
                    let attempts = self.run.attempts_of(index);
                    if self.write(&Record::StepSucceeded {
                        index: index_u32(index),
                        attempts,
                        output: json,
                    }) {
                        Ok(output)
                    } else {
                        Err(Self::interrupted(
                            index,
                            step,
                            Interrupted::Journal,
                            GaveUp::Interrupted,
                        ))
                    }
                }
                Err(reason) => {
                    self.halt(JournalError::Payload {
                        saga: self.saga,
                        step: Some(index_u32(index)),
                        reason,
                    });
                    Err(Self::interrupted(
                        index,
                        step,
                        Interrupted::Journal,
                        GaveUp::Interrupted,
                    ))
                }
            },
            Err(unwind) => {
                let unwind = match unwind {
                    Unwind::Panicked(payload) => {
                        let failure = Self::interrupted(
                            index,
                            step,
                            Interrupted::Panicked,
                            GaveUp::AttemptsExhausted,
                        );
                        self.record_failure(index, &failure);
                        Unwind::Panicked(payload)
                    }
                    failed => {
                        self.record_failure(index, &failed);
                        failed
                    }
                };
                self.compensate_uncertain(index, step);
                Err(unwind)
            }
        }
    }

    fn payload_error(&self, index: usize, error: &dyn std::fmt::Display) -> JournalError {
        JournalError::Payload {
            saga: self.saga,
            step: Some(index_u32(index)),
            reason: error.to_string(),
        }
    }

    fn record_failure(&mut self, index: usize, unwind: &Unwind<E>) {
        if let Unwind::Failed(failure) = unwind {
            match to_json(failure.errors.as_slice()) {
                Ok(errors) => {
                    self.write(&Record::StepFailed {
                        index: index_u32(index),
                        errors,
                        gave_up: failure.gave_up,
                    });
                }
                Err(reason) => self.halt(JournalError::Payload {
                    saga: self.saga,
                    step: Some(index_u32(index)),
                    reason,
                }),
            }
        }
    }

    /// Compensates the failed step `index` if it is uncertain (journaled).
    fn compensate_uncertain<S: Step<Error = E>>(&mut self, index: usize, step: &mut S) {
        if step.is_uncertain() && step.has_compensation() {
            self.undo_uncertain(index, step);
        }
    }

    fn undo_uncertain<S: Step<Error = E>>(&mut self, index: usize, step: &mut S) {
        self.undo(index, step, true, |run, step| {
            run.compensate_uncertain_now(index, step)
        });
    }

    /// Compensates the completed step `index` given its output, unless the journal
    /// shows it already compensated; a compensation the journal shows as failed for
    /// good fails again without running.
    pub fn compensate<S>(&mut self, index: usize, step: &mut S, output: S::Output)
    where
        S: Step<Error = E>,
    {
        if step.has_compensation() {
            self.undo(index, step, false, |run, step| {
                run.compensate(index, step, output)
            });
        }
    }

    fn undo<S: Step<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
        uncertain: bool,
        compensate: impl FnOnce(&mut Run<'x, E, O, C>, &mut S),
    ) {
        if self.halted.is_some() {
            return;
        }
        let log = self.log(index);
        if log.compensated {
            return;
        }
        if let Some(errors) = log.compensation_failure {
            match serde_json::from_str::<Vec<E>>(&errors) {
                Ok(errors) if !errors.is_empty() => {
                    self.run.replay_compensation_failure(CompensationFailure {
                        step: StepId::of(index, step),
                        errors: Errors::from(errors),
                        gave_up: GaveUp::AttemptsExhausted,
                        uncertain,
                    })
                }
                Ok(_) => self.halt(self.payload_error(index, &"an empty error list")),
                Err(e) => self.halt(self.payload_error(index, &e)),
            }
            return;
        }
        if self.run.stopped() {
            // The engine skips it and says so.
            compensate(&mut self.run, step);
            return;
        }
        if !log.compensation_started
            && !self.write(&Record::CompensationStarted {
                index: index_u32(index),
                uncertain,
            })
        {
            return;
        }
        let failures = self.run.compensation_failures().len();
        let key = self.key(index, Phase::Compensate);
        with_key(key, || compensate(&mut self.run, step));
        let record = match self.run.compensation_failures().get(failures) {
            None => Record::CompensationSucceeded {
                index: index_u32(index),
            },
            Some(failure) => match to_json(failure.errors.as_slice()) {
                Ok(errors) => Record::CompensationFailed {
                    index: index_u32(index),
                    errors,
                },
                Err(reason) => {
                    self.halt(JournalError::Payload {
                        saga: self.saga,
                        step: Some(index_u32(index)),
                        reason,
                    });
                    return;
                }
            },
        };
        self.write(&record);
    }

    /// Ends the run: records how the saga ended, then returns its result.
    ///
    /// # Errors
    ///
    /// The saga's failure, or the journal's if it failed on the way (the saga then
    /// stays `running` in the journal, for recovery to finish).
    ///
    /// # Panics
    ///
    /// Resumes a step's panic once the compensations have run and been recorded.
    pub fn finish<T>(mut self, result: Result<T, Unwind<E>>) -> Result<T, DurableError<E>> {
        if let Some(error) = self.halted.take() {
            drop(result);
            return Err(DurableError::Journal(error));
        }
        let status = match &result {
            Ok(_) => Status::Completed,
            Err(_) if self.run.left_work_undone() => Status::Stuck,
            Err(_) => Status::Compensated,
        };
        if !self.replay.finished() && !self.write(&Record::Finished { status }) {
            // Invariant: `write` failing sets `halted`.
            let error = self.halted.take().expect("a failed write halts the run");
            return Err(DurableError::Journal(error));
        }
        self.run.finish(result).map_err(DurableError::Saga)
    }
}

fn index_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}
