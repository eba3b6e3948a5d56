//! `BlockingPool`: a sync store served to async sagas on tokio's blocking pool. It keeps
//! the store contract (the conformance suite through it), the writes of many tasks in
//! flight share the SQLite store's commits, a stale owner is still fenced, and a store
//! call that panics on its pool thread is an error, not a panic of the saga's task.

use std::sync::Arc;

use tale::journal::{
    AsyncStore, BlockingPool, Claim, Claimed, Durability, Entry, JournalError, Leases, MemoryStore,
    Millis, NewSaga, Record, SagaId, SagaRow, SqliteStore, Status, Store, conformance,
};
use tests::temp::TempDir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_store_on_the_blocking_pool_conforms() {
    let dir = TempDir::new("tale-journal-blocking-pool");
    let mut n = 0;
    let root = dir.path().to_owned();
    conformance::check_async(|| {
        n += 1;
        let path = root.join(format!("journal-{n}.db"));
        async move {
            move |leases: Leases| {
                let store = SqliteStore::open(&path).unwrap().with_leases(leases);
                async move { BlockingPool::new(Arc::new(store)) }
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_of_many_tasks_share_commits_and_a_stale_owner_is_fenced() {
    let dir = TempDir::new("tale-journal-blocking-pool");
    let path = dir.file("group.db");
    let sqlite = Arc::new(SqliteStore::open_with(&path, Durability::Full).unwrap());
    let store = BlockingPool::new(Arc::clone(&sqlite));
    let mut claims = Vec::new();
    for _ in 0..16 {
        claims.push(store.begin(&NewSaga::new("trip", "{}")).await.unwrap());
    }
    // One saga is taken over by another handle: its first owner is fenced.
    let stale = claims[0];
    let other = SqliteStore::open(&path).unwrap();
    Store::take_over(&other, stale.saga).unwrap();
    let tasks: Vec<_> = claims
        .iter()
        .map(|&claim| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut results = Vec::new();
                for index in 0..40_u32 {
                    let record = Record::StepStarted {
                        index,
                        name: "step".into(),
                    };
                    results.push(store.append(claim, &record).await);
                }
                results
            })
        })
        .collect();
    for (n, task) in tasks.into_iter().enumerate() {
        let results = task.await.unwrap();
        if n == 0 {
            assert!(
                results
                    .iter()
                    .all(|r| matches!(r, Err(JournalError::LeaseLost { .. }))),
                "{results:?}"
            );
        } else {
            assert!(results.iter().all(Result::is_ok), "{results:?}");
        }
    }
    for (n, claim) in claims.iter().enumerate() {
        let expected = if n == 0 { 0 } else { 40 };
        assert_eq!(store.records(claim.saga).await.unwrap().len(), expected);
        assert_eq!(
            store.saga(claim.saga).await.unwrap().records,
            expected as u64
        );
    }
    // Served inline, each task's write would hold its runtime thread to the end of its
    // commit: at most two writes (the runtime's threads) could ever meet.
    let (commits, writes) = sqlite.group_commit_stats();
    assert_eq!(writes, 16 + 16 * 40);
    assert!(
        commits * 2 < writes,
        "{commits} commits for {writes} writes: the tasks' writes were not grouped"
    );
}

/// A memory store whose appends panic for one step index.
struct Panicky {
    inner: MemoryStore,
    panics_at: u32,
}

impl Store for Panicky {
    fn leases(&self) -> &Leases {
        Store::leases(&self.inner)
    }
    fn begin(&self, saga: &NewSaga<'_>) -> Result<Claim, JournalError> {
        Store::begin(&self.inner, saga)
    }
    fn append(&self, claim: Claim, record: &Record) -> Result<(), JournalError> {
        assert_ne!(record.index(), Some(self.panics_at), "the store's bug");
        Store::append(&self.inner, claim, record)
    }
    fn records(&self, saga: SagaId) -> Result<Vec<Record>, JournalError> {
        Store::records(&self.inner, saga)
    }
    fn history(&self, saga: SagaId) -> Result<Vec<Entry>, JournalError> {
        Store::history(&self.inner, saga)
    }
    fn saga(&self, saga: SagaId) -> Result<SagaRow, JournalError> {
        Store::saga(&self.inner, saga)
    }
    fn sagas(&self, statuses: &[Status]) -> Result<Vec<SagaRow>, JournalError> {
        Store::sagas(&self.inner, statuses)
    }
    fn set_status(&self, saga: SagaId, status: Status) -> Result<(), JournalError> {
        Store::set_status(&self.inner, saga, status)
    }
    fn claim(&self, limit: usize) -> Result<Vec<Claimed>, JournalError> {
        Store::claim(&self.inner, limit)
    }
    fn take_over(&self, saga: SagaId) -> Result<Claim, JournalError> {
        Store::take_over(&self.inner, saga)
    }
    fn renew(&self, claim: Claim) -> Result<(), JournalError> {
        Store::renew(&self.inner, claim)
    }
    fn release(&self, claim: Claim, retry_at: Option<Millis>) -> Result<(), JournalError> {
        Store::release(&self.inner, claim, retry_at)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_call_that_panics_on_the_pool_is_an_error() {
    let store = BlockingPool::new(Arc::new(Panicky {
        inner: MemoryStore::new(),
        panics_at: 1,
    }));
    let claim = store.begin(&NewSaga::new("trip", "{}")).await.unwrap();
    let started = |index| Record::StepStarted {
        index,
        name: "step".into(),
    };
    store.append(claim, &started(0)).await.unwrap();
    match within(store.append(claim, &started(1))).await {
        Err(JournalError::Database(e)) => {
            assert!(e.to_string().contains("did not finish"), "{e}");
        }
        other => panic!("a panicking store call gave {other:?}"),
    }
    // The journal holds what was written before, and the store still serves.
    assert_eq!(store.records(claim.saga).await.unwrap(), [started(0)]);
    within(store.append(claim, &started(2))).await.unwrap();
    assert_eq!(store.saga(claim.saga).await.unwrap().records, 2);
}

/// `future`'s output, or a panic if it waits 10 s: a write whose writer is gone
/// would wait forever.
async fn within<F: std::future::Future>(future: F) -> F::Output {
    tokio::time::timeout(std::time::Duration::from_secs(10), future)
        .await
        .expect("the write waited for a writer that is gone")
}

#[test]
fn a_writer_the_runtime_drops_unrun_leaves_no_write_waiting() {
    let store = BlockingPool::new(Arc::new(MemoryStore::new()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let handle = runtime.handle().clone();
    drop(runtime);
    // The runtime is gone: the thread that would write is never run. (Its timers are
    // gone too: the write is awaited on a thread of its own, for a bounded wait.)
    let (sent, outcome) = std::sync::mpsc::channel();
    let pool = store.clone();
    std::thread::spawn(move || {
        let _ = sent.send(handle.block_on(pool.begin(&NewSaga::new("trip", "{}"))));
    });
    let outcome = outcome.recv_timeout(std::time::Duration::from_secs(10));
    match outcome.expect("the write waited for a writer that never ran") {
        Err(JournalError::Database(e)) => assert!(e.to_string().contains("did not finish"), "{e}"),
        other => panic!("a write whose writer never ran gave {other:?}"),
    }
    // The queue was left with no writer: the next runtime's write starts one.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let saga = NewSaga::new("trip", "{}");
    let claim = runtime.block_on(within(store.begin(&saga))).unwrap();
    assert_eq!(
        runtime.block_on(store.saga(claim.saga)).unwrap().name,
        "trip"
    );
}

#[test]
fn a_call_outside_a_tokio_runtime_is_an_error() {
    let store = BlockingPool::new(Arc::new(MemoryStore::new()));
    let saga = NewSaga::new("trip", "{}");
    let mut begin = store.begin(&saga);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match begin.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(Err(JournalError::Database(e))) => {
            assert!(e.to_string().contains("tokio runtime"), "{e}");
        }
        other => panic!("a write outside a runtime gave {other:?}"),
    }
    let statuses = [];
    let mut read = store.sagas(&statuses);
    assert!(matches!(
        read.as_mut().poll(&mut cx),
        std::task::Poll::Ready(Err(JournalError::Database(_)))
    ));
}
