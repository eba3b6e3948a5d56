//! [`MemoryStore`]: a journal in memory, for tests and examples.

use std::sync::{Mutex, PoisonError};

use super::{JournalError, Record, SagaId, SagaRow, Status, Store};

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

/// Updates a saga's summary for a record appended to its journal.
pub(crate) fn summarize(row: &mut SagaRow, record: &Record) {
    row.records += 1;
    if let Some(index) = record.index() {
        row.current_step = Some(index);
    }
    match record {
        Record::StepStarted { name, .. } => {
            row.current_step_name = Some(name.clone());
            row.attempts = 0;
        }
        Record::CompensationStarted { .. } => row.attempts = 0,
        Record::StepSucceeded { attempts, .. } => row.attempts = *attempts,
        Record::CompensationSucceeded { .. } => row.attempts = row.attempts.max(1),
        Record::StepFailed { errors, .. } | Record::CompensationFailed { errors, .. } => {
            // One error per attempt.
            row.attempts = serde_json::from_str::<Vec<serde_json::Value>>(errors)
                .map_or(0, |e| u32::try_from(e.len()).unwrap_or(u32::MAX));
            row.last_error = Some(errors.clone());
        }
        Record::Finished { status } => row.status = *status,
        Record::Reopened => row.status = Status::Running,
    }
}

impl Store for MemoryStore {
    fn begin(&self, name: &str, inputs: &str) -> Result<SagaId, JournalError> {
        let mut sagas = self.sagas.lock().unwrap_or_else(PoisonError::into_inner);
        let id = SagaId(i64::try_from(sagas.len()).unwrap_or(i64::MAX) + 1);
        sagas.push((
            SagaRow {
                id,
                name: name.to_owned(),
                inputs: inputs.to_owned(),
                status: Status::Running,
                current_step: None,
                current_step_name: None,
                attempts: 0,
                records: 0,
                last_error: None,
            },
            Vec::new(),
        ));
        Ok(id)
    }

    fn append(&self, saga: SagaId, record: &Record) -> Result<(), JournalError> {
        self.with(saga, |row, records| {
            summarize(row, record);
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
