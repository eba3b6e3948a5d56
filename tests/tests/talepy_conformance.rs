//! talepy's test suite (TALEPY.md section 3, items 1-21) and the behaviours it leaves
//! untested, ported to tale's runtime-composed form (`Saga`, `Link`, `run_transaction`).
//!
//! talepy threads a state value from step to step; tale threads `&mut S` and lets each
//! step return an output that its own compensation is lent. The counting step below
//! returns the new state as its output, so that "compensated with its own output" reads
//! as in talepy. Where tale deviates on purpose, the test says so.

use tale::compose::{Link, Saga, run_transaction};
use tale::step::{Describe, from_fn};
use tale::{Executor, GaveUp, Retry, SagaError, Step, StepExt};
use tests::Log;

#[derive(Debug, Clone, PartialEq)]
struct Fail(&'static str);

impl std::fmt::Display for Fail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// talepy's `MockCountingStep`: logs, adds one, and is compensated with what it returned.
fn counting<'a>(log: &Log) -> Link<'a, i32, Fail> {
    let (run, undo) = (log.clone(), log.clone());
    Link::new("counting", move |s: &mut i32| {
        run.push(format!("run execute: {s}"));
        *s += 1;
        Ok(*s)
    })
    .compensate(move |_, out: Option<&i32>| {
        undo.push(format!("run compensate: {}", out.unwrap()));
        Ok(())
    })
}

/// talepy's `AlwaysFailsStep`.
fn always_fails<'a>() -> Link<'a, i32, Fail> {
    Link::new("always fails", |_: &mut i32| {
        Err::<(), _>(Fail("oh no - How shocking"))
    })
    .into()
}

// 1. test_a_transaction_runs_a_step_it_wraps
#[test]
fn a_transaction_runs_a_step_it_wraps() {
    let log = Log::new();
    run_transaction([counting(&log)], &mut 0).unwrap();
    assert_eq!(log.lines(), ["run execute: 0"]);
}

// 2. test_a_transaction_runs_many_steps_it_wraps_and_passes_state
#[test]
fn a_transaction_runs_many_steps_and_passes_state() {
    let log = Log::new();
    run_transaction([counting(&log), counting(&log)], &mut 0).unwrap();
    assert_eq!(log.lines(), ["run execute: 0", "run execute: 1"]);
}

// 3. test_final_state_is_returned
#[test]
fn final_state_is_returned() {
    let log = Log::new();
    let mut state = 0;
    run_transaction([counting(&log), counting(&log)], &mut state).unwrap();
    assert_eq!(state, 2);
}

// 4. test_if_a_transaction_fails_all_compensations_are_applied
// tale also pins the order (reverse) and that the original error comes back.
#[test]
fn if_a_transaction_fails_all_compensations_are_applied_in_reverse() {
    let log = Log::new();
    let error =
        run_transaction([counting(&log), counting(&log), always_fails()], &mut 0).unwrap_err();
    assert_eq!(
        log.lines(),
        [
            "run execute: 0",
            "run execute: 1",
            "run compensate: 2",
            "run compensate: 1"
        ]
    );
    assert!(error.is_compensated());
    assert_eq!(*error.failure().error(), Fail("oh no - How shocking"));
}

// 5. test_if_a_transaction_fails_later_steps_are_ignored
#[test]
fn if_a_transaction_fails_later_steps_are_ignored() {
    let log = Log::new();
    let later = log.clone();
    let never: Link<'_, i32, Fail> = Link::new("never", move |_: &mut i32| {
        later.push("later step ran");
        Ok(())
    })
    .into();
    run_transaction([counting(&log), always_fails(), never], &mut 0).unwrap_err();
    assert!(
        !log.lines().iter().any(|l| l == "later step ran"),
        "{:?}",
        log.lines()
    );
}

// 6. test_exceptions_are_raised_eventually
#[test]
fn errors_are_returned_eventually() {
    let error = run_transaction([always_fails()], &mut 0).unwrap_err();
    assert_eq!(error.into_step_error(), Fail("oh no - How shocking"));
}

// 7. test_single_lambdas_are_turned_into_steps
#[test]
fn single_closures_are_turned_into_steps() {
    let mut state = 0;
    let steps: [Link<'_, i32, Fail>; 2] = [
        Link::new("+1", |x: &mut i32| *x += 1).into(),
        Link::new("+2", |x: &mut i32| *x += 2).into(),
    ];
    run_transaction(steps, &mut state).unwrap();
    assert_eq!(state, 3);
}

// 8. test_pairs_of_lambdas_are_turned_into_a_step
#[test]
fn pairs_of_closures_are_turned_into_a_step() {
    let mut state = 0;
    let steps: [Link<'_, i32, Fail>; 2] = [
        Link::new("+1", |x: &mut i32| *x += 1).compensate(|x, _| *x -= 1),
        Link::new("+2", |x: &mut i32| *x += 2).compensate(|x, _| *x -= 2),
    ];
    run_transaction(steps, &mut state).unwrap();
    assert_eq!(state, 3);
}

// 9. test_failures_in_compensations_are_caught_and_bundled
// tale keeps the original error beside the compensation errors (talepy replaces it).
#[test]
fn failures_in_compensations_are_caught_and_bundled_in_reverse_order() {
    let steps: [Link<'_, i32, Fail>; 3] = [
        Link::new("one", |_: &mut i32| Ok(())).compensate(|_, _| Err(Fail("reverting one"))),
        Link::new("two", |_: &mut i32| Ok(())).compensate(|_, _| Err(Fail("reverting two"))),
        always_fails(),
    ];
    let error = run_transaction(steps, &mut 0).unwrap_err();
    let SagaError::CompensationFailed {
        failure,
        compensations,
        not_compensated,
    } = error
    else {
        panic!("expected failed compensations, got {error:?}")
    };
    let messages: Vec<_> = compensations.iter().map(|c| c.error().0).collect();
    assert_eq!(messages, ["reverting two", "reverting one"]);
    assert_eq!(compensations[0].step().name, "two");
    assert_eq!(*failure.error(), Fail("oh no - How shocking"));
    assert!(not_compensated.is_empty());
}

/// A step that fails `failures` times, then returns its input state, logging each try.
fn flaky<'a>(log: &Log, failures: u32, policy: Retry<Fail>) -> Link<'a, i32, Fail> {
    let log = log.clone();
    let mut calls = 0;
    Link::new("flaky", move |s: &mut i32| {
        calls += 1;
        log.push(format!("trying with {s}"));
        if calls <= failures {
            Err(Fail("first fail"))
        } else {
            Ok(*s)
        }
    })
    .retry(policy)
}

// 10. test_the_retry_is_run: one failure, the retry gets the same input and is accepted.
#[test]
fn the_retry_is_run() {
    let log = Log::new();
    run_transaction([flaky(&log, 1, Retry::times(1))], &mut 0).unwrap();
    assert_eq!(log.lines(), ["trying with 0", "trying with 0"]);
}

// 11. test_a_second_retry_can_be_run
#[test]
fn a_second_retry_can_be_run() {
    let log = Log::new();
    run_transaction([flaky(&log, 2, Retry::times(5))], &mut 0).unwrap();
    assert_eq!(log.lines().len(), 3);
}

// 12. test_retries_can_be_stopped_by_raising_abort_retries
// tale: a permanent error stops retrying at once. It counts as an attempt and is kept
// as the last error (talepy leaves `AbortRetries` out of the list).
#[test]
fn retries_stop_at_a_permanent_error() {
    let mut calls = 0;
    let step: Link<'_, i32, Fail> = Link::new("aborting", move |_: &mut i32| {
        calls += 1;
        Err::<(), _>(if calls < 2 {
            Fail("transient")
        } else {
            Fail("abort")
        })
    })
    .retry(Retry::times(10).retry_if(|e| e.0 != "abort"));
    let error = run_transaction([step], &mut 0).unwrap_err();
    let failure = error.failure();
    assert_eq!(failure.attempts(), 2);
    assert_eq!(failure.gave_up(), GaveUp::Permanent);
    assert_eq!(failure.errors(), [Fail("transient"), Fail("abort")]);
    assert!(
        error
            .to_string()
            .contains("failed after 2 attempts (permanent error)"),
        "{error}"
    );
}

// 13. test_helper_method_runs_the_step_the_expected_number_of_times
#[test]
fn times_two_runs_the_step_three_times() {
    let log = Log::new();
    let error = run_transaction([flaky(&log, 99, Retry::times(2))], &mut 0).unwrap_err();
    assert_eq!(log.lines().len(), 3);
    assert_eq!(error.failure().attempts(), 3);
    assert!(
        error.to_string().contains("failed after 3 attempts"),
        "{error}"
    );
}

// 14. test_execute_calls_the_first_lambda
#[test]
fn execute_calls_the_first_closure() {
    let mut step = from_fn(|| Ok::<_, Fail>("hello world")).with_compensation(|_: &&str| Ok(()));
    assert_eq!(step.execute().unwrap(), "hello world");
}

// 15. test_compensate_calls_the_second_lambda_with_the_supplied_state
#[test]
fn compensate_calls_the_second_closure_with_the_output() {
    let log = Log::new();
    let mut step =
        from_fn(|| Ok::<_, Fail>("world")).with_compensation(|out: &&str| log.push(*out));
    step.compensate(&"world").unwrap();
    assert_eq!(log.lines(), ["world"]);
}

// 16. test_compensate_step_is_optional
#[test]
fn compensate_step_is_optional() {
    let mut step = from_fn(|| Ok::<_, Fail>(1));
    assert!(!step.has_compensation());
    step.compensate(&1).unwrap();
}

// 17. test_things_that_should_turn_into_steps: a Step impl, closure pairs, single
// closures, pairs of fns and single fns are all steps. (18, things that should not, are
// compile errors in tale: see the `compile_fail` examples on `from_fn`.)
#[test]
fn things_that_turn_into_steps() {
    struct Custom;

    impl Describe for Custom {
        type Error = Fail;
    }

    impl Step for Custom {
        type Output = ();
        fn execute(&mut self) -> Result<(), Fail> {
            Ok(())
        }
        fn compensate(&mut self, (): &()) -> Result<(), Fail> {
            Ok(())
        }
    }
    fn plain() -> Result<u8, Fail> {
        Ok(1)
    }
    fn undo(_: &u8) -> Result<(), Fail> {
        Ok(())
    }
    let mut executor = Executor::new();
    executor.run_step(Custom).unwrap();
    assert_eq!(
        executor
            .run_step(from_fn(|| Ok::<_, Fail>(1)).with_compensation(|_: &i32| Ok(())))
            .unwrap(),
        1
    );
    assert_eq!(executor.run_step(from_fn(|| Ok::<_, Fail>(2))).unwrap(), 2);
    assert_eq!(
        executor
            .run_step(from_fn(plain).with_compensation(undo))
            .unwrap(),
        1
    );
    assert_eq!(executor.run_step(from_fn(plain).named("plain")).unwrap(), 1);
}

// 19-21 test talepy's `arity`, `is_arity_one_pair` and `partition` helpers, which exist
// to inspect Python callables at run time; Rust's types make them unnecessary.

// Untested in talepy: the retry counter leaks between runs. tale's counters are per run.
#[test]
fn retry_counters_are_per_run() {
    let log = Log::new();
    let mut saga = Saga::new("twice").step(flaky(&log, 99, Retry::times(2)));
    for run in 1..=2 {
        let error = saga.run(&mut Executor::new(), &mut 0).unwrap_err();
        assert_eq!(error.failure().attempts(), 3, "run {run}");
    }
    assert_eq!(log.lines().len(), 6);
}

// Untested in talepy: a step returning `None` replaces the state. In tale a step that
// returns `()` leaves the state alone.
#[test]
fn a_step_returning_unit_keeps_the_state() {
    let mut state = 5;
    let log = Log::new();
    let steps: [Link<'_, i32, Fail>; 2] = [
        Link::new("print", |s: &mut i32| println!("state {s}")).into(),
        counting(&log),
    ];
    run_transaction(steps, &mut state).unwrap();
    assert_eq!(state, 6);
}

// Untested in talepy: an empty step list returns the starting state.
#[test]
fn an_empty_saga_succeeds_and_keeps_the_state() {
    let mut state = 7;
    run_transaction(Vec::<Link<'_, i32, Fail>>::new(), &mut state).unwrap();
    assert_eq!(state, 7);
    assert!(Saga::<i32, Fail>::new("empty").is_empty());
}

// Untested in talepy: `CompensationFailure` hides the original error in `__context__`.
// tale's error keeps it as its source.
#[test]
fn the_original_error_is_the_source() {
    let steps: [Link<'_, i32, std::io::Error>; 2] = [
        Link::new("a", |_: &mut i32| Ok(())).compensate(|_, _| Err(std::io::Error::other("undo"))),
        Link::new("b", |_: &mut i32| {
            Err::<(), _>(std::io::Error::other("boom"))
        })
        .into(),
    ];
    let error = run_transaction(steps, &mut 0).unwrap_err();
    let step_failure = std::error::Error::source(&error).unwrap();
    assert!(step_failure.to_string().contains("`b`"), "{step_failure}");
    assert_eq!(
        std::error::Error::source(step_failure).unwrap().to_string(),
        "boom"
    );
}
