//! [`SqliteStore`]: the embedded journal (being written; see the store helper).

/// How hard SQLite works to make each record survive a crash.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Sync {
    /// `synchronous = FULL`.
    #[default]
    Full,
}

/// Placeholder until the store lands.
#[derive(Debug)]
pub struct SqliteStore;
