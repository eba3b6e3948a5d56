//! Observing sagas: every transition of a run is an [`Event`] delivered to an
//! [`Observer`]; [`Report`] sums a run up; [`TracingObserver`] (feature `tracing`) turns
//! events into spans; [`MetricsObserver`] (feature `metrics`) records counters, histograms
//! and a gauge through the `metrics` facade; [`testing`] (feature `testing`) injects
//! faults.
//!
//! The engine emits the events and knows nothing of what consumes them: observers sit
//! beside the engine, and the engine never depends on one.
//!
//! # Metrics
//!
//! [`MetricsObserver`] records these, every label a saga's or a step's name or a fixed
//! word, so that the series stay bounded by your code (see its docs for what each
//! counts):
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `tale_sagas_started_total` | counter | `saga` |
//! | `tale_sagas_finished_total` | counter | `saga`, `outcome` (`completed`, `compensated`, `stuck`, `panicked`) |
//! | `tale_sagas_in_flight` | gauge | `saga` |
//! | `tale_saga_duration_seconds` | histogram | `saga`, `outcome` |
//! | `tale_step_attempts_total` | counter | `saga`, `step` |
//! | `tale_step_failures_total` | counter | `saga`, `step` |
//! | `tale_compensation_attempts_total` | counter | `saga`, `step` |
//! | `tale_compensation_failures_total` | counter | `saga`, `step` |
//! | `tale_step_duration_seconds` | histogram | `saga`, `step`, `phase` (`execute`, `compensate`) |
//!
//! ```
//! # #[cfg(feature = "metrics")] {
//! use tale::observe::MetricsObserver;
//! use tale::Executor;
//!
//! let executor = Executor::new().with_observer(MetricsObserver::new());
//! # let _ = executor;
//! # }
//! ```

mod event;
#[cfg(feature = "metrics")]
mod metrics;
mod observer;
mod report;
mod scope;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tracing")]
mod tracing;

pub use crate::step::describe::StepRef;
pub use event::{Event, Outcome};
#[cfg(feature = "metrics")]
pub use metrics::MetricsObserver;
pub use observer::{Fault, FaultPoint, FnObserver, Observer, observe_fn};
pub use report::{Report, StepReport, StepStatus};
#[doc(hidden)]
pub use scope::Scope;
pub(crate) use scope::Scoped;
#[cfg(feature = "tracing")]
pub use tracing::TracingObserver;
