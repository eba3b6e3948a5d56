//! [`Ledger`]: what a durable run decides from its journal, apart from any I/O: whether
//! a step is answered from the journal, run, or failed; which record to write before and
//! after each action. The sync [`DurableRun`](super::DurableRun) and the async
//! [`DurableAsyncRun`](super::DurableAsyncRun) drive the same ledger, each writing its
//! records to its own kind of store.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::Interrupted;
use super::key::{Current, IdempotencyKey, Phase};
use super::replay::Replay;
use super::{Claim, JournalError, NewSaga, Record, SagaId, SagaRow, Status};
use crate::engine::{Undone, Unwind};
use crate::error::{CompensationFailure, Errors, StepFailure, StepId};
use crate::retry::GaveUp;
use crate::step::Describe;

/// The payload errors (de)serialize through.
pub(super) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

pub(super) fn index_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// What to do about a step, before running it.
pub(crate) enum Before<O, E> {
    /// The journal cannot be written: fail the step without acting.
    Halted(Unwind<E>),
    /// An earlier run completed it: its output.
    Replayed(O),
    /// An earlier run failed it for good; undo it if it is uncertain.
    ReplayedFailure(Unwind<E>),
    /// A crash cut it short and it is uncertain: journal `record` (its failure), then
    /// undo it without its output.
    Crashed(Unwind<E>, Option<Record>),
    /// Run it, once `record` (its start) is journaled, if any.
    Run(Option<Record>),
}

/// What to do about a compensation, before running it.
pub(crate) enum BeforeUndo<E> {
    /// Nothing: it is done, or the journal cannot be written.
    Done,
    /// An earlier run found it failing for good: record that, without running it.
    Replayed(CompensationFailure<E>),
    /// Let the engine run it (it will skip it: the run stops at the first failure).
    Engine,
    /// Run it, once `record` (its start) is journaled, if any.
    Run(Option<Record>),
}

/// A durable run's journal, as far as deciding goes.
pub(crate) struct Ledger {
    saga: SagaId,
    claim: Claim,
    replay: Replay,
    halted: Option<JournalError>,
}

impl Ledger {
    /// The record of a new saga `name` with `inputs` (as JSON).
    ///
    /// # Errors
    ///
    /// The inputs do not serialize.
    pub(crate) fn inputs<I: Serialize + ?Sized>(inputs: &I) -> Result<String, JournalError> {
        to_json(inputs).map_err(|reason| JournalError::Payload {
            saga: SagaId(0),
            step: None,
            reason,
        })
    }

    /// The ledger of the new saga this run began under `claim`.
    pub(crate) fn began(claim: Claim) -> Self {
        Self {
            saga: claim.saga,
            claim,
            replay: Replay::default(),
            halted: None,
        }
    }

    /// The ledger of the saga `row` to resume, from its `records`, if they are a journal
    /// of this code: of the saga `name`, begun with the same `fingerprint`.
    ///
    /// # Errors
    ///
    /// [`JournalError::Mismatch`] (another saga, another version of this one) or
    /// [`JournalError::Corrupt`].
    pub(crate) fn resumed(
        claim: Claim,
        row: &SagaRow,
        records: &[Record],
        name: &str,
        fingerprint: Option<u64>,
    ) -> Result<Self, JournalError> {
        let saga = row.id;
        if row.name != name {
            return Err(JournalError::Mismatch {
                saga,
                reason: format!("it is a `{}` saga, not `{name}`", row.name),
            });
        }
        if let (Some(journal), Some(code)) = (row.fingerprint, fingerprint)
            && journal != code
        {
            return Err(JournalError::Mismatch {
                saga,
                reason: format!(
                    "it began under another version of `{name}` (fingerprint {journal:016x}; \
                     this code's is {code:016x}): its steps changed since; register the old \
                     version beside the new one until its sagas have drained"
                ),
            });
        }
        Ok(Self {
            saga,
            claim,
            replay: Replay::read(saga, records)?,
            halted: None,
        })
    }

    /// The saga instance's id.
    pub(crate) fn saga(&self) -> SagaId {
        self.saga
    }

    /// The claim the run writes under.
    pub(crate) fn claim(&self) -> Claim {
        self.claim
    }

    /// The idempotency key of step `index`'s `phase`, and the run's claim.
    pub(crate) fn key(&self, index: usize, phase: Phase) -> Current {
        Current {
            key: IdempotencyKey {
                saga: self.saga,
                index: index_u32(index),
                phase,
            },
            epoch: self.claim.epoch,
        }
    }

    /// True once a write failed: nothing more is done.
    /// How many of the steps `first..first + count` the journal shows started, counting
    /// from `first` until one it does not.
    pub(crate) fn started_run(&self, first: usize, count: usize) -> usize {
        (first..first + count)
            .take_while(|&index| self.replay.started(index))
            .count()
    }

    pub(crate) fn is_halted(&self) -> bool {
        self.halted.is_some()
    }

    /// Stops the run at the first journal error.
    pub(crate) fn halt(&mut self, error: JournalError) {
        self.halted.get_or_insert(error);
    }

    /// Takes the error that halted the run, if any.
    pub(crate) fn take_halt(&mut self) -> Option<JournalError> {
        self.halted.take()
    }

    /// Whether `record` may be written now: a worker shutting down (`draining`) starts
    /// no step or compensation; the run halts with [`JournalError::ShuttingDown`]
    /// instead, before acting.
    pub(crate) fn admits(&mut self, record: &Record, draining: bool) -> bool {
        let starts = matches!(
            record,
            Record::StepStarted { .. } | Record::CompensationStarted { .. }
        );
        if draining && starts {
            self.halt(JournalError::ShuttingDown { saga: self.saga });
            return false;
        }
        true
    }

    /// Notes the result of writing a record; false (and the run halts) on failure.
    pub(crate) fn written(&mut self, result: Result<(), JournalError>) -> bool {
        match result {
            Ok(()) => true,
            Err(error) => {
                self.halt(error);
                false
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

    /// A failure of step `index` that has no error of its own.
    pub(crate) fn interrupted<S, E>(index: usize, step: &S, why: Interrupted) -> Unwind<E>
    where
        S: Describe<Error = E> + ?Sized,
        E: From<Interrupted>,
    {
        let gave_up = match why {
            Interrupted::Panicked => GaveUp::AttemptsExhausted,
            _ => GaveUp::Interrupted,
        };
        Unwind::Failed(Box::new(StepFailure {
            step: StepId::of(index, step),
            errors: Errors::One(E::from(why)),
            gave_up,
            siblings: Vec::new(),
        }))
    }

    /// What to do about step `index` before running it.
    ///
    /// A step the journal shows as started but not ended (the process stopped while it
    /// ran) fails with [`Interrupted::Crashed`] if it is uncertain, and is undone
    /// without its output; any other step runs again, under the same idempotency key. A
    /// step recorded at `index` under another name than the code's halts the run: the
    /// journal is not this code's.
    pub(crate) fn before<S, E>(&mut self, index: usize, step: &S) -> Before<S::Output, E>
    where
        S: Describe<Error = E> + Outputs + ?Sized,
        S::Output: DeserializeOwned,
        E: Serialize + DeserializeOwned + From<Interrupted>,
    {
        let halted =
            |step: &S| Before::Halted(Self::interrupted(index, step, Interrupted::Journal));
        if self.is_halted() {
            return halted(step);
        }
        let log = self.replay.step(index);
        if let Some(recorded) = &log.name
            && recorded != step.name()
        {
            self.halt(JournalError::Mismatch {
                saga: self.saga,
                reason: format!(
                    "step {index} is `{recorded}` in the journal but `{}` in the code: \
                     the saga's steps changed since it began",
                    step.name()
                ),
            });
            return halted(step);
        }
        if let Some(output) = log.output {
            return match serde_json::from_str(&output) {
                Ok(output) => Before::Replayed(output),
                Err(e) => {
                    let reason = format!(
                        "its output in the journal does not deserialize into the code's \
                         output type ({e}): the step changed since the saga began"
                    );
                    self.halt(self.payload_error(index, &reason));
                    halted(step)
                }
            };
        }
        if let Some((errors, gave_up)) = log.failure {
            return match serde_json::from_str::<Vec<E>>(&errors) {
                Ok(errors) if !errors.is_empty() => {
                    Before::ReplayedFailure(Unwind::Failed(Box::new(StepFailure {
                        step: StepId::of(index, step),
                        errors: Errors::from(errors),
                        gave_up,
                        siblings: Vec::new(),
                    })))
                }
                Ok(_) => {
                    self.halt(self.payload_error(index, &"an empty error list"));
                    halted(step)
                }
                Err(e) => {
                    self.halt(self.payload_error(index, &e));
                    halted(step)
                }
            };
        }
        if log.started {
            // The process stopped while the step ran. An uncertain step fails and is
            // compensated without output; any other step runs again under the same
            // idempotency key, so the service answers the call it already served.
            if step.is_uncertain() {
                let unwind = Self::interrupted(index, step, Interrupted::Crashed);
                let record = self.failed(index, &unwind);
                return Before::Crashed(unwind, record);
            }
            return Before::Run(None);
        }
        let name = step.static_name().map_or_else(
            || std::borrow::Cow::Owned(step.name().to_owned()),
            std::borrow::Cow::Borrowed,
        );
        Before::Run(Some(Record::StepStarted {
            index: index_u32(index),
            name,
        }))
    }

    /// The record of step `index`'s success after `attempts`, or `None` if its output
    /// does not serialize (the run halts).
    pub(crate) fn succeeded<O: Serialize>(
        &mut self,
        index: usize,
        attempts: u32,
        output: &O,
    ) -> Option<Record> {
        match to_json(output) {
            Ok(output) => Some(Record::StepSucceeded {
                index: index_u32(index),
                attempts,
                output,
            }),
            Err(reason) => {
                self.halt(self.payload_error(index, &reason));
                None
            }
        }
    }

    /// The record of step `index`'s failure for good, if it has errors (a panic is
    /// recorded as [`Interrupted::Panicked`] by the caller).
    pub(crate) fn failed<E: Serialize>(
        &mut self,
        index: usize,
        unwind: &Unwind<E>,
    ) -> Option<Record> {
        let Unwind::Failed(failure) = unwind else {
            return None;
        };
        match to_json(failure.errors.as_slice()) {
            Ok(errors) => Some(Record::StepFailed {
                index: index_u32(index),
                errors,
                gave_up: failure.gave_up,
            }),
            Err(reason) => {
                self.halt(self.payload_error(index, &reason));
                None
            }
        }
    }

    /// What to do about the compensation of step `index` (of its uncertain outcome if
    /// `uncertain`), in a run that has `stopped` at a failed compensation or not.
    pub(crate) fn before_undo<S, E>(
        &mut self,
        index: usize,
        step: &S,
        uncertain: bool,
        stopped: bool,
    ) -> BeforeUndo<E>
    where
        S: Describe<Error = E> + ?Sized,
        E: DeserializeOwned,
    {
        if self.is_halted() {
            return BeforeUndo::Done;
        }
        let log = self.replay.step(index);
        if log.compensated {
            return BeforeUndo::Done;
        }
        if let Some(errors) = log.compensation_failure {
            return match serde_json::from_str::<Vec<E>>(&errors) {
                Ok(errors) if !errors.is_empty() => BeforeUndo::Replayed(CompensationFailure {
                    step: StepId::of(index, step),
                    errors: Errors::from(errors),
                    gave_up: GaveUp::AttemptsExhausted,
                    uncertain,
                }),
                Ok(_) => {
                    self.halt(self.payload_error(index, &"an empty error list"));
                    BeforeUndo::Done
                }
                Err(e) => {
                    self.halt(self.payload_error(index, &e));
                    BeforeUndo::Done
                }
            };
        }
        if stopped {
            return BeforeUndo::Engine;
        }
        if log.compensation_started {
            return BeforeUndo::Run(None);
        }
        BeforeUndo::Run(Some(Record::CompensationStarted {
            index: index_u32(index),
            uncertain,
        }))
    }

    /// The record of what became of step `index`'s compensation, if it is one to
    /// journal: a success, or a failure for good (`failure`, the run's record of it). A
    /// skipped compensation leaves nothing; a panicked one leaves its start alone, so
    /// that recovery tries it again.
    pub(crate) fn undone<E: Serialize>(
        &mut self,
        index: usize,
        outcome: Undone,
        failure: Option<&CompensationFailure<E>>,
    ) -> Option<Record> {
        match outcome {
            Undone::Succeeded => Some(Record::CompensationSucceeded {
                index: index_u32(index),
            }),
            Undone::Failed => match to_json(failure?.errors.as_slice()) {
                Ok(errors) => Some(Record::CompensationFailed {
                    index: index_u32(index),
                    errors,
                }),
                Err(reason) => {
                    self.halt(self.payload_error(index, &reason));
                    None
                }
            },
            Undone::Skipped | Undone::OutcomeUnknown | Undone::Panicked => None,
        }
    }

    /// The record of the saga's end with `status`, unless the journal has it already.
    pub(crate) fn finished(&self, status: Status) -> Option<Record> {
        (!self.replay.finished()).then_some(Record::Finished { status })
    }

    /// The record of a new saga, for [`Store::begin`](super::Store::begin).
    pub(crate) fn new_saga<'a>(
        name: &'a str,
        inputs: &'a str,
        fingerprint: Option<u64>,
    ) -> NewSaga<'a> {
        NewSaga {
            name,
            inputs,
            fingerprint,
        }
    }
}

/// A step's output type, whatever flavour the step is (sync or async).
pub(crate) trait Outputs {
    type Output;
}

impl<S: crate::step::AsyncStep + ?Sized> Outputs for S {
    type Output = S::Output;
}
