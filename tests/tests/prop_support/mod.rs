//! The plans of generated sagas, their proptest strategies, and the reference model that
//! says what running a plan must do: every event, every closure call, every sleep and
//! the final result, in order.
//!
//! The model is written from DESIGN.md's "Semantics" and the documented behaviour of
//! `Retry`, `Executor` and `SagaError`, not from the engine's code paths: a step runs
//! its attempts under its policy, the failed step's compensation runs first if it is
//! uncertain, then the completed steps' compensations in reverse order (each under its
//! own policy), and with `OnCompensationFailure::Stop` the ones after the first failure
//! are skipped.
//!
//! - [`plan`]: the plans and their policies;
//! - [`strategy`]: the proptest strategies that draw them;
//! - [`trace`]: what a run did, summarized;
//! - [`model`]: what it must do.

mod model;
mod plan;
mod strategy;
mod trace;

pub(crate) use model::*;
pub(crate) use plan::*;
pub(crate) use strategy::*;
pub(crate) use trace::*;
