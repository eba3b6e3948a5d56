//! [`Item`]: the step of one item of a fan-out (`for` in `saga!`), which knows its item's
//! position, so that every event and error about it names the item.

use std::future::Future;
use std::marker::PhantomData;

use super::kind::Kinded;
use crate::retry::Retry;
use crate::step::{Async, AsyncStep, Blocking, Describe, Step, StepKind};
use crate::timeout::Timeout;

/// Step `step` of item `item` of a fan-out: a [`Step`] with `M` = [`Blocking`], an
/// [`AsyncStep`] with [`Async`]; everything else is the step's own.
pub struct Item<S, M> {
    step: S,
    item: usize,
    flavour: PhantomData<fn() -> M>,
}

impl<S, M> Item<S, M> {
    /// The step of the item at position `item`.
    #[inline]
    pub fn new(item: usize, step: S) -> Self {
        Self {
            step,
            item,
            flavour: PhantomData,
        }
    }
}

impl<S: Describe, M> Describe for Item<S, M> {
    type Error = S::Error;

    fn name(&self) -> &str {
        self.step.name()
    }
    fn static_name(&self) -> Option<&'static str> {
        self.step.static_name()
    }
    fn item(&self) -> Option<usize> {
        Some(self.item)
    }
    fn kind(&self) -> StepKind {
        self.step.kind()
    }
    fn has_compensation(&self) -> bool {
        self.step.has_compensation()
    }
    fn is_uncertain(&self) -> bool {
        self.step.is_uncertain()
    }
    fn compensates_without_output(&self) -> bool {
        self.step.compensates_without_output()
    }
    fn retry_policy(&self) -> Option<Retry<S::Error>> {
        self.step.retry_policy()
    }
    fn compensation_retry_policy(&self) -> Option<Retry<S::Error>> {
        self.step.compensation_retry_policy()
    }
}

impl<S: Kinded, M> Kinded for Item<S, M> {
    type Kind = S::Kind;
}

#[diagnostic::do_not_recommend]
impl<S: Step> Step for Item<S, Blocking> {
    type Output = S::Output;

    #[inline]
    fn execute(&mut self) -> Result<S::Output, S::Error> {
        self.step.execute()
    }
    fn compensate(&mut self, output: &S::Output) -> Result<(), S::Error> {
        self.step.compensate(output)
    }
    fn compensate_uncertain(&mut self) -> Option<Result<(), S::Error>> {
        self.step.compensate_uncertain()
    }
}

impl<S: AsyncStep> AsyncStep for Item<S, Async> {
    type Output = S::Output;

    #[inline]
    fn execute(&mut self) -> impl Future<Output = Result<S::Output, S::Error>> {
        self.step.execute()
    }
    fn compensate(&mut self, output: &S::Output) -> impl Future<Output = Result<(), S::Error>> {
        self.step.compensate(output)
    }
    fn compensate_uncertain(&mut self) -> impl Future<Output = Option<Result<(), S::Error>>> {
        self.step.compensate_uncertain()
    }
    fn timeout(&self) -> Option<Timeout<S::Error>> {
        self.step.timeout()
    }
}
