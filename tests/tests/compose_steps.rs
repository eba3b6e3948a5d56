//! Runtime-composed sagas of typed steps: a `Saga` or an `AsyncSaga` built from data (one
//! `#[step]` value per passenger) keeps each step's compensation, retry policies, kind,
//! name and uncertainty, and reports honestly a step it could not undo.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tale::compose::{AsyncLink, AsyncSaga, Link, Local, Saga};
use tale::observe::observe_fn;
use tale::step::AsyncTuned;
use tale::{
    Event, Executor, ManualClock, NotCompensated, Retry, SagaError, StepKind, TimedOut, Timeout,
    TokioClock, step,
};
use tests::Log;
use tokio::time::sleep;

/// The steps' error.
#[derive(Debug, Clone, PartialEq)]
enum Fail {
    /// The airline said no.
    Refused(String),
    /// An attempt took too long.
    TimedOut,
    /// A flaky service.
    Busy,
}

impl From<TimedOut> for Fail {
    fn from(_: TimedOut) -> Self {
        Fail::TimedOut
    }
}

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// One seat on the flight, numbered from 1.
#[derive(Debug, Clone, PartialEq)]
struct Seat {
    passenger: String,
    number: usize,
}

#[step(compensate = cancel_seat)]
fn book_seat(log: &Log, passenger: &str, number: usize) -> Result<Seat, Fail> {
    if passenger == "Mallory" {
        log.push("refused Mallory");
        return Err(Fail::Refused(passenger.to_owned()));
    }
    log.push(format!("booked {number} for {passenger}"));
    Ok(Seat {
        passenger: passenger.to_owned(),
        number,
    })
}

fn cancel_seat(log: &Log, passenger: &str, number: usize, seat: &Seat) -> Result<(), Fail> {
    // The compensation is lent the very output its own step produced.
    assert_eq!((seat.passenger.as_str(), seat.number), (passenger, number));
    log.push(format!("cancelled {} for {}", seat.number, seat.passenger));
    Ok(())
}

const PASSENGERS: [&str; 4] = ["Ada", "Grace", "Mallory", "Linus"];

fn error_names(error: &SagaError<Fail>) -> (usize, String) {
    let step = error.failure().step();
    (step.index, step.name.to_string())
}

#[test]
fn a_saga_of_step_values_runs_one_per_passenger_and_collects_their_outputs() {
    let log = Log::new();
    let passengers = ["Ada", "Grace", "Linus"];
    let mut saga = Saga::new("group booking");
    for (i, passenger) in passengers.iter().enumerate() {
        saga.push(Link::step_then(
            book_seat(&log, passenger, i + 1),
            |seats: &mut Vec<Seat>, seat: &Seat| seats.push(seat.clone()),
        ));
    }
    assert_eq!(saga.len(), 3);
    let events = Log::new();
    let mut executor = Executor::new().with_observer(events.observer());
    let mut seats = Vec::new();
    saga.run(&mut executor, &mut seats).unwrap();
    let numbers: Vec<_> = seats
        .iter()
        .map(|s| (s.passenger.as_str(), s.number))
        .collect();
    assert_eq!(numbers, [("Ada", 1), ("Grace", 2), ("Linus", 3)]);
    assert_eq!(
        log.lines(),
        [
            "booked 1 for Ada",
            "booked 2 for Grace",
            "booked 3 for Linus"
        ]
    );
    // The step's own name, from its `#[step]`.
    let events = events.lines();
    assert!(
        events.iter().any(|e| e.contains("`book_seat`")),
        "{events:?}"
    );

    // Run again: each run starts afresh, and the outputs are collected again.
    seats.clear();
    saga.run(&mut executor, &mut seats).unwrap();
    assert_eq!(seats.len(), 3);
}

#[test]
fn when_one_passenger_fails_the_others_are_compensated_in_reverse_with_their_own_outputs() {
    let log = Log::new();
    // The step values go in as they are: a `Step` converts into a `Link`.
    let mut saga: Saga<'_, (), Fail> = Saga::new("group booking");
    for (i, passenger) in PASSENGERS.iter().enumerate() {
        saga = saga.step(book_seat(&log, passenger, i + 1));
    }
    let error = saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    assert!(error.is_compensated(), "{error:?}");
    assert_eq!(error_names(&error), (2, "book_seat".to_owned()));
    assert_eq!(
        *error.failure().error(),
        Fail::Refused("Mallory".to_owned())
    );
    assert_eq!(
        log.lines(),
        [
            "booked 1 for Ada",
            "booked 2 for Grace",
            "refused Mallory",
            "cancelled 2 for Grace",
            "cancelled 1 for Ada",
        ]
    );
}

#[test]
fn a_links_name_overrides_the_steps_own() {
    let log = Log::new();
    let mut saga: Saga<'_, (), Fail> = Saga::new("group booking");
    for (i, passenger) in PASSENGERS.iter().enumerate() {
        saga.push(
            Link::step(book_seat(&log, passenger, i + 1)).named(format!("seat for {passenger}")),
        );
    }
    let error = saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    assert_eq!(error_names(&error), (2, "seat for Mallory".to_owned()));
    assert!(error.to_string().contains("seat for Mallory"), "{error}");
}

#[step(retry = Retry::times(2), compensate = undo_flaky)]
fn flaky(log: &Log, calls: &AtomicU32, succeed_on: u32) -> Result<u32, Fail> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    log.push(format!("flaky attempt {call}"));
    if call < succeed_on {
        Err(Fail::Busy)
    } else {
        Ok(call)
    }
}

fn undo_flaky(log: &Log, _: &AtomicU32, _: u32, call: &u32) -> Result<(), Fail> {
    log.push(format!("undo flaky {call}"));
    Ok(())
}

#[step]
fn refuse(log: &Log) -> Result<(), Fail> {
    log.push("refused");
    Err(Fail::Refused("last".to_owned()))
}

#[test]
fn a_steps_own_retry_policy_applies_unless_the_link_overrides_it() {
    // `retry = Retry::times(2)`: three attempts, the third succeeds; its output is the
    // one compensated when a later step fails.
    let (log, calls) = (Log::new(), AtomicU32::new(0));
    let mut saga: Saga<'_, (), Fail> = Saga::new("retries")
        .step(flaky(&log, &calls, 3))
        .step(refuse(&log));
    let error = saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    assert!(error.is_compensated(), "{error:?}");
    assert_eq!(
        log.lines(),
        [
            "flaky attempt 1",
            "flaky attempt 2",
            "flaky attempt 3",
            "refused",
            "undo flaky 3"
        ]
    );

    // Its policy gives up after three attempts...
    let (log, calls) = (Log::new(), AtomicU32::new(0));
    let mut saga: Saga<'_, (), Fail> = Saga::new("retries").step(flaky(&log, &calls, 4));
    let error = saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    assert_eq!(error.failure().attempts(), 3);

    // ...and the link's replaces it.
    let (log, calls) = (Log::new(), AtomicU32::new(0));
    let mut saga: Saga<'_, (), Fail> =
        Saga::new("retries").step(Link::step(flaky(&log, &calls, 4)).retry(Retry::times(3)));
    saga.run(&mut Executor::new(), &mut ()).unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[step(pivot)]
fn charge(log: &Log) -> Result<u32, Fail> {
    log.push("charged");
    Ok(840)
}

#[step(retriable)]
fn confirm(log: &Log, calls: &AtomicU32) -> Result<(), Fail> {
    let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
    log.push(format!("confirm attempt {call}"));
    if call < 4 { Err(Fail::Busy) } else { Ok(()) }
}

/// The name and kind of each step that started its first attempt, in order.
type Kinds = Arc<Mutex<Vec<(String, StepKind)>>>;

/// The kinds seen, and the observer that records them.
fn kinds_seen() -> (Kinds, impl tale::Observer<Fail>) {
    let seen = Kinds::default();
    let sink = seen.clone();
    let observer = observe_fn(move |event: &Event<'_, Fail>| {
        if let Event::AttemptStarted { step, attempt: 1 } = event {
            sink.lock().unwrap().push((step.name.to_owned(), step.kind));
        }
    });
    (seen, observer)
}

/// The compose forms take a step's kind as its `#[step]` says; they do not check the
/// order of kinds (that is `saga!`'s compile-time rule), but a retriable step without a
/// policy of its own is retried until it succeeds, as in `saga!`.
#[test]
fn a_steps_kind_comes_with_it_and_a_retriable_step_is_retried_until_it_succeeds() {
    let (log, calls) = (Log::new(), AtomicU32::new(0));
    let mut saga: Saga<'_, (), Fail> = Saga::new("checkout")
        .step(book_seat(&log, "Ada", 1))
        .step(charge(&log))
        .step(confirm(&log, &calls));
    let (seen, observer) = kinds_seen();
    let mut executor = Executor::new()
        .with_clock(ManualClock::new())
        .with_observer(observer);
    saga.run(&mut executor, &mut ()).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("book_seat".to_owned(), StepKind::Compensatable),
            ("charge".to_owned(), StepKind::Pivot),
            ("confirm".to_owned(), StepKind::Retriable),
        ]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);

    // A link's kind replaces the step's: a compensatable step made retriable.
    let (log, calls) = (Log::new(), AtomicU32::new(0));
    let mut saga: Saga<'_, (), Fail> = Saga::new("retriable").step(
        Link::step(flaky(&log, &calls, 6))
            .kind(StepKind::Retriable)
            .retry(Retry::until_success()),
    );
    let (seen, observer) = kinds_seen();
    let mut executor = Executor::new().with_observer(observer);
    saga.run(&mut executor, &mut ()).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [("flaky".to_owned(), StepKind::Retriable)]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 6);
}

#[step(compensate = unsend, uncertain)]
fn send_payment(log: &Log) -> Result<u32, Fail> {
    log.push("payment sent, then the line dropped");
    Err(Fail::TimedOut)
}

fn unsend(log: &Log, payment: Option<&u32>) -> Result<(), Fail> {
    log.push(format!("unsend {payment:?}"));
    Ok(())
}

#[step(compensate = cancel_transfer)]
fn transfer(log: &Log) -> Result<u32, Fail> {
    log.push("transfer attempted");
    Err(Fail::TimedOut)
}

fn cancel_transfer(log: &Log, transfer: &u32) -> Result<(), Fail> {
    log.push(format!("cancel transfer {transfer}"));
    Ok(())
}

fn assert_outcome_unknown(error: &SagaError<Fail>, index: usize, name: &str) {
    let SagaError::CompensationFailed {
        not_compensated, ..
    } = error
    else {
        panic!("reported as compensated: {error:?}")
    };
    assert!(
        matches!(&not_compensated[..], [NotCompensated::OutcomeUnknown(s)] if s.index == index && s.name == name),
        "{not_compensated:?}"
    );
    assert!(error.to_string().contains("outcome unknown"), "{error}");
}

#[test]
fn a_sync_uncertain_step_is_undone_without_its_output_and_one_that_cannot_be_is_reported() {
    // Declared `uncertain`: its compensation runs with `None`, first.
    let log = Log::new();
    let mut saga: Saga<'_, (), Fail> = Saga::new("pay")
        .step(book_seat(&log, "Ada", 1))
        .step(send_payment(&log));
    let error = saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    assert!(error.is_compensated(), "{error:?}");
    assert_eq!(
        log.lines(),
        [
            "booked 1 for Ada",
            "payment sent, then the line dropped",
            "unsend None",
            "cancelled 1 for Ada"
        ]
    );

    // Marked uncertain by the link, but its compensation needs the output it never
    // returned: not compensated, its outcome unknown, and its compensation not called.
    let log = Log::new();
    let mut saga: Saga<'_, (), Fail> = Saga::new("pay")
        .step(book_seat(&log, "Ada", 1))
        .step(Link::step(transfer(&log)).uncertain());
    let error = saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    assert_outcome_unknown(&error, 1, "transfer");
    assert_eq!(
        log.lines(),
        [
            "booked 1 for Ada",
            "transfer attempted",
            "cancelled 1 for Ada"
        ]
    );
}

/// A hand-written step that says it can be undone without its output, then has nothing
/// to run: not undone either.
struct Promise<'l>(&'l Log);

impl tale::step::Describe for Promise<'_> {
    type Error = Fail;
    fn name(&self) -> &str {
        "promise"
    }
    fn is_uncertain(&self) -> bool {
        true
    }
    fn compensates_without_output(&self) -> bool {
        true
    }
}

impl tale::Step for Promise<'_> {
    type Output = ();
    fn execute(&mut self) -> Result<(), Fail> {
        self.0.push("promised");
        Err(Fail::TimedOut)
    }
    fn compensate(&mut self, (): &()) -> Result<(), Fail> {
        self.0.push("unpromised");
        Ok(())
    }
    fn compensate_uncertain(&mut self) -> Option<Result<(), Fail>> {
        self.0.push("asked to unpromise");
        None
    }
}

#[test]
fn a_step_whose_uncertain_compensation_answers_none_is_not_reported_undone() {
    let log = Log::new();
    let mut saga: Saga<'_, (), Fail> = Saga::new("promises")
        .step(book_seat(&log, "Ada", 1))
        .step(Promise(&log));
    let error = saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    assert_outcome_unknown(&error, 1, "promise");
    assert_eq!(
        log.lines(),
        [
            "booked 1 for Ada",
            "promised",
            "asked to unpromise",
            "cancelled 1 for Ada"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn in_an_async_saga_too_a_sync_step_whose_uncertain_compensation_answers_none() {
    let log = Log::new();
    let mut saga: AsyncSaga<'_, (), Fail> = AsyncSaga::new("promises")
        .step(charge_fare(&log, "Ada", 1))
        .step(Promise(&log));
    let mut executor = Executor::new().with_clock(TokioClock::new());
    let error = saga.run(&mut executor, &mut ()).await.unwrap_err();
    assert_outcome_unknown(&error, 1, "promise");
    assert_eq!(
        log.lines(),
        [
            "charged Ada",
            "promised",
            "asked to unpromise",
            "refunded 101 to Ada"
        ]
    );

    // And through a sync `Link` run inline in a `Local` saga.
    let log = Log::new();
    let mut saga: AsyncSaga<'_, (), Fail, Local> = AsyncSaga::new("promises")
        .step(Link::step(book_seat(&log, "Ada", 1)).named("sync seat"))
        .step(Link::step(Promise(&log)));
    let error = saga.run(&mut executor, &mut ()).await.unwrap_err();
    assert_outcome_unknown(&error, 1, "promise");
    assert_eq!(
        log.lines(),
        [
            "booked 1 for Ada",
            "promised",
            "asked to unpromise",
            "cancelled 1 for Ada"
        ]
    );
}

/// Closure links keep their behaviour: an uncertain one's compensation gets `None`.
#[test]
fn a_closure_link_keeps_its_behaviour() {
    let log = Log::new();
    let mut saga: Saga<'_, u32, Fail> = Saga::new("closures")
        .step(
            Link::new("add", |n: &mut u32| {
                *n += 1;
                Ok(*n)
            })
            .compensate(|n, added: Option<&u32>| {
                *n -= 1;
                log.push(format!("undo add {added:?}"));
                Ok(())
            }),
        )
        .step(
            Link::new("uncertain", |_: &mut u32| Err::<(), _>(Fail::TimedOut))
                .compensate(|_, out: Option<&()>| {
                    log.push(format!("undo uncertain {out:?}"));
                    Ok(())
                })
                .uncertain(),
        );
    let mut n = 0;
    let error = saga.run(&mut Executor::new(), &mut n).unwrap_err();
    assert!(error.is_compensated(), "{error:?}");
    assert_eq!(n, 0);
    assert_eq!(log.lines(), ["undo uncertain None", "undo add Some(1)"]);
}

/// Charges a passenger's fare and takes `secs` to answer; its compensation needs the
/// charge it returned.
#[step(compensate = refund)]
async fn charge_fare(log: &Log, passenger: &str, secs: u64) -> Result<u32, Fail> {
    sleep(Duration::from_secs(secs)).await;
    log.push(format!("charged {passenger}"));
    Ok(100 + secs as u32)
}

async fn refund(log: &Log, passenger: &str, _secs: u64, charged: &u32) -> Result<(), Fail> {
    log.push(format!("refunded {charged} to {passenger}"));
    Ok(())
}

/// Holds a seat and takes `secs` to answer; declared `uncertain`, so its compensation
/// works without the hold it returned.
#[step(compensate = release, uncertain)]
async fn hold_seat(log: &Log, passenger: &str, secs: u64) -> Result<u32, Fail> {
    sleep(Duration::from_secs(secs)).await;
    log.push(format!("held for {passenger}"));
    Ok(7)
}

async fn release(log: &Log, passenger: &str, _secs: u64, hold: Option<&u32>) -> Result<(), Fail> {
    log.push(format!("released {hold:?} for {passenger}"));
    Ok(())
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

#[tokio::test(start_paused = true)]
async fn an_async_saga_of_step_values_compensates_with_outputs_and_is_send() {
    let log = Log::new();
    let mut saga: AsyncSaga<'_, Vec<u32>, Fail> = AsyncSaga::new("fares");
    for (i, passenger) in ["Ada", "Grace", "Linus"].iter().enumerate() {
        saga.push(AsyncLink::step_then(
            charge_fare(&log, passenger, i as u64),
            |charges: &mut Vec<u32>, charged: &u32| charges.push(*charged),
        ));
    }
    // A sync step value joins a `Send` async saga too.
    saga.push(refuse(&log));
    let mut executor = Executor::new().with_clock(TokioClock::new());
    let mut charges = Vec::new();
    let error = assert_send(saga.run(&mut executor, &mut charges))
        .await
        .unwrap_err();
    assert!(error.is_compensated(), "{error:?}");
    assert_eq!(error_names(&error), (3, "refuse".to_owned()));
    assert_eq!(charges, [100, 101, 102]);
    assert_eq!(
        log.lines(),
        [
            "charged Ada",
            "charged Grace",
            "charged Linus",
            "refused",
            "refunded 102 to Linus",
            "refunded 101 to Grace",
            "refunded 100 to Ada",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_async_step_value_that_times_out_is_honestly_reported() {
    // Not uncertain: its compensation needs the charge, which never came back. The
    // passengers before it are refunded; it is reported as not compensated.
    let log = Log::new();
    let mut saga: AsyncSaga<'_, (), Fail> = AsyncSaga::new("fares")
        .step(charge_fare(&log, "Ada", 1))
        .step(charge_fare(&log, "Grace", 1))
        .step(
            AsyncLink::step(charge_fare(&log, "Linus", 60))
                .timeout(Timeout::after(Duration::from_secs(5))),
        );
    let mut executor = Executor::new().with_clock(TokioClock::new());
    let error = saga.run(&mut executor, &mut ()).await.unwrap_err();
    assert_eq!(*error.failure().error(), Fail::TimedOut);
    assert_outcome_unknown(&error, 2, "charge_fare");
    assert_eq!(
        log.lines(),
        [
            "charged Ada",
            "charged Grace",
            "refunded 101 to Grace",
            "refunded 101 to Ada"
        ]
    );

    // Declared `uncertain`: its compensation runs with no output, and the saga is
    // compensated.
    let log = Log::new();
    let mut saga: AsyncSaga<'_, (), Fail> = AsyncSaga::new("holds")
        .step(hold_seat(&log, "Ada", 1))
        .step(
            AsyncLink::step(hold_seat(&log, "Grace", 60))
                .named("hold for Grace")
                .timeout(Timeout::after(Duration::from_secs(5))),
        );
    let error = saga.run(&mut executor, &mut ()).await.unwrap_err();
    assert!(error.is_compensated(), "{error:?}");
    assert_eq!(error_names(&error), (1, "hold for Grace".to_owned()));
    assert_eq!(
        log.lines(),
        [
            "held for Ada",
            "released None for Grace",
            "released Some(7) for Ada"
        ]
    );
}

#[step(local, compensate = forget_visit)]
async fn visit(count: &Rc<Cell<u32>>, secs: u64) -> Result<u32, Fail> {
    sleep(Duration::from_secs(secs)).await;
    count.set(count.get() + 1);
    Ok(count.get())
}

async fn forget_visit(count: &Rc<Cell<u32>>, _secs: u64, visit: &u32) -> Result<(), Fail> {
    assert_eq!(count.get(), *visit);
    count.set(count.get() - 1);
    Ok(())
}

/// Steps whose futures are not `Send` join a `Local` saga; a step's own time limit
/// (an `AsyncTuned` step's) applies, and a step cut short by it without an uncertain
/// compensation is reported as not compensated.
#[tokio::test(start_paused = true)]
async fn a_local_saga_takes_any_async_step_with_its_own_timeout() {
    let count = Rc::new(Cell::new(0));
    let mut saga: AsyncSaga<'_, (), Fail, Local> = AsyncSaga::new("visits");
    for secs in [1, 2, 60] {
        saga.push(AsyncTuned::new(visit(&count, secs)).timeout(Duration::from_secs(5)));
    }
    let mut executor = Executor::new().with_clock(TokioClock::new());
    let error = saga.run(&mut executor, &mut ()).await.unwrap_err();
    assert_eq!(*error.failure().error(), Fail::TimedOut);
    assert_outcome_unknown(&error, 2, "visit");
    assert_eq!(count.get(), 0);

    // The same steps, all in time, through `local_step_then`.
    let mut saga: AsyncSaga<'_, Vec<u32>, Fail, Local> = AsyncSaga::new("visits");
    for secs in [1, 2, 3] {
        saga.push(AsyncLink::local_step_then(
            visit(&count, secs),
            |visits: &mut Vec<u32>, n: &u32| visits.push(*n),
        ));
    }
    let mut visits = Vec::new();
    saga.run(&mut executor, &mut visits).await.unwrap();
    assert_eq!(visits, [1, 2, 3]);
}
