//! DESIGN.md's contract, point by point, on the runtime (the macro sagas are held to
//! the same points in `macro_*.rs`).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use tale::compose::{Link, Saga};
use tale::observe::{Report, StepStatus};
use tale::step::Describe;
use tale::{
    Executor, ManualClock, NotCompensated, OnCompensationFailure, Outcome, Retry, SagaError, Step,
    StepKind,
};
use tests::{Log, panic_message};

type S<'a> = Saga<'a, (), String>;

/// A step named `name` that logs its execution and compensation and, if `fail_on` says
/// so, fails (or its compensation does).
fn step<'a>(log: &Log, name: &'static str) -> Link<'a, (), String> {
    let (run, undo) = (log.clone(), log.clone());
    Link::new(name, move |_: &mut ()| {
        run.push(format!("do {name}"));
        Ok(format!("{name}-out"))
    })
    .compensate(move |_, out| {
        undo.push(format!(
            "undo {name} with {}",
            out.map_or("nothing", String::as_str)
        ));
        Ok(())
    })
}

fn failing<'a>(log: &Log, name: &'static str) -> Link<'a, (), String> {
    let run = log.clone();
    Link::new(name, move |_: &mut ()| {
        run.push(format!("do {name}"));
        Err::<(), _>(format!("{name} failed"))
    })
    .into()
}

fn failing_undo<'a>(log: &Log, name: &'static str) -> Link<'a, (), String> {
    let (run, undo) = (log.clone(), log.clone());
    Link::new(name, move |_: &mut ()| {
        run.push(format!("do {name}"));
        Ok(())
    })
    .compensate(move |_, _| {
        undo.push(format!("undo {name}"));
        Err(format!("cannot undo {name}"))
    })
}

#[test]
fn steps_run_in_order_and_compensate_in_reverse_with_their_own_outputs() {
    let log = Log::new();
    let mut saga: S<'_> = Saga::new("trip")
        .step(step(&log, "a"))
        .step(step(&log, "b"))
        .step(step(&log, "c"))
        .step(failing(&log, "d"))
        .step(step(&log, "e"));
    let error = saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    assert_eq!(
        log.lines(),
        [
            "do a",
            "do b",
            "do c",
            "do d",
            "undo c with c-out",
            "undo b with b-out",
            "undo a with a-out"
        ]
    );
    assert!(error.is_compensated());
    assert_eq!(error.failure().step().name, "d");
    assert_eq!(error.failure().step().index, 3);
}

#[test]
fn an_uncertain_step_is_compensated_first_without_output() {
    let log = Log::new();
    let run = log.clone();
    let uncertain = Link::new("charge", move |_: &mut ()| {
        run.push("do charge");
        Err::<String, _>("timeout".to_owned())
    })
    .compensate({
        let log = log.clone();
        move |_, out| {
            log.push(format!("undo charge with {out:?}"));
            Ok(())
        }
    })
    .uncertain();
    let mut saga: S<'_> = Saga::new("pay").step(step(&log, "a")).step(uncertain);
    saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    assert_eq!(
        log.lines(),
        [
            "do a",
            "do charge",
            "undo charge with None",
            "undo a with a-out"
        ]
    );
}

#[test]
fn an_uncertain_step_impl_gets_compensate_uncertain() {
    struct Charge<'l>(&'l Log);

    impl Describe for Charge<'_> {
        type Error = String;
        fn is_uncertain(&self) -> bool {
            true
        }
        fn compensates_without_output(&self) -> bool {
            true
        }
    }

    impl Step for Charge<'_> {
        type Output = u32;
        fn execute(&mut self) -> Result<u32, String> {
            Err("timeout".into())
        }
        fn compensate(&mut self, _: &u32) -> Result<(), String> {
            self.0.push("compensate");
            Ok(())
        }
        fn compensate_uncertain(&mut self) -> Option<Result<(), String>> {
            self.0.push("compensate uncertain");
            Some(Ok(()))
        }
    }
    let log = Log::new();
    Executor::new().run_step(Charge(&log)).unwrap_err();
    assert_eq!(log.lines(), ["compensate uncertain"]);
}

#[test]
fn a_panicking_step_compensates_then_resumes_the_panic() {
    let log = Log::new();
    let mut saga: S<'_> = Saga::new("boom")
        .step(step(&log, "a"))
        .step(step(&log, "b"))
        .step(Link::new("panics", |_: &mut ()| -> Result<(), String> {
            panic!("step exploded")
        }));
    let report_clock = ManualClock::new();
    let mut executor = Executor::new().with_observer(Report::new(report_clock));
    let payload = catch_unwind(AssertUnwindSafe(|| saga.run(&mut executor, &mut ()))).unwrap_err();
    assert_eq!(panic_message(&*payload), "step exploded");
    assert_eq!(
        log.lines(),
        ["do a", "do b", "undo b with b-out", "undo a with a-out"]
    );
    let report = executor.into_observer();
    assert_eq!(report.outcome(), Some(Outcome::Panicked));
    assert_eq!(report.steps()[2].status, StepStatus::Failed);
}

#[test]
fn a_panicking_compensation_lets_the_others_run_then_resumes() {
    let log = Log::new();
    let undo = log.clone();
    let panicking =
        Link::new("b", |_: &mut ()| Ok(())).compensate(move |_, _| -> Result<(), String> {
            undo.push("undo b");
            panic!("undo exploded")
        });
    let mut saga: S<'_> = Saga::new("boom")
        .step(step(&log, "a"))
        .step(panicking)
        .step(failing(&log, "c"));
    let payload =
        catch_unwind(AssertUnwindSafe(|| saga.run(&mut Executor::new(), &mut ()))).unwrap_err();
    assert_eq!(panic_message(&*payload), "undo exploded");
    assert_eq!(log.lines(), ["do a", "do c", "undo b", "undo a with a-out"]);
}

#[test]
fn failed_compensations_continue_by_default_and_are_all_reported() {
    let log = Log::new();
    let mut saga: S<'_> = Saga::new("trip")
        .step(step(&log, "a"))
        .step(failing_undo(&log, "b"))
        .step(failing_undo(&log, "c"))
        .step(failing(&log, "d"));
    let error = saga.run(&mut Executor::new(), &mut ()).unwrap_err();
    assert_eq!(
        log.lines(),
        [
            "do a",
            "do b",
            "do c",
            "do d",
            "undo c",
            "undo b",
            "undo a with a-out"
        ]
    );
    let SagaError::CompensationFailed {
        failure,
        compensations,
        not_compensated,
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(failure.error(), "d failed");
    let failed: Vec<_> = compensations
        .iter()
        .map(|c| (&*c.step().name, c.error().as_str()))
        .collect();
    assert_eq!(failed, [("c", "cannot undo c"), ("b", "cannot undo b")]);
    assert!(not_compensated.is_empty());
    assert_eq!(
        error.to_string(),
        "saga NOT compensated: `d` (step 3) failed after 1 attempt: d failed; \
         compensation of `c` (step 2) failed after 1 attempt: cannot undo c; \
         compensation of `b` (step 1) failed after 1 attempt: cannot undo b"
    );
}

#[test]
fn stop_on_compensation_failure_leaves_the_rest_and_says_so() {
    let log = Log::new();
    let events = Log::new();
    let mut saga: S<'_> = Saga::new("trip")
        .step(step(&log, "a"))
        .step(failing_undo(&log, "b"))
        .step(step(&log, "c"))
        .step(failing(&log, "d"));
    let mut executor = Executor::new()
        .on_compensation_failure(OnCompensationFailure::Stop)
        .with_observer(events.observer());
    let error = saga.run(&mut executor, &mut ()).unwrap_err();
    assert_eq!(
        log.lines(),
        [
            "do a",
            "do b",
            "do c",
            "do d",
            "undo c with c-out",
            "undo b"
        ]
    );
    let SagaError::CompensationFailed {
        compensations,
        not_compensated,
        ..
    } = &error
    else {
        panic!("{error:?}")
    };
    assert_eq!(compensations.len(), 1);
    assert_eq!(not_compensated.len(), 1);
    assert_eq!(not_compensated[0].step().name, "a");
    assert!(matches!(not_compensated[0], NotCompensated::Skipped(_)));
    assert!(
        events
            .lines()
            .contains(&"compensation of `a` skipped".to_owned())
    );
    assert!(
        error
            .to_string()
            .ends_with("; not compensated: `a` (step 0): skipped: the executor stops at the first failed compensation"),
        "{error}"
    );
}

#[test]
fn compensations_retry_under_their_own_policy() {
    let log = Log::new();
    let clock = ManualClock::new();
    let mut failures_left = 2;
    let undo_log = log.clone();
    let stubborn = Link::new("a", |_: &mut ()| Ok(()))
        .compensate(move |_, _| {
            undo_log.push("undo a");
            if failures_left > 0 {
                failures_left -= 1;
                Err("busy".to_owned())
            } else {
                Ok(())
            }
        })
        .compensation_retry(Retry::times(5).constant(Duration::from_secs(1)));
    let mut saga: S<'_> = Saga::new("trip").step(stubborn).step(failing(&log, "b"));
    let error = saga
        .run(&mut Executor::new().with_clock(clock.clone()), &mut ())
        .unwrap_err();
    assert!(error.is_compensated(), "{error}");
    assert_eq!(log.lines(), ["do b", "undo a", "undo a", "undo a"]);
    assert_eq!(clock.sleeps(), [Duration::from_secs(1); 2]);
}

#[test]
fn a_compensation_that_keeps_failing_reports_every_attempt() {
    let log = Log::new();
    let failing_undo = failing_undo(&log, "a").compensation_retry(Retry::times(2));
    let mut saga: S<'_> = Saga::new("trip")
        .step(failing_undo)
        .step(failing(&log, "b"));
    let error = saga
        .run(&mut Executor::new().with_clock(ManualClock::new()), &mut ())
        .unwrap_err();
    assert_eq!(error.compensation_failures()[0].attempts(), 3);
    assert!(
        error.to_string().contains("failed after 3 attempts"),
        "{error}"
    );
}

#[test]
fn a_retriable_step_without_policy_retries_until_it_succeeds() {
    let clock = ManualClock::new();
    let mut failures_left = 20;
    let retriable = Link::new("notify", move |_: &mut ()| {
        if failures_left > 0 {
            failures_left -= 1;
            Err("down".to_owned())
        } else {
            Ok(())
        }
    })
    .kind(StepKind::Retriable);
    let mut saga: S<'_> = Saga::new("notify").step(retriable);
    saga.run(&mut Executor::new().with_clock(clock.clone()), &mut ())
        .unwrap();
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 20);
    assert_eq!(sleeps[0], Duration::from_millis(100));
    assert_eq!(
        *sleeps.last().unwrap(),
        Duration::from_secs(30),
        "exponential, capped"
    );
}

#[test]
fn events_arrive_one_per_transition_in_order() {
    let log = Log::new();
    let events = Log::new();
    let mut tries = 0;
    let flaky = Link::new("flaky", move |_: &mut ()| {
        tries += 1;
        if tries == 1 {
            Err("busy".to_owned())
        } else {
            Ok(())
        }
    })
    .compensate(|_, _| Err("stuck".to_owned()))
    .retry(Retry::times(1).constant(Duration::from_millis(5)));
    let mut saga: S<'_> = Saga::new("trip")
        .step(step(&log, "a"))
        .step(flaky)
        .step(failing(&log, "b"));
    let mut executor = Executor::new()
        .with_clock(ManualClock::new())
        .with_observer(events.observer());
    saga.run(&mut executor, &mut ()).unwrap_err();
    assert_eq!(
        events.lines(),
        [
            "saga `trip` started",
            "step `a` attempt 1 started",
            "step `a` attempt 1 succeeded",
            "step `flaky` attempt 1 started",
            "step `flaky` attempt 1 failed: busy; retrying in 5ms",
            "step `flaky` attempt 2 started",
            "step `flaky` attempt 2 succeeded",
            "step `b` attempt 1 started",
            "step `b` attempt 1 failed: b failed; giving up",
            "compensation of `flaky` attempt 1 started",
            "compensation of `flaky` attempt 1 failed: stuck; giving up",
            "compensation of `a` attempt 1 started",
            "compensation of `a` attempt 1 succeeded",
            "saga `trip` finished: compensation failed",
        ]
    );
}

#[test]
fn a_report_counts_attempts_and_times_on_its_clock() {
    let clock = ManualClock::new();
    let step_clock = clock.clone();
    let mut tries = 0;
    let slow = Link::new("slow", move |_: &mut ()| {
        tries += 1;
        step_clock.advance(Duration::from_millis(10));
        if tries < 3 {
            Err("busy".to_owned())
        } else {
            Ok(())
        }
    })
    .compensate(|_, _| Ok(()))
    .retry(Retry::times(5).constant(Duration::from_millis(100)));
    let log = Log::new();
    let mut saga: S<'_> = Saga::new("trip").step(slow).step(failing(&log, "b"));
    let mut executor = Executor::new()
        .with_clock(clock.clone())
        .with_observer(Report::new(clock));
    saga.run(&mut executor, &mut ()).unwrap_err();
    let report = executor.into_observer();
    assert_eq!(report.saga(), "trip");
    assert_eq!(report.outcome(), Some(Outcome::Compensated));
    let slow = &report.steps()[0];
    assert_eq!((slow.attempts, slow.compensation_attempts), (3, 1));
    assert_eq!(slow.status, StepStatus::Compensated);
    assert_eq!(slow.duration, Duration::from_millis(230));
    assert_eq!(report.steps()[1].status, StepStatus::Failed);
    assert_eq!(report.duration(), Duration::from_millis(230));
    let text = report.to_string();
    assert!(
        text.starts_with("saga `trip`: compensated in 230ms"),
        "{text}"
    );
}

#[test]
fn a_saga_can_run_again_after_a_failure() {
    let log = Log::new();
    let run = log.clone();
    let mut calls = 0;
    let fails_once = Link::new("b", move |_: &mut ()| {
        calls += 1;
        run.push(format!("do b #{calls}"));
        if calls == 1 {
            Err("busy".to_owned())
        } else {
            Ok(())
        }
    });
    let mut saga: S<'_> = Saga::new("again").step(step(&log, "a")).step(fails_once);
    let mut executor = Executor::new();
    saga.run(&mut executor, &mut ()).unwrap_err();
    saga.run(&mut executor, &mut ()).unwrap();
    assert_eq!(
        log.lines(),
        ["do a", "do b #1", "undo a with a-out", "do a", "do b #2"],
        "the second run starts afresh"
    );
}
