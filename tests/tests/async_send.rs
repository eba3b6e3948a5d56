//! Async sagas of `#[step] async fn`s are `Send`: they can be spawned on a
//! multi-threaded runtime. `#[step(local)]` steps need not be.

use std::rc::Rc;
use std::sync::{Arc, Mutex};

use tale::{Executor, SagaError, TokioClock, saga, step};

/// The steps' error.
#[derive(Debug, Clone, PartialEq)]
pub struct Fail(&'static str);

/// What happened, in order.
#[derive(Default)]
pub struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

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
    log: Arc<Log>,
    guest: &'static str,
) -> (Result<(u32, String, usize), SagaError<Fail>>, Vec<String>) {
    let saga = async move {
        let mut hotel = Hotel::default();
        let mut executor = Executor::new().clock(TokioClock::new());
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
    let log = Arc::new(Log::default());
    let (result, rooms) = book(Arc::clone(&log), "ada").await;
    assert_eq!(result.unwrap(), (40, "seat-1".to_owned(), 1));
    assert_eq!(rooms, ["ada"]);
    assert_eq!(log.lines(), ["charge 40", "reserve seat"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_saga_that_fails_compensates_every_completed_step() {
    let log = Arc::new(Log::default());
    let (result, rooms) = book(Arc::clone(&log), "nobody").await;
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
