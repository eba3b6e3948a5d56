//! Expand: one step's value, and the compile-time check of its kind.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::ast::{Modifier, Source};
use super::model::{Saga, SagaStep};
use super::names::phase_of;
use crate::paths::{private, private_at};

/// A branch of a `join!` group, for its kind check.
#[derive(Clone, Copy)]
pub(super) struct Branch {
    /// The index of the group's first step.
    pub(super) first: usize,
    /// Whether it is the group's last branch.
    pub(super) last: bool,
}

/// The step value: the expression, or a closure step, with the modifiers applied.
/// ```text
/// step(|| a()).retry(p).named("x")
/// ```
/// becomes `StepExt::retry(from_fn(|| a()), p).named("x")` in a sync saga, and
/// `AsyncTuned::new(from_fn(|| a())).retry(p).named("x")` in an async one.
pub(super) fn value(saga: &Saga, step: &SagaStep) -> TokenStream {
    // At the step, so that an error about a closure step points there: a path of
    // another span widens it to the whole `saga!`.
    let private = private_at(step.span);
    let base = match &step.source {
        Source::Expr(expr) => quote!(#expr),
        Source::Closure(execute) => quote_spanned!(step.span=> #private::from_fn(#execute)),
        Source::Pair(execute, compensate) => {
            quote_spanned!(step.span=> #private::from_fn(#execute).with_compensation(#compensate))
        }
    };
    let mut modifiers = step
        .modifiers
        .iter()
        .map(|Modifier { method, arg }| (method, arg.as_ref().map(|a| quote!(#a))));
    if saga.is_async {
        let calls = modifiers.map(|(method, arg)| quote!(.#method(#arg)));
        if step.modifiers.is_empty() {
            base
        } else {
            quote_spanned!(step.span=> #private::AsyncTuned::new(#base) #(#calls)*)
        }
    } else if let Some((first, arg)) = modifiers.next() {
        let arg = arg.map(|a| quote!(, #a));
        let calls = modifiers.map(|(method, arg)| quote!(.#method(#arg)));
        quote_spanned!(step.span=> #private::StepExt::#first(#base #arg) #(#calls)*)
    } else {
        base
    }
}

/// The compile-time pivot check of step `index`, whose value is at `place`: the phase
/// after it, from the phase before it and its kind. A branch of `join!` is checked
/// against the phase before the group, and may not be the pivot (its siblings could
/// fail after it succeeded); the phase after the group is the phase before it.
/// ```text
/// let p1 = (&Probe::new(&s0)).tale_kind().then(p0);            // a step
/// (&Probe::new(&s1)).tale_kind().in_group(p1);                  // a branch
/// (&Probe::new(&s2)).tale_kind().in_group(p1); let p3 = p1;     // the last branch
/// ```
/// Checks of branches are expression statements, not `let`s: each `let` opens a
/// scope, and a 1000-branch group nested that deep overflows LLVM's stack when
/// emitting debug info.
pub(super) fn kind_check(
    index: usize,
    step: &SagaStep,
    place: &TokenStream,
    branch: Option<Branch>,
) -> TokenStream {
    let private = private();
    let kind = quote_spanned!(step.span=> (&#private::Probe::new(&#place)).tale_kind());
    let next_phase = phase_of(index + 1, step.span);
    let Some(branch) = branch else {
        let phase = phase_of(index, step.span);
        return quote_spanned!(step.span=> let #next_phase = #kind.then(#phase););
    };
    let phase = phase_of(branch.first, step.span);
    let check = quote_spanned!(step.span=> #kind.in_group(#phase););
    if branch.last {
        quote!(#check let #next_phase = #phase;)
    } else {
        check
    }
}
