//! The `tracing` feature: saga events as `tracing` spans and events.

use std::fmt::Display;

use tracing::{Level, Span, span};

use super::{Event, Observer, Outcome};

/// An [`Observer`] that opens a span per saga and per step and logs every transition
/// inside it: attempts and successes at `DEBUG`, failures at `WARN`, a saga that was not
/// fully compensated at `ERROR`.
///
/// # Examples
///
/// ```
/// use tale::observe::TracingObserver;
/// use tale::Executor;
///
/// let executor = Executor::new().with_observer(TracingObserver::new());
/// # let _ = executor;
/// ```
#[derive(Debug, Default)]
pub struct TracingObserver {
    saga: Option<Span>,
    /// The open span of each step, by index: the branches of a parallel group run at
    /// once, each in its own span.
    steps: Vec<Option<Span>>,
}

impl TracingObserver {
    /// An observer with no span open.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens a new span for step `index` (a new phase of it).
    fn open(&mut self, index: usize, name: &str, phase: &'static str) -> Span {
        let parent = self.saga.clone().unwrap_or_else(Span::none);
        let span = span!(parent: &parent, Level::INFO, "step", index, name, phase);
        if self.steps.len() <= index {
            self.steps.resize(index + 1, None);
        }
        self.steps[index] = Some(span.clone());
        span
    }

    /// The open span of step `index`, or the saga's.
    fn of(&self, index: usize) -> Span {
        self.steps
            .get(index)
            .cloned()
            .flatten()
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
                self.steps.clear();
            }
            Event::AttemptStarted { step, attempt } => {
                let span = if *attempt == 1 {
                    self.open(step.index, step.name, "execute")
                } else {
                    self.of(step.index)
                };
                span.in_scope(|| {
                    tracing::debug!(attempt, kind = step.kind.as_str(), "attempt started")
                });
            }
            Event::AttemptSucceeded { step, attempt } => {
                self.of(step.index)
                    .in_scope(|| tracing::debug!(attempt, "step succeeded"));
            }
            Event::AttemptFailed {
                step,
                attempt,
                error,
                retry_in,
            } => self.of(step.index).in_scope(|| match retry_in {
                Some(delay) => tracing::warn!(attempt, %error, ?delay, "attempt failed; retrying"),
                None => tracing::warn!(attempt, %error, "step failed"),
            }),
            Event::AttemptPanicked { step, attempt } => {
                self.of(step.index)
                    .in_scope(|| tracing::error!(attempt, "step panicked"));
            }
            Event::CompensationStarted {
                step,
                attempt,
                uncertain,
            } => {
                let span = if *attempt == 1 {
                    self.open(step.index, step.name, "compensate")
                } else {
                    self.of(step.index)
                };
                span.in_scope(|| tracing::debug!(attempt, uncertain, "compensation started"));
            }
            Event::CompensationSucceeded { step, attempt } => {
                self.of(step.index)
                    .in_scope(|| tracing::info!(attempt, "compensated"));
            }
            Event::CompensationFailed {
                step,
                attempt,
                error,
                retry_in,
            } => {
                let error = error.map_or_else(|| "panicked".to_owned(), ToString::to_string);
                self.of(step.index).in_scope(|| match retry_in {
                    Some(delay) => {
                        tracing::warn!(attempt, %error, ?delay, "compensation failed; retrying")
                    }
                    None => tracing::error!(attempt, %error, "compensation failed for good"),
                });
            }
            Event::CompensationSkipped { step } => {
                self.of(step.index)
                    .in_scope(|| tracing::error!("compensation skipped"));
            }
            Event::OutcomeUnknown { step } => {
                self.of(step.index).in_scope(|| {
                    tracing::error!(
                        "outcome unknown: not compensated (no compensation without its output)"
                    )
                });
            }
            Event::SagaFinished { outcome, error, .. } => {
                self.steps.clear();
                let span = self.saga.take().unwrap_or_else(Span::none);
                let error = error.map(|e| format!("{e:#}"));
                span.in_scope(|| match outcome {
                    Outcome::Completed => tracing::info!("saga completed"),
                    Outcome::Compensated => {
                        tracing::warn!(error = error.as_deref(), "saga failed and was compensated")
                    }
                    _ => tracing::error!(
                        outcome = outcome.as_str(),
                        error = error.as_deref(),
                        "saga NOT compensated"
                    ),
                });
            }
        }
    }
}
