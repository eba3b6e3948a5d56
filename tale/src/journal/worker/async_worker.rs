//! [`AsyncWorker`]: claims and resumes async durable sagas, several at once, with its
//! heartbeat in the same task; it needs no runtime of its own (timers come from an
//! [`AsyncSleep`] clock).

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::pin::pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{After, WorkerOptions, WorkerStats, after, lost, parked, report};
use crate::clock::AsyncSleep;
use crate::engine::join::join_all;
use crate::journal::{AsyncRecoverer, AsyncStore, Claimed, JournalError, Recovered, Status};
use crate::timeout::CancelHandle;

/// A worker for async durable sagas: run it beside your service (`tokio::spawn` it),
/// in every process that shares the journal, and every saga a crashed or stopped
/// process left behind is finished by one of them, never by two at once.
///
/// It claims the running sagas whose lease ended ([`AsyncStore::claim`]) and resumes
/// them concurrently (at most [`WorkerOptions::batch`] at once) with the version
/// registered in the [`AsyncRecoverer`] that matches each journal; renews the leases
/// its store handle holds by a heartbeat polled beside them, so that a long step does
/// not lose its lease; backs off a saga whose resumption failed and parks one that
/// keeps failing. [`run`](Self::run) returns once its shutdown handle is cancelled and
/// the sagas it ran have stopped: the store handle drains
/// ([`Leases::drain`](crate::journal::Leases::drain)), so each stops before its next
/// action and is given back for another worker to take over at once.
///
/// A resumption that panics is reported as [`JournalError::Panicked`] and backed off;
/// the others run on.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tale::journal::{AsyncRecoverer, AsyncStore, AsyncWorker, DurableAsyncRun, DurableError, Interrupted, MemoryStore, Origin, WorkerOptions};
/// use tale::step::from_fn;
/// use tale::{CancelHandle, Executor, Limits, SystemClock};
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize)]
/// struct Error(String);
/// impl From<Interrupted> for Error {
///     fn from(i: Interrupted) -> Self { Error(i.to_string()) }
/// }
///
/// async fn greet(store: &dyn AsyncStore, origin: Origin, name: &String, _env: &()) -> Result<(), DurableError<Error>> {
///     let mut executor = Executor::new();
///     let run = DurableAsyncRun::start(&mut executor, store, "greet", name, origin, None, Limits::new())
///         .await
///         .map_err(DurableError::Journal)?;
///     let result = run.step(0, &mut from_fn(|| Ok::<_, Error>(()))).await;
///     run.finish(result).await
/// }
///
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let waker = std::task::Waker::noop();
/// #     let mut cx = std::task::Context::from_waker(waker);
/// #     loop { if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } std::thread::yield_now() }
/// # }
/// let store = MemoryStore::new();
/// let mut recoverer = AsyncRecoverer::new(&store);
/// recoverer.register("greet", greet);
/// // On tokio, pass `TokioClock::new()` (feature `tokio`) and `tokio::spawn` the run.
/// let worker = AsyncWorker::new(&recoverer, SystemClock)
///     .options(WorkerOptions::new().poll_interval(Duration::from_millis(5)));
/// assert!(block_on(worker.tick(&())).is_empty(), "nothing was left behind");
///
/// let shutdown = CancelHandle::new();
/// shutdown.cancel();
/// let stats = block_on(worker.run(&(), &shutdown));
/// assert_eq!(stats.claimed, 0);
/// ```
pub struct AsyncWorker<'r, 's, Env: ?Sized, C> {
    recoverer: &'r AsyncRecoverer<'s, Env>,
    clock: C,
    options: WorkerOptions,
    on_resumed: Option<OnResumed<'r>>,
}

/// What a worker calls with each saga it resumed.
type OnResumed<'r> = Box<dyn Fn(&Recovered) + Send + Sync + 'r>;

/// What wakes the worker up.
enum Wake {
    Shutdown,
    Ended,
    Heartbeat,
    Claim,
}

/// Polls every running future, moving those that ended to `ended`; true if one did.
fn poll_all<F: Future + ?Sized>(
    running: &mut Vec<Pin<Box<F>>>,
    ended: &mut Vec<F::Output>,
    cx: &mut Context<'_>,
) -> bool {
    let before = ended.len();
    let mut i = 0;
    while i < running.len() {
        match running[i].as_mut().poll(cx) {
            Poll::Ready(output) => {
                ended.push(output);
                drop(running.swap_remove(i));
            }
            Poll::Pending => i += 1,
        }
    }
    ended.len() > before
}

/// Awaits `future` while the running resumptions are polled beside it. The worker's own
/// store calls must never leave a resumption unpolled: on a store whose calls wait on
/// the network, a resumption may hold a row lock in an open transaction, and a
/// heartbeat renewing the same saga would wait for it forever.
async fn beside<F: Future + ?Sized, T: Future>(
    running: &mut Vec<Pin<Box<F>>>,
    ended: &mut Vec<F::Output>,
    future: T,
) -> T::Output {
    let mut future = pin!(future);
    poll_fn(|cx| {
        poll_all(running, ended, cx);
        future.as_mut().poll(cx)
    })
    .await
}

impl<'r, 's, Env: ?Sized + Sync, C: AsyncSleep> AsyncWorker<'r, 's, Env, C> {
    /// A worker resuming the sagas registered in `recoverer`, on its store, with the
    /// default [`WorkerOptions`], its timers from `clock`.
    pub fn new(recoverer: &'r AsyncRecoverer<'s, Env>, clock: C) -> Self {
        Self {
            recoverer,
            clock,
            options: WorkerOptions::new(),
            on_resumed: None,
        }
    }

    /// Claims and resumes as `options` say.
    #[must_use]
    pub fn options(mut self, options: WorkerOptions) -> Self {
        self.options = options;
        self
    }

    /// Calls `f` with what became of each saga the worker claimed (finished, failed
    /// and backed off, parked), for your logs.
    #[must_use]
    pub fn on_resumed(mut self, f: impl Fn(&Recovered) + Send + Sync + 'r) -> Self {
        self.on_resumed = Some(Box::new(f));
        self
    }

    /// One round: claims up to a batch of sagas and resumes them concurrently (or
    /// parks them), and says what became of each.
    pub async fn tick(&self, env: &Env) -> Vec<Recovered> {
        let mut stats = WorkerStats::default();
        let claimed = self.claim(self.options.batch_size(), &mut stats).await;
        let resumptions = claimed.into_iter().map(|claimed| {
            Box::pin(async move {
                match self.park(&claimed).await {
                    Some(parked) => parked,
                    None => {
                        let result = self.recoverer.resume_claimed(&claimed, env).await;
                        self.settle(&claimed, result, &mut WorkerStats::default())
                            .await
                    }
                }
            })
        });
        join_all(resumptions).await
    }

    /// Claims and resumes sagas until `shutdown` is cancelled, then drains the store
    /// handle, waits for the sagas it runs to stop, and returns what it did.
    pub async fn run(&self, env: &Env, shutdown: &CancelHandle) -> WorkerStats {
        let store = self.recoverer.store();
        let leases = store.leases();
        let batch = self.options.batch_size();
        let mut stats = WorkerStats::default();
        let mut running = Vec::new();
        let mut claim_now = true;
        let mut stopping = false;
        let mut poll_timer = Box::pin(self.clock.sleep_async(Duration::ZERO));
        let mut beat = Box::pin(
            self.clock
                .sleep_async(self.options.heartbeat_period(leases)),
        );
        let mut cancelled = pin!(shutdown.cancelled());
        // Resumptions that ended, to settle.
        let mut ended = Vec::new();
        loop {
            // Settle what ended, keeping the others polled meanwhile.
            while let Some((claimed, result)) = ended.pop() {
                let settle = self.settle(&claimed, result, &mut stats);
                beside(&mut running, &mut ended, settle).await;
            }
            if !stopping && claim_now && running.len() < batch {
                let free = batch - running.len();
                let mut claims = WorkerStats::default();
                let claimed = beside(&mut running, &mut ended, self.claim(free, &mut claims)).await;
                stats.claimed += claims.claimed;
                stats.store_errors += claims.store_errors;
                // A full batch: more may be waiting.
                claim_now = claimed.len() == free;
                if !claim_now {
                    poll_timer =
                        Box::pin(self.clock.sleep_async(self.options.poll_interval_length()));
                }
                for claimed in claimed {
                    let parked = beside(&mut running, &mut ended, self.park(&claimed)).await;
                    if parked.is_some() {
                        stats.parked += 1;
                    } else {
                        running.push(Box::pin(self.resumption(claimed, env)));
                    }
                }
                continue;
            }
            if stopping && running.is_empty() && ended.is_empty() {
                break;
            }
            let wake = poll_fn(|cx| {
                if !stopping && cancelled.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Shutdown);
                }
                if poll_all(&mut running, &mut ended, cx) {
                    return Poll::Ready(Wake::Ended);
                }
                if beat.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Heartbeat);
                }
                if !stopping && !claim_now && poll_timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Claim);
                }
                Poll::Pending
            })
            .await;
            match wake {
                Wake::Shutdown => {
                    stopping = true;
                    leases.drain();
                }
                Wake::Ended => {}
                Wake::Heartbeat => {
                    stats.store_errors += beside(&mut running, &mut ended, self.heartbeat()).await;
                    beat = Box::pin(
                        self.clock
                            .sleep_async(self.options.heartbeat_period(leases)),
                    );
                }
                Wake::Claim => claim_now = true,
            }
        }
        stats
    }

    /// Claims up to `n` sagas.
    async fn claim(&self, n: usize, stats: &mut WorkerStats) -> Vec<Claimed> {
        match self.recoverer.store().claim(n).await {
            Ok(claimed) => {
                stats.claimed += claimed.len() as u64;
                claimed
            }
            Err(_) => {
                stats.store_errors += 1;
                Vec::new()
            }
        }
    }

    /// Parks `claimed` if it was resumed too often without progress, and says so.
    async fn park(&self, claimed: &Claimed) -> Option<Recovered> {
        if !self.options.parks(claimed.row.lease.resumptions) {
            return None;
        }
        let store = self.recoverer.store();
        let written = store.set_status(claimed.row.id, Status::Parked).await;
        store.leases().let_go(claimed.claim);
        let recovered = parked(claimed, written);
        if let Some(f) = &self.on_resumed {
            f(&recovered);
        }
        Some(recovered)
    }

    /// Resumes `claimed`, handing it back with its result.
    async fn resumption(
        &self,
        claimed: Claimed,
        env: &Env,
    ) -> (Claimed, Result<Status, JournalError>) {
        let result = self.recoverer.resume_claimed(&claimed, env).await;
        (claimed, result)
    }

    /// What follows a resumption: gives the saga back with a back-off if it failed.
    async fn settle(
        &self,
        claimed: &Claimed,
        result: Result<Status, JournalError>,
        stats: &mut WorkerStats,
    ) -> Recovered {
        let store = self.recoverer.store();
        let next = after(&self.options, claimed, &result, store.leases().now());
        if let After::Retry(at) = next {
            // Lost in the meantime, or the database failed: the lease ends on its own.
            let _ = store.release(claimed.claim, Some(at)).await;
        }
        stats.add(next);
        let recovered = report(claimed, result);
        if let Some(f) = &self.on_resumed {
            f(&recovered);
        }
        recovered
    }

    /// Renews what the store handle holds; returns how many renewals failed for another
    /// reason than a lost lease.
    async fn heartbeat(&self) -> u64 {
        let store: &dyn AsyncStore = self.recoverer.store();
        let mut renewed = Vec::new();
        for claim in store.leases().held() {
            renewed.push((claim, store.renew(claim).await));
        }
        let errors = renewed
            .iter()
            .filter(|(_, r)| matches!(r, Err(e) if !matches!(e, JournalError::LeaseLost { .. })))
            .count() as u64;
        for claim in lost(renewed) {
            store.leases().let_go(claim);
        }
        errors
    }
}
