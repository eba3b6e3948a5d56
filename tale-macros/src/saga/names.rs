//! Expand: the names the expansion invents, and where each step's value lives.
//!
//! The locals that errors may point at (step values, groups, phases) are
//! `__tale_`-prefixed and resolved at the call site, located at the user's step:
//! rustc reports a failed bound on `&mut local` at the span of the whole expression,
//! and tokens of two hygiene contexts widen that span to the whole `saga!`. The others
//! are mixed-site ([`hidden`]), out of the user's reach.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, Lifetime};

use super::model::{Binding, SagaStep};

/// A local the user's code can neither see nor shadow.
pub(super) fn hidden(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The label of the block a saga's run is: its success leaves it with a `break`.
pub(super) fn saga_label() -> Lifetime {
    Lifetime::new("'__tale_saga", Span::mixed_site())
}

/// The label of step `index`'s level: its failure leaves it with a `break`.
pub(super) fn level_label(index: usize) -> Lifetime {
    Lifetime::new(&format!("'__tale_l{index}"), Span::mixed_site())
}

/// The local holding step `index`'s value.
pub(super) fn step_local(index: usize, step: &SagaStep) -> Ident {
    format_ident!("__tale_s{}", index, span = step.span)
}

/// The tuple of the async `join!` group starting at step `first`, located at `span`
/// (the step using it).
pub(super) fn group_local(first: usize, span: Span) -> Ident {
    format_ident!("__tale_g{}", first, span = span)
}

/// The phase before step `index` (for the pivot checks), located at `span`.
pub(super) fn phase_of(index: usize, span: Span) -> Ident {
    format_ident!("__tale_p{}", index, span = span)
}

/// Where step `index`'s value lives: its own local, or for a branch of an async
/// `join!` whose first step is `group`, a field of the group's tuple. An async saga's
/// state machine costs rustc time quadratic in the locals that live across an await
/// (the layout's storage conflicts, borrowck's liveness), so a group keeps its
/// branches in one local.
pub(super) fn step_place(index: usize, step: &SagaStep, group: Option<usize>) -> TokenStream {
    let Some(first) = group else {
        let local = step_local(index, step);
        return quote!(#local);
    };
    let group = group_local(first, step.span);
    let field = syn::Index {
        index: u32::try_from(index - first).expect("fewer than 2^32 branches"),
        span: step.span,
    };
    quote_spanned!(step.span=> #group.#field)
}

/// What step `index`'s output is bound with: the pattern, its type (`_` if not
/// written) and the name later steps see (a hidden one for a discarded output).
pub(super) fn binding_parts(
    index: usize,
    binding: &Binding,
) -> (TokenStream, TokenStream, TokenStream) {
    match binding {
        Binding::Named {
            mutability,
            ident,
            ty,
        } => {
            let ty = ty.as_ref().map_or_else(|| quote!(_), |ty| quote!(#ty));
            (quote!(#mutability #ident), ty, quote!(#ident))
        }
        Binding::Discard => {
            let hidden = format_ident!("__o{}", index, span = Span::mixed_site());
            (quote!(#hidden), quote!(_), quote!(#hidden))
        }
    }
}
