//! What a link is besides its closures (name, kind, policies, timeout), and the one
//! [`Describe`] impl every runtime-composed step shares: a link that holds a typed step
//! describes it as the step describes itself, except for what the link's setters
//! override.

use std::borrow::Cow;

use crate::retry::Retry;
use crate::step::{Describe, StepKind};
use crate::timeout::Timeout;

/// A link's (or a branch's) name, kind and policies. For a link that holds a typed step,
/// `None` (and `false` for `uncertain`) leaves the step's own.
pub(crate) struct Meta<E> {
    pub(crate) name: Option<Cow<'static, str>>,
    pub(crate) kind: Option<StepKind>,
    /// Closures only: a typed step says whether it has a compensation.
    pub(crate) compensated: bool,
    pub(crate) uncertain: bool,
    pub(crate) retry: Option<Retry<E>>,
    pub(crate) compensation_retry: Option<Retry<E>>,
    /// Async links and branches only.
    pub(crate) timeout: Option<Timeout<E>>,
    /// The link holds a typed step, which describes what the rest leaves out: only then
    /// is it asked (a call through the link's boxed body), so that a closure link pays
    /// nothing for typed ones.
    pub(crate) typed: bool,
}

impl<E> Meta<E> {
    /// The metadata of a link or branch made of closures.
    pub(crate) fn new(name: Cow<'static, str>, compensated: bool) -> Self {
        Self {
            name: Some(name),
            kind: Some(StepKind::Compensatable),
            compensated,
            typed: false,
            ..Self::of_step()
        }
    }

    /// The metadata of a link that holds a typed step: nothing overridden yet.
    pub(crate) fn of_step() -> Self {
        Self {
            name: None,
            kind: None,
            compensated: false,
            uncertain: false,
            retry: None,
            compensation_retry: None,
            timeout: None,
            typed: true,
        }
    }
}

/// A link type, as the engine sees it through [`Bound`]: its metadata, and the typed
/// step it holds, if any, whose own description fills in what the metadata leaves out.
pub(crate) trait Linked {
    type Error;
    fn meta(&self) -> &Meta<Self::Error>;
    /// The typed step inside, if the link holds one (closures do not).
    fn own(&self) -> Option<&dyn Describe<Error = Self::Error>> {
        None
    }
}

/// A link bound to the state (or the input) for one call into the engine.
pub(crate) struct Bound<'l, L, St> {
    pub(crate) link: &'l mut L,
    pub(crate) state: St,
}

impl<L: Linked, St> Describe for Bound<'_, L, St> {
    type Error = L::Error;

    fn kind(&self) -> StepKind {
        let meta = self.link.meta();
        meta.kind
            .or_else(|| self.link.own().map(Describe::kind))
            .unwrap_or_default()
    }
    fn name(&self) -> &str {
        match (&self.link.meta().name, self.link.own()) {
            (Some(name), _) => name,
            (None, Some(step)) => step.name(),
            (None, None) => "step",
        }
    }
    fn static_name(&self) -> Option<&'static str> {
        match &self.link.meta().name {
            Some(Cow::Borrowed(name)) => Some(name),
            Some(Cow::Owned(_)) => None,
            None => self.link.own()?.static_name(),
        }
    }
    fn has_compensation(&self) -> bool {
        match self.link.own() {
            Some(step) => step.has_compensation(),
            None => self.link.meta().compensated,
        }
    }
    fn is_uncertain(&self) -> bool {
        self.link.meta().uncertain || self.link.own().is_some_and(Describe::is_uncertain)
    }
    // A closure compensation takes `Option<&Output>`; a typed step says whether its
    // compensation works without its output.
    fn compensates_without_output(&self) -> bool {
        match self.link.own() {
            Some(step) => step.compensates_without_output(),
            None => self.link.meta().compensated,
        }
    }
    fn retry_policy(&self) -> Option<Retry<L::Error>> {
        let meta = self.link.meta();
        meta.retry
            .clone()
            .or_else(|| self.link.own()?.retry_policy())
    }
    fn compensation_retry_policy(&self) -> Option<Retry<L::Error>> {
        let meta = self.link.meta();
        meta.compensation_retry
            .clone()
            .or_else(|| self.link.own()?.compensation_retry_policy())
    }
}

/// The setters of a link type with a `meta: Meta<E>` field.
macro_rules! meta_setters {
    () => {
        /// Names the step in events, reports and errors (replacing a typed step's
        /// own name).
        #[must_use]
        pub fn named(mut self, name: impl Into<::std::borrow::Cow<'static, str>>) -> Self {
            self.meta.name = Some(name.into());
            self
        }

        /// Retries `execute` under `policy` (replacing a typed step's own policy).
        #[must_use]
        pub fn retry(mut self, policy: $crate::Retry<E>) -> Self {
            self.meta.retry = Some(policy);
            self
        }

        /// Retries the compensation under `policy` (replacing a typed step's own
        /// policy).
        #[must_use]
        pub fn compensation_retry(mut self, policy: $crate::Retry<E>) -> Self {
            self.meta.compensation_retry = Some(policy);
            self
        }

        /// Marks the outcome as uncertain: when `execute` fails, the compensation runs
        /// with no output (`None`), before the earlier links' compensations. A typed
        /// step whose compensation needs its output (a `#[step]` not declared
        /// `uncertain`) cannot be undone then: the saga reports it as not compensated,
        /// its outcome unknown.
        #[must_use]
        pub fn uncertain(mut self) -> Self {
            self.meta.uncertain = true;
            self
        }

        /// Sets the step's kind, replacing a typed step's own (a
        /// [`Retriable`]($crate::StepKind::Retriable) link without a policy is retried
        /// until it succeeds).
        #[must_use]
        pub fn kind(mut self, kind: $crate::StepKind) -> Self {
            self.meta.kind = Some(kind);
            self
        }
    };
}

/// The constructor and list methods of a saga type with `name` and `links: Vec<$link>`
/// fields (shared by the sync and async sagas).
macro_rules! chain_methods {
    ($link:ty, $doc_link:literal) => {
        /// An empty saga.
        pub fn new(name: impl Into<::std::borrow::Cow<'static, str>>) -> Self {
            Self {
                name: name.into(),
                links: Vec::new(),
            }
        }

        #[doc = concat!("Appends a step: anything that converts into ", $doc_link, ", typed step values among them.")]
        #[must_use]
        pub fn step(mut self, link: impl Into<$link>) -> Self {
            self.links.push(link.into());
            self
        }

        /// Appends a step, in place.
        pub fn push(&mut self, link: impl Into<$link>) {
            self.links.push(link.into());
        }

        /// The number of steps.
        #[must_use]
        pub fn len(&self) -> usize {
            self.links.len()
        }

        /// True if the saga has no steps (running it succeeds and changes nothing).
        #[must_use]
        pub fn is_empty(&self) -> bool {
            self.links.is_empty()
        }
    };
}

pub(crate) use {chain_methods, meta_setters};
