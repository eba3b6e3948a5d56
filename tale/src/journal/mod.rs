//! Durable sagas (feature `journal`): a journal that records every transition before
//! the next action, crash recovery by replay, idempotency keys and queries for
//! operators.
//!
//! The [`Store`] trait is what a journal needs from a database; [`SqliteStore`] is the
//! embedded default (rusqlite with the bundled SQLite: nothing to install) and
//! [`MemoryStore`] serves tests. The trait speaks only plain Rust types, so that a
//! PostgreSQL store serving several processes can implement it later.
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

mod durable;
mod durable_async;
mod key;
mod ledger;
mod memory;
mod record;
mod recover;
mod recover_async;
mod replay;
mod sqlite;
mod store;

pub use crate::engine::Unwind;
pub use durable::{DurableError, DurableRun, Interrupted, Origin};
pub use durable_async::DurableAsyncRun;
pub use key::{IdempotencyKey, Phase, idempotency_key};
pub use memory::MemoryStore;
pub use record::{JournalError, NewSaga, Record, SagaId, SagaRow, Status};
pub use recover::{Recovered, Recoverer};
pub use recover_async::{AsyncRecoverer, AsyncSagaFn};
pub use sqlite::{Durability, SqliteStore};
pub use store::{AsyncStore, Store};
