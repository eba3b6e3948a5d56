//! The engine: the [`Executor`] that sagas run on, and one run of a saga, sync
//! ([`Run`]) or async ([`AsyncRun`]).
//!
//! The code `saga!` generates (and the runtime-composed sagas of
//! [`compose`](crate::compose)) own the steps and their outputs; a run executes one
//! step at a time under its retry policy, compensates one step at a time, emits the
//! events and gathers the failures. Every decision after an attempt, sync or async,
//! step or compensation, is made in one place: [`settle`].
//!
//! - [`executor`]: the clock, the observer and the policies a run borrows;
//! - [`run`]: one sync run, and [`Unwind`], what a failed step carries outward;
//! - [`compensate`]: a run's compensations, and what could not be undone;
//! - [`settle`]: what follows an attempt (events, retry delay, recorded failure);
//! - [`async_run`]: one async run: time limits, cancellation, parallel branches;
//! - [`fan_out`]: one step per item of an iterator, in order or concurrently;
//! - [`join`], [`permits`], [`shared`]: the runtime-free pieces an async run is built
//!   of (joining futures, bounding compensations, the state its branches share).

pub(crate) mod async_run;
pub(crate) mod compensate;
pub(crate) mod executor;
pub(crate) mod fan_out;
pub(crate) mod join;
pub(crate) mod permits;
pub(crate) mod run;
pub(crate) mod settle;
pub(crate) mod shared;

pub use async_run::AsyncRun;
#[cfg(feature = "journal")]
pub(crate) use async_run::Failed;
pub use executor::{Executor, OnCompensationFailure};
pub use fan_out::JoinItems;
pub use join::{GroupFailure, Join2, join2};
pub use run::Run;
#[cfg(feature = "journal")]
pub(crate) use run::Undone;
#[cfg(feature = "journal")]
pub use run::Unwind;
