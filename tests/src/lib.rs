//! Shared fixtures of the test suite in `tests/`, and [`crash`], the harness of the
//! crash suites.

pub mod crash;
pub mod pg;
pub mod temp;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tale::Event;
use tale::observe::{FnObserver, observe_fn};

/// A shared, ordered record of what steps and compensations did. It is `Send + Sync`,
/// so steps that borrow it have `Send` futures and sagas of them can be spawned.
#[derive(Clone, Debug, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// An empty log.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a line.
    pub fn push(&self, line: impl Into<String>) {
        self.lock().push(line.into());
    }

    /// Every line so far.
    #[must_use]
    pub fn lines(&self) -> Vec<String> {
        self.lock().clone()
    }

    /// The lines, whatever a panicking test left behind.
    fn lock(&self) -> MutexGuard<'_, Vec<String>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// An observer that appends every event's `Display` form.
    pub fn observer<E: std::fmt::Display>(&self) -> FnObserver<impl FnMut(&Event<'_, E>)> {
        let log = self.clone();
        observe_fn(move |event: &Event<'_, E>| log.push(event.to_string()))
    }
}

/// The message of a panic payload.
#[must_use]
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

use tale::journal::{
    Claim, Claimed, JournalError, Leases, Millis, NewSaga, Record, SagaId, SagaRow, Status,
};

/// A journal store that fails every append after the first `budget` ones: a durable run
/// halts there, as a crash would stop it, and the journal holds what it held then.
pub struct Crashing<'s> {
    inner: &'s tale::journal::MemoryStore,
    budget: std::sync::atomic::AtomicUsize,
}

impl<'s> Crashing<'s> {
    /// Accepts `budget` appends to `inner`, then fails every one.
    #[must_use]
    pub fn new(inner: &'s tale::journal::MemoryStore, budget: usize) -> Self {
        Self {
            inner,
            budget: std::sync::atomic::AtomicUsize::new(budget),
        }
    }
}

impl tale::journal::Store for Crashing<'_> {
    fn leases(&self) -> &Leases {
        self.inner.leases()
    }
    fn begin(&self, saga: &NewSaga<'_>) -> Result<Claim, JournalError> {
        self.inner.begin(saga)
    }
    fn append(&self, claim: Claim, record: &Record) -> Result<(), JournalError> {
        use std::sync::atomic::Ordering;
        if self.budget.fetch_sub(1, Ordering::SeqCst) == 0 {
            self.budget.store(0, Ordering::SeqCst);
            return Err(JournalError::Database("disk gone".into()));
        }
        self.inner.append(claim, record)
    }
    fn records(&self, saga: SagaId) -> Result<Vec<Record>, JournalError> {
        self.inner.records(saga)
    }
    fn history(&self, saga: SagaId) -> Result<Vec<tale::journal::Entry>, JournalError> {
        self.inner.history(saga)
    }
    fn saga(&self, saga: SagaId) -> Result<SagaRow, JournalError> {
        self.inner.saga(saga)
    }
    fn sagas(&self, statuses: &[Status]) -> Result<Vec<SagaRow>, JournalError> {
        self.inner.sagas(statuses)
    }
    fn set_status(&self, saga: SagaId, status: Status) -> Result<(), JournalError> {
        self.inner.set_status(saga, status)
    }
    fn claim(&self, limit: usize) -> Result<Vec<Claimed>, JournalError> {
        self.inner.claim(limit)
    }
    fn take_over(&self, saga: SagaId) -> Result<Claim, JournalError> {
        self.inner.take_over(saga)
    }
    fn renew(&self, claim: Claim) -> Result<(), JournalError> {
        self.inner.renew(claim)
    }
    fn release(&self, claim: Claim, retry_at: Option<Millis>) -> Result<(), JournalError> {
        self.inner.release(claim, retry_at)
    }
}
