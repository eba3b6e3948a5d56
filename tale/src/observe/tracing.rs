//! The `tracing` feature: saga events as `tracing` spans and events, and the step spans
//! that the engine runs step code in.

use std::any::type_name;
use std::fmt::Display;

use tracing::field::{Empty, display};
use tracing::{Level, Span, span};

use super::{Event, Observer, Outcome, Scope, StepRef};

/// An [`Observer`] that opens a span per saga and per step, runs each step's code inside
/// its step's span, and logs every transition inside them: attempts and successes at
/// `DEBUG`, failures at `WARN`, a saga that was not fully compensated at `ERROR`.
///
/// # Spans
///
/// ```text
/// saga                       the whole run
/// ├── step  (execute)        one per step: every attempt, the retry delays between them
/// │   └── the step's own spans and events (an HTTP client's request span, a log line)
/// ├── step  (execute)        ...
/// └── step  (compensate)     one per compensation decided: its attempts, or why none ran
///     └── the compensation's own spans and events
/// ```
///
/// The engine enters a step's span around each call of the step's `execute` or
/// `compensate` and, for an async step, on every poll of its future, on whatever thread
/// polls it: across every `.await`, and in each branch of a `join!` its own step's span
/// (the branches run concurrently, each in its own span, also on a multi-threaded
/// runtime). What the step's code logs or opens is therefore a child of its step's span,
/// and each step span a child of its saga's span; the saga span is a child of whatever
/// span is current when the saga starts. A step's span closes when the step ends (it
/// succeeded, or failed for good); a saga's when the saga finishes.
///
/// Combine it with other observers as a pair, `(TracingObserver::new(), other)` (or
/// `&mut` one): the pair runs step code in the tracing observer's spans. An observer of
/// your own that holds a `TracingObserver` and forwards only its events does not.
///
/// # Fields
///
/// The names follow the proposed OpenTelemetry semantic conventions for workflows
/// (`workflow.*`, in development:
/// [open-telemetry/semantic-conventions#1688](https://github.com/open-telemetry/semantic-conventions/issues/1688)):
/// `workflow.name` (later revisions of the proposal spell it `workflow.definition.name`),
/// `workflow.execution.id`, `workflow.execution.outcome` and its values,
/// `workflow.task.name` and `workflow.execution.attempt`; and the general `error.type`
/// and `error.message`; `otel.status_code` is the field
/// `tracing-opentelemetry` turns into the span's status; the rest are tale's own
/// (`tale.*`). A field shown as *later* is declared empty and recorded when known, so an
/// exporter sees it on the span, and `fmt` shows it once recorded.
///
/// The saga span, `saga`:
///
/// | field | value |
/// |---|---|
/// | `workflow.name` | the saga's name |
/// | `workflow.execution.id` | later, durable sagas only: the saga instance's `SagaId` |
/// | `workflow.execution.outcome` | later: `success` (completed), `failure` (compensated, or not fully), `error` (panicked) |
/// | `tale.outcome` | later: [`Outcome::as_str`]: `completed`, `compensated`, `compensation failed`, `panicked` |
/// | `error.type` | later, if it failed: the steps' error type (`std::any::type_name`) |
/// | `error.message` | later, if it failed: the saga's error (`{:#}`) |
/// | `otel.status_code` | later, if it failed: `ERROR` |
///
/// A step span, `step`:
///
/// | field | value |
/// |---|---|
/// | `workflow.task.name` | the step's name |
/// | `tale.step.index` | the step's position in the saga, from 0 |
/// | `tale.step.item` | a fan-out's steps only: the item's position in the iterator, from 0 |
/// | `tale.step.kind` | `compensatable`, `pivot` or `retriable` |
/// | `tale.phase` | `execute` or `compensate` |
/// | `workflow.execution.attempt` | later: the number of the attempt running, from 1 (at the end, how many ran) |
/// | `tale.uncertain` | compensations only: true when undoing a failed step whose outcome is uncertain |
/// | `tale.idempotency_key` | later, durable steps only: the step's (or compensation's) idempotency key (`tale::journal::idempotency_key()`) |
/// | `tale.replayed` | durable steps only: `true` for a step answered from the journal, whose code did not run |
/// | `tale.step.outcome` | later: `succeeded`, `failed`, `panicked`; for a compensation `compensated`, `failed`, `panicked`, `skipped`, `outcome unknown` |
/// | `error.type` | later, if it failed for good: the step's error type, or `panic` |
/// | `error.message` | later, if it failed for good: its last error |
/// | `otel.status_code` | later, if it failed for good (or was not compensated): `ERROR` |
///
/// # Examples
///
/// With a subscriber installed (`tracing_subscriber::fmt().init()`, or an OpenTelemetry
/// exporter through `tracing-opentelemetry`), the step's line below is printed inside
/// its step's span, itself inside the saga's:
///
/// ```text
/// INFO saga{workflow.name="booking"}:step{workflow.task.name="reserve" tale.step.index=0 tale.step.kind="compensatable" tale.phase="execute" workflow.execution.attempt=1}: my_app: reserving seats=2
/// ```
///
/// ```
/// use tale::observe::TracingObserver;
/// use tale::{Executor, saga, step};
///
/// #[step(compensate = cancel)]
/// fn reserve(seats: &u32) -> Result<u32, String> {
///     tracing::info!(seats, "reserving"); // in the step's span
///     Ok(*seats)
/// }
///
/// fn cancel(_seats: &u32, _reserved: &u32) -> Result<(), String> {
///     tracing::info!("cancelling"); // in the compensation's span
///     Ok(())
/// }
///
/// let mut executor = Executor::new().with_observer(TracingObserver::new());
/// let seats = 2;
/// let booked = saga! {
///     #![saga(name = "booking", executor = &mut executor)]
///     let reserved = reserve(&seats);
///     reserved
/// };
/// assert_eq!(booked.unwrap(), 2);
/// ```
#[derive(Debug, Default)]
pub struct TracingObserver {
    saga: Option<Span>,
    /// The open span of each step, by index: the branches of a parallel group run at
    /// once, each in its own span.
    steps: Vec<Option<Span>>,
}

/// The phase of a step span.
#[derive(Clone, Copy)]
enum Phase {
    Execute,
    Compensate,
}

impl Phase {
    const fn as_str(self) -> &'static str {
        match self {
            Phase::Execute => "execute",
            Phase::Compensate => "compensate",
        }
    }
}

impl TracingObserver {
    /// An observer with no span open.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A new span for `step` in `phase`, a child of the saga's span.
    fn step_span(&self, step: StepRef<'_>, phase: Phase) -> Span {
        let parent = self.saga.clone().unwrap_or_else(Span::none);
        let span = span!(
            parent: &parent,
            Level::INFO,
            "step",
            workflow.task.name = step.name,
            tale.step.index = step.index,
            tale.step.item = step.item,
            tale.step.kind = step.kind.as_str(),
            tale.phase = phase.as_str(),
            workflow.execution.attempt = Empty,
            tale.uncertain = Empty,
            tale.idempotency_key = Empty,
            tale.replayed = Empty,
            tale.step.outcome = Empty,
            error.type = Empty,
            error.message = Empty,
            otel.status_code = Empty,
        );
        record_key(&span, step, phase);
        span
    }

    /// Opens the span of `step` in `phase`, kept open until the phase ends.
    fn open(&mut self, step: StepRef<'_>, phase: Phase) -> Span {
        let span = self.step_span(step, phase);
        if self.steps.len() <= step.index {
            self.steps.resize(step.index + 1, None);
        }
        self.steps[step.index] = Some(span.clone());
        span
    }

    /// The open span of step `index` (opening it if it is not), for its attempt
    /// `attempt`.
    fn attempt(&mut self, step: StepRef<'_>, phase: Phase, attempt: u32) -> Span {
        let span = match self.steps.get(step.index) {
            Some(Some(span)) if attempt > 1 => span.clone(),
            _ => self.open(step, phase),
        };
        span.record("workflow.execution.attempt", attempt);
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

    /// Takes the open span of `step` out (it closes once the engine's scope is gone too),
    /// or a new one if it has none, and records how its phase ended.
    fn close(&mut self, step: StepRef<'_>, phase: Phase, outcome: &'static str) -> Span {
        let open = self.steps.get_mut(step.index).and_then(Option::take);
        let span = open.unwrap_or_else(|| self.step_span(step, phase));
        span.record("tale.step.outcome", outcome);
        span
    }
}

/// Records the running step's idempotency key on its span: a durable run sets it around
/// the step's attempts (or its compensation's), where its events are emitted.
#[cfg(feature = "journal")]
fn record_key(span: &Span, step: StepRef<'_>, phase: Phase) {
    use crate::journal::Phase as Keyed;
    let Some(key) = crate::journal::idempotency_key() else {
        return;
    };
    let same_phase = matches!(
        (key.phase, phase),
        (Keyed::Execute, Phase::Execute) | (Keyed::Compensate, Phase::Compensate)
    );
    // Not a key an outer durable step left set for a saga its code runs.
    if same_phase && usize::try_from(key.index) == Ok(step.index) {
        span.record("tale.idempotency_key", display(key));
    }
}

#[cfg(not(feature = "journal"))]
fn record_key(_: &Span, _: StepRef<'_>, _: Phase) {}

/// Marks `span` as failed with `error` (or a panic).
fn failed<E: Display>(span: &Span, error: Option<&E>) {
    span.record("otel.status_code", "ERROR");
    match error {
        Some(error) => {
            span.record("error.type", type_name::<E>());
            span.record("error.message", display(error));
        }
        None => {
            span.record("error.type", "panic");
        }
    }
}

impl<E: Display> Observer<E> for TracingObserver {
    fn on_event(&mut self, event: &Event<'_, E>) {
        match event {
            Event::SagaStarted { saga } => {
                let span = span!(
                    Level::INFO,
                    "saga",
                    workflow.name = saga,
                    workflow.execution.id = Empty,
                    workflow.execution.outcome = Empty,
                    tale.outcome = Empty,
                    error.type = Empty,
                    error.message = Empty,
                    otel.status_code = Empty,
                );
                span.in_scope(|| tracing::info!("saga started"));
                self.saga = Some(span);
                self.steps.clear();
            }
            Event::AttemptStarted { step, attempt } => {
                self.attempt(*step, Phase::Execute, *attempt)
                    .in_scope(|| tracing::debug!(attempt, "attempt started"));
            }
            Event::AttemptSucceeded { step, attempt } => {
                self.close(*step, Phase::Execute, "succeeded")
                    .in_scope(|| tracing::debug!(attempt, "step succeeded"));
            }
            Event::AttemptFailed {
                step,
                attempt,
                error,
                retry_in: Some(delay),
            } => self.of(step.index).in_scope(|| {
                tracing::warn!(attempt, %error, ?delay, "attempt failed; retrying");
            }),
            Event::AttemptFailed {
                step,
                attempt,
                error,
                retry_in: None,
            } => {
                let span = self.close(*step, Phase::Execute, "failed");
                failed(&span, Some(*error));
                span.in_scope(|| tracing::warn!(attempt, %error, "step failed"));
            }
            Event::AttemptPanicked { step, attempt } => {
                let span = self.close(*step, Phase::Execute, "panicked");
                failed::<E>(&span, None);
                span.in_scope(|| tracing::error!(attempt, "step panicked"));
            }
            Event::CompensationStarted {
                step,
                attempt,
                uncertain,
            } => {
                let span = self.attempt(*step, Phase::Compensate, *attempt);
                if *attempt == 1 {
                    span.record("tale.uncertain", uncertain);
                }
                span.in_scope(|| tracing::debug!(attempt, uncertain, "compensation started"));
            }
            Event::CompensationSucceeded { step, attempt } => {
                self.close(*step, Phase::Compensate, "compensated")
                    .in_scope(|| tracing::info!(attempt, "compensated"));
            }
            Event::CompensationFailed {
                step,
                attempt,
                error,
                retry_in: Some(delay),
            } => {
                let error = error.map_or_else(|| "panicked".to_owned(), ToString::to_string);
                self.of(step.index).in_scope(|| {
                    tracing::warn!(attempt, %error, ?delay, "compensation failed; retrying");
                });
            }
            Event::CompensationFailed {
                step,
                attempt,
                error,
                retry_in: None,
            } => {
                let outcome = if error.is_some() {
                    "failed"
                } else {
                    "panicked"
                };
                let span = self.close(*step, Phase::Compensate, outcome);
                failed(&span, *error);
                let error = error.map_or_else(|| "panicked".to_owned(), ToString::to_string);
                span.in_scope(|| {
                    tracing::error!(attempt, %error, "compensation failed for good");
                });
            }
            Event::CompensationSkipped { step } => {
                let span = self.close(*step, Phase::Compensate, "skipped");
                span.record("otel.status_code", "ERROR");
                span.in_scope(|| tracing::error!("compensation skipped"));
            }
            Event::OutcomeUnknown { step } => {
                let span = self.close(*step, Phase::Compensate, "outcome unknown");
                span.record("otel.status_code", "ERROR");
                span.in_scope(|| {
                    tracing::error!(
                        "outcome unknown: not compensated (no compensation without its output)"
                    );
                });
            }
            Event::SagaFinished { outcome, error, .. } => {
                self.steps.clear();
                let span = self.saga.take().unwrap_or_else(Span::none);
                let convention = match outcome {
                    Outcome::Completed => "success",
                    Outcome::Compensated | Outcome::CompensationFailed => "failure",
                    Outcome::Panicked => "error",
                };
                span.record("workflow.execution.outcome", convention);
                span.record("tale.outcome", outcome.as_str());
                let error = error.map(|e| format!("{e:#}"));
                if *outcome != Outcome::Completed {
                    span.record("otel.status_code", "ERROR");
                }
                if let Some(message) = &error {
                    span.record("error.type", type_name::<E>());
                    span.record("error.message", message.as_str());
                }
                span.in_scope(|| match outcome {
                    Outcome::Completed => tracing::info!("saga completed"),
                    Outcome::Compensated => {
                        tracing::warn!(error = error.as_deref(), "saga failed and was compensated");
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

    fn scope(&self, index: usize) -> Scope {
        match self.steps.get(index) {
            Some(Some(span)) => Scope::span(span.clone()),
            _ => Scope::none(),
        }
    }

    fn execution_id(&mut self, id: &dyn Display) {
        if let Some(saga) = &self.saga {
            saga.record("workflow.execution.id", display(id));
        }
    }

    fn replayed(&mut self, step: StepRef<'_>, succeeded: bool) {
        let outcome = if succeeded { "succeeded" } else { "failed" };
        let span = self.step_span(step, Phase::Execute);
        span.record("tale.replayed", true);
        span.record("tale.step.outcome", outcome);
        if !succeeded {
            span.record("otel.status_code", "ERROR");
        }
        span.in_scope(|| tracing::debug!(outcome, "step answered from the journal"));
    }
}
