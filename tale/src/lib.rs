#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The vocabulary rooms; see ARCHITECTURE.md for the map.
mod clock;
pub mod compose;
mod engine;
mod error;
#[cfg(feature = "journal")]
pub mod journal;
mod macro_support;
pub mod observe;
mod retry;
mod rng;
pub mod step;
mod timeout;

#[doc(hidden)]
pub mod __private;

#[cfg(feature = "testing")]
pub use observe::testing;

#[cfg(feature = "tokio")]
pub use clock::TokioClock;
pub use clock::{AsyncSleep, Clock, ManualClock, SystemClock};
pub use engine::{Executor, OnCompensationFailure};
pub use error::{CompensationFailure, NotCompensated, SagaError, StepFailure, StepId};
pub use observe::{Event, Observer, Outcome};
pub use retry::{GaveUp, Retry, Transient};
pub use step::{AsyncStep, Describe, Step, StepExt, StepKind};
pub use timeout::{CancelHandle, Cancelled, Limits, TimedOut, Timeout};

pub use tale_macros::{saga, step};
