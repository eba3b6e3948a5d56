//! The futures an attempt is wrapped in: [`CatchUnwind`] (a panic becomes an `Err`)
//! and [`Race`] (the attempt against its time limit and the cancel signals).

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Interrupt;

/// Polls a pinned future, turning a panic inside it into an `Err` with the payload.
pub(crate) struct CatchUnwind<'a, F>(pub(crate) Pin<&'a mut F>);

impl<F: Future> Future for CatchUnwind<'_, F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match catch_unwind(AssertUnwindSafe(|| self.0.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// A step's attempt racing its time limit and the cancel signals. Only built when a
/// limit or a handle exists.
pub(super) struct Race<'a, F, X, Y, T> {
    pub(super) cancelled: Pin<&'a mut Option<X>>,
    pub(super) sibling_failed: Pin<&'a mut Option<Y>>,
    pub(super) timer: Pin<&'a mut Option<T>>,
    pub(super) reason: Option<Interrupt>,
    pub(super) future: Pin<&'a mut F>,
}

/// Polls an optional pinned future; `false` if there is none.
fn ready<F: Future<Output = ()>>(future: Pin<&mut Option<F>>, cx: &mut Context<'_>) -> bool {
    future
        .as_pin_mut()
        .is_some_and(|future| future.poll(cx).is_ready())
}

impl<F, X, Y, T> Future for Race<'_, F, X, Y, T>
where
    F: Future,
    X: Future<Output = ()>,
    Y: Future<Output = ()>,
    T: Future<Output = ()>,
{
    type Output = Result<F::Output, Interrupt>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if ready(this.cancelled.as_mut(), cx) {
            return Poll::Ready(Err(Interrupt::Cancelled));
        }
        if ready(this.sibling_failed.as_mut(), cx) {
            return Poll::Ready(Err(Interrupt::SiblingFailed));
        }
        if let Poll::Ready(output) = this.future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if ready(this.timer.as_mut(), cx) {
            // Invariant: `reason` is set together with `timer`.
            return Poll::Ready(Err(this.reason.take().expect("a timer has a reason")));
        }
        Poll::Pending
    }
}
