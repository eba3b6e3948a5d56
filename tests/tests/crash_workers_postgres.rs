//! The workers' crash suite on PostgreSQL (`crash_workers.rs`'s harness, with the
//! journal in a fresh database on the tests' throwaway server, `tests::pg`): four
//! worker processes run and claim sagas against one database while the harness,
//! seeded, kills workers with SIGKILL, pauses one with SIGSTOP past its lease and
//! resumes it (it must be fenced), shuts workers down gracefully, terminates their
//! connections with `pg_terminate_backend`, and restarts the server with
//! `pg_ctl restart -m immediate`. The same checks: no saga lost; every saga completed,
//! compensated or stuck as its plan says; no effect and no compensation applied twice;
//! no two workers ever ran one saga at once.
//!
//! # Rerunning
//!
//! ```text
//! cargo test -p tests --test crash_workers_postgres -- --nocapture
//! TALE_CRASH_SEED=12345 TALE_CRASH_KILLS=400 cargo test -p tests --test crash_workers_postgres -- --nocapture
//! ```
#![cfg(unix)]

use std::path::Path;

use tests::crash::fleet::{Fleet, JournalKind, run_fleet};

#[test]
fn workers_on_postgres_survive_sigkill_sigstop_and_the_server_restarting() {
    if tests::pg::skipped() {
        return;
    }
    run_fleet(&Fleet {
        name: "crash_workers_postgres",
        tmp: Path::new(env!("CARGO_TARGET_TMPDIR")),
        exe: env!("CARGO_BIN_EXE_crash_worker"),
        default_seed: 0x0009_6F5E,
        default_kills: 40,
        workers: 4,
        ttl_ms: 400,
        journal: JournalKind::Postgres,
    });
}
