//! The validated saga that [`expand`](mod@super::expand) reads: every statement a step or
//! a group of at least two, every option checked against the form.

use proc_macro2::Span;
use syn::{Expr, Ident, LitStr, Pat, PatType, Token, Type};

use super::ast::{Modifier, SagaFn, Source};

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
    /// At least one.
    pub(crate) stmts: Vec<Stmt>,
    pub(crate) tail: Option<Expr>,
    /// The item form's function.
    pub(crate) item: Option<SagaFn>,
    /// `#![saga(durable)]` on the item form: the run is journaled.
    pub(crate) durable: Option<Durable>,
}

impl Saga {
    /// Each statement with the index of its first step. Steps are numbered in
    /// declaration order from 0, the branches of a `join!` included: that index is the
    /// step's in events and errors.
    pub(crate) fn numbered(&self) -> Vec<(usize, &Stmt)> {
        let mut next = 0;
        self.stmts
            .iter()
            .map(|stmt| {
                let first = next;
                next += stmt.steps().len();
                (first, stmt)
            })
            .collect()
    }
}

/// The two declared inputs of a durable saga function.
pub(crate) struct Durable {
    /// The saga's inputs: recorded in the journal at the start, given back on recovery.
    pub(crate) inputs: Box<PatType>,
    /// The environment (clients, connections): supplied by the caller, never stored.
    pub(crate) env: Box<PatType>,
}

/// One statement of a validated saga.
pub(crate) enum Stmt {
    Step(SagaStep),
    /// The branches of a `join!`, at least two (a `join!` of one step is an error).
    /// The step values of a group are all built before any runs, so that no branch can
    /// borrow a sibling's output.
    Join(Vec<SagaStep>),
    /// A fan-out: one step per item.
    ForEach(FanOut),
}

impl Stmt {
    /// Its steps as written: one, the group's branches, or the fan-out's step (which
    /// takes one place in the numbering as written; at run time its items follow it).
    pub(crate) fn steps(&self) -> &[SagaStep] {
        match self {
            Stmt::Step(step) => std::slice::from_ref(step),
            Stmt::Join(branches) => branches,
            Stmt::ForEach(each) => std::slice::from_ref(&each.step),
        }
    }
}

/// `let outputs = for item in iter { step };`, or in `join!(...)`, concurrently.
pub(crate) struct FanOut {
    /// What the `Vec` of outputs is bound to.
    pub(crate) binding: Binding,
    pub(crate) item: Pat,
    pub(crate) iter: Expr,
    /// The step of each item (its own binding unused).
    pub(crate) step: SagaStep,
    /// The items run concurrently: `join!(for ...)` in an async saga.
    pub(crate) concurrent: bool,
    /// `max_concurrent = n`.
    pub(crate) limit: Option<Expr>,
}

/// One step of the saga.
pub(crate) struct SagaStep {
    pub(crate) binding: Binding,
    pub(crate) source: Source,
    /// `.retry(...)` and friends written after the step, in order.
    pub(crate) modifiers: Vec<Modifier>,
    /// The span of the step expression: errors about the step point here.
    pub(crate) span: Span,
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
