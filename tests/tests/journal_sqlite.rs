//! The SQLite journal store: round trips, summaries that agree with `MemoryStore`,
//! reopening, concurrency, and every kind of bad file giving a clear error.

use std::path::{Path, PathBuf};

use tests::temp::TempDir;

use tale::journal::{
    Claim, Durability, JournalError, Lease, Leases, MemoryStore, NewSaga, Record, SagaId, SagaRow,
    SqliteStore, Status, Store, WorkerId,
};

fn every_variant() -> Vec<Record> {
    vec![
        Record::StepStarted {
            index: 0,
            name: "book_flight".into(),
        },
        Record::StepSucceeded {
            index: 0,
            attempts: 3,
            output: r#"{"pnr": "X\"1\n", "seats": [1, 2]}"#.into(),
        },
        Record::StepStarted {
            index: 1,
            name: "héllo wörld ✈".into(),
        },
        Record::StepFailed {
            index: 1,
            errors: r#"["timeout", {"code": 503}]"#.into(),
            gave_up: tale::GaveUp::AttemptsExhausted,
        },
        Record::CompensationStarted {
            index: 0,
            uncertain: false,
        },
        Record::CompensationStarted {
            index: 1,
            uncertain: true,
        },
        Record::CompensationSucceeded { index: 1 },
        Record::CompensationFailed {
            index: 0,
            errors: r#"["refund refused"]"#.into(),
        },
        Record::Finished {
            status: Status::Stuck,
        },
        // Not valid JSON: the store keeps text as given.
        Record::StepSucceeded {
            index: u32::MAX,
            attempts: 0,
            output: "not json {".into(),
        },
        Record::Finished {
            status: Status::Completed,
        },
        Record::Finished {
            status: Status::Compensated,
        },
        Record::Finished {
            status: Status::Resolved,
        },
        Record::Finished {
            status: Status::Running,
        },
        Record::Reopened {
            by: "ana@ops".into(),
            note: "the bank is back \"for now\"".into(),
        },
        Record::Resolved {
            by: "ana".into(),
            note: String::new(),
        },
        Record::Abandoned {
            by: "bo".into(),
            note: "customer cancelled ✈".into(),
        },
    ]
}

#[test]
fn every_record_variant_round_trips() {
    let dir = TempDir::new("tale-journal-sqlite");
    let store = SqliteStore::open(dir.file("j.db")).unwrap();
    let claim = store
        .begin(&NewSaga::new("trip", r#"{"to": "Lisbon"}"#))
        .unwrap();
    let saga = claim.saga;
    let records = every_variant();
    for record in &records {
        store.append(claim, record).unwrap();
    }
    assert_eq!(store.records(saga).unwrap(), records);
    let (prefix, error) = store.records_prefix(saga);
    assert_eq!(prefix, records);
    assert!(error.is_none());
    let row = store.saga(saga).unwrap();
    assert_eq!(row.name, "trip");
    assert_eq!(row.inputs, r#"{"to": "Lisbon"}"#);
    assert_eq!(row.records, records.len() as u64);
}

/// A script of sagas and appends, run against both stores.
fn script(store: &dyn Store) -> Vec<(SagaRow, Vec<Record>)> {
    let a = store.begin(&NewSaga::new("a", "1")).unwrap();
    let b = store.begin(&NewSaga::new("b", "2")).unwrap();
    let c = store.begin(&NewSaga::new("c", "3")).unwrap();
    let d = store.begin(&NewSaga::new("d", "4")).unwrap();
    let steps = |claim: Claim, n: u32| {
        for index in 0..n {
            store
                .append(
                    claim,
                    &Record::StepStarted {
                        index,
                        name: format!("step{index}").into(),
                    },
                )
                .unwrap();
            store
                .append(
                    claim,
                    &Record::StepSucceeded {
                        index,
                        attempts: 1,
                        output: format!("{index}"),
                    },
                )
                .unwrap();
        }
    };
    // a: completes.
    steps(a, 3);
    store
        .append(
            a,
            &Record::Finished {
                status: Status::Completed,
            },
        )
        .unwrap();
    // b: fails at step 2, compensates.
    steps(b, 2);
    store
        .append(
            b,
            &Record::StepStarted {
                index: 2,
                name: "charge".into(),
            },
        )
        .unwrap();
    for record in [
        Record::StepFailed {
            index: 2,
            errors: r#"["declined"]"#.into(),
            gave_up: tale::GaveUp::AttemptsExhausted,
        },
        Record::CompensationStarted {
            index: 1,
            uncertain: false,
        },
        Record::CompensationSucceeded { index: 1 },
        Record::CompensationStarted {
            index: 0,
            uncertain: false,
        },
        Record::CompensationSucceeded { index: 0 },
        Record::Finished {
            status: Status::Compensated,
        },
    ] {
        store.append(b, &record).unwrap();
    }
    // c: stuck.
    steps(c, 1);
    for record in [
        Record::StepStarted {
            index: 1,
            name: "hotel".into(),
        },
        Record::StepFailed {
            index: 1,
            errors: r#"["full"]"#.into(),
            gave_up: tale::GaveUp::Permanent,
        },
        Record::CompensationStarted {
            index: 1,
            uncertain: true,
        },
        Record::CompensationFailed {
            index: 1,
            errors: r#"["refund refused"]"#.into(),
        },
        Record::Finished {
            status: Status::Stuck,
        },
    ] {
        store.append(c, &record).unwrap();
    }
    // d: still running, mid-step.
    steps(d, 1);
    store
        .append(
            d,
            &Record::StepStarted {
                index: 1,
                name: "car".into(),
            },
        )
        .unwrap();
    store.sagas(&[]).unwrap();
    [a, b, c, d]
        .into_iter()
        .map(|claim| {
            (
                store.saga(claim.saga).unwrap(),
                store.records(claim.saga).unwrap(),
            )
        })
        .collect()
}

/// Leases that both stores write alike: one worker, a clock that stands still.
fn same_leases() -> Leases {
    Leases::new().worker(WorkerId::named("w")).clock(|| 1_000)
}

#[test]
fn summaries_match_the_memory_store() {
    let memory = MemoryStore::with_leases(same_leases());
    let sqlite = SqliteStore::in_memory().unwrap().with_leases(same_leases());
    let expected = script(&memory);
    let got = script(&sqlite);
    assert_eq!(got, expected);
    // Spot checks, so a shared mistake in `summarize` still shows.
    let stuck = &got[2].0;
    assert_eq!(stuck.status, Status::Stuck);
    assert_eq!(stuck.current_step, Some(1));
    assert_eq!(stuck.current_step_name.as_deref(), Some("hotel"));
    assert_eq!(stuck.last_error.as_deref(), Some(r#"["refund refused"]"#));
    assert_eq!(stuck.records, 7);
    let running = &got[3].0;
    assert_eq!(running.status, Status::Running);
    assert_eq!(running.current_step, Some(1));
    assert_eq!(running.current_step_name.as_deref(), Some("car"));
    assert_eq!(running.last_error, None);
    assert_eq!(memory.sagas(&[]).unwrap(), sqlite.sagas(&[]).unwrap());
}

#[test]
fn sagas_filters_by_status_and_set_status() {
    let store = SqliteStore::in_memory().unwrap();
    script(&store);
    let ids = |statuses: &[Status]| -> Vec<i64> {
        store
            .sagas(statuses)
            .unwrap()
            .iter()
            .map(|r| r.id.0)
            .collect()
    };
    assert_eq!(ids(&[]), [1, 2, 3, 4]);
    assert_eq!(ids(&[Status::Running]), [4]);
    assert_eq!(ids(&[Status::Stuck]), [3]);
    assert_eq!(ids(&[Status::Completed, Status::Compensated]), [1, 2]);
    assert!(ids(&[Status::Resolved]).is_empty());

    store.set_status(SagaId(3), Status::Resolved).unwrap();
    assert_eq!(store.saga(SagaId(3)).unwrap().status, Status::Resolved);
    assert!(ids(&[Status::Stuck]).is_empty());
    assert_eq!(ids(&[Status::Resolved]), [3]);
    // The records are untouched.
    assert_eq!(store.saga(SagaId(3)).unwrap().records, 7);

    assert!(matches!(
        store.set_status(SagaId(99), Status::Resolved),
        Err(JournalError::UnknownSaga(SagaId(99)))
    ));
    assert!(matches!(
        store.saga(SagaId(99)),
        Err(JournalError::UnknownSaga(_))
    ));
    assert!(matches!(
        store.records(SagaId(99)),
        Err(JournalError::UnknownSaga(_))
    ));
    assert!(matches!(
        store.append(
            Claim {
                saga: SagaId(99),
                epoch: 1
            },
            &Record::CompensationSucceeded { index: 0 }
        ),
        Err(JournalError::UnknownSaga(_))
    ));
}

#[test]
fn reopening_keeps_everything() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = dir.file("j.db");
    let (sagas, records) = {
        let store = SqliteStore::open_with(&path, Durability::Normal).unwrap();
        assert_eq!(store.path(), Some(path.as_path()));
        script(&store);
        store.set_status(SagaId(3), Status::Resolved).unwrap();
        let sagas = store.sagas(&[]).unwrap();
        let records: Vec<_> = sagas.iter().map(|s| store.records(s.id).unwrap()).collect();
        (sagas, records)
    };
    for sync in [Durability::Full, Durability::Off, Durability::Normal] {
        let store = SqliteStore::open_with(&path, sync).unwrap();
        assert_eq!(store.sagas(&[]).unwrap(), sagas);
        for (saga, records) in sagas.iter().zip(&records) {
            assert_eq!(&store.records(saga.id).unwrap(), records);
        }
    }
    // New sagas continue the numbering.
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(
        store.begin(&NewSaga::new("e", "5")).unwrap().saga,
        SagaId(5)
    );
    assert!(SqliteStore::in_memory().unwrap().path().is_none());
}

#[test]
fn the_file_is_a_wal_journal_with_tale_markers() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = dir.file("j.db");
    drop(SqliteStore::open(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let id: i32 = raw
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, SqliteStore::APPLICATION_ID);
    let version: i64 = raw
        .query_row("SELECT schema_version FROM tale_meta", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SqliteStore::SCHEMA_VERSION);
}

/// A journal written by the tale of schema 1 (no fingerprints) is migrated when it is
/// opened: its sagas read as before, with no fingerprint, and new ones get theirs.
#[test]
fn a_schema_1_journal_is_migrated() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = dir.file("v1.db");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA application_id = 1413565509;
             CREATE TABLE tale_meta (application TEXT NOT NULL, schema_version INTEGER NOT NULL);
             INSERT INTO tale_meta VALUES ('tale journal', 1);
             CREATE TABLE sagas (
                 id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, inputs TEXT NOT NULL,
                 status TEXT NOT NULL, current_step INTEGER, current_step_name TEXT,
                 attempts INTEGER NOT NULL DEFAULT 0, records INTEGER NOT NULL, last_error TEXT,
                 created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
             CREATE INDEX sagas_status ON sagas (status, id);
             CREATE TABLE records (
                 saga_id INTEGER NOT NULL REFERENCES sagas (id), seq INTEGER NOT NULL,
                 kind TEXT NOT NULL, step_index INTEGER, payload TEXT NOT NULL,
                 created_at BIGINT NOT NULL, PRIMARY KEY (saga_id, seq));
             INSERT INTO sagas (name, inputs, status, records, created_at, updated_at)
                 VALUES ('trip', '{}', 'running', 1, 0, 0);
             INSERT INTO records VALUES (1, 1, 'step_failed', 0,
                 '{\"errors\": \"[1]\", \"gave_up\": \"AttemptsExhausted\"}', 0);",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let old = store.saga(SagaId(1)).unwrap();
    assert_eq!((old.name.as_str(), old.fingerprint), ("trip", None));
    // Journaled before owners existed: epoch 0, no owner, no lease.
    assert_eq!(old.lease, Lease::default());
    assert!(matches!(
        &store.records(SagaId(1)).unwrap()[..],
        [Record::StepFailed {
            gave_up: tale::GaveUp::AttemptsExhausted,
            ..
        }]
    ));
    let new = store
        .begin(&NewSaga {
            fingerprint: Some(u64::MAX - 1),
            ..NewSaga::new("trip", "{}")
        })
        .unwrap();
    assert_eq!(
        store.saga(new.saga).unwrap().fingerprint,
        Some(u64::MAX - 1)
    );
    // The first claim takes the migrated saga (not the one this handle just began).
    let claimed = store.claim(10).unwrap();
    assert_eq!(
        claimed.iter().map(|c| c.claim).collect::<Vec<_>>(),
        [Claim {
            saga: SagaId(1),
            epoch: 1
        }]
    );
    drop(store);
    let raw = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = raw
        .query_row("SELECT schema_version FROM tale_meta", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SqliteStore::SCHEMA_VERSION);
}

fn database_error(result: Result<SqliteStore, JournalError>) -> String {
    match result {
        Err(e @ JournalError::Database(_)) => e.to_string(),
        Err(e) => panic!("expected a database error, got {e:?}"),
        Ok(_) => panic!("expected a database error, the file opened"),
    }
}

#[test]
fn a_file_of_random_bytes_is_not_a_database() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = dir.file("random.db");
    // A fixed xorshift stream: reproducible "random" bytes.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..8192)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect();
    std::fs::write(&path, &bytes).unwrap();
    let message = database_error(SqliteStore::open(&path));
    assert!(message.contains("random.db"), "{message}");
    assert!(message.contains("not a SQLite database"), "{message}");
    // Untouched.
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_short_text_file_is_not_a_database() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = dir.file("notes.txt");
    std::fs::write(&path, "hello, I am not a database\n".repeat(50)).unwrap();
    let message = database_error(SqliteStore::open(&path));
    assert!(message.contains("not a SQLite database"), "{message}");
}

/// A journal with a few sagas, closed (checkpointed: no WAL file left).
fn written_journal(dir: &TempDir) -> PathBuf {
    let path = dir.file("j.db");
    let store = SqliteStore::open(&path).unwrap();
    // Enough data for several pages.
    for i in 0..40 {
        let claim = store
            .begin(&NewSaga::new("trip", &format!("{i:0>2000}")))
            .unwrap();
        for record in every_variant() {
            store.append(claim, &record).unwrap();
        }
    }
    drop(store);
    path
}

#[test]
fn a_truncated_database_gives_a_clear_error() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = written_journal(&dir);
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(len > 8 * 4096, "the journal is only {len} bytes");
    for keep in [len / 2, 3 * 4096, 4096 + 100, 1000, 60] {
        let copy = dir.file(&format!("truncated-{keep}.db"));
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&copy, &bytes[..keep as usize]).unwrap();
        // SQLite sees that the file is shorter than its header says, at open.
        let message = database_error(SqliteStore::open(&copy));
        assert!(message.contains("damaged"), "{keep}: {message}");
        assert!(
            message.contains(&format!("truncated-{keep}.db")),
            "{message}"
        );
    }
}

#[test]
fn a_foreign_database_is_refused_and_left_untouched() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = dir.file("app.db");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch("CREATE TABLE foo (x INTEGER); INSERT INTO foo VALUES (1);")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    match SqliteStore::open(&path) {
        Err(JournalError::Foreign(why)) => {
            assert!(why.contains("`foo`"), "{why}");
            assert!(why.contains("app.db"), "{why}");
        }
        other => panic!("expected Foreign, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(!dir.file("app.db-wal").exists());

    // Another application's id on an otherwise empty database.
    let path = dir.file("other.db");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.pragma_update(None, "application_id", 42).unwrap();
    }
    assert!(matches!(
        SqliteStore::open(&path),
        Err(JournalError::Foreign(_))
    ));

    // A `tale_meta` table that is not tale's.
    let path = dir.file("meta.db");
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute_batch("CREATE TABLE tale_meta (k TEXT, v TEXT)")
            .unwrap();
    }
    assert!(matches!(
        SqliteStore::open(&path),
        Err(JournalError::Foreign(_))
    ));
}

#[test]
fn an_empty_file_becomes_a_journal() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = dir.file("empty.db");
    std::fs::write(&path, b"").unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.sagas(&[]).unwrap().is_empty());
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = dir.file("j.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store.begin(&NewSaga::new("trip", "{}")).unwrap();
    }
    {
        let raw = rusqlite::Connection::open(&path).unwrap();
        raw.execute("UPDATE tale_meta SET schema_version = 99", [])
            .unwrap();
    }
    match SqliteStore::open(&path) {
        Err(e @ JournalError::NewerSchema { .. }) => {
            assert!(matches!(
                e,
                JournalError::NewerSchema {
                    found: 99,
                    supported: SqliteStore::SCHEMA_VERSION
                }
            ));
            assert!(e.to_string().contains("schema 99"), "{e}");
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

/// A journal with one saga of every variant, and a raw connection to damage it.
fn damaged(dir: &TempDir, sql: &str) -> (SqliteStore, Claim) {
    let path = dir.file("j.db");
    let store = SqliteStore::open(&path).unwrap();
    let claim = store.begin(&NewSaga::new("trip", "{}")).unwrap();
    for record in every_variant() {
        store.append(claim, &record).unwrap();
    }
    let raw = rusqlite::Connection::open(&path).unwrap();
    assert!(raw.execute(sql, [claim.saga.0]).unwrap() > 0, "{sql}");
    (store, claim)
}

fn assert_corrupt(store: &SqliteStore, saga: SagaId, seq: u64, reason: &str) {
    match store.records(saga) {
        Err(JournalError::Corrupt {
            saga: s,
            seq: q,
            reason: r,
        }) => {
            assert_eq!((s, q), (saga, seq), "{r}");
            assert!(r.contains(reason), "{r:?} does not mention {reason:?}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    let (prefix, error) = store.records_prefix(saga);
    assert_eq!(prefix, every_variant()[..seq as usize - 1]);
    assert!(matches!(error, Some(JournalError::Corrupt { seq: q, .. }) if q == seq));
}

#[test]
fn corrupt_records_give_the_readable_prefix_and_a_clear_error() {
    let cases: &[(&str, u64, &str)] = &[
        (
            "UPDATE records SET payload = '{not json' WHERE saga_id = ?1 AND seq = 3",
            3,
            "not JSON",
        ),
        (
            "UPDATE records SET payload = '[1, 2]' WHERE saga_id = ?1 AND seq = 2",
            2,
            "not a JSON object",
        ),
        (
            "UPDATE records SET kind = 'step_teleported' WHERE saga_id = ?1 AND seq = 5",
            5,
            "step_teleported",
        ),
        (
            "UPDATE records SET payload = '{}' WHERE saga_id = ?1 AND seq = 2",
            2,
            "`attempts`",
        ),
        (
            "UPDATE records SET payload = '{\"uncertain\": \"yes\"}' \
             WHERE saga_id = ?1 AND seq = 6",
            6,
            "`uncertain`",
        ),
        (
            "UPDATE records SET payload = '{\"status\": \"exploded\"}' \
             WHERE saga_id = ?1 AND seq = 9",
            9,
            "exploded",
        ),
        (
            "UPDATE records SET step_index = NULL WHERE saga_id = ?1 AND seq = 1",
            1,
            "step_index",
        ),
        (
            "UPDATE records SET step_index = -1 WHERE saga_id = ?1 AND seq = 4",
            4,
            "step_index",
        ),
        (
            "UPDATE records SET payload = x'00ff' WHERE saga_id = ?1 AND seq = 7",
            7,
            "payload",
        ),
        (
            "DELETE FROM records WHERE saga_id = ?1 AND seq = 4",
            4,
            "missing",
        ),
        (
            "DELETE FROM records WHERE saga_id = ?1 AND seq > 10",
            11,
            "missing",
        ),
    ];
    for (sql, seq, reason) in cases {
        let dir = TempDir::new("tale-journal-sqlite");
        let (store, claim) = damaged(&dir, sql);
        let saga = claim.saga;
        assert_corrupt(&store, saga, *seq, reason);
        // The error names the saga and the record.
        let message = store.records(saga).unwrap_err().to_string();
        assert!(
            message.contains(&format!("saga #{}", saga.0)) && message.contains(&format!("{seq}")),
            "{message}"
        );
        // The summary is still readable.
        assert_eq!(
            store.saga(saga).unwrap().records,
            every_variant().len() as u64
        );
    }
}

#[test]
fn an_unknown_status_in_a_summary_is_corrupt() {
    let dir = TempDir::new("tale-journal-sqlite");
    let (store, claim) = damaged(&dir, "UPDATE sagas SET status = 'on_fire' WHERE id = ?1");
    let saga = claim.saga;
    for result in [
        store.saga(saga).map(drop),
        store.sagas(&[]).map(drop),
        store.records(saga).map(drop),
        store.append(claim, &Record::CompensationSucceeded { index: 0 }),
    ] {
        match result {
            Err(JournalError::Corrupt {
                saga: s, reason, ..
            }) => {
                assert_eq!(s, saga);
                assert!(reason.contains("on_fire"), "{reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
    // Nothing was appended by the failed append.
    let raw = rusqlite::Connection::open(store.path().unwrap()).unwrap();
    let count: i64 = raw
        .query_row("SELECT count(*) FROM records", [], |r| r.get(0))
        .unwrap();
    assert_eq!(count, every_variant().len() as i64);
}

#[test]
fn concurrent_appends_from_threads_all_land() {
    let dir = TempDir::new("tale-journal-sqlite");
    let store = SqliteStore::open_with(dir.file("j.db"), Durability::Normal).unwrap();
    const PER_THREAD: u32 = 50;
    let sagas: Vec<SagaId> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let store = &store;
                scope.spawn(move || {
                    let claim = store.begin(&NewSaga::new(&format!("t{t}"), "{}")).unwrap();
                    for index in 0..PER_THREAD {
                        store
                            .append(
                                claim,
                                &Record::StepStarted {
                                    index,
                                    name: format!("t{t}s{index}").into(),
                                },
                            )
                            .unwrap();
                    }
                    claim.saga
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sagas.len(), 4);
    for saga in sagas {
        let records = store.records(saga).unwrap();
        assert_eq!(records.len(), PER_THREAD as usize);
        let row = store.saga(saga).unwrap();
        assert_eq!(row.records, u64::from(PER_THREAD));
        for (index, record) in records.iter().enumerate() {
            assert_eq!(record.index(), Some(index as u32));
        }
    }
}

/// Two stores on one file (two connections, as two processes would have) write to the
/// same sagas in turn: SQLite's locks and the busy timeout serialize them.
/// (Both write under the claim the saga began with: the fence is the epoch.)
#[test]
fn two_connections_on_one_file_interleave_safely() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = dir.file("j.db");
    let first = SqliteStore::open_with(&path, Durability::Normal).unwrap();
    let claim = first.begin(&NewSaga::new("shared", "{}")).unwrap();
    let saga = claim.saga;
    const PER_STORE: u32 = 40;
    std::thread::scope(|scope| {
        for base in [0, 1000] {
            let path: &Path = &path;
            scope.spawn(move || {
                let store = SqliteStore::open_with(path, Durability::Normal).unwrap();
                for i in 0..PER_STORE {
                    store
                        .append(claim, &Record::CompensationSucceeded { index: base + i })
                        .unwrap();
                }
            });
        }
    });
    let records = first.records(saga).unwrap();
    assert_eq!(records.len(), 2 * PER_STORE as usize);
    assert_eq!(first.saga(saga).unwrap().records, u64::from(2 * PER_STORE));
    for base in [0, 1000] {
        let mine: Vec<u32> = records
            .iter()
            .filter_map(Record::index)
            .filter(|&i| (base..base + PER_STORE).contains(&i))
            .collect();
        assert_eq!(mine, (base..base + PER_STORE).collect::<Vec<_>>());
    }
}

#[test]
fn an_unopenable_path_gives_a_database_error() {
    let dir = TempDir::new("tale-journal-sqlite");
    let message = database_error(SqliteStore::open(dir.file("no/such/dir/j.db")));
    assert!(message.contains("j.db"), "{message}");
}

#[test]
fn a_reopened_record_round_trips_and_reopens_the_saga() {
    let dir = TempDir::new("tale-journal-sqlite");
    let store = SqliteStore::open(dir.file("j.db")).unwrap();
    let claim = store.begin(&NewSaga::new("trip", "{}")).unwrap();
    let saga = claim.saga;
    store
        .append(
            claim,
            &Record::Finished {
                status: Status::Stuck,
            },
        )
        .unwrap();
    let reopened = Record::Reopened {
        by: "ana".into(),
        note: "the bank is back".into(),
    };
    store.append(claim, &reopened).unwrap();
    assert_eq!(store.records(saga).unwrap().last(), Some(&reopened));
    assert_eq!(store.saga(saga).unwrap().status, Status::Running);
}

#[cfg(unix)]
#[test]
fn a_new_journal_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("journal_sqlite-private");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("journal.db");
    let store = SqliteStore::open(&path).unwrap();
    store.begin(&NewSaga::new("trip", "{}")).unwrap();
    for file in ["journal.db", "journal.db-wal", "journal.db-shm"] {
        let mode = std::fs::metadata(dir.join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file} is {mode:o}");
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_overview_view_shows_one_line_per_saga() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = dir.file("journal.db");
    let store = SqliteStore::open(&path).unwrap();
    let claim = store.begin(&NewSaga::new("trip", "{}")).unwrap();
    store
        .append(
            claim,
            &Record::StepStarted {
                index: 0,
                name: "flight".into(),
            },
        )
        .unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let (id, name, status, step_name, age): (i64, String, String, String, i64) = conn
        .query_row(
            "SELECT id, name, status, step_name, age_s FROM tale_overview",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        (id, name.as_str(), status.as_str(), step_name.as_str()),
        (1, "trip", "running", "flight")
    );
    assert!((0..60).contains(&age), "age {age} s");
}

#[test]
fn appends_of_many_threads_share_commits_and_a_refused_one_fails_alone() {
    let dir = TempDir::new("tale-journal-sqlite");
    let path = dir.file("group.db");
    let store = std::sync::Arc::new(
        SqliteStore::open_with(&path, tale::journal::Durability::Full).unwrap(),
    );
    let claims: Vec<_> = (0..16)
        .map(|_| store.begin(&NewSaga::new("trip", "{}")).unwrap())
        .collect();
    // One saga is taken over by another handle: its first owner is fenced.
    let stale = claims[0];
    SqliteStore::open(&path)
        .unwrap()
        .take_over(stale.saga)
        .unwrap();
    let threads: Vec<_> = claims
        .iter()
        .map(|&claim| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                (0..40u32)
                    .map(|index| {
                        let record = Record::StepStarted {
                            index,
                            name: format!("step {index}").into(),
                        };
                        store.append(claim, &record)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for (n, thread) in threads.into_iter().enumerate() {
        let results = thread.join().unwrap();
        if n == 0 {
            assert!(
                results
                    .iter()
                    .all(|r| matches!(r, Err(JournalError::LeaseLost { .. })))
            );
        } else {
            assert!(results.iter().all(Result::is_ok), "{results:?}");
        }
    }
    for (n, claim) in claims.iter().enumerate() {
        let expected = if n == 0 { 0 } else { 40 };
        assert_eq!(store.records(claim.saga).unwrap().len(), expected);
        assert_eq!(store.saga(claim.saga).unwrap().records, expected as u64);
    }
    // Writes: the 16 beginnings, then the 640 appends (the fenced ones' included).
    let (commits, writes) = store.group_commit_stats();
    assert_eq!(writes, 16 + 16 * 40);
    assert!(commits < writes, "{commits} commits for {writes} writes");
}
