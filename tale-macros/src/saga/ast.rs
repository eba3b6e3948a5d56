//! The syntax of `saga!` as written, what [`parse`](super::parse) produces: the form,
//! the options, the statements recognised as steps and `join!` groups. A statement
//! that is not one of them is kept as its error, in its place, so that validate
//! reports every problem of the input in source order.

use proc_macro2::Span;
use syn::{Attribute, Expr, Ident, Pat, Signature, Token, Visibility};

use super::options::SagaArgs;

/// `saga! { ... }` as parsed.
pub(crate) struct SagaInput {
    pub(crate) form: Form,
    /// `#![saga(...)]`: before the `fn` of the item form or at the top of its body, at
    /// the top of the statements otherwise.
    pub(crate) options: SagaArgs,
    /// What was wrong in the options: another inner attribute, or the first error of
    /// each `#![saga(...)]`.
    pub(crate) option_errors: Vec<syn::Error>,
    /// Every statement but the tail, in order.
    pub(crate) stmts: Vec<syn::Result<Statement>>,
    /// The final expression, without `;`: the saga's output.
    pub(crate) tail: Option<Expr>,
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
    Item(SagaFn),
}

impl Form {
    /// True for the async forms: `saga!(async { ... })` and an `async fn`.
    pub(crate) fn is_async(&self) -> bool {
        match self {
            Form::Sync => false,
            Form::Async { .. } => true,
            Form::Item(item) => item.sig.asyncness.is_some(),
        }
    }
}

/// The function of the item form, without its body.
pub(crate) struct SagaFn {
    pub(crate) attrs: Vec<Attribute>,
    pub(crate) vis: Visibility,
    pub(crate) sig: Box<Signature>,
}

/// One statement of the saga, with the pattern of its `let` if it has one.
pub(crate) enum Statement {
    /// `let pat = step;` or `step;`. The step is an error if the expression is not a
    /// step; the pattern is checked in validate.
    Step {
        pat: Option<Pat>,
        step: syn::Result<StepExpr>,
    },
    /// `let pat = join!(step, ...);` or `join!(step, ...);`.
    Join { pat: Option<Pat>, join: Join },
    /// `let pat = for item in iter { step };`, or concurrently,
    /// `let pat = join!(for item in iter { step });`.
    ForEach { pat: Option<Pat>, each: ForEach },
}

/// A fan-out: `for item in iter { step }`, one step per item.
pub(crate) struct ForEach {
    /// What each item is bound to.
    pub(crate) item: Pat,
    pub(crate) iter: Expr,
    /// The step run for each item, or why the body is not one step.
    pub(crate) step: syn::Result<StepExpr>,
    /// Written inside `join!`: the items run concurrently (in an async saga).
    pub(crate) concurrent: bool,
    /// `join!(for ..., max_concurrent = n)`: at most `n` items at once.
    pub(crate) limit: Option<Expr>,
}

/// `join!(step, ...)`.
pub(crate) struct Join {
    /// The span of `join`, for errors about the group as a whole.
    pub(crate) span: Span,
    /// Each branch, or why it is not a step.
    pub(crate) branches: Vec<syn::Result<StepExpr>>,
    /// The branches as written, for messages that quote them.
    pub(crate) tokens: proc_macro2::TokenStream,
}

/// A step expression: where the step value comes from and the modifiers after it.
pub(crate) struct StepExpr {
    pub(crate) source: Source,
    /// `.retry(...)` and friends written after the step, in order.
    pub(crate) modifiers: Vec<Modifier>,
    /// The span of the whole expression: errors about the step point here.
    pub(crate) span: Span,
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

/// A method that `saga!` applies itself to a step: `.retry(policy)`, `.uncertain()`.
pub(crate) struct Modifier {
    pub(crate) method: Ident,
    /// Its argument, if it has one.
    pub(crate) arg: Option<Expr>,
}
