//! Step kinds at the type level: how `saga!` rejects a compensatable step after the
//! pivot, or a second pivot, at compile time.
//!
//! `#[step]` functions return `impl Step + Kinded<Kind = K>`. For each step the saga
//! expansion asks the step's kind with autoref specialization (types without
//! [`Kinded`], such as hand-written `Step` impls, count as [`Compensatable`]) and folds
//! it into a phase: `kind.then(phase)` only compiles when the step may come next.

use std::marker::PhantomData;

use crate::step::{Describe, FnPair, FnStep, Tuning};

/// A step's kind, as a type.
pub trait Kinded {
    /// One of [`Compensatable`], [`Uncompensated`], [`Pivot`], [`Retriable`].
    type Kind: Default;
}

/// A step with a compensation: it may not follow the pivot.
#[derive(Clone, Copy, Debug, Default)]
pub struct Compensatable;
/// A step without a compensation that is neither pivot nor retriable (a log line).
#[derive(Clone, Copy, Debug, Default)]
pub struct Uncompensated;
/// The go/no-go step.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pivot;
/// A step after the pivot, retried until it succeeds.
#[derive(Clone, Copy, Debug, Default)]
pub struct Retriable;

/// No pivot has run yet.
#[derive(Clone, Copy, Debug, Default)]
pub struct BeforePivot;
/// The pivot has run: only uncompensated and retriable steps may follow.
#[derive(Clone, Copy, Debug, Default)]
pub struct AfterPivot;

/// A phase in which a compensatable step may run.
#[diagnostic::on_unimplemented(
    message = "a compensatable step cannot follow the saga's pivot",
    label = "this step has a compensation but runs after the pivot",
    note = "once the pivot succeeds the saga must run to completion: move this step before the pivot, or make it `#[step(retriable)]` without a compensation"
)]
pub trait CompensatableMayRun {}
impl CompensatableMayRun for BeforePivot {}

/// A phase in which the pivot may run.
#[diagnostic::on_unimplemented(
    message = "a saga has at most one pivot",
    label = "second pivot",
    note = "the pivot is the saga's single go/no-go point: remove `pivot` from all but one step, and make the steps after it `retriable`"
)]
pub trait PivotMayRun {}
impl PivotMayRun for BeforePivot {}

/// A phase in which the pivot may be a branch of `join!`: none.
#[diagnostic::on_unimplemented(
    message = "the pivot cannot be a branch of `join!`",
    label = "the pivot, in a parallel group",
    note = "the pivot is the saga's go/no-go point and is never undone, but a sibling branch could still fail after it succeeded: run the pivot on its own, before or after the `join!`"
)]
pub trait PivotInGroup {}

/// A phase in which the pivot may be fanned out over items: none.
#[diagnostic::on_unimplemented(
    message = "the pivot cannot be fanned out over items",
    label = "the pivot, run once per item",
    note = "the pivot is the saga's go/no-go point and is never undone, but a later item could still fail after one item's pivot succeeded: fan out compensatable steps before the pivot, or retriable ones after it, and run the pivot once on its own"
)]
pub trait PivotFannedOut {}

impl Compensatable {
    /// The phase after this step.
    #[inline]
    pub fn then<P: CompensatableMayRun>(self, phase: P) -> P {
        phase
    }

    /// Checks this step as the step of a fan-out entered in `phase`.
    #[inline]
    pub fn in_items<P: CompensatableMayRun>(self, _phase: P) {}

    /// Checks this step as a branch of `join!` entered in `phase`.
    #[inline]
    pub fn in_group<P: CompensatableMayRun>(self, _phase: P) {}
}
impl Uncompensated {
    /// The phase after this step.
    #[inline]
    pub fn then<P>(self, phase: P) -> P {
        phase
    }

    /// Checks this step as the step of a fan-out: any phase.
    #[inline]
    pub fn in_items<P>(self, _phase: P) {}

    /// Checks this step as a branch of `join!`: any phase.
    #[inline]
    pub fn in_group<P>(self, _phase: P) {}
}
impl Retriable {
    /// The phase after this step.
    #[inline]
    pub fn then<P>(self, phase: P) -> P {
        phase
    }

    /// Checks this step as the step of a fan-out: any phase.
    #[inline]
    pub fn in_items<P>(self, _phase: P) {}

    /// Checks this step as a branch of `join!`: any phase.
    #[inline]
    pub fn in_group<P>(self, _phase: P) {}
}
impl Pivot {
    /// The phase after this step.
    #[inline]
    pub fn then<P: PivotMayRun>(self, _phase: P) -> AfterPivot {
        AfterPivot
    }

    /// A pivot is never a branch of `join!`.
    #[inline]
    pub fn in_group<P: PivotInGroup>(self, _phase: P) {}

    /// A pivot is never fanned out.
    #[inline]
    pub fn in_items<P: PivotFannedOut>(self, _phase: P) {}
}

/// Asks a step value for its kind: `(&Probe::new(&step)).tale_kind()`.
pub struct Probe<'a, S>(PhantomData<&'a S>);

impl<'a, S> Probe<'a, S> {
    /// A probe for `step`'s type.
    #[inline]
    pub fn new(_step: &'a S) -> Self {
        Probe(PhantomData)
    }

    /// A probe for the type of a fan-out's steps, which may be none.
    #[inline]
    pub fn items(_steps: &'a [S]) -> Self {
        Probe(PhantomData)
    }
}

/// The kind of a step that says it ([`Kinded`]); found first by method resolution.
pub trait KindOfMarked {
    /// The kind.
    type Kind;
    /// The kind's value.
    fn tale_kind(&self) -> Self::Kind;
}

impl<S: Kinded> KindOfMarked for Probe<'_, S> {
    type Kind = S::Kind;
    #[inline]
    fn tale_kind(&self) -> S::Kind {
        S::Kind::default()
    }
}

/// The kind of any other step: compensatable.
pub trait KindOfUnmarked {
    /// The kind's value.
    fn tale_kind(&self) -> Compensatable;
}

impl<S> KindOfUnmarked for &Probe<'_, S> {
    #[inline]
    fn tale_kind(&self) -> Compensatable {
        Compensatable
    }
}

impl<F, E> Kinded for FnStep<F, E> {
    type Kind = Uncompensated;
}
impl<F, G, E> Kinded for FnPair<F, G, E> {
    type Kind = Compensatable;
}
impl<S: Describe + Kinded, M> Kinded for Tuning<S, M> {
    type Kind = S::Kind;
}
