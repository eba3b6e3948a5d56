//! The store conformance suite (features `journal` and `testing`): the ownership
//! contract of [`Store`] as tests, for every store to pass: [`MemoryStore`], the SQLite
//! store, and yours.
//!
//! [`check`] runs every case on fresh journals that `fresh` opens; each case opens
//! several handles on its journal (several workers), all reading one injected clock, so
//! nothing waits. A case that fails panics with its name and what it saw.
//!
//! # Examples
//!
//! ```
//! use tale::journal::{MemoryStore, conformance};
//!
//! conformance::check(|| {
//!     let journal = MemoryStore::new();
//!     move |leases| journal.worker(leases)
//! });
//! ```
//!
//! A store on a database file opens each handle on the same file:
//!
//! ```no_run
//! # use tale::journal::{SqliteStore, conformance};
//! let dir = std::env::temp_dir();
//! let mut n = 0;
//! conformance::check(|| {
//!     n += 1;
//!     let path = dir.join(format!("conformance-{n}.db"));
//!     let _ = std::fs::remove_file(&path);
//!     move |leases| SqliteStore::open(&path).unwrap().with_leases(leases)
//! });
//! ```
//!
//! [`MemoryStore`]: super::MemoryStore

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use super::{Claim, JournalError, Leases, Millis, NewSaga, Record, SagaId, Status, Store};

/// How long the suite's leases last, in its clock's milliseconds.
const TTL: Millis = 1_000;

/// One journal under test: the handles a case opens on it, and their shared clock.
struct Journal<'f, S> {
    open: &'f dyn Fn(Leases) -> S,
    now: Arc<AtomicI64>,
}

impl<S: Store> Journal<'_, S> {
    /// A new handle: a fresh worker, leases of [`TTL`], the journal's clock.
    fn worker(&self) -> S {
        let now = Arc::clone(&self.now);
        (self.open)(
            Leases::new()
                .ttl(Duration::from_millis(TTL.unsigned_abs()))
                .clock(move || now.load(Ordering::SeqCst)),
        )
    }

    fn advance(&self, by: Millis) {
        self.now.fetch_add(by, Ordering::SeqCst);
    }

    fn now(&self) -> Millis {
        self.now.load(Ordering::SeqCst)
    }
}

fn begin(store: &impl Store, name: &str) -> Claim {
    store
        .begin(&NewSaga::new(name, "{}"))
        .unwrap_or_else(|e| panic!("begin failed: {e}"))
}

fn started(index: u32) -> Record {
    Record::StepStarted {
        index,
        name: format!("step {index}"),
    }
}

fn lost(result: Result<(), JournalError>) -> Option<(u64, u64)> {
    match result {
        Err(JournalError::LeaseLost { epoch, current, .. }) => Some((epoch, current)),
        _ => None,
    }
}

fn sagas(claims: &[super::Claimed]) -> Vec<SagaId> {
    claims.iter().map(|c| c.row.id).collect()
}

/// The cases, by name.
type Case<S> = fn(&Journal<'_, S>);

fn cases<S: Store + Send + Sync>() -> Vec<(&'static str, Case<S>)> {
    vec![
        ("a saga begins owned by its worker at epoch 1", begins_owned),
        (
            "a write renews the lease and sums the record up",
            writes_renew,
        ),
        (
            "a stale owner's writes, renewals and releases are refused and change nothing",
            stale_owner_fenced,
        ),
        (
            "only running sagas whose lease ended are claimed",
            claims_only_expired,
        ),
        (
            "claims take the oldest first, at most the limit",
            claims_oldest_first,
        ),
        (
            "workers claiming at once never get the same saga",
            concurrent_claims,
        ),
        (
            "a saga given back is claimable at once, or after its back-off",
            release_and_backoff,
        ),
        (
            "a take-over bumps the epoch whatever the lease",
            take_over_fences,
        ),
        (
            "a finished saga has no lease and is never claimed",
            finished_not_claimed,
        ),
        (
            "resumptions count claims and a write resets them",
            resumptions_count,
        ),
        (
            "an operator's status reopens or parks a saga",
            set_status_reopens,
        ),
        ("unknown sagas are errors, not panics", unknown_sagas),
    ]
}

/// Runs every case of the suite, each on a fresh journal: `fresh` makes a new, empty
/// journal and returns how to open a handle on it as a worker with the given
/// [`Leases`] (every handle of one journal sees the others' writes).
///
/// # Panics
///
/// On the first case the store fails, naming it.
pub fn check<S, J>(mut fresh: impl FnMut() -> J)
where
    S: Store + Send + Sync,
    J: Fn(Leases) -> S,
{
    for (name, case) in cases::<S>() {
        let open = fresh();
        let journal = Journal {
            open: &open,
            now: Arc::new(AtomicI64::new(1_000_000)),
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(&journal)));
        if let Err(payload) = outcome {
            let message = super::recover_async::panic_message(&*payload);
            panic!("store conformance: {name}: {message}");
        }
    }
}

fn begins_owned<S: Store>(j: &Journal<'_, S>) {
    let a = j.worker();
    let claim = begin(&a, "trip");
    assert_eq!(claim.epoch, 1);
    let row = a.saga(claim.saga).unwrap();
    assert_eq!(row.status, Status::Running);
    assert_eq!(row.lease.epoch, 1);
    assert_eq!(
        row.lease.owner.as_deref(),
        Some(a.leases().worker_id().as_str())
    );
    assert_eq!(row.lease.until, Some(j.now() + TTL));
    assert_eq!(a.leases().held(), [claim], "the handle holds what it began");
}

fn writes_renew<S: Store>(j: &Journal<'_, S>) {
    let a = j.worker();
    let claim = begin(&a, "trip");
    j.advance(600);
    a.append(claim, &started(0)).unwrap();
    let row = a.saga(claim.saga).unwrap();
    assert_eq!(
        row.lease.until,
        Some(j.now() + TTL),
        "the write renewed the lease"
    );
    assert_eq!((row.records, row.current_step), (1, Some(0)));
    assert_eq!(a.records(claim.saga).unwrap(), [started(0)]);
    j.advance(600);
    a.renew(claim).unwrap();
    assert_eq!(a.saga(claim.saga).unwrap().lease.until, Some(j.now() + TTL));
    let b = j.worker();
    j.advance(TTL - 1);
    assert!(b.claim(10).unwrap().is_empty(), "a renewed lease holds");
}

fn stale_owner_fenced<S: Store>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker(), j.worker());
    let first = begin(&a, "trip");
    a.append(first, &started(0)).unwrap();
    j.advance(TTL);
    let claimed = b.claim(10).unwrap();
    assert_eq!(sagas(&claimed), [first.saga]);
    let second = claimed[0].claim;
    assert_eq!(second.epoch, 2);
    assert_eq!(claimed[0].row.lease.epoch, 2);
    assert_eq!(
        claimed[0].row.lease.owner.as_deref(),
        Some(b.leases().worker_id().as_str())
    );
    assert_eq!(lost(a.append(first, &started(1))), Some((1, 2)));
    assert_eq!(lost(a.renew(first)), Some((1, 2)));
    assert_eq!(lost(a.release(first, None)), Some((1, 2)));
    assert_eq!(
        a.records(first.saga).unwrap(),
        [started(0)],
        "nothing was written"
    );
    let row = a.saga(first.saga).unwrap();
    assert_eq!(row.lease.epoch, 2);
    assert_eq!(row.lease.until, Some(j.now() + TTL), "b's lease is intact");
    b.append(second, &started(1)).unwrap();
    assert_eq!(b.records(first.saga).unwrap().len(), 2);
}

fn claims_only_expired<S: Store>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker(), j.worker());
    let kept = begin(&a, "kept");
    let left = begin(&a, "left");
    assert!(
        b.claim(10).unwrap().is_empty(),
        "live leases are not claimed"
    );
    j.advance(TTL / 2);
    a.renew(kept).unwrap();
    j.advance(TTL / 2);
    assert_eq!(
        sagas(&b.claim(10).unwrap()),
        [left.saga],
        "only the lease that ended"
    );
    assert!(
        b.claim(10).unwrap().is_empty(),
        "a claimed saga is not claimed again"
    );
    let stuck = begin(&a, "stuck");
    a.append(
        stuck,
        &Record::Finished {
            status: Status::Stuck,
        },
    )
    .unwrap();
    j.advance(10 * TTL);
    let claimed = sagas(&b.claim(10).unwrap());
    assert!(claimed.contains(&kept.saga), "{claimed:?}");
    assert!(
        !claimed.contains(&stuck.saga),
        "a stuck saga is not running"
    );
}

fn claims_oldest_first<S: Store>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker(), j.worker());
    let ids: Vec<SagaId> = (0..3).map(|i| begin(&a, &format!("s{i}")).saga).collect();
    j.advance(TTL);
    assert_eq!(sagas(&b.claim(2).unwrap()), ids[..2]);
    assert_eq!(sagas(&b.claim(2).unwrap()), ids[2..]);
    assert!(b.claim(0).unwrap().is_empty());
}

fn concurrent_claims<S: Store + Send + Sync>(j: &Journal<'_, S>) {
    let a = j.worker();
    let all: BTreeSet<SagaId> = (0..40).map(|i| begin(&a, &format!("s{i}")).saga).collect();
    j.advance(TTL);
    let workers: Vec<S> = (0..4).map(|_| j.worker()).collect();
    let got: Vec<Vec<SagaId>> = std::thread::scope(|scope| {
        let claims: Vec<_> = workers
            .iter()
            .map(|w| {
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let claimed = w.claim(3).expect("a claim");
                        if claimed.is_empty() {
                            return mine;
                        }
                        mine.extend(sagas(&claimed));
                    }
                })
            })
            .collect();
        claims.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seen = BTreeSet::new();
    for id in got.iter().flatten() {
        assert!(seen.insert(*id), "{id} was claimed twice: {got:?}");
    }
    assert_eq!(seen, all, "every expired saga was claimed");
    for id in &all {
        assert_eq!(
            a.saga(*id).unwrap().lease.epoch,
            2,
            "{id} changed hands once"
        );
    }
}

fn release_and_backoff<S: Store>(j: &Journal<'_, S>) {
    let (a, b, c) = (j.worker(), j.worker(), j.worker());
    let claim = begin(&a, "trip");
    a.release(claim, None).unwrap();
    assert!(a.leases().held().is_empty(), "a release lets the claim go");
    let claimed = b.claim(10).unwrap();
    assert_eq!(sagas(&claimed), [claim.saga], "claimable at once");
    let again = j.now() + 500;
    b.release(claimed[0].claim, Some(again)).unwrap();
    assert!(c.claim(10).unwrap().is_empty(), "not before its back-off");
    j.advance(499);
    assert!(c.claim(10).unwrap().is_empty());
    j.advance(1);
    assert_eq!(sagas(&c.claim(10).unwrap()), [claim.saga]);
}

fn take_over_fences<S: Store>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker(), j.worker());
    let first = begin(&a, "trip");
    let second = b.take_over(first.saga).unwrap();
    assert_eq!(second.epoch, 2, "taken although the lease had not ended");
    assert_eq!(b.leases().held(), [second]);
    assert_eq!(lost(a.append(first, &started(0))), Some((1, 2)));
    b.append(second, &started(0)).unwrap();
}

fn finished_not_claimed<S: Store>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker(), j.worker());
    let claim = begin(&a, "trip");
    a.append(
        claim,
        &Record::Finished {
            status: Status::Completed,
        },
    )
    .unwrap();
    let row = a.saga(claim.saga).unwrap();
    assert_eq!(row.status, Status::Completed);
    assert_eq!(row.lease.until, None, "no lease");
    assert!(a.leases().held().is_empty(), "the handle let the claim go");
    j.advance(10 * TTL);
    assert!(b.claim(10).unwrap().is_empty());
}

fn resumptions_count<S: Store>(j: &Journal<'_, S>) {
    let (a, b, c) = (j.worker(), j.worker(), j.worker());
    let claim = begin(&a, "trip");
    assert_eq!(a.saga(claim.saga).unwrap().lease.resumptions, 0);
    j.advance(TTL);
    let first = b.claim(1).unwrap().remove(0);
    assert_eq!(first.row.lease.resumptions, 1);
    b.release(first.claim, None).unwrap();
    let second = c.claim(1).unwrap().remove(0);
    assert_eq!(second.row.lease.resumptions, 2);
    c.append(second.claim, &started(0)).unwrap();
    assert_eq!(
        c.saga(claim.saga).unwrap().lease.resumptions,
        0,
        "the journal grew: progress"
    );
}

fn set_status_reopens<S: Store>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker(), j.worker());
    let claim = begin(&a, "trip");
    j.advance(TTL);
    let claimed = b.claim(1).unwrap().remove(0);
    b.set_status(claim.saga, Status::Parked).unwrap();
    j.advance(10 * TTL);
    assert!(
        b.claim(10).unwrap().is_empty(),
        "a parked saga is left alone"
    );
    assert_eq!(b.sagas(&[Status::Parked]).unwrap().len(), 1);
    b.set_status(claim.saga, Status::Running).unwrap();
    let reopened = a.claim(10).unwrap();
    assert_eq!(sagas(&reopened), [claim.saga], "claimable at once");
    assert_eq!(reopened[0].row.lease.resumptions, 1, "counted afresh");
    assert!(reopened[0].claim.epoch > claimed.claim.epoch);
}

fn unknown_sagas<S: Store>(j: &Journal<'_, S>) {
    let a = j.worker();
    let ghost = SagaId(987_654);
    let claim = Claim {
        saga: ghost,
        epoch: 1,
    };
    let unknown = |r: Result<(), JournalError>| matches!(r, Err(JournalError::UnknownSaga(id)) if id == ghost);
    assert!(unknown(a.append(claim, &started(0))));
    assert!(unknown(a.renew(claim)));
    assert!(unknown(a.release(claim, None)));
    assert!(unknown(a.take_over(ghost).map(drop)));
    assert!(unknown(a.saga(ghost).map(drop)));
    assert!(unknown(a.set_status(ghost, Status::Resolved)));
}
