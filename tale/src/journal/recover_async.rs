//! [`AsyncRecoverer`]: finds the async sagas that a crash left unfinished and completes
//! them, several at once, by replaying their code against their journals.

use std::collections::HashMap;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;

use serde::de::DeserializeOwned;

use super::durable::Origin;
use super::error::DurableError;
use super::recover::Recovered;
use super::{AsyncStore, Claimed, JournalError, SagaId, Status};
use crate::compose::BoxFuture;
use crate::engine::async_run::CatchUnwind;
use crate::engine::join::join_all;
use crate::engine::permits::Permits;

/// An async durable saga function: what the durable `async fn` form of `saga!`
/// generates, `async fn name(store: &dyn AsyncStore, origin: Origin, inputs: &I, env:
/// &Env) -> Result<T, DurableError<E>>`, whose future is `Send`.
///
/// `Bound` is never named: its default limits `for<'a> AsyncSagaFn<'a, ..>` to the
/// lifetimes the inputs and environment outlive.
pub trait AsyncSagaFn<'a, I: ?Sized + 'a, Env: ?Sized + 'a, Bound = (&'a I, &'a Env)> {
    /// What the saga returns.
    type Output;
    /// The saga's future.
    type Future: Future<Output = Self::Output> + Send + 'a;
    /// Runs (or resumes) the saga.
    fn call(
        &self,
        store: &'a dyn AsyncStore,
        origin: Origin,
        inputs: &'a I,
        env: &'a Env,
    ) -> Self::Future;
}

impl<'a, I: ?Sized + 'a, Env: ?Sized + 'a, F, Fut> AsyncSagaFn<'a, I, Env> for F
where
    F: Fn(&'a dyn AsyncStore, Origin, &'a I, &'a Env) -> Fut,
    Fut: Future + Send + 'a,
{
    type Output = Fut::Output;
    type Future = Fut;
    fn call(&self, store: &'a dyn AsyncStore, origin: Origin, inputs: &'a I, env: &'a Env) -> Fut {
        self(store, origin, inputs, env)
    }
}

/// A registered saga, its types erased: resumes one instance from its inputs.
trait Resumable<Env: ?Sized>: Send + Sync {
    fn resume<'a>(
        &'a self,
        store: &'a dyn AsyncStore,
        origin: Origin,
        inputs: &'a str,
        env: &'a Env,
    ) -> BoxFuture<'a, Result<(), JournalError>>;
}

/// The types a registered saga function is called with and returns.
type Signature<I, T, E> = fn() -> (I, T, E);

/// A saga function `F` of inputs `I`, returning `Result<T, DurableError<E>>`.
struct Registered<F, I, T, E>(F, PhantomData<Signature<I, T, E>>);

impl<Env, F, I, T, E> Resumable<Env> for Registered<F, I, T, E>
where
    Env: ?Sized + Sync,
    I: DeserializeOwned + Send + Sync,
    F: for<'a> AsyncSagaFn<'a, I, Env, Output = Result<T, DurableError<E>>> + Send + Sync,
{
    fn resume<'a>(
        &'a self,
        store: &'a dyn AsyncStore,
        origin: Origin,
        inputs: &'a str,
        env: &'a Env,
    ) -> BoxFuture<'a, Result<(), JournalError>> {
        Box::pin(async move {
            let inputs = serde_json::from_str::<I>(inputs).map_err(|e| JournalError::Payload {
                saga: origin.saga().unwrap_or(SagaId(0)),
                step: None,
                reason: e.to_string(),
            })?;
            match self.0.call(store, origin, &inputs, env).await {
                Ok(_) | Err(DurableError::Saga(_)) => Ok(()),
                Err(DurableError::Journal(error)) => Err(error),
            }
        })
    }
}

/// Completes unfinished async sagas after a restart, several at once.
///
/// Register each durable async saga under the name its runs are journaled with, as the
/// function that starts new runs (what `saga!`'s durable `async fn` form generates).
/// [`recover`](Self::recover) resumes every saga the journal shows running, at most
/// [`concurrency`](Self::concurrency) at a time, and reports each one's result: a saga
/// that fails to recover (or panics) never stops the others.
///
/// # Examples
///
/// ```
/// use tale::journal::{AsyncRecoverer, AsyncStore, DurableAsyncRun, DurableError, Interrupted, MemoryStore, Origin};
/// use tale::{Executor, Limits};
/// use tale::step::from_fn;
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize)]
/// struct Error(String);
/// impl From<Interrupted> for Error {
///     fn from(i: Interrupted) -> Self { Error(i.to_string()) }
/// }
///
/// /// A one-step durable saga, driven by hand (`saga!` writes this for you).
/// async fn greet(store: &dyn AsyncStore, origin: Origin, name: &String, _env: &()) -> Result<(), DurableError<Error>> {
///     let mut executor = Executor::new();
///     let run = DurableAsyncRun::start(&mut executor, store, "greet", name, origin, None, Limits::new())
///         .await
///         .map_err(DurableError::Journal)?;
///     let result = run.step(0, &mut from_fn(|| Ok::<_, Error>(()))).await;
///     run.finish(result).await
/// }
///
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Waker};
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = Context::from_waker(Waker::noop());
/// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v } }
/// # }
/// let store = MemoryStore::new();
/// let mut recoverer = AsyncRecoverer::new(&store);
/// recoverer.register("greet", greet).concurrency(8);
/// assert!(block_on(recoverer.recover(&())).is_empty());
/// ```
pub struct AsyncRecoverer<'s, Env: ?Sized> {
    store: &'s dyn AsyncStore,
    sagas: HashMap<String, Vec<Box<dyn Resumable<Env> + 's>>>,
    concurrency: usize,
}

impl<'s, Env: ?Sized + Sync> AsyncRecoverer<'s, Env> {
    /// A recoverer with no saga registered, resuming up to 16 sagas at once.
    pub fn new(store: &'s dyn AsyncStore) -> Self {
        Self {
            store,
            sagas: HashMap::new(),
            concurrency: 16,
        }
    }

    /// The store it resumes sagas on.
    pub(crate) fn store(&self) -> &'s dyn AsyncStore {
        self.store
    }

    /// Resumes at most `n` sagas at once (at least one).
    pub fn concurrency(&mut self, n: usize) -> &mut Self {
        self.concurrency = n.max(1);
        self
    }

    /// Registers the durable async saga `name`. Registering several functions under one
    /// name keeps old versions of a saga recoverable: each journal is resumed by the first
    /// version (in the order registered) whose fingerprint and steps match it; see the
    /// journal module's "Changing sagas in flight".
    pub fn register<I, T, E, F>(&mut self, name: &str, saga: F) -> &mut Self
    where
        I: DeserializeOwned + Send + Sync + 's,
        T: 's,
        E: 's,
        F: for<'a> AsyncSagaFn<'a, I, Env, Output = Result<T, DurableError<E>>> + Send + Sync + 's,
    {
        let registered = Registered::<F, I, T, E>(saga, PhantomData);
        self.sagas
            .entry(name.to_owned())
            .or_default()
            .push(Box::new(registered));
        self
    }

    /// Completes every saga the journal shows as running, at most
    /// [`concurrency`](Self::concurrency) at once, and says what became of each, in the
    /// journal's order. A saga that cannot be recovered (no registration, inputs or
    /// outputs that no longer deserialize, a journal of other code, a panic) is reported
    /// and left running; the others are recovered all the same.
    pub async fn recover(&self, env: &Env) -> Vec<Recovered> {
        let rows = match self.store.sagas(&[Status::Running]).await {
            Ok(rows) => rows,
            Err(error) => {
                return vec![Recovered {
                    id: SagaId(0),
                    name: String::new(),
                    result: Err(error),
                }];
            }
        };
        let permits = Permits::new(self.concurrency);
        let permits = &permits;
        let recoveries = rows.into_iter().map(|row| {
            Box::pin(async move {
                let _permit = permits.acquire().await;
                let result = {
                    let origin = Origin::Resume(row.id);
                    let resume = pin!(self.resume(origin, &row.name, &row.inputs, env));
                    CatchUnwind(resume).await
                };
                let result = match result {
                    Ok(result) => result,
                    Err(payload) => Err(JournalError::Panicked {
                        saga: row.id,
                        message: panic_message(&*payload),
                    }),
                };
                Recovered {
                    id: row.id,
                    name: row.name,
                    result,
                }
            })
        });
        join_all(recoveries).await
    }

    /// Completes the saga `id`, whatever its status says.
    ///
    /// # Errors
    ///
    /// As for each saga of [`recover`](Self::recover).
    pub async fn recover_one(&self, id: SagaId, env: &Env) -> Result<Status, JournalError> {
        let row = self.store.saga(id).await?;
        self.resume(Origin::Resume(id), &row.name, &row.inputs, env)
            .await
    }

    /// Resumes the saga `claimed`, which this store handle claimed
    /// ([`AsyncStore::claim`]), catching a panic of its code as
    /// [`JournalError::Panicked`]: what an [`AsyncWorker`](super::AsyncWorker) does
    /// with each saga it claims.
    ///
    /// # Errors
    ///
    /// As for each saga of [`recover`](Self::recover).
    pub async fn resume_claimed(
        &self,
        claimed: &Claimed,
        env: &Env,
    ) -> Result<Status, JournalError> {
        let row = &claimed.row;
        let resume = pin!(self.resume(Origin::Claimed(claimed.claim), &row.name, &row.inputs, env));
        match CatchUnwind(resume).await {
            Ok(result) => result,
            Err(payload) => Err(JournalError::Panicked {
                saga: row.id,
                message: panic_message(&*payload),
            }),
        }
    }

    async fn resume(
        &self,
        origin: Origin,
        name: &str,
        inputs: &str,
        env: &Env,
    ) -> Result<Status, JournalError> {
        let id = origin.saga().unwrap_or(SagaId(0));
        let versions = self
            .sagas
            .get(name)
            .ok_or_else(|| JournalError::Unregistered {
                saga: id,
                name: name.to_owned(),
            })?;
        // A version that refuses the journal (another fingerprint, another step at a
        // position) refuses it before acting: the next is tried.
        let mut refused = None;
        for version in versions {
            match version.resume(self.store, origin, inputs, env).await {
                Err(error @ JournalError::Mismatch { .. }) => refused = Some(error),
                result => {
                    result?;
                    return Ok(self.store.saga(id).await?.status);
                }
            }
        }
        // Invariant: a name is registered with at least one version.
        Err(refused.expect("a registered name has a version"))
    }
}

/// The message of a panic payload, if it has one.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}
