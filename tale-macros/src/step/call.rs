//! Expand: how the step function reaches the user's functions: which function it
//! calls (the body, a helper), with which arguments, returning what.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{GenericParam, Ident};

use super::validate::{Pass, StepFn};
use crate::paths::private_at;

/// `<Output as StepReturn>`, located at the return type.
pub(super) fn step_return(step: &StepFn) -> TokenStream {
    let output = &step.output;
    let private = private_at(output.span());
    quote_spanned!(output.span()=> <#output as #private::StepReturn>)
}

/// How the step function calls its generated sibling `ident` (the body or a helper):
/// `Self::ident::<T>` in an `impl` block, `ident::<T>` otherwise.
pub(super) fn callable(step: &StepFn, ident: &Ident) -> TokenStream {
    let turbofish = turbofish(step);
    if step.in_impl {
        quote!(Self::#ident #turbofish)
    } else {
        quote!(#ident #turbofish)
    }
}

/// `::<T, N>` for the body call: the user's type and const parameters.
fn turbofish(step: &StepFn) -> TokenStream {
    let params: Vec<_> = step
        .item
        .sig
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(t.ident.clone()),
            GenericParam::Const(c) => Some(c.ident.clone()),
            GenericParam::Lifetime(_) => None,
        })
        .collect();
    if params.is_empty() {
        quote!()
    } else {
        quote!(::<#(#params),*>)
    }
}

/// How each argument is passed to one call of the body or the compensation.
pub(super) fn arg_exprs(step: &StepFn, a: &Ident) -> Vec<TokenStream> {
    step.args
        .iter()
        .enumerate()
        .map(|(index, arg)| {
            let index = syn::Index::from(index);
            match arg.pass {
                Pass::Ref => quote!(#a.#index),
                Pass::MutRef => quote!(&mut *#a.#index),
                Pass::Value => {
                    // Located at the argument, so that a missing `Clone` points there.
                    let a = Ident::new(&a.to_string(), Span::mixed_site().located_at(arg.span));
                    let private = private_at(arg.span);
                    quote_spanned!(arg.span=> #private::per_attempt(&#a.#index))
                }
            }
        })
        .collect()
}
