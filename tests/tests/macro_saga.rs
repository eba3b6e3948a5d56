//! `saga!` and `#[step]` keep the runtime's contract: order, reverse compensation with
//! each step's own output, retries, uncertain steps, panics, events, the item form.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use tale::observe::observe_fn;
use tale::{Event, Executor, ManualClock, Retry, SagaError, saga, step};
use tests::Log;

/// The steps' error.
#[derive(Debug, Clone, PartialEq)]
pub struct Fail(&'static str);

#[step(compensate = refund)]
fn debit(log: &Log, amount: u32) -> Result<u32, Fail> {
    log.push(format!("debit {amount}"));
    Ok(amount * 10)
}

fn refund(log: &Log, amount: u32, payment: &u32) -> Result<(), Fail> {
    log.push(format!("refund {amount} as {payment}"));
    Ok(())
}

#[step(compensate = cancel_flight)]
fn book_flight(log: &Log, payment: &u32) -> Result<String, Fail> {
    log.push(format!("flight for {payment}"));
    Ok(format!("F{payment}"))
}

fn cancel_flight(log: &Log, _payment: &u32, flight: &String) -> Result<(), Fail> {
    log.push(format!("cancel {flight}"));
    Ok(())
}

#[step(compensate = cancel_hotel)]
fn book_hotel(log: &Log, fail: bool) -> Result<String, Fail> {
    log.push("hotel");
    if fail {
        Err(Fail("no room"))
    } else {
        Ok("H1".to_owned())
    }
}

fn cancel_hotel(log: &Log, _fail: bool, hotel: &String) -> Result<(), Fail> {
    log.push(format!("cancel {hotel}"));
    Ok(())
}

/// What the booking saga returns.
#[derive(Debug, PartialEq)]
pub struct Trip {
    payment: u32,
    flight: String,
    hotel: String,
}

#[test]
fn steps_run_in_order_and_the_final_expression_sees_every_output() {
    let log = Log::default();
    let trip = saga! {
        let payment = debit(&log, 7);
        let flight = book_flight(&log, &payment);
        let hotel = book_hotel(&log, false);
        Trip { payment, flight, hotel }
    };
    let expected = Trip {
        payment: 70,
        flight: "F70".into(),
        hotel: "H1".into(),
    };
    assert_eq!(trip.unwrap(), expected);
    assert_eq!(log.lines(), ["debit 7", "flight for 70", "hotel"]);
}

#[test]
fn a_failure_compensates_completed_steps_in_reverse_with_their_own_outputs() {
    let log = Log::default();
    let result = saga! {
        let payment = debit(&log, 7);
        let flight = book_flight(&log, &payment);
        let hotel = book_hotel(&log, true);
        step(|| log.push("never"));
        (payment, flight, hotel)
    };
    let Err(SagaError::Compensated { failure }) = result else {
        panic!("expected a compensated saga")
    };
    assert_eq!(failure.error(), &Fail("no room"));
    assert_eq!(failure.step().index, 2);
    assert_eq!(failure.step().name, "book_hotel");
    assert_eq!(
        log.lines(),
        [
            "debit 7",
            "flight for 70",
            "hotel",
            "cancel F70",
            "refund 7 as 70"
        ]
    );
}

#[test]
fn join_runs_its_branches_in_order_in_a_sync_saga_and_compensates_them() {
    let log = Log::default();
    let result = saga! {
        let payment = debit(&log, 1);
        let (flight, hotel) = join!(book_flight(&log, &payment), book_hotel(&log, false));
        step(|| Err::<(), _>(Fail("late")));
        (flight, hotel)
    };
    assert!(result.is_err());
    assert_eq!(
        log.lines(),
        [
            "debit 1",
            "flight for 10",
            "hotel",
            "cancel H1",
            "cancel F10",
            "refund 1 as 10"
        ]
    );
}

#[test]
fn closure_steps_and_pairs_are_steps() {
    let log = Log::default();
    let result: Result<u32, _> = saga! {
        let seats = step(|| Ok::<u32, Fail>(2), |n: &u32| { log.push(format!("release {n}")); Ok(()) });
        step(|| log.push(format!("reserved {seats}")));
        step(|| Err::<(), _>(Fail("card")));
        seats
    };
    assert!(result.is_err());
    assert_eq!(log.lines(), ["reserved 2", "release 2"]);
}

#[test]
fn retries_follow_the_attribute_policy_and_retry_on_the_step_overrides_it() {
    #[step(retry = Retry::times(1).constant(Duration::from_millis(5)))]
    fn flaky(calls: &RefCell<u32>, succeed_at: u32) -> Result<u32, Fail> {
        *calls.borrow_mut() += 1;
        let n = *calls.borrow();
        if n < succeed_at {
            Err(Fail("busy"))
        } else {
            Ok(n)
        }
    }
    let clock = ManualClock::new();
    let calls = RefCell::new(0);
    let attempts = saga! {
        #![saga(executor = Executor::new().with_clock(clock.clone()))]
        let n = flaky(&calls, 2);
        n
    };
    assert_eq!(attempts.unwrap(), 2);
    assert_eq!(clock.sleeps(), [Duration::from_millis(5)]);

    let clock = ManualClock::new();
    *calls.borrow_mut() = 0;
    let attempts = saga! {
        #![saga(executor = Executor::new().with_clock(clock.clone()))]
        let n = flaky(&calls, 4).retry(Retry::times(3).constant(Duration::from_millis(1)));
        n
    };
    assert_eq!(attempts.unwrap(), 4);
    assert_eq!(clock.sleeps(), [Duration::from_millis(1); 3]);
}

#[test]
fn an_uncertain_step_is_compensated_first_when_it_fails() {
    #[step(compensate = unsend, uncertain)]
    fn send(log: &Log) -> Result<u32, Fail> {
        log.push("send");
        Err(Fail("timeout"))
    }
    fn unsend(log: &Log, sent: Option<&u32>) -> Result<(), Fail> {
        log.push(format!("unsend {sent:?}"));
        Ok(())
    }
    let log = Log::default();
    let result = saga! {
        let payment = debit(&log, 3);
        send(&log);
        payment
    };
    assert!(result.is_err());
    assert_eq!(
        log.lines(),
        ["debit 3", "send", "unsend None", "refund 3 as 30"]
    );
}

#[test]
fn a_panicking_step_is_a_failure_then_the_panic_resumes() {
    #[step]
    fn explode() -> Result<(), Fail> {
        panic!("boom")
    }
    let log = Log::default();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        saga! {
            debit(&log, 5);
            explode();
        }
    }));
    let payload = caught.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    assert_eq!(log.lines(), ["debit 5", "refund 5 as 50"]);
}

#[test]
fn events_come_in_order_with_flat_indices_and_the_saga_name() {
    let log = Log::default();
    let events = RefCell::new(Vec::new());
    let mut executor = Executor::new().with_observer(observe_fn(|event: &Event<'_, Fail>| {
        let line = match event {
            Event::SagaStarted { saga } => format!("start {saga}"),
            Event::AttemptStarted { step, attempt } => {
                format!("{} {} try {attempt}", step.index, step.name)
            }
            Event::AttemptSucceeded { step, .. } => format!("{} ok", step.index),
            Event::AttemptFailed { step, .. } => format!("{} failed", step.index),
            Event::CompensationStarted { step, .. } => format!("{} undo", step.index),
            Event::CompensationSucceeded { step, .. } => format!("{} undone", step.index),
            Event::SagaFinished { outcome, .. } => format!("finish {}", outcome.as_str()),
            _ => return,
        };
        events.borrow_mut().push(line);
    }));
    let result = saga! {
        #![saga(name = "trip", executor = &mut executor)]
        let payment = debit(&log, 1);
        let (flight, _hotel) = join!(book_flight(&log, &payment), book_hotel(&log, true));
        flight
    };
    assert!(result.is_err());
    assert_eq!(
        events.into_inner(),
        [
            "start trip",
            "0 debit try 1",
            "0 ok",
            "1 book_flight try 1",
            "1 ok",
            "2 book_hotel try 1",
            "2 failed",
            "1 undo",
            "1 undone",
            "0 undo",
            "0 undone",
            "finish compensated",
        ]
    );
}

saga! {
    /// The item form: a named saga with declared inputs; the executor comes first.
    pub fn book_trip(log: &Log, amount: u32, fail: bool) -> Result<Trip, SagaError<Fail>> {
        #![saga(name = "book trip")]
        let payment = debit(log, amount);
        let flight = book_flight(log, &payment);
        let hotel = book_hotel(log, fail);
        Trip { payment, flight, hotel }
    }
}

#[test]
fn the_item_form_is_a_function_of_the_executor_and_the_inputs() {
    let log = Log::default();
    let mut executor = Executor::new();
    let trip = book_trip(&mut executor, &log, 2, false).unwrap();
    assert_eq!(trip.flight, "F20");
    assert!(book_trip(&mut executor, &log, 3, true).is_err());
    assert_eq!(
        log.lines().last().map(String::as_str),
        Some("refund 3 as 30")
    );
}

/// A step with a destructor that borrows an earlier step's output.
struct Receipt<'a> {
    log: &'a Log,
    payment: &'a String,
}

impl tale::Describe for Receipt<'_> {
    type Error = Fail;
}

impl tale::Step for Receipt<'_> {
    type Output = ();
    fn execute(&mut self) -> Result<(), Fail> {
        self.log.push(format!("receipt for {}", self.payment));
        Ok(())
    }
    fn compensate(&mut self, (): &()) -> Result<(), Fail> {
        Ok(())
    }
}

fn receipt<'a>(log: &'a Log, payment: &'a String) -> Receipt<'a> {
    Receipt { log, payment }
}

impl Drop for Receipt<'_> {
    fn drop(&mut self) {
        self.log.push(format!("drop receipt for {}", self.payment));
    }
}

#[step]
fn pay(log: &Log) -> Result<String, Fail> {
    log.push("pay");
    Ok("payment-1".to_owned())
}

#[test]
fn the_tail_moves_outputs_that_steps_with_destructors_borrowed() {
    let log = Log::default();
    let payment: String = saga! {
        let payment = pay(&log);
        let () = receipt(&log, &payment);
        {
            log.push("tail");
            payment
        }
    }
    .unwrap();
    assert_eq!(payment, "payment-1");
    // The step values are dropped, last first, before the tail runs.
    assert_eq!(
        log.lines(),
        [
            "pay",
            "receipt for payment-1",
            "drop receipt for payment-1",
            "tail"
        ]
    );
}

#[test]
fn a_failed_step_is_reported_under_the_name_it_was_given() {
    let log = Log::default();
    for (name, owned) in [("hotel by literal", false), ("hotel by format", true)] {
        let result = if owned {
            saga! {
                book_hotel(&log, true).named(format!("hotel by {}", "format"));
            }
        } else {
            saga! {
                book_hotel(&log, true).named("hotel by literal");
            }
        };
        let Err(SagaError::Compensated { failure }) = result else {
            panic!("expected a compensated saga")
        };
        assert_eq!(failure.step().name, name);
        assert_eq!(
            matches!(failure.step().name, std::borrow::Cow::Borrowed(_)),
            !owned,
            "a literal name is borrowed, a formatted one owned"
        );
    }
}

/// A step generic in its output, which only the use site can say.
#[step]
fn parse<T: std::str::FromStr>(text: &str) -> Result<T, Fail> {
    text.parse().map_err(|_| Fail("not a number"))
}

#[test]
fn a_generic_output_is_inferred_from_an_annotation_or_a_turbofish() {
    let annotated = saga! {
        let count: u32 = parse("5");
        count
    };
    assert_eq!(annotated.unwrap(), 5);
    let turbofish = saga! {
        let count = parse::<u8>("6");
        count
    };
    assert_eq!(turbofish.unwrap(), 6);
    // From the tail's expected type, too.
    let from_tail: Result<i64, _> = saga! {
        let count = parse("7");
        count
    };
    assert_eq!(from_tail.unwrap(), 7);
}
