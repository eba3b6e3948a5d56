//! [`SqliteStore`]: the embedded journal, on SQLite (bundled with rusqlite: nothing to
//! install).
//!
//! See [`SqliteStore`] for the schema.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

mod codec;
mod group;
mod schema;
mod store;
mod summaries;

use super::payload::Payloads;
use super::{Entry, JournalError, Leases, PayloadCodec, Record, SagaId};
use codec::read_records;
use summaries::Summaries;

/// How hard SQLite works to make each record survive a crash: SQLite's
/// `PRAGMA synchronous`, with the journal in WAL mode.
///
/// The journal is log-before-act: [`Store::append`](super::Store::append) returns before the saga's next
/// action (a step, a compensation) starts. What "the record is written" survives
/// depends on this setting:
///
/// | setting  | process crash (panic, `kill -9`, abort) | OS crash or power loss |
/// |----------|------------------------------------------|------------------------|
/// | `Full`   | nothing lost                             | nothing lost           |
/// | `Normal` | nothing lost                             | the last records may be lost; the file stays consistent |
/// | `Off`    | nothing lost                             | the last records may be lost, and the file may be corrupted |
///
/// When records are lost, an action may have happened that the journal does not show:
/// recovery then sees that step as not started (or started with no outcome) and runs
/// or compensates it again, which is safe only if the services honor the step's
/// idempotency key. With `Full`, log-before-act holds against every crash, provided
/// the disk honors `fsync` (consumer disks with a volatile write cache may not).
///
/// In-memory stores ([`SqliteStore::in_memory`]) keep nothing past the process, whatever
/// the setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// `synchronous = OFF`: SQLite never waits for the disk. Fastest. Every
    /// [`append`](super::Store::append) has reached the operating system when it returns, so a
    /// crash of the process loses nothing (WAL mode); an OS crash or a power loss may
    /// lose the last records and may leave a corrupt database file.
    Off,
    /// `synchronous = NORMAL`: the WAL is synced at checkpoints, not at every commit.
    /// Durable against process crashes; an OS crash or a power loss may roll back the
    /// last committed records (the database stays consistent).
    Normal,
    /// `synchronous = FULL` (the default): the WAL is synced at every commit, so every
    /// record is on the disk when [`append`](super::Store::append) returns. Durable against
    /// process crashes, OS crashes and power loss.
    #[default]
    Full,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::Off => "OFF",
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        }
    }
}

/// The embedded [`Store`](super::Store): a SQLite database in one file, in WAL mode.
///
/// Safe to share between threads (`Send + Sync`: one connection behind a mutex) and
/// between processes on the same file (SQLite's locks; a writer waits up to
/// [`BUSY_TIMEOUT`](SqliteStore::BUSY_TIMEOUT) for another before failing). Each
/// handle is one worker ([`with_leases`](Self::with_leases)): several processes on one
/// file claim and fence each other's sagas as the [`Store`](super::Store) contract says, every write
/// under SQLite's one write lock (`BEGIN IMMEDIATE`), so that the fence check and the
/// write are one transaction and two claims are never made at once. Each
/// [`append`](super::Store::append) is one transaction that writes the record and updates the
/// saga's summary, so the summary never disagrees with the records.
///
/// Writes ready at once share a commit (group commit; one fsync at
/// [`Durability::Full`]): the beginnings and appends that threads make on one handle
/// while a commit is in progress go into the next one, and
/// [`write_many`](super::Store::write_many) makes its writes one transaction; each
/// caller still returns only once its own write is committed, and a write refused by
/// its fencing check fails alone. Async sagas reach it through `BlockingPool`
/// (feature `tokio`), which hands the writes of the sagas in flight to `write_many`.
///
/// Opening checks the file: an empty or new file becomes a journal (a new file is created
/// readable and writable by its owner only: it holds the sagas' inputs and outputs); a journal of an
/// older schema is migrated (inside the opening transaction, under the write lock); a newer schema gives [`JournalError::NewerSchema`]; a SQLite
/// database that is not a journal gives [`JournalError::Foreign`] (and is left
/// untouched); a file that is not a database, or is truncated, gives
/// [`JournalError::Database`] naming the file.
///
/// Reading a record that cannot be decoded gives [`JournalError::Corrupt`] with the
/// record's `seq` (1 for a saga's first record). A corrupt summary row (an unknown
/// status, say) gives [`JournalError::Corrupt`] with `seq` 0.
///
/// # Schema (version 3)
///
/// tale creates and versions the schema itself; an operator can read it with any SQLite
/// client: `SELECT id, name, current_step_name, last_error FROM sagas WHERE status = 'stuck'`.
///
/// ```sql
/// CREATE TABLE tale_meta (
///     application    TEXT    NOT NULL,   -- 'tale journal'
///     schema_version INTEGER NOT NULL    -- 3
/// );
/// CREATE TABLE sagas (
///     id                INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused
///     name              TEXT    NOT NULL,
///     inputs            TEXT    NOT NULL,  -- JSON
///     status            TEXT    NOT NULL,  -- Status::as_str
///     current_step      INTEGER,
///     current_step_name TEXT,
///     attempts          INTEGER NOT NULL,  -- of the current step or compensation
///     records           INTEGER NOT NULL,
///     last_error        TEXT,              -- JSON
///     created_at        BIGINT  NOT NULL,  -- unix millis
///     updated_at        BIGINT  NOT NULL,  -- unix millis
///     fingerprint       INTEGER,           -- the saga's shape (u64 bits); version 2
///     owner             TEXT,              -- the owning worker; version 3, as below
///     epoch             INTEGER NOT NULL,  -- grows at each change of hands
///     lease_until       BIGINT,            -- unix millis; NULL: given back or finished
///     resumptions       INTEGER NOT NULL,  -- claims since the journal last grew
///     not_before        BIGINT             -- unix millis: no claim before (back-off)
/// );
/// CREATE INDEX sagas_status ON sagas (status, id);  -- claims scan the running sagas
/// CREATE TABLE records (
///     saga_id    INTEGER NOT NULL REFERENCES sagas (id),
///     seq        INTEGER NOT NULL,  -- 1, 2, 3... within the saga
///     kind       TEXT    NOT NULL,  -- step_started, step_succeeded, ...
///     step_index INTEGER,           -- NULL for `finished`
///     payload    TEXT    NOT NULL,  -- JSON object: the record's other fields
///     created_at BIGINT  NOT NULL,  -- unix millis
///     PRIMARY KEY (saga_id, seq)
/// );
/// ```
///
/// The file's `PRAGMA application_id` is [`APPLICATION_ID`](SqliteStore::APPLICATION_ID)
/// (`"TALE"` in ASCII), so that a journal can be told from other databases by its header.
///
/// A record's payload holds its fields other than the step index, as JSON strings,
/// numbers and booleans: `{"name": "book_flight"}`, `{"attempts": 2, "output": "{...}"}`,
/// `{"errors": "[...]", "gave_up": "AttemptsExhausted"}`, `{"uncertain": false}`, `{}`,
/// `{"status": "completed"}`. Outputs and errors, which are JSON text themselves, are
/// kept as JSON strings so that they round-trip byte for byte; in SQL,
/// `json(json_extract(payload, '$.output'))` gives them back as JSON.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Db>,
    /// Appends of several threads at once share commits (group commit).
    group: group::Group,
    path: Option<PathBuf>,
    leases: Leases,
    payloads: Payloads,
}

/// Where a database error happened, for a clear message.
#[derive(Debug)]
struct Failure {
    what: String,
    source: rusqlite::Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The connection, and what its writes keep from one to the next: the summaries they
/// left (`summaries.rs`) and the buffer a record's payload is written into.
#[derive(Debug)]
struct Db {
    conn: Connection,
    summaries: Summaries,
    payload: Vec<u8>,
}

impl std::ops::Deref for Db {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.conn
    }
}

/// A write transaction begun and ended by statements prepared once per connection
/// (rusqlite's `Transaction` prepares `BEGIN` and `COMMIT` anew each time: 6 % of a
/// durable saga's instructions), with the summaries it may read and write; rolled back
/// if dropped before it commits, the summaries then forgotten.
pub(crate) struct Tx<'c> {
    conn: &'c Connection,
    summaries: &'c mut Summaries,
    payload: &'c mut Vec<u8>,
    open: bool,
}

impl<'c> Tx<'c> {
    /// Begins an immediate transaction (the write lock taken now).
    fn immediate(db: &'c mut Db) -> rusqlite::Result<Self> {
        let Db {
            conn,
            summaries,
            payload,
        } = db;
        conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
        summaries.check(conn);
        Ok(Self {
            conn,
            summaries,
            payload,
            open: true,
        })
    }

    /// The connection, the summaries as this transaction has them, and the payload
    /// buffer.
    fn parts(&mut self) -> (&Connection, &mut Summaries, &mut Vec<u8>) {
        (self.conn, self.summaries, self.payload)
    }

    /// Commits; on failure the transaction is rolled back when dropped.
    fn commit(mut self) -> rusqlite::Result<()> {
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        self.open = false;
        self.summaries.committed(self.conn);
        Ok(())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            self.summaries.forget();
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

fn db(e: rusqlite::Error) -> JournalError {
    JournalError::Database(Box::new(e))
}

impl SqliteStore {
    /// The schema version this tale writes, and the newest it reads; an older journal
    /// is migrated when it is opened.
    pub const SCHEMA_VERSION: i64 = schema::SCHEMA_VERSION;

    /// The journal's `PRAGMA application_id`: `"TALE"` in ASCII.
    pub const APPLICATION_ID: i32 = schema::APPLICATION_ID;

    /// How long a write waits for another connection (another process) that holds the
    /// database's write lock before failing with a "database is locked" error.
    pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

    /// Opens the journal in the file at `path`, creating it if needed, with
    /// [`Durability::Full`].
    ///
    /// # Errors
    ///
    /// [`JournalError::Database`] if the file cannot be opened or is not a (sound)
    /// SQLite database, [`JournalError::Foreign`] if it is another application's
    /// database, [`JournalError::NewerSchema`] if a newer tale wrote it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, JournalError> {
        Self::open_with(path, Durability::default())
    }

    /// Opens the journal in the file at `path`, creating it if needed, with the given
    /// durability.
    ///
    /// # Errors
    ///
    /// As [`open`](SqliteStore::open).
    pub fn open_with(path: impl AsRef<Path>, sync: Durability) -> Result<Self, JournalError> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let failed = |what: &str| {
            let name = name.clone();
            let what = what.to_owned();
            move |source: rusqlite::Error| {
                let what = match source.sqlite_error_code() {
                    Some(ErrorCode::NotADatabase) => {
                        format!("{name} is not a SQLite database (or its header is damaged)")
                    }
                    Some(ErrorCode::DatabaseCorrupt) => {
                        format!("{name} is a damaged SQLite database (truncated or corrupt)")
                    }
                    _ => format!("{name}: {what}"),
                };
                JournalError::Database(Box::new(Failure { what, source }))
            }
        };
        create_private(path).map_err(|e| {
            JournalError::Database(format!("{name}: cannot create the file: {e}").into())
        })?;
        let conn = Connection::open(path).map_err(failed("cannot open the file"))?;
        conn.busy_timeout(Self::BUSY_TIMEOUT)
            .map_err(failed("cannot set the busy timeout"))?;
        // Look before switching to WAL: that would change another application's file.
        schema::check(&name, schema::shape(&conn).map_err(failed("cannot read"))?)?;
        let mode = Self::switch_to_wal(&conn).map_err(failed("cannot switch to WAL mode"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(JournalError::Database(
                format!("{name}: SQLite refused WAL mode (the journal mode is `{mode}`)").into(),
            ));
        }
        Self::setup(
            conn,
            sync,
            Some(path.to_owned()),
            &name,
            failed("cannot set up"),
        )
    }

    /// Switches the file to WAL mode. SQLite does not wait on the busy timeout for this
    /// switch when another connection is creating the same journal at that moment, so
    /// it is retried, for as long as the busy timeout, while the file is locked.
    fn switch_to_wal(conn: &Connection) -> rusqlite::Result<String> {
        let start = std::time::Instant::now();
        loop {
            match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)) {
                Err(error)
                    if matches!(
                        error.sqlite_error_code(),
                        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
                    ) && start.elapsed() < Self::BUSY_TIMEOUT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                result => return result,
            }
        }
    }

    /// A journal in memory, private to this store and gone with it: for tests.
    ///
    /// # Errors
    ///
    /// [`JournalError::Database`] if SQLite cannot allocate it.
    pub fn in_memory() -> Result<Self, JournalError> {
        let conn = Connection::open_in_memory().map_err(db)?;
        Self::setup(conn, Durability::Off, None, ":memory:", db)
    }

    fn setup(
        mut conn: Connection,
        sync: Durability,
        path: Option<PathBuf>,
        name: &str,
        failed: impl Fn(rusqlite::Error) -> JournalError,
    ) -> Result<Self, JournalError> {
        conn.pragma_update(None, "synchronous", sync.pragma())
            .map_err(&failed)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(&failed)?;
        // Check again, and create or migrate, under the write lock: another process may
        // be creating or migrating the same journal now.
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&failed)?;
        schema::create_or_migrate(&tx, name, &failed)?;
        tx.commit().map_err(&failed)?;
        Ok(Self {
            conn: Mutex::new(Db {
                conn,
                summaries: Summaries::default(),
                payload: Vec::new(),
            }),
            group: group::Group::default(),
            path,
            leases: Leases::new(),
            payloads: Payloads::default(),
        })
    }

    /// The same store, written as `leases` says (a worker id, a lease length, a clock);
    /// by default a fresh worker with leases of [`Leases::DEFAULT_TTL`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tale::journal::{Leases, SqliteStore, Store};
    ///
    /// let store = SqliteStore::in_memory()?.with_leases(Leases::new().ttl(Duration::from_secs(5)));
    /// assert_eq!(store.leases().lease_ttl(), Duration::from_secs(5));
    /// # Ok::<(), tale::journal::JournalError>(())
    /// ```
    #[must_use]
    pub fn with_leases(mut self, leases: Leases) -> Self {
        self.leases = leases;
        self
    }

    /// The same store, its payloads (inputs, outputs, errors) sealed by `codec` (see
    /// [`PayloadCodec`]).
    #[must_use]
    pub fn with_codec(mut self, codec: impl PayloadCodec + 'static) -> Self {
        self.payloads = Payloads::sealed(codec);
        self
    }

    /// The database file, or `None` for an in-memory journal.
    #[must_use]
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Db> {
        // A panic never leaves a transaction open: rusqlite rolls back on drop.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The saga's records that can be read, oldest first, and the error that stopped the
    /// reading if any: the readable prefix of a damaged journal, for recovery tools.
    ///
    /// Reading stops at the first record that cannot be decoded (an unknown kind, a
    /// payload that is not JSON or lacks a field, a gap in `seq`) or that the database
    /// cannot read; the error is [`JournalError::Corrupt`] naming it, or
    /// [`JournalError::Database`]. For an unknown saga the prefix is empty and the error
    /// is [`JournalError::UnknownSaga`].
    pub fn records_prefix(&self, saga: SagaId) -> (Vec<Record>, Option<JournalError>) {
        let (entries, error) = self.history_prefix(saga);
        (entries.into_iter().map(|e| e.record).collect(), error)
    }

    /// As [`records_prefix`](Self::records_prefix), with each record's position and
    /// time.
    pub(crate) fn history_prefix(&self, saga: SagaId) -> (Vec<Entry>, Option<JournalError>) {
        let mut entries = Vec::new();
        let conn = self.lock();
        let mut error = read_records(&conn, saga, &mut entries).err();
        let mut opened = Vec::with_capacity(entries.len());
        for entry in entries {
            match self.payloads.open_record(saga, entry.record) {
                Ok(record) => opened.push(Entry { record, ..entry }),
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        (opened, error)
    }
}

/// Creates the journal's file, readable and writable by its owner only, if it does not
/// exist: a journal holds sagas' inputs and outputs (SQLite gives its `-wal` and `-shm`
/// files the same permissions).
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process (or an earlier run) made it: SQLite opens it as it is.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn is_damage(code: ErrorCode) -> bool {
    matches!(code, ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Claim, Status, Store};

    #[test]
    fn store_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<SqliteStore>();
    }

    #[test]
    fn unknown_saga() {
        let store = SqliteStore::in_memory().unwrap();
        assert!(matches!(
            store.append(
                Claim {
                    saga: SagaId(7),
                    epoch: 1
                },
                &Record::CompensationSucceeded { index: 0 }
            ),
            Err(JournalError::UnknownSaga(SagaId(7)))
        ));
        assert!(matches!(
            store.records_prefix(SagaId(7)),
            (v, Some(JournalError::UnknownSaga(_))) if v.is_empty()
        ));
        assert!(matches!(
            store.set_status(SagaId(7), Status::Resolved),
            Err(JournalError::UnknownSaga(_))
        ));
    }
}
