//! The plans of generated sagas: what each step and compensation does on each attempt,
//! and the retry policies.

use std::fmt;
use std::time::Duration;

use tale::{OnCompensationFailure, Retry, StepKind};

pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Where an error or a planned panic happened: in step `i`'s execute, or in its
/// compensation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Site {
    Step(usize),
    Undo(usize),
}

/// The error of every generated step and compensation: where, at which attempt, and
/// whether `retry_if(|e| !e.permanent)` calls it permanent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Error {
    pub(crate) site: Site,
    pub(crate) attempt: u32,
    pub(crate) permanent: bool,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// The payload of every planned panic (`panic_any`), so that the panic hook can keep
/// them quiet and the tests can tell them from real ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Planned(pub(crate) Site);

/// How the attempts after the scripted errors end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    Succeed,
    /// Every further attempt fails with this kind of error.
    Fail {
        permanent: bool,
    },
    Panic,
}

/// What the attempts of a step (or of a compensation) do: attempt `a` (from 1) fails
/// with `errors[a - 1]` (true: a permanent error) while there are any, then `end`.
#[derive(Clone, Debug)]
pub(crate) struct Script {
    pub(crate) errors: Vec<bool>,
    pub(crate) end: End,
}

/// The outcome of one attempt.
pub(crate) enum Attempt {
    Ok,
    Err { permanent: bool },
    Panic,
}

impl Script {
    pub(crate) fn attempt(&self, attempt: u32) -> Attempt {
        let index = attempt as usize - 1;
        if let Some(&permanent) = self.errors.get(index) {
            return Attempt::Err { permanent };
        }
        match self.end {
            End::Succeed => Attempt::Ok,
            End::Fail { permanent } => Attempt::Err { permanent },
            End::Panic => Attempt::Panic,
        }
    }
}

/// A retry policy as data, in milliseconds.
#[derive(Clone, Debug)]
pub(crate) enum Backoff {
    Immediate,
    Constant(u64),
    Exponential(u64),
    Custom(Vec<u64>),
}

#[derive(Clone, Debug)]
pub(crate) struct Policy {
    /// `Some(n)`: `Retry::times(n)`; `None`: `Retry::until_success()`.
    pub(crate) retries: Option<u32>,
    pub(crate) backoff: Backoff,
    pub(crate) max_delay: Option<u64>,
    pub(crate) max_elapsed: Option<u64>,
    /// `retry_if(|e| !e.permanent)`; without it every error is transient.
    pub(crate) classify: bool,
}

impl Policy {
    /// `Retry::times(0)`: what a step or compensation without a policy gets.
    pub(super) fn once() -> Self {
        Self {
            retries: Some(0),
            backoff: Backoff::Immediate,
            max_delay: None,
            max_elapsed: None,
            classify: false,
        }
    }

    /// The policy of a step without one of its own (`Step::kind`'s documentation and
    /// the executor's default for retriable steps: exponential from 100 ms, at most 30 s).
    pub(crate) fn default_for(kind: StepKind) -> Self {
        match kind {
            StepKind::Retriable => Self {
                retries: None,
                backoff: Backoff::Exponential(100),
                max_delay: Some(30_000),
                max_elapsed: None,
                classify: false,
            },
            _ => Self::once(),
        }
    }

    pub(crate) fn to_retry(&self) -> Retry<Error> {
        let mut retry = match self.retries {
            Some(n) => Retry::times(n),
            None => Retry::until_success(),
        };
        retry = match &self.backoff {
            Backoff::Immediate => retry,
            Backoff::Constant(d) => retry.constant(ms(*d)),
            Backoff::Exponential(d) => retry.exponential(ms(*d)),
            Backoff::Custom(delays) => {
                retry.backoff(delays.iter().map(|d| ms(*d)).collect::<Vec<_>>())
            }
        };
        if let Some(cap) = self.max_delay {
            retry = retry.max_delay(ms(cap));
        }
        if let Some(budget) = self.max_elapsed {
            retry = retry.max_elapsed(ms(budget));
        }
        if self.classify {
            retry = retry.retry_if(|e: &Error| !e.permanent);
        }
        assert_eq!(retry.max_attempts(), self.retries.map(|n| n + 1));
        retry
    }

    /// Makes an unbounded policy stop by itself: with no retry count and no custom
    /// sequence, a time budget and delays of at least 5 ms.
    pub(super) fn bounded(mut self) -> Self {
        if self.retries.is_none() && !matches!(self.backoff, Backoff::Custom(_)) {
            if matches!(self.backoff, Backoff::Immediate | Backoff::Constant(0..5)) {
                self.backoff = Backoff::Constant(5);
            }
            self.max_delay = self.max_delay.map(|cap| cap.max(5));
            self.max_elapsed.get_or_insert(200);
        }
        self
    }
}

/// A compensation: what its attempts do, and its retry policy (`None`: one attempt).
#[derive(Clone, Debug)]
pub(crate) struct UndoPlan {
    pub(crate) script: Script,
    pub(crate) retry: Option<Policy>,
}

/// One generated step.
#[derive(Clone, Debug)]
pub(crate) struct StepPlan {
    pub(crate) kind: StepKind,
    pub(crate) script: Script,
    pub(crate) retry: Option<Policy>,
    pub(crate) uncertain: bool,
    /// How long every attempt of the step and of its compensation takes, in ms of the
    /// manual clock (it matters to `max_elapsed`).
    pub(crate) cost: u64,
    pub(crate) undo: Option<UndoPlan>,
}

/// One generated saga: its steps (compensatable ones, then maybe a pivot and retriable
/// ones, as `saga!` allows) and the executor's compensation failure policy.
#[derive(Clone, Debug)]
pub(crate) struct SagaPlan {
    pub(crate) steps: Vec<StepPlan>,
    pub(crate) on_failure: OnCompensationFailure,
}

pub(crate) fn name(index: usize) -> String {
    format!("s{index}")
}

/// The output of step `index` when attempt `attempt` succeeds: compensations check
/// that they get the output of the attempt that succeeded.
pub(crate) fn output(index: usize, attempt: u32) -> u32 {
    u32::try_from(index).expect("small index") * 1000 + attempt
}
