//! [`BlockingPool`]: a sync [`Store`] served to async sagas on tokio's blocking pool,
//! their writes handed to one thread that commits those ready together.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::oneshot;

use super::store::OwnedWrite;
use super::{
    AsyncStore, Claim, Claimed, Entry, JournalError, Leases, Millis, NewSaga, Record, SagaId,
    SagaRow, Status, Store, Write, Written,
};
use crate::compose::BoxFuture;

/// A [`Store`] whose calls async sagas make on tokio's blocking pool
/// (`tokio::task::spawn_blocking`) instead of inline on the task that polls them, and
/// whose writes (beginnings and appends) of the sagas in flight share commits.
///
/// Every `Store` is an [`AsyncStore`] already, served inline: a SQLite write is short and
/// local, and one saga in flight runs fastest so. But a write served inline holds its
/// runtime thread until it is durable, so a runtime makes at most one write per thread
/// at a time. Through the pool, a write is queued and its task waits; one thread of the
/// pool takes every write queued, hands them to the store together
/// ([`Store::write_many`]: one transaction, one fsync at
/// [`Durability::Full`](super::Durability), for a [`SqliteStore`](super::SqliteStore)),
/// answers each task, and takes the next writes queued meanwhile, until none is left.
/// Each saga still waits for its own write to be durable before its next action. The
/// other calls (reads, claims, leases) run on the pool each on a thread of its own.
/// With one saga in flight it is slower than inline (the hop to the pool costs more
/// than the write); `cargo bench -p tale-bench --bench journal` measures both.
///
/// Each call copies what it borrows (a record, a saga's name and inputs) to move it to
/// the pool. A call whose thread panics, or that the runtime drops while shutting down,
/// gives [`JournalError::Database`]; so does a call made outside a tokio runtime.
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
    writes: Arc<Mutex<Writes>>,
}

/// The writes queued for the pool's writing thread.
#[derive(Debug, Default)]
struct Writes {
    queued: Vec<Pending>,
    /// A thread is writing (or about to): it takes what is queued before it stops.
    writing: bool,
}

/// A queued write and where its task waits for the outcome.
#[derive(Debug)]
struct Pending {
    write: OwnedWrite,
    answer: oneshot::Sender<Result<Written, JournalError>>,
}

impl<S> BlockingPool<S> {
    /// Serves `store` on the blocking pool; other handles on the same `Arc` may still
    /// be used directly.
    #[must_use]
    pub fn new(store: Arc<S>) -> Self {
        Self {
            store,
            writes: Arc::default(),
        }
    }

    /// The store served.
    #[must_use]
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }
}

impl<S> Clone for BlockingPool<S> {
    /// Another handle on the same store and the same queue of writes.
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            writes: Arc::clone(&self.writes),
        }
    }
}

fn lock(writes: &Mutex<Writes>) -> MutexGuard<'_, Writes> {
    writes.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The writing thread's hold on the queue: however the thread ends (its store
/// panicked, or the runtime dropped it before it ran), the queue is left with no
/// writer, and what is still queued is answered with an error (its senders dropped),
/// so that no task waits for a writer that is gone and the next write starts one.
struct Writer<S> {
    store: Arc<S>,
    writes: Arc<Mutex<Writes>>,
    /// It ran to its end and left the queue with no writer itself.
    done: bool,
}

impl<S: Store> Writer<S> {
    /// Writes what is queued, in batches, until nothing is.
    fn run(mut self) {
        loop {
            let batch = {
                let mut writes = lock(&self.writes);
                if writes.queued.is_empty() {
                    writes.writing = false;
                    self.done = true;
                    return;
                }
                std::mem::take(&mut writes.queued)
            };
            let borrowed: Vec<Write<'_>> = batch.iter().map(|p| p.write.borrow()).collect();
            let mut outcomes = self.store.write_many(&borrowed).into_iter();
            drop(borrowed);
            for pending in batch {
                let outcome = outcomes.next().unwrap_or_else(|| {
                    Err(JournalError::Database(
                        "the store gave no outcome for this write".into(),
                    ))
                });
                // A task that stopped waiting (its saga dropped) needs no answer.
                let _ = pending.answer.send(outcome);
            }
        }
    }
}

impl<S> Drop for Writer<S> {
    fn drop(&mut self) {
        if !self.done {
            let unanswered = {
                let mut writes = lock(&self.writes);
                writes.writing = false;
                std::mem::take(&mut writes.queued)
            };
            // Their tasks are woken with the error once the lock is free.
            drop(unanswered);
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
            let runtime = tokio::runtime::Handle::try_current().map_err(no_runtime)?;
            match runtime.spawn_blocking(move || f(&store)).await {
                Ok(result) => result,
                Err(e) => Err(JournalError::Database(
                    format!("a journal call on the blocking pool did not finish: {e}").into(),
                )),
            }
        })
    }

    /// Queues `write` for the writing thread, starting one if none is writing, and
    /// waits for its outcome.
    async fn write(&self, write: OwnedWrite) -> Result<Written, JournalError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(no_runtime)?;
        let (answer, outcome) = oneshot::channel();
        let start = {
            let mut writes = lock(&self.writes);
            writes.queued.push(Pending { write, answer });
            !std::mem::replace(&mut writes.writing, true)
        };
        if start {
            let writer = Writer {
                store: Arc::clone(&self.store),
                writes: Arc::clone(&self.writes),
                done: false,
            };
            drop(runtime.spawn_blocking(move || writer.run()));
        }
        outcome.await.unwrap_or_else(|_| {
            Err(JournalError::Database(
                "the write on the blocking pool did not finish".into(),
            ))
        })
    }
}

fn no_runtime(e: tokio::runtime::TryCurrentError) -> JournalError {
    JournalError::Database(format!("BlockingPool needs a tokio runtime: {e}").into())
}

impl<S: Store + Send + Sync + 'static> AsyncStore for BlockingPool<S> {
    fn leases(&self) -> &Leases {
        self.store.leases()
    }

    fn begin<'a>(&'a self, saga: &'a NewSaga<'a>) -> BoxFuture<'a, Result<Claim, JournalError>> {
        let write = OwnedWrite::of(Write::Begin(*saga));
        Box::pin(async move {
            match self.write(write).await? {
                Written::Begun(claim) => Ok(claim),
                Written::Appended => Err(JournalError::Database(
                    "a begin came back as an append".into(),
                )),
            }
        })
    }

    fn append<'a>(
        &'a self,
        claim: Claim,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<(), JournalError>> {
        let write = OwnedWrite::of(Write::Append(claim, record));
        Box::pin(async move { self.write(write).await.map(|_| ()) })
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
