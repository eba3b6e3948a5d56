//! Sagas built from data, without macros: talepy's `run_transaction` and
//! `run_concurrent_transaction`, typed.
//!
//! - [`Saga`] of [`Link`]s: sync steps over one state type, run in order;
//!   [`run_transaction`] runs a list of them once.
//! - [`AsyncSaga`] of [`AsyncLink`]s: the same with async steps (sync links mix in).
//! - [`run_concurrent_transaction`] of [`Branch`]es: every branch gets the same input and
//!   they run at once.
//!
//! Every link gets the state as the links before it left it (`&mut S`, talepy's mutable
//! dict without the aliasing), and may return an output of its own type that its
//! compensation is lent later. Compensation sees the state as the later steps left it,
//! and the failing step's compensation runs only if it is marked uncertain.
//!
//! # `Send`, and the `Local` opt-out
//!
//! An async saga built from data is `Send` (it can be `tokio::spawn`ed on a
//! multi-threaded runtime) when its links are: [`AsyncLink::new`] and [`Branch::new`]
//! take closures that return a boxed `Send` future ([`BoxFuture`]), which Rust can check
//! where the link is made. Links whose futures are not `Send` (they hold an `Rc`, a
//! `RefCell` borrow) opt out with [`AsyncLink::local`] and [`Branch::local`], which take
//! async closures; a saga of them is an `AsyncSaga<'_, S, E, Local>`, run on one
//! thread. Sync [`Link`]s convert into local async links.

mod async_link;
mod async_saga;
mod concurrent;
mod link;
mod meta;
mod saga;
mod threading;

pub use async_link::{AsyncLink, AsyncLinkBuilder};
pub use async_saga::AsyncSaga;
pub use concurrent::{Branch, run_concurrent_transaction, run_concurrent_transaction_with};
pub use link::{Link, LinkBuilder};
pub use saga::{Saga, run_transaction};
pub use threading::{BoxFuture, Local, LocalBoxFuture, Sendable, Threading};
