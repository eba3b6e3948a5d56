//! The [`Store`] operations of [`SqliteStore`]: each one transaction, every write under
//! the database's write lock (`BEGIN IMMEDIATE`), so that a read-then-write never meets
//! another process's commit in between, and the fence check and the write are one.
//! What the reads and writes decide is [`SagaRow`]'s and [`Lease`](crate::journal::Lease)'s,
//! as for every store.

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, params};

use super::codec::{decode_saga, read_saga};
use super::group::{Done, Outcome, Queued, Request};
use super::schema::SAGA_COLUMNS;
use super::summaries::Summaries;
use super::{SqliteStore, Tx, db};
use crate::journal::stored;
use crate::journal::{
    Claim, Claimed, Entry, JournalError, Leases, Millis, NewSaga, Record, SagaId, SagaRow, Status,
    Store, Write, Written,
};

/// The largest payload buffer a handle keeps between records, in bytes.
const PAYLOAD_KEPT: usize = 64 * 1024;

/// A count or epoch as SQLite's signed integer.
fn signed<T: TryInto<i64>>(value: T, saga: SagaId, what: &str) -> Result<i64, JournalError> {
    value.try_into().map_err(|_| JournalError::Corrupt {
        saga,
        seq: 0,
        reason: format!("its summary's {what} is too large"),
    })
}

/// Writes the summary `row` back, as it stands.
fn write_row(conn: &Connection, row: &SagaRow, now: Millis) -> Result<(), JournalError> {
    let lease = &row.lease;
    let records = signed(row.records, row.id, "count of records")?;
    let epoch = signed(lease.epoch, row.id, "epoch")?;
    conn.prepare_cached(
        "UPDATE sagas SET status = ?2, current_step = ?3, current_step_name = ?4, \
         records = ?5, last_error = ?6, updated_at = ?7, attempts = ?8, owner = ?9, \
         epoch = ?10, lease_until = ?11, resumptions = ?12, not_before = ?13 WHERE id = ?1",
    )
    .and_then(|mut update| {
        update.execute(params![
            row.id.0,
            row.status.as_str(),
            row.current_step,
            row.current_step_name.as_deref(),
            records,
            row.last_error,
            now,
            row.attempts,
            lease.owner,
            epoch,
            lease.until,
            lease.resumptions,
            lease.not_before,
        ])
    })
    .map_err(db)?;
    Ok(())
}

impl SqliteStore {
    /// Runs `f` on the saga's summary in a write transaction, and writes it back if `f`
    /// succeeds.
    fn update<T>(
        &self,
        saga: SagaId,
        f: impl FnOnce(&mut SagaRow) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let mut guard = self.lock();
        let mut tx = Tx::immediate(&mut guard).map_err(db)?;
        let (conn, summaries, _) = tx.parts();
        let row = summaries.row(conn, saga)?;
        let written = f(row).and_then(|value| {
            write_row(conn, row, self.leases.now())?;
            Ok(value)
        });
        if written.is_err() {
            summaries.remove(saga);
        }
        let value = written?;
        tx.commit().map_err(db)?;
        Ok(value)
    }

    /// Writes `record` under `claim` in `tx`: fenced, summed up, inserted. True if the
    /// saga finished. If the write fails, the saga's summary is forgotten: it may have
    /// been changed for a row that was not written.
    fn write_record(
        &self,
        tx: &mut Tx<'_>,
        claim: Claim,
        record: &Record,
    ) -> Result<bool, JournalError> {
        let (conn, summaries, payload) = tx.parts();
        let written = self.write_record_in(conn, summaries, payload, claim, record);
        // The buffer is kept for the next record, unless a large output grew it.
        if payload.capacity() > PAYLOAD_KEPT {
            *payload = Vec::new();
        }
        match written {
            // A finished saga is written no more (an operator's hand reads it anew).
            Ok(true) | Err(_) => summaries.remove(claim.saga),
            Ok(false) => {}
        }
        written
    }

    fn write_record_in(
        &self,
        tx: &Connection,
        summaries: &mut Summaries,
        payload: &mut Vec<u8>,
        claim: Claim,
        record: &Record,
    ) -> Result<bool, JournalError> {
        let saga = claim.saga;
        let row = summaries.row(tx, saga)?;
        let (now, until) = self.leases.now_and_until();
        row.append(claim, record, until)?;
        self.payloads.seal_summary(row, record);
        let kind = stored::encode_into(&self.payloads.seal_record(record), payload);
        // Bound as the text it is (JSON from `serde_json` is UTF-8).
        let payload = ToSqlOutput::Borrowed(ValueRef::Text(payload));
        let seq = signed(row.records, saga, "count of records")?;
        tx.prepare_cached(
            "INSERT INTO records (saga_id, seq, kind, step_index, payload, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .and_then(|mut insert| {
            insert.execute(params![saga.0, seq, kind, record.index(), payload, now])
        })
        .map_err(db)?;
        // After the insert, any failure leaves half a write: a database error, so that
        // group commit rolls the group back (see `write_group`).
        write_row(tx, row, now).map_err(|e| match e {
            JournalError::Database(_) => e,
            other => JournalError::Database(other.to_string().into()),
        })?;
        Ok(row.status.is_finished())
    }

    /// Writes `write` in `tx`.
    fn write_one(&self, tx: &mut Tx<'_>, write: Write<'_>) -> Outcome {
        match write {
            Write::Append(claim, record) => {
                self.write_record(tx, claim, record).map(Done::Appended)
            }
            Write::Begin(saga) => self.insert_saga(tx, &saga).map(Done::Begun),
        }
    }

    /// Inserts the saga `saga` begins, owned by this handle's worker, in `tx`, and keeps
    /// its summary for the saga's first record.
    fn insert_saga(&self, tx: &mut Tx<'_>, saga: &NewSaga<'_>) -> Result<Claim, JournalError> {
        let (now, until) = self.leases.now_and_until();
        // SQLite's integers are signed: the fingerprint's bits are stored as an i64.
        #[allow(clippy::cast_possible_wrap)]
        let fingerprint = saga.fingerprint.map(|f| f as i64);
        let inputs = self.payloads.seal(saga.inputs);
        tx.prepare_cached(
            "INSERT INTO sagas (name, inputs, status, records, created_at, updated_at, \
             fingerprint, owner, epoch, lease_until) \
             VALUES (?1, ?2, ?3, 0, ?4, ?4, ?5, ?6, 1, ?7)",
        )
        .and_then(|mut insert| {
            insert.execute(params![
                saga.name,
                inputs,
                Status::Running.as_str(),
                now,
                fingerprint,
                self.leases.worker_id().as_str(),
                until,
            ])
        })
        .map_err(db)?;
        let id = SagaId(tx.last_insert_rowid());
        // A write's view of the row: its name and inputs are not read back.
        let written = NewSaga {
            name: "",
            inputs: "",
            ..*saga
        };
        let row = SagaRow::begun(id, &written, self.leases.worker_id(), now, until);
        tx.parts().1.insert(row);
        Ok(Claim { saga: id, epoch: 1 })
    }

    /// One commit of group commit (`group.rs`): the leader's write, if it has one, and
    /// the queued ones, in one transaction; a refused write fails alone (see below). If
    /// the transaction cannot begin or commit, every write fails.
    fn write_group<Q: Queued>(
        &self,
        own: Option<Write<'_>>,
        queued: &[Q],
    ) -> (Option<Outcome>, Vec<Outcome>) {
        let count = queued.len() + usize::from(own.is_some());
        let everyone = |error: &dyn std::fmt::Display| {
            let failed = || Err(JournalError::Database(error.to_string().into()));
            (
                own.map(|_| failed()),
                queued.iter().map(|_| failed()).collect(),
            )
        };
        let mut guard = self.lock();
        let mut tx = match Tx::immediate(&mut guard) {
            Ok(tx) => tx,
            Err(e) => return everyone(&e),
        };
        // A write refused before it writes anything (its fencing check, an unknown or
        // unreadable saga) leaves the transaction as it was, and fails alone. A
        // database error in the middle of a write may leave half of it: then the
        // group is rolled back, and a write alone fails with that error while the
        // writes of a group are made again each in a transaction of its own, so that
        // each gets its own outcome.
        let mut broken = false;
        let mut one = |write: Write<'_>| -> Outcome {
            if broken {
                return Err(JournalError::Database("not written".into()));
            }
            let outcome = self.write_one(&mut tx, write);
            broken = matches!(outcome, Err(JournalError::Database(_)));
            outcome
        };
        let mine = own.map(&mut one);
        let theirs: Vec<Outcome> = queued.iter().map(|r| one(r.write())).collect();
        if !broken {
            match tx.commit() {
                Ok(()) => return (mine, theirs),
                Err(e) => return everyone(&e),
            }
        }
        drop(tx);
        if count == 1 {
            return (mine, theirs);
        }
        let mut alone = |write: Write<'_>| -> Outcome {
            let mut tx = Tx::immediate(&mut guard).map_err(db)?;
            let done = self.write_one(&mut tx, write)?;
            tx.commit().map_err(db)?;
            Ok(done)
        };
        let mine = own.map(&mut alone);
        let theirs = queued.iter().map(|r| alone(r.write())).collect();
        (mine, theirs)
    }

    /// A write's outcome as its caller gets it: the handle holds the claim of a saga
    /// begun, and lets go of one whose saga finished.
    fn settle(&self, write: Write<'_>, outcome: Outcome) -> Result<Written, JournalError> {
        match (write, outcome?) {
            (Write::Begin(_), Done::Begun(claim)) => {
                self.leases.hold(claim);
                Ok(Written::Begun(claim))
            }
            (Write::Append(claim, _), Done::Appended(finished)) => {
                if finished {
                    self.leases.let_go(claim);
                }
                Ok(Written::Appended)
            }
            _ => Err(JournalError::Database(
                "a write came back as another kind of write".into(),
            )),
        }
    }

    /// Commits made by this handle's beginnings and appends, and the writes they carried
    /// (refused ones included): the size of its groups, for the benchmarks.
    #[doc(hidden)]
    #[must_use]
    pub fn group_commit_stats(&self) -> (u64, u64) {
        self.group.stats()
    }

    /// The running sagas a claim at `now` may take, oldest first, at most `limit`.
    fn claimable(tx: &Connection, now: Millis, limit: usize) -> Result<Vec<SagaRow>, JournalError> {
        let mut stmt = tx
            .prepare(&format!(
                "SELECT {SAGA_COLUMNS} FROM sagas WHERE status = ?1 \
                 AND (lease_until IS NULL OR lease_until <= ?2) \
                 AND (not_before IS NULL OR not_before <= ?2) ORDER BY id LIMIT ?3"
            ))
            .map_err(db)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt
            .query(params![Status::Running.as_str(), now, limit])
            .map_err(db)?;
        let mut found = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            found.push(decode_saga(row)?);
        }
        Ok(found)
    }
}

impl Store for SqliteStore {
    fn leases(&self) -> &Leases {
        &self.leases
    }

    fn begin(&self, saga: &NewSaga<'_>) -> Result<Claim, JournalError> {
        let commit = |own: Option<Write<'_>>, queued: &[Request]| self.write_group(own, queued);
        let write = Write::Begin(*saga);
        match self.settle(write, self.group.write(write, &commit))? {
            Written::Begun(claim) => Ok(claim),
            Written::Appended => Err(JournalError::Database(
                "a begin came back as an append".into(),
            )),
        }
    }

    fn append(&self, claim: Claim, record: &Record) -> Result<(), JournalError> {
        let commit = |own: Option<Write<'_>>, queued: &[Request]| self.write_group(own, queued);
        let write = Write::Append(claim, record);
        self.settle(write, self.group.write(write, &commit))
            .map(|_| ())
    }

    fn records(&self, saga: SagaId) -> Result<Vec<Record>, JournalError> {
        match self.records_prefix(saga) {
            (records, None) => Ok(records),
            (_, Some(error)) => Err(error),
        }
    }

    fn history(&self, saga: SagaId) -> Result<Vec<Entry>, JournalError> {
        match self.history_prefix(saga) {
            (entries, None) => Ok(entries),
            (_, Some(error)) => Err(error),
        }
    }

    fn saga(&self, saga: SagaId) -> Result<SagaRow, JournalError> {
        let row = read_saga(&self.lock(), saga)?.ok_or(JournalError::UnknownSaga(saga))?;
        self.payloads.open_row(row)
    }

    fn sagas(&self, statuses: &[Status]) -> Result<Vec<SagaRow>, JournalError> {
        let conn = self.lock();
        let mut sql = format!("SELECT {SAGA_COLUMNS} FROM sagas");
        if !statuses.is_empty() {
            let marks = (1..=statuses.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            sql.push_str(&format!(" WHERE status IN ({marks})"));
        }
        sql.push_str(" ORDER BY id");
        let mut stmt = conn.prepare(&sql).map_err(db)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(
                statuses.iter().map(|s| s.as_str()),
            ))
            .map_err(db)?;
        let mut sagas = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            sagas.push(self.payloads.open_row(decode_saga(row)?)?);
        }
        Ok(sagas)
    }

    fn set_status(&self, saga: SagaId, status: Status) -> Result<(), JournalError> {
        self.update(saga, |row| {
            row.set_status(status);
            Ok(())
        })
    }

    fn claim(&self, limit: usize) -> Result<Vec<Claimed>, JournalError> {
        let mut guard = self.lock();
        let mut tx = Tx::immediate(&mut guard).map_err(db)?;
        let now = self.leases.now();
        let mut claimed = Vec::new();
        let (conn, summaries, _) = tx.parts();
        for mut row in Self::claimable(conn, now, limit)? {
            // The query's rule, checked again by the one every store applies.
            if !row.claimable(now) {
                continue;
            }
            let claim = row
                .lease
                .take(row.id, self.leases.worker_id(), self.leases.until());
            // Changed here from the full row: the summary kept (if any) is not it.
            summaries.remove(row.id);
            write_row(conn, &row, now)?;
            claimed.push(Claimed { row, claim });
        }
        tx.commit().map_err(db)?;
        for c in &claimed {
            self.leases.hold(c.claim);
        }
        claimed
            .into_iter()
            .map(|Claimed { row, claim }| {
                Ok(Claimed {
                    row: self.payloads.open_row(row)?,
                    claim,
                })
            })
            .collect()
    }

    fn take_over(&self, saga: SagaId) -> Result<Claim, JournalError> {
        let (worker, until) = (self.leases.worker_id(), self.leases.until());
        let claim = self.update(saga, |row| Ok(row.lease.take(saga, worker, until)))?;
        self.leases.hold(claim);
        Ok(claim)
    }

    fn renew(&self, claim: Claim) -> Result<(), JournalError> {
        let until = self.leases.until();
        self.update(claim.saga, |row| {
            row.lease.fence(claim)?;
            row.lease.renew(until);
            Ok(())
        })
    }

    fn release(&self, claim: Claim, retry_at: Option<Millis>) -> Result<(), JournalError> {
        let released = self.update(claim.saga, |row| {
            row.lease.fence(claim)?;
            row.lease.give_back(retry_at);
            Ok(())
        });
        // Given back, or lost: either way no longer this handle's.
        self.leases.let_go(claim);
        released
    }

    /// One transaction for all of `writes` (see [`Store::write_many`]), as a commit of
    /// group commit makes it.
    fn write_many(&self, writes: &[Write<'_>]) -> Vec<Result<Written, JournalError>> {
        if writes.is_empty() {
            return Vec::new();
        }
        let (_, outcomes) = self.write_group(None, writes);
        self.group.count(writes.len());
        writes
            .iter()
            .zip(outcomes)
            .map(|(write, outcome)| self.settle(*write, outcome))
            .collect()
    }
}
