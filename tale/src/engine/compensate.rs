//! Compensation, the backward half of a [`Run`]: undoing a completed step under its
//! compensation policy, undoing a step whose outcome is uncertain, and recording what
//! could not be undone ([`NotCompensated`]): a saga never reports a step as undone
//! unless its compensation ran and succeeded.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::run::{Caught, Run, Tries, Undone};
use crate::clock::Clock;
use crate::error::{NotCompensated, StepId};
use crate::observe::{Event, Fault, FaultPoint, Observer, StepRef};
use crate::step::{Describe, Step};

impl<E, O: Observer<E>, C: Clock> Run<'_, E, O, C> {
    /// Compensates a step that failed, if its outcome is uncertain.
    #[cold]
    pub(crate) fn compensate_uncertain<S: Step<Error = E>>(&mut self, index: usize, step: &mut S) {
        if step.is_uncertain() && step.has_compensation() {
            self.undo_uncertain(index, step);
        }
    }

    /// Undoes a step that may have done its work without returning its output: with
    /// its compensation for an unknown outcome if it has one, else it is reported as not
    /// compensated.
    pub(crate) fn undo_uncertain<S: Step<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
    ) -> Undone {
        if !step.compensates_without_output() {
            return self.outcome_unknown(index, &*step);
        }
        // A step that said it could and then answers `None` is not undone either.
        let unknown = Cell::new(false);
        self.undo(index, step, true, &unknown, |s| {
            s.compensate_uncertain().unwrap_or_else(|| {
                unknown.set(true);
                Ok(())
            })
        })
    }

    /// Records a step that may have done its work and cannot be undone: its outcome is
    /// unknown.
    #[cold]
    pub(crate) fn outcome_unknown<S: Describe + ?Sized>(
        &mut self,
        index: usize,
        step: &S,
    ) -> Undone {
        if self.skipped(index, step) {
            return Undone::Skipped;
        }
        self.emit(&Event::OutcomeUnknown {
            step: StepRef::of(index, step),
        });
        self.trouble()
            .not_compensated
            .push(NotCompensated::OutcomeUnknown(StepId::of(index, step)));
        Undone::OutcomeUnknown
    }

    /// Compensates the completed step `step` (position `index`) given its output, under
    /// its compensation retry policy. Failures are recorded for [`finish`](Self::finish).
    #[inline]
    pub fn compensate<S: Step<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
        output: S::Output,
    ) {
        self.compensate_step(index, step, output);
    }

    /// As [`compensate`](Self::compensate), saying what became of the compensation
    /// (`None` for a step without one).
    ///
    /// With a silent observer, the first attempt's success is inlined into the caller,
    /// as a step's is; a failure, the retries and the events live out of line.
    #[inline]
    pub(crate) fn compensate_step<S: Step<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
        output: S::Output,
    ) -> Option<Undone> {
        if !step.has_compensation() {
            return None;
        }
        let known = Cell::new(false);
        if !self.executor.observer.is_silent() || self.stopped() {
            return Some(self.undo(index, step, false, &known, |s| s.compensate(&output)));
        }
        let result = self
            .scope(index)
            .enter(|| catch_unwind(AssertUnwindSafe(|| step.compensate(&output))));
        Some(match result {
            Ok(Ok(())) => Undone::Succeeded,
            result => self.undo_again(index, step, false, &known, result, |s| {
                s.compensate(&output)
            }),
        })
    }

    /// The compensation failure of step `index` recorded in this run, if any.
    #[cfg(feature = "journal")]
    pub(crate) fn compensation_failure_of(
        &self,
        index: usize,
    ) -> Option<&crate::error::CompensationFailure<E>> {
        self.trouble
            .as_deref()?
            .compensations
            .iter()
            .rev()
            .find(|f| f.step.index == index)
    }

    /// Runs the attempts of a compensation (`undo`) under the step's compensation policy.
    /// If `unknown` is set by an attempt, the step turned out to have no compensation for
    /// its outcome: it is reported as not compensated.
    #[inline(never)]
    fn undo<S, F>(
        &mut self,
        index: usize,
        step: &mut S,
        uncertain: bool,
        unknown: &Cell<bool>,
        mut undo: F,
    ) -> Undone
    where
        S: Step<Error = E>,
        F: FnMut(&mut S) -> Result<(), E>,
    {
        if self.skipped(index, &*step) {
            return Undone::Skipped;
        }
        let result = self.undo_once(index, step, uncertain, 1, &mut undo);
        if unknown.get() {
            return self.outcome_unknown(index, &*step);
        }
        if let Ok(Ok(())) = result {
            if !self.executor.observer.is_silent() {
                let step = StepRef::of(index, step);
                self.emit(&Event::CompensationSucceeded { step, attempt: 1 });
            }
            return Undone::Succeeded;
        }
        self.undo_again(index, step, uncertain, unknown, result, undo)
    }

    /// The attempts of a compensation after its first, `result`, did not succeed:
    /// settles it, then retries under the step's compensation policy.
    #[cold]
    #[inline(never)]
    fn undo_again<S, F>(
        &mut self,
        index: usize,
        step: &mut S,
        uncertain: bool,
        unknown: &Cell<bool>,
        mut result: Caught<(), E>,
        mut undo: F,
    ) -> Undone
    where
        S: Step<Error = E>,
        F: FnMut(&mut S) -> Result<(), E>,
    {
        let mut tries = Tries::new();
        loop {
            let outcome = Undone::of(&result);
            match self.settle_compensation(index, &*step, &mut tries, result, uncertain) {
                Some(delay) => self.executor.clock.sleep(delay),
                None => return outcome,
            }
            result = self.undo_once(index, step, uncertain, tries.attempt, &mut undo);
            if unknown.get() {
                return self.outcome_unknown(index, &*step);
            }
        }
    }

    /// One attempt of a compensation: its start event, an injected fault if any, the
    /// call.
    fn undo_once<S, F>(
        &mut self,
        index: usize,
        step: &mut S,
        uncertain: bool,
        attempt: u32,
        undo: &mut F,
    ) -> Caught<(), E>
    where
        S: Step<Error = E>,
        F: FnMut(&mut S) -> Result<(), E>,
    {
        // A silent observer is told nothing (and injects nothing): the step is not asked
        // to describe itself.
        let fault = if self.executor.observer.is_silent() {
            None
        } else {
            self.compensation_started(StepRef::of(index, step), attempt, uncertain)
        };
        let undo = || catch_unwind(AssertUnwindSafe(|| undo(step)));
        match fault {
            // A compensation is not repeated: `Repeat` only applies to steps.
            None | Some(Fault::Repeat) => self.scope(index).enter(undo),
            Some(fault) => self.faulty(index, fault, undo),
        }
    }

    /// Emits the start of an attempt of `step`'s compensation and asks the observer for
    /// a fault to inject into it.
    pub(crate) fn compensation_started(
        &mut self,
        step: StepRef<'_>,
        attempt: u32,
        uncertain: bool,
    ) -> Option<Fault<E>> {
        self.emit(&Event::CompensationStarted {
            step,
            attempt,
            uncertain,
        });
        let point = FaultPoint::Compensate { step, attempt };
        self.executor.observer.intercept(&point)
    }

    /// Records a compensation that will not run because an earlier one failed and the
    /// executor stops at the first failure. Returns true if so.
    #[inline]
    pub(crate) fn skipped<S: Describe + ?Sized>(&mut self, index: usize, step: &S) -> bool {
        let stopped = self.stopped();
        if stopped {
            self.record_skipped(index, step);
        }
        stopped
    }

    /// Records the compensation of `step` as skipped.
    #[cold]
    fn record_skipped<S: Describe + ?Sized>(&mut self, index: usize, step: &S) {
        self.emit(&Event::CompensationSkipped {
            step: StepRef::of(index, step),
        });
        self.trouble()
            .not_compensated
            .push(NotCompensated::Skipped(StepId::of(index, step)));
    }
}
