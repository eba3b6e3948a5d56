//! Retry policies under an injected clock: the delays slept, jitter bounds, time
//! budgets, permanent errors and per-run counters. No test waits for real time.

use std::time::Duration;

use tale::step::from_fn;
use tale::{Executor, GaveUp, ManualClock, Retry, StepExt, Transient};

const MS: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Error {
    Busy,
    Declined,
}

impl Transient for Error {
    fn is_transient(&self) -> bool {
        matches!(self, Error::Busy)
    }
}

/// Runs a step that always fails with `Busy` under `policy`; returns the attempts made
/// and the delays slept.
fn always_busy(policy: Retry<Error>, executor_seed: u64) -> (usize, GaveUp, Vec<Duration>) {
    let clock = ManualClock::new();
    let mut executor = Executor::new()
        .with_clock(clock.clone())
        .jitter_seed(executor_seed);
    let error = executor
        .run_step(from_fn(|| Err::<(), _>(Error::Busy)).retry(policy))
        .unwrap_err();
    (
        error.failure().attempts(),
        error.failure().gave_up(),
        clock.sleeps(),
    )
}

#[test]
fn no_policy_means_one_attempt() {
    let clock = ManualClock::new();
    let mut calls = 0;
    let error = Executor::new()
        .with_clock(clock.clone())
        .run_step(from_fn(|| {
            calls += 1;
            Err::<(), _>(Error::Busy)
        }))
        .unwrap_err();
    assert_eq!(calls, 1);
    assert_eq!(error.failure().gave_up(), GaveUp::AttemptsExhausted);
    assert!(clock.sleeps().is_empty());
}

#[test]
fn constant_backoff_sleeps_the_same_between_attempts() {
    let (attempts, gave_up, sleeps) = always_busy(Retry::times(3).constant(250 * MS), 0);
    assert_eq!(attempts, 4);
    assert_eq!(gave_up, GaveUp::AttemptsExhausted);
    assert_eq!(sleeps, [250 * MS; 3]);
}

#[test]
fn exponential_backoff_doubles_and_respects_max_delay() {
    let (_, _, sleeps) = always_busy(Retry::times(4).exponential(100 * MS), 0);
    assert_eq!(sleeps, [100 * MS, 200 * MS, 400 * MS, 800 * MS]);
    let (_, _, capped) = always_busy(Retry::times(4).exponential(100 * MS).max_delay(300 * MS), 0);
    assert_eq!(capped, [100 * MS, 200 * MS, 300 * MS, 300 * MS]);
    let (_, _, tripled) = always_busy(Retry::times(3).exponential_by(10 * MS, 3.0), 0);
    assert_eq!(tripled, [10 * MS, 30 * MS, 90 * MS]);
}

#[test]
fn custom_backoff_is_any_sequence_and_restarts_each_run() {
    let fibonacci = [1, 1, 2, 3, 5].map(|n| n * MS);
    let policy = Retry::until_success().backoff(fibonacci);
    for _ in 0..2 {
        let (attempts, gave_up, sleeps) = always_busy(policy.clone(), 0);
        assert_eq!(sleeps, fibonacci);
        assert_eq!(attempts, 6);
        assert_eq!(gave_up, GaveUp::AttemptsExhausted);
    }
    // A count shorter than the sequence wins.
    let (attempts, _, _) = always_busy(Retry::times(2).backoff(fibonacci), 0);
    assert_eq!(attempts, 3);
}

#[test]
fn proportional_jitter_stays_within_bounds_and_repeats_with_a_seed() {
    let policy = Retry::times(200).constant(100 * MS).jitter(0.5);
    let (_, _, sleeps) = always_busy(policy.clone(), 42);
    assert!(
        sleeps.iter().all(|d| (50 * MS..=150 * MS).contains(d)),
        "{sleeps:?}"
    );
    assert!(sleeps.iter().any(|d| *d < 75 * MS) && sleeps.iter().any(|d| *d > 125 * MS));
    assert_eq!(
        always_busy(policy.clone(), 42).2,
        sleeps,
        "same seed, same delays"
    );
    assert_ne!(
        always_busy(policy, 43).2,
        sleeps,
        "another seed, other delays"
    );
}

#[test]
fn jitter_is_applied_before_the_cap() {
    let policy = Retry::times(100)
        .constant(100 * MS)
        .jitter(1.0)
        .max_delay(120 * MS);
    let (_, _, sleeps) = always_busy(policy, 7);
    assert!(sleeps.iter().all(|d| *d <= 120 * MS));
    assert!(
        sleeps.contains(&(120 * MS)),
        "some draws above the cap are capped"
    );
}

#[test]
fn full_jitter_draws_below_the_delay() {
    let (_, _, sleeps) = always_busy(
        Retry::times(200)
            .exponential(10 * MS)
            .max_delay(MS * 80)
            .full_jitter(),
        3,
    );
    assert!(sleeps.iter().all(|d| *d <= 80 * MS));
    assert!(sleeps.iter().any(|d| *d < 10 * MS));
}

#[test]
fn max_elapsed_stops_retrying_when_the_next_delay_would_overrun() {
    // Each attempt takes 1 s on the manual clock and the delays are 1 s. The first
    // failure is at t=1 s and the budget ends at t=6 s: failures at 1, 3 and 5 s are
    // retried (the last retry starts at exactly 6 s); after the one at 7 s, the next
    // delay would end at 8 s, past the budget.
    let clock = ManualClock::new();
    let mut attempts = 0;
    let step_clock = clock.clone();
    let error = Executor::new()
        .with_clock(clock.clone())
        .run_step(
            from_fn(|| {
                attempts += 1;
                step_clock.advance(Duration::from_secs(1));
                Err::<(), _>(Error::Busy)
            })
            .retry(
                Retry::until_success()
                    .constant(Duration::from_secs(1))
                    .max_elapsed(Duration::from_secs(5)),
            ),
        )
        .unwrap_err();
    assert_eq!(error.failure().gave_up(), GaveUp::TimeBudgetExhausted);
    assert_eq!(attempts, 4);
    assert_eq!(clock.sleeps().len(), 3);
}

#[test]
fn permanent_errors_fail_at_once_transient_ones_are_retried() {
    let clock = ManualClock::new();
    let mut results = vec![
        Err(Error::Busy),
        Err(Error::Busy),
        Err(Error::Declined),
        Ok(()),
    ]
    .into_iter();
    let error = Executor::new()
        .with_clock(clock.clone())
        .run_step(from_fn(|| results.next().unwrap()).retry(Retry::times(10).transient_only()))
        .unwrap_err();
    assert_eq!(error.failure().gave_up(), GaveUp::Permanent);
    assert_eq!(
        error.failure().errors(),
        [Error::Busy, Error::Busy, Error::Declined]
    );
    assert_eq!(clock.sleeps().len(), 2);
}

#[test]
fn a_step_that_recovers_returns_its_output() {
    let clock = ManualClock::new();
    let mut results = vec![Err(Error::Busy), Ok(7)].into_iter();
    let out = Executor::new()
        .with_clock(clock)
        .run_step(from_fn(|| results.next().unwrap()).retry(Retry::times(1)))
        .unwrap();
    assert_eq!(out, 7);
}
