//! `saga!`'s durable item form: the function journals its run, resumes a halted run
//! from the journal without repeating completed steps, and registers as-is with the
//! `Recoverer`. A crash is simulated by a store that stops accepting writes, which
//! halts the run where a crash would (as in `journal_durable.rs`).

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use tale::journal::{
    DurableError, Interrupted, JournalError, MemoryStore, Origin, Recoverer, SagaId, Status, Store,
    idempotency_key,
};
use tale::observe::observe_fn;
use tale::{Event, Executor, saga, step};
use tests::Crashing;

/// The steps' error: serializable, and able to hold an [`Interrupted`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Error {
    /// A service said no.
    Refused(String),
    /// The run was interrupted (see [`Interrupted`]).
    Interrupted(Interrupted),
}

impl From<Interrupted> for Error {
    fn from(i: Interrupted) -> Self {
        Error::Interrupted(i)
    }
}

/// The saga's inputs: recorded in the journal.
#[derive(Debug, Serialize, Deserialize)]
pub struct Order {
    traveller: String,
    amount: u32,
}

fn ada() -> Order {
    Order {
        traveller: "ada".to_owned(),
        amount: 300,
    }
}

/// The environment: the outside world, which records each call with its key; never
/// stored.
#[derive(Default)]
pub struct World {
    calls: RefCell<Vec<String>>,
    no_hotel: bool,
}

impl World {
    fn call(&self, what: &str) {
        let key = idempotency_key().map_or_else(|| "no key".to_owned(), |k| k.to_string());
        self.calls.borrow_mut().push(format!("{what} [{key}]"));
    }
    fn calls(&self) -> Vec<String> {
        self.calls.borrow().clone()
    }
}

#[step(compensate = refund)]
fn debit(world: &World, order: &Order) -> Result<u32, Error> {
    world.call(&format!("debit {}", order.amount));
    Ok(order.amount)
}

fn refund(world: &World, _order: &Order, payment: &u32) -> Result<(), Error> {
    world.call(&format!("refund {payment}"));
    Ok(())
}

#[step(compensate = cancel_flight)]
fn book_flight(world: &World, order: &Order, payment: &u32) -> Result<String, Error> {
    world.call("book flight");
    Ok(format!("{}/F{payment}", order.traveller))
}

fn cancel_flight(
    world: &World,
    _order: &Order,
    _payment: &u32,
    seat: &String,
) -> Result<(), Error> {
    world.call(&format!("cancel {seat}"));
    Ok(())
}

#[step]
fn book_hotel(world: &World) -> Result<String, Error> {
    world.call("book hotel");
    if world.no_hotel {
        Err(Error::Refused("no room".into()))
    } else {
        Ok("H1".to_owned())
    }
}

/// The saga's result.
#[derive(Debug, PartialEq)]
pub struct Trip {
    payment: u32,
    seat: String,
    hotel: String,
}

saga! {
    #![saga(durable)]
    /// Books a trip; recovered after a crash.
    pub fn book_trip(order: &Order, world: &World) -> Result<Trip, DurableError<Error>> {
        let payment = debit(world, order);
        let seat = book_flight(world, order, &payment);
        let hotel = book_hotel(world);
        Trip { payment, seat, hotel }
    }
}

/// The kinds of the saga's records, in order.
fn kinds(store: &MemoryStore, id: SagaId) -> Vec<String> {
    store
        .records(id)
        .unwrap()
        .iter()
        .map(|r| {
            format!("{r:?}")
                .split([' ', '{'])
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn a_durable_saga_runs_and_journals_each_step_under_the_fn_name() {
    let store = MemoryStore::new();
    let world = World::default();
    let trip = book_trip(&store, Origin::New, &ada(), &world).unwrap();
    assert_eq!(
        trip,
        Trip {
            payment: 300,
            seat: "ada/F300".into(),
            hotel: "H1".into()
        }
    );
    let saga = store.sagas(&[]).unwrap().remove(0);
    assert_eq!(
        (saga.name.as_str(), saga.inputs.as_str(), saga.status),
        (
            "book_trip",
            r#"{"traveller":"ada","amount":300}"#,
            Status::Completed
        )
    );
    assert_eq!(
        kinds(&store, saga.id),
        [
            "StepStarted",
            "StepSucceeded",
            "StepStarted",
            "StepSucceeded",
            "StepStarted",
            "StepSucceeded",
            "Finished"
        ]
    );
    assert_eq!(
        world.calls(),
        [
            "debit 300 [saga-1/step-0/execute]",
            "book flight [saga-1/step-1/execute]",
            "book hotel [saga-1/step-2/execute]"
        ]
    );
}

#[test]
fn a_halted_run_resumes_from_its_journal_without_repeating_completed_steps() {
    let store = MemoryStore::new();
    let world = World::default();
    // Started(debit), Succeeded(debit), Started(flight): the write after the flight
    // was booked fails.
    let error = book_trip(&Crashing::new(&store, 3), Origin::New, &ada(), &world).unwrap_err();
    assert!(matches!(error, DurableError::Journal(_)), "{error:?}");
    let id = store.sagas(&[Status::Running]).unwrap()[0].id;
    let trip = book_trip(&store, Origin::Resume(id), &ada(), &world).unwrap();
    assert_eq!(trip.seat, "ada/F300", "the debit's output, read back");
    assert_eq!(
        world.calls(),
        [
            "debit 300 [saga-1/step-0/execute]",
            "book flight [saga-1/step-1/execute]",
            "book flight [saga-1/step-1/execute]",
            "book hotel [saga-1/step-2/execute]"
        ],
        "the debit ran once; the flight, whose end was not recorded, again under its key"
    );
    assert_eq!(store.saga(id).unwrap().status, Status::Completed);
}

#[test]
fn the_recoverer_completes_a_halted_run_through_the_registered_fn() {
    let store = MemoryStore::new();
    let world = World::default();
    book_trip(&Crashing::new(&store, 2), Origin::New, &ada(), &world).unwrap_err();
    let mut recoverer = Recoverer::new(&store);
    recoverer.register("book_trip", book_trip);
    let recovered = recoverer.recover(&world);
    assert_eq!(recovered.len(), 1);
    assert_eq!(recovered[0].name, "book_trip");
    assert_eq!(*recovered[0].result.as_ref().unwrap(), Status::Completed);
    assert_eq!(
        world.calls(),
        [
            "debit 300 [saga-1/step-0/execute]",
            "book flight [saga-1/step-1/execute]",
            "book hotel [saga-1/step-2/execute]"
        ]
    );
    assert!(recoverer.recover(&world).is_empty(), "nothing left running");
}

#[test]
fn a_failed_step_compensates_the_completed_ones_and_the_journal_says_so() {
    let store = MemoryStore::new();
    let world = World {
        no_hotel: true,
        ..World::default()
    };
    let error = book_trip(&store, Origin::New, &ada(), &world).unwrap_err();
    let DurableError::Saga(error) = error else {
        panic!("{error:?}")
    };
    assert!(error.is_compensated());
    assert_eq!(*error.failure().error(), Error::Refused("no room".into()));
    assert_eq!(
        world.calls(),
        [
            "debit 300 [saga-1/step-0/execute]",
            "book flight [saga-1/step-1/execute]",
            "book hotel [saga-1/step-2/execute]",
            "cancel ada/F300 [saga-1/step-1/compensate]",
            "refund 300 [saga-1/step-0/compensate]"
        ]
    );
    let id = store.sagas(&[]).unwrap()[0].id;
    assert_eq!(store.saga(id).unwrap().status, Status::Compensated);
    // Resuming a finished saga replays it and does nothing again.
    let again = book_trip(&store, Origin::Resume(id), &ada(), &world).unwrap_err();
    assert!(matches!(again, DurableError::Saga(e) if e.is_compensated()));
    assert_eq!(world.calls().len(), 5);
}

#[test]
fn a_journal_that_cannot_start_the_saga_is_the_fns_error() {
    let store = MemoryStore::new();
    let error = book_trip(&store, Origin::Resume(SagaId(7)), &ada(), &World::default());
    assert!(
        matches!(
            error,
            Err(DurableError::Journal(JournalError::UnknownSaga(SagaId(7))))
        ),
        "{error:?}"
    );
}

saga! {
    #![saga(durable, name = "pair", executor = Executor::new().with_observer(observe_fn(
        |event: &Event<'_, Error>| if let Event::SagaStarted { saga } = event {
            origin.calls.borrow_mut().push(format!("start {saga}"));
        }
    )))]
    /// Inputs given by value and destructured, the environment named like the
    /// arguments the macro adds: neither sees the other.
    fn pair((a, b): (u32, u32), origin: &World) -> Result<u32, DurableError<Error>> {
        let store = step(|| Ok::<_, Error>(a + b));
        store
    }
}

#[test]
fn options_and_inputs_by_value_and_destructured() {
    let store = MemoryStore::new();
    let world = World::default();
    assert_eq!(pair(&store, Origin::New, (2, 3), &world).unwrap(), 5);
    let saga = store.sagas(&[]).unwrap().remove(0);
    assert_eq!(
        (saga.name.as_str(), saga.inputs.as_str()),
        ("pair", "[2,3]")
    );
    assert_eq!(world.calls(), ["start pair"]);
    // Inputs by value register through a closure that lends them.
    let mut recoverer = Recoverer::new(&store);
    recoverer.register(
        "pair",
        |store: &dyn Store, origin, inputs: &(u32, u32), env| pair(store, origin, *inputs, env),
    );
    assert!(recoverer.recover(&world).is_empty());
}

/// The durable expansion is fully qualified and lint-clean: it compiles without the
/// prelude and under the lints the workspace denies in `lints.rs`.
#[no_implicit_prelude]
#[deny(warnings, unused_qualifications, unused_results, missing_docs)]
#[deny(clippy::all, clippy::pedantic)]
// About the step below, whose signature is a plain example on purpose:
#[allow(clippy::unnecessary_wraps, clippy::trivially_copy_pass_by_ref)]
mod no_prelude {
    use ::std::result::Result;
    use ::tale::journal::DurableError;
    use ::tale::{saga, step};

    use super::{Error, World};

    #[step]
    fn count(world: &World, n: &u32) -> Result<u32, Error> {
        world.call("count");
        Result::Ok(*n)
    }

    saga! {
        #![saga(durable)]
        /// One step, without the prelude.
        pub fn counted(n: &u32, world: &World) -> Result<u32, DurableError<Error>> {
            let counted = count(world, n);
            counted
        }
    }
}

#[test]
fn the_durable_form_needs_no_prelude() {
    let store = MemoryStore::new();
    assert_eq!(
        no_prelude::counted(&store, Origin::New, &4, &World::default()).unwrap(),
        4
    );
}

/// Code that changed while a saga was in flight is refused, for each kind of change,
/// before anything runs: the journal's saga began as `debit; book_flight`, crashed after
/// the debit.
#[test]
fn each_kind_of_code_change_is_refused() {
    #[step]
    fn debit_as_text(world: &World, order: &Order) -> Result<String, Error> {
        world.call("debit as text");
        Ok(order.amount.to_string())
    }
    saga! {
        #![saga(durable, name = "change")]
        fn original(order: &Order, world: &World) -> Result<String, DurableError<Error>> {
            let payment = debit(world, order);
            let seat = book_flight(world, order, &payment);
            seat
        }
    }
    saga! {
        #![saga(durable, name = "change")]
        fn renamed(order: &Order, world: &World) -> Result<String, DurableError<Error>> {
            let payment = debit(world, order).named("pay");
            let seat = book_flight(world, order, &payment);
            seat
        }
    }
    saga! {
        #![saga(durable, name = "change")]
        fn inserted(order: &Order, world: &World) -> Result<String, DurableError<Error>> {
            let hotel = book_hotel(world);
            let payment = debit(world, order);
            let seat = book_flight(world, order, &payment);
            hotel + &seat
        }
    }
    saga! {
        #![saga(durable, name = "change")]
        fn removed(order: &Order, world: &World) -> Result<String, DurableError<Error>> {
            let seat = book_flight(world, order, &order.amount);
            seat
        }
    }
    saga! {
        #![saga(durable, name = "change")]
        fn reordered(order: &Order, world: &World) -> Result<String, DurableError<Error>> {
            let seat = book_flight(world, order, &order.amount);
            let payment = debit(world, order);
            seat + &payment.to_string()
        }
    }
    saga! {
        #![saga(durable, name = "change")]
        /// The same shape, but the first step's output is now text: caught at replay.
        fn retyped(order: &Order, world: &World) -> Result<String, DurableError<Error>> {
            let payment = debit_as_text(world, order).named("debit");
            let seat = book_flight(world, order, &order.amount);
            payment + &seat
        }
    }
    let memory = MemoryStore::new();
    let world = World::default();
    let crashing = Crashing::new(&memory, 2);
    original(&crashing, Origin::New, &ada(), &world).unwrap_err();
    assert_eq!(world.calls(), ["debit 300 [saga-1/step-0/execute]"]);
    type Version = fn(&dyn Store, Origin, &Order, &World) -> Result<String, DurableError<Error>>;
    let versions: [(&str, Version, &str); 5] = [
        ("renamed", renamed, "another version of `change`"),
        ("inserted", inserted, "another version of `change`"),
        ("removed", removed, "another version of `change`"),
        ("reordered", reordered, "another version of `change`"),
        (
            "retyped",
            retyped,
            "does not deserialize into the code's output type",
        ),
    ];
    for (change, version, expected) in versions {
        let error = version(&memory, Origin::Resume(SagaId(1)), &ada(), &world).unwrap_err();
        let DurableError::Journal(error) = error else {
            panic!("{change}: {error:?}")
        };
        assert!(
            matches!(
                error,
                JournalError::Mismatch { .. } | JournalError::Payload { .. }
            ),
            "{change}: {error:?}"
        );
        assert!(error.to_string().contains(expected), "{change}: {error}");
    }
    assert_eq!(world.calls().len(), 1, "no version ran anything");
    // The original still resumes it.
    assert_eq!(
        original(&memory, Origin::Resume(SagaId(1)), &ada(), &world).unwrap(),
        "ada/F300"
    );
}
