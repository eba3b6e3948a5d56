//! [`MemoryStore`]: a journal in memory, for tests and examples.

use std::sync::{Mutex, PoisonError};

use super::{JournalError, NewSaga, Record, SagaId, SagaRow, Status, Store};

/// A [`Store`] in memory: fast, and gone with the process. Its records are exactly
/// what a durable store would hold, so tests can inspect them.
#[derive(Debug, Default)]
pub struct MemoryStore {
    sagas: Mutex<Vec<(SagaRow, Vec<Record>)>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        saga: SagaId,
        f: impl FnOnce(&mut SagaRow, &mut Vec<Record>) -> T,
    ) -> Result<T, JournalError> {
        let mut sagas = self.sagas.lock().unwrap_or_else(PoisonError::into_inner);
        let index = usize::try_from(saga.0 - 1).map_err(|_| JournalError::UnknownSaga(saga))?;
        let (row, records) = sagas
            .get_mut(index)
            .ok_or(JournalError::UnknownSaga(saga))?;
        Ok(f(row, records))
    }
}

impl Store for MemoryStore {
    fn begin(&self, saga: &NewSaga<'_>) -> Result<SagaId, JournalError> {
        let mut sagas = self.sagas.lock().unwrap_or_else(PoisonError::into_inner);
        let id = SagaId(i64::try_from(sagas.len()).unwrap_or(i64::MAX) + 1);
        sagas.push((
            SagaRow {
                id,
                name: saga.name.to_owned(),
                inputs: saga.inputs.to_owned(),
                status: Status::Running,
                current_step: None,
                current_step_name: None,
                attempts: 0,
                records: 0,
                last_error: None,
                fingerprint: saga.fingerprint,
            },
            Vec::new(),
        ));
        Ok(id)
    }

    fn append(&self, saga: SagaId, record: &Record) -> Result<(), JournalError> {
        self.with(saga, |row, records| {
            row.apply(record);
            records.push(record.clone());
        })
    }

    fn records(&self, saga: SagaId) -> Result<Vec<Record>, JournalError> {
        self.with(saga, |_, records| records.clone())
    }

    fn saga(&self, saga: SagaId) -> Result<SagaRow, JournalError> {
        self.with(saga, |row, _| row.clone())
    }

    fn sagas(&self, statuses: &[Status]) -> Result<Vec<SagaRow>, JournalError> {
        let sagas = self.sagas.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(sagas
            .iter()
            .map(|(row, _)| row)
            .filter(|row| statuses.is_empty() || statuses.contains(&row.status))
            .cloned()
            .collect())
    }

    fn set_status(&self, saga: SagaId, status: Status) -> Result<(), JournalError> {
        self.with(saga, |row, _| row.status = status)
    }
}
