//! Crash tests of many workers on one journal: several processes (`crash_worker`) share
//! one SQLite journal file, each starting durable async sagas (with `join!` groups, a
//! concurrent fan-out and timed uncertain steps) and running an `AsyncWorker`, while
//! the harness, seeded, kills one with SIGKILL at random points, pauses one with
//! SIGSTOP past its lease and resumes it (it must be fenced), or shuts one down
//! gracefully. Then: no saga lost; every saga completed, compensated or stuck as its
//! plan says; no effect and no compensation applied twice; and no two workers ever ran
//! one saga at once: the test services record the worker and the epoch of every call,
//! and refuse a call older than the newest they saw (the fencing token), and the checks
//! read it all (`tests::crash::check::check_owners`).
//!
//! The default run (40 kills, 3 workers) takes half a minute or so on two cores.
//!
//! # Rerunning
//!
//! ```text
//! cargo test -p tests --test crash_workers -- --nocapture
//! TALE_CRASH_SEED=12345 TALE_CRASH_KILLS=400 cargo test -p tests --test crash_workers -- --nocapture
//! ```
#![cfg(unix)]

use std::path::Path;

use tests::crash::fleet::{Fleet, JournalKind, run_fleet};

#[test]
fn workers_sharing_a_journal_survive_sigkill_and_sigstop() {
    run_fleet(&Fleet {
        name: "crash_workers",
        tmp: Path::new(env!("CARGO_TARGET_TMPDIR")),
        exe: env!("CARGO_BIN_EXE_crash_worker"),
        default_seed: 0x000F_1EE7,
        default_kills: 40,
        workers: 3,
        ttl_ms: 300,
        journal: JournalKind::Sqlite,
    });
}
