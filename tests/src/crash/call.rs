//! [`Call`]: one step of a crash-suite saga, a call to a service with its undo, as its
//! plan says; sync and async steps wrap it.

use std::thread;
use std::time::Duration;

use tale::journal::{IdempotencyKey, Phase, SagaId, idempotency_key};
use tale::{Describe, Retry, Step};

use super::plan::{Error, Fail, Plan, SAGAS, Service, StepPlan, journal_index};
use super::services::{Receipt, Services, Target};

/// Waits `ms` milliseconds (a slow service).
pub fn pause(ms: u64) {
    if ms > 0 {
        thread::sleep(Duration::from_millis(ms));
    }
}

/// Busy errors are retried: up to 3 retries, 1 ms apart.
pub fn busy_retry() -> Retry<Error> {
    Retry::times(3)
        .constant(Duration::from_millis(1))
        .retry_if(|e| matches!(e, Error::Busy))
}

/// One step of a saga: a call to a service, with its undo.
pub struct Call<'e> {
    /// The test services.
    pub services: &'e Services,
    /// The saga instance, if the step knows it (an async saga's steps take it from their
    /// key).
    pub saga: Option<SagaId>,
    /// Whether the call's pauses block the thread (sync) or are left to the caller
    /// (async, which awaits them).
    pub blocking: bool,
    /// The step's position in the plan.
    pub index: usize,
    /// Its position in the journal, and in its idempotency keys: [`index`](Self::index)
    /// shifted by the counts of the saga's fan-outs before it
    /// ([`journal_index`]).
    pub journal: usize,
    /// The step's name.
    pub name: &'static str,
    /// The service it calls.
    pub service: Service,
    /// Whether its outcome is uncertain.
    pub uncertain: bool,
    /// What it does.
    pub plan: StepPlan,
    /// Attempts so far in this process.
    pub attempts: u32,
    /// Undo attempts so far in this process.
    pub undo_attempts: u32,
}

impl<'e> Call<'e> {
    /// Step `index` of the plan of the saga `name` (a row of [`SAGAS`]) of instance
    /// `saga`.
    pub fn new(
        services: &'e Services,
        saga: Option<SagaId>,
        name: &str,
        plan: &Plan,
        index: usize,
    ) -> Self {
        let shape = SAGAS
            .iter()
            .find(|(n, _)| *n == name)
            .expect("a known saga")
            .1;
        let (step, service, uncertain) = shape[index];
        Self {
            services,
            saga,
            index,
            journal: journal_index(name, index),
            name: step,
            service,
            uncertain,
            blocking: true,
            plan: plan.steps[index],
            attempts: 0,
            undo_attempts: 0,
        }
    }

    /// The key tale gave the running call (`current`): it must name this saga, step
    /// (its journal index) and phase; a call without it is recorded and fails.
    fn key(&self, current: Option<IdempotencyKey>, phase: Phase) -> Result<IdempotencyKey, Error> {
        match current {
            Some(key)
                if self.saga.is_none_or(|saga| saga == key.saga)
                    && key.index as usize == self.journal
                    && key.phase == phase =>
            {
                Ok(key)
            }
            other => {
                let what = format!(
                    "{:?} step {} (journal index {}, {phase:?}) ran with key {other:?}",
                    self.saga, self.index, self.journal
                );
                self.services.keyless(&what);
                Err(Error::Service(what))
            }
        }
    }

    /// One attempt of the step under the key `current`, as the plan says.
    ///
    /// # Errors
    ///
    /// As the plan says (busy, refused, timed out), or the services' failure.
    pub fn execute_with(&mut self, current: Option<IdempotencyKey>) -> Result<Receipt, Error> {
        self.attempts += 1;
        let key = self.key(current, Phase::Execute)?;
        self.pause();
        let busy = self.attempts <= self.plan.busy;
        if busy && !self.plan.busy_after_effect {
            return Err(Error::Busy);
        }
        if self.plan.fail == Fail::Reject {
            return Err(Error::Rejected(format!("{} refused", self.name)));
        }
        let receipt = self
            .services
            .apply(key, self.service.effect(), self.plan.amount, None)?;
        self.pause();
        if busy {
            return Err(Error::Busy);
        }
        if self.plan.fail == Fail::Timeout {
            return Err(Error::Timeout);
        }
        Ok(receipt)
    }

    /// One attempt of the undo of `target` (the step's receipt, or `None` for a step
    /// whose outcome is unknown) under the key `current`.
    ///
    /// # Errors
    ///
    /// As the plan says (busy, failing for good), or the services' failure.
    pub fn undo_with(
        &mut self,
        current: Option<IdempotencyKey>,
        target: Option<&Receipt>,
    ) -> Result<(), Error> {
        self.undo_attempts += 1;
        let key = self.key(current, Phase::Compensate)?;
        self.pause();
        if self.undo_attempts <= self.plan.undo_busy {
            return Err(Error::Busy);
        }
        if self.plan.undo_fails {
            return Err(Error::Rejected(format!("{} cannot be undone", self.name)));
        }
        let target = match target {
            Some(receipt) => Target::Effect(receipt),
            None => Target::Request(IdempotencyKey {
                phase: Phase::Execute,
                ..key
            }),
        };
        self.services
            .apply(key, self.service.undo(), 0, Some(target))?;
        self.pause();
        Ok(())
    }

    /// The service's pause, on the thread if the call is blocking.
    fn pause(&self) {
        if self.blocking {
            pause(self.plan.pause_ms);
        }
    }
}

impl Describe for Call<'_> {
    type Error = Error;
    fn name(&self) -> &str {
        self.name
    }
    fn is_uncertain(&self) -> bool {
        self.uncertain
    }
    /// Its undo of an unknown outcome undoes whatever the call under its key did.
    fn compensates_without_output(&self) -> bool {
        true
    }
    fn retry_policy(&self) -> Option<Retry<Error>> {
        Some(busy_retry())
    }
    fn compensation_retry_policy(&self) -> Option<Retry<Error>> {
        Some(busy_retry())
    }
}

/// The sync step: its key is the one tale sets on the running thread.
impl Step for Call<'_> {
    type Output = Receipt;

    fn execute(&mut self) -> Result<Receipt, Error> {
        self.execute_with(idempotency_key())
    }

    fn compensate(&mut self, receipt: &Receipt) -> Result<(), Error> {
        self.undo_with(idempotency_key(), Some(receipt))
    }

    fn compensate_uncertain(&mut self) -> Option<Result<(), Error>> {
        Some(self.undo_with(idempotency_key(), None))
    }
}

/// The async step: the service's pauses are awaited (so that a per-attempt timeout can
/// cut the call short before or after its effect), and its key is read after yielding,
/// on whatever thread polls it. Each call records its saga's order (the first one
/// served counts), since an async saga's id is known only to its steps' keys.
pub struct AsyncCall<'e> {
    /// The call.
    pub call: Call<'e>,
    saga: &'static str,
    plan: Plan,
}

impl<'e> AsyncCall<'e> {
    /// Step `index` of the plan of the saga `name` (its instance taken from the step's
    /// key; its journal index, for the key's check, from the saga's fan-outs).
    pub fn new(services: &'e Services, name: &'static str, plan: &Plan, index: usize) -> Self {
        let mut call = Call::new(services, None, name, plan, index);
        call.blocking = false;
        Self {
            call,
            saga: name,
            plan: plan.clone(),
        }
    }

    async fn pause(&self) {
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(self.call.plan.pause_ms)).await;
    }
}

impl Describe for AsyncCall<'_> {
    type Error = Error;
    fn name(&self) -> &str {
        self.call.name
    }
    fn is_uncertain(&self) -> bool {
        self.call.uncertain
    }
    fn compensates_without_output(&self) -> bool {
        true
    }
    fn retry_policy(&self) -> Option<Retry<Error>> {
        Some(busy_retry())
    }
    fn compensation_retry_policy(&self) -> Option<Retry<Error>> {
        Some(busy_retry())
    }
}

impl tale::AsyncStep for AsyncCall<'_> {
    type Output = Receipt;

    async fn execute(&mut self) -> Result<Receipt, Error> {
        self.pause().await;
        let key = idempotency_key();
        if let Some(key) = key {
            self.call.services.order(key.saga, self.saga, &self.plan)?;
        }
        let result = self.call.execute_with(key);
        self.pause().await;
        result
    }

    async fn compensate(&mut self, receipt: &Receipt) -> Result<(), Error> {
        self.pause().await;
        self.call.undo_with(idempotency_key(), Some(receipt))
    }

    async fn compensate_uncertain(&mut self) -> Option<Result<(), Error>> {
        self.pause().await;
        Some(self.call.undo_with(idempotency_key(), None))
    }
}
