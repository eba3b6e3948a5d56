//! The [`AsyncStore`] operations of [`PgStore`]: each one transaction on a pooled
//! connection; what they decide is [`SagaRow`]'s and [`Lease`](crate::journal::Lease)'s,
//! as for every store.

use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, Row};

use super::PgStore;
use super::error::db;
use super::pool::{Connection, Statements};
use crate::compose::BoxFuture;
use crate::engine::join::join2;
use crate::journal::stored;
use crate::journal::{
    AsyncStore, Claim, Claimed, Entry, JournalError, Lease, Leases, Millis, NewSaga, Record,
    SagaId, SagaRow, Status,
};

/// A summary row read back, or what is wrong with it.
fn decode_saga(row: &Row) -> Result<SagaRow, JournalError> {
    let id = SagaId(row.try_get::<_, i64>(0).map_err(db)?);
    let corrupt = |reason: String| JournalError::Corrupt {
        saga: id,
        seq: 0,
        reason: format!("its summary row is unreadable: {reason}"),
    };
    let unsigned = |value: i64, column: &str| {
        u64::try_from(value).map_err(|_| corrupt(format!("`{column}` {value} is negative")))
    };
    let small = |value: i32, column: &str| {
        u32::try_from(value).map_err(|_| corrupt(format!("`{column}` {value} is negative")))
    };
    let status: String = row.try_get(3).map_err(db)?;
    let status =
        Status::from_name(&status).ok_or_else(|| corrupt(format!("unknown status `{status}`")))?;
    Ok(SagaRow {
        id,
        name: row.try_get(1).map_err(db)?,
        inputs: row.try_get(2).map_err(db)?,
        status,
        current_step: row
            .try_get::<_, Option<i32>>(4)
            .map_err(db)?
            .map(|i| small(i, "current_step"))
            .transpose()?,
        current_step_name: row
            .try_get::<_, Option<String>>(5)
            .map_err(db)?
            .map(std::borrow::Cow::Owned),
        records: unsigned(row.try_get(6).map_err(db)?, "records")?,
        last_error: row.try_get(7).map_err(db)?,
        attempts: small(row.try_get(8).map_err(db)?, "attempts")?,
        // The bits of the u64, stored as an i64.
        #[allow(clippy::cast_sign_loss)]
        fingerprint: row
            .try_get::<_, Option<i64>>(9)
            .map_err(db)?
            .map(|f| f as u64),
        lease: Lease {
            owner: row.try_get(10).map_err(db)?,
            epoch: unsigned(row.try_get(11).map_err(db)?, "epoch")?,
            until: row.try_get(12).map_err(db)?,
            resumptions: small(row.try_get(13).map_err(db)?, "resumptions")?,
            not_before: row.try_get(14).map_err(db)?,
        },
        created_at: row.try_get(15).map_err(db)?,
        updated_at: row.try_get(16).map_err(db)?,
    })
}

/// A count or epoch as PostgreSQL's signed integers.
fn signed<T: TryInto<i64>>(value: T, saga: SagaId, what: &str) -> Result<i64, JournalError> {
    value.try_into().map_err(|_| JournalError::Corrupt {
        saga,
        seq: 0,
        reason: format!("its summary's {what} is too large"),
    })
}

fn small<T: TryInto<i32>>(value: T, saga: SagaId, what: &str) -> Result<i32, JournalError> {
    value.try_into().map_err(|_| JournalError::Corrupt {
        saga,
        seq: 0,
        reason: format!("its summary's {what} is too large"),
    })
}

/// Writes the summary `row` back, as it stands, in `tx`.
async fn write_row(
    tx: &impl GenericClient,
    statements: &Statements,
    row: &SagaRow,
    now: Millis,
) -> Result<(), JournalError> {
    let lease = &row.lease;
    let current_step = row
        .current_step
        .map(|i| small(i, row.id, "current step"))
        .transpose()?;
    let records = signed(row.records, row.id, "count of records")?;
    let attempts = small(row.attempts, row.id, "attempts")?;
    let epoch = signed(lease.epoch, row.id, "epoch")?;
    let resumptions = small(lease.resumptions, row.id, "resumptions")?;
    let step_name = row.current_step_name.as_deref();
    let params: [&(dyn ToSql + Sync); 13] = [
        &row.id.0,
        &row.status.as_str(),
        &current_step,
        &step_name,
        &records,
        &row.last_error,
        &now,
        &attempts,
        &lease.owner,
        &epoch,
        &lease.until,
        &resumptions,
        &lease.not_before,
    ];
    tx.execute(&statements.update_saga, &params)
        .await
        .map_err(db)?;
    Ok(())
}

/// Begins a transaction on `c` and locks the saga's row in it, in one round trip (the
/// two statements pipelined); the connection is marked as in a transaction until
/// [`commit`] or [`rollback`] ends it.
async fn lock(c: &mut Connection, saga: SagaId) -> Result<SagaRow, JournalError> {
    c.in_transaction = true;
    let (begun, row) = join2(
        c.client.execute(&c.statements.begin, &[]),
        c.client
            .query_opt(&c.statements.saga_for_update, &[&saga.0]),
    )
    .await;
    begun.map_err(db)?;
    match row.map_err(db)? {
        Some(row) => decode_saga(&row),
        None => Err(JournalError::UnknownSaga(saga)),
    }
}

/// Ends the transaction `lock` began without writing.
async fn rollback(c: &mut Connection) -> Result<(), JournalError> {
    c.client
        .execute(&c.statements.rollback, &[])
        .await
        .map_err(db)?;
    c.in_transaction = false;
    Ok(())
}

/// Commits the transaction `lock` began, pipelined after `writes` (one round trip for
/// all): if a write fails, the server turns the commit into a rollback, and the write's
/// error is returned.
async fn commit<W: std::future::Future<Output = Result<(), JournalError>>>(
    c: &Connection,
    writes: W,
) -> Result<(), JournalError> {
    let (written, committed) = join2(writes, c.client.execute(&c.statements.commit, &[])).await;
    written?;
    committed.map_err(db)?;
    Ok(())
}

impl PgStore {
    /// Runs `f` on the saga's summary, locked in a transaction, and writes it back if `f`
    /// succeeds.
    async fn update<T>(
        &self,
        saga: SagaId,
        f: impl FnOnce(&mut SagaRow) -> Result<T, JournalError>,
    ) -> Result<T, JournalError> {
        let mut lent = self.pool.get().await?;
        let c = lent.get();
        let mut row = lock(c, saga).await?;
        let value = match f(&mut row) {
            Ok(value) => value,
            Err(refused) => {
                rollback(c).await?;
                return Err(refused);
            }
        };
        let now = self.leases.now();
        commit(c, write_row(&c.client, &c.statements, &row, now)).await?;
        c.in_transaction = false;
        Ok(value)
    }

    async fn begin_saga(&self, saga: &NewSaga<'_>) -> Result<Claim, JournalError> {
        let mut lent = self.pool.get().await?;
        let c = lent.get();
        // The fingerprint's bits, stored as an i64.
        #[allow(clippy::cast_possible_wrap)]
        let fingerprint = saga.fingerprint.map(|f| f as i64);
        let owner = self.leases.worker_id().as_str();
        let inputs = self.payloads.seal(saga.inputs);
        let row = c
            .client
            .query_one(
                &c.statements.insert_saga,
                &[
                    &saga.name,
                    &&*inputs,
                    &self.leases.now(),
                    &fingerprint,
                    &owner,
                    &self.leases.until(),
                ],
            )
            .await
            .map_err(db)?;
        let claim = Claim {
            saga: SagaId(row.try_get(0).map_err(db)?),
            epoch: 1,
        };
        self.leases.hold(claim);
        Ok(claim)
    }

    async fn append_record(&self, claim: Claim, record: &Record) -> Result<(), JournalError> {
        let saga = claim.saga;
        let mut lent = self.pool.get().await?;
        let c = lent.get();
        let mut row = lock(c, saga).await?;
        if let Err(refused) = row.append(claim, record, self.leases.until()) {
            rollback(c).await?;
            return Err(refused);
        }
        self.payloads.seal_summary(&mut row, record);
        let now = self.leases.now();
        let (kind, payload) = stored::encode(&self.payloads.seal_record(record));
        let seq = signed(row.records, saga, "count of records")?;
        let index = record
            .index()
            .map(|i| small(i, saga, "step index"))
            .transpose()?;
        // The record, the summary and the commit in one round trip.
        let insert = async {
            c.client
                .execute(
                    &c.statements.insert_record,
                    &[&saga.0, &seq, &kind, &index, &payload, &now],
                )
                .await
                .map(drop)
                .map_err(db)
        };
        let writes = async {
            let (inserted, updated) =
                join2(insert, write_row(&c.client, &c.statements, &row, now)).await;
            inserted.and(updated)
        };
        commit(c, writes).await?;
        c.in_transaction = false;
        if row.status.is_finished() {
            self.leases.let_go(claim);
        }
        Ok(())
    }

    async fn read_history(&self, saga: SagaId) -> Result<Vec<Entry>, JournalError> {
        let mut lent = self.pool.get().await?;
        let c = lent.get();
        // One snapshot: the summary and the records are of the same moment.
        let tx = c
            .client
            .build_transaction()
            .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(db)?;
        let summary = tx
            .query_opt(&c.statements.saga, &[&saga.0])
            .await
            .map_err(db)?
            .ok_or(JournalError::UnknownSaga(saga))?;
        let summary = decode_saga(&summary)?;
        let rows = tx
            .query(&c.statements.records, &[&saga.0])
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)?;
        let mut records = Vec::with_capacity(rows.len());
        for (expected, row) in (1..).zip(&rows) {
            let corrupt = |reason: String| JournalError::Corrupt {
                saga,
                seq: expected,
                reason,
            };
            let seq: i64 = row.try_get(0).map_err(db)?;
            if u64::try_from(seq).ok() != Some(expected) {
                return Err(corrupt(format!(
                    "it is missing (the next record stored is number {seq})"
                )));
            }
            let kind: String = row.try_get(1).map_err(db)?;
            let index: Option<i32> = row.try_get(2).map_err(db)?;
            let payload: String = row.try_get(3).map_err(db)?;
            let record = stored::decode(&kind, index.map(i64::from), &payload).map_err(corrupt)?;
            records.push(Entry {
                seq: expected,
                at: row.try_get(4).map_err(db)?,
                record: self.payloads.open_record(saga, record)?,
            });
        }
        if (records.len() as u64) < summary.records {
            return Err(JournalError::Corrupt {
                saga,
                seq: records.len() as u64 + 1,
                reason: format!(
                    "it is missing (the saga's summary counts {} records, {} are stored)",
                    summary.records,
                    records.len()
                ),
            });
        }
        Ok(records)
    }

    async fn read_saga(&self, saga: SagaId) -> Result<SagaRow, JournalError> {
        let mut lent = self.pool.get().await?;
        let c = lent.get();
        let row = c
            .client
            .query_opt(&c.statements.saga, &[&saga.0])
            .await
            .map_err(db)?
            .ok_or(JournalError::UnknownSaga(saga))?;
        self.payloads.open_row(decode_saga(&row)?)
    }

    async fn list(&self, statuses: &[Status]) -> Result<Vec<SagaRow>, JournalError> {
        let mut lent = self.pool.get().await?;
        let c = lent.get();
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        let rows = c
            .client
            .query(&c.statements.sagas, &[&names])
            .await
            .map_err(db)?;
        rows.iter()
            .map(|row| self.payloads.open_row(decode_saga(row)?))
            .collect()
    }

    async fn claim_sagas(&self, limit: usize) -> Result<Vec<Claimed>, JournalError> {
        let mut lent = self.pool.get().await?;
        let Connection {
            client, statements, ..
        } = lent.get();
        let tx = client.transaction().await.map_err(db)?;
        let now = self.leases.now();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = tx
            .query(&statements.claimable, &[&now, &limit])
            .await
            .map_err(db)?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut row = decode_saga(row)?;
            // The query's rule, checked again by the one every store applies.
            if !row.claimable(now) {
                continue;
            }
            let claim = row
                .lease
                .take(row.id, self.leases.worker_id(), self.leases.until());
            write_row(&tx, statements, &row, now).await?;
            claimed.push(Claimed { row, claim });
        }
        tx.commit().await.map_err(db)?;
        for claimed in &claimed {
            self.leases.hold(claimed.claim);
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
}

impl AsyncStore for PgStore {
    fn leases(&self) -> &Leases {
        &self.leases
    }

    fn begin<'a>(&'a self, saga: &'a NewSaga<'a>) -> BoxFuture<'a, Result<Claim, JournalError>> {
        Box::pin(self.begin_saga(saga))
    }

    fn append<'a>(
        &'a self,
        claim: Claim,
        record: &'a Record,
    ) -> BoxFuture<'a, Result<(), JournalError>> {
        Box::pin(self.append_record(claim, record))
    }

    fn records(&self, saga: SagaId) -> BoxFuture<'_, Result<Vec<Record>, JournalError>> {
        Box::pin(async move {
            let history = self.read_history(saga).await?;
            Ok(history.into_iter().map(|e| e.record).collect())
        })
    }

    fn history(&self, saga: SagaId) -> BoxFuture<'_, Result<Vec<Entry>, JournalError>> {
        Box::pin(self.read_history(saga))
    }

    fn saga(&self, saga: SagaId) -> BoxFuture<'_, Result<SagaRow, JournalError>> {
        Box::pin(self.read_saga(saga))
    }

    fn sagas<'a>(
        &'a self,
        statuses: &'a [Status],
    ) -> BoxFuture<'a, Result<Vec<SagaRow>, JournalError>> {
        Box::pin(self.list(statuses))
    }

    fn set_status(&self, saga: SagaId, status: Status) -> BoxFuture<'_, Result<(), JournalError>> {
        Box::pin(self.update(saga, move |row| {
            row.set_status(status);
            Ok(())
        }))
    }

    fn claim(&self, limit: usize) -> BoxFuture<'_, Result<Vec<Claimed>, JournalError>> {
        Box::pin(self.claim_sagas(limit))
    }

    fn take_over(&self, saga: SagaId) -> BoxFuture<'_, Result<Claim, JournalError>> {
        Box::pin(async move {
            let (worker, until) = (self.leases.worker_id(), self.leases.until());
            let claim = self
                .update(saga, |row| Ok(row.lease.take(saga, worker, until)))
                .await?;
            self.leases.hold(claim);
            Ok(claim)
        })
    }

    fn renew(&self, claim: Claim) -> BoxFuture<'_, Result<(), JournalError>> {
        Box::pin(async move {
            let until = self.leases.until();
            self.update(claim.saga, |row| {
                row.lease.fence(claim)?;
                row.lease.renew(until);
                Ok(())
            })
            .await
        })
    }

    fn release(
        &self,
        claim: Claim,
        retry_at: Option<Millis>,
    ) -> BoxFuture<'_, Result<(), JournalError>> {
        Box::pin(async move {
            let released = self
                .update(claim.saga, |row| {
                    row.lease.fence(claim)?;
                    row.lease.give_back(retry_at);
                    Ok(())
                })
                .await;
            // Given back, or lost: either way no longer this handle's.
            self.leases.let_go(claim);
            released
        })
    }
}
