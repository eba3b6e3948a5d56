//! Waiting for several futures at once, without a runtime: the joins behind parallel
//! groups and concurrent transactions.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::run::Unwind;
use crate::error::StepFailure;

pin_project! {
    /// A future polled until done, then holding its output. The future is pinned in
    /// place; the output never is.
    #[project = MaybeDoneProj]
    enum MaybeDone<F: Future> {
        Running { #[pin] future: F },
        Done { output: Option<F::Output> },
    }
}

impl<F: Future> MaybeDone<F> {
    fn new(future: F) -> Self {
        MaybeDone::Running { future }
    }

    /// Polls if still running; true once the output is in.
    fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> bool {
        if let MaybeDoneProj::Running { future } = self.as_mut().project() {
            match future.poll(cx) {
                // Drops the finished future in place.
                Poll::Ready(output) => self.set(MaybeDone::Done {
                    output: Some(output),
                }),
                Poll::Pending => return false,
            }
        }
        true
    }

    fn take(self: Pin<&mut Self>) -> F::Output {
        match self.project() {
            // Invariant: taken once, after `poll_done` returned true.
            MaybeDoneProj::Done { output } => output.take().expect("output taken once"),
            MaybeDoneProj::Running { .. } => unreachable!("taken before done"),
        }
    }
}

/// Runs two futures concurrently and returns both outputs: the building block of
/// `join!` in async sagas (nested for more branches). The futures are held in place, so
/// a whole group is one value: nothing is boxed, and the saga's state machine keeps one
/// local for the group rather than one per branch.
pub fn join2<A: Future, B: Future>(a: A, b: B) -> Join2<A, B> {
    Join2 {
        a: MaybeDone::new(a),
        b: MaybeDone::new(b),
    }
}

pin_project! {
    /// The future of [`join2`].
    pub struct Join2<A: Future, B: Future> {
        #[pin]
        a: MaybeDone<A>,
        #[pin]
        b: MaybeDone<B>,
    }
}

impl<A: Future, B: Future> Future for Join2<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let a = this.a.as_mut().poll_done(cx);
        let b = this.b.as_mut().poll_done(cx);
        if a && b {
            Poll::Ready((this.a.take(), this.b.take()))
        } else {
            Poll::Pending
        }
    }
}

/// Runs every future concurrently and returns their outputs in order.
pub(crate) fn join_all<F: Future + Unpin>(futures: impl IntoIterator<Item = F>) -> JoinAll<F> {
    JoinAll {
        futures: futures.into_iter().map(MaybeDone::new).collect(),
    }
}

/// The future of [`join_all`].
pub(crate) struct JoinAll<F: Future> {
    futures: Vec<MaybeDone<F>>,
}

// The futures live in the `Vec`'s buffer, which moving a `JoinAll` does not move, and
// the outputs are never pinned.
impl<F: Future> Unpin for JoinAll<F> {}

impl<F: Future + Unpin> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut all = true;
        for future in &mut self.futures {
            all &= Pin::new(future).poll_done(cx);
        }
        if all {
            let taken = self.futures.iter_mut().map(|f| Pin::new(f).take());
            Poll::Ready(taken.collect())
        } else {
            Poll::Pending
        }
    }
}

/// The failures of a parallel group, gathered branch by branch: the group fails with
/// its first failed branch (in branch order), the others as its siblings; a panic
/// wins over failures.
pub struct GroupFailure<E> {
    failures: Vec<(usize, Box<StepFailure<E>>)>,
    panic: Option<Box<dyn Any + Send>>,
}

impl<E> Default for GroupFailure<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> GroupFailure<E> {
    /// No failure yet.
    #[must_use]
    pub fn new() -> Self {
        Self {
            failures: Vec::new(),
            panic: None,
        }
    }

    /// Records how branch `index` failed.
    pub fn add(&mut self, index: usize, unwind: Unwind<E>) {
        match unwind {
            Unwind::Failed(failure) => self.failures.push((index, failure)),
            Unwind::Panicked(payload) => {
                self.panic.get_or_insert(payload);
            }
        }
    }

    /// Records how branch `index` failed, if it did ([`AsyncRun::settle_branch`]'s
    /// output).
    ///
    /// [`AsyncRun::settle_branch`]: crate::engine::AsyncRun::settle_branch
    pub fn add_settled(&mut self, index: usize, settled: Option<Unwind<E>>) {
        if let Some(unwind) = settled {
            self.add(index, unwind);
        }
    }

    /// Records how the items of a fan-out failed: each `Err((index, unwind))`.
    pub fn add_items<T>(
        &mut self,
        results: impl IntoIterator<Item = Result<T, (usize, Unwind<E>)>>,
    ) {
        for (index, unwind) in results.into_iter().filter_map(Result::err) {
            self.add(index, unwind);
        }
    }

    /// The group's failure.
    ///
    /// # Panics
    ///
    /// If no branch failed (the expansion calls it only when one did).
    #[must_use]
    pub fn into_unwind(mut self) -> Unwind<E> {
        if let Some(payload) = self.panic {
            return Unwind::Panicked(payload);
        }
        self.failures.sort_by_key(|(index, _)| *index);
        let mut failures = self.failures.into_iter().map(|(_, f)| f);
        // Invariant: called only when some branch failed.
        let mut first = failures.next().expect("a branch of the group failed");
        first.siblings.extend(failures.map(|f| *f));
        Unwind::Failed(first)
    }
}
