//! [`AsyncRun`]: one run of an async saga, [`Run`]'s logic behind a lock. A plain step
//! takes the run exclusively and needs no lock; the branches of a parallel group share
//! it, each taking the lock between its awaits, so that they run concurrently.

mod race;
mod undo;

use std::any::Any;
use std::future::Future;
use std::pin::pin;
use std::time::Duration;

use super::executor::Executor;
use super::permits::Permits;
use super::run::{Caught, Flow, Run, Tries, Unwind};
use super::shared::Shared;
use crate::clock::{AsyncSleep, Clock};
use crate::error::SagaError;
use crate::observe::{Event, Fault, Observer, Scope, Scoped, StepRef};
use crate::retry::GaveUp;
use crate::step::AsyncStep;
use crate::timeout::{CancelHandle, CancelOn, Cancelled, Limits, TimedOut, Timeout};

pub(crate) use race::CatchUnwind;
use race::Race;

/// One run of an async saga on an [`Executor`]. A plain step takes it exclusively
/// ([`step`](Self::step)); the branches of a parallel group share it
/// ([`branch`](Self::branch), [`settle_branch`](Self::settle_branch)).
pub struct AsyncRun<'x, E, O, C> {
    run: Shared<Run<'x, E, O, C>>,
    deadline: Option<(Duration, Timeout<E>)>,
    cancel: Option<CancelOn<'x, E>>,
    /// With fail-fast groups: the signal that stops a parallel group's branches in
    /// flight once one of them failed for good.
    siblings: Option<Signal<E>>,
    /// With `max_concurrent_compensations`: the bound on the compensations running at
    /// once (a group's branches, uncertain failed branches).
    permits: Option<Permits>,
    /// The observer ignores everything ([`Observer::is_silent`]): a first attempt
    /// need not reach the run at all.
    silent: bool,
}

/// The first attempt of a step, when the plain path already started it.
enum First<T, E> {
    /// It ran, and did not succeed.
    Ran(Caught<T, E>),
    /// It was started, and the observer injected this fault; it runs in this scope.
    Fault(Fault<E>, Scope),
}

/// A step that failed for good: how, and whether its last attempt was cut short (so
/// that its work may have happened).
pub(crate) struct Failed<E> {
    pub(crate) unwind: Unwind<E>,
    pub(crate) interrupted: bool,
}

/// An internal cancel signal and the error it gives a stopped step.
type Signal<E> = (CancelHandle, fn(Cancelled) -> E);

/// What stopped an attempt before it finished.
enum Interrupt {
    TimedOut(Duration),
    Deadline,
    Cancelled,
    /// Another branch of the parallel group failed, and the run is fail-fast.
    SiblingFailed,
}

/// The first attempt of a step on the plain path (no limit to race, no fault): run
/// inline, with the run reached through `$run` (a `&mut Execution`: exclusive, or
/// locked), and not at all if the observer is silent. Everything else (faults,
/// failures, retries, limits) lives in a boxed future, so that a saga's state machine
/// holds a pointer for it, not the whole retry loop for every step.
macro_rules! first_attempt {
    ($this:ident, $index:ident, $step:ident, $run:expr) => {{
        if !$this.unlimited($step) {
            return Box::pin($this.attempts($index, $step, None)).await;
        }
        let mut scope = Scope::none();
        let fault = if $this.silent {
            None
        } else {
            started($run, $index, $step, 1, &mut scope)
        };
        if let Some(fault) = fault {
            let first = Some(First::Fault(fault, scope));
            return Box::pin($this.attempts($index, $step, first)).await;
        }
        let result = CatchUnwind(pin!(Scoped::new(scope, $step.execute()))).await;
        match result {
            Ok(Ok(output)) => {
                if !$this.silent {
                    let step = StepRef::of($index, $step);
                    $run.emit(&Event::AttemptSucceeded { step, attempt: 1 });
                }
                Ok(output)
            }
            result => Box::pin($this.attempts($index, $step, Some(First::Ran(result)))).await,
        }
    }};
}

/// Emits the start of an attempt and asks the observer for a fault to inject, and for
/// the scope the attempt runs in (into `scope`: returned in a pair with the fault, it
/// cost every step's future a drop flag).
fn started<E, O: Observer<E>, C: Clock, S: AsyncStep<Error = E>>(
    run: &mut Run<'_, E, O, C>,
    index: usize,
    step: &S,
    attempt: u32,
    scope: &mut Scope,
) -> Option<Fault<E>> {
    let fault = run.attempt_started(StepRef::of(index, step), attempt);
    *scope = run.scope(index);
    fault
}

impl<'x, E, O: Observer<E>, C: AsyncSleep> AsyncRun<'x, E, O, C> {
    /// Starts a run of the saga named `saga`.
    pub fn start(executor: &'x mut Executor<O, C>, saga: &'x str) -> Self {
        let silent = executor.observer.is_silent();
        Self {
            silent,
            run: Shared::new(Run::start(executor, saga)),
            deadline: None,
            cancel: None,
            siblings: None,
            permits: None,
        }
    }

    /// Applies a deadline (counted from now) and a cancel handle.
    #[must_use]
    pub fn limits(mut self, limits: Limits<'x, E>) -> Self {
        if let Some(deadline) = limits.deadline {
            let now = self.run.get_mut().executor.clock.now();
            self.deadline = Some((now.saturating_add(deadline.after), deadline));
        }
        self.cancel = limits.cancel;
        self.siblings = limits.fail_fast.map(|error| (CancelHandle::new(), error));
        self.permits = (limits.compensation_concurrency < usize::MAX)
            .then(|| Permits::new(limits.compensation_concurrency));
        self
    }

    /// The wait an injected [`Fault::Delay`] asks for.
    fn delay(&self, fault: Option<&Fault<E>>) -> Option<impl Future<Output = ()> + '_> {
        match fault {
            Some(Fault::Delay(delay)) => {
                let sleep = self.run.lock().executor.clock.sleep_async(*delay);
                Some(sleep)
            }
            _ => None,
        }
    }

    /// The earliest time limit on the next attempt of `step`, if any.
    fn limit<S: AsyncStep<Error = E>>(&self, step: &S) -> Option<(Duration, Interrupt)> {
        let timeout = step
            .timeout()
            .map(|t| (t.after, Interrupt::TimedOut(t.after)));
        // The clock is read only when a deadline is set.
        let deadline = self.deadline.as_ref().map(|(at, _)| {
            let now = self.run.lock().executor.clock.now();
            (at.saturating_sub(now), Interrupt::Deadline)
        });
        match (timeout, deadline) {
            (Some(t), Some(d)) => Some(if d.0 < t.0 { d } else { t }),
            (t, d) => t.or(d),
        }
    }

    /// Runs `future`, unless the time limit or the cancel handle stops it first.
    async fn guarded<F: Future>(
        &self,
        future: F,
        limit: Option<(Duration, Interrupt)>,
    ) -> Result<Result<F::Output, Box<dyn Any + Send>>, Interrupt> {
        let future = pin!(CatchUnwind(pin!(future)));
        if limit.is_none() && self.cancel.is_none() && self.siblings.is_none() {
            return Ok(future.await);
        }
        let (timer, reason) = match limit {
            Some((after, reason)) => {
                let sleep = self.run.lock().executor.clock.sleep_async(after);
                (Some(sleep), Some(reason))
            }
            None => (None, None),
        };
        let cancelled = self.cancel.as_ref().map(|(handle, _)| handle.cancelled());
        let sibling_failed = self.siblings.as_ref().map(|(handle, _)| handle.cancelled());
        Race {
            cancelled: pin!(cancelled),
            sibling_failed: pin!(sibling_failed),
            timer: pin!(timer),
            reason,
            future,
        }
        .await
    }

    /// Runs `step` (position `index`) until it succeeds or its retry policy gives up,
    /// sleeping between attempts without blocking. A timed-out attempt is an error of
    /// the step; a deadline or cancellation fails the step at once. As
    /// [`Run::step`] otherwise.
    ///
    /// It takes the run exclusively, so the first attempt's bookkeeping needs no lock;
    /// the branches of a parallel group share the run through [`branch`](Self::branch).
    pub async fn step<S: AsyncStep<Error = E>>(
        &mut self,
        index: usize,
        step: &mut S,
    ) -> Result<S::Output, Unwind<E>> {
        first_attempt!(self, index, step, self.run.get_mut())
    }

    /// As [`step`](Self::step), for a branch of a parallel group: the branches share
    /// the run, each locking it between its awaits.
    pub async fn branch<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
    ) -> Result<S::Output, Unwind<E>> {
        first_attempt!(self, index, step, &mut *self.run.lock())
    }

    /// True if nothing can stop `step`'s attempts but their own end: no time limit,
    /// no cancel handle, no fail-fast group.
    fn unlimited<S: AsyncStep<Error = E>>(&self, step: &S) -> bool {
        self.deadline.is_none()
            && self.cancel.is_none()
            && self.siblings.is_none()
            && step.timeout().is_none()
    }

    /// One attempt, altered by `fault`, raced against `limit` and the cancel handle; the
    /// step's code runs in `scope`.
    async fn attempt<S: AsyncStep<Error = E>>(
        &self,
        step: &mut S,
        fault: Option<Fault<E>>,
        scope: Scope,
        limit: Option<(Duration, Interrupt)>,
    ) -> Result<Caught<S::Output, E>, Interrupt> {
        let delay = self.delay(fault.as_ref());
        let attempt = async {
            match fault {
                Some(Fault::Fail(error)) => Err(error),
                Some(Fault::Repeat) => match step.execute().await {
                    Ok(_) => step.execute().await,
                    failed => failed,
                },
                _ => {
                    if let Some(delay) = delay {
                        delay.await;
                    }
                    step.execute().await
                }
            }
        };
        self.guarded(Scoped::new(scope, attempt), limit).await
    }

    /// The attempts of `step` under its policy, its limits and the cancel handle, and on
    /// failure its uncertain compensation; `first` is what became of the first attempt
    /// if it was already started.
    async fn attempts<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
        first: Option<First<S::Output, E>>,
    ) -> Result<S::Output, Unwind<E>> {
        match self.try_attempts(index, step, first).await {
            Ok((output, _)) => Ok(output),
            Err(failed) => {
                self.undo_uncertain(index, step, failed.interrupted).await;
                Err(failed.unwind)
            }
        }
    }

    /// Runs `step` (position `index`) until it succeeds (with the number of attempts it
    /// took) or fails for good, without compensating it: for a durable run, which
    /// journals the failure before undoing anything.
    #[cfg(feature = "journal")]
    pub(crate) async fn attempt_only<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
    ) -> Result<(S::Output, u32), Failed<E>> {
        self.try_attempts(index, step, None).await
    }

    /// The attempts of `step`, as [`attempts`](Self::attempts), without the uncertain
    /// compensation.
    async fn try_attempts<S: AsyncStep<Error = E>>(
        &self,
        index: usize,
        step: &mut S,
        mut first: Option<First<S::Output, E>>,
    ) -> Result<(S::Output, u32), Failed<E>> {
        let mut tries = Tries::new();
        let mut timed_out = false;
        loop {
            let outcome = match first.take() {
                Some(First::Ran(result)) => Ok(result),
                Some(First::Fault(fault, scope)) => {
                    let limit = self.limit(step);
                    self.attempt(step, Some(fault), scope, limit).await
                }
                None => {
                    let limit = self.limit(step);
                    let mut scope = Scope::none();
                    let fault =
                        started(&mut self.run.lock(), index, step, tries.attempt, &mut scope);
                    self.attempt(step, fault, scope, limit).await
                }
            };
            let result = match outcome {
                Ok(result) => result,
                Err(Interrupt::TimedOut(after)) => {
                    timed_out = true;
                    // Invariant: only steps whose `timeout()` is `Some` time out.
                    let timeout = step.timeout().expect("a timed-out step has a timeout");
                    Ok(Err((timeout.error)(TimedOut { after })))
                }
                Err(stop) => {
                    let (error, gave_up) = match stop {
                        Interrupt::Cancelled => {
                            // Invariant: only runs with a cancel handle are cancelled.
                            let (_, error) = self.cancel.expect("a cancelled run has a handle");
                            (error(Cancelled), GaveUp::Cancelled)
                        }
                        Interrupt::SiblingFailed => {
                            // Invariant: only fail-fast runs stop siblings.
                            let (_, error) = self.siblings.as_ref().expect("a fail-fast run");
                            (error(Cancelled), GaveUp::Cancelled)
                        }
                        _ => {
                            // Invariant: only runs with a deadline hit it.
                            let (_, deadline) = self.deadline.as_ref().expect("a deadline was set");
                            let error = (deadline.error)(TimedOut {
                                after: deadline.after,
                            });
                            (error, GaveUp::DeadlineExceeded)
                        }
                    };
                    let unwind = self
                        .run
                        .lock()
                        .give_up(index, &*step, &mut tries, error, gave_up);
                    return Err(Failed {
                        unwind,
                        interrupted: true,
                    });
                }
            };
            let flow = self.run.lock().settle(index, &*step, &mut tries, result);
            match flow {
                Flow::Done(output) => return Ok((output, tries.attempt)),
                Flow::Retry(delay) => {
                    let sleep = self.run.lock().executor.clock.sleep_async(delay);
                    sleep.await;
                }
                Flow::Fail(unwind) => {
                    if let Some((siblings, _)) = &self.siblings {
                        siblings.cancel();
                    }
                    return Err(Failed {
                        unwind,
                        interrupted: timed_out,
                    });
                }
            }
        }
    }

    /// Ends the run, as [`Run::finish`].
    ///
    /// # Panics
    ///
    /// Resumes a step's panic once the compensations have run.
    pub fn finish<T>(self, result: Result<T, Unwind<E>>) -> Result<T, SagaError<E>> {
        self.run.into_inner().finish(result)
    }
}
