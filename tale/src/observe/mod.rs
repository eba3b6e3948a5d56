//! Observing sagas: every transition of a run is an [`Event`] delivered to an
//! [`Observer`]; [`Report`] sums a run up; [`TracingObserver`] (feature `tracing`) turns
//! events into spans; [`testing`] (feature `testing`) injects faults.
//!
//! The engine emits the events and knows nothing of what consumes them: observers sit
//! beside the engine, and the engine never depends on one.

mod event;
mod observer;
mod report;
#[cfg(feature = "testing")]
pub mod testing;
#[cfg(feature = "tracing")]
mod tracing;

pub use crate::step::describe::StepRef;
pub use event::{Event, Outcome};
pub use observer::{Fault, FaultPoint, FnObserver, Observer, observe_fn};
pub use report::{Report, StepReport, StepStatus};
#[cfg(feature = "tracing")]
pub use tracing::TracingObserver;
