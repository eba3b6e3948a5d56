//! Group commit: records (and beginnings) of different sagas that are ready at the same
//! time share one transaction (one fsync at [`Durability::Full`](super::Durability::Full)),
//! while each caller still returns only once its own write is committed.
//!
//! The first caller to find no commit in progress leads: it writes its own record and
//! every record queued so far in one transaction, each behind a savepoint (a record
//! refused by its fencing check, or failing, is rolled back alone), commits, and hands
//! each queued caller its result. Callers that arrive while a commit is in progress
//! queue their record and wait; when the commit ends, one of them leads the next one,
//! with everything that queued meanwhile. Alone, a caller leads at once and queues
//! nothing: the uncontended path is one transaction, as without grouping.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::journal::{Claim, JournalError, NewSaga, Record};

/// A write, as its caller holds it.
#[derive(Clone, Copy)]
pub(super) enum Write<'a> {
    /// A record appended under a claim.
    Append(Claim, &'a Record),
    /// A saga begun.
    Begin(NewSaga<'a>),
}

/// A write, queued: owned, since its caller only waits.
enum Owned {
    Append(Claim, Record),
    Begin {
        name: String,
        inputs: String,
        fingerprint: Option<u64>,
    },
}

impl Owned {
    fn of(write: Write<'_>) -> Self {
        match write {
            Write::Append(claim, record) => Owned::Append(claim, record.clone()),
            Write::Begin(saga) => Owned::Begin {
                name: saga.name.to_owned(),
                inputs: saga.inputs.to_owned(),
                fingerprint: saga.fingerprint,
            },
        }
    }

    fn borrow(&self) -> Write<'_> {
        match self {
            Owned::Append(claim, record) => Write::Append(*claim, record),
            Owned::Begin {
                name,
                inputs,
                fingerprint,
            } => Write::Begin(NewSaga {
                name,
                inputs,
                fingerprint: *fingerprint,
            }),
        }
    }
}

/// A queued write and its caller's ticket.
pub(super) struct Request {
    ticket: u64,
    write: Owned,
}

impl Request {
    /// The write.
    pub(super) fn write(&self) -> Write<'_> {
        self.write.borrow()
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
    /// Records waiting for the next commit.
    waiting: Vec<Request>,
    /// Results of queued records, by ticket, until their callers take them.
    done: Vec<(u64, Outcome)>,
    next_ticket: u64,
    /// A commit is in progress.
    leading: bool,
    /// The size of each commit, for the benchmarks: commits and records written.
    commits: u64,
    records: u64,
}

/// The queue of a store handle's appends.
#[derive(Default)]
pub(super) struct Group {
    queue: Mutex<Queue>,
    ended: Condvar,
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

/// Ends a commit however its writer returns (a panic included): no caller waits
/// forever for a leader that is gone.
struct Lead<'g> {
    group: &'g Group,
    results: Vec<(u64, Outcome)>,
    written: u64,
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        let mut q = self.group.lock();
        q.leading = false;
        q.commits += 1;
        q.records += self.written;
        q.done.append(&mut self.results);
        drop(q);
        self.group.ended.notify_all();
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
            // Alone, or the first since the last commit: lead, own record first.
            let batch = self.lead(&mut q);
            drop(q);
            return self.commit(Some(own), batch, write).unwrap_or_else(|| {
                Err(JournalError::Database("the commit lost its write".into()))
            });
        }
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.waiting.push(Request {
            ticket,
            write: Owned::of(own),
        });
        loop {
            q = self.ended.wait(q).unwrap_or_else(PoisonError::into_inner);
            if let Some(at) = q.done.iter().position(|(t, _)| *t == ticket) {
                return q.done.swap_remove(at).1;
            }
            if !q.leading {
                let batch = self.lead(&mut q);
                drop(q);
                // Its own record is among the queued ones: its outcome is in `done`.
                let _ = self.commit(None, batch, write);
                q = self.lock();
                if let Some(at) = q.done.iter().position(|(t, _)| *t == ticket) {
                    return q.done.swap_remove(at).1;
                }
            }
        }
    }

    fn lead(&self, q: &mut Queue) -> Vec<Request> {
        q.leading = true;
        std::mem::take(&mut q.waiting)
    }

    /// One commit: the leader's record (if any) and `batch`; the leader's outcome.
    fn commit(
        &self,
        own: Option<Write<'_>>,
        batch: Vec<Request>,
        write: &Commit<'_>,
    ) -> Option<Outcome> {
        let mut lead = Lead {
            group: self,
            results: Vec::new(),
            written: (batch.len() + usize::from(own.is_some())) as u64,
        };
        let (mine, theirs) = write(own, &batch);
        lead.results = batch.iter().map(|r| r.ticket).zip(theirs).collect();
        drop(lead);
        mine
    }

    /// Commits and records written so far.
    pub(super) fn stats(&self) -> (u64, u64) {
        let q = self.lock();
        (q.commits, q.records)
    }
}
