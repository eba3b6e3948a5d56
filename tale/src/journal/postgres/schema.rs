//! The PostgreSQL journal's schema and statements: created and migrated by the store
//! when it connects, in one transaction under an advisory lock, so that processes
//! connecting to a fresh database at once never race.

use tokio_postgres::Client;

use super::error::db;
use crate::journal::JournalError;

/// The schema version this tale writes, and the newest it reads.
pub(super) const SCHEMA_VERSION: i32 = 2;

/// What tale writes in `tale_meta.application`.
const MARKER: &str = "tale journal";

/// The advisory lock the schema is created and migrated under ("TALE" in ASCII).
const LOCK: i64 = 0x5441_4C45;

/// The schema of a new journal (the newest version). Every table is prefixed `tale_`:
/// the journal may share a database with the application's own tables.
const SCHEMA: &str = "
CREATE TABLE tale_meta (
    application    TEXT    NOT NULL,
    schema_version INTEGER NOT NULL
);
CREATE TABLE tale_sagas (
    id                BIGSERIAL PRIMARY KEY,
    name              TEXT    NOT NULL,
    inputs            TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    current_step      INTEGER,
    current_step_name TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    records           BIGINT  NOT NULL,
    last_error        TEXT,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    fingerprint       BIGINT,
    owner             TEXT,
    epoch             BIGINT  NOT NULL DEFAULT 0,
    lease_until       BIGINT,
    resumptions       INTEGER NOT NULL DEFAULT 0,
    not_before        BIGINT
);
CREATE INDEX tale_sagas_status ON tale_sagas (status, id);
CREATE TABLE tale_records (
    saga_id    BIGINT  NOT NULL REFERENCES tale_sagas (id),
    seq        BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,
    step_index INTEGER,
    payload    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (saga_id, seq)
);
";

/// The operators' view: one line per saga, times readable, age and idle time as
/// intervals (`SELECT * FROM tale_overview WHERE status = 'stuck'`).
const TALE_OVERVIEW: &str = "CREATE VIEW tale_overview AS
SELECT id, name, status, current_step AS step, current_step_name AS step_name, attempts,
       records, owner, epoch,
       to_timestamp(created_at / 1000.0) AS created,
       to_timestamp(updated_at / 1000.0) AS updated,
       date_trunc('second', now() - to_timestamp(created_at / 1000.0)) AS age,
       date_trunc('second', now() - to_timestamp(updated_at / 1000.0)) AS idle,
       to_timestamp(lease_until / 1000.0) AS lease_until,
       last_error
FROM tale_sagas;";

/// What takes a journal of version `n - 1` to version `n`, for each `n` after 1.
const MIGRATIONS: &[(i32, &str)] = &[
    // 2: one line per saga for an operator with only `psql`.
    (2, TALE_OVERVIEW),
];

/// The columns of a saga's summary, in the order the store decodes them.
pub(super) const SAGA_COLUMNS: &str = "id, name, inputs, status, current_step, current_step_name, \
     records, last_error, attempts, fingerprint, owner, epoch, lease_until, resumptions, not_before, \
     created_at, updated_at";

pub(super) const INSERT_SAGA: &str = "INSERT INTO tale_sagas (name, inputs, status, records, \
     created_at, updated_at, fingerprint, owner, epoch, lease_until) \
     VALUES ($1, $2, 'running', 0, $3, $3, $4, $5, 1, $6) RETURNING id";

pub(super) const INSERT_RECORD: &str = "INSERT INTO tale_records \
     (saga_id, seq, kind, step_index, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

pub(super) const UPDATE_SAGA: &str = "UPDATE tale_sagas SET status = $2, current_step = $3, \
     current_step_name = $4, records = $5, last_error = $6, updated_at = $7, attempts = $8, \
     owner = $9, epoch = $10, lease_until = $11, resumptions = $12, not_before = $13 \
     WHERE id = $1";

pub(super) const SELECT_RECORDS: &str = "SELECT seq, kind, step_index, payload, created_at FROM tale_records WHERE saga_id = $1 \
     ORDER BY seq";

/// One saga's summary, `lock` appended (` FOR UPDATE` in a write).
pub(super) fn select_saga(lock: &str) -> String {
    format!("SELECT {SAGA_COLUMNS} FROM tale_sagas WHERE id = $1{lock}")
}

/// The sagas of some statuses (all, for an empty list), oldest first.
pub(super) fn select_sagas() -> String {
    format!(
        "SELECT {SAGA_COLUMNS} FROM tale_sagas \
         WHERE cardinality($1::text[]) = 0 OR status = ANY($1::text[]) ORDER BY id"
    )
}

/// The running sagas a claim at `$1` may take, oldest first, at most `$2`, locked for
/// this transaction and skipping those another worker's claim has locked.
pub(super) fn select_claimable() -> String {
    format!(
        "SELECT {SAGA_COLUMNS} FROM tale_sagas WHERE status = 'running' \
         AND (lease_until IS NULL OR lease_until <= $1) \
         AND (not_before IS NULL OR not_before <= $1) \
         ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED"
    )
}

/// Creates the schema in a database without one, or migrates an older journal, in one
/// transaction under the advisory lock.
///
/// # Errors
///
/// [`JournalError::NewerSchema`] for a journal a newer tale wrote,
/// [`JournalError::Foreign`] for a `tale_meta` table that is not tale's, or the
/// database's failure.
pub(super) async fn create_or_migrate(client: &mut Client) -> Result<(), JournalError> {
    let tx = client.transaction().await.map_err(db)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .map_err(db)?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('tale_meta') IS NOT NULL", &[])
        .await
        .map_err(db)?
        .get(0);
    if exists {
        let rows = tx
            .query("SELECT application, schema_version FROM tale_meta", &[])
            .await
            .map_err(db)?;
        let version = match rows.as_slice() {
            [row] if row.try_get::<_, String>(0).ok().as_deref() == Some(MARKER) => {
                row.try_get::<_, i32>(1).map_err(db)?
            }
            _ => {
                return Err(JournalError::Foreign(
                    "the database has a `tale_meta` table that is not tale's".into(),
                ));
            }
        };
        if version > SCHEMA_VERSION {
            return Err(JournalError::NewerSchema {
                found: i64::from(version),
                supported: i64::from(SCHEMA_VERSION),
            });
        }
        for (to, sql) in MIGRATIONS.iter().filter(|(to, _)| *to > version) {
            tx.batch_execute(sql).await.map_err(db)?;
            tx.execute("UPDATE tale_meta SET schema_version = $1", &[to])
                .await
                .map_err(db)?;
        }
    } else {
        tx.batch_execute(SCHEMA).await.map_err(db)?;
        tx.batch_execute(TALE_OVERVIEW).await.map_err(db)?;
        tx.execute(
            "INSERT INTO tale_meta (application, schema_version) VALUES ($1, $2)",
            &[&MARKER, &SCHEMA_VERSION],
        )
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}
