//! The sagas of the crash suites and their plans: which step fails and how, which calls
//! are busy, slow or time out, drawn from a seed so that every run (the first and the
//! replays after a kill) meets the same services.

use serde::{Deserialize, Serialize};
use tale::journal::Interrupted;

use super::rng::Rng;

/// A step's error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Error {
    /// The service said no, for good.
    Rejected(String),
    /// The service is busy: worth another attempt.
    Busy,
    /// No answer: the call may or may not have been applied.
    Timeout,
    /// tale cut the attempt short (its per-attempt timeout): the call may or may not
    /// have been applied.
    TimedOut,
    /// The services database failed, or a call came without its idempotency key.
    Service(String),
    /// The service saw a newer owner of the saga (a higher epoch): this call came from
    /// a worker that lost the saga. It must never reach the journal.
    Fenced,
    /// See [`Interrupted`].
    Interrupted(Interrupted),
}

impl From<Interrupted> for Error {
    fn from(i: Interrupted) -> Self {
        Error::Interrupted(i)
    }
}

impl From<tale::TimedOut> for Error {
    fn from(_: tale::TimedOut) -> Self {
        Error::TimedOut
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Service(e.to_string())
    }
}

/// How a step's call ends, after its busy attempts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fail {
    /// It succeeds.
    #[default]
    No,
    /// The service refuses it before doing anything.
    Reject,
    /// The service applies it, then the answer is lost (uncertain steps only).
    Timeout,
}

/// What one step does, decided in advance so that every run of the saga (the first and
/// the replays) meets the same services.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct StepPlan {
    /// What the effect is worth.
    pub amount: i64,
    /// The first `busy` attempts of each run fail with [`Error::Busy`] (retried).
    pub busy: u32,
    /// The busy attempts fail after the effect was applied (the retry is a duplicate).
    pub busy_after_effect: bool,
    /// How the call ends.
    pub fail: Fail,
    /// The first `undo_busy` attempts of each compensation fail with [`Error::Busy`].
    pub undo_busy: u32,
    /// The compensation fails for good: the saga ends stuck.
    pub undo_fails: bool,
    /// Milliseconds the service takes before and after applying an effect.
    pub pause_ms: u64,
}

/// A saga's inputs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Plan {
    /// A name for the order, unique in a harness run.
    pub order: String,
    /// One per step of the saga.
    pub steps: Vec<StepPlan>,
}

/// The two services: each effect has an undo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// `charge`, undone by `refund`.
    Bank,
    /// `reserve`, undone by `cancel`.
    Stock,
}

impl Service {
    /// The effect's name.
    pub fn effect(self) -> &'static str {
        match self {
            Service::Bank => "charge",
            Service::Stock => "reserve",
        }
    }
    /// The undo's name.
    pub fn undo(self) -> &'static str {
        match self {
            Service::Bank => "refund",
            Service::Stock => "cancel",
        }
    }
}

/// A step's name, service, and whether its outcome is uncertain.
pub type StepShape = (&'static str, Service, bool);

/// The sagas: their names and, for each step, its name, service and whether its outcome
/// is uncertain.
pub const SAGAS: [(&str, &[StepShape]); 3] = [
    (
        "trip",
        &[
            ("flight", Service::Stock, false),
            ("hotel", Service::Stock, false),
            ("payment", Service::Bank, true),
        ],
    ),
    (
        "order",
        &[
            ("stock", Service::Stock, false),
            ("payment", Service::Bank, true),
            ("shipping", Service::Stock, false),
            ("invoice", Service::Bank, false),
        ],
    ),
    (
        "transfer",
        &[
            ("debit", Service::Bank, false),
            ("fee", Service::Bank, false),
            ("hold", Service::Stock, true),
            ("credit", Service::Bank, false),
            ("receipt", Service::Stock, false),
        ],
    ),
];

/// The saga number `i` of a run seeded with `seed`: which saga, and its plan.
pub fn plan(seed: u64, i: u64) -> (usize, Plan) {
    let mut rng = Rng(seed ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    rng.next_u64();
    let kind = rng.below(SAGAS.len() as u64) as usize;
    let shape = SAGAS[kind].1;
    let mut steps: Vec<StepPlan> = shape
        .iter()
        .map(|_| {
            let busy = if rng.chance(15) {
                1 + rng.below(2) as u32
            } else {
                0
            };
            StepPlan {
                amount: 1 + rng.below(1000) as i64,
                busy,
                busy_after_effect: busy > 0 && rng.chance(50),
                fail: Fail::No,
                undo_busy: if rng.chance(15) {
                    1 + rng.below(2) as u32
                } else {
                    0
                },
                undo_fails: false,
                pause_ms: rng.below(5),
            }
        })
        .collect();
    // A third of the sagas fail at one step: refused, or a lost answer on an uncertain one.
    if rng.chance(35) {
        let at = rng.below(steps.len() as u64) as usize;
        steps[at].fail = if shape[at].2 && rng.chance(50) {
            Fail::Timeout
        } else {
            Fail::Reject
        };
    }
    // A few have a compensation that fails for good (it matters only if it runs).
    if rng.chance(4) {
        let at = rng.below(steps.len() as u64) as usize;
        steps[at].undo_fails = true;
    }
    let order = format!("{seed:016x}-{i}");
    (kind, Plan { order, steps })
}

/// The undo of an effect as the services name them: `charge` is undone by `refund`,
/// `reserve` by `cancel`.
pub fn undo_of(effect: &str) -> &'static str {
    match effect {
        "charge" => Service::Bank.undo(),
        "reserve" => Service::Stock.undo(),
        _ => "?",
    }
}

/// The groups (`join!`) of the async suite's sagas: the step ranges that run at once.
pub const ASYNC_GROUPS: [(&str, &[(usize, usize)]); 3] = [
    ("trip", &[(0, 2)]),
    ("order", &[(2, 4)]),
    ("transfer", &[(0, 2), (3, 5)]),
];
