//! Async sagas: async steps are awaited, sync steps mix in, compensation runs in
//! reverse, `join!` runs its branches one after the other for now.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tale::{Executor, ManualClock, Retry, SagaError, saga, step};

/// The steps' error.
#[derive(Debug, PartialEq)]
pub struct Fail(&'static str);

/// Polls a future that never waits for anything (every step here is ready at once).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}

/// A ledger that async steps update through `&mut self`.
#[derive(Default)]
pub struct Ledger {
    lines: Vec<String>,
}

impl Ledger {
    #[step(compensate = Self::unhold)]
    async fn hold(&mut self, amount: u32) -> Result<u32, Fail> {
        self.lines.push(format!("hold {amount}"));
        Ok(amount)
    }

    async fn unhold(&mut self, amount: u32, held: &u32) -> Result<(), Fail> {
        self.lines.push(format!("unhold {amount} ({held})"));
        Ok(())
    }
}

/// `local`: its futures hold a `&RefCell`, so they are not `Send`.
#[step(compensate = cancel, local)]
async fn book(log: &RefCell<Vec<String>>, what: &'static str) -> Result<String, Fail> {
    log.borrow_mut().push(format!("book {what}"));
    Ok(what.to_uppercase())
}

async fn cancel(
    log: &RefCell<Vec<String>>,
    _what: &'static str,
    booked: &String,
) -> Result<(), Fail> {
    log.borrow_mut().push(format!("cancel {booked}"));
    Ok(())
}

#[step]
fn sync_fail(log: &RefCell<Vec<String>>) -> Result<(), Fail> {
    log.borrow_mut().push("sync step".to_owned());
    Err(Fail("sync"))
}

#[test]
fn an_async_saga_awaits_its_steps_and_returns_the_final_expression() {
    let log = RefCell::new(Vec::new());
    let log_ref = &log;
    let result = block_on(saga!(async move {
        let (a, b) = join!(book(log_ref, "flight"), book(log_ref, "hotel"));
        let both = step(|| Ok::<_, Fail>(format!("{a}+{b}")));
        both
    }));
    assert_eq!(result.unwrap(), "FLIGHT+HOTEL");
    assert_eq!(log.into_inner(), ["book flight", "book hotel"]);
}

#[test]
fn an_async_saga_compensates_in_reverse_with_sync_steps_mixed_in() {
    let log = RefCell::new(Vec::new());
    let result = block_on(saga!(async {
        let flight = book(&log, "flight");
        let hotel = book(&log, "hotel");
        sync_fail(&log);
        (flight, hotel)
    }));
    assert!(matches!(result, Err(SagaError::Compensated { .. })));
    assert_eq!(
        log.into_inner(),
        [
            "book flight",
            "book hotel",
            "sync step",
            "cancel HOTEL",
            "cancel FLIGHT"
        ]
    );
}

#[test]
fn async_methods_borrow_self_mutably_and_retry_on_any_step() {
    #[step(local)]
    async fn flaky(tries: &RefCell<u32>) -> Result<u32, Fail> {
        *tries.borrow_mut() += 1;
        if *tries.borrow() < 3 {
            Err(Fail("busy"))
        } else {
            Ok(3)
        }
    }
    let mut ledger = Ledger::default();
    let tries = RefCell::new(0);
    let clock = ManualClock::new();
    let result = block_on(saga!(
        async {
            #![saga(name = "ledger", executor = Executor::new().with_clock(clock.clone()))]
            let held = ledger.hold(5);
            let n = flaky(&tries).retry(Retry::times(5).constant(Duration::from_millis(2)));
            step(|| Err::<(), _>(Fail("stop")));
            (held, n)
        }
    ));
    assert!(result.is_err());
    assert_eq!(tries.into_inner(), 3);
    assert_eq!(clock.sleeps(), [Duration::from_millis(2); 2]);
    assert_eq!(ledger.lines, ["hold 5", "unhold 5 (5)"]);
}

saga! {
    /// An async item-form saga.
    pub async fn book_both(log: &RefCell<Vec<String>>) -> Result<(String, String), SagaError<Fail>> {
        let flight = book(log, "flight");
        let hotel = book(log, "hotel");
        (flight, hotel)
    }
}

#[test]
fn the_async_item_form_is_an_async_fn() {
    let log = RefCell::new(Vec::new());
    let mut executor = Executor::new().with_clock(ManualClock::new());
    let both = block_on(book_both(&mut executor, &log)).unwrap();
    assert_eq!(both, ("FLIGHT".to_owned(), "HOTEL".to_owned()));
}
