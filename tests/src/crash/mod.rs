//! The shared harness of the crash suites: the sagas and their seeded plans, the test
//! services that apply each effect once per idempotency key, the step that calls them,
//! the process harness that starts children and kills them with SIGKILL, and the checks
//! that read what the journal and the services say once recovery is done.
//!
//! A crash suite is a child binary (`src/bin/crash_child.rs` for sync sagas) that runs
//! and recovers sagas of [`plan::SAGAS`] against [`services::Services`], and a test
//! that drives it with [`harness::Harness`] and ends with [`check::check`].

pub mod call;
pub mod check;
pub mod fleet;
pub mod harness;
pub mod plan;
pub mod rng;
pub mod sagas;
pub mod services;
