//! `saga!`'s durable `async fn` form: an async saga with a `join!` made durable with one
//! attribute, spawned on a multi-threaded runtime, journaled branch by branch, resumed
//! after a crash without repeating what completed, refused when the code changed, and
//! recovered by the old version registered beside the new.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tale::journal::{
    AsyncRecoverer, AsyncStore, DurableError, Interrupted, JournalError, MemoryStore, Origin,
    Record, SagaId, Status, Store, idempotency_key,
};
use tale::{TimedOut, saga, step};
use tests::Crashing;

/// The steps' error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Error {
    /// A service said no.
    Refused,
    /// A call took too long.
    TimedOut,
    /// The run was interrupted (see [`Interrupted`]).
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

/// The outside world: every call with its key, shared by the tasks.
#[derive(Clone, Default)]
pub struct World {
    calls: Arc<Mutex<Vec<String>>>,
    no_hotel: bool,
}

impl World {
    async fn call(&self, what: &str) {
        let key = idempotency_key().expect("a durable step has a key");
        for _ in 0..5 {
            tokio::task::yield_now().await;
            assert_eq!(idempotency_key(), Some(key));
        }
        self.calls.lock().unwrap().push(format!("{what} [{key}]"));
    }
    fn calls(&self) -> Vec<String> {
        let mut calls = self.calls.lock().unwrap().clone();
        calls.sort();
        calls
    }
}

#[step(compensate = refund)]
async fn charge(world: &World, amount: &u32) -> Result<u32, Error> {
    world.call(&format!("charge {amount}")).await;
    Ok(*amount)
}

async fn refund(world: &World, _amount: &u32, charged: &u32) -> Result<(), Error> {
    world.call(&format!("refund {charged}")).await;
    Ok(())
}

#[step(compensate = cancel)]
async fn book(world: &World, what: &'static str) -> Result<String, Error> {
    world.call(&format!("book {what}")).await;
    if what == "hotel" && world.no_hotel {
        return Err(Error::Refused);
    }
    Ok(format!("{what} booked"))
}

async fn cancel(world: &World, what: &'static str, _booking: &String) -> Result<(), Error> {
    world.call(&format!("cancel {what}")).await;
    Ok(())
}

/// A plain sync step mixed in.
#[step]
fn confirm(flight: &str, hotel: &str) -> Result<String, Error> {
    Ok(format!("{flight}, {hotel}"))
}

saga! {
    #![saga(durable, name = "trip")]
    /// A trip: the payment, then the flight and the hotel at once, then the confirmation.
    pub async fn trip(amount: &u32, world: &World) -> Result<String, DurableError<Error>> {
        let _ = charge(world, amount);
        let (flight, hotel) = join!(book(world, "flight"), book(world, "hotel"));
        let confirmed = confirm(&flight, &hotel);
        confirmed
    }
}

saga! {
    #![saga(durable, name = "trip")]
    /// The next version of the trip: a cruise replaces the flight.
    pub async fn trip_v2(amount: &u32, world: &World) -> Result<String, DurableError<Error>> {
        let _ = charge(world, amount);
        let (flight, hotel) = join!(book(world, "cruise").named("cruise"), book(world, "hotel"));
        let confirmed = confirm(&flight, &hotel);
        confirmed
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_durable_async_saga_is_spawned_and_journaled_branch_by_branch() {
    let store: Arc<MemoryStore> = Arc::new(MemoryStore::new());
    let world = World::default();
    let task = {
        let (store, world) = (Arc::clone(&store), world.clone());
        tokio::spawn(async move { trip(&*store, Origin::New, &300, &world).await })
    };
    assert_eq!(task.await.unwrap().unwrap(), "flight booked, hotel booked");
    assert_eq!(
        world.calls(),
        [
            "book flight [saga-1/step-1/execute]",
            "book hotel [saga-1/step-2/execute]",
            "charge 300 [saga-1/step-0/execute]",
        ]
    );
    let row = Store::saga(&*store, SagaId(1)).unwrap();
    assert_eq!(row.status, Status::Completed);
    assert!(row.fingerprint.is_some());
    let records = Store::records(&*store, SagaId(1)).unwrap();
    let ends = records
        .iter()
        .filter(|r| matches!(r, Record::StepSucceeded { .. }))
        .count();
    assert_eq!(ends, 4, "every step and branch journaled: {records:?}");
}

/// The journal stops in the middle of the group; recovery (concurrent, registered as
/// is) answers what completed and runs the rest.
#[tokio::test]
async fn a_crash_in_the_group_is_recovered_without_repeating_the_payment() {
    let memory = MemoryStore::new();
    let world = World::default();
    // The payment's start and end, both branches' starts, then nothing.
    let crashing = Crashing::new(&memory, 4);
    let error = trip(&crashing, Origin::New, &300, &world)
        .await
        .unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    let mut recoverer = AsyncRecoverer::new(&memory);
    recoverer.register("trip", trip);
    let recovered = recoverer.recover(&world).await;
    assert_eq!(recovered.len(), 1);
    assert!(
        matches!(recovered[0].result, Ok(Status::Completed)),
        "{recovered:?}"
    );
    let charges = world
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("charge"))
        .count();
    assert_eq!(charges, 1, "the payment was answered from the journal");
}

/// A branch fails: the other branch and the payment are undone, and the journal says
/// the saga was compensated.
#[tokio::test]
async fn a_failed_branch_is_compensated_and_journaled() {
    let store = MemoryStore::new();
    let world = World {
        no_hotel: true,
        ..World::default()
    };
    let error = trip(&store, Origin::New, &300, &world).await.unwrap_err();
    let DurableError::Saga(error) = error else {
        panic!("{error:?}")
    };
    assert!(error.is_compensated(), "{error:?}");
    let calls = world.calls();
    assert!(
        calls.contains(&"cancel flight [saga-1/step-1/compensate]".to_owned()),
        "{calls:?}"
    );
    assert!(
        calls.contains(&"refund 300 [saga-1/step-0/compensate]".to_owned()),
        "{calls:?}"
    );
    assert_eq!(
        Store::saga(&store, SagaId(1)).unwrap().status,
        Status::Compensated
    );
}

/// A saga begun by one version is refused by the next, and recovered by the old one
/// registered beside it until its instances drain.
#[tokio::test]
async fn a_saga_of_the_old_version_is_recovered_by_the_old_version() {
    let memory = MemoryStore::new();
    let world = World::default();
    let crashing = Crashing::new(&memory, 2);
    trip(&crashing, Origin::New, &300, &world)
        .await
        .unwrap_err();
    let refused = trip_v2(&memory, Origin::Resume(SagaId(1)), &300, &world)
        .await
        .unwrap_err();
    let DurableError::Journal(JournalError::Mismatch { reason, .. }) = refused else {
        panic!("{refused:?}")
    };
    assert!(reason.contains("another version of `trip`"), "{reason}");

    let mut recoverer = AsyncRecoverer::new(&memory);
    recoverer.register("trip", trip_v2).register("trip", trip);
    let recovered = recoverer.recover(&world).await;
    assert!(
        matches!(recovered[0].result, Ok(Status::Completed)),
        "{recovered:?}"
    );
    // And a new saga runs on the new version.
    assert_eq!(
        trip_v2(&memory, Origin::New, &5, &world).await.unwrap(),
        "cruise booked, hotel booked"
    );
}

/// A deadline on a durable async saga stops the step in flight and compensates.
#[tokio::test(start_paused = true)]
async fn a_durable_async_saga_has_its_limits() {
    #[step(compensate = unreserve)]
    async fn slow(world: &World) -> Result<u32, Error> {
        tokio::time::sleep(Duration::from_secs(60)).await;
        world.call("slow").await;
        Ok(1)
    }
    async fn unreserve(world: &World, _: &u32) -> Result<(), Error> {
        world.call("unreserve").await;
        Ok(())
    }
    saga! {
        #![saga(
            durable,
            executor = tale::Executor::new().with_clock(tale::TokioClock::new()),
            deadline = Duration::from_secs(5)
        )]
        async fn limited(amount: &u32, world: &World) -> Result<u32, DurableError<Error>> {
            let paid = charge(world, amount);
            let late = slow(world);
            paid + late
        }
    }
    let store = MemoryStore::new();
    let world = World::default();
    let error = limited(&store, Origin::New, &7, &world).await.unwrap_err();
    let DurableError::Saga(error) = error else {
        panic!("{error:?}")
    };
    assert_eq!(*error.failure().error(), Error::TimedOut);
    // The charge was refunded; the cut-short step, which has no compensation without
    // its output, is reported as not compensated.
    assert!(!error.is_compensated());
    assert!(
        world
            .calls()
            .contains(&"refund 7 [saga-1/step-0/compensate]".to_owned())
    );
    assert_eq!(
        Store::saga(&store, SagaId(1)).unwrap().status,
        Status::Stuck
    );
    let _: &dyn AsyncStore = &store;
}
