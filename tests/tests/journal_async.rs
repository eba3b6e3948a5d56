//! Durable async sagas, driven by hand on a `DurableAsyncRun`: every transition
//! journaled before the next action, the branches of a group journaled each on its own,
//! a group replayed after a crash running only the branches its journal does not show
//! done, timeouts journaled as failures before the uncertain compensation, idempotency
//! keys that follow each step across awaits and threads, and a run that is `Send`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tale::journal::{
    AsyncStore, DurableAsyncRun, DurableError, IdempotencyKey, Interrupted, MemoryStore, Origin,
    Record, SagaId, Status, Store, idempotency_key,
};
use tale::step::{AsyncTuned, Describe};
use tale::{AsyncStep, Executor, Limits, TimedOut, TokioClock};
use tests::Crashing;

/// The steps' error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Error {
    /// The service refused.
    Refused,
    /// No answer in time.
    TimedOut,
    /// See [`Interrupted`].
    Interrupted(Interrupted),
}

impl From<Interrupted> for Error {
    fn from(i: Interrupted) -> Self {
        Error::Interrupted(i)
    }
}

impl From<TimedOut> for Error {
    fn from(_: TimedOut) -> Self {
        Error::TimedOut
    }
}

/// The outside world: what each call did, under which key, on which thread.
#[derive(Clone, Default)]
struct World(Arc<Mutex<Vec<String>>>);

impl World {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A service call that yields `yields` times, checks its key after each, and records
/// the call under it; `fail` refuses, `slow` never answers.
struct Call {
    world: World,
    name: &'static str,
    yields: u32,
    fail: bool,
    slow: bool,
    uncertain: bool,
}

impl Call {
    fn new(world: &World, name: &'static str) -> Self {
        Self {
            world: world.clone(),
            name,
            yields: 3,
            fail: false,
            slow: false,
            uncertain: false,
        }
    }

    /// The key, the same after every await.
    async fn keyed(&self) -> IdempotencyKey {
        let key = idempotency_key().expect("a durable step has a key");
        for _ in 0..self.yields {
            tokio::task::yield_now().await;
            assert_eq!(idempotency_key(), Some(key), "{}'s key moved", self.name);
        }
        key
    }
}

impl Describe for Call {
    type Error = Error;
    fn name(&self) -> &str {
        self.name
    }
    fn is_uncertain(&self) -> bool {
        self.uncertain
    }
    fn compensates_without_output(&self) -> bool {
        self.uncertain
    }
}

impl AsyncStep for Call {
    type Output = String;

    async fn execute(&mut self) -> Result<String, Error> {
        let key = self.keyed().await;
        if self.slow {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if self.fail {
            return Err(Error::Refused);
        }
        self.world.push(format!("{} under {key}", self.name));
        Ok(format!("{}-done", self.name))
    }

    async fn compensate(&mut self, output: &String) -> Result<(), Error> {
        let key = self.keyed().await;
        self.world.push(format!("undo {output} under {key}"));
        Ok(())
    }

    async fn compensate_uncertain(&mut self) -> Option<Result<(), Error>> {
        let key = self.keyed().await;
        self.world
            .push(format!("undo {} (outcome unknown) under {key}", self.name));
        Some(Ok(()))
    }
}

/// A trip: `flight` and `hotel` in a parallel group, then `pay`; each call as given.
async fn trip(
    store: &dyn AsyncStore,
    origin: Origin,
    calls: [Call; 3],
) -> Result<String, DurableError<Error>> {
    let mut executor = Executor::new().with_clock(TokioClock::new());
    let run = DurableAsyncRun::start(
        &mut executor,
        store,
        "trip",
        "ada",
        origin,
        Some(7),
        Limits::new(),
    )
    .await
    .map_err(DurableError::Journal)?;
    let [mut flight, mut hotel, mut pay] = calls;
    let (f, h) = tokio::join!(run.step(0, &mut flight), run.step(1, &mut hotel));
    let result = match (f, h) {
        (Ok(f), Ok(h)) => match run.step(2, &mut pay).await {
            Ok(p) => Ok(format!("{f} {h} {p}")),
            Err(u) => {
                tokio::join!(
                    run.compensate(1, &mut hotel, h),
                    run.compensate(0, &mut flight, f)
                );
                Err(u)
            }
        },
        (f, h) => {
            let (h, f) = tokio::join!(
                run.settle_branch(1, &mut hotel, h),
                run.settle_branch(0, &mut flight, f)
            );
            Err(f.or(h).expect("a branch failed"))
        }
    };
    run.finish(result).await
}

fn calls(world: &World) -> [Call; 3] {
    [
        Call::new(world, "flight"),
        Call::new(world, "hotel"),
        Call::new(world, "pay"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_async_saga_journals_each_branch_and_runs_on_any_thread() {
    let store = Arc::new(MemoryStore::new());
    let world = World::default();
    let task = {
        let (store, world) = (Arc::clone(&store), world.clone());
        // Spawned: the run's future is `Send`.
        tokio::spawn(async move { trip(&*store, Origin::New, calls(&world)).await })
    };
    assert_eq!(
        task.await.unwrap().unwrap(),
        "flight-done hotel-done pay-done"
    );
    let mut lines = world.lines();
    lines.sort();
    assert_eq!(
        lines,
        [
            "flight under saga-1/step-0/execute",
            "hotel under saga-1/step-1/execute",
            "pay under saga-1/step-2/execute",
        ]
    );
    let row = Store::saga(&*store, SagaId(1)).unwrap();
    assert_eq!((row.status, row.fingerprint), (Status::Completed, Some(7)));
    let records = Store::records(&*store, SagaId(1)).unwrap();
    let started: Vec<u32> = records
        .iter()
        .filter_map(|r| match r {
            Record::StepStarted { index, .. } => Some(*index),
            _ => None,
        })
        .collect();
    assert_eq!(started.len(), 3);
    assert_eq!(records.len(), 7, "{records:?}");
}

/// Each branch's key is its own, however often the branches interleave, on a
/// multi-threaded runtime; no key outlives its step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_never_leak_between_branches_or_tasks() {
    let store = MemoryStore::new();
    let world = World::default();
    let mut calls = calls(&world);
    for call in &mut calls {
        call.yields = 200;
    }
    let noise = tokio::spawn(async {
        for _ in 0..2000 {
            assert_eq!(idempotency_key(), None, "a key leaked into another task");
            tokio::task::yield_now().await;
        }
    });
    trip(&store, Origin::New, calls).await.unwrap();
    noise.await.unwrap();
    assert_eq!(idempotency_key(), None);
}

/// The journal stops being writable in the middle of the group (a crash, as far as the
/// journal knows); recovery answers the branch that completed and runs only the rest.
#[tokio::test]
async fn a_group_replayed_after_a_crash_runs_only_its_unfinished_branches() {
    let memory = MemoryStore::new();
    let world = World::default();
    // begin is not an append: 2 starts, then the flight's end, then nothing.
    let crashing = Crashing::new(&memory, 3);
    let mut first = calls(&world);
    first[1].yields = 50; // the hotel ends after the flight
    let error = trip(&crashing, Origin::New, first).await.unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    assert_eq!(
        world.lines(),
        [
            "flight under saga-1/step-0/execute",
            "hotel under saga-1/step-1/execute"
        ]
    );
    let replayed = trip(&memory, Origin::Resume(SagaId(1)), calls(&world))
        .await
        .unwrap();
    assert_eq!(replayed, "flight-done hotel-done pay-done");
    // The flight was answered from the journal; the hotel, whose end was never
    // journaled, ran again under its key (the service sees a repeat); then the payment.
    assert_eq!(
        world.lines()[2..],
        [
            "hotel under saga-1/step-1/execute",
            "pay under saga-1/step-2/execute"
        ]
    );
}

/// A branch fails after its sibling completed, and the journal stops before the
/// sibling's compensation is recorded: recovery compensates the completed branch once.
#[tokio::test]
async fn a_partly_completed_group_is_compensated_after_a_crash() {
    let memory = MemoryStore::new();
    let world = World::default();
    let with_failing_hotel = |world: &World| {
        let mut calls = calls(world);
        calls[1].fail = true;
        calls[1].yields = 20;
        calls
    };
    // 2 starts, the flight's end, the hotel's failure, the flight's compensation start.
    let crashing = Crashing::new(&memory, 5);
    let error = trip(&crashing, Origin::New, with_failing_hotel(&world))
        .await
        .unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    let error = trip(
        &memory,
        Origin::Resume(SagaId(1)),
        with_failing_hotel(&world),
    )
    .await
    .unwrap_err();
    let DurableError::Saga(error) = error else {
        panic!("{error:?}")
    };
    assert_eq!(*error.failure().error(), Error::Refused);
    assert!(error.is_compensated());
    let undos: Vec<_> = world
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("undo"))
        .collect();
    // Once in the first run (before the journal failed), once again on recovery, under
    // the same key: the service applies it once.
    assert!(
        undos
            .iter()
            .all(|l| l == "undo flight-done under saga-1/step-0/compensate"),
        "{undos:?}"
    );
    assert_eq!(
        Store::saga(&memory, SagaId(1)).unwrap().status,
        Status::Compensated
    );
}

/// A timed-out attempt of an uncertain step is journaled as its failure before its
/// uncertain compensation runs; the journal stops right there, and recovery runs the
/// compensation.
#[tokio::test(start_paused = true)]
async fn a_timed_out_uncertain_step_is_compensated_after_a_crash() {
    let memory = MemoryStore::new();
    let world = World::default();
    let slow_pay = |world: &World| {
        let mut calls = calls(world);
        calls[2].slow = true;
        calls[2].uncertain = true;
        calls
    };
    let run = |store: &'static dyn AsyncStore, origin, calls: [Call; 3]| async move {
        let mut executor = Executor::new().with_clock(TokioClock::new());
        let run = DurableAsyncRun::start(
            &mut executor,
            store,
            "trip",
            "ada",
            origin,
            Some(7),
            Limits::new(),
        )
        .await
        .map_err(DurableError::Journal)?;
        let [_, _, pay] = calls;
        let mut pay = AsyncTuned::new(pay).timeout(Duration::from_secs(5));
        let result = run.step(2, &mut pay).await;
        run.finish(result).await
    };
    let memory: &'static MemoryStore = Box::leak(Box::new(memory));
    // The start, the failure; the compensation's start is refused.
    let crashing: &'static Crashing<'static> = Box::leak(Box::new(Crashing::new(memory, 2)));
    let error = run(crashing, Origin::New, slow_pay(&world))
        .await
        .unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    assert!(
        matches!(
            &Store::records(memory, SagaId(1)).unwrap()[..],
            [
                Record::StepStarted { .. },
                Record::StepFailed {
                    gave_up: tale::GaveUp::AttemptsExhausted,
                    ..
                }
            ]
        ),
        "{:?}",
        Store::records(memory, SagaId(1))
    );
    assert!(world.lines().is_empty());
    let error = run(memory, Origin::Resume(SagaId(1)), slow_pay(&world))
        .await
        .unwrap_err();
    let DurableError::Saga(error) = error else {
        panic!("{error:?}")
    };
    assert_eq!(*error.failure().error(), Error::TimedOut);
    assert_eq!(
        world.lines(),
        ["undo pay (outcome unknown) under saga-1/step-2/compensate"]
    );
}

/// Code that changed since the saga began is refused before anything runs: another
/// fingerprint, or a step recorded under another name at its position.
#[tokio::test]
async fn a_journal_of_other_code_is_refused() {
    let memory = MemoryStore::new();
    let world = World::default();
    let crashing = Crashing::new(&memory, 2);
    trip(&crashing, Origin::New, calls(&world))
        .await
        .unwrap_err();
    let before = world.lines().len();

    // Another fingerprint.
    let mut executor = Executor::new();
    let refused = DurableAsyncRun::<Error, (), _>::start(
        &mut executor,
        &memory,
        "trip",
        "ada",
        Origin::Resume(SagaId(1)),
        Some(8),
        Limits::new(),
    )
    .await;
    let Err(tale::journal::JournalError::Mismatch { reason, .. }) = refused else {
        panic!("accepted another version");
    };
    assert!(reason.contains("another version of `trip`"), "{reason}");

    // A step renamed at its position.
    let mut renamed = calls(&world);
    renamed[0].name = "plane";
    let error = trip(&memory, Origin::Resume(SagaId(1)), renamed)
        .await
        .unwrap_err();
    let DurableError::Journal(tale::journal::JournalError::Mismatch { reason, .. }) = error else {
        panic!("{error:?}")
    };
    assert!(
        reason.contains("step 0 is `flight` in the journal but `plane` in the code"),
        "{reason}"
    );
    assert_eq!(world.lines().len(), before, "nothing ran");
}

/// A registrable durable async saga: a booking for `guest`; a guest named "panic"
/// makes its step panic.
async fn booking(
    store: &dyn AsyncStore,
    origin: Origin,
    guest: &String,
    world: &Arc<Flights>,
) -> Result<String, DurableError<Error>> {
    let mut executor = Executor::new();
    let run = DurableAsyncRun::start(
        &mut executor,
        store,
        "booking",
        guest,
        origin,
        None,
        Limits::new(),
    )
    .await
    .map_err(DurableError::Journal)?;
    let mut seat = tale::step::from_fn(|| Ok::<_, Error>(()));
    let flights = Arc::clone(world);
    let result = match run.step(0, &mut seat).await {
        Ok(()) => {
            flights.board(guest).await;
            Ok(guest.clone())
        }
        Err(u) => Err(u),
    };
    run.finish(result).await
}

/// Counts the bookings in flight at once.
#[derive(Default)]
struct Flights {
    now: std::sync::atomic::AtomicUsize,
    peak: std::sync::atomic::AtomicUsize,
    boarded: Mutex<Vec<String>>,
}

impl Flights {
    async fn board(&self, guest: &str) {
        use std::sync::atomic::Ordering::SeqCst;
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_ne!(guest, "panic", "a bug in the saga");
        self.boarded.lock().unwrap().push(guest.to_owned());
        self.now.fetch_sub(1, SeqCst);
    }
}

/// Recovery resumes the sagas a crash left running, a bounded number at once; one that
/// is not registered and one that panics are reported, and the others recovered.
#[tokio::test]
async fn async_recovery_runs_sagas_concurrently_and_reports_each() {
    let store = MemoryStore::new();
    for guest in ["ada", "bob", "panic", "cy", "dee"] {
        Store::begin(
            &store,
            &tale::journal::NewSaga::new("booking", &format!("{guest:?}")),
        )
        .unwrap();
    }
    Store::begin(&store, &tale::journal::NewSaga::new("cruise", "{}")).unwrap();
    let flights = Arc::new(Flights::default());
    let mut recoverer = tale::journal::AsyncRecoverer::new(&store);
    recoverer.register("booking", booking).concurrency(2);
    let recovered = recoverer.recover(&flights).await;
    let results: Vec<_> = recovered
        .iter()
        .map(|r| {
            (
                r.id.0,
                r.result.as_ref().map(|s| *s).map_err(|e| e.to_string()),
            )
        })
        .collect();
    assert_eq!(results.len(), 6);
    for (id, result) in &results {
        match id {
            3 => assert!(
                matches!(result, Err(e) if e.contains("panicked")),
                "{result:?}"
            ),
            6 => assert!(
                matches!(result, Err(e) if e.contains("no saga of that name")),
                "{result:?}"
            ),
            _ => assert_eq!(*result, Ok(Status::Completed)),
        }
    }
    let mut boarded = flights.boarded.lock().unwrap().clone();
    boarded.sort();
    assert_eq!(boarded, ["ada", "bob", "cy", "dee"]);
    assert_eq!(flights.peak.load(std::sync::atomic::Ordering::SeqCst), 2);
}
