//! Durable sagas (feature `journal`): a journal that records every transition before
//! the next action, crash recovery by replay, idempotency keys and queries for
//! operators.
//!
//! The [`Store`] trait is what a journal needs from a database, and [`AsyncStore`] its
//! async side (every `Store` is one, served inline); [`SqliteStore`] is the embedded
//! default (rusqlite with the bundled SQLite: nothing to install), `PgStore` (feature
//! `postgres`; TLS with `postgres-rustls`) the store for many machines sharing one
//! PostgreSQL database, and [`MemoryStore`] serves tests. Every store takes an optional
//! [`PayloadCodec`] that seals what it writes of a saga's inputs, outputs and errors
//! (to encrypt or redact them at rest).
//!
//! # How a durable saga runs
//!
//! Declare it with `saga!`'s durable form: its inputs are journaled when it starts, its
//! environment (clients, connections) is passed by each caller and never stored. Steps
//! pass [`idempotency_key()`] to the services they call, so that a step repeated after a
//! crash is applied once. At start-up, a [`Recoverer`] finishes what a crash left
//! unfinished; operators query the store for sagas in flight or stuck.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tale::journal::{DurableError, Interrupted, Origin, Recoverer, SqliteStore, Status, Store, idempotency_key};
//! use tale::{saga, step};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! enum Error { Refused, Interrupted(Interrupted) }
//! impl From<Interrupted> for Error {
//!     fn from(i: Interrupted) -> Self { Error::Interrupted(i) }
//! }
//!
//! /// The environment: what the steps talk to.
//! struct Bank { charges: std::cell::RefCell<Vec<String>> }
//!
//! #[step(compensate = refund)]
//! fn charge(bank: &Bank, amount: &u32) -> Result<u32, Error> {
//!     let key = idempotency_key().expect("a durable step has a key");
//!     bank.charges.borrow_mut().push(format!("{amount} under {key}"));
//!     Ok(*amount)
//! }
//! fn refund(_bank: &Bank, _amount: &u32, _charged: &u32) -> Result<(), Error> { Ok(()) }
//!
//! saga! {
//!     #![saga(durable)]
//!     fn pay(amount: &u32, bank: &Bank) -> Result<u32, DurableError<Error>> {
//!         let charged = charge(bank, amount);
//!         charged
//!     }
//! }
//!
//! let store = SqliteStore::in_memory()?; // `SqliteStore::open(path)` to survive the process
//! let bank = Bank { charges: Default::default() };
//!
//! // At start-up: finish what a crash left unfinished (here, nothing).
//! let mut recoverer = Recoverer::new(&store);
//! recoverer.register("pay", pay);
//! assert!(recoverer.recover(&bank).is_empty());
//!
//! // A new run.
//! assert_eq!(pay(&store, Origin::New, &40, &bank).unwrap(), 40);
//! assert_eq!(bank.charges.borrow()[0], "40 under saga-1/step-0/execute");
//!
//! // What an operator sees.
//! let done = store.sagas(&[Status::Completed])?;
//! assert_eq!((done[0].name.as_str(), done[0].inputs.as_str()), ("pay", "40"));
//! # Ok::<(), tale::journal::JournalError>(())
//! ```
//!
//! # Async sagas
//!
//! The durable form takes `async fn` too: its steps (async and sync) and the branches of
//! its `join!` groups are journaled each on its own, it runs on a
//! [`DurableAsyncRun`] over an [`AsyncStore`], and its future is `Send` (spawn it on a
//! multi-threaded runtime). [`idempotency_key()`] answers inside an async step across
//! every `.await`, in each branch its own key, on whatever thread polls it. A timed-out,
//! cancelled or stopped attempt is journaled as the step's failure before its uncertain
//! compensation runs, so a crash in between leaves that compensation to recovery. At
//! start-up an [`AsyncRecoverer`] resumes them, several at once.
//!
//! # Changing sagas in flight
//!
//! A saga in flight when a new version of the program is deployed is resumed by the new
//! code. Replay answers each step from the journal by its position, so it checks that
//! the journal is this code's: `saga!` computes a fingerprint of a durable saga's shape
//! (its steps, named by what they call or by `.named(...)`, their order, its `join!`
//! groups, the output types written on their bindings), journals it when the saga
//! begins, and refuses to resume a journal of another fingerprint
//! ([`JournalError::Mismatch`], naming the saga and both fingerprints). A step recorded
//! under another name at its position is refused the same way, and a journaled output
//! that no longer deserializes into the step's output type with [`JournalError::Payload`].
//! A refused saga is left as it was, for an operator or for the right code.
//!
//! What is safe to change with sagas in flight: a step's body, its arguments, its retry
//! policy, its compensation, and anything outside the steps. What is not: adding,
//! removing, renaming or reordering steps or `join!` branches, or changing an output's
//! type. For those, keep the old version beside the new until its sagas drain: declare
//! both under the saga's name (`#![saga(durable, name = "trip")]` on `fn trip_v1` and
//! `fn trip`), start new sagas with the new one, and register both with the recoverer
//! (`recoverer.register("trip", trip).register("trip", trip_v1)`): each journal is
//! resumed by the first version whose fingerprint matches it. Once
//! `store.sagas(&[Status::Running])` shows no saga of the old version, remove it.
//!
//! # One process or many: recovery at start-up, or workers
//!
//! Every running saga has one owner at a time: the store handle ([`Leases`]: a
//! [`WorkerId`] fresh for each handle opened, so for each process start) that began it
//! or last took it over, under an epoch that grows at each change of hands, with a
//! lease that every journal write and a heartbeat renew. Every write is *fenced*: the
//! store accepts it only if the writer's epoch is still the saga's, in the same
//! transaction, so a worker paused past its lease (a stalled VM, `SIGSTOP`, a
//! partition) that wakes up finds its next write refused ([`JournalError::LeaseLost`])
//! and stops that saga before its next action. Leases only decide when a saga may
//! change hands; epochs decide who may write, so no clock needs to be right for two
//! owners never to write at once. ([`Lease`] holds the rules, [`conformance`] the
//! tests every store passes.)
//!
//! - **One process owns the journal** (an embedded SQLite file, a command-line tool):
//!   call [`Recoverer::recover`] (or [`AsyncRecoverer::recover`]) at start-up, before
//!   new sagas start. It takes every running saga over whatever its lease says, so it
//!   must be the only process running the journal's sagas.
//! - **Several processes share it** (replicas of a service on one SQLite file, or on
//!   PostgreSQL), or sagas must be finished while the service runs: run a [`Worker`]
//!   (sync sagas) or an [`AsyncWorker`] (async sagas) in each process. It claims only
//!   sagas whose lease ended (or that were given back), in one atomic step, so two
//!   workers never get the same saga; renews the leases its handle holds by a
//!   heartbeat; backs off a saga whose resumption failed and parks one that keeps
//!   failing ([`Status::Parked`], for an operator); and on shutdown drains its handle
//!   ([`Leases::drain`]): each saga stops before its next action and is given back, for
//!   another worker to take at once instead of after the lease.
//!
//! tale guarantees at-least-once execution of a step and exactly-once recording of its
//! outcome. A step that must have its effect exactly once passes its
//! [`idempotency_key()`] to the service; a service that must never act on a stale
//! owner's call (one already on its way when the worker paused) also checks the
//! [`fencing_token()`]: the saga's epoch, which only grows.

#[cfg(feature = "tokio")]
mod blocking;
#[cfg(feature = "testing")]
pub mod conformance;
mod durable;
mod durable_async;
mod error;
mod fan_out;
mod key;
mod lease;
mod ledger;
mod memory;
mod operator;
mod payload;
#[cfg(feature = "postgres")]
mod postgres;
mod record;
mod recover;
mod recover_async;
mod replay;
mod sqlite;
mod store;
mod stored;
mod worker;

pub use crate::engine::Unwind;
#[cfg(feature = "tokio")]
pub use blocking::BlockingPool;
pub use durable::{DurableRun, Origin};
pub use durable_async::DurableAsyncRun;
pub use error::{DurableError, Interrupted, JournalError};
pub use key::{IdempotencyKey, Phase, fencing_token, idempotency_key};
pub use lease::{Claim, Lease, Leases, Millis, WorkerId};
pub use memory::MemoryStore;
pub use operator::Action;
pub use payload::PayloadCodec;
#[cfg(feature = "postgres")]
pub use postgres::PgStore;
#[cfg(all(feature = "postgres", feature = "testing"))]
pub use postgres::PgTestServer;
pub use record::{Entry, NewSaga, Record, SagaId, SagaRow, Status};
pub use recover::{Recovered, Recoverer};
pub use recover_async::{AsyncRecoverer, AsyncSagaFn};
pub use sqlite::{Durability, SqliteStore};
pub use store::{AsyncStore, Claimed, Store, Write, Written};
pub use worker::{AsyncWorker, Worker, WorkerOptions, WorkerStats};
