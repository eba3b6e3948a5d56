//! Crash tests: a process running durable sagas is killed with SIGKILL at random
//! points, recovery finishes what it left, and the two databases it wrote (tale's
//! journal and the test services' effects) are checked: no saga lost, every saga
//! completed or compensated (or stuck where the test made a compensation fail for
//! good), every effect applied once, every applied effect of a failed saga undone once.
//!
//! The child process is `tests/src/bin/crash_child.rs`; see it for the sagas, the
//! services and their tables. Each round starts a child that runs new sagas on one to
//! three threads, kills it after 0.5 to 60 ms, then runs a recovery child; three
//! recoveries in ten are killed too (after up to 20 ms) and recovery starts again, until
//! one runs to its end. The rounds go on until the wanted number of kills landed (a
//! child that finished before its kill does not count). Then one more recovery must find
//! nothing to do, and the checks run. With `--nocapture` the test prints a summary:
//! kills, sagas by outcome, what the recoveries found (each unfinished saga's last
//! journal record), and the duplicate calls the services suppressed by key.
//!
//! The default run (200 kills) takes about 12 s on two cores.
//!
//! # Rerunning
//!
//! ```text
//! cargo test -p tests --test crash_recovery -- --nocapture
//! TALE_CRASH_SEED=12345 TALE_CRASH_KILLS=2000 cargo test -p tests --test crash_recovery -- --nocapture
//! ```
//!
//! - `TALE_CRASH_SEED` (decimal or `0x` hex; default [`DEFAULT_SEED`]) fixes the sagas'
//!   plans (which step fails, which calls are busy, slow or time out), the number of
//!   sagas and threads of each run, and every delay before a kill. Where exactly a kill
//!   lands still depends on the machine's timing, so two runs with one seed make the
//!   same choices but are not identical instruction for instruction.
//! - `TALE_CRASH_KILLS` (default [`DEFAULT_KILLS`]): the number of SIGKILLs to deliver.
//! - `TALE_CRASH_SYNC` (`normal`, the default; `full`; `off`): the journal's
//!   [`Sync`](tale::journal::Durability). All three lose nothing when the process is killed
//!   (they differ on OS crashes and power loss, which this test does not simulate).
//!
//! The databases are in `target/tmp/crash_recovery-<seed>`; they are kept when a check
//! fails, for a look with `sqlite3`.
#![cfg(unix)]

use std::path::Path;
use std::thread;

use tale::journal::{Lease, Record, SagaRow, SqliteStore, Status};
use tests::crash::check::{Call, Effect, Layout, World, check, key};
use tests::crash::harness::{Suite, Summary, run_suite};

/// The seed when `TALE_CRASH_SEED` is not set.
const DEFAULT_SEED: u64 = 0x7A1E_5EED;
/// The number of kills when `TALE_CRASH_KILLS` is not set.
const DEFAULT_KILLS: u64 = 200;

#[test]
fn sagas_survive_sigkill_at_random_points() {
    run_suite(&Suite {
        name: "crash_recovery",
        tmp: Path::new(env!("CARGO_TARGET_TMPDIR")),
        exe: env!("CARGO_BIN_EXE_crash_child"),
        layout: &Layout::SYNC,
        default_seed: DEFAULT_SEED,
        default_kills: DEFAULT_KILLS,
        max_lanes: 3,
    });
}

/// The checks are not vacuous: a world as a correct runtime leaves it passes, and the
/// same world with an undo missing, a repeated call that asked for another effect, or
/// a saga lost, does not.
#[test]
fn the_checks_see_what_a_broken_runtime_would_leave() {
    let step = |fail: &str| {
        format!(
            r#"{{"amount":5,"busy":0,"busy_after_effect":false,"fail":"{fail}","undo_busy":0,"undo_fails":false,"pause_ms":0}}"#
        )
    };
    let inputs = format!(
        r#"{{"order":"x","steps":[{},{},{}]}}"#,
        step("No"),
        step("Reject"),
        step("No")
    );
    // trip: the flight is reserved, the hotel refuses, the flight is cancelled.
    let row = SagaRow {
        id: tale::journal::SagaId(1),
        name: "trip".into(),
        inputs: inputs.clone(),
        status: Status::Compensated,
        current_step: Some(0),
        current_step_name: Some("flight".into()),
        attempts: 1,
        records: 7,
        last_error: None,
        fingerprint: None,
        lease: Lease {
            epoch: 2,
            ..Lease::default()
        },
        created_at: 0,
        updated_at: 0,
    };
    let records = vec![
        Record::StepStarted {
            index: 0,
            name: "flight".into(),
        },
        Record::StepSucceeded {
            index: 0,
            attempts: 1,
            output: r#"{"key":"saga-1/step-0/execute","amount":5}"#.into(),
        },
        Record::StepStarted {
            index: 1,
            name: "hotel".into(),
        },
        Record::StepFailed {
            index: 1,
            errors: r#"[{"Rejected":"hotel refused"}]"#.into(),
            gave_up: tale::GaveUp::Permanent,
        },
        Record::CompensationStarted {
            index: 0,
            uncertain: false,
        },
        Record::CompensationSucceeded { index: 0 },
        Record::Finished {
            status: Status::Compensated,
        },
    ];
    let call = |epoch: i64, worker: &str, key: &str, accepted: bool| Call {
        saga: 1,
        epoch,
        worker: worker.into(),
        key: key.into(),
        accepted,
    };
    let effect = |phase: &str, service: &str, target: Option<&str>| Effect {
        key: key(1, 0, phase),
        saga: 1,
        step: 0,
        phase: phase.into(),
        service: service.into(),
        target: target.map(Into::into),
        amount: 5,
    };
    let world = || World {
        sagas: vec![(row.clone(), records.clone())],
        effects: [
            effect("execute", "reserve", None),
            effect("compensate", "cancel", Some("saga-1/step-0/execute")),
        ]
        .into_iter()
        .map(|e| (e.key.clone(), e))
        .collect(),
        orders: [(1, ("trip".to_owned(), inputs.clone()))].into(),
        duplicates: vec![("execute".into(), true)],
        keyless: vec![],
        calls: vec![
            call(1, "w1", "saga-1/step-0/execute", true),
            call(2, "w2", "saga-1/step-0/compensate", true),
        ],
        dense_ids: true,
    };
    let problems = |world: &World| check(world, &Layout::SYNC, &mut Summary::default());
    assert_eq!(problems(&world()), Vec::<String>::new());

    let mut no_undo = world();
    no_undo.effects.remove("saga-1/step-0/compensate");
    assert_eq!(
        problems(&no_undo),
        [
            "saga 1 (trip): the journal says step 0 was compensated; no undo",
            r#"saga 1 (trip): step 0 (flight) was not undone: Some(Effect { key: "saga-1/step-0/execute", saga: 1, step: 0, phase: "execute", service: "reserve", target: None, amount: 5 })"#
        ]
    );

    let mut conflicting = world();
    conflicting.duplicates.push(("compensate".into(), false));
    assert_eq!(
        problems(&conflicting),
        ["a repeated compensate call asked for another effect"]
    );

    // Two workers at once: the same epoch from two workers, an older owner served after
    // a newer one, a stale worker that goes on calling, an epoch the journal never gave.
    let mut twice = world();
    twice
        .calls
        .insert(1, call(1, "w3", "saga-1/step-1/execute", true));
    assert_eq!(
        problems(&twice),
        ["saga 1 at epoch 1: calls from two workers, w1 and w3"]
    );
    let mut back = world();
    back.calls
        .push(call(1, "w1", "saga-1/step-1/execute", true));
    assert_eq!(
        problems(&back),
        ["saga 1: saga-1/step-1/execute served at epoch 1 after a call at epoch 2"]
    );
    let mut zombie = world();
    for step in 1..=3 {
        zombie
            .calls
            .push(call(1, "w1", &format!("saga-1/step-{step}/execute"), false));
    }
    assert_eq!(
        problems(&zombie),
        [
            "saga 1: a stale worker at epoch 1 went on calling (3 refused calls, the last saga-1/step-3/execute)"
        ]
    );
    let mut beyond = world();
    beyond
        .calls
        .push(call(3, "w3", "saga-1/step-0/compensate", true));
    assert_eq!(
        problems(&beyond),
        ["saga 1: a call at epoch 3 beyond the journal's Some(2)"]
    );

    let mut lost = world();
    lost.sagas.clear();
    let lost = problems(&lost);
    assert!(
        lost.contains(&"the services served saga 1; the journal lost it".to_owned()),
        "{lost:?}"
    );
}

/// Bug found while writing these tests. [`SqliteStore`] says that processes may share a
/// journal file ("a writer waits up to `BUSY_TIMEOUT` for another before failing"), and
/// creates the schema under the write lock because "another process may be creating the
/// same journal now". Yet when several connections open a *new* journal file at the same
/// moment, one round in a hundred or so (four openers) sees some of them fail at once
/// with `cannot switch to WAL mode` (SQLITE_BUSY, "database is locked"): SQLite does not
/// call the busy handler for `PRAGMA journal_mode = WAL` in this case, and `open_with`
/// made that switch before its locked setup, without retrying. Separate processes failed
/// the same way; a journal that already exists opened fine. Fixed: `open_with` retries
/// the switch while the file is locked, up to the busy timeout. This is its regression
/// test.
#[test]
fn several_openers_of_a_new_journal_wait_for_each_other() {
    const ROUNDS: usize = 200;
    const OPENERS: usize = 4;
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crash_recovery-concurrent-open");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let path = root.join(format!("journal-{round}.db"));
        let barrier = std::sync::Barrier::new(OPENERS);
        thread::scope(|scope| {
            let openers: Vec<_> = (0..OPENERS)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        SqliteStore::open(&path).err().map(|e| format!("{e:?}"))
                    })
                })
                .collect();
            for opener in openers {
                if let Some(error) = opener.join().unwrap() {
                    failures.push(format!("round {round}: {error}"));
                }
            }
        });
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        failures.is_empty(),
        "{} of {} opens failed, the first: {}",
        failures.len(),
        ROUNDS * OPENERS,
        failures[0]
    );
}
