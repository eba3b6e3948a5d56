//! talepy's concurrent-transaction tests (TALEPY.md items 26-34) and the time limits of
//! async runs (timeouts, deadlines, cancellation, dropping the future), on tokio with
//! paused time: nothing waits for real.

use std::cell::RefCell;
use std::time::Duration;

use tale::compose::{Branch, Local, run_concurrent_transaction, run_concurrent_transaction_with};
use tale::{
    CancelHandle, Cancelled, Executor, GaveUp, Limits, Retry, SagaError, TimedOut, Timeout,
    TokioClock,
};
use tests::Log;
use tokio::time::{Instant, sleep};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Error {
    Boom(&'static str),
    TimedOut(TimedOut),
    Cancelled,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

impl From<TimedOut> for Error {
    fn from(t: TimedOut) -> Self {
        Error::TimedOut(t)
    }
}

impl From<Cancelled> for Error {
    fn from(_: Cancelled) -> Self {
        Error::Cancelled
    }
}

type B<'a> = Branch<'a, i32, i32, Error, Local>;

/// talepy's `MockCountingStep` for concurrent runs.
fn counting<'a>(log: &'a Log) -> B<'a> {
    Branch::local("counting", async |s: &i32| {
        log.push(format!("run execute: {s}"));
        Ok(s + 1)
    })
    .compensate(async |_, out: Option<&i32>| {
        log.push(format!("run compensate: {}", out.unwrap()));
        Ok(())
    })
}

fn failing<'a>(log: &'a Log, message: &'static str) -> B<'a> {
    Branch::local(message, async move |_: &i32| {
        log.push(format!("fail {message}"));
        Err(Error::Boom(message))
    })
}

fn executor() -> Executor<(), TokioClock> {
    Executor::new().with_clock(TokioClock::new())
}

// 26. test_a_transaction_runs_a_single_step_it_wraps
#[tokio::test(start_paused = true)]
async fn a_concurrent_transaction_runs_a_single_step() {
    let log = Log::new();
    let out = run_concurrent_transaction(&mut executor(), [counting(&log)], &0)
        .await
        .unwrap();
    assert_eq!(out, [1]);
    assert_eq!(log.lines(), ["run execute: 0"]);
}

// 27. test_a_transaction_runs_many_steps_it_wraps: every step gets the same input.
#[tokio::test(start_paused = true)]
async fn every_step_gets_the_same_input() {
    let log = Log::new();
    let out = run_concurrent_transaction(
        &mut executor(),
        [counting(&log), counting(&log), counting(&log)],
        &0,
    )
    .await
    .unwrap();
    assert_eq!(out, [1, 1, 1]);
    assert_eq!(log.lines(), ["run execute: 0"; 3]);
}

// 28. test_if_any_step_fails_they_all_get_rolled_back
#[tokio::test(start_paused = true)]
async fn if_any_step_fails_the_others_run_and_are_rolled_back() {
    let log = Log::new();
    let error = run_concurrent_transaction(
        &mut executor(),
        [failing(&log, "one"), counting(&log), counting(&log)],
        &0,
    )
    .await
    .unwrap_err();
    assert!(error.is_compensated());
    let mut lines = log.lines();
    lines.sort();
    assert_eq!(
        lines,
        [
            "fail one",
            "run compensate: 1",
            "run compensate: 1",
            "run execute: 0",
            "run execute: 0"
        ]
    );
}

// 29. test_all_exceptions_are_returned_to_the_user, in step order.
#[tokio::test(start_paused = true)]
async fn every_error_is_returned_in_step_order() {
    let log = Log::new();
    let error = run_concurrent_transaction(
        &mut executor(),
        [counting(&log), failing(&log, "e1"), failing(&log, "e2")],
        &0,
    )
    .await
    .unwrap_err();
    let failure = error.failure();
    assert_eq!(*failure.error(), Error::Boom("e1"));
    let siblings: Vec<_> = failure.siblings().iter().map(|f| *f.error()).collect();
    assert_eq!(siblings, [Error::Boom("e2")]);
    assert!(
        error
            .to_string()
            .contains("in parallel, `e2` (step 2) failed"),
        "{error:?}"
    );
}

// 30. test_steps_may_be_async and 31. test_compensate_funcs_can_be_async: bodies and
// compensations may await; both are awaited.
#[tokio::test(start_paused = true)]
async fn steps_and_compensations_may_await() {
    let log = Log::new();
    let slow = Branch::local("slow", async |s: &i32| {
        sleep(Duration::from_millis(10)).await;
        Ok(s + 10)
    })
    .compensate(async |_, out: Option<&i32>| {
        sleep(Duration::from_millis(10)).await;
        log.push(format!("undid {} after a pause", out.unwrap()));
        Ok(())
    });
    run_concurrent_transaction(&mut executor(), [slow, failing(&log, "late")], &0)
        .await
        .unwrap_err();
    assert!(log.lines().contains(&"undid 10 after a pause".to_owned()));
}

// 33. test_currently_retries_cant_be_used_concurrently: tale allows retries here.
#[tokio::test(start_paused = true)]
async fn retries_work_in_concurrent_transactions() {
    let calls = RefCell::new(0);
    let flaky = Branch::local("flaky", async |s: &i32| {
        *calls.borrow_mut() += 1;
        if *calls.borrow() < 3 {
            Err(Error::Boom("busy"))
        } else {
            Ok(*s)
        }
    })
    .retry(Retry::times(2).constant(Duration::from_secs(1)));
    let start = Instant::now();
    let out = run_concurrent_transaction(&mut executor(), [flaky], &4)
        .await
        .unwrap();
    assert_eq!(out, [4]);
    assert_eq!(*calls.borrow(), 3);
    assert_eq!(start.elapsed(), Duration::from_secs(2));
}

// 34. test_steps_are_treated_as_coroutines: 2000 steps that each wait 1 s finish
// together, in 1 s of (paused) time.
#[tokio::test(start_paused = true)]
async fn two_thousand_waiting_steps_run_concurrently() {
    let branches = (0..2000).map(|i| {
        Branch::local(format!("slow {i}"), async |_: &i32| {
            sleep(Duration::from_secs(1)).await;
            Ok::<_, Error>("okay")
        })
    });
    let start = Instant::now();
    let out = run_concurrent_transaction(&mut executor(), branches, &0)
        .await
        .unwrap();
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(out.len(), 2000);
    assert!(out.iter().all(|o| *o == "okay"));
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_attempt_fails_with_the_timeout_error_and_is_compensated_as_uncertain() {
    let log = Log::new();
    let slow: B<'_> = Branch::local("slow", async |_: &i32| {
        sleep(Duration::from_secs(10)).await;
        log.push("slow finished");
        Ok(1)
    })
    .compensate(async |_, out| {
        log.push(format!("compensated {out:?}"));
        Ok(())
    })
    .timeout(Timeout::after(Duration::from_secs(1)))
    .retry(Retry::times(1));
    let start = Instant::now();
    let error = run_concurrent_transaction(&mut executor(), [slow], &0)
        .await
        .unwrap_err();
    assert_eq!(
        start.elapsed(),
        Duration::from_secs(2),
        "two attempts of 1 s"
    );
    assert_eq!(
        error.failure().errors(),
        [Error::TimedOut(TimedOut {
            after: Duration::from_secs(1)
        }); 2]
    );
    assert!(
        !log.lines().contains(&"slow finished".to_owned()),
        "the attempt was dropped"
    );
    assert!(
        log.lines().contains(&"compensated None".to_owned()),
        "uncertain outcome compensated"
    );
}

#[tokio::test(start_paused = true)]
async fn a_deadline_stops_the_run_and_compensates_what_completed() {
    let log = Log::new();
    let quick = counting(&log);
    let slow: B<'_> = Branch::local("slow", async |_: &i32| {
        sleep(Duration::from_secs(60)).await;
        Ok(0)
    })
    .retry(Retry::times(5));
    let start = Instant::now();
    let limits = Limits::new().deadline(Timeout::after(Duration::from_secs(5)));
    let error = run_concurrent_transaction_with(&mut executor(), [quick, slow], &0, limits)
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(5));
    assert_eq!(error.failure().gave_up(), GaveUp::DeadlineExceeded);
    assert_eq!(error.failure().attempts(), 1, "a deadline is not retried");
    assert!(log.lines().contains(&"run compensate: 1".to_owned()));
}

#[tokio::test(start_paused = true)]
async fn a_cancel_handle_stops_the_run_and_compensates_what_completed() {
    let log = Log::new();
    let handle = CancelHandle::new();
    let canceller = handle.clone();
    tokio::spawn(async move {
        sleep(Duration::from_secs(3)).await;
        canceller.cancel();
    });
    let slow: B<'_> = Branch::local("slow", async |_: &i32| {
        sleep(Duration::from_secs(60)).await;
        Ok(0)
    });
    let mut executor = executor();
    let limits = Limits::new().cancel_on(&handle);
    let start = Instant::now();
    let error = run_concurrent_transaction_with(&mut executor, [counting(&log), slow], &0, limits)
        .await
        .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    let SagaError::Compensated { failure } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(failure.gave_up(), GaveUp::Cancelled);
    assert_eq!(*failure.error(), Error::Cancelled);
    assert!(log.lines().contains(&"run compensate: 1".to_owned()));
}

/// Dropping a running saga's future stops it where it is: nothing more runs, not even
/// the compensations of the steps that completed. (Use a `CancelHandle` to stop a saga
/// and have it compensate.)
#[tokio::test(start_paused = true)]
async fn dropping_the_future_runs_no_compensation() {
    let log = Log::new();
    let slow: B<'_> = Branch::local("slow", async |_: &i32| {
        sleep(Duration::from_secs(60)).await;
        Ok(0)
    });
    let mut executor = executor();
    let run = run_concurrent_transaction(&mut executor, [counting(&log), slow], &0);
    let timed = tokio::time::timeout(Duration::from_secs(1), run).await;
    assert!(timed.is_err(), "the future was dropped while `slow` ran");
    assert_eq!(log.lines(), ["run execute: 0"], "no compensation ran");
}

#[tokio::test(start_paused = true)]
async fn the_report_times_concurrent_branches_apart() {
    let branches = [1, 3].map(|secs| {
        Branch::local(format!("{secs}s"), async move |_: &i32| {
            sleep(Duration::from_secs(secs)).await;
            Ok::<_, Error>(0)
        })
    });
    let clock = TokioClock::new();
    let mut executor = Executor::new()
        .with_clock(clock)
        .with_observer(tale::observe::Report::new(clock));
    run_concurrent_transaction(&mut executor, branches, &0)
        .await
        .unwrap();
    let report = executor.into_observer();
    let durations: Vec<_> = report
        .steps()
        .iter()
        .map(|s| (s.name.as_str(), s.duration))
        .collect();
    assert_eq!(
        durations,
        [
            ("1s", Duration::from_secs(1)),
            ("3s", Duration::from_secs(3))
        ]
    );
    assert_eq!(report.duration(), Duration::from_secs(3));
}

#[tokio::test(start_paused = true)]
async fn compensations_can_be_bounded_in_concurrency() {
    async fn undo_time(limit: Option<usize>) -> Duration {
        let log = Log::new();
        let mut branches: Vec<B<'_>> = (0..6)
            .map(|_| {
                Branch::local("ok", async |_: &i32| Ok(0)).compensate(async |_, _| {
                    sleep(Duration::from_secs(1)).await;
                    Ok(())
                })
            })
            .collect();
        branches.push(failing(&log, "boom"));
        let limits = limit.map_or_else(Limits::new, |n| {
            Limits::new().max_concurrent_compensations(n)
        });
        let start = Instant::now();
        run_concurrent_transaction_with(&mut executor(), branches, &0, limits)
            .await
            .unwrap_err();
        start.elapsed()
    }
    assert_eq!(undo_time(None).await, Duration::from_secs(1));
    assert_eq!(undo_time(Some(2)).await, Duration::from_secs(3));
    assert_eq!(undo_time(Some(1)).await, Duration::from_secs(6));
}

#[tokio::test(start_paused = true)]
async fn fail_fast_stops_the_branches_in_flight() {
    let log = Log::new();
    let slow: B<'_> = Branch::local("slow", async |_: &i32| {
        sleep(Duration::from_secs(60)).await;
        log.push("slow finished");
        Ok(0)
    })
    .compensate(async |_, out| {
        log.push(format!("undo slow {out:?}"));
        Ok(())
    });
    let failing_late: B<'_> = Branch::local("fails", async |_: &i32| {
        sleep(Duration::from_secs(2)).await;
        Err(Error::Boom("late"))
    });
    let start = Instant::now();
    let limits = Limits::new().fail_fast();
    let error = run_concurrent_transaction_with(
        &mut executor(),
        [counting(&log), slow, failing_late],
        &0,
        limits,
    )
    .await
    .unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(2));
    assert_eq!(
        *error.failure().error(),
        Error::Cancelled,
        "branch 1, stopped, comes first in branch order"
    );
    assert_eq!(*error.failure().siblings()[0].error(), Error::Boom("late"));
    let lines = log.lines();
    assert!(lines.contains(&"undo slow None".to_owned()), "{lines:?}");
    assert!(lines.contains(&"run compensate: 1".to_owned()), "{lines:?}");
    assert!(!lines.contains(&"slow finished".to_owned()));
}
