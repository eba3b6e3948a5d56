//! Time as the executor sees it: injectable, so tests never wait for real time.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

/// The executor's source of time and its way of waiting between retries.
///
/// The executor reads the clock only when it needs to: for a retry's delay and time
/// budget, or for an observer that records durations. A saga whose steps all succeed
/// and that nobody observes never reads it.
pub trait Clock {
    /// Monotonic time since an arbitrary origin fixed for the clock's lifetime.
    fn now(&self) -> Duration;
    /// Blocks the calling thread for `duration`.
    fn sleep(&self, duration: Duration);
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Duration {
        (**self).now()
    }
    fn sleep(&self, duration: Duration) {
        (**self).sleep(duration);
    }
}

/// Real time: [`Instant`] and [`std::thread::sleep`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed()
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// A clock that only moves when slept on or [advanced](ManualClock::advance), and
/// remembers every sleep. Clones share the same time, so a test keeps one clone and
/// hands another to the executor.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tale::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// clock.sleep(Duration::from_secs(3));
/// assert_eq!(clock.now(), Duration::from_secs(3));
/// assert_eq!(clock.sleeps(), [Duration::from_secs(3)]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    state: Arc<Mutex<ManualState>>,
}

#[derive(Debug, Default)]
struct ManualState {
    now: Duration,
    sleeps: Vec<Duration>,
}

impl ManualClock {
    /// A clock at time zero that has never slept.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves time forward without recording a sleep, as if a step took that long.
    pub fn advance(&self, by: Duration) {
        self.lock().now += by;
    }

    /// Every duration slept so far, in order.
    #[must_use]
    pub fn sleeps(&self) -> Vec<Duration> {
        self.lock().sleeps.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManualState> {
        // The state stays consistent even if a holder panicked: every update is one
        // field assignment or push.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        self.lock().now
    }
    fn sleep(&self, duration: Duration) {
        let mut state = self.lock();
        state.now += duration;
        state.sleeps.push(duration);
    }
}

/// Waiting without blocking, for async sagas.
///
/// [`ManualClock`] completes at once (after moving its time forward). [`SystemClock`]
/// works on any executor by parking a helper thread for the duration, which is fine for
/// the occasional retry delay; with the `tokio` feature, [`TokioClock`](crate::TokioClock)
/// uses tokio's timer instead.
pub trait AsyncSleep: Clock {
    /// Completes after `duration`. The future must not borrow the clock: the executor
    /// awaits it without holding on to the run's state.
    fn sleep_async(
        &self,
        duration: Duration,
    ) -> impl std::future::Future<Output = ()> + 'static + use<Self>;
}

impl<'c, C: AsyncSleep + ?Sized> AsyncSleep for &'c C {
    fn sleep_async(
        &self,
        duration: Duration,
    ) -> impl std::future::Future<Output = ()> + 'static + use<'c, C> {
        (**self).sleep_async(duration)
    }
}

impl AsyncSleep for ManualClock {
    fn sleep_async(
        &self,
        duration: Duration,
    ) -> impl std::future::Future<Output = ()> + 'static + use<> {
        self.sleep(duration);
        std::future::ready(())
    }
}

impl AsyncSleep for SystemClock {
    fn sleep_async(
        &self,
        duration: Duration,
    ) -> impl std::future::Future<Output = ()> + 'static + use<> {
        ThreadSleep {
            duration,
            shared: None,
        }
    }
}

/// A timer future that needs no runtime: a helper thread sleeps, then wakes the task.
struct ThreadSleep {
    duration: Duration,
    shared: Option<Arc<Mutex<(bool, std::task::Waker)>>>,
}

impl std::future::Future for ThreadSleep {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        use std::task::Poll;
        if self.duration.is_zero() {
            return Poll::Ready(());
        }
        match &self.shared {
            Some(shared) => {
                let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
                if state.0 {
                    return Poll::Ready(());
                }
                state.1.clone_from(cx.waker());
                Poll::Pending
            }
            None => {
                let shared = Arc::new(Mutex::new((false, cx.waker().clone())));
                let theirs = Arc::clone(&shared);
                let duration = self.duration;
                std::thread::spawn(move || {
                    std::thread::sleep(duration);
                    let mut state = theirs.lock().unwrap_or_else(PoisonError::into_inner);
                    state.0 = true;
                    state.1.wake_by_ref();
                });
                self.shared = Some(shared);
                Poll::Pending
            }
        }
    }
}

/// Tokio's clock and timer (feature `tokio`): async sleeps use `tokio::time::sleep`, so
/// tests can run sagas on a paused runtime (`#[tokio::test(start_paused = true)]`) and
/// a minute of retries takes no time at all. Sync sleeps block the thread.
#[cfg(feature = "tokio")]
#[derive(Clone, Copy, Debug)]
pub struct TokioClock {
    origin: tokio::time::Instant,
}

#[cfg(feature = "tokio")]
impl TokioClock {
    /// A clock whose origin is now, on tokio's (possibly paused) time.
    #[must_use]
    pub fn new() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

#[cfg(feature = "tokio")]
impl Default for TokioClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(feature = "tokio")]
impl Clock for TokioClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

#[cfg(feature = "tokio")]
impl AsyncSleep for TokioClock {
    fn sleep_async(
        &self,
        duration: Duration,
    ) -> impl std::future::Future<Output = ()> + 'static + use<> {
        tokio::time::sleep(duration)
    }
}
