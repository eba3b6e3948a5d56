//! [`Permits`]: how many compensations of parallel branches may run at once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::shared::Shared;

/// A counting semaphore for the futures of one run, which one task polls: the bound
/// set by `max_concurrent_compensations`. A future waiting for a permit is woken when
/// one is returned; the futures of a group are polled in order, so the first waiting
/// one (in the order the group lists them) takes it.
pub(crate) struct Permits(Shared<State>);

struct State {
    available: usize,
    waiting: Vec<Waker>,
}

impl Permits {
    /// `limit` permits (at least one).
    pub(crate) fn new(limit: usize) -> Self {
        Self(Shared::new(State {
            available: limit.max(1),
            waiting: Vec::new(),
        }))
    }

    /// Waits for a permit, held until the returned guard drops.
    pub(crate) fn acquire(&self) -> Acquire<'_> {
        Acquire(self)
    }
}

/// The future of [`Permits::acquire`].
pub(crate) struct Acquire<'a>(&'a Permits);

impl<'a> Future for Acquire<'a> {
    type Output = Permit<'a>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit<'a>> {
        let permits = self.0;
        let mut state = permits.0.lock();
        if state.available > 0 {
            state.available -= 1;
            return Poll::Ready(Permit(permits));
        }
        if !state.waiting.iter().any(|w| w.will_wake(cx.waker())) {
            state.waiting.push(cx.waker().clone());
        }
        Poll::Pending
    }
}

/// A permit taken from [`Permits`], returned when dropped.
pub(crate) struct Permit<'a>(&'a Permits);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let waiting = {
            let mut state = self.0.0.lock();
            state.available += 1;
            std::mem::take(&mut state.waiting)
        };
        for waker in waiting {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::pin::pin;
    use std::task::Waker;

    use super::*;

    /// Holds a permit for `polls` polls, tracking how many holders there are at once.
    async fn hold(permits: &Permits, polls: u32, held: &Cell<usize>, peak: &Cell<usize>) {
        let _permit = permits.acquire().await;
        held.set(held.get() + 1);
        peak.set(peak.get().max(held.get()));
        for _ in 0..polls {
            Yield(false).await;
        }
        held.set(held.get() - 1);
    }

    /// Pending once.
    struct Yield(bool);

    impl Future for Yield {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    fn peak(limit: usize) -> usize {
        let permits = Permits::new(limit);
        let (held, peak) = (Cell::new(0), Cell::new(0));
        let mut all = pin!(crate::engine::join::join_all(
            (0..10).map(|i| Box::pin(hold(&permits, 1 + i % 3, &held, &peak)))
        ));
        let mut cx = Context::from_waker(Waker::noop());
        while all.as_mut().poll(&mut cx).is_pending() {}
        assert_eq!(held.get(), 0, "every permit was returned");
        peak.get()
    }

    #[test]
    fn never_more_holders_than_permits() {
        assert_eq!(peak(3), 3);
        assert_eq!(peak(1), 1);
        assert_eq!(peak(0), 1, "at least one permit");
        assert_eq!(peak(usize::MAX), 10);
    }
}
