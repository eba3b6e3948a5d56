//! The `tracing` feature: saga events as `tracing` spans and events.

use std::fmt::Display;

use tracing::{Level, Span, span};

use crate::event::{Event, Observer, Outcome};

/// An [`Observer`] that opens a span per saga and per step and logs every transition
/// inside it: attempts and successes at `DEBUG`, failures at `WARN`, a saga that was not
/// fully compensated at `ERROR`.
///
/// # Examples
///
/// ```
/// use tale::{Executor, TracingObserver};
///
/// let executor = Executor::new().observer(TracingObserver::new());
/// # let _ = executor;
/// ```
#[derive(Debug, Default)]
pub struct TracingObserver {
    saga: Option<Span>,
    step: Option<Span>,
}

impl TracingObserver {
    /// An observer with no span open.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn in_step(&mut self, index: usize, name: &str, phase: &'static str) -> Span {
        let parent = self.saga.clone().unwrap_or_else(Span::none);
        let span = span!(parent: &parent, Level::INFO, "step", index, name, phase);
        self.step = Some(span.clone());
        span
    }

    fn current(&self) -> Span {
        self.step
            .clone()
            .or_else(|| self.saga.clone())
            .unwrap_or_else(Span::none)
    }
}

impl<E: Display> Observer<E> for TracingObserver {
    fn on_event(&mut self, event: &Event<'_, E>) {
        match event {
            Event::SagaStarted { saga } => {
                let span = span!(Level::INFO, "saga", name = saga);
                span.in_scope(|| tracing::info!("saga started"));
                self.saga = Some(span);
                self.step = None;
            }
            Event::AttemptStarted { step, attempt } => {
                let span = if *attempt == 1 {
                    self.in_step(step.index, step.name, "execute")
                } else {
                    self.current()
                };
                span.in_scope(|| {
                    tracing::debug!(attempt, kind = step.kind.as_str(), "attempt started")
                });
            }
            Event::AttemptSucceeded { attempt, .. } => {
                self.current()
                    .in_scope(|| tracing::debug!(attempt, "step succeeded"));
            }
            Event::AttemptFailed {
                attempt,
                error,
                retry_in,
                ..
            } => self.current().in_scope(|| match retry_in {
                Some(delay) => tracing::warn!(attempt, %error, ?delay, "attempt failed; retrying"),
                None => tracing::warn!(attempt, %error, "step failed"),
            }),
            Event::AttemptPanicked { attempt, .. } => {
                self.current()
                    .in_scope(|| tracing::error!(attempt, "step panicked"));
            }
            Event::CompensationStarted {
                step,
                attempt,
                uncertain,
            } => {
                let span = if *attempt == 1 {
                    self.in_step(step.index, step.name, "compensate")
                } else {
                    self.current()
                };
                span.in_scope(|| tracing::debug!(attempt, uncertain, "compensation started"));
            }
            Event::CompensationSucceeded { attempt, .. } => {
                self.current()
                    .in_scope(|| tracing::info!(attempt, "compensated"));
            }
            Event::CompensationFailed {
                attempt,
                error,
                retry_in,
                ..
            } => {
                let error = error
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "panicked".into());
                self.current().in_scope(|| match retry_in {
                    Some(delay) => {
                        tracing::warn!(attempt, %error, ?delay, "compensation failed; retrying")
                    }
                    None => tracing::error!(attempt, %error, "compensation failed for good"),
                });
            }
            Event::CompensationSkipped { step } => {
                self.current()
                    .in_scope(|| tracing::error!(step = step.name, "compensation skipped"));
            }
            Event::SagaFinished { outcome, .. } => {
                self.step = None;
                let span = self.saga.take().unwrap_or_else(Span::none);
                span.in_scope(|| match outcome {
                    Outcome::Completed => tracing::info!("saga completed"),
                    Outcome::Compensated => tracing::warn!("saga failed and was compensated"),
                    _ => tracing::error!(outcome = outcome.as_str(), "saga NOT compensated"),
                });
            }
        }
    }
}
