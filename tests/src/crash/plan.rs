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
/// is uncertain. These are the plan's steps: a fan-out's own journal position (its
/// count, see [`FAN_OUTS`]) is no step of the plan.
///
/// The sync suite runs the first [`SYNC_SAGAS`]; the async suites run them all.
pub const SAGAS: [(&str, &[StepShape]); 4] = [
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
    (
        "group",
        &[
            ("charge", Service::Bank, false),
            ("seat", Service::Stock, false),
            ("seat", Service::Stock, false),
            ("seat", Service::Stock, false),
            ("insurance", Service::Bank, true),
        ],
    ),
];

/// How many of [`SAGAS`] (the first ones) the sync suite runs: it drives each saga by
/// hand, and has no fan-out.
pub const SYNC_SAGAS: usize = 3;

/// The fan-outs of the sagas (the async suites'): the plan's step ranges that are one
/// fan-out's items. A fan-out's own journal position holds its count (a step with no
/// effect and no compensation, whose output is the number of items), and its items
/// take the positions after it: see [`journal_index`].
pub const FAN_OUTS: [(&str, &[(usize, usize)]); 1] = [("group", &[(1, 4)])];

/// The fan-outs of the saga `name` (none for most).
pub fn fan_outs(name: &str) -> &'static [(usize, usize)] {
    FAN_OUTS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(&[], |(_, fan_outs)| fan_outs)
}

/// The journal index (the position in the journal and in the idempotency keys) of the
/// plan's step `step` of the saga `name`: its plan index, plus one for each fan-out's
/// count before it.
pub fn journal_index(name: &str, step: usize) -> usize {
    step + fan_outs(name)
        .iter()
        .filter(|&&(start, _)| start <= step)
        .count()
}

/// What a position in a saga's journal holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The plan's step of this index.
    Step(usize),
    /// A fan-out's count: the number of its items.
    Count(usize),
}

/// What the journal index `index` of the saga `name` holds, if anything (a position
/// past the saga's last step holds nothing).
pub fn slot(name: &str, index: usize, steps: usize) -> Option<Slot> {
    let mut counts = 0;
    for &(start, end) in fan_outs(name) {
        let count = start + counts;
        if index == count {
            return Some(Slot::Count(end - start));
        }
        if index < count {
            break;
        }
        counts += 1;
    }
    let step = index - counts;
    (step < steps).then_some(Slot::Step(step))
}

/// The saga number `i` of a sync run seeded with `seed`: which saga (one of the first
/// [`SYNC_SAGAS`]), and its plan.
pub fn plan(seed: u64, i: u64) -> (usize, Plan) {
    plan_among(seed, i, SYNC_SAGAS)
}

/// The saga number `i` of an async run seeded with `seed`: which saga (any of
/// [`SAGAS`]), and its plan.
pub fn async_plan(seed: u64, i: u64) -> (usize, Plan) {
    plan_among(seed, i, SAGAS.len())
}

/// The saga number `i` of a run seeded with `seed`, one of the first `kinds` of
/// [`SAGAS`]: which saga, and its plan.
fn plan_among(seed: u64, i: u64, kinds: usize) -> (usize, Plan) {
    let mut rng = Rng(seed ^ i.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    rng.next_u64();
    let kind = rng.below(kinds as u64) as usize;
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

/// The groups (`join!`, and `join!(for ...)`: the fan-out's items) of the async suite's
/// sagas: the plan's step ranges that run at once.
pub const ASYNC_GROUPS: [(&str, &[(usize, usize)]); 4] = [
    ("trip", &[(0, 2)]),
    ("order", &[(2, 4)]),
    ("transfer", &[(0, 2), (3, 5)]),
    ("group", &[(1, 4)]),
];

/// The most steps a group of the saga `name` runs at once ([`ASYNC_GROUPS`]; 1 for a
/// saga without groups).
pub fn widest_group(name: &str) -> usize {
    ASYNC_GROUPS
        .iter()
        .filter(|(n, _)| *n == name)
        .flat_map(|(_, groups)| groups.iter())
        .map(|(start, end)| end - start)
        .max()
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fan_outs_count_takes_its_journal_position_and_shifts_the_steps_after_it() {
        // group: charge, count, seat ×3, insurance.
        let journal: Vec<usize> = (0..5).map(|p| journal_index("group", p)).collect();
        assert_eq!(journal, [0, 2, 3, 4, 5]);
        let slots: Vec<Option<Slot>> = (0..7).map(|j| slot("group", j, 5)).collect();
        assert_eq!(
            slots,
            [
                Some(Slot::Step(0)),
                Some(Slot::Count(3)),
                Some(Slot::Step(1)),
                Some(Slot::Step(2)),
                Some(Slot::Step(3)),
                Some(Slot::Step(4)),
                None
            ]
        );
        for p in 0..5 {
            assert_eq!(
                slot("group", journal_index("group", p), 5),
                Some(Slot::Step(p))
            );
        }
        // No fan-out: the journal's positions are the plan's.
        assert_eq!(journal_index("transfer", 3), 3);
        assert_eq!(slot("transfer", 4, 5), Some(Slot::Step(4)));
        assert_eq!(slot("transfer", 5, 5), None);
    }

    #[test]
    fn the_sync_plans_are_drawn_among_the_sync_sagas_and_the_async_ones_among_all() {
        let sync: Vec<usize> = (0..200).map(|i| plan(7, i).0).collect();
        assert!(sync.iter().all(|&k| k < SYNC_SAGAS));
        let kinds: std::collections::BTreeSet<usize> =
            (0..200).map(|i| async_plan(7, i).0).collect();
        assert_eq!(kinds.len(), SAGAS.len());
        assert_eq!(widest_group("transfer"), 2);
        assert_eq!(widest_group("group"), 3);
        assert_eq!(widest_group("unknown"), 1);
        for i in 0..50 {
            let (kind, plan) = async_plan(7, i);
            assert_eq!(plan.steps.len(), SAGAS[kind].1.len());
        }
    }
}
