//! [`DurableRun`]: one run of a durable saga, the engine's [`Run`] with a journal around
//! it.
//! Every transition is recorded before the next action, and a saga resumed after a
//! crash replays what its journal says instead of doing it again.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::{DurableError, Interrupted};
use super::key::{Phase, with_key};
use super::lease::Held;
use super::ledger::{Before, BeforeUndo, Ledger};
use super::{Claim, JournalError, Record, SagaId, Status, Store};
use crate::clock::Clock;
use crate::engine::{Executor, Run, Undone, Unwind};
use crate::observe::Observer;
use crate::step::Step;

/// Where a durable run comes from: a new saga, or one to resume from its journal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Start a new saga (its inputs are recorded in the journal).
    New,
    /// Resume the saga with this id: its code runs again with the same inputs, and the
    /// steps its journal shows as done are answered from the journal. The run takes
    /// the saga over whatever its lease says ([`Store::take_over`]): what start-up
    /// recovery does, in a process that knows no other process runs the journal's
    /// sagas.
    Resume(SagaId),
    /// Resume a saga this store handle has claimed ([`Store::claim`]), as `Resume`
    /// does, writing under that claim: what a [`Worker`](super::Worker) does.
    Claimed(Claim),
}

impl Origin {
    /// The saga to resume, if any.
    #[must_use]
    pub fn saga(self) -> Option<SagaId> {
        match self {
            Origin::New => None,
            Origin::Resume(saga) => Some(saga),
            Origin::Claimed(claim) => Some(claim.saga),
        }
    }
}

/// The ledger of the saga `claim` names, read from its journal, and the run's hold on
/// the claim (let go if the journal is refused).
fn resumed<'x>(
    store: &'x dyn Store,
    claim: Claim,
    name: &str,
    fingerprint: Option<u64>,
) -> Result<(Ledger, Held<'x>), JournalError> {
    let held = Held::new(store.leases(), claim);
    let row = store.saga(claim.saga)?;
    let records = store.records(claim.saga)?;
    let ledger = Ledger::resumed(claim, &row, &records, name, fingerprint)?;
    Ok((ledger, held))
}

/// One run of a durable saga: the engine's [`Run`], with every transition journaled
/// before the next action. What `saga!`'s durable form drives; drive it by hand for a
/// durable saga assembled at run time.
pub struct DurableRun<'x, E, O, C> {
    run: Run<'x, E, O, C>,
    store: &'x dyn Store,
    ledger: Ledger,
    held: Held<'x>,
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
        Self::start_versioned(executor, store, name, inputs, origin, None)
    }

    /// As [`start`](Self::start), for a saga whose shape has the fingerprint
    /// `fingerprint` (what `saga!` computes): it is journaled when the saga begins, and a
    /// journal begun under another fingerprint is refused on resume.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start), and [`JournalError::Mismatch`] for a journal of
    /// another version of the saga.
    pub fn start_versioned<I: Serialize + ?Sized>(
        executor: &'x mut Executor<O, C>,
        store: &'x dyn Store,
        name: &'x str,
        inputs: &I,
        origin: Origin,
        fingerprint: Option<u64>,
    ) -> Result<Self, JournalError> {
        let leases = store.leases();
        let (ledger, held) = match origin {
            Origin::New => {
                let inputs = Ledger::inputs(inputs)?;
                let claim = store.begin(&Ledger::new_saga(name, &inputs, fingerprint))?;
                (Ledger::began(claim), Held::new(leases, claim))
            }
            Origin::Resume(saga) => resumed(store, store.take_over(saga)?, name, fingerprint)?,
            Origin::Claimed(claim) => resumed(store, claim, name, fingerprint)?,
        };
        let mut run = Run::start(executor, name);
        run.execution_id(&ledger.saga().0);
        Ok(Self {
            run,
            store,
            ledger,
            held,
        })
    }

    /// The saga instance's id.
    pub fn saga_id(&self) -> SagaId {
        self.ledger.saga()
    }

    /// The claim the run writes under.
    pub fn claim(&self) -> Claim {
        self.held.claim()
    }

    /// The run's ledger, for the fan-out's count.
    pub(super) fn ledger_mut(&mut self) -> &mut Ledger {
        &mut self.ledger
    }

    /// Writes `record`; on failure the run halts: nothing more is done.
    fn write(&mut self, record: &Record) -> bool {
        if self.ledger.is_halted()
            || !self
                .ledger
                .admits(record, self.store.leases().is_draining())
        {
            return false;
        }
        let written = self.store.append(self.ledger.claim(), record);
        self.ledger.written(written)
    }

    /// Writes `record` if there is one; false if there was and it could not be written.
    fn write_some(&mut self, record: Option<Record>) -> bool {
        record.is_none_or(|record| self.write(&record))
    }

    /// Runs step `index`, or answers it from the journal if an earlier run completed it.
    ///
    /// A step the journal shows as started but not ended (the process stopped while it
    /// ran) fails with [`Interrupted::Crashed`] if it is uncertain, and its uncertain
    /// compensation runs; any other step runs again, under the same idempotency key.
    ///
    /// # Errors
    ///
    /// The step's failure (from this run or the journal), or an [`Interrupted`] one
    /// when the journal cannot be written or is not this code's.
    pub fn step<S>(&mut self, index: usize, step: &mut S) -> Result<S::Output, Unwind<E>>
    where
        S: Step<Error = E>,
        S::Output: Serialize + DeserializeOwned,
    {
        let start = match self.ledger.before(index, &*step) {
            Before::Halted(unwind) => return Err(unwind),
            Before::Replayed(output) => {
                self.run.replayed(index, &*step, true);
                return Ok(output);
            }
            Before::ReplayedFailure(unwind) => {
                self.run.replayed(index, &*step, false);
                self.compensate_uncertain(index, step);
                return Err(unwind);
            }
            Before::Crashed(unwind, record) => {
                self.write_some(record);
                self.undo_uncertain(index, step);
                return Err(unwind);
            }
            Before::Run(start) => start,
        };
        if !self.write_some(start) {
            return Err(Ledger::interrupted(index, &*step, Interrupted::Journal));
        }
        let key = self.ledger.key(index, Phase::Execute);
        match with_key(key, || self.run.attempt(index, step)) {
            Ok(output) => {
                let attempts = self.run.attempts_of(index);
                let record = self.ledger.succeeded(index, attempts, &output);
                if record.is_some() && self.write_some(record) {
                    Ok(output)
                } else {
                    Err(Ledger::interrupted(index, &*step, Interrupted::Journal))
                }
            }
            Err(unwind) => {
                let record = match &unwind {
                    Unwind::Panicked(_) => {
                        let panicked = Ledger::interrupted(index, &*step, Interrupted::Panicked);
                        self.ledger.failed(index, &panicked)
                    }
                    failed => self.ledger.failed(index, failed),
                };
                self.write_some(record);
                self.compensate_uncertain(index, step);
                Err(unwind)
            }
        }
    }

    /// Compensates the failed step `index` if it is uncertain (journaled).
    fn compensate_uncertain<S: Step<Error = E>>(&mut self, index: usize, step: &mut S) {
        if step.is_uncertain() && step.has_compensation() {
            self.undo_uncertain(index, step);
        }
    }

    /// Compensates the failed step `index` without its output, or, if it has no
    /// compensation for that, reports it as not compensated (nothing to journal: the
    /// saga ends stuck, and a replay finds the same).
    fn undo_uncertain<S: Step<Error = E>>(&mut self, index: usize, step: &mut S) {
        if !step.has_compensation() {
            return;
        }
        if !step.compensates_without_output() {
            self.run.outcome_unknown(index, &*step);
            return;
        }
        self.undo(index, step, true, |run, step| {
            run.undo_uncertain(index, step)
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
                run.compensate_step(index, step, output)
                    .unwrap_or(Undone::Skipped)
            });
        }
    }

    fn undo<S: Step<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
        uncertain: bool,
        compensate: impl FnOnce(&mut Run<'x, E, O, C>, &mut S) -> Undone,
    ) {
        let stopped = self.run.stopped();
        let start = match self.ledger.before_undo(index, &*step, uncertain, stopped) {
            BeforeUndo::Done => return,
            BeforeUndo::Replayed(failure) => {
                self.run.replay_compensation_failure(failure);
                return;
            }
            BeforeUndo::Engine => {
                compensate(&mut self.run, step);
                return;
            }
            BeforeUndo::Run(start) => start,
        };
        if !self.write_some(start) {
            return;
        }
        let key = self.ledger.key(index, Phase::Compensate);
        let outcome = with_key(key, || compensate(&mut self.run, step));
        let record = self
            .ledger
            .undone(index, outcome, self.run.compensation_failure_of(index));
        self.write_some(record);
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
        if let Some(error) = self.ledger.take_halt() {
            drop(result);
            if matches!(error, JournalError::ShuttingDown { .. }) {
                // Best effort: if it fails, the lease ends on its own.
                let _ = self.store.release(self.ledger.claim(), None);
            }
            return Err(DurableError::Journal(error));
        }
        let status = match &result {
            Ok(_) => Status::Completed,
            Err(_) if self.run.left_work_undone() => Status::Stuck,
            Err(_) => Status::Compensated,
        };
        let record = self.ledger.finished(status);
        if !self.write_some(record) {
            // Invariant: a failed write halts the run.
            let error = self
                .ledger
                .take_halt()
                .expect("a failed write halts the run");
            return Err(DurableError::Journal(error));
        }
        self.run.finish(result).map_err(DurableError::Saga)
    }
}
