//! Ownership of running sagas: [`WorkerId`], [`Claim`], [`Lease`] and [`Leases`], and
//! the rules every store applies to them.
//!
//! A running saga has one owner at a time: a worker (a store handle, so a process)
//! that holds a lease on it until a time, under an epoch that grows each time the saga
//! changes hands. Every journal write names the claim it is made under and is refused
//! ([`JournalError::LeaseLost`]) unless its epoch is still the saga's: a worker paused
//! past its lease, whose saga another worker took over, can no longer write, and stops
//! that saga before its next action. Leases only decide when a saga may be taken over
//! (liveness); epochs decide who may write (safety), so no clock needs to be right for
//! two owners never to write at once.
//!
//! The rules live here, on [`Lease`], so that every store applies the same ones in its
//! own transaction: [`fence`](Lease::fence) before a write, [`claimable`](Lease::claimable)
//! and [`take`](Lease::take) to claim, [`renew`](Lease::renew) and
//! [`give_back`](Lease::give_back).

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{JournalError, SagaId};

/// A worker's name: fresh for every store handle opened (so for every process start),
/// never reused: the host, the process id and 64 random bits.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct WorkerId(Arc<str>);

impl WorkerId {
    /// A name no worker had before.
    #[must_use]
    pub fn fresh() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "host".to_owned());
        Self(format!("{host}-{}-{:016x}", std::process::id(), hasher.finish()).into())
    }

    /// The worker of this name (read back from a journal, or chosen by a test).
    #[must_use]
    pub fn named(name: &str) -> Self {
        Self(name.into())
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WorkerId({})", self.0)
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A worker's hold on a saga: the saga and the epoch its writes are fenced by. Also
/// the fencing token a step may pass to the services it calls
/// ([`fencing_token`](super::fencing_token)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Claim {
    /// The saga.
    pub saga: SagaId,
    /// The saga's epoch when the worker took it: 1 for the worker that began it, one
    /// more for every worker that took it over since.
    pub epoch: u64,
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at epoch {}", self.saga, self.epoch)
    }
}

/// Wall-clock milliseconds since the Unix epoch: the time leases are written in, and
/// compared in, by every worker of a journal.
pub type Millis = i64;

/// Who owns a saga, until when, and how often it changed hands: part of its
/// [`SagaRow`](super::SagaRow).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lease {
    /// The worker that owns it (that began it, or last took it over), if any.
    pub owner: Option<String>,
    /// The epoch its owner writes under: 1 when it began, one more at each change of
    /// hands (0 for a saga journaled before owners existed).
    pub epoch: u64,
    /// When the owner's lease ends, or `None` once given back or finished.
    pub until: Option<Millis>,
    /// How many times a worker took it over since its journal last grew: a saga whose
    /// resumption keeps failing (or keeps killing its worker) counts up here.
    pub resumptions: u32,
    /// The earliest time a worker may claim it (a resumption failed and backs off), if
    /// set.
    pub not_before: Option<Millis>,
}

impl Lease {
    /// The lease of a saga `worker` begins now, until `until`.
    #[must_use]
    pub fn begun(worker: &WorkerId, until: Millis) -> Self {
        Self {
            owner: Some(worker.as_str().to_owned()),
            epoch: 1,
            until: Some(until),
            resumptions: 0,
            not_before: None,
        }
    }

    /// Whether `claim` may write the saga: its epoch is still the saga's. What a store
    /// checks in the transaction of every write.
    ///
    /// # Errors
    ///
    /// [`JournalError::LeaseLost`] otherwise.
    pub fn fence(&self, claim: Claim) -> Result<(), JournalError> {
        if self.epoch == claim.epoch {
            Ok(())
        } else {
            Err(JournalError::LeaseLost {
                saga: claim.saga,
                epoch: claim.epoch,
                current: self.epoch,
            })
        }
    }

    /// Whether a worker may claim the saga at `now`: its lease ended (or was given
    /// back) and its back-off time, if any, has come. (The saga must be running too.)
    #[must_use]
    pub fn claimable(&self, now: Millis) -> bool {
        self.until.is_none_or(|until| until <= now) && self.not_before.is_none_or(|at| at <= now)
    }

    /// Hands the saga `saga` to `worker` until `until`, under the next epoch.
    pub fn take(&mut self, saga: SagaId, worker: &WorkerId, until: Millis) -> Claim {
        self.epoch += 1;
        self.resumptions = self.resumptions.saturating_add(1);
        self.owner = Some(worker.as_str().to_owned());
        self.until = Some(until);
        self.not_before = None;
        Claim {
            saga,
            epoch: self.epoch,
        }
    }

    /// Extends the owner's lease to `until` (never shortens it).
    pub fn renew(&mut self, until: Millis) {
        self.until = Some(self.until.map_or(until, |u| u.max(until)));
    }

    /// Records a write by the owner: its lease renewed to `until` and, since the
    /// journal grew, the count of resumptions back to 0.
    pub fn wrote(&mut self, until: Millis) {
        self.renew(until);
        self.resumptions = 0;
    }

    /// Gives the saga back, to be claimed at once or from `retry_at` on.
    pub fn give_back(&mut self, retry_at: Option<Millis>) {
        self.until = None;
        self.not_before = retry_at;
    }

    /// Ends the lease of a saga that finished.
    pub fn finish(&mut self) {
        self.until = None;
        self.not_before = None;
    }
}

/// Where a store handle reads the time from.
type WallClock = Arc<dyn Fn() -> Millis + Send + Sync>;

/// The ownership side of a store handle: who it writes as, how long its leases last,
/// what time it is, the claims it holds (which a heartbeat renews), and whether it is
/// shutting down.
///
/// Every store handle has one ([`Store::leases`](super::Store::leases)); a store
/// opened without one writes as a fresh worker with leases of
/// [`DEFAULT_TTL`](Self::DEFAULT_TTL).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tale::journal::{Leases, MemoryStore, Store};
///
/// let store = MemoryStore::with_leases(Leases::new().ttl(Duration::from_secs(10)));
/// assert_eq!(store.leases().lease_ttl(), Duration::from_secs(10));
/// ```
pub struct Leases {
    worker: WorkerId,
    ttl: Duration,
    clock: WallClock,
    held: Mutex<HashMap<SagaId, u64>>,
    draining: AtomicBool,
}

impl Default for Leases {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Leases {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leases")
            .field("worker", &self.worker)
            .field("ttl", &self.ttl)
            .field("held", &self.held().len())
            .field("draining", &self.is_draining())
            .finish_non_exhaustive()
    }
}

impl Leases {
    /// How long a lease lasts unless renewed, by default.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

    /// A fresh worker, leases of [`DEFAULT_TTL`](Self::DEFAULT_TTL), the system clock.
    #[must_use]
    pub fn new() -> Self {
        Self {
            worker: WorkerId::fresh(),
            ttl: Self::DEFAULT_TTL,
            clock: Arc::new(system_millis),
            held: Mutex::new(HashMap::new()),
            draining: AtomicBool::new(false),
        }
    }

    /// Leases that last `ttl` unless renewed. A worker renews them on every write and
    /// by a heartbeat: pick a `ttl` well above the heartbeat's interval and the longest
    /// pause you expect of a process (a slow disk, a stalled VM), or other workers take
    /// sagas over from a live one (safely: it is fenced, but the work it was doing is
    /// done again).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Writes as `worker` instead of a fresh one.
    #[must_use]
    pub fn worker(mut self, worker: WorkerId) -> Self {
        self.worker = worker;
        self
    }

    /// Reads the time from `clock` (milliseconds since the Unix epoch): for tests of
    /// expiry without waiting. Every handle of one journal must read the same clock.
    #[must_use]
    pub fn clock(mut self, clock: impl Fn() -> Millis + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The worker this handle writes as.
    #[must_use]
    pub fn worker_id(&self) -> &WorkerId {
        &self.worker
    }

    /// How long a lease lasts unless renewed.
    #[must_use]
    pub fn lease_ttl(&self) -> Duration {
        self.ttl
    }

    /// The time now.
    #[must_use]
    pub fn now(&self) -> Millis {
        (self.clock)()
    }

    /// When a lease taken or renewed now ends.
    #[must_use]
    pub fn until(&self) -> Millis {
        self.ends(self.now())
    }

    /// Now, and when a lease taken or renewed now ends, from one reading of the clock
    /// (every write of a record needs both).
    #[must_use]
    pub fn now_and_until(&self) -> (Millis, Millis) {
        let now = self.now();
        (now, self.ends(now))
    }

    /// When a lease taken or renewed at `now` ends.
    fn ends(&self, now: Millis) -> Millis {
        now.saturating_add(i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX))
    }

    /// Notes that this handle holds `claim` (the heartbeat renews it).
    pub fn hold(&self, claim: Claim) {
        self.lock().insert(claim.saga, claim.epoch);
    }

    /// Notes that this handle no longer holds `claim` (a later claim of the same saga
    /// by this handle is kept).
    pub fn let_go(&self, claim: Claim) {
        let mut held = self.lock();
        if held.get(&claim.saga) == Some(&claim.epoch) {
            held.remove(&claim.saga);
        }
    }

    /// Every claim this handle holds, by saga.
    #[must_use]
    pub fn held(&self) -> Vec<Claim> {
        let mut held: Vec<Claim> = self
            .lock()
            .iter()
            .map(|(saga, epoch)| Claim {
                saga: *saga,
                epoch: *epoch,
            })
            .collect();
        held.sort();
        held
    }

    /// Starts shutting down: every durable run on this handle stops before its next
    /// action and gives its saga back, for another worker to take over at once. What a
    /// worker's graceful shutdown does; it cannot be undone.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// True once [`drain`](Self::drain) was called.
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<SagaId, u64>> {
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A durable run's hold on its claim: lets the claim go when the run ends, however it
/// ends (a panic included), so that the heartbeat stops renewing a saga nobody runs.
pub(crate) struct Held<'x> {
    leases: &'x Leases,
    claim: Claim,
}

impl<'x> Held<'x> {
    pub(crate) fn new(leases: &'x Leases, claim: Claim) -> Self {
        Self { leases, claim }
    }

    pub(crate) fn claim(&self) -> Claim {
        self.claim
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.leases.let_go(self.claim);
    }
}

fn system_millis() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicI64;

    use super::*;

    fn at(now: &Arc<AtomicI64>) -> Leases {
        let clock = Arc::clone(now);
        Leases::new()
            .ttl(Duration::from_millis(500))
            .clock(move || clock.load(Ordering::SeqCst))
    }

    #[test]
    fn workers_are_fresh() {
        let (a, b) = (WorkerId::fresh(), WorkerId::fresh());
        assert_ne!(a, b);
        assert!(a.as_str().contains(&std::process::id().to_string()), "{a}");
    }

    #[test]
    fn a_lease_expires_at_its_end_and_a_renewal_counts_from_now() {
        let now = Arc::new(AtomicI64::new(1_000));
        let leases = at(&now);
        let mut lease = Lease::begun(leases.worker_id(), leases.until());
        assert_eq!(lease.until, Some(1_500));
        assert!(!lease.claimable(leases.now()));
        now.store(1_499, Ordering::SeqCst);
        assert!(!lease.claimable(leases.now()));
        now.store(1_500, Ordering::SeqCst);
        assert!(lease.claimable(leases.now()), "a lease ends at its end");
        lease.renew(leases.until());
        assert_eq!(lease.until, Some(2_000), "a renewal counts from now");
        assert!(!lease.claimable(leases.now()));
        lease.renew(1_800);
        assert_eq!(lease.until, Some(2_000), "a renewal never shortens a lease");
    }

    #[test]
    fn a_claim_racing_a_renewal_wins_only_after_the_lease_ended_and_fences_the_old_owner() {
        let now = Arc::new(AtomicI64::new(0));
        let (a, b) = (at(&now), at(&now));
        let saga = SagaId(1);
        let mut lease = Lease::begun(a.worker_id(), a.until());
        let first = Claim { saga, epoch: 1 };
        // b tries before the lease ends: refused; a renews in time.
        now.store(400, Ordering::SeqCst);
        assert!(!lease.claimable(b.now()));
        lease.fence(first).unwrap();
        lease.renew(a.until());
        // a's heartbeat stops: at 900 the lease (renewed at 400) has ended.
        now.store(900, Ordering::SeqCst);
        assert!(lease.claimable(b.now()));
        let second = lease.take(saga, b.worker_id(), b.until());
        assert_eq!(second.epoch, 2);
        assert_eq!(lease.owner.as_deref(), Some(b.worker_id().as_str()));
        // a wakes up: its renewal and its writes are refused, b's are not.
        assert!(matches!(
            lease.fence(first),
            Err(JournalError::LeaseLost {
                epoch: 1,
                current: 2,
                ..
            })
        ));
        lease.fence(second).unwrap();
    }

    #[test]
    fn a_saga_given_back_is_claimable_at_once_or_after_its_back_off() {
        let now = Arc::new(AtomicI64::new(0));
        let leases = at(&now);
        let mut lease = Lease::begun(leases.worker_id(), leases.until());
        lease.give_back(None);
        assert!(lease.claimable(0));
        lease.give_back(Some(300));
        assert!(!lease.claimable(299));
        assert!(lease.claimable(300));
        let claim = lease.take(SagaId(1), leases.worker_id(), leases.until());
        assert_eq!(lease.not_before, None, "a claim clears the back-off");
        assert_eq!(lease.resumptions, 1);
        lease.wrote(leases.until());
        assert_eq!(lease.resumptions, 0, "a write is progress");
        lease.fence(claim).unwrap();
    }

    #[test]
    fn a_heartbeat_lists_what_is_held_and_a_let_go_keeps_a_later_claim() {
        let leases = Leases::new();
        let old = Claim {
            saga: SagaId(2),
            epoch: 3,
        };
        leases.hold(old);
        leases.hold(Claim {
            saga: SagaId(1),
            epoch: 1,
        });
        let newer = Claim {
            saga: SagaId(2),
            epoch: 5,
        };
        leases.hold(newer);
        leases.let_go(old);
        assert_eq!(leases.held().len(), 2, "the newer claim of saga 2 is kept");
        leases.let_go(newer);
        assert_eq!(
            leases.held(),
            [Claim {
                saga: SagaId(1),
                epoch: 1
            }]
        );
        assert!(!leases.is_draining());
        leases.drain();
        assert!(leases.is_draining());
    }
}
