//! What a link is besides its closures (name, kind, policies, timeout), and the one
//! [`Describe`] impl every runtime-composed step shares.

use std::borrow::Cow;

use crate::retry::Retry;
use crate::step::{Describe, StepKind};
use crate::timeout::Timeout;

/// A link's (or a branch's) name, kind and policies.
pub(crate) struct Meta<E> {
    pub(crate) name: Cow<'static, str>,
    pub(crate) kind: StepKind,
    pub(crate) compensated: bool,
    pub(crate) uncertain: bool,
    pub(crate) retry: Option<Retry<E>>,
    pub(crate) compensation_retry: Option<Retry<E>>,
    /// Async links and branches only.
    pub(crate) timeout: Option<Timeout<E>>,
}

impl<E> Meta<E> {
    pub(crate) fn new(name: Cow<'static, str>, compensated: bool) -> Self {
        Self {
            name,
            kind: StepKind::Compensatable,
            compensated,
            uncertain: false,
            retry: None,
            compensation_retry: None,
            timeout: None,
        }
    }
}

/// A link type, as the engine sees it through [`Bound`]: its metadata.
pub(crate) trait Linked {
    type Error;
    fn meta(&self) -> &Meta<Self::Error>;
}

/// A link bound to the state (or the input) for one call into the engine.
pub(crate) struct Bound<'l, L, St> {
    pub(crate) link: &'l mut L,
    pub(crate) state: St,
}

impl<L: Linked, St> Describe for Bound<'_, L, St> {
    type Error = L::Error;

    fn kind(&self) -> StepKind {
        self.link.meta().kind
    }
    fn name(&self) -> &str {
        &self.link.meta().name
    }
    fn static_name(&self) -> Option<&'static str> {
        match self.link.meta().name {
            Cow::Borrowed(name) => Some(name),
            Cow::Owned(_) => None,
        }
    }
    fn has_compensation(&self) -> bool {
        self.link.meta().compensated
    }
    fn is_uncertain(&self) -> bool {
        self.link.meta().uncertain
    }
    // A link's or a branch's compensation takes `Option<&Output>`.
    fn compensates_without_output(&self) -> bool {
        self.link.meta().compensated
    }
    fn retry_policy(&self) -> Option<Retry<L::Error>> {
        self.link.meta().retry.clone()
    }
    fn compensation_retry_policy(&self) -> Option<Retry<L::Error>> {
        self.link.meta().compensation_retry.clone()
    }
}

/// The setters of a link type with a `meta: Meta<E>` field.
macro_rules! meta_setters {
    () => {
        /// Retries `execute` under `policy`.
        #[must_use]
        pub fn retry(mut self, policy: $crate::Retry<E>) -> Self {
            self.meta.retry = Some(policy);
            self
        }

        /// Retries the compensation under `policy`.
        #[must_use]
        pub fn compensation_retry(mut self, policy: $crate::Retry<E>) -> Self {
            self.meta.compensation_retry = Some(policy);
            self
        }

        /// Marks the outcome as uncertain: when `execute` fails, the compensation runs
        /// with no output (`None`), before the earlier links' compensations.
        #[must_use]
        pub fn uncertain(mut self) -> Self {
            self.meta.uncertain = true;
            self
        }

        /// Sets the step's kind (a [`Retriable`]($crate::StepKind::Retriable) link
        /// without a policy is retried until it succeeds).
        #[must_use]
        pub fn kind(mut self, kind: $crate::StepKind) -> Self {
            self.meta.kind = kind;
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

        #[doc = concat!("Appends a step (anything that converts into ", $doc_link, ").")]
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
