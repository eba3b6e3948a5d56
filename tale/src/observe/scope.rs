//! [`Scope`]: the span a step's attempt (or a compensation's) runs in, so that what the
//! step's own code traces nests under its step; and [`Scoped`], an attempt's future
//! polled inside it.
//!
//! Only the `tracing` feature gives a scope anything to hold: without it a scope is a
//! zero-sized value and entering it is no code at all; with it, an observer that keeps
//! no spans (`()`, [`Report`](super::Report)) hands out an empty one, which the optimizer
//! sees through once [`Observer::scope`](super::Observer::scope) is inlined.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// The span a step's attempt runs in (with the `tracing` feature, a `tracing::Span`), or
/// nothing. What [`Observer::scope`](super::Observer::scope) returns; not part of the
/// stable API.
#[doc(hidden)]
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Scope {
    #[cfg(feature = "tracing")]
    span: Option<tracing::Span>,
}

impl Scope {
    /// No span: the attempt runs in whatever span is current.
    #[inline]
    pub const fn none() -> Self {
        Self {
            #[cfg(feature = "tracing")]
            span: None,
        }
    }

    /// Runs attempts inside `span`.
    #[cfg(feature = "tracing")]
    #[inline]
    pub fn span(span: tracing::Span) -> Self {
        Self { span: Some(span) }
    }

    /// This scope if it holds a span, else `other`: what a pair of observers hands out.
    #[inline]
    pub fn or_else(self, other: impl FnOnce() -> Self) -> Self {
        #[cfg(feature = "tracing")]
        if self.span.is_some() {
            return self;
        }
        other()
    }

    /// Calls `f` with the span entered (as the current span of this thread), and exits
    /// it when `f` returns or unwinds.
    #[inline]
    pub(crate) fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        #[cfg(feature = "tracing")]
        if let Some(span) = &self.span {
            return span.in_scope(f);
        }
        f()
    }
}

pin_project! {
    /// A future polled with its scope entered: on every poll, on whatever thread polls
    /// it, so that the spans and events of an async step, across all its `.await`s,
    /// are children of its step's span (`tracing::Instrumented`, for the engine's
    /// [`Scope`]).
    pub(crate) struct Scoped<F> {
        scope: Scope,
        #[pin]
        future: F,
    }
}

impl<F> Scoped<F> {
    #[inline]
    pub(crate) fn new(scope: Scope, future: F) -> Self {
        Self { scope, future }
    }
}

impl<F: Future> Future for Scoped<F> {
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let future = this.future;
        this.scope.enter(|| future.poll(cx))
    }
}
