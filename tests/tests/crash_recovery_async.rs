//! Crash tests of durable async sagas: a process running `saga!`'s durable `async fn`
//! sagas, with `join!` groups, a concurrent fan-out (`join!(for ...)`: the saga
//! `group`, whose count and items the checks read at their journal positions) and
//! per-attempt timeouts on their uncertain steps, many in flight at once on a
//! multi-threaded tokio runtime (half of them writing inline, half through a
//! `BlockingPool`, whose writing thread groups their writes), is killed with SIGKILL
//! at random points; recovery
//! (several sagas at once, and killed too) finishes what it left; and the journal and
//! the test services are checked as for the sync suite (`crash_recovery.rs`, whose
//! harness this shares: `tests::crash`), every branch of every group included.
//!
//! The child process is `tests/src/bin/crash_child_async.rs`. The default run (200
//! kills) takes a quarter of a minute or so on two cores.
//!
//! # Rerunning
//!
//! ```text
//! cargo test -p tests --test crash_recovery_async -- --nocapture
//! TALE_CRASH_SEED=12345 TALE_CRASH_KILLS=2000 cargo test -p tests --test crash_recovery_async -- --nocapture
//! ```
#![cfg(unix)]

use std::path::Path;

use tests::crash::check::Layout;
use tests::crash::harness::{Suite, run_suite};

#[test]
fn async_sagas_survive_sigkill_at_random_points() {
    run_suite(&Suite {
        name: "crash_recovery_async",
        tmp: Path::new(env!("CARGO_TARGET_TMPDIR")),
        exe: env!("CARGO_BIN_EXE_crash_child_async"),
        layout: &Layout::ASYNC,
        default_seed: 0xA5_7E5E,
        default_kills: 200,
        max_lanes: 8,
    });
}
