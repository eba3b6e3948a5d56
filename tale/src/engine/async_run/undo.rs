//! The compensations of an async run: of a completed step (a parallel group's branches
//! among them), of an uncertain failed step; at most `max_concurrent_compensations` at a
//! time.

use std::pin::pin;

use super::{AsyncRun, CatchUnwind};
use crate::clock::AsyncSleep;
use crate::engine::run::{Tries, Undone, Unwind};
use crate::observe::{Fault, Observer, Scoped, StepRef};
use crate::step::AsyncStep;

impl<'x, E, O: Observer<E>, C: AsyncSleep> AsyncRun<'x, E, O, C> {
    /// Compensates a step that failed, if its work may have happened: its outcome is
    /// uncertain, or its attempt was cut short (`interrupted`: a timeout, the deadline,
    /// a cancellation, a failed fail-fast sibling). Without a compensation that works
    /// without its output, it is reported as not compensated.
    pub(super) async fn undo_uncertain<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
        interrupted: bool,
    ) {
        if !(interrupted || step.is_uncertain()) || !step.has_compensation() {
            return;
        }
        if step.compensates_without_output() {
            self.undo(index, step, None).await;
        } else {
            self.run.lock().outcome_unknown(index, &*step);
        }
    }

    /// The run's engine state, for a durable run that journals around it.
    #[cfg(feature = "journal")]
    pub(crate) fn engine(&self) -> std::sync::MutexGuard<'_, crate::engine::Run<'x, E, O, C>> {
        self.run.lock()
    }

    /// Compensates the completed `step` given its output, as
    /// [`Run::compensate`](crate::engine::Run::compensate),
    /// once a permit is free if the run bounds its concurrent compensations. A group's
    /// compensations are joined by the caller; the order it lists them in is the order
    /// they take the permits (`saga!` lists the last branch first,
    /// `run_concurrent_transaction` the first).
    pub async fn compensate<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
        output: S::Output,
    ) {
        if step.has_compensation() {
            self.undo(index, step, Some(&output)).await;
        }
    }

    /// Settles branch `index` of a parallel group after some branch failed: compensates
    /// it if it succeeded (as [`compensate`](Self::compensate)), or hands back how it
    /// failed.
    pub async fn settle_branch<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
        result: Result<S::Output, Unwind<E>>,
    ) -> Option<Unwind<E>> {
        match result {
            Ok(output) => {
                self.compensate(index, step, output).await;
                None
            }
            Err(unwind) => Some(unwind),
        }
    }

    /// Compensates with `output`, or as an uncertain failed step if `None`, and says
    /// what became of it.
    pub(crate) async fn undo<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
        output: Option<&S::Output>,
    ) -> Undone {
        if self.run.lock().skipped(index, &*step) {
            return Undone::Skipped;
        }
        // With `max_concurrent_compensations`, every compensation takes a permit: the
        // branches of a group (listed last first by `saga!`) and the uncertain
        // compensations of branches that failed while their siblings ran.
        let _permit = match &self.permits {
            Some(permits) => Some(permits.acquire().await),
            None => None,
        };
        let uncertain = output.is_none();
        let mut tries = Tries::new();
        loop {
            let (fault, scope) = {
                let mut run = self.run.lock();
                let step = StepRef::of(index, step);
                let fault = run.compensation_started(step, tries.attempt, uncertain);
                (fault, run.scope(index))
            };
            // Boxed, as the retry's sleep below: a timer is large, and held in the
            // state of every saga that could compensate, it would be copied with it
            // (a runtime moves a future it is handed); only an injected delay or a
            // retried compensation pays the box.
            let delay = self.delay(fault.as_ref()).map(Box::pin);
            let caught = {
                let attempt = async {
                    if let Some(Fault::Fail(error)) = fault {
                        return Some(Err(error));
                    }
                    if let Some(delay) = delay {
                        delay.await;
                    }
                    match output {
                        Some(output) => Some(step.compensate(output).await),
                        None => step.compensate_uncertain().await,
                    }
                };
                CatchUnwind(pin!(Scoped::new(scope, attempt))).await
            };
            let result = match caught {
                Ok(Some(result)) => Ok(result),
                Err(payload) => Err(payload),
                // It said it could be undone without its output, then could not.
                Ok(None) => return self.run.lock().outcome_unknown(index, &*step),
            };
            let outcome = Undone::of(&result);
            let next = self
                .run
                .lock()
                .settle_compensation(index, &*step, &mut tries, result, uncertain);
            match next {
                Some(delay) => {
                    let sleep = Box::pin(self.run.lock().executor.clock.sleep_async(delay));
                    sleep.await;
                }
                None => return outcome,
            }
        }
    }
}
