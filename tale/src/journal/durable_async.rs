//! [`DurableAsyncRun`]: one run of a durable async saga, the engine's
//! [`AsyncRun`] with every transition journaled on an [`AsyncStore`] before the next
//! action. The branches of a parallel group share it: each journals its own start and
//! end, and a group replayed after a crash answers the branches its journal shows done
//! and runs only the rest.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::durable::Origin;
use super::error::{DurableError, Interrupted};
use super::key::{Phase, WithKey};
use super::lease::Held;
use super::ledger::{Before, BeforeUndo, Ledger};
use super::{AsyncStore, Claim, JournalError, Record, SagaId, Status};
use crate::clock::AsyncSleep;
use crate::engine::shared::Shared;
use crate::engine::{AsyncRun, Executor, Failed, Undone, Unwind};
use crate::observe::Observer;
use crate::step::AsyncStep;
use crate::timeout::Limits;

/// One run of a durable async saga: what `saga!`'s durable `async fn` form drives.
///
/// Every method takes the run by shared reference, so that the branches of a `join!`
/// (each a future holding `&run`) journal concurrently; the run's future is `Send`
/// when the steps' futures are.
pub struct DurableAsyncRun<'x, E, O, C> {
    run: AsyncRun<'x, E, O, C>,
    store: &'x dyn AsyncStore,
    ledger: Shared<Ledger>,
    held: Held<'x>,
}

/// The ledger of the saga `claim` names, read from its journal, and the run's hold on
/// the claim (let go if the journal is refused).
async fn resumed<'x>(
    store: &'x dyn AsyncStore,
    claim: Claim,
    name: &str,
    fingerprint: Option<u64>,
) -> Result<(Ledger, Held<'x>), JournalError> {
    let held = Held::new(store.leases(), claim);
    let row = store.saga(claim.saga).await?;
    let records = store.records(claim.saga).await?;
    let ledger = Ledger::resumed(claim, &row, &records, name, fingerprint)?;
    Ok((ledger, held))
}

impl<'x, E, O, C> DurableAsyncRun<'x, E, O, C>
where
    E: Serialize + DeserializeOwned + From<Interrupted>,
    O: Observer<E>,
    C: AsyncSleep,
{
    /// Starts a new saga `name` with `inputs`, or resumes one, on `store`, under
    /// `limits`; `fingerprint` is the saga's shape (what `saga!` computes), journaled
    /// when it begins and checked when it resumes.
    ///
    /// # Errors
    ///
    /// The journal's failure to record the start, or to read the journal of the saga
    /// to resume (unknown saga, corrupt record, another saga or another version of it).
    pub async fn start<I: Serialize + ?Sized>(
        executor: &'x mut Executor<O, C>,
        store: &'x dyn AsyncStore,
        name: &'x str,
        inputs: &I,
        origin: Origin,
        fingerprint: Option<u64>,
        limits: Limits<'x, E>,
    ) -> Result<Self, JournalError> {
        let (ledger, held) = match origin {
            Origin::New => {
                let inputs = Ledger::inputs(inputs)?;
                let saga = Ledger::new_saga(name, &inputs, fingerprint);
                let claim = store.begin(&saga).await?;
                (Ledger::began(claim), Held::new(store.leases(), claim))
            }
            Origin::Resume(saga) => {
                let claim = store.take_over(saga).await?;
                resumed(store, claim, name, fingerprint).await?
            }
            Origin::Claimed(claim) => resumed(store, claim, name, fingerprint).await?,
        };
        let run = AsyncRun::start(executor, name).limits(limits);
        run.engine().execution_id(&ledger.saga().0);
        Ok(Self {
            run,
            store,
            ledger: Shared::new(ledger),
            held,
        })
    }

    /// The saga instance's id.
    pub fn saga_id(&self) -> SagaId {
        self.ledger.lock().saga()
    }

    /// The claim the run writes under.
    pub fn claim(&self) -> Claim {
        self.held.claim()
    }

    /// Writes `record` if there is one; false if there was and it could not be written
    /// (the run halts: nothing more is done).
    async fn write(&self, record: Option<Record>) -> bool {
        let Some(record) = record else {
            return true;
        };
        let claim = {
            let mut ledger = self.ledger.lock();
            if ledger.is_halted() || !ledger.admits(&record, self.store.leases().is_draining()) {
                return false;
            }
            ledger.claim()
        };
        let written = self.store.append(claim, &record).await;
        self.ledger.lock().written(written)
    }

    /// Runs step `index` (a plain step or a branch of a parallel group), or answers it
    /// from the journal if an earlier run completed it, as
    /// [`DurableRun::step`](super::DurableRun::step). A timed-out, cancelled or stopped
    /// attempt is journaled as the step's failure before its uncertain compensation
    /// runs, so that a crash in between leaves the compensation to recovery.
    ///
    /// # Errors
    ///
    /// The step's failure (from this run or the journal), or an [`Interrupted`] one
    /// when the journal cannot be written or is not this code's.
    pub async fn step<S>(&self, index: usize, step: &mut S) -> Result<S::Output, Unwind<E>>
    where
        S: AsyncStep<Error = E>,
        S::Output: Serialize + DeserializeOwned,
    {
        let before = self.ledger.lock().before(index, &*step);
        let start = match before {
            Before::Halted(unwind) => return Err(unwind),
            Before::Replayed(output) => {
                self.run.engine().replayed(index, &*step, true);
                return Ok(output);
            }
            Before::ReplayedFailure(unwind) => {
                self.run.engine().replayed(index, &*step, false);
                if step.is_uncertain() {
                    self.undo_uncertain(index, step).await;
                }
                return Err(unwind);
            }
            Before::Crashed(unwind, record) => {
                self.write(record).await;
                self.undo_uncertain(index, step).await;
                return Err(unwind);
            }
            Before::Run(start) => start,
        };
        if !self.write(start).await {
            return Err(Ledger::interrupted(index, &*step, Interrupted::Journal));
        }
        let key = self.ledger.lock().key(index, Phase::Execute);
        match WithKey::new(key, self.run.attempt_only(index, step)).await {
            Ok((output, attempts)) => {
                let record = self.ledger.lock().succeeded(index, attempts, &output);
                if record.is_some() && self.write(record).await {
                    Ok(output)
                } else {
                    Err(Ledger::interrupted(index, &*step, Interrupted::Journal))
                }
            }
            Err(Failed {
                unwind,
                interrupted,
            }) => {
                let record = {
                    let mut ledger = self.ledger.lock();
                    match &unwind {
                        Unwind::Panicked(_) => {
                            let panicked =
                                Ledger::interrupted(index, &*step, Interrupted::Panicked);
                            ledger.failed(index, &panicked)
                        }
                        failed => ledger.failed(index, failed),
                    }
                };
                self.write(record).await;
                if interrupted || step.is_uncertain() {
                    self.undo_uncertain(index, step).await;
                }
                Err(unwind)
            }
        }
    }

    /// The run's ledger, for the fan-out's count.
    pub(super) fn ledger_lock(&self) -> impl std::ops::DerefMut<Target = Ledger> + '_ {
        self.ledger.lock()
    }

    /// As [`step`](Self::step), for a branch of a parallel group (the expansion of
    /// `join!` calls it so); the branches share the run.
    ///
    /// # Errors
    ///
    /// As [`step`](Self::step).
    pub async fn branch<S>(&self, index: usize, step: &mut S) -> Result<S::Output, Unwind<E>>
    where
        S: AsyncStep<Error = E>,
        S::Output: Serialize + DeserializeOwned,
    {
        self.step(index, step).await
    }

    /// Compensates the failed step `index` without its output, or, if it has no
    /// compensation for that, reports it as not compensated.
    async fn undo_uncertain<S: AsyncStep<Error = E>>(&self, index: usize, step: &mut S) {
        if !step.has_compensation() {
            return;
        }
        if !step.compensates_without_output() {
            self.run.engine().outcome_unknown(index, &*step);
            return;
        }
        self.undo(index, step, None::<&S::Output>).await;
    }

    /// Compensates the completed step `index` given its output, unless the journal
    /// shows it already compensated; a compensation the journal shows as failed for
    /// good fails again without running. Branches of a group are compensated
    /// concurrently (each future holds `&self`).
    pub async fn compensate<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
        output: S::Output,
    ) {
        if step.has_compensation() {
            self.undo(index, step, Some(&output)).await;
        }
    }

    /// Settles branch `index` of a parallel group after some branch failed: compensates
    /// it if it succeeded, or hands back how it failed.
    pub async fn settle_branch<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
        result: Result<S::Output, Unwind<E>>,
    ) -> Option<Unwind<E>> {
        match result {
            Ok(output) => {
                self.compensate(index, step, output).await;
                None
            }
            Err(unwind) => Some(unwind),
        }
    }

    async fn undo<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
        output: Option<&S::Output>,
    ) {
        let stopped = self.run.engine().stopped();
        let uncertain = output.is_none();
        let plan = self
            .ledger
            .lock()
            .before_undo(index, &*step, uncertain, stopped);
        let start = match plan {
            BeforeUndo::Done => return,
            BeforeUndo::Replayed(failure) => {
                self.run.engine().replay_compensation_failure(failure);
                return;
            }
            BeforeUndo::Engine => {
                self.run.undo(index, step, output).await;
                return;
            }
            BeforeUndo::Run(start) => start,
        };
        if !self.write(start).await {
            return;
        }
        let key = self.ledger.lock().key(index, Phase::Compensate);
        let outcome: Undone = WithKey::new(key, self.run.undo(index, step, output)).await;
        let record = {
            let engine = self.run.engine();
            self.ledger
                .lock()
                .undone(index, outcome, engine.compensation_failure_of(index))
        };
        self.write(record).await;
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
    pub async fn finish<T>(self, result: Result<T, Unwind<E>>) -> Result<T, DurableError<E>> {
        let halted = self.ledger.lock().take_halt();
        if let Some(error) = halted {
            drop(result);
            if matches!(error, JournalError::ShuttingDown { .. }) {
                // Best effort: if it fails, the lease ends on its own.
                let _ = self.store.release(self.held.claim(), None).await;
            }
            return Err(DurableError::Journal(error));
        }
        let status = match &result {
            Ok(_) => Status::Completed,
            Err(_) if self.run.engine().left_work_undone() => Status::Stuck,
            Err(_) => Status::Compensated,
        };
        let record = self.ledger.lock().finished(status);
        if !self.write(record).await {
            // Invariant: a failed write halts the run.
            let error = self.ledger.lock().take_halt();
            return Err(DurableError::Journal(
                error.expect("a failed write halts the run"),
            ));
        }
        self.run.finish(result).map_err(DurableError::Saga)
    }
}
