//! The proptest strategies that draw saga plans.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use tale::{OnCompensationFailure, StepKind};

use super::*;

fn backoff() -> impl Strategy<Value = Backoff> {
    prop_oneof![
        Just(Backoff::Immediate),
        (0u64..=50).prop_map(Backoff::Constant),
        (1u64..=20).prop_map(Backoff::Exponential),
        vec(0u64..=50, 0..=5).prop_map(Backoff::Custom),
    ]
}

fn policy() -> impl Strategy<Value = Policy> {
    (
        prop_oneof![4 => (0u32..=5).prop_map(Some), 1 => Just(None)],
        backoff(),
        option::weighted(0.2, 1u64..=60),
        option::weighted(0.25, 0u64..=200),
        any::<bool>(),
    )
        .prop_map(|(retries, backoff, max_delay, max_elapsed, classify)| {
            Policy {
                retries,
                backoff,
                max_delay,
                max_elapsed,
                classify,
            }
            .bounded()
        })
}

/// Scripted errors before the end: none (with weight `none`, against 1), else one to
/// four, mostly transient.
fn errors(none: u32) -> impl Strategy<Value = Vec<bool>> {
    prop_oneof![none => Just(Vec::new()), 1 => vec(proptest::bool::weighted(0.25), 1..=4)]
}

fn end(ok_weight: u32) -> impl Strategy<Value = End> {
    prop_oneof![
        ok_weight => Just(End::Succeed),
        4 => any::<bool>().prop_map(|permanent| End::Fail { permanent }),
        1 => Just(End::Panic),
    ]
}

fn script(ok_weight: u32) -> impl Strategy<Value = Script> {
    (errors(ok_weight * 3 / 4), end(ok_weight)).prop_map(|(errors, end)| Script { errors, end })
}

fn cost() -> impl Strategy<Value = u64> {
    prop_oneof![3 => Just(0u64), 1 => 1u64..=30]
}

fn undo_plan() -> impl Strategy<Value = UndoPlan> {
    let end = prop_oneof![
        24 => Just(End::Succeed),
        6 => any::<bool>().prop_map(|permanent| End::Fail { permanent }),
        1 => Just(End::Panic),
    ];
    (
        (errors(3), end).prop_map(|(errors, end)| Script { errors, end }),
        prop_oneof![2 => Just(None), 3 => policy().prop_map(Some)],
    )
        .prop_map(|(script, retry)| UndoPlan { script, retry })
}

/// A compensatable step, usually with a compensation (branches of a concurrent
/// transaction are never uncertain).
pub(crate) fn compensatable(ok_weight: u32, may_be_uncertain: bool) -> BoxedStrategy<StepPlan> {
    (
        script(ok_weight),
        prop_oneof![2 => Just(None), 3 => policy().prop_map(Some)],
        proptest::bool::weighted(if may_be_uncertain { 0.3 } else { 0.0 }),
        cost(),
        prop_oneof![1 => Just(None), 6 => undo_plan().prop_map(Some)],
    )
        .prop_map(|(script, retry, uncertain, cost, undo)| StepPlan {
            kind: StepKind::Compensatable,
            script,
            retry,
            uncertain,
            cost,
            undo,
        })
        .boxed()
}

/// The pivot: no compensation (whether it is marked uncertain changes nothing).
fn pivot(ok_weight: u32) -> BoxedStrategy<StepPlan> {
    (
        script(ok_weight),
        prop_oneof![2 => Just(None), 1 => policy().prop_map(Some)],
        any::<bool>(),
        cost(),
    )
        .prop_map(|(script, retry, uncertain, cost)| StepPlan {
            kind: StepKind::Pivot,
            script,
            retry,
            uncertain,
            cost,
            undo: None,
        })
        .boxed()
}

/// A retriable step: no compensation; without a policy of its own it is retried until
/// it succeeds, so its script must end in success (or a panic) after finitely many
/// errors (up to 10, so the default exponential backoff reaches its 30 s cap).
fn retriable(ok_weight: u32) -> BoxedStrategy<StepPlan> {
    let defaulted = (
        prop_oneof![2 => Just(Vec::new()), 1 => vec(any::<bool>(), 1..=10)],
        prop_oneof![ok_weight => Just(End::Succeed), 1 => Just(End::Panic)],
    )
        .prop_map(|(errors, end)| (Script { errors, end }, None));
    let explicit = (script(ok_weight), policy()).prop_map(|(s, p)| (s, Some(p)));
    (prop_oneof![3 => defaulted, 1 => explicit], cost())
        .prop_map(|((script, retry), cost)| StepPlan {
            kind: StepKind::Retriable,
            script,
            retry,
            uncertain: false,
            cost,
            undo: None,
        })
        .boxed()
}

/// How often a step succeeds at the end of its script, against 5 for failing or
/// panicking (and how rarely it has scripted errors first): some cases fail early, some
/// fail deep into long sagas, some run to the end.
fn ok_weight() -> impl Strategy<Value = u32> {
    prop_oneof![Just(5u32), Just(40), Just(400)]
}

fn on_failure() -> impl Strategy<Value = OnCompensationFailure> {
    prop_oneof![
        Just(OnCompensationFailure::Continue),
        Just(OnCompensationFailure::Stop)
    ]
}

/// Sagas of 0 to 30 steps: compensatable steps, then (in half the cases) a pivot and
/// retriable steps. Half the cases mix failures at some rate; in the other half the
/// steps almost always succeed except one chosen uniformly, which fails for good (or
/// panics), so that failures deep into long sagas are common too.
pub(crate) fn saga_plan() -> impl Strategy<Value = SagaPlan> {
    let mood = prop_oneof![ok_weight().prop_map(|w| (w, false)), Just((4000, true)),];
    (0usize..=30, any::<bool>(), mood)
        .prop_flat_map(|(len, pivoted, (w, targeted))| {
            let pivot_at = if pivoted && len > 0 {
                (0..len).prop_map(Some).boxed()
            } else {
                Just(None).boxed()
            };
            (Just(len), pivot_at, Just(w), Just(targeted))
        })
        .prop_flat_map(|(len, pivot_at, w, targeted)| {
            let steps: Vec<BoxedStrategy<StepPlan>> = (0..len)
                .map(|i| match pivot_at {
                    Some(p) if i == p => pivot(w),
                    Some(p) if i > p => retriable(w),
                    _ => compensatable(w, true),
                })
                .collect();
            let target = if targeted {
                (any::<prop::sample::Index>(), final_failure())
                    .prop_map(Some)
                    .boxed()
            } else {
                Just(None).boxed()
            };
            (steps, on_failure(), target)
        })
        .prop_map(|(mut steps, on_failure, target)| {
            if let Some((index, end)) = target
                && !steps.is_empty()
            {
                let at = index.index(steps.len());
                let step = &mut steps[at];
                // A retriable step without a policy would retry a failure forever.
                let unbounded = step.kind == StepKind::Retriable && step.retry.is_none();
                step.script.end = if unbounded { End::Panic } else { end };
            }
            SagaPlan { steps, on_failure }
        })
}

/// How a targeted step ends: it fails for good (or panics) whatever came before.
fn final_failure() -> impl Strategy<Value = End> {
    prop_oneof![
        4 => any::<bool>().prop_map(|permanent| End::Fail { permanent }),
        1 => Just(End::Panic),
    ]
}

/// The branches of a concurrent transaction: 0 to 12, each compensatable.
pub(crate) fn branches_plan() -> impl Strategy<Value = SagaPlan> {
    (0usize..=12, ok_weight())
        .prop_flat_map(|(len, w)| {
            let branches: Vec<_> = (0..len).map(|_| compensatable(w, false)).collect();
            (branches, on_failure())
        })
        .prop_map(|(steps, on_failure)| SagaPlan { steps, on_failure })
}
