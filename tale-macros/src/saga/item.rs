//! Expand: the `fn` forms of `saga!`, plain (taking the executor first) and durable
//! (taking the journal's store and the run's origin first).

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;

use super::ast::SagaFn;
use super::fingerprint::fingerprint;
use super::model::{Durable, Saga};
use super::names::hidden;
use crate::paths::{private, private_at};

/// `fn name(inputs) -> R` becomes `fn name<O, C>(executor: &mut Executor<O, C>, inputs) -> R`.
pub(super) fn item_fn(saga: &Saga, item: &SagaFn, body: &TokenStream) -> TokenStream {
    let private = private();
    let SagaFn { attrs, vis, sig } = item;
    let mut sig = sig.clone();
    let observer = Ident::new("__TaleO", Span::call_site());
    let clock = Ident::new("__TaleC", Span::call_site());
    sig.generics.params.push(syn::parse_quote!(#observer));
    sig.generics.params.push(syn::parse_quote!(#clock));
    let executor = hidden("executor");
    sig.inputs.insert(
        0,
        syn::parse_quote!(#executor: &mut #private::Executor<#observer, #clock>),
    );
    let ret = match &sig.output {
        syn::ReturnType::Type(_, ty) => ty.clone(),
        syn::ReturnType::Default => syn::parse_quote!(()),
    };
    let clock_bound = if saga.is_async {
        quote!(#private::AsyncSleep)
    } else {
        quote!(#private::Clock)
    };
    let where_clause = sig.generics.make_where_clause();
    let ret_span = syn::spanned::Spanned::span(&ret);
    let error = {
        let private = private_at(ret_span);
        quote_spanned!(ret_span=> <#ret as #private::SagaReturn>::Error)
    };
    where_clause
        .predicates
        .push(syn::parse_quote!(#observer: #private::Observer<#error>));
    where_clause
        .predicates
        .push(syn::parse_quote!(#clock: #clock_bound));
    quote! {
        #(#attrs)*
        #vis #sig {
            #body
        }
    }
}

/// The store and origin arguments of a durable saga function (hidden: the body cannot
/// see them, and inputs of the same names do not clash).
fn store_and_origin() -> (Ident, Ident) {
    (hidden("store"), hidden("origin"))
}

/// How the body reaches the saga's inputs: the name they are serialized through, the
/// inputs argument declaring that name, and the user's pattern to bind from it when it
/// is not a plain name (`(a, b): (u32, u32)` becomes `inputs: (u32, u32)`, then
/// `let (a, b) = inputs;`).
fn durable_inputs(durable: &Durable) -> (Ident, syn::PatType, Option<&syn::Pat>) {
    match &*durable.inputs.pat {
        syn::Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => {
            (p.ident.clone(), (*durable.inputs).clone(), None)
        }
        pat => {
            let inputs = hidden("inputs");
            let mut arg = (*durable.inputs).clone();
            arg.pat = Box::new(syn::parse_quote!(#inputs));
            (inputs, arg, Some(pat))
        }
    }
}

/// The start of a durable run, with the saga's fingerprint: the journal's failure to
/// start returns from the function; a destructuring inputs pattern is bound once the
/// inputs are recorded.
/// ```text
/// let mut run = match DurableRun::start_versioned(ExecutorMut::executor_mut(&mut exec),
///         store, "name", &order, origin, Some(0x5eed..)) {
///     Ok(run) => run,
///     Err(e) => return Err(DurableError::Journal(e)),
/// };
/// ```
/// An `async fn` saga starts a `DurableAsyncRun` the same way, with the run's limits,
/// and awaits the start.
pub(super) fn durable_start(
    saga: &Saga,
    durable: &Durable,
    executor_mut: &TokenStream,
    limits: &TokenStream,
) -> TokenStream {
    let private = private();
    let run = hidden("__run");
    let error = hidden("__e");
    let name = &saga.name;
    let (store, origin) = store_and_origin();
    let (inputs, _, pattern) = durable_inputs(durable);
    let destructure = pattern.map(|pat| quote!(let #pat = #inputs;));
    let fingerprint = proc_macro2::Literal::u64_suffixed(fingerprint(saga));
    let fingerprint = quote!(::core::option::Option::Some(#fingerprint));
    let start = if saga.is_async {
        quote! {
            #private::DurableAsyncRun::start(
                #executor_mut, #store, #name, &#inputs, #origin, #fingerprint, #private::Limits::new() #limits
            ).await
        }
    } else {
        quote!(#private::DurableRun::start_versioned(#executor_mut, #store, #name, &#inputs, #origin, #fingerprint))
    };
    quote! {
        // `mut` for the sync run's steps, which take it exclusively.
        #[allow(unused_mut)]
        let mut #run = match #start {
            ::core::result::Result::Ok(#run) => #run,
            ::core::result::Result::Err(#error) => {
                return ::core::result::Result::Err(#private::DurableError::Journal(#error));
            }
        };
        #destructure
    }
}

/// `#![saga(durable)] fn name(inputs: I, env: Env) -> R` becomes
/// `fn name(store: &dyn Store, origin: Origin, inputs: I, env: Env) -> R`, with no
/// generics of its own, so that the function item meets `Recoverer::register`'s
/// higher-ranked `Fn(&dyn Store, Origin, &I, &Env)` bound when `I` is a reference; an
/// `async fn` takes `&dyn AsyncStore` instead, for `AsyncRecoverer::register`.
pub(super) fn durable_fn(
    saga: &Saga,
    durable: &Durable,
    item: &SagaFn,
    body: &TokenStream,
) -> TokenStream {
    let private = private();
    let SagaFn { attrs, vis, sig } = item;
    let mut sig = sig.clone();
    let (store, origin) = store_and_origin();
    let (_, inputs, _) = durable_inputs(durable);
    let env = &durable.env;
    let store_trait = if saga.is_async {
        quote!(AsyncStore)
    } else {
        quote!(Store)
    };
    sig.inputs = syn::parse_quote!(
        #store: &dyn #private::#store_trait, #origin: #private::Origin, #inputs, #env
    );
    quote! {
        #(#attrs)*
        #vis #sig {
            #body
        }
    }
}
