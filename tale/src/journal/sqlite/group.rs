//! Group commit: records of different sagas that are ready at the same time share one
//! transaction (one fsync at [`Durability::Full`](super::Durability::Full)), while each
//! caller still returns only once its own record is committed.
//!
//! The first caller to find no commit in progress leads: it writes its own record and
//! every record queued so far in one transaction, each behind a savepoint (a record
//! refused by its fencing check, or failing, is rolled back alone), commits, and hands
//! each queued caller its result. Callers that arrive while a commit is in progress
//! queue their record and wait; when the commit ends, one of them leads the next one,
//! with everything that queued meanwhile. Alone, a caller leads at once and queues
//! nothing: the uncontended path is one transaction, as without grouping.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::journal::{Claim, JournalError, Record};

/// A queued record and its caller's ticket.
pub(super) struct Request {
    ticket: u64,
    pub(super) claim: Claim,
    pub(super) record: Record,
}

/// What a write came to: whether the saga finished, or why it failed.
pub(super) type Outcome = Result<bool, JournalError>;

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

    /// Commits `record` under `claim`, with whatever other callers queue meanwhile:
    /// `write` runs one commit of the leader's own record (if it has one left) and the
    /// queued ones, and returns the leader's outcome and each queued record's.
    pub(super) fn append(
        &self,
        claim: Claim,
        record: &Record,
        write: impl Fn(Option<(Claim, &Record)>, &[Request]) -> (Option<Outcome>, Vec<Outcome>),
    ) -> Outcome {
        let mut q = self.lock();
        if !q.leading {
            // Alone, or the first since the last commit: lead, own record first.
            let batch = self.lead(&mut q);
            drop(q);
            return self
                .commit(Some((claim, record)), batch, &write)
                .unwrap_or_else(|| {
                    Err(JournalError::Database("the commit lost its record".into()))
                });
        }
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.waiting.push(Request {
            ticket,
            claim,
            record: record.clone(),
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
                let _ = self.commit(None, batch, &write);
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
        own: Option<(Claim, &Record)>,
        batch: Vec<Request>,
        write: &impl Fn(Option<(Claim, &Record)>, &[Request]) -> (Option<Outcome>, Vec<Outcome>),
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
