//! What a journal holds: records of transitions, saga summaries, and its errors.

use std::borrow::Cow;
use std::fmt;

use super::{Claim, JournalError, Lease, Millis, WorkerId};
use crate::retry::GaveUp;

/// A saga instance's id in its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SagaId(pub i64);

impl fmt::Display for SagaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "saga #{}", self.0)
    }
}

/// One transition of a saga, written before the action that follows it.
///
/// Payloads (outputs and errors) are JSON text, so that an operator can read them with
/// any SQLite client.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Record {
    /// A step is about to run (its first attempt).
    StepStarted {
        /// The step's position.
        index: u32,
        /// The step's name: borrowed when the code's name is a `&'static str` (a
        /// `#[step]` function's), so that journaling a step does not copy it.
        name: Cow<'static, str>,
    },
    /// A step succeeded, with its output.
    StepSucceeded {
        /// The step's position.
        index: u32,
        /// Attempts made.
        attempts: u32,
        /// The output, as JSON.
        output: String,
    },
    /// A step failed for good.
    StepFailed {
        /// The step's position.
        index: u32,
        /// Every attempt's error, as a JSON array.
        errors: String,
        /// Why retrying stopped.
        gave_up: GaveUp,
    },
    /// A compensation is about to run.
    CompensationStarted {
        /// The step's position.
        index: u32,
        /// True for the compensation of a failed step with an uncertain outcome.
        uncertain: bool,
    },
    /// A compensation succeeded.
    CompensationSucceeded {
        /// The step's position.
        index: u32,
    },
    /// A compensation failed for good.
    CompensationFailed {
        /// The step's position.
        index: u32,
        /// Every attempt's error, as a JSON array.
        errors: String,
    },
    /// The saga finished.
    Finished {
        /// How it ended: `completed`, `compensated` or `stuck`.
        status: Status,
    },
    /// An operator reopened a stuck or parked saga: it runs again, and the
    /// compensations that failed for good are tried again, by the next worker or
    /// recovery that claims it.
    Reopened {
        /// Who did it.
        by: String,
        /// Why, in their words.
        note: String,
    },
    /// An operator marked a stuck or parked saga resolved: they dealt by hand with what
    /// its compensations could not undo. Nothing runs it again.
    Resolved {
        /// Who did it.
        by: String,
        /// What they did, in their words.
        note: String,
    },
    /// An operator abandoned a running or parked saga: it is neither run on nor
    /// compensated, and whoever ran it is fenced off. What it did stays done.
    Abandoned {
        /// Who did it.
        by: String,
        /// Why, in their words.
        note: String,
    },
}

impl Record {
    /// The step the record is about, if any.
    #[must_use]
    pub fn index(&self) -> Option<u32> {
        match self {
            Record::StepStarted { index, .. }
            | Record::StepSucceeded { index, .. }
            | Record::StepFailed { index, .. }
            | Record::CompensationStarted { index, .. }
            | Record::CompensationSucceeded { index }
            | Record::CompensationFailed { index, .. } => Some(*index),
            Record::Finished { .. }
            | Record::Reopened { .. }
            | Record::Resolved { .. }
            | Record::Abandoned { .. } => None,
        }
    }

    /// The operator's name and note, for the records an operator writes.
    #[must_use]
    pub fn operator(&self) -> Option<(&str, &str)> {
        match self {
            Record::Reopened { by, note }
            | Record::Resolved { by, note }
            | Record::Abandoned { by, note } => Some((by, note)),
            _ => None,
        }
    }
}

/// One record of a saga's journal, with its place and time: what
/// [`Store::history`](super::Store::history) reads, for operators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its position in the saga's journal, from 0.
    pub seq: u64,
    /// When it was written (milliseconds since the Unix epoch, by the writer's clock).
    pub at: Millis,
    /// The record.
    pub record: Record,
}

/// Where a saga stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Started and not finished: running now, or left behind by a crash.
    Running,
    /// Every step succeeded.
    Completed,
    /// A step failed and every completed step was compensated.
    Compensated,
    /// A compensation failed for good: someone must look.
    Stuck,
    /// Was stuck; an operator marked it resolved.
    Resolved,
    /// Its resumption failed too often (it names no registered saga, its journal does
    /// not match the code, it panics or kills its worker): the workers leave it for an
    /// operator, who sets it [`Running`](Status::Running) again once it can run.
    Parked,
    /// An operator abandoned it ([`Record::Abandoned`]): neither run on nor
    /// compensated.
    Abandoned,
}

impl Status {
    /// The name stored in the database.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Compensated => "compensated",
            Status::Stuck => "stuck",
            Status::Resolved => "resolved",
            Status::Parked => "parked",
            Status::Abandoned => "abandoned",
        }
    }

    /// The status stored under `name`, if any.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Status::Running,
            Status::Completed,
            Status::Compensated,
            Status::Stuck,
            Status::Resolved,
            Status::Parked,
            Status::Abandoned,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }

    /// True once the saga has ended (for good, stuck or parked).
    #[must_use]
    pub fn is_finished(self) -> bool {
        self != Status::Running
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A saga instance about to begin, as a store records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewSaga<'a> {
    /// The saga's registered name.
    pub name: &'a str,
    /// Its inputs, as JSON.
    pub inputs: &'a str,
    /// The fingerprint of the saga's shape (its steps, their order and groups), which
    /// `saga!` computes for a durable saga; `None` for one driven by hand. Recovery
    /// refuses to replay a journal whose fingerprint is not the code's.
    pub fingerprint: Option<u64>,
}

impl<'a> NewSaga<'a> {
    /// A saga `name` with `inputs` (JSON) and no fingerprint.
    #[must_use]
    pub fn new(name: &'a str, inputs: &'a str) -> Self {
        Self {
            name,
            inputs,
            fingerprint: None,
        }
    }
}

/// A saga's summary, for operators.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SagaRow {
    /// The instance's id.
    pub id: SagaId,
    /// The saga's registered name.
    pub name: String,
    /// Its inputs, as JSON.
    pub inputs: String,
    /// Where it stands.
    pub status: Status,
    /// The position of the step it last started (or compensated), if any.
    pub current_step: Option<u32>,
    /// The name of that step, if the journal named it since (a step's start names it;
    /// the records of its compensation do not).
    pub current_step_name: Option<Cow<'static, str>>,
    /// How many attempts the current step (or its compensation) has taken, as far as
    /// the journal knows: 0 while its first attempt runs.
    pub attempts: u32,
    /// How many records its journal holds.
    pub records: u64,
    /// The last error recorded (a step's or a compensation's), as JSON.
    pub last_error: Option<String>,
    /// The fingerprint of the saga's shape when it began (see [`NewSaga::fingerprint`]).
    pub fingerprint: Option<u64>,
    /// Who owns it and until when.
    pub lease: Lease,
    /// When it began (milliseconds since the Unix epoch, by the writer's clock).
    pub created_at: Millis,
    /// When its summary last changed: its last record, claim, renewal or change of
    /// status.
    pub updated_at: Millis,
}

/// The name a journal stores a [`GaveUp`] under: fixed text, so that a journal outlives
/// a rename of the Rust variant.
pub(crate) fn gave_up_name(gave_up: GaveUp) -> &'static str {
    match gave_up {
        GaveUp::AttemptsExhausted => "AttemptsExhausted",
        GaveUp::Permanent => "Permanent",
        GaveUp::TimeBudgetExhausted => "TimeBudgetExhausted",
        GaveUp::DeadlineExceeded => "DeadlineExceeded",
        GaveUp::Cancelled => "Cancelled",
        GaveUp::Interrupted => "Interrupted",
    }
}

/// The [`GaveUp`] a journal stores under `name`, if any.
pub(crate) fn gave_up_from_name(name: &str) -> Option<GaveUp> {
    [
        GaveUp::AttemptsExhausted,
        GaveUp::Permanent,
        GaveUp::TimeBudgetExhausted,
        GaveUp::DeadlineExceeded,
        GaveUp::Cancelled,
        GaveUp::Interrupted,
    ]
    .into_iter()
    .find(|g| gave_up_name(*g) == name)
}

impl SagaRow {
    /// The summary of the saga `id` that `worker` begins at `now`, its lease until
    /// `until`.
    #[must_use]
    pub fn begun(
        id: SagaId,
        saga: &NewSaga<'_>,
        worker: &WorkerId,
        now: Millis,
        until: Millis,
    ) -> Self {
        SagaRow {
            id,
            name: saga.name.to_owned(),
            inputs: saga.inputs.to_owned(),
            status: Status::Running,
            current_step: None,
            current_step_name: None,
            attempts: 0,
            records: 0,
            last_error: None,
            fingerprint: saga.fingerprint,
            lease: Lease::begun(worker, until),
            created_at: now,
            updated_at: now,
        }
    }

    /// Appends `record` to the summary under `claim`: fenced
    /// ([`Lease::fence`]), applied ([`apply`](Self::apply)), and the lease renewed to
    /// `until` or, for a [`Record::Finished`], ended. What every store does in the
    /// transaction that inserts the record.
    ///
    /// # Errors
    ///
    /// [`JournalError::LeaseLost`] if `claim` is stale; nothing changes then.
    pub fn append(
        &mut self,
        claim: Claim,
        record: &Record,
        until: Millis,
    ) -> Result<(), JournalError> {
        self.lease.fence(claim)?;
        self.apply(record);
        if self.status.is_finished() {
            self.lease.finish();
        } else {
            self.lease.wrote(until);
        }
        Ok(())
    }

    /// Whether a worker may claim the saga at `now`: it is running and its lease allows
    /// it ([`Lease::claimable`]).
    #[must_use]
    pub fn claimable(&self, now: Millis) -> bool {
        self.status == Status::Running && self.lease.claimable(now)
    }

    /// Sets the status by an operator's hand: a saga set running again is claimable at
    /// once, its count of resumptions back to 0; a finished one has no lease.
    pub fn set_status(&mut self, status: Status) {
        self.status = status;
        if status == Status::Running {
            self.lease.give_back(None);
            self.lease.resumptions = 0;
        } else {
            self.lease.finish();
        }
    }

    /// Updates the summary for `record`, appended to the saga's journal: what every
    /// store does in the same transaction as the append.
    pub fn apply(&mut self, record: &Record) {
        let row = self;
        row.records += 1;
        if let Some(index) = record.index() {
            if row.current_step != Some(index) {
                // Named again by the step's next start; a compensation's records carry
                // no name.
                row.current_step_name = None;
            }
            row.current_step = Some(index);
        }
        match record {
            Record::StepStarted { name, .. } => {
                row.current_step_name = Some(name.clone());
                row.attempts = 0;
            }
            Record::CompensationStarted { .. } => row.attempts = 0,
            Record::StepSucceeded { attempts, .. } => row.attempts = *attempts,
            Record::CompensationSucceeded { .. } => row.attempts = row.attempts.max(1),
            Record::StepFailed { errors, .. } | Record::CompensationFailed { errors, .. } => {
                // One error per attempt.
                row.attempts = serde_json::from_str::<Vec<serde_json::Value>>(errors)
                    .map_or(0, |e| u32::try_from(e.len()).unwrap_or(u32::MAX));
                row.last_error = Some(errors.clone());
            }
            Record::Finished { status } => row.status = *status,
            Record::Reopened { .. } => {
                row.status = Status::Running;
                row.lease.resumptions = 0;
            }
            Record::Resolved { .. } => row.status = Status::Resolved,
            Record::Abandoned { .. } => row.status = Status::Abandoned,
        }
    }
}
