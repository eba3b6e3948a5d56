//! Workers: [`Worker`] (sync sagas, on a thread) and [`AsyncWorker`] (async sagas, on
//! any executor) claim the sagas whose lease ended, resume them, renew what they hold,
//! and give their sagas back when they shut down.
//!
//! What they share lives here: their settings ([`WorkerOptions`]), what they did
//! ([`WorkerStats`]), and the policy that decides what follows each resumption (done,
//! lost, tried again after a back-off, or parked for an operator).

mod async_worker;
mod sync_worker;

use std::time::Duration;

pub use async_worker::AsyncWorker;
pub use sync_worker::Worker;

use super::{Claim, Claimed, JournalError, Leases, Millis, Recovered, Status};

/// How a worker claims and resumes sagas. Every setting has a default; see each.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tale::journal::WorkerOptions;
///
/// let options = WorkerOptions::new()
///     .poll_interval(Duration::from_millis(200))
///     .batch(8)
///     .max_resumptions(5);
/// assert_eq!(options.batch_size(), 8);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerOptions {
    poll_interval: Duration,
    batch: usize,
    max_resumptions: u32,
    backoff: Duration,
    max_backoff: Duration,
    heartbeat: Option<Duration>,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl WorkerOptions {
    /// The defaults: claim every second, 16 sagas at a time, park a saga after 10
    /// resumptions that made no progress, back off 1 s doubling up to 5 min, heartbeat
    /// at a third of the lease.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            batch: 16,
            max_resumptions: 10,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
            heartbeat: None,
        }
    }

    /// How long the worker waits between claims when the last found nothing to do
    /// (a claim that fills the batch is followed by another at once).
    #[must_use]
    pub const fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The most sagas one claim takes; an [`AsyncWorker`] also runs at most this many
    /// at once (at least one).
    #[must_use]
    pub const fn batch(mut self, n: usize) -> Self {
        self.batch = if n == 0 { 1 } else { n };
        self
    }

    /// How many times a saga may be taken over without its journal growing before the
    /// workers park it ([`Status::Parked`]) for an operator: a saga whose resumption
    /// keeps failing (no registered version matches it, its journal is unreadable, it
    /// panics) or keeps killing its worker.
    #[must_use]
    pub const fn max_resumptions(mut self, n: u32) -> Self {
        self.max_resumptions = n;
        self
    }

    /// The back-off after a failed resumption: `base` after the first, doubling with
    /// each failure since the saga last made progress, at most `max`.
    #[must_use]
    pub const fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff = base;
        self.max_backoff = max;
        self
    }

    /// How often the worker renews the leases its store handle holds (by default a
    /// third of the lease's length).
    #[must_use]
    pub const fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = Some(every);
        self
    }

    /// The most sagas one claim takes.
    #[must_use]
    pub const fn batch_size(&self) -> usize {
        self.batch
    }

    /// The wait between claims that found nothing.
    #[must_use]
    pub const fn poll_interval_length(&self) -> Duration {
        self.poll_interval
    }

    /// The heartbeat's period for leases of `leases`' length.
    #[must_use]
    pub fn heartbeat_period(&self, leases: &Leases) -> Duration {
        self.heartbeat
            .unwrap_or_else(|| leases.lease_ttl() / 3)
            .max(Duration::from_millis(1))
    }

    /// When a saga whose resumption failed after `resumptions` claims may be claimed
    /// again, from `now`.
    #[must_use]
    pub fn retry_at(&self, resumptions: u32, now: Millis) -> Millis {
        let doublings = resumptions.saturating_sub(1).min(30);
        let delay = self
            .backoff
            .saturating_mul(1 << doublings)
            .min(self.max_backoff);
        now.saturating_add(i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
    }

    /// Whether a saga claimed with `resumptions` resumptions behind it is parked
    /// instead of run.
    #[must_use]
    pub const fn parks(&self, resumptions: u32) -> bool {
        resumptions > self.max_resumptions
    }
}

/// What a worker did, summed up.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// Sagas it claimed.
    pub claimed: u64,
    /// Claimed sagas it finished (completed, compensated or stuck).
    pub finished: u64,
    /// Resumptions that failed and were given back with a back-off.
    pub retried: u64,
    /// Sagas it parked for an operator.
    pub parked: u64,
    /// Sagas another worker took over while this one ran them (it stopped them).
    pub lost: u64,
    /// Sagas it gave back unfinished when it shut down.
    pub given_back: u64,
    /// Claims or heartbeats that failed (the database's failure).
    pub store_errors: u64,
}

impl WorkerStats {
    fn add(&mut self, after: After) {
        match after {
            After::Finished => self.finished += 1,
            After::Retry(_) => self.retried += 1,
            After::Lost => self.lost += 1,
            After::GivenBack => self.given_back += 1,
        }
    }
}

/// What follows a resumption.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum After {
    /// The saga ended (or is no longer running).
    Finished,
    /// Give it back, to be claimed again from this time on.
    Retry(Millis),
    /// Another worker took it over: nothing to do.
    Lost,
    /// It stopped because the worker shuts down, and was given back.
    GivenBack,
}

/// What follows the resumption of `claimed`, which ended with `result`, at `now`.
fn after(
    options: &WorkerOptions,
    claimed: &Claimed,
    result: &Result<Status, JournalError>,
    now: Millis,
) -> After {
    match result {
        Ok(status) if status.is_finished() => After::Finished,
        Err(JournalError::LeaseLost { .. }) => After::Lost,
        Err(JournalError::ShuttingDown { .. }) => After::GivenBack,
        // Still running (the saga's code returned without finishing it), or failed.
        Ok(_) | Err(_) => After::Retry(options.retry_at(claimed.row.lease.resumptions, now)),
    }
}

/// What a resumption reports: the saga, and what became of it.
fn report(claimed: &Claimed, result: Result<Status, JournalError>) -> Recovered {
    Recovered {
        id: claimed.row.id,
        name: claimed.row.name.clone(),
        result,
    }
}

/// The report of a saga parked without running.
fn parked(claimed: &Claimed, written: Result<(), JournalError>) -> Recovered {
    report(claimed, written.map(|()| Status::Parked))
}

/// The claims a heartbeat lost, to let go of.
fn lost(renewed: impl IntoIterator<Item = (Claim, Result<(), JournalError>)>) -> Vec<Claim> {
    renewed
        .into_iter()
        .filter(|(_, r)| matches!(r, Err(JournalError::LeaseLost { .. })))
        .map(|(claim, _)| claim)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::{Lease, SagaId, SagaRow};

    fn claimed(resumptions: u32) -> Claimed {
        let row = SagaRow {
            id: SagaId(1),
            name: "trip".into(),
            inputs: "{}".into(),
            status: Status::Running,
            current_step: None,
            current_step_name: None,
            attempts: 0,
            records: 0,
            last_error: None,
            fingerprint: None,
            lease: Lease {
                resumptions,
                epoch: 2,
                ..Lease::default()
            },
            created_at: 0,
            updated_at: 0,
        };
        Claimed {
            claim: Claim {
                saga: row.id,
                epoch: 2,
            },
            row,
        }
    }

    #[test]
    fn the_back_off_doubles_with_each_failure_up_to_its_cap() {
        let options =
            WorkerOptions::new().backoff(Duration::from_millis(100), Duration::from_millis(350));
        assert_eq!(options.retry_at(1, 1_000), 1_100);
        assert_eq!(options.retry_at(2, 1_000), 1_200);
        assert_eq!(options.retry_at(3, 1_000), 1_350, "capped");
        assert_eq!(options.retry_at(40, 1_000), 1_350, "no overflow");
    }

    #[test]
    fn a_failed_resumption_is_retried_a_lost_one_is_not() {
        let options = WorkerOptions::new().backoff(Duration::from_secs(1), Duration::from_secs(9));
        let c = claimed(2);
        assert_eq!(
            after(&options, &c, &Ok(Status::Completed), 0),
            After::Finished
        );
        assert_eq!(after(&options, &c, &Ok(Status::Stuck), 0), After::Finished);
        assert_eq!(
            after(&options, &c, &Ok(Status::Running), 0),
            After::Retry(2_000)
        );
        let unregistered = Err(JournalError::Unregistered {
            saga: SagaId(1),
            name: "trip".into(),
        });
        assert_eq!(after(&options, &c, &unregistered, 0), After::Retry(2_000));
        let lost = Err(JournalError::LeaseLost {
            saga: SagaId(1),
            epoch: 2,
            current: 3,
        });
        assert_eq!(after(&options, &c, &lost, 0), After::Lost);
        let draining = Err(JournalError::ShuttingDown { saga: SagaId(1) });
        assert_eq!(after(&options, &c, &draining, 0), After::GivenBack);
    }

    #[test]
    fn a_saga_is_parked_past_its_resumptions() {
        let options = WorkerOptions::new().max_resumptions(3);
        assert!(!options.parks(3));
        assert!(options.parks(4));
    }
}
