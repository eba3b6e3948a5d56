//! Rows to types and back: saga summaries and records as the journal stores them.

use rusqlite::Connection;
use rusqlite::types::ValueRef;
use std::borrow::Cow;

use super::schema::{SELECT_SAGA, SELECT_SAGA_FOR_WRITE};
use super::{db, is_damage};
use crate::journal::stored;
use crate::journal::{Entry, JournalError, Lease, Record, SagaId, SagaRow, Status};

/// The saga's summary, or `None` if there is no such saga.
pub(super) fn read_saga(conn: &Connection, saga: SagaId) -> Result<Option<SagaRow>, JournalError> {
    read_summary(conn, saga, SELECT_SAGA)
}

/// The saga's summary for a write: its name and inputs left empty.
pub(super) fn read_saga_for_write(
    conn: &Connection,
    saga: SagaId,
) -> Result<Option<SagaRow>, JournalError> {
    read_summary(conn, saga, SELECT_SAGA_FOR_WRITE)
}

fn read_summary(
    conn: &Connection,
    saga: SagaId,
    query: &str,
) -> Result<Option<SagaRow>, JournalError> {
    let mut stmt = conn.prepare_cached(query).map_err(db)?;
    let mut rows = stmt.query([saga.0]).map_err(db)?;
    match rows.next().map_err(db)? {
        Some(row) => decode_saga(row).map(Some),
        None => Ok(None),
    }
}

pub(super) fn decode_saga(row: &rusqlite::Row<'_>) -> Result<SagaRow, JournalError> {
    let get = |i: usize| row.get_ref(i).map_err(db);
    let id = SagaId(get(0)?.as_i64().map_err(|e| db(e.into()))?);
    let corrupt = |reason: String| JournalError::Corrupt {
        saga: id,
        seq: 0,
        reason: format!("its summary row is unreadable: {reason}"),
    };
    let text = |i: usize, column: &str| -> Result<Option<String>, JournalError> {
        match get(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => String::from_utf8(t.to_vec())
                .map(Some)
                .map_err(|_| corrupt(format!("`{column}` is not UTF-8"))),
            other => Err(corrupt(format!(
                "`{column}` is {:?}, not text",
                other.data_type()
            ))),
        }
    };
    let required = |value: Option<String>, column: &str| {
        value.ok_or_else(|| corrupt(format!("`{column}` is NULL")))
    };
    // Read in place: every write reads the status, and a copy of it would be one
    // allocation a record.
    let status = match get(3)? {
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map_err(|_| corrupt("`status` is not UTF-8".to_owned()))
            .and_then(|name| {
                Status::from_name(name).ok_or_else(|| corrupt(format!("unknown status `{name}`")))
            })?,
        ValueRef::Null => return Err(corrupt("`status` is NULL".to_owned())),
        other => {
            return Err(corrupt(format!(
                "`status` is {:?}, not text",
                other.data_type()
            )));
        }
    };
    // An integer column, `None` for NULL.
    let int = |i: usize, column: &str| -> Result<Option<i64>, JournalError> {
        match get(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(n) => Ok(Some(n)),
            other => Err(corrupt(format!(
                "`{column}` is {:?}, not an integer",
                other.data_type()
            ))),
        }
    };
    // An integer column that is never NULL and fits `T`.
    fn fits<T: TryFrom<i64>>(
        value: Option<i64>,
        column: &str,
        corrupt: &impl Fn(String) -> JournalError,
    ) -> Result<T, JournalError> {
        let value = value.ok_or_else(|| corrupt(format!("`{column}` is NULL")))?;
        T::try_from(value).map_err(|_| corrupt(format!("`{column}` {value} is out of range")))
    }
    let current_step = match int(4, "current_step")? {
        None => None,
        some => Some(fits::<u32>(some, "current_step", &corrupt)?),
    };
    let lease = Lease {
        owner: text(10, "owner")?,
        epoch: fits(int(11, "epoch")?, "epoch", &corrupt)?,
        until: int(12, "lease_until")?,
        resumptions: fits(int(13, "resumptions")?, "resumptions", &corrupt)?,
        not_before: int(14, "not_before")?,
    };
    Ok(SagaRow {
        id,
        name: required(text(1, "name")?, "name")?,
        inputs: required(text(2, "inputs")?, "inputs")?,
        status,
        current_step,
        current_step_name: text(5, "current_step_name")?.map(Cow::Owned),
        records: fits(int(6, "records")?, "records", &corrupt)?,
        last_error: text(7, "last_error")?,
        // The bits of the u64, stored as an i64.
        #[allow(clippy::cast_sign_loss)]
        fingerprint: int(9, "fingerprint")?.map(|i| i as u64),
        attempts: fits(int(8, "attempts")?, "attempts", &corrupt)?,
        lease,
        created_at: int(15, "created_at")?.unwrap_or(0),
        updated_at: int(16, "updated_at")?.unwrap_or(0),
    })
}

/// Reads the saga's records into `out`, stopping at the first error.
pub(super) fn read_records(
    conn: &Connection,
    saga: SagaId,
    out: &mut Vec<Entry>,
) -> Result<(), JournalError> {
    // One read transaction: the summary and the records are of the same moment.
    let tx = conn.unchecked_transaction().map_err(db)?;
    let summary = read_saga(&tx, saga)?.ok_or(JournalError::UnknownSaga(saga))?;
    let damaged = |seq: u64| {
        move |e: rusqlite::Error| {
            if e.sqlite_error_code().is_some_and(is_damage) {
                JournalError::Corrupt {
                    saga,
                    seq,
                    reason: format!("the database file is damaged ({e})"),
                }
            } else {
                db(e)
            }
        }
    };
    let mut stmt = tx
        .prepare(
            "SELECT seq, kind, step_index, payload, created_at FROM records \
             WHERE saga_id = ?1 ORDER BY seq",
        )
        .map_err(db)?;
    let mut rows = stmt.query([saga.0]).map_err(damaged(1))?;
    let mut expected: u64 = 1;
    while let Some(row) = rows.next().map_err(damaged(expected))? {
        let corrupt = |reason: String| JournalError::Corrupt {
            saga,
            seq: expected,
            reason,
        };
        let seq = match row.get_ref(0).map_err(db)? {
            ValueRef::Integer(seq) => seq,
            other => {
                return Err(corrupt(format!(
                    "its `seq` is {:?}, not an integer",
                    other.data_type()
                )));
            }
        };
        if u64::try_from(seq).ok() != Some(expected) {
            return Err(corrupt(format!(
                "it is missing (the next record stored is number {seq})"
            )));
        }
        let kind = row.get_ref(1).map_err(db)?;
        let index = row.get_ref(2).map_err(db)?;
        let payload = row.get_ref(3).map_err(db)?;
        let record = decode_record(kind, index, payload).map_err(corrupt)?;
        let at = row.get_ref(4).map_err(db)?.as_i64().unwrap_or(0);
        out.push(Entry {
            seq: expected,
            at,
            record,
        });
        expected += 1;
    }
    if expected <= summary.records {
        return Err(JournalError::Corrupt {
            saga,
            seq: expected,
            reason: format!(
                "it is missing (the saga's summary counts {} records, {} are stored)",
                summary.records,
                expected - 1
            ),
        });
    }
    Ok(())
}

/// Decodes a stored record from SQLite's values, or says what is wrong with it.
pub(super) fn decode_record(
    kind: ValueRef<'_>,
    index: ValueRef<'_>,
    payload: ValueRef<'_>,
) -> Result<Record, String> {
    let kind = kind
        .as_str()
        .map_err(|_| format!("its `kind` is {:?}, not text", kind.data_type()))?;
    let payload = payload
        .as_str()
        .map_err(|_| format!("its `payload` is {:?}, not text", payload.data_type()))?;
    let index = match index {
        ValueRef::Integer(i) => Some(i),
        ValueRef::Null => None,
        other => {
            return Err(format!(
                "its `step_index` is {:?}, not an integer",
                other.data_type()
            ));
        }
    };
    stored::decode(kind, index, payload)
}
