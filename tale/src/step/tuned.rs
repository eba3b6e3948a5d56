//! [`StepExt`], [`Tuned`] and [`AsyncTuned`]: a step's name, retry policies, outcome and
//! (async) timeout, set where it is used.

use std::borrow::Cow;
use std::future::Future;
use std::marker::PhantomData;
use std::time::Duration;

use super::{AsyncStep, Describe, Step, StepKind};
use crate::retry::Retry;
use crate::timeout::{TimedOut, Timeout};

/// What a tuned step overrides: `None` and `false` leave the step's own.
pub(crate) struct Overrides<E> {
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) retry: Option<Retry<E>>,
    pub(crate) compensation_retry: Option<Retry<E>>,
    pub(crate) uncertain: bool,
    pub(crate) timeout: Option<Timeout<E>>,
}

impl<E> Overrides<E> {
    pub(crate) fn new() -> Self {
        Self {
            name: None,
            retry: None,
            compensation_retry: None,
            uncertain: false,
            timeout: None,
        }
    }
}

/// The blocking flavour of [`Tuning`]: a [`Step`].
#[derive(Debug)]
pub enum Blocking {}

/// The async flavour of [`Tuning`]: an [`AsyncStep`] (see [`AsyncTuned`]).
#[derive(Debug)]
pub enum Async {}

/// A step with some of its properties overridden, made by [`StepExt`]'s methods (or,
/// for async steps, [`AsyncTuned::new`]); its setters chain without nesting.
///
/// `M` says which trait it implements: [`Blocking`] (the default, a [`Step`]) or
/// [`Async`] (an [`AsyncStep`], which may also time out each attempt). One wrapper
/// type describes both, so that overriding works the same way for either.
pub struct Tuning<S: Describe, M> {
    step: S,
    overrides: Overrides<S::Error>,
    flavour: PhantomData<fn() -> M>,
}

/// A sync [`Step`] with some of its properties overridden; see [`StepExt`].
pub type Tuned<S> = Tuning<S, Blocking>;

/// An [`AsyncStep`] with some of its properties overridden: what `saga!` makes of
/// `.retry(...)`, `.timeout(...)` and the other modifiers on a step of an async saga.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tale::step::AsyncTuned;
/// use tale::{Retry, TimedOut, step};
///
/// #[derive(Debug)]
/// struct Error;
/// impl From<TimedOut> for Error { fn from(_: TimedOut) -> Self { Error } }
///
/// #[step]
/// async fn quote(city: &str) -> Result<u64, Error> { Ok(city.len() as u64) }
///
/// let tuned = AsyncTuned::new(quote("Lisbon"))
///     .named("quote Lisbon")
///     .retry(Retry::times(2))
///     .timeout(Duration::from_secs(5));
/// # let _ = tuned;
/// ```
pub type AsyncTuned<S> = Tuning<S, Async>;

impl<S: Describe, M> Tuning<S, M> {
    /// Wraps `step`, changing nothing yet.
    pub fn new(step: S) -> Self {
        Self {
            step,
            overrides: Overrides::new(),
            flavour: PhantomData,
        }
    }

    /// See [`StepExt::named`].
    #[must_use]
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.overrides.name = Some(name.into());
        self
    }

    /// See [`StepExt::retry`].
    #[must_use]
    pub fn retry(mut self, policy: Retry<S::Error>) -> Self {
        self.overrides.retry = Some(policy);
        self
    }

    /// See [`StepExt::compensation_retry`].
    #[must_use]
    pub fn compensation_retry(mut self, policy: Retry<S::Error>) -> Self {
        self.overrides.compensation_retry = Some(policy);
        self
    }

    /// See [`StepExt::uncertain`].
    #[must_use]
    pub fn uncertain(mut self) -> Self {
        self.overrides.uncertain = true;
        self
    }

    /// The step inside.
    pub fn into_inner(self) -> S {
        self.step
    }
}

impl<S: AsyncStep> AsyncTuned<S> {
    /// Limits each attempt to `after`: a slower attempt is dropped and fails with
    /// [`TimedOut`] converted into the step's error.
    #[must_use]
    pub fn timeout(mut self, after: Duration) -> Self
    where
        S::Error: From<TimedOut>,
    {
        self.overrides.timeout = Some(Timeout::after(after));
        self
    }
}

impl<S: Describe, M> Describe for Tuning<S, M> {
    type Error = S::Error;

    fn kind(&self) -> StepKind {
        self.step.kind()
    }
    fn name(&self) -> &str {
        self.overrides.name.as_deref().unwrap_or(self.step.name())
    }
    fn static_name(&self) -> Option<&'static str> {
        match &self.overrides.name {
            Some(Cow::Borrowed(name)) => Some(name),
            Some(Cow::Owned(_)) => None,
            None => self.step.static_name(),
        }
    }
    fn item(&self) -> Option<usize> {
        self.step.item()
    }
    fn has_compensation(&self) -> bool {
        self.step.has_compensation()
    }
    fn is_uncertain(&self) -> bool {
        self.overrides.uncertain || self.step.is_uncertain()
    }
    fn compensates_without_output(&self) -> bool {
        self.step.compensates_without_output()
    }
    fn retry_policy(&self) -> Option<Retry<S::Error>> {
        self.overrides
            .retry
            .clone()
            .or_else(|| self.step.retry_policy())
    }
    fn compensation_retry_policy(&self) -> Option<Retry<S::Error>> {
        self.overrides
            .compensation_retry
            .clone()
            .or_else(|| self.step.compensation_retry_policy())
    }
}

#[diagnostic::do_not_recommend]
impl<S: Step> Step for Tuned<S> {
    type Output = S::Output;

    #[inline]
    fn execute(&mut self) -> Result<S::Output, S::Error> {
        self.step.execute()
    }
    fn compensate(&mut self, output: &S::Output) -> Result<(), S::Error> {
        self.step.compensate(output)
    }
    fn compensate_uncertain(&mut self) -> Option<Result<(), S::Error>> {
        self.step.compensate_uncertain()
    }
}

impl<S: AsyncStep> AsyncStep for AsyncTuned<S> {
    type Output = S::Output;

    #[inline]
    fn execute(&mut self) -> impl Future<Output = Result<S::Output, S::Error>> {
        self.step.execute()
    }
    fn compensate(&mut self, output: &S::Output) -> impl Future<Output = Result<(), S::Error>> {
        self.step.compensate(output)
    }
    fn compensate_uncertain(&mut self) -> impl Future<Output = Option<Result<(), S::Error>>> {
        self.step.compensate_uncertain()
    }
    fn timeout(&self) -> Option<Timeout<S::Error>> {
        self.overrides.timeout.or_else(|| self.step.timeout())
    }
}

/// Methods to adjust any [`Step`] where it is used.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tale::step::from_fn;
/// use tale::{Executor, ManualClock, Retry, StepExt};
///
/// let clock = ManualClock::new();
/// let mut calls = 0;
/// let flaky = from_fn(|| { calls += 1; if calls < 3 { Err("busy") } else { Ok(calls) } });
/// let step = flaky
///     .named("book hotel")
///     .retry(Retry::times(5).constant(Duration::from_millis(50)));
/// let result = Executor::new().with_clock(clock.clone()).run_step(step);
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
    /// first (through [`Step::compensate_uncertain`]), then the earlier steps'. A step
    /// whose compensation needs its output (a `#[step]` without `uncertain`, whose
    /// compensation takes `&Output`) cannot be undone then: the saga reports it as not
    /// compensated, its outcome unknown.
    fn uncertain(self) -> Tuned<Self> {
        Tuned::new(self).uncertain()
    }
}

impl<S: Step> StepExt for S {}
