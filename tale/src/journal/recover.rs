//! [`Recoverer`]: finds the sagas that a crash left unfinished and completes them by
//! replaying their code against their journals.

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use super::durable::Origin;
use super::error::DurableError;
use super::{Claimed, JournalError, SagaId, Status, Store};

type Resume<'s, Env> =
    Box<dyn Fn(Origin, &str, &Env) -> Result<(), JournalError> + Send + Sync + 's>;

/// Completes unfinished sagas after a restart.
///
/// Register each durable saga under the name its runs are journaled with, as the same
/// function that starts new runs: it receives the store, [`Origin::Resume`], the
/// inputs read back from the journal, and an environment (clients, connections) that
/// you supply at recovery time and that is never stored.
///
/// # Examples
///
/// ```
/// use std::cell::RefCell;
/// use tale::journal::{DurableError, DurableRun, Interrupted, MemoryStore, Origin, Recoverer, Store};
/// use tale::step::from_fn;
/// use tale::Executor;
///
/// #[derive(Debug, serde::Serialize, serde::Deserialize)]
/// struct Error(String);
/// impl From<Interrupted> for Error {
///     fn from(i: Interrupted) -> Self { Error(i.to_string()) }
/// }
///
/// /// The environment: whatever the steps need that is not stored.
/// struct Env { greetings: RefCell<Vec<String>> }
///
/// /// A one-step durable saga: greets `name`.
/// fn greet(store: &dyn Store, origin: Origin, name: &String, env: &Env) -> Result<(), DurableError<Error>> {
///     let mut executor = Executor::new();
///     let mut run = DurableRun::start(&mut executor, store, "greet", name, origin)
///         .map_err(DurableError::Journal)?;
///     let result = run.step(0, &mut from_fn(|| {
///         env.greetings.borrow_mut().push(format!("hello {name}"));
///         Ok::<_, Error>(())
///     }));
///     run.finish(result)
/// }
///
/// let store = MemoryStore::new();
/// let env = Env { greetings: RefCell::new(Vec::new()) };
/// let mut recoverer = Recoverer::new(&store);
/// recoverer.register("greet", greet);
/// // Nothing is unfinished, so nothing is done.
/// assert!(recoverer.recover(&env).is_empty());
/// // A run that completes.
/// greet(&store, Origin::New, &"ada".to_owned(), &env).unwrap();
/// assert_eq!(env.greetings.borrow().as_slice(), ["hello ada"]);
/// ```
pub struct Recoverer<'s, Env: ?Sized> {
    store: &'s (dyn Store + Sync),
    sagas: HashMap<String, Vec<Resume<'s, Env>>>,
}

/// What recovery did with one saga.
#[derive(Debug)]
pub struct Recovered {
    /// The saga instance.
    pub id: SagaId,
    /// Its name.
    pub name: String,
    /// Its status once recovery was done with it, or why recovery could not run it (it
    /// stays `running` in the journal, for a later attempt).
    pub result: Result<Status, JournalError>,
}

impl<'s, Env: ?Sized> Recoverer<'s, Env> {
    /// A recoverer with no saga registered, on `store` (shared with a
    /// [`Worker`](super::Worker)'s heartbeat, hence `Sync`).
    pub fn new(store: &'s (dyn Store + Sync)) -> Self {
        Self {
            store,
            sagas: HashMap::new(),
        }
    }

    /// Registers the durable saga `name`. Registering several functions under one name
    /// keeps old versions of a saga recoverable: each journal is resumed by the first
    /// version (in the order registered) whose fingerprint and steps match it; see the
    /// journal module's "Changing sagas in flight".
    pub fn register<I, T, E, F>(&mut self, name: &str, saga: F) -> &mut Self
    where
        I: DeserializeOwned,
        F: Fn(&dyn Store, Origin, &I, &Env) -> Result<T, DurableError<E>> + Send + Sync + 's,
    {
        let store = self.store;
        let resume = move |origin: Origin, inputs: &str, env: &Env| {
            let inputs: I = serde_json::from_str(inputs).map_err(|e| JournalError::Payload {
                saga: origin.saga().unwrap_or(SagaId(0)),
                step: None,
                reason: e.to_string(),
            })?;
            match saga(store, origin, &inputs, env) {
                Ok(_) | Err(DurableError::Saga(_)) => Ok(()),
                Err(DurableError::Journal(error)) => Err(error),
            }
        };
        self.sagas
            .entry(name.to_owned())
            .or_default()
            .push(Box::new(resume));
        self
    }

    /// The store it resumes sagas on.
    pub(crate) fn store(&self) -> &'s (dyn Store + Sync) {
        self.store
    }

    /// Completes every saga the journal shows as running, oldest first, and says what
    /// became of each. A saga that cannot be recovered (no registration, inputs or
    /// outputs that no longer deserialize, a corrupt journal) is reported and left
    /// running; the others are recovered all the same.
    ///
    /// Each saga is taken over whatever its lease says ([`Store::take_over`]), so call
    /// it at start-up, before new sagas start, in a process that knows it is the only
    /// one running the journal's sagas: a saga still running in another process would
    /// be run twice at once (fenced: the other process's next write is refused, but the
    /// step it was running runs twice). With several processes on one journal, run a
    /// [`Worker`](super::Worker) in each instead: it claims only sagas whose lease
    /// ended.
    pub fn recover(&self, env: &Env) -> Vec<Recovered> {
        match self.store.sagas(&[Status::Running]) {
            Ok(rows) => rows
                .into_iter()
                .map(|row| Recovered {
                    id: row.id,
                    result: self.resume(Origin::Resume(row.id), &row.name, &row.inputs, env),
                    name: row.name,
                })
                .collect(),
            Err(error) => vec![Recovered {
                id: SagaId(0),
                name: String::new(),
                result: Err(error),
            }],
        }
    }

    /// Completes the saga `id`, whatever its status says (use it on a `running` saga
    /// that a finished process left behind).
    ///
    /// # Errors
    ///
    /// As for each saga of [`recover`](Self::recover).
    pub fn recover_one(&self, id: SagaId, env: &Env) -> Result<Status, JournalError> {
        let row = self.store.saga(id)?;
        self.resume(Origin::Resume(id), &row.name, &row.inputs, env)
    }

    /// Resumes the saga `claimed`, which this store handle claimed
    /// ([`Store::claim`]): what a [`Worker`](super::Worker) does with each saga it
    /// claims.
    ///
    /// # Errors
    ///
    /// As for each saga of [`recover`](Self::recover).
    pub fn resume_claimed(&self, claimed: &Claimed, env: &Env) -> Result<Status, JournalError> {
        let row = &claimed.row;
        self.resume(Origin::Claimed(claimed.claim), &row.name, &row.inputs, env)
    }

    /// Tries a stuck saga again: its compensations that failed for good run again (a
    /// service may be back, or an operator may have fixed what blocked them), under the
    /// same idempotency keys.
    ///
    /// # Errors
    ///
    /// [`JournalError::Mismatch`] if the saga is not stuck, and as for each saga of
    /// [`recover`](Self::recover).
    pub fn retry_stuck(&self, id: SagaId, env: &Env) -> Result<Status, JournalError> {
        let row = self.stuck(id)?;
        let claim = self.store.take_over(id)?;
        let by = self.store.leases().worker_id().as_str().to_owned();
        let reopened = super::Record::Reopened {
            by,
            note: "Recoverer::retry_stuck".into(),
        };
        self.store.append(claim, &reopened)?;
        self.resume(Origin::Claimed(claim), &row.name, &row.inputs, env)
    }

    /// Marks a stuck saga resolved: an operator has dealt with what its compensations
    /// could not undo. Recovery leaves it alone from then on.
    ///
    /// # Errors
    ///
    /// [`JournalError::Mismatch`] if the saga is not stuck, or the store's failure.
    pub fn mark_resolved(&self, id: SagaId) -> Result<(), JournalError> {
        self.stuck(id)?;
        let by = self.store.leases().worker_id().as_str().to_owned();
        super::Action::Resolve
            .apply(self.store, id, &by, "Recoverer::mark_resolved")
            .map(drop)
    }

    fn stuck(&self, id: SagaId) -> Result<super::SagaRow, JournalError> {
        let row = self.store.saga(id)?;
        if row.status == Status::Stuck {
            Ok(row)
        } else {
            Err(JournalError::Mismatch {
                saga: id,
                reason: format!("it is {}, not stuck", row.status),
            })
        }
    }

    fn resume(
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
        for resume in versions {
            match resume(origin, inputs, env) {
                Err(error @ JournalError::Mismatch { .. }) => refused = Some(error),
                result => {
                    result?;
                    return Ok(self.store.saga(id)?.status);
                }
            }
        }
        // Invariant: a name is registered with at least one version.
        Err(refused.expect("a registered name has a version"))
    }
}
