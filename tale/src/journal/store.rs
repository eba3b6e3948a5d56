//! [`Store`]: what a journal needs from a database.

use super::{JournalError, NewSaga, Record, SagaId, SagaRow, Status};

/// A database that keeps saga journals.
///
/// Every method is atomic. [`append`](Store::append) returns only once the record is
/// as durable as the store promises (see [`SqliteStore`](super::SqliteStore)'s [`Durability`](super::Durability) setting): that is
/// what makes the journal log-before-act.
pub trait Store {
    /// Registers a new saga instance, with status [`Status::Running`].
    ///
    /// # Errors
    ///
    /// The database's failure.
    fn begin(&self, saga: &NewSaga<'_>) -> Result<SagaId, JournalError>;

    /// Appends `record` to the saga's journal, after the records already there, and
    /// updates the saga's summary (status, current step, last error).
    ///
    /// # Errors
    ///
    /// The database's failure, or [`JournalError::UnknownSaga`].
    fn append(&self, saga: SagaId, record: &Record) -> Result<(), JournalError>;

    /// Every record of the saga, oldest first.
    ///
    /// # Errors
    ///
    /// The database's failure, [`JournalError::UnknownSaga`], or
    /// [`JournalError::Corrupt`] naming the saga and the first unreadable record.
    fn records(&self, saga: SagaId) -> Result<Vec<Record>, JournalError>;

    /// The saga's summary.
    ///
    /// # Errors
    ///
    /// The database's failure, or [`JournalError::UnknownSaga`].
    fn saga(&self, saga: SagaId) -> Result<SagaRow, JournalError>;

    /// The summaries of every saga whose status is one of `statuses` (all sagas if
    /// `statuses` is empty), oldest first.
    ///
    /// # Errors
    ///
    /// The database's failure.
    fn sagas(&self, statuses: &[Status]) -> Result<Vec<SagaRow>, JournalError>;

    /// Sets the saga's status, for instance to [`Status::Resolved`] once an operator has
    /// dealt with a stuck saga by hand.
    ///
    /// # Errors
    ///
    /// The database's failure, or [`JournalError::UnknownSaga`].
    fn set_status(&self, saga: SagaId, status: Status) -> Result<(), JournalError>;
}

impl<S: Store + ?Sized> Store for &S {
    fn begin(&self, saga: &NewSaga<'_>) -> Result<SagaId, JournalError> {
        (**self).begin(saga)
    }
    fn append(&self, saga: SagaId, record: &Record) -> Result<(), JournalError> {
        (**self).append(saga, record)
    }
    fn records(&self, saga: SagaId) -> Result<Vec<Record>, JournalError> {
        (**self).records(saga)
    }
    fn saga(&self, saga: SagaId) -> Result<SagaRow, JournalError> {
        (**self).saga(saga)
    }
    fn sagas(&self, statuses: &[Status]) -> Result<Vec<SagaRow>, JournalError> {
        (**self).sagas(statuses)
    }
    fn set_status(&self, saga: SagaId, status: Status) -> Result<(), JournalError> {
        (**self).set_status(saga, status)
    }
}
