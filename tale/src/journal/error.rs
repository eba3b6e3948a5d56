//! What goes wrong with a durable saga: [`JournalError`] (the journal could not be read or
//! written, or contradicts the code), [`Interrupted`] (a step failed without an error of
//! its own) and [`DurableError`] (a durable saga's error: its own or the journal's).

use super::SagaId;
use crate::error::SagaError;

/// Why a journal could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// The database failed (I/O, locking, a file that is not a database).
    #[error("journal database error: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database was written by a newer version of tale.
    #[error(
        "the journal was written by a newer tale (schema {found}; this tale reads up to {supported})"
    )]
    NewerSchema {
        /// The schema version found.
        found: i64,
        /// The newest version this tale understands.
        supported: i64,
    },
    /// The file is a SQLite database, but not a tale journal.
    #[error("not a tale journal: {0}")]
    Foreign(String),
    /// A record cannot be read.
    #[error("{saga}: record {seq} is corrupt: {reason}")]
    Corrupt {
        /// The saga.
        saga: SagaId,
        /// The record's position in the saga's journal.
        seq: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// No saga with this id.
    #[error("no {0} in the journal")]
    UnknownSaga(SagaId),
    /// An operator's action that the saga's status does not allow (see
    /// [`Action`](super::Action)); nothing was written.
    #[error("{saga} is {status}: only a saga that is {} can be {}", allowed(*action), done(*action))]
    NotAllowed {
        /// The saga.
        saga: SagaId,
        /// The action refused.
        action: super::Action,
        /// The saga's status.
        status: super::Status,
    },
    /// A saga's journal names no registered saga.
    #[error("{saga} is a `{name}` saga, and no saga of that name is registered")]
    Unregistered {
        /// The saga.
        saga: SagaId,
        /// The name nobody registered.
        name: String,
    },
    /// A stored output, error or input no longer deserializes into its type.
    #[error("{saga}{}: stored payload does not deserialize: {reason}", step.map(|s| format!(", step {s}")).unwrap_or_default())]
    Payload {
        /// The saga.
        saga: SagaId,
        /// The step, if it is a step's payload (`None` for the saga's inputs).
        step: Option<u32>,
        /// The deserializer's message.
        reason: String,
    },
    /// The saga changed hands: another worker took it over (this one's lease had
    /// ended, or an operator took it), and this worker's claim no longer lets it
    /// write. Nothing was written; the saga is the other worker's now, and this one
    /// stopped it before its next action.
    #[error(
        "{saga}: lease lost (this worker wrote under epoch {epoch}; the saga is at epoch {current})"
    )]
    LeaseLost {
        /// The saga.
        saga: SagaId,
        /// The epoch this worker wrote under.
        epoch: u64,
        /// The saga's epoch now.
        current: u64,
    },
    /// The store handle is shutting down ([`Leases::drain`](super::Leases::drain)): the
    /// saga stopped before its next action and was given back, for another worker to
    /// take over at once.
    #[error("{saga}: stopped before its next action and given back: this worker is shutting down")]
    ShuttingDown {
        /// The saga.
        saga: SagaId,
    },
    /// Recovery caught a panic of the saga's code; its journal stays as the panic left
    /// it, for a later attempt.
    #[error("{saga} panicked during recovery: {message}")]
    Panicked {
        /// The saga.
        saga: SagaId,
        /// The panic's message.
        message: String,
    },
    /// The journal contradicts the saga's code (a step recorded at a position where the
    /// code now has another, say).
    #[error("{saga}: the journal does not match the saga's code: {reason}")]
    Mismatch {
        /// The saga.
        saga: SagaId,
        /// What differs.
        reason: String,
    },
}

/// Why a durable step failed without an error of its own: the error a durable saga's
/// error type must be able to hold (`impl From<Interrupted> for MyError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Interrupted {
    /// The process stopped while an uncertain step ran (its start is in the journal,
    /// its end is not).
    Crashed,
    /// The step panicked.
    Panicked,
    /// The journal could not be written, so the saga stopped before acting.
    Journal,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Interrupted::Crashed => "the process stopped while the step ran",
            Interrupted::Panicked => "the step panicked",
            Interrupted::Journal => "the journal could not be written",
        })
    }
}

impl std::error::Error for Interrupted {}

/// The error of a durable saga: the saga's own, or the journal's.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DurableError<E> {
    /// The saga failed (see [`SagaError`]); the journal records how it ended.
    #[error(transparent)]
    Saga(SagaError<E>),
    /// The journal failed: the saga stopped where it was, without acting further.
    /// Recovery finishes it once the journal works again.
    #[error("saga stopped: {0}")]
    Journal(#[source] JournalError),
}

/// The statuses `action` is allowed from, in words: "stuck or parked".
fn allowed(action: super::Action) -> String {
    let names: Vec<&str> = action.allowed_from().iter().map(|s| s.as_str()).collect();
    names.join(" or ")
}

/// The action done, in words: "resolved".
fn done(action: super::Action) -> &'static str {
    match action {
        super::Action::Resolve => "resolved",
        super::Action::Reopen => "reopened",
        super::Action::Abandon => "abandoned",
    }
}
