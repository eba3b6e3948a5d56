//! Many workers on one journal: a worker paused past its lease is fenced (its journal
//! writes and, through the fencing token, its late service call are refused), a
//! worker's heartbeat keeps a long step's lease, a graceful shutdown gives sagas back
//! for another worker to take at once, a saga whose resumption keeps failing backs off
//! and is parked, and async workers on a multi-threaded runtime finish what a crashed
//! process left, each saga once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tale::journal::{
    AsyncRecoverer, AsyncWorker, DurableError, Interrupted, JournalError, Leases, MemoryStore,
    NewSaga, Origin, Recoverer, SagaId, SqliteStore, Status, Store, Worker, WorkerOptions,
    fencing_token, idempotency_key,
};
use tale::{CancelHandle, TokioClock, saga, step};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Error {
    /// The service saw a newer owner of the saga: this call came from a stale one.
    Fenced,
    Interrupted(Interrupted),
}

impl From<Interrupted> for Error {
    fn from(i: Interrupted) -> Self {
        Error::Interrupted(i)
    }
}

/// A service that fences: it keeps the highest epoch it has seen per saga and refuses
/// a call with a lower one, and applies each idempotency key once.
#[derive(Default)]
struct World {
    state: Mutex<WorldState>,
    /// Wakes a paused call.
    opened: Condvar,
}

#[derive(Default)]
struct WorldState {
    /// The highest epoch seen per saga.
    epochs: BTreeMap<SagaId, u64>,
    /// Every effect applied: what, at which epoch, under which key.
    applied: Vec<(String, u64, String)>,
    /// Calls refused as stale.
    refused: Vec<(String, u64)>,
    /// Calls started, in order.
    started: Vec<String>,
    /// The call that waits for `open` (its first time only).
    gate: Option<String>,
}

impl World {
    fn gated(what: &str) -> Self {
        let world = Self::default();
        world.state.lock().unwrap().gate = Some(what.to_owned());
        world
    }

    /// A service call: waits at the gate if it is the gated one, then applies its effect
    /// unless a newer owner of the saga was seen.
    fn call(&self, what: &str) -> Result<u32, Error> {
        let token = fencing_token().expect("a durable step has a fencing token");
        let key = idempotency_key().expect("and an idempotency key");
        let mut state = self.state.lock().unwrap();
        state.started.push(format!("{what}@{}", token.epoch));
        self.opened.notify_all();
        if state.gate.as_deref() == Some(what) {
            state.gate = Some(format!("{what} (waiting)"));
            while state.gate.is_some() {
                state = self.opened.wait(state).unwrap();
            }
        }
        let newest = state.epochs.entry(token.saga).or_default();
        if token.epoch < *newest {
            state.refused.push((what.to_owned(), token.epoch));
            return Err(Error::Fenced);
        }
        *newest = token.epoch;
        if !state.applied.iter().any(|(_, _, k)| *k == key.to_string()) {
            state
                .applied
                .push((what.to_owned(), token.epoch, key.to_string()));
        }
        Ok(1)
    }

    /// Waits until the call `what` has started `n` times in all.
    fn wait_started(&self, what: &str, n: usize) {
        let mut state = self.state.lock().unwrap();
        while state.started.iter().filter(|s| s.starts_with(what)).count() < n {
            state = self
                .opened
                .wait_timeout(state, Duration::from_secs(10))
                .unwrap()
                .0;
        }
    }

    fn open(&self) {
        self.state.lock().unwrap().gate = None;
        self.opened.notify_all();
    }

    fn applied(&self) -> Vec<(String, u64)> {
        let state = self.state.lock().unwrap();
        state
            .applied
            .iter()
            .map(|(what, epoch, _)| (what.clone(), *epoch))
            .collect()
    }
}

#[step(compensate = undo)]
fn call(world: &World, what: &'static str) -> Result<u32, Error> {
    world.call(what)
}

fn undo(_world: &World, _what: &'static str, _done: &u32) -> Result<(), Error> {
    Ok(())
}

saga! {
    #![saga(durable, name = "trip")]
    /// Three calls in a row.
    fn trip(_order: &String, world: &World) -> Result<u32, DurableError<Error>> {
        let first = call(world, "first");
        let slow = call(world, "slow");
        let last = call(world, "last");
        first + slow + last
    }
}

/// A clock the test moves by hand, shared by every handle of a journal.
#[derive(Clone, Default)]
struct Clock(Arc<AtomicI64>);

impl Clock {
    fn leases(&self, ttl_ms: u64) -> Leases {
        let now = Arc::clone(&self.0);
        Leases::new()
            .ttl(Duration::from_millis(ttl_ms))
            .clock(move || now.load(Ordering::SeqCst))
    }
    fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

#[test]
fn a_worker_paused_past_its_lease_is_fenced_and_another_finishes_the_saga() {
    let clock = Clock::default();
    let first = MemoryStore::with_leases(clock.leases(1_000));
    let second = first.worker(clock.leases(1_000));
    let world = World::gated("slow");
    std::thread::scope(|scope| {
        // The first worker runs the saga and stalls in the middle of `slow`.
        let paused = scope.spawn(|| trip(&first, Origin::New, &"ada".to_owned(), &world));
        world.wait_started("slow", 1);
        // Its lease ends; the second worker claims the saga and finishes it.
        clock.advance(1_000);
        let mut recoverer = Recoverer::new(&second);
        recoverer.register("trip", trip);
        let resumed = Worker::new(&recoverer).tick(&world);
        assert_eq!(resumed.len(), 1);
        assert_eq!(*resumed[0].result.as_ref().unwrap(), Status::Completed);
        // The first wakes up: its late call is refused by the service, its next
        // journal write by the store, and it stops there.
        world.open();
        let error = paused.join().unwrap().unwrap_err();
        assert!(
            matches!(
                error,
                DurableError::Journal(JournalError::LeaseLost {
                    epoch: 1,
                    current: 2,
                    ..
                })
            ),
            "{error:?}"
        );
    });
    assert_eq!(
        world.applied(),
        [
            ("first".to_owned(), 1),
            ("slow".to_owned(), 2),
            ("last".to_owned(), 2)
        ],
        "each effect once, and never one of the old owner after the new one's"
    );
    assert_eq!(
        world.state.lock().unwrap().refused,
        [("slow".to_owned(), 1)]
    );
    let row = second.saga(SagaId(1)).unwrap();
    assert_eq!((row.status, row.lease.epoch), (Status::Completed, 2));
    assert!(
        first.leases().held().is_empty(),
        "the fenced run let its claim go"
    );
}

#[test]
fn a_saga_whose_resumption_keeps_failing_backs_off_then_is_parked() {
    let clock = Clock::default();
    let store = MemoryStore::with_leases(clock.leases(1_000));
    let ghost = store.begin(&NewSaga::new("ghost", "{}")).unwrap();
    store.release(ghost, None).unwrap();
    let recoverer: Recoverer<'_, World> = Recoverer::new(&store);
    let worker = Worker::new(&recoverer).options(
        WorkerOptions::new()
            .max_resumptions(2)
            .backoff(Duration::from_millis(100), Duration::from_secs(60)),
    );
    let world = World::default();
    let failed = |resumed: Vec<tale::journal::Recovered>| {
        assert_eq!(resumed.len(), 1);
        assert!(
            matches!(resumed[0].result, Err(JournalError::Unregistered { .. })),
            "{:?}",
            resumed[0].result
        );
    };
    failed(worker.tick(&world));
    assert!(worker.tick(&world).is_empty(), "backing off for 100 ms");
    clock.advance(100);
    failed(worker.tick(&world));
    clock.advance(199);
    assert!(worker.tick(&world).is_empty(), "then for 200 ms");
    clock.advance(1);
    let parked = worker.tick(&world);
    assert!(matches!(parked[0].result, Ok(Status::Parked)));
    assert_eq!(store.saga(ghost.saga).unwrap().status, Status::Parked);
    clock.advance(10_000);
    assert!(
        worker.tick(&world).is_empty(),
        "parked: left for an operator"
    );
    // The operator sets it running again: claimed at once, counted afresh.
    store.set_status(ghost.saga, Status::Running).unwrap();
    failed(worker.tick(&world));
}

#[test]
fn a_workers_heartbeat_keeps_the_lease_of_a_long_step() {
    let dir = tempdir("heartbeat");
    let path = dir.join("journal.db");
    let leases = || Leases::new().ttl(Duration::from_millis(150));
    let running = SqliteStore::open(&path).unwrap().with_leases(leases());
    let other = SqliteStore::open(&path).unwrap().with_leases(leases());
    // A crashed process left the saga; `running`'s worker claims it and stalls in
    // `slow` for several leases' worth of time.
    let left = SqliteStore::open(&path).unwrap().with_leases(leases());
    let id = left.begin(&NewSaga::new("trip", "\"ada\"")).unwrap();
    left.release(id, None).unwrap();
    let world = World::gated("slow");
    let mut recoverer = Recoverer::new(&running);
    recoverer.register("trip", trip);
    let worker = Worker::new(&recoverer).options(
        WorkerOptions::new()
            .poll_interval(Duration::from_millis(5))
            .heartbeat(Duration::from_millis(20)),
    );
    let shutdown = CancelHandle::new();
    let stats = std::thread::scope(|scope| {
        let run = scope.spawn(|| worker.run(&world, &shutdown));
        world.wait_started("slow", 1);
        for _ in 0..30 {
            std::thread::sleep(Duration::from_millis(20));
            assert!(other.claim(10).unwrap().is_empty(), "the lease is renewed");
        }
        world.open();
        while running.saga(id.saga).unwrap().status == Status::Running {
            std::thread::sleep(Duration::from_millis(5));
        }
        shutdown.cancel();
        run.join().unwrap()
    });
    assert_eq!((stats.claimed, stats.finished), (1, 1), "{stats:?}");
    let row = other.saga(id.saga).unwrap();
    assert_eq!((row.status, row.lease.epoch), (Status::Completed, 2));
    assert_eq!(world.applied().len(), 3);
    let _ = std::fs::remove_dir_all(dir);
}

saga! {
    #![saga(durable, name = "tour")]
    /// Three async calls in a row.
    async fn tour(_order: &String, world: &AsyncWorld) -> Result<u32, DurableError<Error>> {
        let first = visit(world, "first");
        let slow = visit(world, "slow");
        let last = visit(world, "last");
        first + slow + last
    }
}

/// The async world: the same service, its gate a tokio `Notify`.
#[derive(Default)]
struct AsyncWorld {
    world: World,
    gate: tokio::sync::Notify,
    gated: std::sync::atomic::AtomicBool,
}

#[step(compensate = unvisit)]
async fn visit(world: &AsyncWorld, what: &'static str) -> Result<u32, Error> {
    tokio::task::yield_now().await;
    if what == "slow" && world.gated.swap(false, Ordering::SeqCst) {
        world
            .world
            .state
            .lock()
            .unwrap()
            .started
            .push("slow (waiting)".into());
        world.world.opened.notify_all();
        world.gate.notified().await;
    }
    world.world.call(what)
}

async fn unvisit(_world: &AsyncWorld, _what: &'static str, _done: &u32) -> Result<(), Error> {
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_gives_the_saga_back_for_another_worker_at_once() {
    // Leases of a minute: any take-over within the test is a give-back, not an expiry.
    let leases = || Leases::new().ttl(Duration::from_secs(60));
    let first = Arc::new(MemoryStore::with_leases(leases()));
    let second = first.worker(leases());
    let world = Arc::new(AsyncWorld::default());
    world.gated.store(true, Ordering::SeqCst);
    let left = first.begin(&NewSaga::new("tour", "\"ada\"")).unwrap();
    first.release(left, None).unwrap();

    let shutdown = CancelHandle::new();
    let running = {
        let (first, world, shutdown) = (Arc::clone(&first), Arc::clone(&world), shutdown.clone());
        tokio::spawn(async move {
            let mut recoverer = AsyncRecoverer::new(&*first);
            recoverer.register("tour", tour);
            let worker = AsyncWorker::new(&recoverer, TokioClock::new())
                .options(WorkerOptions::new().poll_interval(Duration::from_millis(5)));
            worker.run(&world, &shutdown).await
        })
    };
    while !world
        .world
        .state
        .lock()
        .unwrap()
        .started
        .iter()
        .any(|s| s == "slow (waiting)")
    {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Shut the first worker down while `slow` runs: it lets `slow` end, starts
    // nothing more, and gives the saga back.
    shutdown.cancel();
    tokio::time::sleep(Duration::from_millis(20)).await;
    world.gate.notify_one();
    let stats = running.await.unwrap();
    assert_eq!((stats.claimed, stats.given_back), (1, 1), "{stats:?}");
    assert_eq!(world.world.applied().len(), 2, "first and slow, not last");

    let mut recoverer = AsyncRecoverer::new(&second);
    recoverer.register("tour", tour);
    let worker = AsyncWorker::new(&recoverer, TokioClock::new());
    let resumed = worker.tick(&world).await;
    assert_eq!(
        resumed.len(),
        1,
        "claimed at once, with a minute left on the old lease"
    );
    assert_eq!(*resumed[0].result.as_ref().unwrap(), Status::Completed);
    assert_eq!(
        world.world.applied(),
        [
            ("first".to_owned(), 2),
            ("slow".to_owned(), 2),
            ("last".to_owned(), 3)
        ],
        "the first worker claimed it at epoch 2, the second at 3"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_workers_share_what_a_crashed_process_left_each_saga_once() {
    let dir = tempdir("async-workers");
    let path = dir.join("journal.db");
    let open = || {
        SqliteStore::open_with(&path, tale::journal::Durability::Off)
            .unwrap()
            .with_leases(Leases::new().ttl(Duration::from_secs(60)))
    };
    let left = open();
    for i in 0..24 {
        let claim = left
            .begin(&NewSaga::new("tour", &format!("\"{i}\"")))
            .unwrap();
        left.release(claim, None).unwrap();
    }
    let world = Arc::new(AsyncWorld::default());
    let shutdown = CancelHandle::new();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let (store, world, shutdown) = (Arc::new(open()), Arc::clone(&world), shutdown.clone());
            tokio::spawn(async move {
                let mut recoverer = AsyncRecoverer::new(&*store);
                recoverer.register("tour", tour);
                let worker = AsyncWorker::new(&recoverer, TokioClock::new()).options(
                    WorkerOptions::new()
                        .batch(4)
                        .poll_interval(Duration::from_millis(5)),
                );
                worker.run(&world, &shutdown).await
            })
        })
        .collect();
    while !left.sagas(&[Status::Running]).unwrap().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    let mut claimed = 0;
    for worker in workers {
        let stats = worker.await.unwrap();
        assert_eq!(stats.claimed, stats.finished, "{stats:?}");
        claimed += stats.claimed;
    }
    assert_eq!(claimed, 24, "each saga claimed once");
    assert_eq!(left.sagas(&[Status::Completed]).unwrap().len(), 24);
    let applied = world.world.applied();
    assert_eq!(applied.len(), 72, "three calls of each saga, each once");
    assert!(applied.iter().all(|(_, epoch)| *epoch == 2));
    let _ = std::fs::remove_dir_all(dir);
}

/// A fresh folder under the target's tmp.
fn tempdir(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("journal_workers-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
