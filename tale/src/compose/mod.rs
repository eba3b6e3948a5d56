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
//! A link may also be a typed step ([`Link::step`], [`AsyncLink::step`]): what a
//! `#[step]` function returns, one per item of a list, say. It keeps the step's own
//! compensation, name, kind, retry policies and uncertainty (the link's setters override
//! them), ignores the state, and keeps the step's output for its compensation (collect
//! the outputs with [`Link::step_then`]). Any step converts into a link, so
//! `saga.step(book_seat(&flight, passenger))` takes it as it is. A step that failed with
//! an uncertain outcome and cannot be undone without its output is reported as not
//! compensated ([`NotCompensated::OutcomeUnknown`](crate::NotCompensated::OutcomeUnknown)),
//! as in `saga!`.
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
//!
//! Of typed steps, a `Send` link holds a [`SendableStep`]: a sync step that is `Send`,
//! or what a `#[step] async fn` returns. Any other [`AsyncStep`](crate::AsyncStep) (a
//! `#[step(local)]` function's, a hand-written one) joins a local saga, through
//! [`AsyncLink::local_step`].

mod async_link;
mod async_saga;
mod concurrent;
mod link;
mod meta;
mod saga;
mod step_body;
mod threading;

pub use async_link::{AsyncLink, AsyncLinkBuilder};
pub use async_saga::AsyncSaga;
pub use concurrent::{
    Branch, run_concurrent_steps, run_concurrent_steps_with, run_concurrent_transaction,
    run_concurrent_transaction_with,
};
pub use link::{Link, LinkBuilder};
pub use saga::{Saga, run_transaction};
pub use step_body::SendableStep;
pub use threading::{BoxFuture, Local, LocalBoxFuture, Sendable, Threading};
