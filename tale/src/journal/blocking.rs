//! [`BlockingPool`]: a sync [`Store`] served to async sagas on tokio's blocking pool, so
//! that the writes of many sagas in flight meet in the store's group commit.

use std::sync::Arc;

use super::{
    AsyncStore, Claim, Claimed, Entry, JournalError, Leases, Millis, NewSaga, Record, SagaId,
    SagaRow, Status, Store,
};
use crate::compose::BoxFuture;

/// A [`Store`] whose calls async sagas make on tokio's blocking pool
/// (`tokio::task::spawn_blocking`), each on a thread of its own, instead of inline on the
/// task that polls them.
///
/// Every `Store` is an [`AsyncStore`] already, served inline: a SQLite write is short and
/// local, and one saga in flight runs fastest so. But a write served inline holds its
/// runtime thread until it is durable, so a runtime makes at most one write per thread
/// at a time and [`SqliteStore`](super::SqliteStore)'s group commit has nothing to
/// group. Through the pool, the writes of the sagas in flight wait together, and those
/// ready at once share one commit (one fsync at [`Durability::Full`](super::Durability)):
/// with 16 async sagas in flight at `Full`, about 3.6 times the sagas per second of the
/// same store served inline (`cargo bench -p tale-bench --bench journal`). With one saga
/// in flight it is slower than inline (the hop to the pool costs more than the write).
///
/// Each call copies what it borrows (a record, a saga's name and inputs) to move it to
/// the pool. A call whose thread panics, or that the runtime drops while shutting down,
/// gives [`JournalError::Database`].
///
/// Needs a tokio runtime, as `spawn_blocking` does (feature `tokio`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use tale::journal::{AsyncStore, BlockingPool, NewSaga, SqliteStore};
///
/// let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let store = BlockingPool::new(Arc::new(SqliteStore::in_memory()?));
/// let claim = runtime.block_on(store.begin(&NewSaga::new("trip", "{}")))?;
/// assert_eq!(runtime.block_on(store.saga(claim.saga))?.name, "trip");
/// # Ok::<(), tale::journal::JournalError>(())
/// ```
#[derive(Debug)]
pub struct BlockingPool<S> {
    store: Arc<S>,
}

impl<S> BlockingPool<S> {
    /// Serves `store` on the blocking pool; other handles on the same `Arc` may still
    /// be used directly.
    #[must_use]
    pub fn new(store: Arc<S>) -> Self {
        Self { store }
    }

    /// The store served.
    #[must_use]
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }
}

impl<S> Clone for BlockingPool<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
        }
    }
}

impl<S: Store + Send + Sync + 'static> BlockingPool<S> {
    /// Runs `f` on the store on the blocking pool.
    fn call<'a, T: Send + 'static>(
        &'a self,
        f: impl FnOnce(&S) -> Result<T, JournalError> + Send + 'static,
    ) -> BoxFuture<'a, Result<T, JournalError>> {
        let store = Arc::clone(&self.store);
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || f(&store)).await {
                Ok(result) => result,
                Err(e) => Err(JournalError::Database(
                    format!("a journal call on the blocking pool did not finish: {e}").into(),
                )),
            }
        })
    }
}

impl<S: Store + Send + Sync + 'static> AsyncStore for BlockingPool<S> {
    fn leases(&self) -> &Leases {
        self.store.leases()
    }

    fn begin<'a>(&'a self, saga: &'a NewSaga<'a>) -> BoxFuture<'a, Result<Claim, JournalError>> {
        let (name, inputs, fingerprint) = (
            saga.name.to_owned(),
            saga.inputs.to_owned(),
            saga.fingerprint,
        );
        self.call(move |s| {
            s.begin(&NewSaga {
                name: &name,
                inputs: &inputs,
                fingerprint,
            })
        })
    }

    fn append<'a>(
        &'a self,
        claim: Claim,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<(), JournalError>> {
        let record = record.clone();
        self.call(move |s| s.append(claim, &record))
    }

    fn records(&self, saga: SagaId) -> BoxFuture<'_, Result<Vec<Record>, JournalError>> {
        self.call(move |s| s.records(saga))
    }

    fn history(&self, saga: SagaId) -> BoxFuture<'_, Result<Vec<Entry>, JournalError>> {
        self.call(move |s| s.history(saga))
    }

    fn saga(&self, saga: SagaId) -> BoxFuture<'_, Result<SagaRow, JournalError>> {
        self.call(move |s| s.saga(saga))
    }

    fn sagas<'a>(
        &'a self,
        statuses: &'a [Status],
    ) -> BoxFuture<'a, Result<Vec<SagaRow>, JournalError>> {
        let statuses = statuses.to_vec();
        self.call(move |s| s.sagas(&statuses))
    }

    fn set_status(&self, saga: SagaId, status: Status) -> BoxFuture<'_, Result<(), JournalError>> {
        self.call(move |s| s.set_status(saga, status))
    }

    fn claim(&self, limit: usize) -> BoxFuture<'_, Result<Vec<Claimed>, JournalError>> {
        self.call(move |s| s.claim(limit))
    }

    fn take_over(&self, saga: SagaId) -> BoxFuture<'_, Result<Claim, JournalError>> {
        self.call(move |s| s.take_over(saga))
    }

    fn renew(&self, claim: Claim) -> BoxFuture<'_, Result<(), JournalError>> {
        self.call(move |s| s.renew(claim))
    }

    fn release(
        &self,
        claim: Claim,
        retry_at: Option<Millis>,
    ) -> BoxFuture<'_, Result<(), JournalError>> {
        self.call(move |s| s.release(claim, retry_at))
    }
}
