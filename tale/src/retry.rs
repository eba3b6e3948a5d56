//! Retry policies: how many attempts, how long between them, and which errors deserve one.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::rng::Rng;

/// Says whether an error is worth another attempt.
///
/// Implement it on your error type and build policies with
/// [`Retry::transient_only`]; or pass any predicate to [`Retry::retry_if`].
///
/// # Examples
///
/// ```
/// use tale::{Retry, Transient};
///
/// #[derive(Debug)]
/// enum PaymentError { Timeout, CardDeclined }
///
/// impl Transient for PaymentError {
///     fn is_transient(&self) -> bool { matches!(self, PaymentError::Timeout) }
/// }
///
/// let policy: Retry<PaymentError> = Retry::times(3).transient_only();
/// # let _ = policy;
/// ```
pub trait Transient {
    /// True if another attempt may succeed; false for a permanent (business) error,
    /// which fails the step at once (talepy's `AbortRetries`).
    fn is_transient(&self) -> bool;
}

/// A retry policy for a step or a compensation.
///
/// `Retry::times(n)` allows `n` retries, so `n + 1` attempts (talepy's
/// `attempt_retries(step, times=n)`). Between attempts the executor sleeps on its
/// [`Clock`](crate::Clock) for the delay the backoff gives, after jitter and the
/// `max_delay` cap. Retrying stops early on a permanent error or when the time budget
/// is spent. A policy holds no counters: every run of every step starts afresh.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tale::Retry;
///
/// // 4 attempts, waiting 100 ms, 200 ms, 400 ms (each +-20 %), never over 300 ms,
/// // for no longer than 2 s after the first failure.
/// let policy: Retry<std::io::Error> = Retry::times(3)
///     .exponential(Duration::from_millis(100))
///     .jitter(0.2)
///     .max_delay(Duration::from_millis(300))
///     .max_elapsed(Duration::from_secs(2))
///     .retry_if(|e| e.kind() != std::io::ErrorKind::PermissionDenied);
/// assert_eq!(policy.max_attempts(), Some(4));
/// ```
pub struct Retry<E> {
    retries: Option<u32>,
    backoff: Backoff,
    jitter: Jitter,
    max_delay: Option<Duration>,
    max_elapsed: Option<Duration>,
    transient: Option<fn(&E) -> bool>,
}

#[derive(Clone)]
enum Backoff {
    Immediate,
    Constant(Duration),
    Exponential { initial: Duration, factor: f64 },
    Custom(Arc<dyn Fn() -> Box<dyn Iterator<Item = Duration> + Send> + Send + Sync>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Jitter {
    None,
    /// Scale by a factor drawn uniformly from `[1 - f, 1 + f]`.
    Proportional(f64),
    /// Draw uniformly from `[0, delay]` (AWS's "full jitter").
    Full,
}

impl<E> Clone for Retry<E> {
    fn clone(&self) -> Self {
        Self {
            retries: self.retries,
            backoff: self.backoff.clone(),
            jitter: self.jitter,
            max_delay: self.max_delay,
            max_elapsed: self.max_elapsed,
            transient: self.transient,
        }
    }
}

impl<E> fmt::Debug for Retry<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let backoff: &dyn fmt::Debug = match &self.backoff {
            Backoff::Immediate => &"immediate",
            Backoff::Constant(d) => d,
            Backoff::Exponential { initial, .. } => initial,
            Backoff::Custom(_) => &"custom",
        };
        f.debug_struct("Retry")
            .field("retries", &self.retries)
            .field("backoff", backoff)
            .field("jitter", &self.jitter)
            .field("max_delay", &self.max_delay)
            .field("max_elapsed", &self.max_elapsed)
            .field("classified", &self.transient.is_some())
            .finish()
    }
}

impl<E> Retry<E> {
    /// `n` retries after the first attempt (`n + 1` attempts), with no delay until a
    /// backoff is chosen. `times(0)` is a single attempt.
    #[must_use]
    pub const fn times(n: u32) -> Self {
        Self::with_limit(Some(n))
    }

    /// Retries until the step succeeds, the error is permanent, the time budget is
    /// spent or a custom backoff ends. Meant for compensations and retriable steps.
    #[must_use]
    pub const fn until_success() -> Self {
        Self::with_limit(None)
    }

    const fn with_limit(retries: Option<u32>) -> Self {
        Self {
            retries,
            backoff: Backoff::Immediate,
            jitter: Jitter::None,
            max_delay: None,
            max_elapsed: None,
            transient: None,
        }
    }

    /// The same delay before every retry.
    #[must_use]
    pub fn constant(mut self, delay: Duration) -> Self {
        self.backoff = Backoff::Constant(delay);
        self
    }

    /// Delays of `initial`, then twice the previous one: `initial * 2^k` before retry `k + 1`.
    #[must_use]
    pub fn exponential(self, initial: Duration) -> Self {
        self.exponential_by(initial, 2.0)
    }

    /// Delays of `initial * factor^k` before retry `k + 1`. A `factor` below 1 is taken as 1.
    #[must_use]
    pub fn exponential_by(mut self, initial: Duration, factor: f64) -> Self {
        self.backoff = Backoff::Exponential {
            initial,
            factor: factor.max(1.0),
        };
        self
    }

    /// Delays taken from any sequence of durations, such as those backon or tokio-retry
    /// produce. The sequence restarts for every run of the step; retrying stops when it
    /// ends, or earlier if the retry count says so.
    #[must_use]
    pub fn backoff<I>(mut self, delays: I) -> Self
    where
        I: IntoIterator<Item = Duration> + Clone + Send + Sync + 'static,
        I::IntoIter: Send + 'static,
    {
        self.backoff = Backoff::Custom(Arc::new(move || Box::new(delays.clone().into_iter())));
        self
    }

    /// Randomises each delay by up to `fraction` of it either way: a delay `d` becomes a
    /// value drawn uniformly from `[d * (1 - fraction), d * (1 + fraction)]`, before the
    /// `max_delay` cap. `fraction` is clamped to `0..=1`.
    #[must_use]
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = Jitter::Proportional(fraction.clamp(0.0, 1.0));
        self
    }

    /// Replaces each delay `d` by a value drawn uniformly from `[0, d]` ("full jitter"),
    /// which spreads out clients that failed together.
    #[must_use]
    pub fn full_jitter(mut self) -> Self {
        self.jitter = Jitter::Full;
        self
    }

    /// Caps every delay, after jitter.
    #[must_use]
    pub fn max_delay(mut self, cap: Duration) -> Self {
        self.max_delay = Some(cap);
        self
    }

    /// The time budget for retrying, counted on the executor's clock from the first
    /// failure: a retry whose delay would end past it is not made.
    #[must_use]
    pub fn max_elapsed(mut self, budget: Duration) -> Self {
        self.max_elapsed = Some(budget);
        self
    }

    /// Retries only errors for which `is_transient` returns true; any other error is
    /// permanent and fails the step at once. Without a predicate every error is transient.
    #[must_use]
    pub fn retry_if(mut self, is_transient: fn(&E) -> bool) -> Self {
        self.transient = Some(is_transient);
        self
    }

    /// Classifies errors with their [`Transient`] impl.
    #[must_use]
    pub fn transient_only(self) -> Self
    where
        E: Transient,
    {
        self.retry_if(E::is_transient)
    }

    /// The most attempts this policy allows, or `None` if it sets no count.
    #[must_use]
    pub fn max_attempts(&self) -> Option<u32> {
        self.retries.map(|n| n.saturating_add(1))
    }

    /// Whether `error` is worth retrying under this policy.
    #[must_use]
    pub fn is_transient(&self, error: &E) -> bool {
        self.transient.is_none_or(|f| f(error))
    }
}

/// Why a step or compensation stopped being retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GaveUp {
    /// The policy allows no more attempts (with no policy, one attempt is all there is).
    AttemptsExhausted,
    /// The error was classified as permanent.
    Permanent,
    /// The next delay would have ended past the policy's `max_elapsed`.
    TimeBudgetExhausted,
    /// The saga's deadline passed during the attempt.
    DeadlineExceeded,
    /// The saga was cancelled during the attempt.
    Cancelled,
    /// The saga was interrupted (a crash while the step ran, or a journal that could
    /// not be written).
    Interrupted,
}

impl fmt::Display for GaveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GaveUp::AttemptsExhausted => "no attempts left",
            GaveUp::Permanent => "permanent error",
            GaveUp::TimeBudgetExhausted => "retry time budget spent",
            GaveUp::DeadlineExceeded => "saga deadline exceeded",
            GaveUp::Cancelled => "saga cancelled",
            GaveUp::Interrupted => "saga interrupted",
        })
    }
}

/// What to do after a failed attempt.
#[derive(Debug, PartialEq)]
pub(crate) enum Decision {
    RetryAfter(Duration),
    GiveUp(GaveUp),
}

impl Decision {
    pub(crate) fn delay(&self) -> Option<Duration> {
        match self {
            Decision::RetryAfter(d) => Some(*d),
            Decision::GiveUp(_) => None,
        }
    }
}

/// One run of a policy: the counters and the backoff sequence, fresh for each run.
pub(crate) struct Attempts<E> {
    policy: Retry<E>,
    retries_made: u32,
    first_failure: Option<Duration>,
    custom: Option<Box<dyn Iterator<Item = Duration> + Send>>,
}

impl<E> Attempts<E> {
    pub(crate) fn new(policy: Retry<E>) -> Self {
        let custom = match &policy.backoff {
            Backoff::Custom(make) => Some(make()),
            _ => None,
        };
        Self {
            policy,
            retries_made: 0,
            first_failure: None,
            custom,
        }
    }

    /// Decides after a failed attempt whose error is `error`, at time `now`.
    /// The clock is read, and the jitter generator made, only if the policy needs them.
    pub(crate) fn after_failure<'r>(
        &mut self,
        error: &E,
        now: impl FnOnce() -> Duration,
        rng: impl FnOnce() -> &'r mut Rng,
    ) -> Decision {
        if !self.policy.is_transient(error) {
            return Decision::GiveUp(GaveUp::Permanent);
        }
        if self.policy.retries.is_some_and(|n| self.retries_made >= n) {
            return Decision::GiveUp(GaveUp::AttemptsExhausted);
        }
        let Some(delay) = self.next_delay(rng) else {
            return Decision::GiveUp(GaveUp::AttemptsExhausted);
        };
        if let Some(budget) = self.policy.max_elapsed {
            let now = now();
            let first = *self.first_failure.get_or_insert(now);
            if now.saturating_sub(first).saturating_add(delay) > budget {
                return Decision::GiveUp(GaveUp::TimeBudgetExhausted);
            }
        }
        self.retries_made += 1;
        Decision::RetryAfter(delay)
    }

    fn next_delay<'r>(&mut self, rng: impl FnOnce() -> &'r mut Rng) -> Option<Duration> {
        let k = self.retries_made;
        let base = match &self.policy.backoff {
            Backoff::Immediate => Duration::ZERO,
            Backoff::Constant(d) => *d,
            Backoff::Exponential { initial, factor } => {
                let exponent = i32::try_from(k).unwrap_or(i32::MAX);
                Duration::try_from_secs_f64(initial.as_secs_f64() * factor.powi(exponent))
                    .unwrap_or(Duration::MAX)
            }
            Backoff::Custom(_) => self.custom.as_mut()?.next()?,
        };
        let jittered = match self.policy.jitter {
            Jitter::None => base,
            Jitter::Proportional(f) => scale(base, 1.0 - f + 2.0 * f * rng().unit()),
            Jitter::Full => scale(base, rng().unit()),
        };
        Some(
            self.policy
                .max_delay
                .map_or(jittered, |cap| jittered.min(cap)),
        )
    }
}

fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays(policy: Retry<()>, failures: usize) -> (Vec<Duration>, Decision) {
        let mut run = Attempts::new(policy);
        let mut rng = Rng::new(7);
        let mut out = Vec::new();
        for _ in 0..failures {
            match run.after_failure(&(), || Duration::ZERO, || &mut rng) {
                Decision::RetryAfter(d) => out.push(d),
                stop => return (out, stop),
            }
        }
        (out, Decision::RetryAfter(Duration::ZERO))
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn times_n_gives_n_retries() {
        let (d, stop) = delays(Retry::times(2), 10);
        assert_eq!(d.len(), 2);
        assert_eq!(stop, Decision::GiveUp(GaveUp::AttemptsExhausted));
        assert_eq!(delays(Retry::times(0), 10).0.len(), 0);
    }

    #[test]
    fn exponential_doubles_and_caps() {
        let (d, _) = delays(Retry::times(5).exponential(10 * MS).max_delay(100 * MS), 10);
        assert_eq!(d, [10 * MS, 20 * MS, 40 * MS, 80 * MS, 100 * MS]);
    }

    #[test]
    fn custom_backoff_restarts_per_run_and_ends_retrying() {
        let policy = Retry::until_success().backoff([3 * MS, 5 * MS]);
        for _ in 0..2 {
            let (d, stop) = delays(policy.clone(), 10);
            assert_eq!(d, [3 * MS, 5 * MS]);
            assert_eq!(stop, Decision::GiveUp(GaveUp::AttemptsExhausted));
        }
    }

    #[test]
    fn proportional_jitter_stays_in_bounds() {
        let (d, _) = delays(Retry::times(1000).constant(100 * MS).jitter(0.25), 1000);
        assert!(d.iter().all(|d| (75 * MS..=125 * MS).contains(d)), "{d:?}");
        // The draws are spread, not constant.
        assert!(d.iter().any(|d| *d < 90 * MS) && d.iter().any(|d| *d > 110 * MS));
    }

    #[test]
    fn full_jitter_stays_below_delay() {
        let (d, _) = delays(Retry::times(1000).constant(100 * MS).full_jitter(), 1000);
        assert!(d.iter().all(|d| *d <= 100 * MS));
        assert!(d.iter().any(|d| *d < 20 * MS));
    }

    #[test]
    fn permanent_errors_stop_at_once() {
        let policy: Retry<u8> = Retry::times(9).retry_if(|e| *e != 0);
        let mut run = Attempts::new(policy);
        let mut rng = Rng::new(1);
        assert!(matches!(
            run.after_failure(&1, || Duration::ZERO, || &mut rng),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            run.after_failure(&0, || Duration::ZERO, || &mut rng),
            Decision::GiveUp(GaveUp::Permanent)
        );
    }

    #[test]
    fn time_budget_counts_from_first_failure() {
        let policy: Retry<()> = Retry::until_success()
            .constant(10 * MS)
            .max_elapsed(25 * MS);
        let mut run = Attempts::new(policy);
        let mut rng = Rng::new(1);
        let t0 = Duration::from_secs(5);
        assert!(matches!(
            run.after_failure(&(), || t0, || &mut rng),
            Decision::RetryAfter(_)
        ));
        assert!(matches!(
            run.after_failure(&(), || t0 + 10 * MS, || &mut rng),
            Decision::RetryAfter(_)
        ));
        assert_eq!(
            run.after_failure(&(), || t0 + 20 * MS, || &mut rng),
            Decision::GiveUp(GaveUp::TimeBudgetExhausted)
        );
    }
}
