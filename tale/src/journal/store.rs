//! [`Store`] and [`AsyncStore`]: what a journal needs from a database, sync and async.

use super::{Claim, Entry, JournalError, Leases, Millis, NewSaga, Record, SagaId, SagaRow, Status};
use crate::compose::BoxFuture;

/// A saga a worker just claimed: its summary as the claim left it, and the claim it now
/// writes under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimed {
    /// The saga's summary.
    pub row: SagaRow,
    /// The claim.
    pub claim: Claim,
}

/// One write of [`Store::write_many`]: a saga begun, or a record appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write<'a> {
    /// A saga begun, as [`Store::begin`] begins it.
    Begin(NewSaga<'a>),
    /// A record appended under a claim, as [`Store::append`] appends it.
    Append(Claim, &'a Record),
}

/// What a write of [`Store::write_many`] came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// The saga began, under this claim.
    Begun(Claim),
    /// The record is appended.
    Appended,
}

/// A write, owned: for a caller that hands it to another thread and waits.
#[derive(Debug)]
pub(crate) enum OwnedWrite {
    Begin {
        name: String,
        inputs: String,
        fingerprint: Option<u64>,
    },
    Append(Claim, Record),
}

impl OwnedWrite {
    pub(crate) fn of(write: Write<'_>) -> Self {
        match write {
            Write::Append(claim, record) => OwnedWrite::Append(claim, record.clone()),
            Write::Begin(saga) => OwnedWrite::Begin {
                name: saga.name.to_owned(),
                inputs: saga.inputs.to_owned(),
                fingerprint: saga.fingerprint,
            },
        }
    }

    pub(crate) fn borrow(&self) -> Write<'_> {
        match self {
            OwnedWrite::Append(claim, record) => Write::Append(*claim, record),
            OwnedWrite::Begin {
                name,
                inputs,
                fingerprint,
            } => Write::Begin(NewSaga {
                name,
                inputs,
                fingerprint: *fingerprint,
            }),
        }
    }
}

/// A database that keeps saga journals, shared by any number of workers.
///
/// Every method is atomic. [`append`](Store::append) returns only once the record is
/// as durable as the store promises (see [`SqliteStore`](super::SqliteStore)'s
/// [`Durability`](super::Durability) setting): that is what makes the journal
/// log-before-act.
///
/// # Ownership
///
/// A running saga has one owner: the worker (the store handle and its [`Leases`]) that
/// [began](Store::begin) it or last [claimed](Store::claim) or
/// [took it over](Store::take_over), under an epoch that grows with each change of
/// hands. [`append`](Store::append), [`renew`](Store::renew) and
/// [`release`](Store::release) check the writer's epoch against the saga's in the same
/// transaction as the write, and refuse a stale one with [`JournalError::LeaseLost`]:
/// that is what keeps a paused, then resumed, worker from writing a saga another worker
/// took over. The rules themselves are [`Lease`](super::Lease)'s methods, so that every
/// store applies the same ones.
///
/// A store implementation checks itself against this contract with
/// [`conformance`](super::conformance) (features `journal` and `testing`).
pub trait Store {
    /// Who this handle writes as, how long its leases last, its clock, what it holds.
    fn leases(&self) -> &Leases;

    /// Registers a new saga instance, with status [`Status::Running`], owned by this
    /// handle's worker at epoch 1 (and held by its [`Leases`]).
    ///
    /// # Errors
    ///
    /// The database's failure.
    fn begin(&self, saga: &NewSaga<'_>) -> Result<Claim, JournalError>;

    /// Appends `record` to the saga's journal, after the records already there, updates
    /// the saga's summary ([`SagaRow::apply`]) and renews the lease
    /// ([`Lease::wrote`](super::Lease::wrote)), if `claim`'s epoch is still the saga's.
    /// A [`Record::Finished`] ends the lease, and the handle lets the claim go.
    ///
    /// # Errors
    ///
    /// [`JournalError::LeaseLost`] if the saga changed hands since the claim (nothing
    /// is written), [`JournalError::UnknownSaga`], or the database's failure.
    fn append(&self, claim: Claim, record: &Record) -> Result<(), JournalError>;

    /// Every record of the saga, oldest first.
    ///
    /// # Errors
    ///
    /// The database's failure, [`JournalError::UnknownSaga`], or
    /// [`JournalError::Corrupt`] naming the saga and the first unreadable record.
    fn records(&self, saga: SagaId) -> Result<Vec<Record>, JournalError>;

    /// The saga's records with each one's position (from 1) and the time it was
    /// written, oldest first: its story, for operators.
    ///
    /// # Errors
    ///
    /// As [`records`](Self::records).
    fn history(&self, saga: SagaId) -> Result<Vec<Entry>, JournalError>;

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

    /// Sets the saga's status, whoever owns it: an operator's act
    /// ([`SagaRow::set_status`] says what it does to the lease), for instance
    /// [`Status::Resolved`] once a stuck saga was dealt with by hand, or
    /// [`Status::Running`] to give a parked saga to the workers again.
    ///
    /// # Errors
    ///
    /// The database's failure, or [`JournalError::UnknownSaga`].
    fn set_status(&self, saga: SagaId, status: Status) -> Result<(), JournalError>;

    /// Claims up to `limit` running sagas whose lease has ended (or was given back) and
    /// whose back-off time has come, oldest first, in one atomic step: each gets this
    /// handle's worker as its owner, a fresh lease and the next epoch
    /// ([`Lease::take`](super::Lease::take)). Two workers claiming at once never get
    /// the same saga.
    ///
    /// # Errors
    ///
    /// The database's failure.
    fn claim(&self, limit: usize) -> Result<Vec<Claimed>, JournalError>;

    /// Takes the saga over whatever its lease says, under the next epoch: for start-up
    /// recovery in a process that knows no other process uses the journal, and for an
    /// operator. Whoever held it is fenced from then on.
    ///
    /// # Errors
    ///
    /// [`JournalError::UnknownSaga`], or the database's failure.
    fn take_over(&self, saga: SagaId) -> Result<Claim, JournalError>;

    /// Renews the lease of `claim` without writing a record: a heartbeat while a long
    /// step runs.
    ///
    /// # Errors
    ///
    /// [`JournalError::LeaseLost`] if the saga changed hands, or the database's failure.
    fn renew(&self, claim: Claim) -> Result<(), JournalError>;

    /// Gives the saga back, and the handle lets the claim go: another worker may claim
    /// it at once, or from `retry_at` on (a saga whose resumption failed, given time
    /// before the next try).
    ///
    /// # Errors
    ///
    /// [`JournalError::LeaseLost`] if the saga changed hands, or the database's failure.
    fn release(&self, claim: Claim, retry_at: Option<Millis>) -> Result<(), JournalError>;

    /// Makes `writes` (beginnings and appends, of any sagas) as [`begin`](Self::begin)
    /// and [`append`](Self::append) would one by one, in order, and gives each its own
    /// outcome; every write that succeeded is durable when this returns. A store may
    /// commit them together: [`SqliteStore`](super::SqliteStore) makes them one
    /// transaction (one fsync at [`Durability::Full`](super::Durability::Full)), a
    /// write refused by its fencing check failing alone. `BlockingPool` (feature
    /// `tokio`) hands it the writes of the async sagas in flight. The default makes
    /// them one at a time.
    ///
    /// # Examples
    ///
    /// ```
    /// use tale::journal::{MemoryStore, NewSaga, Store, Write, Written};
    ///
    /// let store = MemoryStore::new();
    /// let done = store.write_many(&[
    ///     Write::Begin(NewSaga::new("trip", "{}")),
    ///     Write::Begin(NewSaga::new("refund", "{}")),
    /// ]);
    /// assert!(matches!(done[..], [Ok(Written::Begun(_)), Ok(Written::Begun(_))]));
    /// ```
    fn write_many(&self, writes: &[Write<'_>]) -> Vec<Result<Written, JournalError>> {
        writes
            .iter()
            .map(|write| match *write {
                Write::Begin(saga) => self.begin(&saga).map(Written::Begun),
                Write::Append(claim, record) => {
                    self.append(claim, record).map(|()| Written::Appended)
                }
            })
            .collect()
    }
}

impl<S: Store + ?Sized> Store for &S {
    fn leases(&self) -> &Leases {
        (**self).leases()
    }
    fn begin(&self, saga: &NewSaga<'_>) -> Result<Claim, JournalError> {
        (**self).begin(saga)
    }
    fn append(&self, claim: Claim, record: &Record) -> Result<(), JournalError> {
        (**self).append(claim, record)
    }
    fn records(&self, saga: SagaId) -> Result<Vec<Record>, JournalError> {
        (**self).records(saga)
    }
    fn history(&self, saga: SagaId) -> Result<Vec<Entry>, JournalError> {
        (**self).history(saga)
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
    fn claim(&self, limit: usize) -> Result<Vec<Claimed>, JournalError> {
        (**self).claim(limit)
    }
    fn take_over(&self, saga: SagaId) -> Result<Claim, JournalError> {
        (**self).take_over(saga)
    }
    fn renew(&self, claim: Claim) -> Result<(), JournalError> {
        (**self).renew(claim)
    }
    fn release(&self, claim: Claim, retry_at: Option<Millis>) -> Result<(), JournalError> {
        (**self).release(claim, retry_at)
    }
    fn write_many(&self, writes: &[Write<'_>]) -> Vec<Result<Written, JournalError>> {
        (**self).write_many(writes)
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
    /// See [`Store::leases`].
    fn leases(&self) -> &Leases;
    /// See [`Store::begin`].
    fn begin<'a>(&'a self, saga: &'a NewSaga<'a>) -> BoxFuture<'a, Result<Claim, JournalError>>;
    /// See [`Store::append`].
    fn append<'a>(
        &'a self,
        claim: Claim,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<(), JournalError>>;
    /// See [`Store::records`].
    fn records(&self, saga: SagaId) -> BoxFuture<'_, Result<Vec<Record>, JournalError>>;
    /// See [`Store::history`].
    fn history(&self, saga: SagaId) -> BoxFuture<'_, Result<Vec<Entry>, JournalError>>;
    /// See [`Store::saga`].
    fn saga(&self, saga: SagaId) -> BoxFuture<'_, Result<SagaRow, JournalError>>;
    /// See [`Store::sagas`].
    fn sagas<'a>(
        &'a self,
        statuses: &'a [Status],
    ) -> BoxFuture<'a, Result<Vec<SagaRow>, JournalError>>;
    /// See [`Store::set_status`].
    fn set_status(&self, saga: SagaId, status: Status) -> BoxFuture<'_, Result<(), JournalError>>;
    /// See [`Store::claim`].
    fn claim(&self, limit: usize) -> BoxFuture<'_, Result<Vec<Claimed>, JournalError>>;
    /// See [`Store::take_over`].
    fn take_over(&self, saga: SagaId) -> BoxFuture<'_, Result<Claim, JournalError>>;
    /// See [`Store::renew`].
    fn renew(&self, claim: Claim) -> BoxFuture<'_, Result<(), JournalError>>;
    /// See [`Store::release`].
    fn release(
        &self,
        claim: Claim,
        retry_at: Option<Millis>,
    ) -> BoxFuture<'_, Result<(), JournalError>>;
}

/// Every [`Store`] serves async sagas too, inline: its calls are made on the task that
/// awaits them. A store whose database is reached over the network implements
/// [`AsyncStore`] itself instead (and not `Store`). For many async sagas in flight on
/// one SQLite journal, serve it on tokio's blocking pool instead (`BlockingPool`,
/// feature `tokio`), so that their writes share commits ([`Store::write_many`]).
impl<S: Store + Send + Sync + ?Sized> AsyncStore for S {
    fn leases(&self) -> &Leases {
        Store::leases(self)
    }
    fn begin<'a>(&'a self, saga: &'a NewSaga<'a>) -> BoxFuture<'a, Result<Claim, JournalError>> {
        Box::pin(std::future::ready(Store::begin(self, saga)))
    }
    fn append<'a>(
        &'a self,
        claim: Claim,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<(), JournalError>> {
        Box::pin(std::future::ready(Store::append(self, claim, record)))
    }
    fn records(&self, saga: SagaId) -> BoxFuture<'_, Result<Vec<Record>, JournalError>> {
        Box::pin(std::future::ready(Store::records(self, saga)))
    }
    fn history(&self, saga: SagaId) -> BoxFuture<'_, Result<Vec<Entry>, JournalError>> {
        Box::pin(std::future::ready(Store::history(self, saga)))
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
    fn claim(&self, limit: usize) -> BoxFuture<'_, Result<Vec<Claimed>, JournalError>> {
        Box::pin(std::future::ready(Store::claim(self, limit)))
    }
    fn take_over(&self, saga: SagaId) -> BoxFuture<'_, Result<Claim, JournalError>> {
        Box::pin(std::future::ready(Store::take_over(self, saga)))
    }
    fn renew(&self, claim: Claim) -> BoxFuture<'_, Result<(), JournalError>> {
        Box::pin(std::future::ready(Store::renew(self, claim)))
    }
    fn release(
        &self,
        claim: Claim,
        retry_at: Option<Millis>,
    ) -> BoxFuture<'_, Result<(), JournalError>> {
        Box::pin(std::future::ready(Store::release(self, claim, retry_at)))
    }
}
