//! `SqliteStore` keeps the summaries it last wrote, so that a write need not read its
//! saga's row back: these tests hold that cache to the rules of the uncached store.
//! Another handle on the same file (another connection, as another process would be)
//! writing in between, a write of this handle rolled back, its own operator writes:
//! each time the next write must see the row as the database holds it, and a stale
//! owner must still be refused.

use std::path::PathBuf;
use std::sync::Arc;

use tale::journal::{
    Claim, JournalError, Leases, NewSaga, Record, SagaId, SqliteStore, Status, Store, WorkerId,
};
use tests::temp::TempDir;

fn store(path: &PathBuf, worker: &str) -> SqliteStore {
    SqliteStore::open(path)
        .unwrap()
        .with_leases(Leases::new().worker(WorkerId::named(worker)))
}

/// Two handles, workers `a` and `b`, on one new journal file (two connections, as two
/// processes would have).
fn two_handles() -> (TempDir, SqliteStore, SqliteStore) {
    let dir = TempDir::new("tale-journal-sqlite-cache");
    let path = dir.file("journal.db");
    let (a, b) = (store(&path, "a"), store(&path, "b"));
    (dir, a, b)
}

fn started(index: u32) -> Record {
    Record::StepStarted {
        index,
        name: "step".into(),
    }
}

fn succeeded(index: u32, output: &str) -> Record {
    Record::StepSucceeded {
        index,
        attempts: 1,
        output: output.into(),
    }
}

/// The summary agrees with the records: their count, and `seq` without gaps.
fn agrees(store: &SqliteStore, saga: SagaId) -> usize {
    let records = store.records(saga).unwrap();
    let row = store.saga(saga).unwrap();
    assert_eq!(row.records, records.len() as u64, "{row:?}");
    let history = store.history(saga).unwrap();
    for (i, entry) in history.iter().enumerate() {
        assert_eq!(entry.seq, i as u64 + 1);
    }
    records.len()
}

#[test]
fn a_stale_owner_is_refused_after_another_handle_takes_the_saga_over() {
    let (_dir, a, b) = two_handles();
    let claim = a.begin(&NewSaga::new("trip", "{}")).unwrap();
    // a's summary of the saga is warm: it wrote it twice.
    a.append(claim, &started(0)).unwrap();
    a.append(claim, &succeeded(0, "1")).unwrap();
    let taken = b.take_over(claim.saga).unwrap();
    assert_eq!(taken.epoch, 2);
    match a.append(claim, &started(1)) {
        Err(JournalError::LeaseLost {
            epoch: 1,
            current: 2,
            ..
        }) => {}
        other => panic!("a stale owner wrote: {other:?}"),
    }
    // Refused, not applied: nothing of a's write is in the journal.
    assert_eq!(agrees(&b, claim.saga), 2);
    b.append(taken, &started(1)).unwrap();
    // And a, refused again after b wrote, sees b's record counted.
    assert!(matches!(
        a.append(claim, &started(1)),
        Err(JournalError::LeaseLost { .. })
    ));
    assert_eq!(agrees(&a, claim.saga), 3);
    assert_eq!(
        a.saga(claim.saga).unwrap().lease.owner.as_deref(),
        Some("b")
    );
}

#[test]
fn records_another_handle_wrote_in_between_are_counted() {
    let (_dir, a, b) = two_handles();
    let claim = a.begin(&NewSaga::new("trip", "{}")).unwrap();
    a.append(claim, &started(0)).unwrap();
    // b writes under a's claim (the epoch is what fences, not the handle).
    b.append(claim, &succeeded(0, "from b")).unwrap();
    b.append(claim, &started(1)).unwrap();
    a.append(claim, &succeeded(1, "from a")).unwrap();
    assert_eq!(agrees(&a, claim.saga), 4);
    let row = a.saga(claim.saga).unwrap();
    assert_eq!(row.current_step, Some(1));
    assert_eq!(row.attempts, 1);
    assert_eq!(a.records(claim.saga).unwrap()[3], succeeded(1, "from a"));
}

#[test]
fn a_status_another_handle_set_in_between_is_kept() {
    let (_dir, a, b) = two_handles();
    let claim = a.begin(&NewSaga::new("trip", "{}")).unwrap();
    a.append(claim, &started(0)).unwrap();
    b.set_status(claim.saga, Status::Parked).unwrap();
    // The epoch did not change, so the write is admitted; the saga stays parked, and
    // a parked saga has no lease (as the uncached store decides from the row).
    a.append(claim, &succeeded(0, "1")).unwrap();
    let row = a.saga(claim.saga).unwrap();
    assert_eq!(row.status, Status::Parked);
    assert_eq!(row.lease.until, None);
    assert_eq!(agrees(&a, claim.saga), 2);
}

#[test]
fn a_lease_another_handle_gave_back_is_renewed_by_the_next_write() {
    let (_dir, a, b) = two_handles();
    let claim = a.begin(&NewSaga::new("trip", "{}")).unwrap();
    a.append(claim, &started(0)).unwrap();
    b.release(claim, Some(i64::MAX)).unwrap();
    assert_eq!(a.saga(claim.saga).unwrap().lease.until, None);
    a.append(claim, &succeeded(0, "1")).unwrap();
    let row = a.saga(claim.saga).unwrap();
    assert!(row.lease.until.is_some(), "{row:?}");
    // The back-off b set stays: a write does not clear it.
    assert_eq!(row.lease.not_before, Some(i64::MAX));
}

#[test]
fn this_handles_own_operator_writes_are_seen_by_its_next_write() {
    let dir = TempDir::new("tale-journal-sqlite-cache");
    let a = store(&dir.file("journal.db"), "a");
    let claim = a.begin(&NewSaga::new("trip", "{}")).unwrap();
    a.append(claim, &started(0)).unwrap();
    a.set_status(claim.saga, Status::Parked).unwrap();
    a.append(claim, &succeeded(0, "1")).unwrap();
    assert_eq!(a.saga(claim.saga).unwrap().status, Status::Parked);
    a.set_status(claim.saga, Status::Running).unwrap();
    let taken = a.take_over(claim.saga).unwrap();
    assert!(matches!(
        a.append(claim, &started(1)),
        Err(JournalError::LeaseLost { .. })
    ));
    a.append(taken, &started(1)).unwrap();
    a.renew(taken).unwrap();
    a.release(taken, None).unwrap();
    a.append(taken, &succeeded(1, "2")).unwrap();
    let row = a.saga(claim.saga).unwrap();
    assert_eq!(row.status, Status::Running);
    assert_eq!(row.lease.epoch, 2);
    assert!(row.lease.until.is_some());
    assert_eq!(agrees(&a, claim.saga), 4);
}

/// A trigger on the file that fails the insert of any record whose payload holds
/// `boom`: a database error in the middle of a write, from this handle's own
/// connection, so that nothing another connection commits warns the handle.
fn arm_trigger(path: &PathBuf) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER boom BEFORE INSERT ON records WHEN NEW.payload LIKE '%boom%' \
         BEGIN SELECT RAISE(ABORT, 'boom'); END;",
    )
    .unwrap();
}

#[test]
fn a_write_rolled_back_is_forgotten() {
    let dir = TempDir::new("tale-journal-sqlite-cache");
    // Created, armed, then opened: the handle's connection sees no change afterwards.
    drop(store(&dir.file("journal.db"), "setup"));
    arm_trigger(&dir.file("journal.db"));
    let a = store(&dir.file("journal.db"), "a");
    let claim = a.begin(&NewSaga::new("trip", "{}")).unwrap();
    a.append(claim, &started(0)).unwrap();
    assert!(matches!(
        a.append(claim, &succeeded(0, "boom")),
        Err(JournalError::Database(_))
    ));
    assert_eq!(agrees(&a, claim.saga), 1);
    assert_eq!(a.saga(claim.saga).unwrap().attempts, 0);
    a.append(claim, &succeeded(0, "fine")).unwrap();
    a.append(claim, &started(1)).unwrap();
    assert_eq!(agrees(&a, claim.saga), 3);
    assert_eq!(a.records(claim.saga).unwrap()[1], succeeded(0, "fine"));
}

#[test]
fn grouped_writes_with_failures_and_another_writer_keep_every_summary_true() {
    let dir = TempDir::new("tale-journal-sqlite-cache");
    drop(store(&dir.file("journal.db"), "setup"));
    arm_trigger(&dir.file("journal.db"));
    let a = Arc::new(store(&dir.file("journal.db"), "a"));
    let b = store(&dir.file("journal.db"), "b");
    let threads: Vec<_> = (0..8_u32)
        .map(|t| {
            let a = Arc::clone(&a);
            std::thread::spawn(move || {
                let mut sagas = Vec::new();
                for s in 0..6_u32 {
                    let claim = a.begin(&NewSaga::new("trip", "{}")).unwrap();
                    let mut lost = false;
                    for i in 0..4_u32 {
                        let output = if (t + s + i) % 5 == 0 { "boom" } else { "ok" };
                        for record in [started(i), succeeded(i, output)] {
                            match a.append(claim, &record) {
                                Ok(()) | Err(JournalError::Database(_)) => {}
                                Err(JournalError::LeaseLost { .. }) => lost = true,
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                    sagas.push((claim, lost));
                }
                sagas
            })
        })
        .collect();
    // Meanwhile another handle takes sagas over, as a worker would.
    let mut taken = Vec::new();
    for id in 1..=24 {
        if let Ok(claim) = b.take_over(SagaId(id)) {
            taken.push(claim);
        }
        std::thread::yield_now();
    }
    let sagas: Vec<(Claim, bool)> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    for (claim, _) in &sagas {
        agrees(&b, claim.saga);
        let row = b.saga(claim.saga).unwrap();
        let taken_over = taken.iter().any(|t| t.saga == claim.saga);
        assert_eq!(row.lease.epoch, if taken_over { 2 } else { 1 }, "{row:?}");
    }
    // A saga taken over holds no record of its first owner written after the take-over:
    // the new owner writes one record, and it follows what the journal held.
    for claim in &taken {
        let before = agrees(&b, claim.saga);
        b.append(*claim, &started(9)).unwrap();
        assert_eq!(agrees(&b, claim.saga), before + 1);
        assert!(matches!(
            a.append(
                Claim {
                    saga: claim.saga,
                    epoch: 1
                },
                &started(10)
            ),
            Err(JournalError::LeaseLost { .. })
        ));
    }
}
