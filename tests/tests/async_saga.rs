//! talepy's ordered async transaction tests (TALEPY.md items 22-25) on `AsyncSaga`,
//! with tale's deviations asserted: compensation in reverse order, one at a time, and
//! compensation errors reported rather than swallowed.

use std::time::Duration;

use tale::compose::{AsyncLink, AsyncSaga, Link, Local};
use tale::{Executor, Limits, SagaError, TimedOut, Timeout, TokioClock};
use tests::Log;
use tokio::time::{Instant, sleep};

#[derive(Debug, Clone, PartialEq)]
enum Error {
    Boom(&'static str),
    TimedOut,
}

impl From<TimedOut> for Error {
    fn from(_: TimedOut) -> Self {
        Error::TimedOut
    }
}

type Saga<'a> = AsyncSaga<'a, i32, Error, Local>;

fn executor() -> Executor<(), TokioClock> {
    Executor::new().with_clock(TokioClock::new())
}

/// talepy's `MockCountingStep` with an async execute and compensate.
fn counting<'a>(log: &'a Log) -> AsyncLink<'a, i32, Error, Local> {
    AsyncLink::local("counting", async |s: &mut i32| {
        sleep(Duration::from_millis(1)).await;
        log.push(format!("run execute: {s}"));
        *s += 1;
        Ok(*s)
    })
    .compensate(async |_, out: Option<&i32>| {
        sleep(Duration::from_millis(1)).await;
        log.push(format!("run compensate: {}", out.unwrap()));
        Ok(())
    })
}

/// The same step, sync.
fn sync_counting<'a>(log: &'a Log) -> Link<'a, i32, Error> {
    Link::new("sync counting", |s: &mut i32| {
        log.push(format!("run execute: {s}"));
        *s += 1;
        Ok(*s)
    })
    .compensate(|_, out: Option<&i32>| log.push(format!("run compensate: {}", out.unwrap())))
}

fn failing<'a>() -> AsyncLink<'a, i32, Error, Local> {
    AsyncLink::local("always fails", async |_: &mut i32| {
        Err::<(), _>(Error::Boom("oh no - How shocking"))
    })
    .into()
}

// 22. test_a_transaction_runs_a_single_step_it_wraps: a sync step in the async runner.
#[tokio::test(start_paused = true)]
async fn a_sync_step_runs_in_an_async_saga() {
    let log = Log::new();
    let mut saga: Saga<'_> = AsyncSaga::new("one").step(sync_counting(&log));
    saga.run(&mut executor(), &mut 0).await.unwrap();
    assert_eq!(log.lines(), ["run execute: 0"]);
}

// 23. test_exceptions_are_raised_eventually
#[tokio::test(start_paused = true)]
async fn errors_are_returned_eventually() {
    let mut saga: Saga<'_> = AsyncSaga::new("fails").step(failing());
    let error = saga.run(&mut executor(), &mut 0).await.unwrap_err();
    assert_eq!(error.into_step_error(), Error::Boom("oh no - How shocking"));
}

// 24. test_a_transaction_runs_many_steps_it_wraps_and_passes_state
#[tokio::test(start_paused = true)]
async fn steps_run_in_order_and_pass_state() {
    let log = Log::new();
    let mut state = 0;
    let mut saga: Saga<'_> = AsyncSaga::new("two")
        .step(counting(&log))
        .step(sync_counting(&log));
    saga.run(&mut executor(), &mut state).await.unwrap();
    assert_eq!(log.lines(), ["run execute: 0", "run execute: 1"]);
    assert_eq!(state, 2);
}

// 25. test_if_a_transaction_fails_all_compensations_are_applied. talepy compensates
// concurrently, scheduled in forward order; tale compensates in reverse, one at a time.
#[tokio::test(start_paused = true)]
async fn compensations_run_in_reverse_order_one_at_a_time() {
    let log = Log::new();
    let mut saga: Saga<'_> = AsyncSaga::new("three")
        .step(counting(&log))
        .step(sync_counting(&log))
        .step(counting(&log))
        .step(failing());
    let error = saga.run(&mut executor(), &mut 0).await.unwrap_err();
    assert!(error.is_compensated());
    assert_eq!(
        log.lines(),
        [
            "run execute: 0",
            "run execute: 1",
            "run execute: 2",
            "run compensate: 3",
            "run compensate: 2",
            "run compensate: 1"
        ]
    );
}

// Untested in talepy: the async runner swallows compensation errors. tale reports them.
#[tokio::test(start_paused = true)]
async fn compensation_errors_are_reported() {
    let stuck = AsyncLink::local("stuck", async |_: &mut i32| Ok(()))
        .compensate(async |_, _| Err(Error::Boom("cannot undo")));
    let mut saga: Saga<'_> = AsyncSaga::new("stuck").step(stuck).step(failing());
    let error = saga.run(&mut executor(), &mut 0).await.unwrap_err();
    let SagaError::CompensationFailed {
        failure,
        compensations,
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(*failure.error(), Error::Boom("oh no - How shocking"));
    assert_eq!(*compensations[0].error(), Error::Boom("cannot undo"));
}

#[tokio::test(start_paused = true)]
async fn a_deadline_fails_the_step_in_flight_and_compensates() {
    let log = Log::new();
    let slow = AsyncLink::local("slow", async |_: &mut i32| {
        sleep(Duration::from_secs(10)).await;
        Ok(())
    });
    let mut saga: Saga<'_> = AsyncSaga::new("late").step(counting(&log)).step(slow);
    let mut executor = executor();
    let start = Instant::now();
    let limits = Limits::new().deadline(Timeout::after(Duration::from_secs(2)));
    let error = saga
        .run_with(&mut executor, &mut 0, limits)
        .await
        .unwrap_err();
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(2) + Duration::from_millis(1),
        "deadline + the undo's pause"
    );
    assert_eq!(*error.failure().error(), Error::TimedOut);
    assert_eq!(log.lines(), ["run execute: 0", "run compensate: 1"]);
}

/// The runtime-agnostic default: `SystemClock` sleeps between async retries on a helper
/// thread, so an async saga runs on any executor, here a bare `block_on` that parks the
/// thread until woken.
#[test]
fn async_retries_sleep_without_a_runtime_on_the_system_clock() {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    use tale::{Retry, SystemClock};

    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        loop {
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(output) => return output,
                Poll::Pending => std::thread::park(),
            }
        }
    }

    let mut tries = 0;
    let mut saga: Saga<'_> = AsyncSaga::new("retry").step(
        AsyncLink::local("flaky", async |s: &mut i32| {
            tries += 1;
            if tries < 3 {
                Err(Error::Boom("busy"))
            } else {
                Ok(*s)
            }
        })
        .retry(Retry::times(2).constant(Duration::from_millis(20))),
    );
    let start = std::time::Instant::now();
    block_on(saga.run(&mut Executor::new().with_clock(SystemClock), &mut 0)).unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(40),
        "two real delays of 20 ms"
    );
}
