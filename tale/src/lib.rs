#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod async_execution;
mod async_step;
mod clock;
mod closure;
mod compose;
mod compose_async;
mod concurrent;
mod error;
mod event;
mod execution;
mod executor;
mod join;
#[cfg(feature = "journal")]
pub mod journal;
mod macro_support;
mod permits;
mod report;
mod retry;
mod rng;
mod shared;
mod step;
#[cfg(feature = "testing")]
pub mod testing;
mod timeout;
#[cfg(feature = "tracing")]
mod tracing;
mod tuned;

#[doc(hidden)]
pub mod __private;

pub use async_step::AsyncStep;
#[cfg(feature = "tokio")]
pub use clock::TokioClock;
pub use clock::{AsyncSleep, Clock, ManualClock, SystemClock};
pub use closure::{FnPair, FnStep, IntoStepResult, from_fn, from_fns};
pub use compose::{Link, LinkBuilder, Saga, run_transaction};
pub use compose_async::{AsyncLink, AsyncLinkBuilder, AsyncSaga};
pub use concurrent::{Branch, run_concurrent_transaction, run_concurrent_transaction_with};
pub use error::{CompensationFailure, SagaError, StepFailure, StepId};
pub use event::{Event, Fault, FaultPoint, FnObserver, Observer, Outcome, StepRef, observe_fn};
pub use executor::{Executor, OnCompensationFailure};
pub use report::{Report, StepReport, StepStatus};
pub use retry::{GaveUp, Retry, Transient};
pub use step::{Step, StepKind};
pub use timeout::{CancelHandle, Cancelled, Limits, TimedOut, Timeout};
pub use tuned::{StepExt, Tuned};

#[cfg(feature = "tracing")]
pub use crate::tracing::TracingObserver;

pub use tale_macros::{saga, step};
