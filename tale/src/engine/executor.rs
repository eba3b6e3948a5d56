//! The [`Executor`]: the clock, the observer and the policies that sagas run under.

use crate::clock::{Clock, SystemClock};

/// What to do when a compensation fails for good (after its own retries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OnCompensationFailure {
    /// Go on with the remaining compensations and report every failure (the default):
    /// undo as much as can be undone.
    #[default]
    Continue,
    /// Stop at the first failure and leave the remaining steps as they are, for an
    /// operator to look at in the state the failure left them in.
    Stop,
}

/// Runs sagas: holds the [`Clock`] that retries sleep on, the [`Observer`](crate::Observer)
/// that receives every event, and the compensation failure policy.
///
/// One executor runs any number of sagas, one at a time (`saga!` and
/// [`Saga::run`](crate::compose::Saga::run) borrow it mutably). Retry counters belong to each
/// run, never to the executor or the step.
///
/// # Examples
///
/// ```
/// use tale::observe::Report;
/// use tale::{Executor, ManualClock, OnCompensationFailure};
///
/// let clock = ManualClock::new();
/// let executor = Executor::new()
///     .with_clock(clock.clone())
///     .with_observer(Report::new(clock))
///     .on_compensation_failure(OnCompensationFailure::Stop)
///     .jitter_seed(42);
/// # let _ = executor;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Executor<O = (), C = SystemClock> {
    pub(crate) observer: O,
    pub(crate) clock: C,
    pub(crate) on_compensation_failure: OnCompensationFailure,
    pub(crate) jitter_seed: Option<u64>,
}

impl Executor {
    /// An executor on real time, observing nothing, that compensates as much as it can.
    #[must_use]
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }
}

impl<O, C> Executor<O, C> {
    /// Replaces the observer.
    #[must_use]
    pub fn with_observer<O2>(self, observer: O2) -> Executor<O2, C> {
        Executor {
            observer,
            clock: self.clock,
            on_compensation_failure: self.on_compensation_failure,
            jitter_seed: self.jitter_seed,
        }
    }

    /// Replaces the clock, for instance with a [`ManualClock`](crate::ManualClock) in tests.
    #[must_use]
    pub fn with_clock<C2: Clock>(self, clock: C2) -> Executor<O, C2> {
        Executor {
            observer: self.observer,
            clock,
            on_compensation_failure: self.on_compensation_failure,
            jitter_seed: self.jitter_seed,
        }
    }

    /// Sets what happens when a compensation fails for good.
    #[must_use]
    pub fn on_compensation_failure(mut self, policy: OnCompensationFailure) -> Self {
        self.on_compensation_failure = policy;
        self
    }

    /// Fixes the seed of the jitter generator, so that jittered delays repeat from run
    /// to run. By default each run draws a fresh seed.
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// The observer, mutably (to reset it between runs, say).
    pub fn observer_mut(&mut self) -> &mut O {
        &mut self.observer
    }

    /// Gives the observer back, for instance to read a
    /// [`Report`](crate::observe::Report).
    pub fn into_observer(self) -> O {
        self.observer
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }
}
