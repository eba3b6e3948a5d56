//! The syntax of `saga!` as written, and the validated model that `expand` reads.

use proc_macro2::Span;
use syn::{Attribute, Expr, Ident, LitStr, PatType, Signature, Stmt, Token, Type, Visibility};

/// `saga! { ... }` as parsed: which form, its options, its statements.
pub(crate) struct SagaInput {
    pub(crate) form: Form,
    /// `#![saga(...)]` and any other inner attribute (rejected in validate); for the
    /// item form, those before the `fn` and those at the top of its body.
    pub(crate) inner_attrs: Vec<Attribute>,
    pub(crate) stmts: Vec<Stmt>,
    /// The span of the whole input, for errors about the saga as a whole.
    pub(crate) span: Span,
}

/// The three forms of `saga!`.
pub(crate) enum Form {
    /// `saga! { steps }`.
    Sync,
    /// `saga!(async { steps })` or `saga!(async move { steps })`.
    Async { move_token: Option<Token![move]> },
    /// `saga! { pub fn name(inputs) -> Result<T, SagaError<E>> { steps } }`, and with
    /// `#![saga(durable)]`, `-> Result<T, DurableError<E>>`.
    Item {
        attrs: Vec<Attribute>,
        vis: Visibility,
        sig: Box<Signature>,
    },
}

/// A validated saga.
pub(crate) struct Saga {
    pub(crate) is_async: bool,
    pub(crate) move_token: Option<Token![move]>,
    pub(crate) name: LitStr,
    /// `executor = ...`; `None` means `Executor::new()`, or the first argument of the
    /// item form.
    pub(crate) executor: Option<Expr>,
    /// `deadline = <Duration>` (async sagas).
    pub(crate) deadline: Option<Expr>,
    /// `cancel = <&CancelHandle>` (async sagas).
    pub(crate) cancel: Option<Expr>,
    /// `fail_fast` (async sagas): a failed `join!` branch stops its siblings in flight.
    pub(crate) fail_fast: bool,
    /// `max_concurrent_compensations = <usize>` (async sagas): the bound on a `join!`
    /// group's compensations running at once.
    pub(crate) max_concurrent_compensations: Option<Expr>,
    pub(crate) steps: Vec<SagaStep>,
    pub(crate) tail: Option<Expr>,
    pub(crate) item: Option<(Vec<Attribute>, Visibility, Box<Signature>)>,
    /// `#![saga(durable)]` on the item form: the run is journaled.
    pub(crate) durable: Option<Durable>,
}

/// The two declared inputs of a durable saga function.
pub(crate) struct Durable {
    /// The saga's inputs: recorded in the journal at the start, given back on recovery.
    pub(crate) inputs: Box<PatType>,
    /// The environment (clients, connections): supplied by the caller, never stored.
    pub(crate) env: Box<PatType>,
}

/// One step of the saga, in declaration order (the branches of a `join!` included).
pub(crate) struct SagaStep {
    pub(crate) binding: Binding,
    pub(crate) source: Source,
    /// `.retry(...)` and friends written after the step, in order.
    pub(crate) modifiers: Vec<(Ident, Option<Expr>)>,
    /// The span of the step expression: errors about the step point here.
    pub(crate) span: Span,
    /// For the first branch of a `join!`: how many steps the group has. The step
    /// values of a group are all built before any runs, so that no branch can borrow
    /// a sibling's output.
    pub(crate) group_len: usize,
    /// True for the second and later branches of a `join!`.
    pub(crate) in_group: bool,
}

/// What the step's output is bound to.
pub(crate) enum Binding {
    /// `let name = ...`, `let mut name: T = ...`.
    Named {
        mutability: Option<Token![mut]>,
        ident: Ident,
        ty: Option<Box<Type>>,
    },
    /// `let _ = ...`, `let () = ...` or a statement without `let`.
    Discard,
}

/// Where the step value comes from.
pub(crate) enum Source {
    /// Any expression that evaluates to a step (a `#[step]` call, a variable).
    Expr(Expr),
    /// `step(|| ...)`.
    Closure(Expr),
    /// `step(|| ..., |out| ...)`.
    Pair(Expr, Expr),
}
