//! The journal's schema: what a new file gets, how an older journal is migrated, and
//! how tale tells a journal from another database.

use rusqlite::{Connection, Transaction, params};

use super::is_damage;

use crate::journal::JournalError;

/// The schema version this tale writes, and the newest it reads.
pub(super) const SCHEMA_VERSION: i64 = 4;

/// The journal's `PRAGMA application_id`: `"TALE"` in ASCII.
pub(super) const APPLICATION_ID: i32 = 0x5441_4C45;

/// What a database file holds, as far as tale is concerned.
pub(super) enum Shape {
    Empty,
    Journal(i64),
    Foreign(String),
}

pub(super) const MARKER: &str = "tale journal";

/// The operators' view: one line per saga, times readable, age and idle time in
/// seconds (`SELECT * FROM tale_overview WHERE status = 'stuck'`).
const TALE_OVERVIEW: &str = "CREATE VIEW tale_overview AS
SELECT id, name, status, current_step AS step, current_step_name AS step_name, attempts,
       records, owner, epoch,
       datetime(created_at / 1000, 'unixepoch') AS created,
       datetime(updated_at / 1000, 'unixepoch') AS updated,
       (CAST(strftime('%s', 'now') AS INTEGER) * 1000 - created_at) / 1000 AS age_s,
       (CAST(strftime('%s', 'now') AS INTEGER) * 1000 - updated_at) / 1000 AS idle_s,
       datetime(lease_until / 1000, 'unixepoch') AS lease_until,
       last_error
FROM sagas;";

/// The schema of a new journal (the newest version).
const SCHEMA: &str = "
CREATE TABLE tale_meta (
    application    TEXT    NOT NULL,
    schema_version INTEGER NOT NULL
);
CREATE TABLE sagas (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT    NOT NULL,
    inputs            TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    current_step      INTEGER,
    current_step_name TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0,
    records           INTEGER NOT NULL,
    last_error        TEXT,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    fingerprint       INTEGER,
    owner             TEXT,
    epoch             INTEGER NOT NULL DEFAULT 0,
    lease_until       BIGINT,
    resumptions       INTEGER NOT NULL DEFAULT 0,
    not_before        BIGINT
);
CREATE INDEX sagas_status ON sagas (status, id);
CREATE TABLE records (
    saga_id    INTEGER NOT NULL REFERENCES sagas (id),
    seq        INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    step_index INTEGER,
    payload    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (saga_id, seq)
);";

/// The columns of a saga's summary after its name and inputs, in the order
/// `codec::decode_saga` reads them.
macro_rules! summary_columns {
    () => {
        "status, current_step, current_step_name, records, last_error, attempts, \
         fingerprint, owner, epoch, lease_until, resumptions, not_before, created_at, \
         updated_at"
    };
}

/// The columns of a saga's summary, in the order `codec::decode_saga` reads them.
pub(super) const SAGA_COLUMNS: &str = concat!("id, name, inputs, ", summary_columns!());

/// A saga's summary by id, as a query.
pub(super) const SELECT_SAGA: &str = concat!(
    "SELECT id, name, inputs, ",
    summary_columns!(),
    " FROM sagas WHERE id = ?1"
);

/// A saga's summary by id without its name and inputs (empty), for a write, which
/// neither reads nor writes them: inputs can be large.
pub(super) const SELECT_SAGA_FOR_WRITE: &str = concat!(
    "SELECT id, '', '', ",
    summary_columns!(),
    " FROM sagas WHERE id = ?1"
);

/// What takes a journal of version `n - 1` to version `n`, for each `n` after 1, in
/// order. Each runs in the transaction that opens the journal, under its write lock.
const MIGRATIONS: &[(i64, &str)] = &[
    // 2: the fingerprint of the saga's shape, journaled when it begins.
    (2, "ALTER TABLE sagas ADD COLUMN fingerprint INTEGER;"),
    // 3: owners, epochs and leases, for many workers on one journal. A saga running in
    // an older journal has no owner and no lease: the first claim takes it. No index on
    // `lease_until`: every write renews the lease, and an index on it would be written
    // with every record; a claim scans the running sagas (`sagas_status`), which are
    // few.
    (
        3,
        "ALTER TABLE sagas ADD COLUMN owner TEXT;
         ALTER TABLE sagas ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE sagas ADD COLUMN lease_until BIGINT;
         ALTER TABLE sagas ADD COLUMN resumptions INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE sagas ADD COLUMN not_before BIGINT;",
    ),
    // 4: one line per saga for an operator with only `sqlite3` (see `TALE_OVERVIEW`).
    (4, TALE_OVERVIEW),
];

/// Creates the schema in an empty database, or migrates an older journal to
/// [`SCHEMA_VERSION`], inside `tx` (which holds the write lock).
pub(super) fn create_or_migrate(
    tx: &Transaction<'_>,
    name: &str,
    failed: &impl Fn(rusqlite::Error) -> JournalError,
) -> Result<(), JournalError> {
    match shape(tx).map_err(failed)? {
        Shape::Empty => {
            tx.execute_batch(SCHEMA).map_err(failed)?;
            tx.execute_batch(TALE_OVERVIEW).map_err(failed)?;
            tx.execute(
                "INSERT INTO tale_meta (application, schema_version) VALUES (?1, ?2)",
                params![MARKER, SCHEMA_VERSION],
            )
            .map_err(failed)?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(failed)?;
        }
        shape => {
            let version = check(name, shape)?;
            for (to, sql) in MIGRATIONS.iter().filter(|(to, _)| *to > version) {
                tx.execute_batch(sql).map_err(failed)?;
                tx.execute("UPDATE tale_meta SET schema_version = ?1", [to])
                    .map_err(failed)?;
            }
        }
    }
    Ok(())
}

/// Accepts an empty database (version 0) or a journal that this tale reads, and says
/// its version.
pub(super) fn check(name: &str, shape: Shape) -> Result<i64, JournalError> {
    match shape {
        Shape::Empty => Ok(0),
        Shape::Journal(version) if version > SCHEMA_VERSION => Err(JournalError::NewerSchema {
            found: version,
            supported: SCHEMA_VERSION,
        }),
        Shape::Journal(version) if version < 1 => Err(JournalError::Foreign(format!(
            "{name} claims to be a tale journal of schema {version}, which never existed"
        ))),
        Shape::Journal(version) => Ok(version),
        Shape::Foreign(why) => Err(JournalError::Foreign(format!("{name} {why}"))),
    }
}

/// Reads what the database holds. Fails on a file that is not a database.
pub(super) fn shape(conn: &Connection) -> rusqlite::Result<Shape> {
    let application_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    let tables = {
        let mut stmt = conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )?;
        stmt.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?
    };
    if application_id != 0 && application_id != APPLICATION_ID {
        return Ok(Shape::Foreign(format!(
            "is a SQLite database of another application (application_id {application_id:#x})"
        )));
    }
    if tables.is_empty() {
        return Ok(Shape::Empty);
    }
    if !tables.iter().any(|t| t == "tale_meta") {
        let list = tables
            .iter()
            .take(5)
            .map(|t| format!("`{t}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let more = if tables.len() > 5 { ", ..." } else { "" };
        return Ok(Shape::Foreign(format!(
            "is a SQLite database with tables {list}{more} and no `tale_meta` table"
        )));
    }
    let meta = conn
        .prepare("SELECT application, schema_version FROM tale_meta")
        .and_then(|mut stmt| {
            stmt.query_map([], |r| {
                Ok((
                    r.get_ref(0)?.as_str().ok().map(str::to_owned),
                    r.get_ref(1)?.as_i64().ok(),
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        });
    Ok(match meta {
        Ok(rows) => match rows.as_slice() {
            [(Some(marker), Some(version))] if marker == MARKER => Shape::Journal(*version),
            _ => Shape::Foreign(
                "has a `tale_meta` table without tale's marker and schema version".into(),
            ),
        },
        Err(e) if e.sqlite_error_code().is_some_and(is_damage) => return Err(e),
        Err(_) => Shape::Foreign("has a `tale_meta` table that is not tale's".into()),
    })
}
