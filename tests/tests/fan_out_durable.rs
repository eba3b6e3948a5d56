//! Durable fan-outs: the fan-out journals its count of items, then each item's start and
//! end under its own position and idempotency key; a run halted in the middle of the
//! fan-out resumes without repeating the items done, and a replay that finds another
//! count is refused.

use std::cell::RefCell;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tale::journal::{
    DurableError, Interrupted, JournalError, MemoryStore, Origin, SagaId, Status, Store,
    idempotency_key,
};
use tale::{saga, step};
use tests::Crashing;

/// The steps' error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Error {
    /// No seat for this passenger.
    Refused(String),
    /// The run was interrupted.
    Interrupted(Interrupted),
}

impl From<Interrupted> for Error {
    fn from(i: Interrupted) -> Self {
        Error::Interrupted(i)
    }
}

/// The saga's inputs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    passengers: Vec<String>,
    /// The passenger the seat service refuses.
    refused: Option<String>,
}

fn group(names: &[&str]) -> Group {
    Group {
        passengers: names.iter().map(|&n| n.to_owned()).collect(),
        refused: None,
    }
}

/// The outside world: each call with its idempotency key.
#[derive(Default)]
pub struct World {
    calls: RefCell<Vec<String>>,
}

impl World {
    fn call(&self, what: String) {
        let key = idempotency_key().map_or_else(|| "no key".to_owned(), |k| k.to_string());
        self.calls.borrow_mut().push(format!("{what} [{key}]"));
    }
    fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

#[step(compensate = refund)]
fn charge(world: &World, group: &Group) -> Result<u32, Error> {
    world.call("charge".into());
    Ok(u32::try_from(group.passengers.len()).unwrap() * 100)
}

fn refund(world: &World, _: &Group, amount: &u32) -> Result<(), Error> {
    world.call(format!("refund {amount}"));
    Ok(())
}

#[step(compensate = release)]
fn book_seat(world: &World, group: &Group, name: &str) -> Result<String, Error> {
    world.call(format!("book {name}"));
    if group.refused.as_deref() == Some(name) {
        return Err(Error::Refused(name.to_owned()));
    }
    Ok(format!("seat-{name}"))
}

fn release(world: &World, _: &Group, _: &str, seat: &String) -> Result<(), Error> {
    world.call(format!("release {seat}"));
    Ok(())
}

saga! {
    #![saga(durable)]
    /// A seat per passenger, after one charge.
    pub fn book_group(group: &Group, world: &World) -> Result<Vec<String>, DurableError<Error>> {
        let _amount = charge(world, group);
        let seats = for name in &group.passengers { book_seat(world, group, name) };
        seats
    }
}

/// Each record as `Kind index`.
fn records(store: &MemoryStore, id: SagaId) -> Vec<String> {
    store
        .records(id)
        .unwrap()
        .iter()
        .map(|r| {
            let kind = format!("{r:?}");
            let kind = kind.split([' ', '{']).next().unwrap().to_owned();
            match r.index() {
                Some(index) => format!("{kind} {index}"),
                None => kind,
            }
        })
        .collect()
}

#[test]
fn the_count_and_each_item_are_journaled_under_their_positions_and_keys() {
    let store = MemoryStore::new();
    let world = World::default();
    let seats = book_group(&store, Origin::New, &group(&["ada", "bob"]), &world).unwrap();
    assert_eq!(seats, ["seat-ada", "seat-bob"]);
    let id = store.sagas(&[]).unwrap()[0].id;
    assert_eq!(
        records(&store, id),
        [
            "StepStarted 0",
            "StepSucceeded 0",
            "StepStarted 1",
            "StepSucceeded 1",
            "StepStarted 2",
            "StepSucceeded 2",
            "StepStarted 3",
            "StepSucceeded 3",
            "Finished"
        ]
    );
    let count = store.records(id).unwrap().into_iter().nth(3).unwrap();
    assert!(
        matches!(&count, tale::journal::Record::StepSucceeded { index: 1, output, .. } if output == "2"),
        "{count:?}"
    );
    assert_eq!(
        world.calls(),
        [
            "charge [saga-1/step-0/execute]",
            "book ada [saga-1/step-2/execute]",
            "book bob [saga-1/step-3/execute]"
        ]
    );
}

#[test]
fn a_run_halted_in_the_middle_of_the_fan_out_resumes_without_repeating_done_items() {
    let store = MemoryStore::new();
    let world = World::default();
    let inputs = group(&["ada", "bob", "cy"]);
    // charge (2), count (2), ada (2), bob started: the write of bob's end fails.
    let error = book_group(&Crashing::new(&store, 7), Origin::New, &inputs, &world).unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    let id = store.sagas(&[Status::Running]).unwrap()[0].id;
    let seats = book_group(&store, Origin::Resume(id), &inputs, &world).unwrap();
    assert_eq!(seats, ["seat-ada", "seat-bob", "seat-cy"]);
    assert_eq!(
        world.calls(),
        [
            "charge [saga-1/step-0/execute]",
            "book ada [saga-1/step-2/execute]",
            "book bob [saga-1/step-3/execute]",
            "book bob [saga-1/step-3/execute]",
            "book cy [saga-1/step-4/execute]"
        ],
        "ada ran once; bob, whose end was not journaled, again under the same key"
    );
    assert_eq!(store.saga(id).unwrap().status, Status::Completed);
}

#[test]
fn a_failed_item_undoes_the_items_before_it_and_the_journal_says_so() {
    let store = MemoryStore::new();
    let world = World::default();
    let mut inputs = group(&["ada", "bob", "cy"]);
    inputs.refused = Some("bob".into());
    let error = book_group(&store, Origin::New, &inputs, &world).unwrap_err();
    let DurableError::Saga(error) = error else {
        panic!("{error:?}")
    };
    assert_eq!(error.failure().step().item, Some(1));
    assert!(error.is_compensated());
    let id = store.sagas(&[]).unwrap()[0].id;
    assert_eq!(store.saga(id).unwrap().status, Status::Compensated);
    assert_eq!(
        world.calls(),
        [
            "charge [saga-1/step-0/execute]",
            "book ada [saga-1/step-2/execute]",
            "book bob [saga-1/step-3/execute]",
            "release seat-ada [saga-1/step-2/compensate]",
            "refund 300 [saga-1/step-0/compensate]"
        ]
    );
}

#[test]
fn a_replay_with_another_count_of_items_is_refused_not_answered_from_other_items() {
    let store = MemoryStore::new();
    let world = World::default();
    // Halted after the count (2 items) was journaled.
    book_group(
        &Crashing::new(&store, 4),
        Origin::New,
        &group(&["ada", "bob"]),
        &world,
    )
    .unwrap_err();
    let id = store.sagas(&[Status::Running]).unwrap()[0].id;
    // The same saga resumed with three items (inputs changed by hand, say).
    let error = book_group(
        &store,
        Origin::Resume(id),
        &group(&["ada", "bob", "cy"]),
        &world,
    )
    .unwrap_err();
    let DurableError::Journal(JournalError::Mismatch { reason, .. }) = &error else {
        panic!("{error:?}")
    };
    assert!(
        reason.contains("has 2 items in the journal but 3"),
        "{reason}"
    );
    assert!(
        !world.calls().iter().any(|c| c.starts_with("book")),
        "no item ran"
    );
}

#[step(compensate = release_async)]
async fn hold_seat(calls: &Mutex<Vec<String>>, name: &str) -> Result<String, Error> {
    calls.lock().unwrap().push(format!("hold {name}"));
    tokio::task::yield_now().await;
    Ok(format!("held-{name}"))
}

async fn release_async(calls: &Mutex<Vec<String>>, _: &str, seat: &String) -> Result<(), Error> {
    calls.lock().unwrap().push(format!("release {seat}"));
    Ok(())
}

saga! {
    #![saga(durable)]
    /// A seat per passenger, all at once.
    pub async fn hold_group(group: &Group, calls: &Mutex<Vec<String>>) -> Result<Vec<String>, DurableError<Error>> {
        let seats = join!(for name in &group.passengers { hold_seat(calls, name) });
        seats
    }
}

#[tokio::test]
async fn a_durable_concurrent_fan_out_resumes_with_its_items_answered_from_the_journal() {
    let store = MemoryStore::new();
    let calls = Mutex::new(Vec::new());
    let inputs = group(&["ada", "bob", "cy"]);
    // The count (2 records), then the items' starts and ends, until the 7th write fails.
    let crashing = Crashing::new(&store, 6);
    let error = hold_group(&crashing, Origin::New, &inputs, &calls)
        .await
        .unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    let id = store.sagas(&[Status::Running]).unwrap()[0].id;
    let done_before = store
        .records(id)
        .unwrap()
        .iter()
        .filter(|r| matches!(r, tale::journal::Record::StepSucceeded { index: 1.., .. }))
        .count();
    assert!(done_before >= 1, "some item was journaled as done");
    calls.lock().unwrap().clear();
    let seats = hold_group(&store, Origin::Resume(id), &inputs, &calls)
        .await
        .unwrap();
    assert_eq!(seats, ["held-ada", "held-bob", "held-cy"]);
    assert_eq!(
        calls.lock().unwrap().len(),
        3 - done_before,
        "only the items not journaled as done ran again"
    );
}

/// Holds seat `seat` after `seat` × 10 ms; seat 1 is refused.
#[step(compensate = release_seat)]
async fn hold(calls: &Mutex<Vec<String>>, seat: u64) -> Result<u64, Error> {
    tokio::time::sleep(std::time::Duration::from_millis(seat * 10)).await;
    if seat == 1 {
        return Err(Error::Refused("seat 1".into()));
    }
    calls.lock().unwrap().push(format!("hold {seat}"));
    Ok(seat)
}

async fn release_seat(calls: &Mutex<Vec<String>>, _: u64, seat: &u64) -> Result<(), Error> {
    calls.lock().unwrap().push(format!("release {seat}"));
    Ok(())
}

saga! {
    #![saga(durable)]
    /// `seats` seats at once.
    pub async fn hold_all(seats: &u64, calls: &Mutex<Vec<String>>) -> Result<Vec<u64>, DurableError<Error>> {
        let held = join!(for seat in 0..*seats { hold(calls, seat) });
        held
    }
}

// Found by the async crash suite: a replayed failure stopped the items after it from
// starting, so an item an earlier run had started (and held) was never undone.
#[tokio::test]
async fn a_resumed_concurrent_fan_out_settles_every_item_an_earlier_run_started() {
    let store = MemoryStore::new();
    let calls = Mutex::new(Vec::new());
    // The count (2 records), three starts, seat 0 held, seat 1 refused (7 records); then
    // the write of seat 2's end fails: the process is gone, seat 2 is held.
    let error = hold_all(&Crashing::new(&store, 7), Origin::New, &3, &calls)
        .await
        .unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    let id = store.sagas(&[Status::Running]).unwrap()[0].id;
    let error = hold_all(&store, Origin::Resume(id), &3, &calls)
        .await
        .unwrap_err();
    let DurableError::Saga(error) = error else {
        panic!("{error:?}")
    };
    assert_eq!(error.failure().step().item, Some(1));
    assert_eq!(store.saga(id).unwrap().status, Status::Compensated);
    let calls = calls.into_inner().unwrap();
    assert_eq!(
        calls,
        ["hold 0", "hold 2", "hold 2", "release 2", "release 0"],
        "seat 2, started in the first run, ran again under its key and was released"
    );
}
