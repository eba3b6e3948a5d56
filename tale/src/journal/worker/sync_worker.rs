//! [`Worker`]: claims and resumes sync durable sagas on the calling thread, with a
//! heartbeat on a thread of its own.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::{After, WorkerOptions, WorkerStats, after, lost, parked, report};
use crate::journal::{Claimed, JournalError, Recovered, Recoverer, Status, Store};
use crate::timeout::CancelHandle;

/// The longest a worker sleeps before looking at its shutdown handle again.
const GLANCE: Duration = Duration::from_millis(10);

/// A worker for sync durable sagas: run it beside your service, in every process that
/// shares the journal, and every saga a crashed or stopped process left behind is
/// finished by one of them, never by two at once.
///
/// It claims the running sagas whose lease ended ([`Store::claim`]), resumes each with
/// the version of its saga registered in the [`Recoverer`] that matches its journal,
/// renews the leases its store handle holds by a heartbeat (on a thread of its own, so
/// that a long step does not lose its lease), backs off a saga whose resumption failed
/// and parks one that keeps failing ([`WorkerOptions`]). [`run`](Self::run) returns
/// once its shutdown handle is cancelled: the store handle then drains
/// ([`Leases::drain`](crate::journal::Leases::drain)), so the saga it was running stops
/// before its next action and is given back for another worker to take over at once.
///
/// Use a [`Recoverer`] alone (`recover` at start-up) when one process owns the
/// journal; use workers when several processes share it, or to keep recovering while
/// the service runs.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tale::CancelHandle;
/// use tale::journal::{DurableError, DurableRun, Interrupted, MemoryStore, Origin, Recoverer, Store, Worker, WorkerOptions};
/// use tale::step::from_fn;
/// use tale::Executor;
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize)]
/// struct Error(String);
/// impl From<Interrupted> for Error {
///     fn from(i: Interrupted) -> Self { Error(i.to_string()) }
/// }
///
/// fn greet(store: &dyn Store, origin: Origin, name: &String, _env: &()) -> Result<(), DurableError<Error>> {
///     let mut executor = Executor::new();
///     let mut run = DurableRun::start(&mut executor, store, "greet", name, origin)
///         .map_err(DurableError::Journal)?;
///     let result = run.step(0, &mut from_fn(|| Ok::<_, Error>(())));
///     run.finish(result)
/// }
///
/// let store = MemoryStore::new();
/// let mut recoverer = Recoverer::new(&store);
/// recoverer.register("greet", greet);
/// let worker = Worker::new(&recoverer)
///     .options(WorkerOptions::new().poll_interval(Duration::from_millis(5)));
///
/// // In a service: `thread::scope(|s| s.spawn(|| worker.run(&(), &shutdown)))`, and
/// // `shutdown.cancel()` when the process is asked to stop. Here, one round:
/// assert!(worker.tick(&()).is_empty(), "nothing was left behind");
///
/// let shutdown = CancelHandle::new();
/// shutdown.cancel();
/// let stats = worker.run(&(), &shutdown);
/// assert_eq!(stats.claimed, 0);
/// ```
pub struct Worker<'r, 's, Env: ?Sized> {
    recoverer: &'r Recoverer<'s, Env>,
    options: WorkerOptions,
    on_resumed: Option<OnResumed<'r>>,
}

/// What a worker calls with each saga it resumed.
type OnResumed<'r> = Box<dyn Fn(&Recovered) + Send + Sync + 'r>;

impl<'r, 's, Env: ?Sized> Worker<'r, 's, Env> {
    /// A worker resuming the sagas registered in `recoverer`, on its store, with the
    /// default [`WorkerOptions`].
    pub fn new(recoverer: &'r Recoverer<'s, Env>) -> Self {
        Self {
            recoverer,
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

    /// One round: claims up to a batch of sagas and resumes each in turn (or parks it),
    /// and says what became of each.
    pub fn tick(&self, env: &Env) -> Vec<Recovered> {
        let mut stats = WorkerStats::default();
        self.round(env, &mut stats, None)
    }

    /// Claims and resumes sagas until `shutdown` is cancelled, then drains the store
    /// handle and returns what it did. The heartbeat runs on a scoped thread meanwhile.
    pub fn run(&self, env: &Env, shutdown: &CancelHandle) -> WorkerStats {
        let store = self.recoverer.store();
        let stopped = AtomicBool::new(false);
        let mut stats = WorkerStats::default();
        let options = self.options;
        let store_errors = thread::scope(|scope| {
            let beating = scope.spawn(|| heartbeat(store, &options, shutdown, &stopped));
            while !shutdown.is_cancelled() {
                let resumed = self.round(env, &mut stats, Some(shutdown)).len();
                if resumed < self.options.batch_size() {
                    wait(self.options.poll_interval_length(), shutdown);
                }
            }
            store.leases().drain();
            stopped.store(true, Ordering::SeqCst);
            beating.join().unwrap_or_default()
        });
        stats.store_errors += store_errors;
        stats
    }

    /// Claims a batch and resumes it; stops early (giving the rest back) once
    /// `shutdown` is cancelled.
    fn round(
        &self,
        env: &Env,
        stats: &mut WorkerStats,
        shutdown: Option<&CancelHandle>,
    ) -> Vec<Recovered> {
        let store = self.recoverer.store();
        let claimed = match store.claim(self.options.batch_size()) {
            Ok(claimed) => claimed,
            Err(_) => {
                stats.store_errors += 1;
                return Vec::new();
            }
        };
        stats.claimed += claimed.len() as u64;
        let mut reports = Vec::with_capacity(claimed.len());
        for claimed in claimed {
            if shutdown.is_some_and(CancelHandle::is_cancelled) {
                // Best effort: if it fails, the lease ends on its own.
                let _ = store.release(claimed.claim, None);
                stats.given_back += 1;
                continue;
            }
            let recovered = self.resume(env, &claimed, stats);
            if let Some(f) = &self.on_resumed {
                f(&recovered);
            }
            reports.push(recovered);
        }
        reports
    }

    /// Resumes (or parks) one claimed saga, and gives it back if that failed.
    fn resume(&self, env: &Env, claimed: &Claimed, stats: &mut WorkerStats) -> Recovered {
        let store = self.recoverer.store();
        if self.options.parks(claimed.row.lease.resumptions) {
            stats.parked += 1;
            let written = store.set_status(claimed.row.id, Status::Parked);
            store.leases().let_go(claimed.claim);
            return parked(claimed, written);
        }
        let result = catch_unwind(AssertUnwindSafe(|| {
            self.recoverer.resume_claimed(claimed, env)
        }))
        .unwrap_or_else(|payload| {
            Err(JournalError::Panicked {
                saga: claimed.row.id,
                message: crate::journal::recover_async::panic_message(&*payload),
            })
        });
        let next = after(&self.options, claimed, &result, store.leases().now());
        if let After::Retry(at) = next {
            // Lost in the meantime, or the database failed: the lease ends on its own.
            let _ = store.release(claimed.claim, Some(at));
        }
        stats.add(next);
        report(claimed, result)
    }
}

/// Renews what the store handle holds every period until the worker stops, draining
/// the handle as soon as `shutdown` is cancelled; returns how many renewals failed for
/// another reason than a lost lease.
fn heartbeat(
    store: &(dyn Store + Sync),
    options: &WorkerOptions,
    shutdown: &CancelHandle,
    stopped: &AtomicBool,
) -> u64 {
    let leases = store.leases();
    let period = options.heartbeat_period(leases);
    let mut errors = 0;
    let mut next = Instant::now() + period;
    while !stopped.load(Ordering::SeqCst) {
        if shutdown.is_cancelled() && !leases.is_draining() {
            leases.drain();
        }
        if Instant::now() >= next {
            let renewed: Vec<_> = leases
                .held()
                .into_iter()
                .map(|claim| (claim, store.renew(claim)))
                .collect();
            errors += renewed
                .iter()
                .filter(
                    |(_, r)| matches!(r, Err(e) if !matches!(e, JournalError::LeaseLost { .. })),
                )
                .count() as u64;
            for claim in lost(renewed) {
                leases.let_go(claim);
            }
            next = Instant::now() + period;
        }
        thread::sleep(GLANCE.min(period));
    }
    errors
}

/// Sleeps for `duration`, or until `shutdown` is cancelled.
fn wait(duration: Duration, shutdown: &CancelHandle) {
    let end = Instant::now() + duration;
    while !shutdown.is_cancelled() {
        let now = Instant::now();
        if now >= end {
            return;
        }
        thread::sleep((end - now).min(GLANCE));
    }
}
