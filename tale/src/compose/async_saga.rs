//! [`AsyncSaga`]: an async saga whose steps are known only at run time; talepy's async
//! `run_transaction`, with compensation in reverse order and every compensation error
//! reported (talepy runs them concurrently in forward order and swallows their errors).

use std::borrow::Cow;

use super::async_link::AsyncLink;
use super::meta::{Bound, chain_methods};
use super::threading::{Sendable, Threading};
use crate::clock::AsyncSleep;
use crate::engine::{AsyncRun, Executor};
use crate::error::SagaError;
use crate::observe::Observer;
use crate::timeout::Limits;

/// An async saga whose steps are known only at run time: [`AsyncLink`]s over one state
/// type, run one after the other in the order they were added, compensated in reverse
/// order. A link is an async closure over the state or a typed step value
/// ([`AsyncLink::step`], [`AsyncLink::local_step`]), which converts into a link.
///
/// It is `Send` (spawnable on a multi-threaded runtime) when `M` is [`Sendable`], the
/// default, and its state, error and executor are; an `AsyncSaga<'_, S, E, Local>` of
/// [local](AsyncLink::local) links (and sync [`Link`](super::Link)s) runs on one thread.
///
/// # Examples
///
/// ```
/// use tale::compose::{AsyncLink, AsyncSaga};
/// use tale::{Executor, ManualClock};
///
/// let mut saga = AsyncSaga::new("counter")
///     .step(AsyncLink::new("+1", |n: &mut i32| Box::pin(async move { *n += 1; Ok(()) })))
///     .step(AsyncLink::new("fails", |_: &mut i32| Box::pin(async { Err::<(), _>("boom") })));
/// let mut n = 0;
/// let mut executor = Executor::new().with_clock(ManualClock::new());
/// let run = saga.run(&mut executor, &mut n);
/// # let result = block_on(run);
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Waker};
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = Context::from_waker(Waker::noop());
/// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } }
/// # }
/// assert!(result.unwrap_err().is_compensated());
/// ```
pub struct AsyncSaga<'a, S, E, M: Threading = Sendable> {
    name: Cow<'static, str>,
    links: Vec<AsyncLink<'a, S, E, M>>,
}

impl<'a, S: 'a, E: 'a, M: Threading> AsyncSaga<'a, S, E, M> {
    chain_methods!(AsyncLink<'a, S, E, M>, "an [`AsyncLink`]");

    /// Runs every step in order on `state`; on failure, compensates the completed
    /// steps in reverse order, one at a time.
    ///
    /// # Errors
    ///
    /// The failed step, and every compensation that failed, as [`SagaError`].
    ///
    /// # Panics
    ///
    /// Resumes a step's panic after compensating the completed steps.
    pub async fn run<O, C>(
        &mut self,
        executor: &mut Executor<O, C>,
        state: &mut S,
    ) -> Result<(), SagaError<E>>
    where
        O: Observer<E>,
        C: AsyncSleep,
    {
        self.run_with(executor, state, Limits::new()).await
    }

    /// [`run`](Self::run) under a deadline or a cancel handle.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// # Panics
    ///
    /// As [`run`](Self::run).
    pub async fn run_with<'h, O, C>(
        &mut self,
        executor: &'h mut Executor<O, C>,
        state: &mut S,
        limits: Limits<'h, E>,
    ) -> Result<(), SagaError<E>>
    where
        O: Observer<E>,
        C: AsyncSleep,
    {
        let name = self.name.clone();
        let mut run = AsyncRun::start(executor, &name).limits(limits);
        let mut completed = 0;
        let mut result = Ok(());
        for (index, link) in self.links.iter_mut().enumerate() {
            if let Err(unwind) = run
                .step(
                    index,
                    &mut Bound {
                        link,
                        state: &mut *state,
                    },
                )
                .await
            {
                result = Err(unwind);
                break;
            }
            completed += 1;
        }
        if result.is_err() {
            for (index, link) in self.links[..completed].iter_mut().enumerate().rev() {
                run.compensate(
                    index,
                    &mut Bound {
                        link,
                        state: &mut *state,
                    },
                    (),
                )
                .await;
            }
        }
        for link in &mut self.links {
            link.forget();
        }
        run.finish(result)
    }
}
