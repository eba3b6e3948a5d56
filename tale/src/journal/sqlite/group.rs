//! Group commit: records (and beginnings) of different sagas that are ready at the same
//! time share one transaction (one fsync at [`Durability::Full`](super::Durability::Full)),
//! while each caller still returns only once its own write is committed.
//!
//! The first caller to find no commit in progress leads: it writes its own record and
//! every record queued so far in one transaction (a record refused by its fencing check
//! fails alone, before writing anything; after a database error in the middle of a
//! write, each is written again in a transaction of its own), commits, and hands each
//! queued caller its result. Callers that arrive while a commit is in progress
//! queue their record and wait; when the commit ends, one of them leads the next one,
//! with everything that queued meanwhile. Alone, a caller leads at once and queues
//! nothing: the uncontended path is one transaction, as without grouping.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::journal::store::OwnedWrite;
use crate::journal::{Claim, JournalError, Write};

/// A queued write and where its caller waits.
pub(super) struct Request {
    slot: Arc<Slot>,
    write: OwnedWrite,
}

/// A write of a commit besides the leader's: a queued caller's, or one of
/// [`Store::write_many`](crate::journal::Store::write_many)'s.
pub(super) trait Queued {
    /// The write.
    fn write(&self) -> Write<'_>;
}

impl Queued for Request {
    fn write(&self) -> Write<'_> {
        self.write.borrow()
    }
}

impl Queued for Write<'_> {
    fn write(&self) -> Write<'_> {
        *self
    }
}

/// Where a queued caller waits: for its outcome, or for its turn to lead.
#[derive(Default)]
struct Slot {
    turn: Mutex<Option<Turn>>,
    changed: Condvar,
}

/// What a waiting caller is woken for.
enum Turn {
    /// The commit that took this write is over and another is due: lead it.
    Lead,
    /// Its write is committed, or failed.
    Done(Outcome),
}

impl Slot {
    fn set(&self, turn: Turn) {
        *self.turn.lock().unwrap_or_else(PoisonError::into_inner) = Some(turn);
        self.changed.notify_one();
    }

    /// Waits for the caller's turn, and takes it.
    fn wait(&self) -> Turn {
        let mut turn = self.turn.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(turn) = turn.take() {
                return turn;
            }
            turn = self
                .changed
                .wait(turn)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }
}

/// What a write came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Done {
    /// The record is appended; true if the saga finished with it.
    Appended(bool),
    /// The saga began, under this claim.
    Begun(Claim),
}

/// What a write came to, or why it failed.
pub(super) type Outcome = Result<Done, JournalError>;

/// One commit: the leader's write, if it has one left, and the queued ones; the
/// leader's outcome and each queued write's.
pub(super) type Commit<'w> =
    dyn Fn(Option<Write<'_>>, &[Request]) -> (Option<Outcome>, Vec<Outcome>) + 'w;

#[derive(Default)]
struct Queue {
    /// Writes waiting for the next commit.
    waiting: Vec<Request>,
    /// A commit is in progress (or handed to the next leader).
    leading: bool,
    /// The size of each commit, for the benchmarks: commits and writes.
    commits: u64,
    writes: u64,
}

/// The queue of a store handle's writes.
#[derive(Default)]
pub(super) struct Group {
    queue: Mutex<Queue>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let q = self.lock();
        f.debug_struct("Group")
            .field("waiting", &q.waiting.len())
            .field("leading", &q.leading)
            .finish_non_exhaustive()
    }
}

/// Ends a commit however its writer returns (a panic included): each queued caller
/// gets its outcome (or, if the writer panicked, an error), and the next leader, if
/// writes queued meanwhile, is woken to lead. No caller waits for a leader that is
/// gone.
struct Lead<'g> {
    group: &'g Group,
    batch: Vec<Request>,
    results: Vec<Outcome>,
    /// The leader's own write is in the commit besides the batch.
    own: bool,
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        let mut results = std::mem::take(&mut self.results).into_iter();
        for request in &self.batch {
            let outcome = results.next().unwrap_or_else(|| {
                Err(JournalError::Database(
                    "the commit of this write did not finish".into(),
                ))
            });
            request.slot.set(Turn::Done(outcome));
        }
        let mut q = self.group.lock();
        q.commits += 1;
        q.writes += (self.batch.len() + usize::from(self.own)) as u64;
        // The baton: the first caller queued meanwhile leads the next commit (the
        // queue stays `leading`, so that nobody else starts one in between). Handed
        // after the callers are woken, not before: while they wake, their next writes
        // queue for the next commit. Handed first, the next commit started without
        // them: groups of 6-30 writes instead of 51-54 with 64 threads, and a third
        // fewer sagas a second (session 8, `cargo bench -p tale-bench --bench journal
        // -- group`).
        match q.waiting.first() {
            Some(next) => next.slot.set(Turn::Lead),
            None => q.leading = false,
        }
    }
}

impl Group {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Commits `own`, with whatever other callers queue meanwhile: `write` runs one
    /// commit (see [`Commit`]).
    pub(super) fn write(&self, own: Write<'_>, write: &Commit<'_>) -> Outcome {
        let mut q = self.lock();
        if !q.leading {
            // Alone, or the first since the last commit: lead, own write first.
            q.leading = true;
            let batch = std::mem::take(&mut q.waiting);
            drop(q);
            return self.commit(Some(own), batch, write).unwrap_or_else(|| {
                Err(JournalError::Database("the commit lost its write".into()))
            });
        }
        let slot = Arc::new(Slot::default());
        q.waiting.push(Request {
            slot: Arc::clone(&slot),
            write: OwnedWrite::of(own),
        });
        drop(q);
        loop {
            match slot.wait() {
                Turn::Done(outcome) => return outcome,
                Turn::Lead => {
                    // Its own write is first in the queue it takes.
                    let batch = std::mem::take(&mut self.lock().waiting);
                    let _ = self.commit(None, batch, write);
                }
            }
        }
    }

    /// One commit: the leader's write (if any) and `batch`; the leader's outcome.
    fn commit(
        &self,
        own: Option<Write<'_>>,
        batch: Vec<Request>,
        write: &Commit<'_>,
    ) -> Option<Outcome> {
        let mut lead = Lead {
            group: self,
            batch,
            results: Vec::new(),
            own: own.is_some(),
        };
        let (mine, theirs) = write(own, &lead.batch);
        lead.results = theirs;
        drop(lead);
        mine
    }

    /// Counts a commit of `writes` writes made without the queue
    /// ([`Store::write_many`](crate::journal::Store::write_many)'s).
    pub(super) fn count(&self, writes: usize) {
        let mut q = self.lock();
        q.commits += 1;
        q.writes += writes as u64;
    }

    /// Commits and writes so far.
    pub(super) fn stats(&self) -> (u64, u64) {
        let q = self.lock();
        (q.commits, q.writes)
    }
}
