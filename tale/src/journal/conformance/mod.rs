//! The store conformance suite (features `journal` and `testing`): the ownership
//! contract of [`Store`] as tests, for every store to pass: [`MemoryStore`], the SQLite
//! store, and yours.
//!
//! [`check`] runs every case on fresh journals that `fresh` opens ([`check_async`]
//! every case but [`Store::write_many`]'s, which async stores do not have); each case opens
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

mod batch;
mod operator;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use super::{
    AsyncStore, Claim, JournalError, Leases, Millis, NewSaga, Record, SagaId, Status, Store,
};
use crate::engine::async_run::CatchUnwind;
use crate::engine::join::join_all;

/// How long the suite's leases last, in its clock's milliseconds.
const TTL: Millis = 1_000;

/// Opens a handle on one journal, as a worker with the given leases.
type Open<'f, S> = Box<dyn Fn(Leases) -> Pin<Box<dyn Future<Output = S> + 'f>> + 'f>;

/// One journal under test: the handles a case opens on it, and their shared clock.
struct Journal<'f, S> {
    open: Open<'f, S>,
    now: Arc<AtomicI64>,
}

impl<S: AsyncStore> Journal<'_, S> {
    /// A new handle: a fresh worker, leases of [`TTL`], the journal's clock.
    async fn worker(&self) -> S {
        let now = Arc::clone(&self.now);
        (self.open)(
            Leases::new()
                .ttl(Duration::from_millis(TTL.unsigned_abs()))
                .clock(move || now.load(Ordering::SeqCst)),
        )
        .await
    }

    fn advance(&self, by: Millis) {
        self.now.fetch_add(by, Ordering::SeqCst);
    }

    fn now(&self) -> Millis {
        self.now.load(Ordering::SeqCst)
    }
}

async fn begin(store: &impl AsyncStore, name: &str) -> Claim {
    let saga = NewSaga::new(name, "{}");
    store
        .begin(&saga)
        .await
        .unwrap_or_else(|e| panic!("begin failed: {e}"))
}

fn started(index: u32) -> Record {
    Record::StepStarted {
        index,
        name: format!("step {index}").into(),
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

/// The cases, by name, in the order [`case`] runs them.
const CASES: [&str; 14] = [
    "a saga begins owned by its worker at epoch 1",
    "a write renews the lease and sums the record up",
    "a stale owner's writes, renewals and releases are refused and change nothing",
    "only running sagas whose lease ended are claimed",
    "claims take the oldest first, at most the limit",
    "workers claiming at once never get the same saga",
    "a saga given back is claimable at once, or after its back-off",
    "a take-over bumps the epoch whatever the lease",
    "a finished saga has no lease and is never claimed",
    "resumptions count claims and a write resets them",
    "an operator's status reopens or parks a saga",
    "unknown sagas are errors, not panics",
    "a saga's story has its records' places and times",
    "operators resolve, reopen and abandon, only where the status allows",
];

/// Runs case `n` of [`CASES`].
async fn case<S: AsyncStore>(n: usize, j: &Journal<'_, S>) {
    match n {
        0 => begins_owned(j).await,
        1 => writes_renew(j).await,
        2 => stale_owner_fenced(j).await,
        3 => claims_only_expired(j).await,
        4 => claims_oldest_first(j).await,
        5 => concurrent_claims(j).await,
        6 => release_and_backoff(j).await,
        7 => take_over_fences(j).await,
        8 => finished_not_claimed(j).await,
        9 => resumptions_count(j).await,
        10 => set_status_reopens(j).await,
        11 => unknown_sagas(j).await,
        12 => operator::history_timed(j).await,
        _ => operator::operators_act(j).await,
    }
}

/// Runs every case of the suite on a [`Store`], each on a fresh journal: `fresh` makes
/// a new, empty journal and returns how to open a handle on it as a worker with the
/// given [`Leases`] (every handle of one journal sees the others' writes).
///
/// # Panics
///
/// On the first case the store fails, naming it.
pub fn check<S, J>(mut fresh: impl FnMut() -> J)
where
    S: Store + Send + Sync,
    J: Fn(Leases) -> S,
{
    block_on(check_async(|| {
        let open = fresh();
        std::future::ready(move |leases| std::future::ready(open(leases)))
    }));
    let name = "writes made together each get their own outcome";
    let run = std::panic::AssertUnwindSafe(|| batch::writes_together(fresh()));
    if let Err(payload) = std::panic::catch_unwind(run) {
        let message = super::recover_async::panic_message(&*payload);
        panic!("store conformance: {name}: {message}");
    }
}

/// Runs every case of the suite on an [`AsyncStore`] (a store whose calls wait on the
/// network, such as PostgreSQL's), on the caller's runtime: `fresh` makes a new, empty
/// journal and resolves to how to open a handle on it as a worker with the given
/// [`Leases`].
///
/// # Panics
///
/// On the first case the store fails, naming it.
pub async fn check_async<S, Fresh, J, Opened>(mut fresh: impl FnMut() -> Fresh)
where
    S: AsyncStore,
    Fresh: Future<Output = J>,
    J: Fn(Leases) -> Opened,
    Opened: Future<Output = S>,
{
    for (n, name) in CASES.iter().enumerate() {
        let open = fresh().await;
        let journal = Journal {
            open: Box::new(|leases| Box::pin(open(leases))),
            now: Arc::new(AtomicI64::new(1_000_000)),
        };
        let run = pin!(case(n, &journal));
        if let Err(payload) = CatchUnwind(run).await {
            let message = super::recover_async::panic_message(&*payload);
            panic!("store conformance: {name}: {message}");
        }
    }
}

/// Runs `future` on this thread: the inline stores' futures are ready at once.
fn block_on<F: Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        std::thread::park();
    }
}

async fn begins_owned<S: AsyncStore>(j: &Journal<'_, S>) {
    let a = j.worker().await;
    let claim = begin(&a, "trip").await;
    assert_eq!(claim.epoch, 1);
    let row = a.saga(claim.saga).await.unwrap();
    assert_eq!(row.status, Status::Running);
    assert_eq!(row.lease.epoch, 1);
    assert_eq!(
        row.lease.owner.as_deref(),
        Some(a.leases().worker_id().as_str())
    );
    assert_eq!(row.lease.until, Some(j.now() + TTL));
    assert_eq!(a.leases().held(), [claim], "the handle holds what it began");
}

async fn writes_renew<S: AsyncStore>(j: &Journal<'_, S>) {
    let a = j.worker().await;
    let claim = begin(&a, "trip").await;
    j.advance(600);
    a.append(claim, &started(0)).await.unwrap();
    let row = a.saga(claim.saga).await.unwrap();
    assert_eq!(
        row.lease.until,
        Some(j.now() + TTL),
        "the write renewed the lease"
    );
    assert_eq!((row.records, row.current_step), (1, Some(0)));
    assert_eq!(a.records(claim.saga).await.unwrap(), [started(0)]);
    j.advance(600);
    a.renew(claim).await.unwrap();
    assert_eq!(
        a.saga(claim.saga).await.unwrap().lease.until,
        Some(j.now() + TTL)
    );
    let b = j.worker().await;
    j.advance(TTL - 1);
    assert!(
        b.claim(10).await.unwrap().is_empty(),
        "a renewed lease holds"
    );
}

async fn stale_owner_fenced<S: AsyncStore>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker().await, j.worker().await);
    let first = begin(&a, "trip").await;
    a.append(first, &started(0)).await.unwrap();
    j.advance(TTL);
    let claimed = b.claim(10).await.unwrap();
    assert_eq!(sagas(&claimed), [first.saga]);
    let second = claimed[0].claim;
    assert_eq!(second.epoch, 2);
    assert_eq!(claimed[0].row.lease.epoch, 2);
    assert_eq!(
        claimed[0].row.lease.owner.as_deref(),
        Some(b.leases().worker_id().as_str())
    );
    assert_eq!(lost(a.append(first, &started(1)).await), Some((1, 2)));
    assert_eq!(lost(a.renew(first).await), Some((1, 2)));
    assert_eq!(lost(a.release(first, None).await), Some((1, 2)));
    assert_eq!(
        a.records(first.saga).await.unwrap(),
        [started(0)],
        "nothing was written"
    );
    let row = a.saga(first.saga).await.unwrap();
    assert_eq!(row.lease.epoch, 2);
    assert_eq!(row.lease.until, Some(j.now() + TTL), "b's lease is intact");
    b.append(second, &started(1)).await.unwrap();
    assert_eq!(b.records(first.saga).await.unwrap().len(), 2);
}

async fn claims_only_expired<S: AsyncStore>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker().await, j.worker().await);
    let kept = begin(&a, "kept").await;
    let left = begin(&a, "left").await;
    assert!(
        b.claim(10).await.unwrap().is_empty(),
        "live leases are not claimed"
    );
    j.advance(TTL / 2);
    a.renew(kept).await.unwrap();
    j.advance(TTL / 2);
    assert_eq!(
        sagas(&b.claim(10).await.unwrap()),
        [left.saga],
        "only the lease that ended"
    );
    assert!(
        b.claim(10).await.unwrap().is_empty(),
        "a claimed saga is not claimed again"
    );
    let stuck = begin(&a, "stuck").await;
    a.append(
        stuck,
        &Record::Finished {
            status: Status::Stuck,
        },
    )
    .await
    .unwrap();
    j.advance(10 * TTL);
    let claimed = sagas(&b.claim(10).await.unwrap());
    assert!(claimed.contains(&kept.saga), "{claimed:?}");
    assert!(
        !claimed.contains(&stuck.saga),
        "a stuck saga is not running"
    );
}

async fn claims_oldest_first<S: AsyncStore>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker().await, j.worker().await);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(begin(&a, &format!("s{i}")).await.saga);
    }
    j.advance(TTL);
    assert_eq!(sagas(&b.claim(2).await.unwrap()), ids[..2]);
    assert_eq!(sagas(&b.claim(2).await.unwrap()), ids[2..]);
    assert!(b.claim(0).await.unwrap().is_empty());
}

async fn concurrent_claims<S: AsyncStore>(j: &Journal<'_, S>) {
    let a = j.worker().await;
    let mut all = BTreeSet::new();
    for i in 0..40 {
        all.insert(begin(&a, &format!("s{i}")).await.saga);
    }
    j.advance(TTL);
    let mut workers = Vec::new();
    for _ in 0..4 {
        workers.push(j.worker().await);
    }
    // Four claimers at once (on a store whose calls wait on the network, their
    // transactions overlap).
    let claimers = workers.iter().map(|w| {
        Box::pin(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = w.claim(3).await.expect("a claim");
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(sagas(&claimed));
            }
        })
    });
    let got: Vec<Vec<SagaId>> = join_all(claimers).await;
    let mut seen = BTreeSet::new();
    for id in got.iter().flatten() {
        assert!(seen.insert(*id), "{id} was claimed twice: {got:?}");
    }
    assert_eq!(seen, all, "every expired saga was claimed");
    for id in &all {
        assert_eq!(
            a.saga(*id).await.unwrap().lease.epoch,
            2,
            "{id} changed hands once"
        );
    }
}

async fn release_and_backoff<S: AsyncStore>(j: &Journal<'_, S>) {
    let (a, b, c) = (j.worker().await, j.worker().await, j.worker().await);
    let claim = begin(&a, "trip").await;
    a.release(claim, None).await.unwrap();
    assert!(a.leases().held().is_empty(), "a release lets the claim go");
    let claimed = b.claim(10).await.unwrap();
    assert_eq!(sagas(&claimed), [claim.saga], "claimable at once");
    let again = j.now() + 500;
    b.release(claimed[0].claim, Some(again)).await.unwrap();
    assert!(
        c.claim(10).await.unwrap().is_empty(),
        "not before its back-off"
    );
    j.advance(499);
    assert!(c.claim(10).await.unwrap().is_empty());
    j.advance(1);
    assert_eq!(sagas(&c.claim(10).await.unwrap()), [claim.saga]);
}

async fn take_over_fences<S: AsyncStore>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker().await, j.worker().await);
    let first = begin(&a, "trip").await;
    let second = b.take_over(first.saga).await.unwrap();
    assert_eq!(second.epoch, 2, "taken although the lease had not ended");
    assert_eq!(b.leases().held(), [second]);
    assert_eq!(lost(a.append(first, &started(0)).await), Some((1, 2)));
    b.append(second, &started(0)).await.unwrap();
}

async fn finished_not_claimed<S: AsyncStore>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker().await, j.worker().await);
    let claim = begin(&a, "trip").await;
    a.append(
        claim,
        &Record::Finished {
            status: Status::Completed,
        },
    )
    .await
    .unwrap();
    let row = a.saga(claim.saga).await.unwrap();
    assert_eq!(row.status, Status::Completed);
    assert_eq!(row.lease.until, None, "no lease");
    assert!(a.leases().held().is_empty(), "the handle let the claim go");
    j.advance(10 * TTL);
    assert!(b.claim(10).await.unwrap().is_empty());
}

async fn resumptions_count<S: AsyncStore>(j: &Journal<'_, S>) {
    let (a, b, c) = (j.worker().await, j.worker().await, j.worker().await);
    let claim = begin(&a, "trip").await;
    assert_eq!(a.saga(claim.saga).await.unwrap().lease.resumptions, 0);
    j.advance(TTL);
    let first = b.claim(1).await.unwrap().remove(0);
    assert_eq!(first.row.lease.resumptions, 1);
    b.release(first.claim, None).await.unwrap();
    let second = c.claim(1).await.unwrap().remove(0);
    assert_eq!(second.row.lease.resumptions, 2);
    c.append(second.claim, &started(0)).await.unwrap();
    assert_eq!(
        c.saga(claim.saga).await.unwrap().lease.resumptions,
        0,
        "the journal grew: progress"
    );
}

async fn set_status_reopens<S: AsyncStore>(j: &Journal<'_, S>) {
    let (a, b) = (j.worker().await, j.worker().await);
    let claim = begin(&a, "trip").await;
    j.advance(TTL);
    let claimed = b.claim(1).await.unwrap().remove(0);
    b.set_status(claim.saga, Status::Parked).await.unwrap();
    j.advance(10 * TTL);
    assert!(
        b.claim(10).await.unwrap().is_empty(),
        "a parked saga is left alone"
    );
    assert_eq!(b.sagas(&[Status::Parked]).await.unwrap().len(), 1);
    b.set_status(claim.saga, Status::Running).await.unwrap();
    let reopened = a.claim(10).await.unwrap();
    assert_eq!(sagas(&reopened), [claim.saga], "claimable at once");
    assert_eq!(reopened[0].row.lease.resumptions, 1, "counted afresh");
    assert!(reopened[0].claim.epoch > claimed.claim.epoch);
}

async fn unknown_sagas<S: AsyncStore>(j: &Journal<'_, S>) {
    let a = j.worker().await;
    let ghost = SagaId(987_654);
    let claim = Claim {
        saga: ghost,
        epoch: 1,
    };
    let unknown = |r: Result<(), JournalError>| matches!(r, Err(JournalError::UnknownSaga(id)) if id == ghost);
    assert!(unknown(a.append(claim, &started(0)).await));
    assert!(unknown(a.renew(claim).await));
    assert!(unknown(a.release(claim, None).await));
    assert!(unknown(a.take_over(ghost).await.map(drop)));
    assert!(unknown(a.saga(ghost).await.map(drop)));
    assert!(unknown(a.set_status(ghost, Status::Resolved).await));
}
