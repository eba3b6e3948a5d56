//! A durable fan-out's count: the fan-out's own step, before its items, journals how
//! many items it has, so that a replay that finds another count halts the run (the
//! journal is not of this run's items) instead of answering items from the wrong ones.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::Interrupted;
use super::ledger::Ledger;
use super::{DurableAsyncRun, DurableRun, JournalError};
use crate::clock::{AsyncSleep, Clock};
use crate::engine::Unwind;
use crate::observe::Observer;
use crate::step::{Describe, Step, StepKind};

/// The step that journals a fan-out's count: its output is the count.
struct Count<E> {
    name: &'static str,
    count: usize,
    error: PhantomData<fn() -> E>,
}

impl<E> Count<E> {
    fn new(name: &'static str, count: usize) -> Self {
        Self {
            name,
            count,
            error: PhantomData,
        }
    }

    /// Checks the count the run found (journaled by this run or an earlier one).
    fn check(&self, ledger: &mut Ledger, index: usize, found: usize) -> Result<(), Unwind<E>>
    where
        E: From<Interrupted>,
    {
        if found == self.count {
            return Ok(());
        }
        ledger.halt(JournalError::Mismatch {
            saga: ledger.saga(),
            reason: format!(
                "step {index} (`{}`) has {found} items in the journal but {} in this run: \
                 the fan-out's items changed since the saga began",
                self.name, self.count
            ),
        });
        Err(Ledger::interrupted(index, self, Interrupted::Journal))
    }
}

impl<E> Describe for Count<E> {
    type Error = E;
    fn name(&self) -> &str {
        self.name
    }
    fn static_name(&self) -> Option<&'static str> {
        Some(self.name)
    }
    fn kind(&self) -> StepKind {
        StepKind::Compensatable
    }
    fn has_compensation(&self) -> bool {
        false
    }
}

impl<E> Step for Count<E> {
    type Output = usize;
    fn execute(&mut self) -> Result<usize, E> {
        Ok(self.count)
    }
    fn compensate(&mut self, _: &usize) -> Result<(), E> {
        Ok(())
    }
}

impl<E, O, C> DurableRun<'_, E, O, C>
where
    E: Serialize + DeserializeOwned + From<Interrupted>,
    O: Observer<E>,
    C: Clock,
{
    /// Journals that the fan-out at step `index` (named `name`) has `count` items, as
    /// a step whose output is the count, or checks the count a replay finds there.
    ///
    /// # Errors
    ///
    /// An [`Interrupted`] failure if the journal cannot be written, or holds another
    /// count (the run halts: its journal is not this run's).
    #[doc(hidden)]
    pub fn count(
        &mut self,
        index: usize,
        name: &'static str,
        count: usize,
    ) -> Result<(), Unwind<E>> {
        let mut step = Count::new(name, count);
        let found = self.step(index, &mut step)?;
        step.check(self.ledger_mut(), index, found)
    }
}

impl<E, O, C> DurableAsyncRun<'_, E, O, C>
where
    E: Serialize + DeserializeOwned + From<Interrupted>,
    O: Observer<E>,
    C: AsyncSleep,
{
    /// As [`DurableRun::count`].
    ///
    /// # Errors
    ///
    /// As [`DurableRun::count`].
    #[doc(hidden)]
    pub async fn count(
        &self,
        index: usize,
        name: &'static str,
        count: usize,
    ) -> Result<(), Unwind<E>> {
        let mut step = Count::new(name, count);
        let found = self.step(index, &mut step).await?;
        step.check(&mut self.ledger_lock(), index, found)
    }

    /// How many items of the fan-out whose items are steps `first..first + count` an
    /// earlier run started (in order): a concurrent fan-out resumed from its journal
    /// starts them all, even after a failure that stops new items, so that what they did
    /// is settled (answered from the journal, and undone).
    #[doc(hidden)]
    pub fn started_items(&self, first: usize, count: usize) -> usize {
        self.ledger_lock().started_run(first, count)
    }
}
