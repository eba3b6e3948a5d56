//! [`Store`]: what a journal needs from a database.

use super::{JournalError, NewSaga, Record, SagaId, SagaRow, Status};
use crate::compose::BoxFuture;

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

/// The async side of [`Store`]: the same operations, as futures, for async sagas and
/// for stores whose database is reached over the network (PostgreSQL).
///
/// Object-safe (its futures are boxed, `Send`), so that a durable async saga takes any
/// store as `&dyn AsyncStore`, and an operator's tool picks one at run time. Every
/// method means what it means on [`Store`]; [`append`](AsyncStore::append) completes
/// only once the record is as durable as the store promises.
///
/// Every [`Store`] is one, serving its calls inline (see the impl below):
/// [`MemoryStore`](super::MemoryStore) and [`SqliteStore`](super::SqliteStore) are, their
/// calls short and never waiting on the network (`BENCHMARKS.md` has the measurement
/// against a blocking pool).
pub trait AsyncStore: Send + Sync {
    /// See [`Store::begin`].
    fn begin<'a>(&'a self, saga: &'a NewSaga<'a>) -> BoxFuture<'a, Result<SagaId, JournalError>>;
    /// See [`Store::append`].
    fn append<'a>(
        &'a self,
        saga: SagaId,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<(), JournalError>>;
    /// See [`Store::records`].
    fn records(&self, saga: SagaId) -> BoxFuture<'_, Result<Vec<Record>, JournalError>>;
    /// See [`Store::saga`].
    fn saga(&self, saga: SagaId) -> BoxFuture<'_, Result<SagaRow, JournalError>>;
    /// See [`Store::sagas`].
    fn sagas<'a>(
        &'a self,
        statuses: &'a [Status],
    ) -> BoxFuture<'a, Result<Vec<SagaRow>, JournalError>>;
    /// See [`Store::set_status`].
    fn set_status(&self, saga: SagaId, status: Status) -> BoxFuture<'_, Result<(), JournalError>>;
}

/// Every [`Store`] serves async sagas too, inline: its calls are made on the task that
/// awaits them. A store whose database is reached over the network implements
/// [`AsyncStore`] itself instead (and not `Store`).
impl<S: Store + Send + Sync + ?Sized> AsyncStore for S {
    fn begin<'a>(&'a self, saga: &'a NewSaga<'a>) -> BoxFuture<'a, Result<SagaId, JournalError>> {
        Box::pin(std::future::ready(Store::begin(self, saga)))
    }
    fn append<'a>(
        &'a self,
        saga: SagaId,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<(), JournalError>> {
        Box::pin(std::future::ready(Store::append(self, saga, record)))
    }
    fn records(&self, saga: SagaId) -> BoxFuture<'_, Result<Vec<Record>, JournalError>> {
        Box::pin(std::future::ready(Store::records(self, saga)))
    }
    fn saga(&self, saga: SagaId) -> BoxFuture<'_, Result<SagaRow, JournalError>> {
        Box::pin(std::future::ready(Store::saga(self, saga)))
    }
    fn sagas<'a>(
        &'a self,
        statuses: &'a [Status],
    ) -> BoxFuture<'a, Result<Vec<SagaRow>, JournalError>> {
        Box::pin(std::future::ready(Store::sagas(self, statuses)))
    }
    fn set_status(&self, saga: SagaId, status: Status) -> BoxFuture<'_, Result<(), JournalError>> {
        Box::pin(std::future::ready(Store::set_status(self, saga, status)))
    }
}
