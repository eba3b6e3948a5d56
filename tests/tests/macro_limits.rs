//! Time limits and cancellation in async `saga!`s: `.timeout(...)` on a step, and the
//! `deadline` and `cancel` options, on tokio with paused time.

use std::time::Duration;

use tale::{
    CancelHandle, Cancelled, Executor, GaveUp, SagaError, TimedOut, TokioClock, saga, step,
};
use tests::Log;
use tokio::time::{Instant, sleep};

/// The steps' error.
#[derive(Debug, Clone, PartialEq)]
pub enum Fail {
    /// An attempt or the saga ran out of time.
    TimedOut(Duration),
    /// The saga was cancelled.
    Cancelled,
}

impl From<TimedOut> for Fail {
    fn from(t: TimedOut) -> Self {
        Fail::TimedOut(t.after)
    }
}

impl From<Cancelled> for Fail {
    fn from(_: Cancelled) -> Self {
        Fail::Cancelled
    }
}

#[step(compensate = undo_quick)]
fn quick(log: &Log) -> Result<u32, Fail> {
    log.push("quick");
    Ok(1)
}

fn undo_quick(log: &Log, _out: &u32) -> Result<(), Fail> {
    log.push("undo quick");
    Ok(())
}

#[step(compensate = undo_slow, uncertain)]
async fn slow(log: &Log, secs: u64) -> Result<u32, Fail> {
    sleep(Duration::from_secs(secs)).await;
    log.push("slow finished");
    Ok(2)
}

async fn undo_slow(log: &Log, _secs: u64, out: Option<&u32>) -> Result<(), Fail> {
    log.push(format!("undo slow {out:?}"));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_step_timeout_fails_the_step_and_compensates() {
    let log = Log::default();
    let start = Instant::now();
    let result = saga!(
        async {
            #![saga(executor = Executor::new().with_clock(TokioClock::new()))]
            let a = quick(&log);
            let b = slow(&log, 60).timeout(Duration::from_secs(5));
            a + b
        }
    )
    .await;
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    let error = result.unwrap_err();
    assert_eq!(
        *error.failure().error(),
        Fail::TimedOut(Duration::from_secs(5))
    );
    assert_eq!(log.lines(), ["quick", "undo slow None", "undo quick"]);
}

#[tokio::test(start_paused = true)]
async fn a_deadline_stops_the_saga_and_compensates() {
    let log = Log::default();
    let start = Instant::now();
    let result = saga!(async {
        #![saga(deadline = Duration::from_secs(3), executor = Executor::new().with_clock(TokioClock::new()))]
        let a = quick(&log);
        let b = slow(&log, 2);
        let c = slow(&log, 2);
        a + b + c
    })
    .await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    let SagaError::Compensated { failure } = result.unwrap_err() else {
        panic!("not compensated")
    };
    assert_eq!(failure.gave_up(), GaveUp::DeadlineExceeded);
    assert_eq!(failure.step().index, 2);
    assert_eq!(
        log.lines(),
        [
            "quick",
            "slow finished",
            "undo slow None",
            "undo slow Some(2)",
            "undo quick"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_cancel_handle_stops_the_saga_and_compensates() {
    let log = Log::default();
    let handle = CancelHandle::new();
    let canceller = handle.clone();
    tokio::spawn(async move {
        sleep(Duration::from_secs(1)).await;
        canceller.cancel();
    });
    let result = saga!(
        async {
            #![saga(cancel = &handle, executor = Executor::new().with_clock(TokioClock::new()))]
            let a = quick(&log);
            let b = slow(&log, 60);
            a + b
        }
    )
    .await;
    let error = result.unwrap_err();
    assert!(error.is_compensated());
    assert_eq!(error.failure().gave_up(), GaveUp::Cancelled);
    assert_eq!(*error.failure().error(), Fail::Cancelled);
    assert_eq!(log.lines(), ["quick", "undo slow None", "undo quick"]);
}
