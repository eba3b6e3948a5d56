//! What an operator does to a saga by hand: [`Action`]s (resolve, reopen, abandon),
//! each journaled as a record that says who did it and why, and allowed only from the
//! statuses where it makes sense. The `tale` command-line tool and the [`Recoverer`]'s
//! `retry_stuck` and `mark_resolved` act through these.
//!
//! [`Recoverer`]: super::Recoverer

use std::fmt;

use super::{AsyncStore, JournalError, Record, SagaId, SagaRow, Status, Store};

/// An operator's action on one saga.
///
/// | action | allowed when the saga is | then it is | journaled as |
/// |---|---|---|---|
/// | [`Resolve`](Action::Resolve) | stuck or parked | resolved: nothing runs it again | [`Record::Resolved`] |
/// | [`Reopen`](Action::Reopen) | stuck or parked | running: the next worker or recovery claims it, trying its failed compensations again | [`Record::Reopened`] |
/// | [`Abandon`](Action::Abandon) | running or parked | abandoned: neither run on nor compensated; a worker running it is fenced off | [`Record::Abandoned`] |
///
/// Each action takes the saga over first (its epoch grows), so that a worker still
/// writing under the old epoch is refused from then on, and two operators acting at
/// once cannot both write.
///
/// # Examples
///
/// ```
/// use tale::journal::{Action, JournalError, MemoryStore, NewSaga, Record, Status, Store};
///
/// let store = MemoryStore::new();
/// let claim = store.begin(&NewSaga::new("trip", "{}"))?;
/// store.append(claim, &Record::Finished { status: Status::Stuck })?;
///
/// let row = Action::Resolve.apply(&store, claim.saga, "ana", "refunded by hand")?;
/// assert_eq!(row.status, Status::Resolved);
///
/// // A resolved saga cannot be abandoned.
/// let refused = Action::Abandon.apply(&store, claim.saga, "ana", "").unwrap_err();
/// assert!(matches!(refused, JournalError::NotAllowed { .. }));
/// # Ok::<(), JournalError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Mark a stuck or parked saga resolved: someone dealt by hand with what its
    /// compensations could not undo.
    Resolve,
    /// Run a stuck or parked saga again: its failed compensations are tried again (a
    /// parked saga resumes where it stopped).
    Reopen,
    /// Stop a running or parked saga for good, without compensating it.
    Abandon,
}

impl Action {
    /// The action's name, as a verb: `resolve`, `reopen`, `abandon`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Resolve => "resolve",
            Action::Reopen => "reopen",
            Action::Abandon => "abandon",
        }
    }

    /// The statuses the action is allowed from.
    #[must_use]
    pub const fn allowed_from(self) -> &'static [Status] {
        match self {
            Action::Resolve | Action::Reopen => &[Status::Stuck, Status::Parked],
            Action::Abandon => &[Status::Running, Status::Parked],
        }
    }

    /// The record that journals the action.
    #[must_use]
    pub fn record(self, by: &str, note: &str) -> Record {
        let (by, note) = (by.to_owned(), note.to_owned());
        match self {
            Action::Resolve => Record::Resolved { by, note },
            Action::Reopen => Record::Reopened { by, note },
            Action::Abandon => Record::Abandoned { by, note },
        }
    }

    /// Whether the saga `row` allows the action.
    ///
    /// # Errors
    ///
    /// [`JournalError::NotAllowed`] if its status is not one of
    /// [`allowed_from`](Self::allowed_from).
    pub fn check(self, row: &SagaRow) -> Result<(), JournalError> {
        if self.allowed_from().contains(&row.status) {
            Ok(())
        } else {
            Err(JournalError::NotAllowed {
                saga: row.id,
                action: self,
                status: row.status,
            })
        }
    }

    /// Does the action on the saga `saga` of `store`, journaled as done by `by` for
    /// the reason `note`, and returns the saga's summary afterwards.
    ///
    /// # Errors
    ///
    /// [`JournalError::UnknownSaga`], [`JournalError::NotAllowed`] if the saga's
    /// status does not allow the action (checked again once the saga is taken over),
    /// or the store's failure.
    pub fn apply(
        self,
        store: &dyn Store,
        saga: SagaId,
        by: &str,
        note: &str,
    ) -> Result<SagaRow, JournalError> {
        self.check(&store.saga(saga)?)?;
        let claim = store.take_over(saga)?;
        let done = store
            .saga(saga)
            .and_then(|row| self.check(&row))
            .and_then(|()| store.append(claim, &self.record(by, note)));
        self.settle(done, store.release(claim, None))?;
        store.saga(saga)
    }

    /// [`apply`](Self::apply), on an [`AsyncStore`] (any store: the `tale` tool's way).
    ///
    /// # Errors
    ///
    /// As [`apply`](Self::apply).
    pub async fn apply_async(
        self,
        store: &dyn AsyncStore,
        saga: SagaId,
        by: &str,
        note: &str,
    ) -> Result<SagaRow, JournalError> {
        self.check(&store.saga(saga).await?)?;
        let claim = store.take_over(saga).await?;
        let done = match store.saga(saga).await.and_then(|row| self.check(&row)) {
            Ok(()) => store.append(claim, &self.record(by, note)).await,
            Err(refused) => Err(refused),
        };
        self.settle(done, store.release(claim, None).await)?;
        store.saga(saga).await
    }

    /// What an action's write and the release of its claim add up to: a reopened saga
    /// must be given back to be claimed at once; a resolved or abandoned one has no
    /// lease left to give back, so a failure to say so again is no failure.
    fn settle(
        self,
        done: Result<(), JournalError>,
        released: Result<(), JournalError>,
    ) -> Result<(), JournalError> {
        done?;
        if self == Action::Reopen {
            released?;
        }
        Ok(())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
