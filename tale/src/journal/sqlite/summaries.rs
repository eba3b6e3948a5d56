//! The summaries a [`SqliteStore`](super::SqliteStore) handle last committed, kept so
//! that its next write of a saga need not read the saga's row back: the read (a
//! statement lent by rusqlite's cache, and a copy of the row's text columns) was a third
//! of a record's work.
//!
//! They are trusted only while nothing but this handle changed the file. SQLite's
//! *data version* of the main database (`SQLITE_FCNTL_DATA_VERSION`) changes with every
//! commit to the file, this connection's or any other's (another handle, another
//! process); a write transaction reads it once it holds the write lock, and if it is
//! not the version this handle's own last commit left, every summary is forgotten and
//! read anew. A transaction rolled back, or a write that failed half way, forgets them
//! too. A summary is a write's view of the row: the columns a write decides and writes
//! back, as stored (its last error sealed); its name and inputs are left empty, and its
//! `updated_at` is not kept up to date (a write stamps its own time).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::ffi::c_uint;

use rusqlite::{Connection, FileControl, MAIN_DB};

use super::codec::read_saga_for_write;
use crate::journal::{JournalError, SagaId, SagaRow};

/// More summaries than this are not kept: past it, the next new one clears them all (a
/// handle writes few sagas at once; a summary of a saga another worker took over or an
/// operator finished would otherwise stay forever).
const CAPACITY: usize = 4096;

/// The summaries of the sagas this handle writes, as it last committed them.
#[derive(Debug, Default)]
pub(super) struct Summaries {
    rows: HashMap<SagaId, SagaRow>,
    /// The file's data version after this handle's last commit, if `rows` is what that
    /// commit left; `None` if nothing is known.
    committed: Option<c_uint>,
}

impl Summaries {
    /// Called once a write transaction holds the write lock: forgets every summary if
    /// the file changed since this handle's last commit.
    pub(super) fn check(&mut self, conn: &Connection) {
        let now = data_version(conn);
        if now.is_none() || now != self.committed {
            self.forget();
        }
    }

    /// Called after a write transaction committed: what it left is what `rows` holds.
    pub(super) fn committed(&mut self, conn: &Connection) {
        self.committed = data_version(conn);
        if self.committed.is_none() {
            self.rows.clear();
        }
    }

    /// Forgets every summary: the transaction was rolled back, or the file changed.
    pub(super) fn forget(&mut self) {
        self.rows.clear();
        self.committed = None;
    }

    /// Forgets the summary of `saga`: a write of it failed part way, or it finished.
    pub(super) fn remove(&mut self, saga: SagaId) {
        self.rows.remove(&saga);
    }

    /// Keeps `row`, the summary of a saga this transaction inserted.
    pub(super) fn insert(&mut self, row: SagaRow) {
        self.make_room();
        self.rows.insert(row.id, row);
    }

    /// The summary of `saga` for a write in the current transaction (see
    /// [`check`](Self::check)): the one kept, or the row read from `conn`. The caller
    /// changes it as it changes the row, or [`remove`](Self::remove)s it.
    pub(super) fn row(
        &mut self,
        conn: &Connection,
        saga: SagaId,
    ) -> Result<&mut SagaRow, JournalError> {
        if !self.rows.contains_key(&saga) {
            self.make_room();
        }
        match self.rows.entry(saga) {
            Entry::Occupied(kept) => Ok(kept.into_mut()),
            Entry::Vacant(slot) => {
                let row =
                    read_saga_for_write(conn, saga)?.ok_or(JournalError::UnknownSaga(saga))?;
                Ok(slot.insert(row))
            }
        }
    }

    fn make_room(&mut self) {
        if self.rows.len() >= CAPACITY {
            self.rows.clear();
        }
    }
}

/// The main database's data version, or `None` if SQLite cannot say.
fn data_version(conn: &Connection) -> Option<c_uint> {
    let mut version: c_uint = 0;
    conn.file_control(Some(MAIN_DB), FileControl::DataVersion(&mut version))
        .ok()
        .map(|()| version)
}
