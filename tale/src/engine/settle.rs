//! Settling attempts: what follows a failed (or succeeded) attempt of a step or a
//! compensation, under its retry policy: the events, the delay, the recorded failure.

use std::time::Duration;

use super::executor::OnCompensationFailure;
use super::run::{Caught, Flow, Run, Tries, Trouble, Unwind, default_policy};
use crate::clock::Clock;
use crate::error::{CompensationFailure, NotCompensated, StepFailure, StepId};
use crate::observe::{Event, Observer, StepRef};
use crate::retry::{Attempts, Decision, GaveUp, Retry};
use crate::rng::Rng;
use crate::step::Describe;

impl<E, O: Observer<E>, C: Clock> Run<'_, E, O, C> {
    /// Decides after a failed attempt, reading the clock, building the policy and
    /// drawing jitter only now: a step that succeeds pays for none of it. Without a
    /// policy (`policy()` is `None`) the first failure gives up at once, as
    /// `Retry::times(0)` would, without building any retry state.
    fn decide(
        &mut self,
        tries: &mut Tries<E>,
        policy: impl FnOnce() -> Option<Retry<E>>,
        error: &E,
    ) -> Decision {
        let attempts = match &mut tries.policy {
            Some(attempts) => attempts,
            None => match policy() {
                Some(policy) => tries.policy.insert(Attempts::new(policy)),
                None => return Decision::GiveUp(GaveUp::AttemptsExhausted),
            },
        };
        let clock = &self.executor.clock;
        let seed = self.executor.jitter_seed;
        let trouble = &mut self.trouble;
        let rng = move || {
            // Moved, not borrowed: the closure runs once and hands the generator out.
            let trouble = trouble;
            trouble
                .get_or_insert_with(Trouble::new)
                .rng
                .get_or_insert_with(|| seed.map_or_else(Rng::from_entropy, Rng::new))
        };
        attempts.after_failure(error, || clock.now(), rng)
    }

    /// Handles the end of an attempt of a step: emits its events and decides what next.
    pub(crate) fn settle<S: Describe<Error = E> + ?Sized, T>(
        &mut self,
        index: usize,
        described: &S,
        tries: &mut Tries<E>,
        result: Caught<T, E>,
    ) -> Flow<T, E> {
        let step = StepRef::of(index, described);
        let attempt = tries.attempt;
        let error = match result {
            Ok(Ok(output)) => {
                self.emit(&Event::AttemptSucceeded { step, attempt });
                return Flow::Done(output);
            }
            Ok(Err(error)) => error,
            Err(payload) => {
                self.emit(&Event::AttemptPanicked { step, attempt });
                return Flow::Fail(Unwind::Panicked(payload));
            }
        };
        let policy = || {
            described
                .retry_policy()
                .or_else(|| default_policy(described.kind()))
        };
        let decision = self.decide(tries, policy, &error);
        let retry_in = decision.delay();
        self.emit(&Event::AttemptFailed {
            step,
            attempt,
            error: &error,
            retry_in,
        });
        tries.errors.push(error);
        match decision {
            Decision::RetryAfter(delay) => {
                tries.attempt += 1;
                Flow::Retry(delay)
            }
            Decision::GiveUp(gave_up) => Flow::Fail(Unwind::Failed(Box::new(StepFailure {
                step: StepId::of(index, described),
                errors: std::mem::take(&mut tries.errors),
                gave_up,
                siblings: Vec::new(),
            }))),
        }
    }

    /// Fails a step at once with `error`, whatever its policy says: the saga was
    /// cancelled or ran out of time.
    pub(crate) fn give_up<S: Describe<Error = E> + ?Sized>(
        &mut self,
        index: usize,
        described: &S,
        tries: &mut Tries<E>,
        error: E,
        gave_up: GaveUp,
    ) -> Unwind<E> {
        let step = StepRef::of(index, described);
        let attempt = tries.attempt;
        self.emit(&Event::AttemptFailed {
            step,
            attempt,
            error: &error,
            retry_in: None,
        });
        tries.errors.push(error);
        Unwind::Failed(Box::new(StepFailure {
            step: StepId::of(index, described),
            errors: std::mem::take(&mut tries.errors),
            gave_up,
            siblings: Vec::new(),
        }))
    }

    /// Handles the end of an attempt of a compensation: emits its events, records a
    /// failure for good, and returns the delay before the next attempt, if any.
    pub(crate) fn settle_compensation<S: Describe<Error = E> + ?Sized>(
        &mut self,
        index: usize,
        described: &S,
        tries: &mut Tries<E>,
        result: Caught<(), E>,
        uncertain: bool,
    ) -> Option<Duration> {
        let step = StepRef::of(index, described);
        let attempt = tries.attempt;
        let error = match result {
            Ok(Ok(())) => {
                self.emit(&Event::CompensationSucceeded { step, attempt });
                return None;
            }
            Ok(Err(error)) => error,
            Err(payload) => {
                // A panic is a bug, not a failure to retry: the remaining
                // compensations still run, and the panic resumes at the end.
                self.emit(&Event::CompensationFailed {
                    step,
                    attempt,
                    error: None,
                    retry_in: None,
                });
                self.trouble().compensation_panic.get_or_insert(payload);
                self.trouble()
                    .not_compensated
                    .push(NotCompensated::Panicked(StepId::of(index, described)));
                self.stop_if_asked();
                return None;
            }
        };
        let decision = self.decide(tries, || described.compensation_retry_policy(), &error);
        let retry_in = decision.delay();
        self.emit(&Event::CompensationFailed {
            step,
            attempt,
            error: Some(&error),
            retry_in,
        });
        tries.errors.push(error);
        match decision {
            Decision::RetryAfter(delay) => {
                tries.attempt += 1;
                Some(delay)
            }
            Decision::GiveUp(gave_up) => {
                self.trouble().compensations.push(CompensationFailure {
                    step: StepId::of(index, described),
                    errors: std::mem::take(&mut tries.errors),
                    gave_up,
                    uncertain,
                });
                self.stop_if_asked();
                None
            }
        }
    }

    pub(crate) fn stop_if_asked(&mut self) {
        if self.executor.on_compensation_failure == OnCompensationFailure::Stop {
            self.trouble().stopped = true;
        }
    }
}
