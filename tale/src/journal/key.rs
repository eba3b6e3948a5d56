//! Idempotency keys: a stable name for each step and compensation of each saga
//! instance, for the services they call.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::{Claim, SagaId};

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

/// What a durable step runs under: its key, and the epoch of its saga's claim.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Current {
    pub(crate) key: IdempotencyKey,
    pub(crate) epoch: u64,
}

thread_local! {
    static CURRENT: Cell<Option<Current>> = const { Cell::new(None) };
}

/// The idempotency key of the durable step or compensation running now, or `None`
/// outside one. Call it from inside a step (sync or `async`) or a compensation, and pass
/// it to the service.
///
/// In an async step it answers across every `.await`, and inside each `join!` branch
/// with that branch's own key, on whatever worker thread polls the step: the key is set
/// for each poll of the step's own future and taken away after it, so it never leaks
/// into another task. It is not inherited by a task the step spawns (read it first and
/// move it in).
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
    CURRENT.get().map(|c| c.key)
}

/// The claim the durable step or compensation running now is made under, or `None`
/// outside one: its saga and the epoch of the worker that runs it, a *fencing token*
/// for the services it calls. Read it where [`idempotency_key`] is read.
///
/// tale refuses every journal write of a worker whose saga another worker took over,
/// but it cannot stop a call already on its way to a service: a worker paused in the
/// middle of a step (a long GC, `SIGSTOP`, a partition) may wake up and finish its
/// call after the saga's new owner made its own. A service that must never see two
/// owners of one saga at once keeps the highest epoch it has seen per saga and refuses
/// a call with a lower one; the step fails, and its stale worker, whose next write is
/// refused, stops the saga there.
///
/// # Examples
///
/// ```
/// fn charge(amount: u32) -> Result<(), String> {
///     if let Some(token) = tale::journal::fencing_token() {
///         // bank.charge(amount, token.saga, token.epoch): the bank refuses an epoch
///         // lower than one it has seen for this saga.
///         # let _ = (amount, token);
///     }
///     Ok(())
/// }
/// # charge(1).unwrap();
/// ```
#[must_use]
pub fn fencing_token() -> Option<Claim> {
    CURRENT.get().map(|c| Claim {
        saga: c.key.saga,
        epoch: c.epoch,
    })
}

/// Runs `f` with `current` as the running step's key and claim.
pub(crate) fn with_key<T>(current: Current, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Current>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.set(self.0);
        }
    }
    let _restore = Restore(CURRENT.replace(Some(current)));
    f()
}

pin_project! {
    /// A future polled with `key` as the current idempotency key: the async form of
    /// [`with_key`].
    pub(crate) struct WithKey<F> {
        current: Current,
        #[pin]
        future: F,
    }
}

impl<F> WithKey<F> {
    pub(crate) fn new(current: Current, future: F) -> Self {
        Self { current, future }
    }
}

impl<F: Future> Future for WithKey<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let future = this.future;
        with_key(*this.current, || future.poll(cx))
    }
}
