//! [`MemoryStore`]: a journal in memory, for tests and examples.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::payload::Payloads;
use super::{
    Claim, Claimed, Entry, JournalError, Leases, Millis, NewSaga, PayloadCodec, Record, SagaId,
    SagaRow, Status, Store,
};

/// The sagas of a memory journal, shared by its handles.
type Sagas = Arc<Mutex<Vec<(SagaRow, Vec<Entry>)>>>;

/// A [`Store`] in memory: fast, and gone with the process. Its records are exactly what
/// a durable store would hold, so tests can inspect them; several handles on one
/// journal ([`worker`](Self::worker)) stand for several workers, and an injected clock
/// ([`with_leases`](Self::with_leases)) lets tests of leases run without waiting.
#[derive(Debug, Default)]
pub struct MemoryStore {
    sagas: Sagas,
    leases: Leases,
    payloads: Payloads,
}

impl MemoryStore {
    /// An empty journal, written by a fresh worker.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty journal, written as `leases` says.
    #[must_use]
    pub fn with_leases(leases: Leases) -> Self {
        Self {
            sagas: Sagas::default(),
            leases,
            payloads: Payloads::default(),
        }
    }

    /// Another handle on the same journal, written as `leases` says: another worker,
    /// for tests of ownership.
    ///
    /// # Examples
    ///
    /// ```
    /// use tale::journal::{JournalError, Leases, MemoryStore, NewSaga, Record, Store};
    ///
    /// let first = MemoryStore::new();
    /// let claim = first.begin(&NewSaga::new("trip", "{}")).unwrap();
    /// let second = first.worker(Leases::new());
    /// second.take_over(claim.saga).unwrap();
    /// // The first worker is fenced.
    /// let refused = first.append(claim, &Record::Finished { status: tale::journal::Status::Completed });
    /// assert!(matches!(refused, Err(JournalError::LeaseLost { .. })));
    /// ```
    #[must_use]
    pub fn worker(&self, leases: Leases) -> Self {
        Self {
            sagas: Arc::clone(&self.sagas),
            leases,
            payloads: self.payloads.clone(),
        }
    }

    /// The same journal, its payloads (inputs, outputs, errors) sealed by `codec`
    /// (see [`PayloadCodec`]).
    #[must_use]
    pub fn with_codec(mut self, codec: impl PayloadCodec + 'static) -> Self {
        self.payloads = Payloads::sealed(codec);
        self
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(SagaRow, Vec<Entry>)>> {
        self.sagas.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn with<T>(
        &self,
        saga: SagaId,
        f: impl FnOnce(&mut SagaRow, &mut Vec<Entry>) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let mut sagas = self.lock();
        let index = usize::try_from(saga.0 - 1).map_err(|_| JournalError::UnknownSaga(saga))?;
        let (row, records) = sagas
            .get_mut(index)
            .ok_or(JournalError::UnknownSaga(saga))?;
        f(row, records)
    }
}

impl Store for MemoryStore {
    fn leases(&self) -> &Leases {
        &self.leases
    }

    fn begin(&self, saga: &NewSaga<'_>) -> Result<Claim, JournalError> {
        let mut sagas = self.lock();
        let id = SagaId(i64::try_from(sagas.len()).unwrap_or(i64::MAX) + 1);
        let inputs = self.payloads.seal(saga.inputs);
        let sealed = NewSaga {
            inputs: &inputs,
            ..*saga
        };
        let (now, until) = self.leases.now_and_until();
        let row = SagaRow::begun(id, &sealed, self.leases.worker_id(), now, until);
        sagas.push((row, Vec::new()));
        let claim = Claim { saga: id, epoch: 1 };
        self.leases.hold(claim);
        Ok(claim)
    }

    fn append(&self, claim: Claim, record: &Record) -> Result<(), JournalError> {
        let (now, until) = self.leases.now_and_until();
        let finished = self.with(claim.saga, |row, records| {
            row.append(claim, record, until)?;
            self.payloads.seal_summary(row, record);
            row.updated_at = now;
            records.push(Entry {
                seq: records.len() as u64 + 1,
                at: row.updated_at,
                record: self.payloads.seal_record(record).into_owned(),
            });
            Ok(row.status.is_finished())
        })?;
        if finished {
            self.leases.let_go(claim);
        }
        Ok(())
    }

    fn records(&self, saga: SagaId) -> Result<Vec<Record>, JournalError> {
        self.with(saga, |_, records| {
            records
                .iter()
                .map(|e| self.payloads.open_record(saga, e.record.clone()))
                .collect()
        })
    }

    fn history(&self, saga: SagaId) -> Result<Vec<Entry>, JournalError> {
        self.with(saga, |_, records| {
            records
                .iter()
                .map(|e| {
                    let record = self.payloads.open_record(saga, e.record.clone())?;
                    Ok(Entry { record, ..*e })
                })
                .collect()
        })
    }

    fn saga(&self, saga: SagaId) -> Result<SagaRow, JournalError> {
        self.with(saga, |row, _| self.payloads.open_row(row.clone()))
    }

    fn sagas(&self, statuses: &[Status]) -> Result<Vec<SagaRow>, JournalError> {
        self.lock()
            .iter()
            .map(|(row, _)| row)
            .filter(|row| statuses.is_empty() || statuses.contains(&row.status))
            .map(|row| self.payloads.open_row(row.clone()))
            .collect()
    }

    fn set_status(&self, saga: SagaId, status: Status) -> Result<(), JournalError> {
        self.with(saga, |row, _| {
            row.set_status(status);
            row.updated_at = self.leases.now();
            Ok(())
        })
    }

    fn claim(&self, limit: usize) -> Result<Vec<Claimed>, JournalError> {
        let now = self.leases.now();
        let mut claimed = Vec::new();
        for (row, _) in self.lock().iter_mut() {
            if claimed.len() == limit {
                break;
            }
            if row.claimable(now) {
                let claim = row
                    .lease
                    .take(row.id, self.leases.worker_id(), self.leases.until());
                row.updated_at = now;
                self.leases.hold(claim);
                claimed.push(Claimed {
                    row: self.payloads.open_row(row.clone())?,
                    claim,
                });
            }
        }
        Ok(claimed)
    }

    fn take_over(&self, saga: SagaId) -> Result<Claim, JournalError> {
        let claim = self.with(saga, |row, _| {
            row.updated_at = self.leases.now();
            Ok(row
                .lease
                .take(saga, self.leases.worker_id(), self.leases.until()))
        })?;
        self.leases.hold(claim);
        Ok(claim)
    }

    fn renew(&self, claim: Claim) -> Result<(), JournalError> {
        self.with(claim.saga, |row, _| {
            row.lease.fence(claim)?;
            row.lease.renew(self.leases.until());
            row.updated_at = self.leases.now();
            Ok(())
        })
    }

    fn release(&self, claim: Claim, retry_at: Option<Millis>) -> Result<(), JournalError> {
        let released = self.with(claim.saga, |row, _| {
            row.lease.fence(claim)?;
            row.lease.give_back(retry_at);
            row.updated_at = self.leases.now();
            Ok(())
        });
        // Given back, or lost: either way no longer this handle's.
        self.leases.let_go(claim);
        released
    }
}
