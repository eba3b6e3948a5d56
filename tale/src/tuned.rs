//! [`StepExt`]: a step's name, retry policies and outcome, set where it is used.

use std::borrow::Cow;

use crate::retry::Retry;
use crate::step::{Step, StepKind};

/// A step with some of its properties overridden; made by [`StepExt`]'s methods, which
/// it also offers itself so that calls chain without nesting.
pub struct Tuned<S: Step> {
    step: S,
    overrides: Overrides<S::Error>,
}

/// What [`Tuned`] (and the async saga's `AsyncTuned`) override: `None` and `false` leave
/// the step's own.
pub(crate) struct Overrides<E> {
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) retry: Option<Retry<E>>,
    pub(crate) compensation_retry: Option<Retry<E>>,
    pub(crate) uncertain: bool,
}

impl<E> Overrides<E> {
    pub(crate) fn new() -> Self {
        Self {
            name: None,
            retry: None,
            compensation_retry: None,
            uncertain: false,
        }
    }
    pub(crate) fn name<'a>(&'a self, own: &'a str) -> &'a str {
        self.name.as_deref().unwrap_or(own)
    }
    pub(crate) fn static_name(
        &self,
        own: impl FnOnce() -> Option<&'static str>,
    ) -> Option<&'static str> {
        match &self.name {
            Some(Cow::Borrowed(name)) => Some(name),
            Some(Cow::Owned(_)) => None,
            None => own(),
        }
    }
    pub(crate) fn retry(&self, own: impl FnOnce() -> Option<Retry<E>>) -> Option<Retry<E>> {
        self.retry.clone().or_else(own)
    }
    pub(crate) fn compensation_retry(
        &self,
        own: impl FnOnce() -> Option<Retry<E>>,
    ) -> Option<Retry<E>> {
        self.compensation_retry.clone().or_else(own)
    }
}

/// The setters of a wrapper with an `overrides: Overrides<S::Error>` field.
macro_rules! override_setters {
    () => {
        /// See [`StepExt::named`](crate::StepExt::named).
        #[must_use]
        pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
            self.overrides.name = Some(name.into());
            self
        }
        /// See [`StepExt::retry`](crate::StepExt::retry).
        #[must_use]
        pub fn retry(mut self, policy: Retry<S::Error>) -> Self {
            self.overrides.retry = Some(policy);
            self
        }
        /// See [`StepExt::compensation_retry`](crate::StepExt::compensation_retry).
        #[must_use]
        pub fn compensation_retry(mut self, policy: Retry<S::Error>) -> Self {
            self.overrides.compensation_retry = Some(policy);
            self
        }
        /// See [`StepExt::uncertain`](crate::StepExt::uncertain).
        #[must_use]
        pub fn uncertain(mut self) -> Self {
            self.overrides.uncertain = true;
            self
        }
    };
}

pub(crate) use override_setters;

/// The metadata methods of a wrapper of `step: S` with `overrides`: the overrides win,
/// the rest is the step's.
macro_rules! overridden_metadata {
    () => {
        fn kind(&self) -> StepKind {
            self.step.kind()
        }
        fn name(&self) -> &str {
            self.overrides.name(self.step.name())
        }
        fn static_name(&self) -> Option<&'static str> {
            self.overrides.static_name(|| self.step.static_name())
        }
        fn has_compensation(&self) -> bool {
            self.step.has_compensation()
        }
        fn is_uncertain(&self) -> bool {
            self.overrides.uncertain || self.step.is_uncertain()
        }
        fn retry_policy(&self) -> Option<Retry<S::Error>> {
            self.overrides.retry(|| self.step.retry_policy())
        }
        fn compensation_retry_policy(&self) -> Option<Retry<S::Error>> {
            self.overrides
                .compensation_retry(|| self.step.compensation_retry_policy())
        }
    };
}
pub(crate) use overridden_metadata;

/// Methods to adjust any [`Step`] where it is used.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tale::{Executor, ManualClock, Retry, StepExt, from_fn};
///
/// let clock = ManualClock::new();
/// let mut calls = 0;
/// let flaky = from_fn(|| { calls += 1; if calls < 3 { Err("busy") } else { Ok(calls) } });
/// let step = flaky
///     .named("book hotel")
///     .retry(Retry::times(5).constant(Duration::from_millis(50)));
/// let result = Executor::new().clock(clock.clone()).run_step(step);
/// assert_eq!(result.unwrap(), 3);
/// assert_eq!(clock.sleeps(), [Duration::from_millis(50); 2]);
/// ```
pub trait StepExt: Step + Sized {
    /// Names the step in events, reports and errors.
    fn named(self, name: impl Into<Cow<'static, str>>) -> Tuned<Self> {
        Tuned::new(self).named(name)
    }
    /// Retries `execute` under `policy`, replacing the step's own policy.
    fn retry(self, policy: Retry<Self::Error>) -> Tuned<Self> {
        Tuned::new(self).retry(policy)
    }
    /// Retries the compensation under `policy`, replacing the step's own policy.
    fn compensation_retry(self, policy: Retry<Self::Error>) -> Tuned<Self> {
        Tuned::new(self).compensation_retry(policy)
    }
    /// Marks the step's outcome as uncertain: when it fails, its compensation runs
    /// first (through [`Step::compensate_uncertain`]), then the earlier steps'.
    fn uncertain(self) -> Tuned<Self> {
        Tuned::new(self).uncertain()
    }
}

impl<S: Step> StepExt for S {}

impl<S: Step> Tuned<S> {
    fn new(step: S) -> Self {
        Self {
            step,
            overrides: Overrides::new(),
        }
    }

    override_setters!();

    /// The step inside.
    pub fn into_inner(self) -> S {
        self.step
    }
}

impl<S: Step> Step for Tuned<S> {
    type Output = S::Output;
    type Error = S::Error;

    #[inline]
    fn execute(&mut self) -> Result<S::Output, S::Error> {
        self.step.execute()
    }
    fn compensate(&mut self, output: &S::Output) -> Result<(), S::Error> {
        self.step.compensate(output)
    }
    fn compensate_uncertain(&mut self) -> Result<(), S::Error> {
        self.step.compensate_uncertain()
    }
    overridden_metadata!();
}
