//! Idempotency keys: a stable name for each step and compensation of each saga
//! instance, for the services they call.

use std::cell::Cell;
use std::fmt;

use super::SagaId;

/// Which half of a step a key names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The step's `execute`.
    Execute,
    /// The step's compensation.
    Compensate,
}

/// The idempotency key of the step (or compensation) running now: the saga instance,
/// the step's position and the phase. The same in every attempt and every replay, so a
/// service that deduplicates on it applies each effect once, however often a crash
/// makes tale repeat the call.
///
/// Its text form is `saga-{id}/step-{index}/{execute|compensate}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    /// The saga instance.
    pub saga: SagaId,
    /// The step's position.
    pub index: u32,
    /// Execute or compensate.
    pub phase: Phase,
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            Phase::Execute => "execute",
            Phase::Compensate => "compensate",
        };
        write!(f, "saga-{}/step-{}/{phase}", self.saga.0, self.index)
    }
}

thread_local! {
    static CURRENT: Cell<Option<IdempotencyKey>> = const { Cell::new(None) };
}

/// The idempotency key of the durable step or compensation running on this thread, or
/// `None` outside one. Call it from inside a step and pass it to the service.
///
/// # Examples
///
/// ```
/// fn charge(amount: u32) -> Result<(), String> {
///     let key = tale::journal::idempotency_key().map(|k| k.to_string());
///     // bank.charge(amount, key.as_deref())
///     # let _ = (amount, key);
///     Ok(())
/// }
/// # charge(1).unwrap();
/// ```
#[must_use]
pub fn idempotency_key() -> Option<IdempotencyKey> {
    CURRENT.get()
}

/// Runs `f` with `key` as the current idempotency key.
pub(crate) fn with_key<T>(key: IdempotencyKey, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<IdempotencyKey>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.set(self.0);
        }
    }
    let _restore = Restore(CURRENT.replace(Some(key)));
    f()
}
