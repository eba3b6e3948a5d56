//! Async sagas of `#[step] async fn`s are `Send`: they can be spawned on a
//! multi-threaded runtime. `#[step(local)]` steps need not be.

use std::rc::Rc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tale::{Executor, Retry, SagaError, TokioClock, saga, step};
use tests::Log;

/// The steps' error.
#[derive(Debug, Clone, PartialEq)]
pub struct Fail(&'static str);

#[step(compensate = refund)]
async fn charge(log: &Log, amount: u32) -> Result<u32, Fail> {
    tokio::task::yield_now().await;
    log.push(format!("charge {amount}"));
    Ok(amount)
}

async fn refund(log: &Log, amount: u32, charged: &u32) -> Result<(), Fail> {
    tokio::task::yield_now().await;
    log.push(format!("refund {amount} ({charged})"));
    Ok(())
}

/// A generic step with an uncertain outcome.
#[step(compensate = release, uncertain)]
async fn reserve<T: std::fmt::Display + Sync>(log: &Log, what: &T) -> Result<String, Fail> {
    tokio::task::yield_now().await;
    log.push(format!("reserve {what}"));
    Ok(format!("{what}-1"))
}

async fn release<T: std::fmt::Display + Sync>(
    log: &Log,
    what: &T,
    held: Option<&String>,
) -> Result<(), Fail> {
    log.push(format!("release {what} ({held:?})"));
    Ok(())
}

/// A service whose steps are methods on `&mut self`.
#[derive(Default)]
pub struct Hotel {
    rooms: Vec<String>,
}

impl Hotel {
    #[step(compensate = Self::unbook)]
    async fn book(&mut self, guest: &'static str) -> Result<usize, Fail> {
        tokio::task::yield_now().await;
        if guest == "nobody" {
            return Err(Fail("no such guest"));
        }
        self.rooms.push(guest.to_owned());
        Ok(self.rooms.len())
    }

    async fn unbook(&mut self, _guest: &'static str, room: &usize) -> Result<(), Fail> {
        self.rooms.remove(room - 1);
        Ok(())
    }
}

fn assert_send<T: Send>(value: T) -> T {
    value
}

/// Runs a saga on another worker thread of a multi-threaded runtime.
async fn book(
    log: Log,
    guest: &'static str,
) -> (Result<(u32, String, usize), SagaError<Fail>>, Vec<String>) {
    let saga = async move {
        let mut hotel = Hotel::default();
        let mut executor = Executor::new().with_clock(TokioClock::new());
        let result = saga!(
            async {
                #![saga(executor = &mut executor)]
                let paid = charge(&log, 40);
                let (seat, room) = join!(reserve(&log, &"seat"), hotel.book(guest));
                (paid, seat, room)
            }
        )
        .await;
        (result, hotel.rooms)
    };
    tokio::spawn(assert_send(saga)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saga_of_async_steps_runs_on_a_spawned_task() {
    let log = Log::new();
    let (result, rooms) = book(log.clone(), "ada").await;
    assert_eq!(result.unwrap(), (40, "seat-1".to_owned(), 1));
    assert_eq!(rooms, ["ada"]);
    assert_eq!(log.lines(), ["charge 40", "reserve seat"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_saga_that_fails_compensates_every_completed_step() {
    let log = Log::new();
    let (result, rooms) = book(log.clone(), "nobody").await;
    let error = result.unwrap_err();
    assert_eq!(error.failure().error(), &Fail("no such guest"));
    assert!(error.is_compensated());
    assert!(rooms.is_empty());
    assert_eq!(
        log.lines(),
        [
            "charge 40",
            "reserve seat",
            "release seat (Some(\"seat-1\"))",
            "refund 40 (40)"
        ]
    );
}

/// Holds an `Rc` across an await: not `Send`, so it must be `local`.
#[step(local)]
async fn count(counter: Rc<std::cell::Cell<u32>>) -> Result<u32, Fail> {
    let seen = Rc::clone(&counter);
    tokio::task::yield_now().await;
    seen.set(seen.get() + 1);
    Ok(seen.get())
}

#[tokio::test(flavor = "current_thread")]
async fn local_steps_run_in_sagas_on_the_current_thread() {
    let counter = Rc::new(std::cell::Cell::new(0));
    let result = tokio::task::LocalSet::new()
        .run_until(async {
            saga!(async {
                let a = count(Rc::clone(&counter));
                let b = count(Rc::clone(&counter));
                a + b
            })
            .await
        })
        .await;
    assert_eq!(result.unwrap(), 3);
    assert_eq!(counter.get(), 2);
}

/// Fails until its third attempt.
#[step(
    compensate = unclaim,
    retry = Retry::times(2).constant(Duration::from_millis(1)),
    compensation_retry = Retry::times(1).constant(Duration::from_millis(1)),
)]
async fn claim(log: &Log, attempts: &AtomicU32) -> Result<u32, Fail> {
    tokio::task::yield_now().await;
    let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    log.push(format!("claim attempt {attempt}"));
    if attempt < 3 {
        Err(Fail("busy"))
    } else {
        Ok(attempt)
    }
}

/// Fails its first attempt.
async fn unclaim(log: &Log, attempts: &AtomicU32, claimed: &u32) -> Result<(), Fail> {
    let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    log.push(format!("unclaim {claimed}, call {attempt}"));
    if attempt < 5 {
        Err(Fail("still busy"))
    } else {
        Ok(())
    }
}

#[step]
async fn refuse(log: &Log) -> Result<(), Fail> {
    log.push("refuse".to_owned());
    Err(Fail("refused"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_policies_of_send_steps_apply_to_the_step_and_its_compensation() {
    let log = Log::new();
    let run_log = log.clone();
    let saga = async move {
        let attempts = AtomicU32::new(0);
        let mut executor = Executor::new().with_clock(TokioClock::new());
        saga!(
            async {
                #![saga(executor = &mut executor)]
                let claimed = claim(&run_log, &attempts);
                let () = refuse(&run_log);
                claimed
            }
        )
        .await
    };
    let error = tokio::spawn(assert_send(saga)).await.unwrap().unwrap_err();
    assert!(error.is_compensated());
    assert_eq!(error.failure().error(), &Fail("refused"));
    assert_eq!(
        log.lines(),
        [
            "claim attempt 1",
            "claim attempt 2",
            "claim attempt 3",
            "refuse",
            "unclaim 3, call 4",
            "unclaim 3, call 5"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saga_observed_by_injected_faults_runs_on_a_spawned_task() {
    let log = Log::new();
    let saga = async move {
        let faults = tale::testing::Faults::new().fail_step("reserve", || Fail("injected"));
        let mut executor = Executor::new()
            .with_clock(TokioClock::new())
            .with_observer(faults);
        let result = saga!(
            async {
                #![saga(executor = &mut executor)]
                let paid = charge(&log, 40);
                let seat = reserve(&log, &"seat");
                (paid, seat)
            }
        )
        .await;
        (result, executor.into_observer(), log)
    };
    let (result, faults, log) = tokio::spawn(assert_send(saga)).await.unwrap();
    assert_eq!(result.unwrap_err().failure().error(), &Fail("injected"));
    // `reserve` is uncertain: though the fault kept it from running, it is undone.
    assert_eq!(faults.trace().compensated(), ["reserve", "charge"]);
    assert_eq!(
        log.lines(),
        ["charge 40", "release seat (None)", "refund 40 (40)"],
        "reserve itself never ran"
    );
}

/// A saga built from data of `Send` links runs on a spawned task of a multi-threaded
/// runtime, and undoes its completed links when one fails there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_composed_async_saga_of_send_links_is_spawned() {
    use tale::compose::{AsyncLink, AsyncSaga};

    let log = Log::new();
    let mut saga: AsyncSaga<'static, Vec<u32>, Fail> = AsyncSaga::new("composed");
    for i in 0..3 {
        let (run, undo) = (log.clone(), log.clone());
        saga.push(
            AsyncLink::new(format!("seat {i}"), move |seats: &mut Vec<u32>| {
                let log = run.clone();
                Box::pin(async move {
                    tokio::task::yield_now().await;
                    if i == 2 {
                        return Err(Fail("sold out"));
                    }
                    seats.push(i);
                    log.push(format!("seat {i}"));
                    Ok(i)
                })
            })
            .compensate(move |seats, seat: Option<&u32>| {
                let (log, seat) = (undo.clone(), seat.copied());
                Box::pin(async move {
                    tokio::task::yield_now().await;
                    seats.retain(|s| Some(*s) != seat);
                    log.push(format!("release {seat:?}"));
                    Ok(())
                })
            }),
        );
    }
    let task = tokio::spawn(async move {
        let mut seats = Vec::new();
        let mut executor = Executor::new().with_clock(TokioClock::new());
        let result = saga.run(&mut executor, &mut seats).await;
        (result, seats)
    });
    let (result, seats) = task.await.unwrap();
    assert!(matches!(result, Err(SagaError::Compensated { .. })));
    assert!(seats.is_empty());
    assert_eq!(
        log.lines(),
        ["seat 0", "seat 1", "release Some(1)", "release Some(0)"]
    );
}

/// A concurrent transaction of `Send` branches runs on a spawned task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_transaction_of_send_branches_is_spawned() {
    use tale::compose::{Branch, run_concurrent_transaction};

    let task = tokio::spawn(async {
        let branches: Vec<Branch<'static, u32, u32, Fail>> = (1..=3)
            .map(|i| {
                Branch::new(format!("times {i}"), move |n: &u32| {
                    Box::pin(async move {
                        tokio::task::yield_now().await;
                        Ok(n * i)
                    })
                })
            })
            .collect();
        let mut executor = Executor::new().with_clock(TokioClock::new());
        run_concurrent_transaction(&mut executor, branches, &5).await
    });
    assert_eq!(task.await.unwrap().unwrap(), [5, 10, 15]);
}
