//! Fan-outs: one step per item of an iterator (`for` in `saga!`). The expansion owns
//! the items' step values (one `Vec`, each step wrapped in an `Item` that names its
//! position) and runs them one by one, or concurrently through [`JoinItems`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Runs the futures of a concurrent fan-out's items, in order and at most `limit` at
/// once: the next future is made and first polled while fewer than `limit` are in
/// flight and, if the join stops on failure, none has failed; the ones in flight then
/// run to their end.
///
/// Its output is every output if all succeeded, or else the result of each future
/// that started (in order: those never started are left out, and did nothing).
///
/// The futures are made from `futures` only as they start, and each runs in a lane: a
/// box reused, once its future is done, by a later one (pinning in place, without
/// `unsafe`). So the boxes number the futures pending at once, not the items: a fan-out
/// of steps that finish when first polled uses one.
pub struct JoinItems<I: Iterator<Item = F>, F: Future> {
    futures: I,
    /// Each started item's result, once it is in.
    results: Vec<Option<F::Output>>,
    lanes: Vec<Lane<F>>,
    /// The lanes whose future is done.
    free: Vec<usize>,
    in_flight: usize,
    limit: usize,
    stop_on_failure: bool,
    /// The items that start even after a failure: those an earlier run of a durable
    /// saga started, which must be settled.
    resumed: usize,
    failed: bool,
}

// The futures are pinned in their own boxes; nothing else (the iterator, the results)
// is ever pinned.
impl<I: Iterator<Item = F>, F: Future> Unpin for JoinItems<I, F> {}

/// A box a future runs in, and the item it is of.
struct Lane<F> {
    item: usize,
    future: Pin<Box<Option<F>>>,
}

/// What [`JoinItems`] gives: every output, or the result of each item started.
pub(crate) type Joined<T, U> = Result<Vec<T>, Vec<Result<T, U>>>;

impl<T, U, I, F> JoinItems<I, F>
where
    I: Iterator<Item = F>,
    F: Future<Output = Result<T, U>>,
{
    /// The futures, at most `limit` in flight (at least one); with `stop_on_failure`,
    /// none starts once one has failed.
    pub fn new(futures: I, limit: usize, stop_on_failure: bool) -> Self {
        Self {
            results: Vec::with_capacity(futures.size_hint().0),
            futures,
            lanes: Vec::new(),
            free: Vec::new(),
            in_flight: 0,
            limit: limit.max(1),
            stop_on_failure,
            resumed: 0,
            failed: false,
        }
    }

    /// Starts the first `resumed` futures even once one has failed: the items an earlier
    /// run of a durable saga started, whose results (answered from its journal) must be
    /// settled, and their work undone.
    #[must_use]
    pub fn resuming(mut self, resumed: usize) -> Self {
        self.resumed = resumed;
        self
    }

    /// Polls lane `lane`'s future; if it is done, records its result and frees the
    /// lane: true if it finished in this poll.
    fn poll_lane(&mut self, lane: usize, cx: &mut Context<'_>) -> bool {
        let Lane { item, future } = &mut self.lanes[lane];
        let Some(running) = future.as_mut().as_pin_mut() else {
            return false;
        };
        let Poll::Ready(result) = running.poll(cx) else {
            return false;
        };
        future.set(None);
        self.failed |= result.is_err();
        self.results[*item] = Some(result);
        self.free.push(lane);
        true
    }

    /// Starts `future`, the next item, in a free lane or a new one.
    fn start(&mut self, future: F, cx: &mut Context<'_>) {
        let item = self.results.len();
        self.results.push(None);
        let lane = match self.free.pop() {
            Some(lane) => {
                self.lanes[lane].item = item;
                self.lanes[lane].future.set(Some(future));
                lane
            }
            None => {
                self.lanes.push(Lane {
                    item,
                    future: Box::pin(Some(future)),
                });
                self.lanes.len() - 1
            }
        };
        if !self.poll_lane(lane, cx) {
            self.in_flight += 1;
        }
    }
}

impl<T, U, I, F> Future for JoinItems<I, F>
where
    I: Iterator<Item = F>,
    F: Future<Output = Result<T, U>>,
{
    type Output = Joined<T, U>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        for lane in 0..this.lanes.len() {
            if this.poll_lane(lane, cx) {
                this.in_flight -= 1;
            }
        }
        while this.in_flight < this.limit
            && (this.results.len() < this.resumed || !(this.failed && this.stop_on_failure))
        {
            let Some(future) = this.futures.next() else {
                break;
            };
            this.start(future, cx);
        }
        // Past the loop, fewer than `limit` in flight means every future started, or
        // one failed and the rest may not start.
        if this.in_flight > 0 {
            return Poll::Pending;
        }
        // Every future started is done.
        let results = std::mem::take(&mut this.results);
        if this.failed {
            return Poll::Ready(Err(results.into_iter().flatten().collect()));
        }
        let mut outputs = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Some(Ok(output)) => outputs.push(output),
                _ => unreachable!("every future started, and none failed"),
            }
        }
        Poll::Ready(Ok(outputs))
    }
}
