//! The `testing` feature: faults injected by name or position into sync and async
//! sagas, and the trace they record.

use std::cell::Cell;
use std::time::Duration;

use tale::compose::{AsyncLink, AsyncSaga, Link, Local, Saga};
use tale::testing::{AttemptResult, Faults};
use tale::{Executor, ManualClock, Retry, SagaError, TimedOut, Timeout, TokioClock};

#[derive(Debug, Clone, PartialEq)]
enum Error {
    Injected(&'static str),
    TimedOut,
}

impl From<TimedOut> for Error {
    fn from(_: TimedOut) -> Self {
        Error::TimedOut
    }
}

fn three_steps<'a>(effects: &'a Cell<u32>) -> Saga<'a, Vec<String>, Error> {
    let step = |name: &'static str| {
        Link::new(name, move |log: &mut Vec<String>| {
            effects.set(effects.get() + 1);
            log.push(format!("do {name}"));
            Ok(name.len())
        })
        .compensate(move |log, len| log.push(format!("undo {name} ({len:?})")))
    };
    Saga::new("three")
        .step(step("a"))
        .step(step("bb"))
        .step(step("ccc"))
}

#[test]
fn a_step_fails_by_name_and_the_others_are_compensated() {
    let effects = Cell::new(0);
    let mut saga = three_steps(&effects);
    let mut executor =
        Executor::new().with_observer(Faults::new().fail_step("ccc", || Error::Injected("no")));
    let mut log = Vec::new();
    let error = saga.run(&mut executor, &mut log).unwrap_err();
    assert_eq!(error.into_step_error(), Error::Injected("no"));
    assert_eq!(
        log,
        ["do a", "do bb", "undo bb (Some(2))", "undo a (Some(1))"]
    );
    let trace = executor.observer().trace();
    assert_eq!(trace.completed(), ["a", "bb"]);
    assert_eq!(trace.compensated(), ["bb", "a"]);
    assert_eq!(
        trace.entries()[2].result,
        AttemptResult::Failed {
            error: "Injected(\"no\")".into(),
            injected: true
        }
    );
}

#[test]
fn a_step_fails_by_position() {
    let effects = Cell::new(0);
    let mut saga = three_steps(&effects);
    let mut executor =
        Executor::new().with_observer(Faults::new().fail_step(1, || Error::Injected("pos")));
    saga.run(&mut executor, &mut Vec::new()).unwrap_err();
    assert_eq!(executor.observer().trace().completed(), ["a"]);
    assert_eq!(effects.get(), 1, "the failed step never ran");
}

#[test]
fn transient_faults_exercise_the_retry_policy() {
    let effects = Cell::new(0);
    let mut saga = Saga::new("retry").step(
        Link::new("flaky", |_: &mut ()| effects.set(effects.get() + 1)).retry(Retry::times(3)),
    );
    let faults = Faults::new().fail_step_times("flaky", 2, || Error::Injected("busy"));
    let mut executor = Executor::new().with_observer(faults);
    saga.run(&mut executor, &mut ()).unwrap();
    assert_eq!(effects.get(), 1);
    assert_eq!(
        executor.observer().trace().lines(),
        [
            "step `flaky` attempt 1: failed: Injected(\"busy\") (injected)",
            "step `flaky` attempt 2: failed: Injected(\"busy\") (injected)",
            "step `flaky` attempt 3: ok",
        ]
    );
}

#[test]
fn a_compensation_fails_and_is_reported() {
    let effects = Cell::new(0);
    let mut saga = three_steps(&effects);
    let faults = Faults::new()
        .fail_step("ccc", || Error::Injected("step"))
        .fail_compensation("a", || Error::Injected("undo"));
    let mut executor = Executor::new().with_observer(faults);
    let mut log = Vec::new();
    let error = saga.run(&mut executor, &mut log).unwrap_err();
    let SagaError::CompensationFailed { compensations, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(compensations[0].step().name, "a");
    assert_eq!(*compensations[0].error(), Error::Injected("undo"));
    assert_eq!(
        log,
        ["do a", "do bb", "undo bb (Some(2))"],
        "the failing undo never ran"
    );
}

#[test]
fn a_repeated_step_runs_twice_and_keeps_the_second_output() {
    let effects = Cell::new(0);
    let mut saga = three_steps(&effects);
    let faults = Faults::new()
        .repeat_step("bb")
        .fail_step("ccc", || Error::Injected("x"));
    let mut executor = Executor::new().with_observer(faults);
    let mut log = Vec::new();
    saga.run(&mut executor, &mut log).unwrap_err();
    assert_eq!(
        log,
        [
            "do a",
            "do bb",
            "do bb",
            "undo bb (Some(2))",
            "undo a (Some(1))"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_delayed_async_step_runs_past_its_timeout() {
    let ran = Cell::new(false);
    let mut saga: AsyncSaga<'_, (), Error, Local> = AsyncSaga::new("slow").step(
        AsyncLink::local("hotel", async |_: &mut ()| {
            ran.set(true);
            Ok(())
        })
        .timeout(Timeout::after(Duration::from_secs(1))),
    );
    let faults = Faults::new().delay_step("hotel", Duration::from_secs(5));
    let mut executor = Executor::new()
        .with_clock(TokioClock::new())
        .with_observer(faults);
    let start = tokio::time::Instant::now();
    let error = saga.run(&mut executor, &mut ()).await.unwrap_err();
    assert_eq!(start.elapsed(), Duration::from_secs(1));
    assert_eq!(error.into_step_error(), Error::TimedOut);
    assert!(
        !ran.get(),
        "the delayed attempt was cut short before the step ran"
    );
}

#[tokio::test(start_paused = true)]
async fn faults_reach_async_steps_and_compensations() {
    let mut saga: AsyncSaga<'_, Vec<&str>, Error, Local> = AsyncSaga::new("async")
        .step(
            AsyncLink::local("a", async |log: &mut Vec<&str>| {
                log.push("do a");
                Ok(())
            })
            .compensate(async |log, _| {
                log.push("undo a");
                Ok(())
            })
            .compensation_retry(Retry::times(1)),
        )
        .step(AsyncLink::local("b", async |_: &mut Vec<&str>| Ok(())));
    let faults = Faults::new()
        .fail_step("b", || Error::Injected("b"))
        .fail_compensation_times("a", 1, || Error::Injected("undo"));
    let mut executor = Executor::new()
        .with_clock(ManualClock::new())
        .with_observer(faults);
    let mut log = Vec::new();
    let error = saga.run(&mut executor, &mut log).await.unwrap_err();
    assert!(
        error.is_compensated(),
        "the compensation failed once and was retried: {error:?}"
    );
    assert_eq!(log, ["do a", "undo a"]);
    assert_eq!(executor.observer().trace().compensated(), ["a"]);
}
