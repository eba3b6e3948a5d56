//! Time limits and cancellation for async sagas: per-attempt timeouts, saga deadlines
//! and a cancellation handle.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// The error of an attempt that ran out of time: its own timeout or the saga's deadline.
///
/// A step's error type opts in to timeouts with `impl From<TimedOut> for MyError`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimedOut {
    /// The limit that was hit.
    pub after: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {:?}", self.after)
    }
}

impl std::error::Error for TimedOut {}

/// The error of a step stopped by a [`CancelHandle`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("saga cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// A time limit whose expiry becomes an error of type `E`.
pub struct Timeout<E> {
    pub(crate) after: Duration,
    pub(crate) error: fn(TimedOut) -> E,
}

impl<E> Clone for Timeout<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Timeout<E> {}

impl<E> fmt::Debug for Timeout<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("after", &self.after)
            .finish_non_exhaustive()
    }
}

impl<E: From<TimedOut>> Timeout<E> {
    /// A limit of `after`.
    #[must_use]
    pub fn after(after: Duration) -> Self {
        Self {
            after,
            error: E::from,
        }
    }
}

impl<E> Timeout<E> {
    /// The limit.
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.after
    }
}

/// Stops a running async saga from another task or thread: the step in flight is
/// dropped and fails with [`Cancelled`], no later step starts, and the completed steps
/// are compensated. Clones share the same signal.
///
/// # Examples
///
/// ```
/// use tale::CancelHandle;
///
/// let handle = CancelHandle::new();
/// let for_the_saga = handle.clone();
/// handle.cancel();
/// assert!(for_the_saga.is_cancelled());
/// ```
#[derive(Clone, Debug, Default)]
pub struct CancelHandle {
    state: Arc<Mutex<CancelState>>,
}

#[derive(Debug, Default)]
struct CancelState {
    cancelled: bool,
    wakers: Vec<Waker>,
}

impl CancelHandle {
    /// A handle that has not been cancelled.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancels every saga that holds a clone of this handle.
    pub fn cancel(&self) {
        let wakers = {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            state.cancelled = true;
            std::mem::take(&mut state.wakers)
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// True once [`cancel`](Self::cancel) was called.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .cancelled
    }

    /// Completes when the handle is cancelled.
    pub(crate) fn cancelled(&self) -> impl Future<Output = ()> + '_ {
        WaitCancel(self)
    }
}

struct WaitCancel<'a>(&'a CancelHandle);

impl Future for WaitCancel<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.cancelled {
            return Poll::Ready(());
        }
        if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
            state.wakers.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// The limits of one async run: a deadline and a cancel handle, each optional.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tale::{CancelHandle, Cancelled, Limits, TimedOut, Timeout};
///
/// #[derive(Debug)]
/// enum Error { TimedOut(TimedOut), Cancelled }
/// impl From<TimedOut> for Error { fn from(t: TimedOut) -> Self { Error::TimedOut(t) } }
/// impl From<Cancelled> for Error { fn from(_: Cancelled) -> Self { Error::Cancelled } }
///
/// let handle = CancelHandle::new();
/// let limits: Limits<'_, Error> = Limits::new()
///     .deadline(Timeout::after(Duration::from_secs(30)))
///     .cancel_on(&handle);
/// # let _ = limits;
/// ```
pub struct Limits<'h, E> {
    pub(crate) deadline: Option<Timeout<E>>,
    pub(crate) cancel: Option<CancelOn<'h, E>>,
    pub(crate) fail_fast: Option<fn(Cancelled) -> E>,
    pub(crate) compensation_concurrency: usize,
}

/// A cancel handle and the conversion of [`Cancelled`] into the saga's error.
pub(crate) type CancelOn<'h, E> = (&'h CancelHandle, fn(Cancelled) -> E);

impl<E> Default for Limits<'_, E> {
    fn default() -> Self {
        Self {
            deadline: None,
            cancel: None,
            fail_fast: None,
            compensation_concurrency: usize::MAX,
        }
    }
}

impl<E> fmt::Debug for Limits<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limits")
            .field("deadline", &self.deadline)
            .field("cancellable", &self.cancel.is_some())
            .field("fail_fast", &self.fail_fast.is_some())
            .field("compensation_concurrency", &self.compensation_concurrency)
            .finish()
    }
}

impl<'h, E> Limits<'h, E> {
    /// No limits: no deadline, no cancel handle, no fail-fast groups, and no bound on
    /// the compensations running at once.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The whole run must finish within the deadline, counted on the executor's clock
    /// from the start of the run. When it passes, the step in flight is dropped and
    /// fails (as an uncertain one) with the deadline's error, no later step starts,
    /// and the completed steps are compensated (compensations are not cut short).
    #[must_use]
    pub fn deadline(mut self, deadline: Timeout<E>) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// Makes parallel groups fail fast: once a branch fails for good, the branches
    /// still in flight are stopped (their futures dropped) and fail with [`Cancelled`]
    /// converted into `E`; as their outcome is uncertain, their uncertain compensations
    /// run. By default the siblings in flight run to their end.
    #[must_use]
    pub fn fail_fast(mut self) -> Self
    where
        E: From<Cancelled>,
    {
        self.fail_fast = Some(E::from);
        self
    }

    /// Runs at most `n` compensations at a time (at least 1), for services that cannot
    /// take a burst of undo requests: the branches of a parallel group are compensated
    /// concurrently, and so are the uncertain compensations of branches that failed
    /// while their siblings ran. Unbounded by default. In `saga!`, the option
    /// `max_concurrent_compensations = n`.
    #[must_use]
    pub fn max_concurrent_compensations(mut self, n: usize) -> Self {
        self.compensation_concurrency = n.max(1);
        self
    }

    /// Stops the run when `handle` is cancelled, as a deadline does, with
    /// [`Cancelled`] converted into `E`.
    #[must_use]
    pub fn cancel_on(mut self, handle: &'h CancelHandle) -> Self
    where
        E: From<Cancelled>,
    {
        self.cancel = Some((handle, E::from));
        self
    }
}
