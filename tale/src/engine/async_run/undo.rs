//! The compensations of an async run: of a completed step (a parallel group's branches
//! among them), of an uncertain failed step; at most `max_concurrent_compensations` at a
//! time.

use std::borrow::Borrow;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::{AsyncRun, CatchUnwind};
use crate::clock::AsyncSleep;
use crate::engine::run::{Caught, Tries, Undone, Unwind};
use crate::observe::{Event, Fault, Observer, Scope, Scoped, StepRef};
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
            self.undo(index, step, None::<&S::Output>).await;
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
    pub fn compensate<'a, S: AsyncStep<Error = E>>(
        &'a self,
        index: usize,
        step: &'a mut S,
        output: S::Output,
    ) -> impl Future<Output = ()> + 'a {
        // Not an `async fn` around `undo`: one state machine instead of two nested,
        // the check a constant of the step's type.
        let undo = step
            .has_compensation()
            .then(|| self.undo(index, step, Some(output)));
        Discard { undo }
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
    ///
    /// The first attempt runs inline, as a step's does: with a silent observer it
    /// takes the run's lock once (the skip check), and nothing is built for a retry.
    /// A fault to inject, a failure and the retries live in a boxed future, so that
    /// every saga's state holds a pointer for them, not the whole retry loop (with its
    /// sleep) for every compensation.
    pub(crate) async fn undo<S: AsyncStep<Error = E>, B: Borrow<S::Output>>(
        &self,
        index: usize,
        step: &mut S,
        output: Option<B>,
    ) -> Undone {
        let output = output.as_ref().map(Borrow::borrow);
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
        let mut scope = Scope::none();
        if !self.silent {
            let fault = {
                let mut run = self.run.lock();
                let fault = run.compensation_started(StepRef::of(index, step), 1, uncertain);
                scope = run.scope(index);
                fault
            };
            // A compensation is not repeated: `Repeat` only applies to steps.
            if let Some(fault @ (Fault::Fail(_) | Fault::Delay(_))) = fault {
                let first = FirstUndo::Fault(fault, scope);
                return Box::pin(self.undo_attempts(index, step, output, first)).await;
            }
        }
        let caught = CatchUnwind(pin!(Scoped::new(scope, undo_call(step, output)))).await;
        match caught {
            Ok(Some(Ok(()))) => {
                if !self.silent {
                    let step = StepRef::of(index, step);
                    let event = Event::CompensationSucceeded { step, attempt: 1 };
                    self.run.lock().emit(&event);
                }
                Undone::Succeeded
            }
            // It said it could be undone without its output, then could not.
            Ok(None) => self.run.lock().outcome_unknown(index, &*step),
            Ok(Some(Err(error))) => {
                let first = FirstUndo::Ran(Ok(Err(error)));
                Box::pin(self.undo_attempts(index, step, output, first)).await
            }
            Err(payload) => {
                let first = FirstUndo::Ran(Err(payload));
                Box::pin(self.undo_attempts(index, step, output, first)).await
            }
        }
    }

    /// The attempts of a compensation after its first was started: settles `first`,
    /// then retries under the step's compensation policy.
    #[cold]
    async fn undo_attempts<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
        output: Option<&S::Output>,
        first: FirstUndo<E>,
    ) -> Undone {
        let uncertain = output.is_none();
        let mut tries = Tries::new();
        let mut first = Some(first);
        loop {
            let (fault, scope) = match first.take() {
                Some(FirstUndo::Ran(result)) => (None, Err(result)),
                Some(FirstUndo::Fault(fault, scope)) => (Some(fault), Ok(scope)),
                None => {
                    let mut run = self.run.lock();
                    let step = StepRef::of(index, step);
                    let fault = run.compensation_started(step, tries.attempt, uncertain);
                    (fault, Ok(run.scope(index)))
                }
            };
            let result = match scope {
                Err(result) => result,
                Ok(scope) => {
                    // Boxed, as the retry's sleep below: a timer is large.
                    let delay = self.delay(fault.as_ref()).map(Box::pin);
                    let attempt = async {
                        if let Some(Fault::Fail(error)) = fault {
                            return Some(Err(error));
                        }
                        if let Some(delay) = delay {
                            delay.await;
                        }
                        undo_call(step, output).await
                    };
                    let caught = CatchUnwind(pin!(Scoped::new(scope, attempt))).await;
                    match caught {
                        Ok(Some(result)) => Ok(result),
                        Err(payload) => Err(payload),
                        // It said it could be undone without its output, then could not.
                        Ok(None) => return self.run.lock().outcome_unknown(index, &*step),
                    }
                }
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

pin_project! {
    /// A compensation's future, its outcome dropped; nothing if the step has no
    /// compensation.
    struct Discard<F> {
        #[pin]
        undo: Option<F>,
    }
}

impl<F: Future<Output = Undone>> Future for Discard<F> {
    type Output = ();

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match self.project().undo.as_pin_mut() {
            Some(undo) => undo.poll(cx).map(drop),
            None => Poll::Ready(()),
        }
    }
}

/// The first attempt of a compensation, when the inline path already started it.
enum FirstUndo<E> {
    /// It ran, and did not succeed.
    Ran(Caught<(), E>),
    /// It was started, and the observer injected this fault; it runs in this scope.
    Fault(Fault<E>, Scope),
}

/// One call of `step`'s compensation: with its output, or for an uncertain outcome
/// (`None` if it turns out to have no compensation for that).
async fn undo_call<S: AsyncStep>(
    step: &mut S,
    output: Option<&S::Output>,
) -> Option<Result<(), S::Error>> {
    match output {
        Some(output) => Some(step.compensate(output).await),
        None => step.compensate_uncertain().await,
    }
}
