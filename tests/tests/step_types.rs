//! `#[step(type = Name)]`: a step function returns a struct the user can name, which
//! goes in struct fields, `Vec`s and trait impls, and runs wherever the opaque step
//! value runs: `saga!` (sync, async and durable, with its modifiers and `join!`),
//! `Executor::run_step`, `compose::Link::step`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use tale::{
    AsyncStep, Describe, Executor, ManualClock, Retry, SagaError, Step, StepKind, TokioClock, saga,
    step,
};
use tests::Log;

/// The steps' error.
#[derive(Debug, Clone, PartialEq)]
pub struct Fail(&'static str);

/// A flight with some seats left.
pub struct Flight {
    seats: Cell<u32>,
}

impl Flight {
    fn new(seats: u32) -> Self {
        Flight {
            seats: Cell::new(seats),
        }
    }
}

/// Someone to seat.
pub struct Passenger {
    name: &'static str,
}

/// A seat on a flight.
#[derive(Debug, PartialEq)]
pub struct Seat {
    row: u32,
    who: &'static str,
}

/// Books a seat: two reference arguments, one lifetime in `BookSeat<'a>`.
#[step(type = BookSeat, compensate = cancel_seat)]
pub fn book_seat(flight: &Flight, passenger: &Passenger) -> Result<Seat, Fail> {
    let left = flight.seats.get();
    if left == 0 {
        return Err(Fail("full"));
    }
    flight.seats.set(left - 1);
    Ok(Seat {
        row: left,
        who: passenger.name,
    })
}

/// Gives the seat back.
pub fn cancel_seat(flight: &Flight, _passenger: &Passenger, seat: &Seat) -> Result<(), Fail> {
    assert_eq!(seat.row, flight.seats.get() + 1, "the seat booked last");
    flight.seats.set(flight.seats.get() + 1);
    Ok(())
}

/// A trip: a step value in a struct field, run later.
pub struct Trip<'a> {
    seat: BookSeat<'a>,
    label: &'static str,
}

/// The steps of seating everyone, one per passenger.
fn seat_everyone<'a>(flight: &'a Flight, passengers: &'a [Passenger]) -> Vec<BookSeat<'a>> {
    passengers.iter().map(|p| book_seat(flight, p)).collect()
}

/// A trait the user implements for the generated type.
trait Summary {
    fn summary(&self) -> String;
}

impl Summary for BookSeat<'_> {
    fn summary(&self) -> String {
        format!("{} ({})", self.name(), self.kind().as_str())
    }
}

#[test]
fn a_named_step_is_a_field_type_and_runs_on_an_executor() {
    let flight = Flight::new(3);
    let ada = Passenger { name: "ada" };
    let trip = Trip {
        seat: book_seat(&flight, &ada),
        label: "ada's trip",
    };
    assert_eq!(trip.label, "ada's trip");
    assert_eq!(trip.seat.summary(), "book_seat (compensatable)");
    let seat = Executor::new().run_step(trip.seat).unwrap();
    assert_eq!(seat, Seat { row: 3, who: "ada" });
    assert_eq!(flight.seats.get(), 2);
}

#[test]
fn named_steps_in_a_vec_run_one_by_one() {
    let flight = Flight::new(2);
    let passengers = [
        Passenger { name: "ada" },
        Passenger { name: "bob" },
        Passenger { name: "cy" },
    ];
    let mut executor = Executor::new();
    let results: Vec<Result<Seat, SagaError<Fail>>> = seat_everyone(&flight, &passengers)
        .into_iter()
        .map(|step| executor.run_step(step))
        .collect();
    assert_eq!(results[0].as_ref().unwrap(), &Seat { row: 2, who: "ada" });
    assert_eq!(results[1].as_ref().unwrap(), &Seat { row: 1, who: "bob" });
    let error = results[2].as_ref().unwrap_err();
    assert_eq!(error.failure().error(), &Fail("full"));
    assert_eq!(flight.seats.get(), 0);
}

#[test]
fn a_named_step_costs_its_arguments_and_nothing_more() {
    assert_eq!(
        size_of::<BookSeat<'static>>(),
        size_of::<(&Flight, &Passenger)>()
    );
    assert_eq!(size_of::<Charge>(), size_of::<u32>());
    assert_eq!(size_of::<Notify>(), 0);
}

#[test]
fn a_fan_out_runs_a_named_step_per_item() {
    let flight = Flight::new(2);
    let passengers = [Passenger { name: "ada" }, Passenger { name: "bob" }];
    let result = saga! {
        let seats = for passenger in &passengers { book_seat(&flight, passenger) };
        seats.len()
    };
    assert_eq!(result.unwrap(), 2);
    assert_eq!(flight.seats.get(), 0);
}

/// Charges; fails for nothing to charge.
#[step(type = Charge, pivot, name = "charge card")]
fn charge(amount: u32) -> Result<u32, Fail> {
    if amount == 0 {
        Err(Fail("nothing to charge"))
    } else {
        Ok(amount * 10)
    }
}

/// Sent after the pivot.
#[step(type = Notify, retriable)]
fn notify() -> Result<(), Fail> {
    Ok(())
}

/// Fails until the third attempt.
#[step(type = Flaky, retry = Retry::times(1).constant(Duration::from_millis(5)))]
fn flaky(calls: &Cell<u32>, succeed_at: u32) -> Result<u32, Fail> {
    calls.set(calls.get() + 1);
    if calls.get() < succeed_at {
        Err(Fail("busy"))
    } else {
        Ok(calls.get())
    }
}

#[test]
fn named_steps_describe_their_options() {
    let charge = charge(1);
    assert_eq!(charge.name(), "charge card");
    assert_eq!(charge.kind(), StepKind::Pivot);
    assert!(!charge.has_compensation());
    let mut notify = notify();
    assert_eq!(notify.kind(), StepKind::Retriable);
    assert_eq!(Step::execute(&mut notify), Ok(()));
    let flight = Flight::new(1);
    let p = Passenger { name: "ada" };
    let seat = book_seat(&flight, &p);
    assert!(seat.has_compensation() && !seat.is_uncertain());
    assert!(seat.retry_policy().is_none());
    let calls = Cell::new(0);
    assert!(flaky(&calls, 1).retry_policy().is_some());
}

#[test]
fn named_steps_run_in_a_sync_saga_with_modifiers() {
    let flight = Flight::new(5);
    let ada = Passenger { name: "ada" };
    let clock = ManualClock::new();
    let calls = Cell::new(0);
    let result = saga! {
        #![saga(executor = Executor::new().with_clock(clock.clone()))]
        let seat = book_seat(&flight, &ada).named("seat for ada");
        let tries = flaky(&calls, 3).retry(Retry::times(2).constant(Duration::from_millis(1)));
        let paid = charge(seat.row);
        notify();
        (seat.row, tries, paid)
    };
    assert_eq!(result.unwrap(), (5, 3, 50));
    assert_eq!(clock.sleeps(), [Duration::from_millis(1); 2]);
    assert_eq!(flight.seats.get(), 4);
}

#[test]
fn a_failed_saga_compensates_named_steps_with_their_outputs() {
    let flight = Flight::new(2);
    let (ada, bob) = (Passenger { name: "ada" }, Passenger { name: "bob" });
    let result = saga! {
        let first = book_seat(&flight, &ada);
        let second = book_seat(&flight, &bob);
        charge(0);
        (first, second)
    };
    let error = result.unwrap_err();
    assert_eq!(error.failure().error(), &Fail("nothing to charge"));
    assert!(error.is_compensated());
    // `cancel_seat` asserts that it gets the seat booked last each time.
    assert_eq!(flight.seats.get(), 2);
}

/// Takes an item out of a slice: a generic step whose output borrows its input.
#[step(type = Pick)]
fn pick<T: PartialEq>(items: &[T], wanted: &T) -> Result<usize, Fail> {
    items
        .iter()
        .position(|item| item == wanted)
        .ok_or(Fail("missing"))
}

/// The first `N` bytes of a name: explicit lifetimes, kept apart, and a const
/// parameter.
#[step(type = Prefix)]
fn prefix<'n, const N: usize>(name: &'n str, _log: &Log) -> Result<&'n str, Fail> {
    name.get(..N).ok_or(Fail("too short"))
}

/// A type parameter that no argument uses.
#[step(type = Make)]
fn make<T: Default>() -> Result<T, Fail> {
    Ok(T::default())
}

/// A reference to something that holds a reference: the two elided lifetimes stay
/// apart (`Push<'a, 'b>`), as the inner one is invariant.
#[step(type = Push)]
fn push(names: &mut Vec<&str>, name: &str) -> Result<usize, Fail> {
    names.push("cy");
    Ok(names.len() + name.len())
}

/// A struct holding a generic named step.
struct Lookup<'a> {
    step: Pick<'a, &'static str>,
}

#[test]
fn generic_and_lifetime_carrying_named_steps() {
    let names = ["ada", "bob"];
    let lookup = Lookup {
        step: pick(&names, &"bob"),
    };
    assert_eq!(Executor::new().run_step(lookup.step).unwrap(), 1);
    let log = Log::new();
    let full = String::from("tallinn");
    let step: Prefix<'_, '_, 3> = prefix::<3>(&full, &log);
    let short: &str = Executor::new().run_step(step).unwrap();
    assert_eq!(short, "tal");
    let mut names: Vec<&'static str> = vec!["ada"];
    let bob = String::from("bob");
    let step: Push<'_, 'static> = push(&mut names, &bob);
    assert_eq!(Executor::new().run_step(step).unwrap(), 5);
    assert_eq!(names, ["ada", "cy"]);
    let made: Make<String> = make();
    assert_eq!(Executor::new().run_step(made).unwrap(), "");
    let result = saga! {
        let at = pick(&names, &"ada");
        let head = prefix::<2>(&full, &log);
        let zero = make::<u32>();
        (at, head.len(), zero)
    };
    assert_eq!(result.unwrap(), (0, 2, 0));
}

/// Takes from a stock it borrows mutably; `put_back` undoes it.
#[step(type = Take, compensate = put_back)]
fn take(stock: &mut u32, n: u32) -> Result<u32, Fail> {
    *stock = stock.checked_sub(n).ok_or(Fail("out of stock"))?;
    Ok(n)
}

fn put_back(stock: &mut u32, _n: u32, taken: &u32) -> Result<(), Fail> {
    *stock += taken;
    Ok(())
}

#[test]
fn a_named_step_may_borrow_mutably() {
    let mut stock = 5;
    let step: Take<'_> = take(&mut stock, 2);
    assert_eq!(Executor::new().run_step(step).unwrap(), 2);
    assert_eq!(stock, 3);
    let (mut first, mut second) = (3, 0);
    let result = saga! {
        let a = take(&mut first, 2);
        take(&mut second, 1);
        a
    };
    assert!(result.unwrap_err().is_compensated());
    assert_eq!((first, second), (3, 0));
}

/// A flight whose seats async steps may book from any thread.
#[derive(Default)]
pub struct SharedFlight {
    seats: std::sync::Mutex<Vec<u32>>,
}

/// Books a seat asynchronously; `Send`, like the opaque async step.
#[step(type = BookAsync, compensate = cancel_async)]
async fn book_async(log: &Log, flight: &SharedFlight, row: u32) -> Result<u32, Fail> {
    tokio::task::yield_now().await;
    if row == 0 {
        return Err(Fail("no row 0"));
    }
    flight.seats.lock().unwrap().push(row);
    log.push(format!("book {row}"));
    Ok(row)
}

async fn cancel_async(
    log: &Log,
    flight: &SharedFlight,
    _row: u32,
    booked: &u32,
) -> Result<(), Fail> {
    tokio::task::yield_now().await;
    flight.seats.lock().unwrap().retain(|r| r != booked);
    log.push(format!("cancel {booked}"));
    Ok(())
}

/// May have sent the payment even when it fails.
#[step(type = SendPayment, compensate = unsend, uncertain)]
async fn send_payment(log: &Log, fail: bool) -> Result<u32, Fail> {
    log.push("send");
    if fail { Err(Fail("timeout")) } else { Ok(7) }
}

async fn unsend(log: &Log, _fail: bool, sent: Option<&u32>) -> Result<(), Fail> {
    log.push(format!("unsend {sent:?}"));
    Ok(())
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

/// The steps of one async booking, kept in a `Vec`.
fn bookings<'a>(log: &'a Log, flight: &'a SharedFlight, rows: &[u32]) -> Vec<BookAsync<'a>> {
    rows.iter()
        .map(|&row| book_async(log, flight, row))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_named_step_is_send_and_runs_in_a_spawned_saga() {
    let log = Log::new();
    let run_log = log.clone();
    let saga = async move {
        let flight = SharedFlight::default();
        let mut executor = Executor::new().with_clock(TokioClock::new());
        let mut step = assert_send(book_async(&run_log, &flight, 9));
        let direct = assert_send(AsyncStep::execute(&mut step)).await;
        assert_eq!(direct, Ok(9));
        let result = saga!(
            async {
                #![saga(executor = &mut executor)]
                let a = book_async(&run_log, &flight, 1).named("row 1");
                let (b, c) = join!(
                    book_async(&run_log, &flight, 2),
                    book_async(&run_log, &flight, 3)
                );
                let sent = send_payment(&run_log, false);
                a + b + c + sent
            }
        )
        .await;
        (result, flight.seats.lock().unwrap().len())
    };
    let (result, seats) = tokio::spawn(assert_send(saga)).await.unwrap();
    assert_eq!(result.unwrap(), 13);
    assert_eq!(seats, 4);
    assert_eq!(log.lines().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_async_saga_compensates_named_steps_uncertain_first() {
    let log = Log::new();
    let run_log = log.clone();
    let saga = async move {
        let flight = SharedFlight::default();
        let result = saga!(async {
            let a = book_async(&run_log, &flight, 4);
            let b = book_async(&run_log, &flight, 5);
            send_payment(&run_log, true);
            a + b
        })
        .await;
        (result, flight.seats.lock().unwrap().len())
    };
    let (result, seats) = tokio::spawn(assert_send(saga)).await.unwrap();
    let error = result.unwrap_err();
    assert_eq!(error.failure().error(), &Fail("timeout"));
    assert!(error.is_compensated());
    assert_eq!(seats, 0);
    assert_eq!(
        log.lines(),
        [
            "book 4",
            "book 5",
            "send",
            "unsend None",
            "cancel 5",
            "cancel 4"
        ]
    );
}

#[tokio::test(flavor = "current_thread")]
async fn async_named_steps_in_a_vec_run_one_by_one() {
    let log = Log::new();
    let flight = SharedFlight::default();
    let mut done = Vec::new();
    for booking in bookings(&log, &flight, &[1, 0, 2]) {
        done.push(
            saga!(async {
                let row = booking;
                row
            })
            .await
            .map_err(SagaError::into_step_error),
        );
    }
    assert_eq!(done, [Ok(1), Err(Fail("no row 0")), Ok(2)]);
    assert_eq!(*flight.seats.lock().unwrap(), [1, 2]);
}

/// Holds an `Rc` across an await: not `Send`, so `local`.
#[step(type = Count, local, compensate = uncount)]
async fn count(counter: Rc<Cell<u32>>) -> Result<u32, Fail> {
    let seen = Rc::clone(&counter);
    tokio::task::yield_now().await;
    seen.set(seen.get() + 1);
    Ok(seen.get())
}

async fn uncount(counter: Rc<Cell<u32>>, _counted: &u32) -> Result<(), Fail> {
    counter.set(counter.get() - 1);
    Ok(())
}

#[step(type = Refuse)]
async fn refuse() -> Result<(), Fail> {
    Err(Fail("refused"))
}

#[tokio::test(flavor = "current_thread")]
async fn local_named_steps_run_on_the_current_thread() {
    let counter = Rc::new(Cell::new(0));
    let steps: Vec<Count> = vec![count(Rc::clone(&counter)), count(Rc::clone(&counter))];
    let mut total = 0;
    for counting in steps {
        total += saga!(async {
            let n = counting;
            n
        })
        .await
        .unwrap();
    }
    assert_eq!(total, 3);
    let result = saga!(async {
        let a = count(Rc::clone(&counter));
        refuse();
        a
    })
    .await;
    assert!(result.unwrap_err().is_compensated());
    assert_eq!(counter.get(), 2);
}

/// The error of the durable saga's steps: serializable, and able to hold an
/// interruption.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum JournalFail {
    /// A service said no.
    Refused,
    /// The run was interrupted.
    Interrupted(tale::journal::Interrupted),
}

impl From<tale::journal::Interrupted> for JournalFail {
    fn from(i: tale::journal::Interrupted) -> Self {
        JournalFail::Interrupted(i)
    }
}

/// Debits; journaled.
#[step(type = Debit, compensate = refund)]
fn debit(log: &Log, amount: u32) -> Result<u32, JournalFail> {
    log.push(format!("debit {amount}"));
    Ok(amount)
}

fn refund(log: &Log, _amount: u32, paid: &u32) -> Result<(), JournalFail> {
    log.push(format!("refund {paid}"));
    Ok(())
}

/// Refuses when told to.
#[step(type = Confirm)]
fn confirm(refuse: bool) -> Result<(), JournalFail> {
    if refuse {
        Err(JournalFail::Refused)
    } else {
        Ok(())
    }
}

saga! {
    #![saga(durable)]
    /// A durable saga of named steps: the inputs (journaled), then the environment.
    pub fn pay(refuse: &bool, log: &Log) -> Result<u32, tale::journal::DurableError<JournalFail>> {
        let paid = debit(log, 20);
        confirm(*refuse);
        paid
    }
}

#[test]
fn named_steps_run_in_a_durable_saga() {
    use tale::journal::{MemoryStore, Origin};
    let store = MemoryStore::new();
    let log = Log::new();
    assert_eq!(pay(&store, Origin::New, &false, &log).unwrap(), 20);
    assert!(pay(&store, Origin::New, &true, &log).is_err());
    assert_eq!(log.lines(), ["debit 20", "debit 20", "refund 20"]);
}

#[test]
fn named_steps_are_links_of_a_saga_built_from_data() {
    use tale::compose::{Link, Saga};
    let flight = Flight::new(1);
    let passengers = [Passenger { name: "ada" }, Passenger { name: "bob" }];
    let mut saga: Saga<'_, (), Fail> = Saga::new("seats");
    for step in seat_everyone(&flight, &passengers) {
        saga.push(Link::step(step));
    }
    let error = saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    assert!(error.is_compensated());
    assert_eq!(flight.seats.get(), 1);
}
