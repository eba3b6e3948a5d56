//! Expand: a validated `#[step]` function into a function that returns a step value.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{GenericParam, Ident};

use super::validate::{Kind, Pass, StepFn};
use crate::paths::{private, private_at};

/// ```text
/// #[step(compensate = refund)]
/// pub fn debit(order: &Order, amount: u64) -> Result<Payment, E> { body }
/// ```
/// becomes
/// ```text
/// #[must_use = ...]
/// pub fn debit<'__tale_l0>(order: &'__tale_l0 Order, amount: u64)
///     -> impl Step<Output = <Result<Payment, E> as StepReturn>::Output, Error = ...>
///        + Kinded<Kind = Compensatable> + Captures<(&'__tale_l0 (),)>
/// {
///     fn __tale_body(order: &Order, amount: u64) -> Result<Payment, E> { body }
///     struct Meta; impl StepMeta for Meta { NAME = "debit", KIND = Compensatable, UNCERTAIN = false }
///     StepFn::new((order, amount), Meta, Compensatable,
///             |a| StepReturn::into_result(__tale_body(a.0, per_attempt(&a.1))))
///         .compensate(|a, out| /* checked call of refund(a.0, per_attempt(&a.1), out) */)
/// }
/// ```
/// In an `impl` block the body becomes a hidden sibling method `__tale_debit`
/// instead, called as `Self::__tale_debit`.
pub(crate) fn expand(step: &StepFn) -> TokenStream {
    let private = private();
    let item = &step.item;
    let vis = &item.vis;
    let ident = &item.sig.ident;
    let (outer_attrs, body_attrs) = split_attrs(&item.attrs);
    let generics = &step.generics;
    let where_clause = &generics.where_clause;
    let params = params(step);
    let returns = returns(step);
    let must_use = if item.attrs.iter().any(|a| a.path().is_ident("must_use")) {
        quote!()
    } else {
        quote!(#[must_use = "a step does nothing until a saga or an executor runs it"])
    };

    let body_ident = if step.in_impl {
        format_ident!("__tale_{}", ident, span = ident.span())
    } else {
        Ident::new("__tale_body", ident.span())
    };
    let body_fn = {
        let mut sig = item.sig.clone();
        sig.ident = body_ident.clone();
        let block = &item.block;
        let hidden = if step.in_impl {
            quote!(#[doc(hidden)])
        } else {
            quote!()
        };
        quote!(#hidden #(#body_attrs)* #sig #block)
    };
    let turbofish = turbofish(step);
    let callee = if step.in_impl {
        quote!(Self::#body_ident #turbofish)
    } else {
        quote!(#body_ident #turbofish)
    };
    let a = Ident::new("__a", Span::mixed_site());
    let arg_exprs = arg_exprs(step, &a);
    let args_tuple = {
        let names = step.args.iter().map(|arg| &arg.name);
        quote!((#(#names,)*))
    };
    let name = &step.name;
    let (runtime_kind, marker) = match step.kind {
        Kind::Compensatable => (quote!(Compensatable), quote!(Compensatable)),
        Kind::Uncompensated => (quote!(Compensatable), quote!(Uncompensated)),
        Kind::Pivot => (quote!(Pivot), quote!(Pivot)),
        Kind::Retriable => (quote!(Retriable), quote!(Retriable)),
    };
    let into_result = {
        let private = private_at(step.output.span());
        quote_spanned!(step.output.span()=> #private::StepReturn::into_result)
    };
    // The step's name, kind and uncertainty as constants of a zero-sized type: the
    // step value then holds its arguments and nothing else.
    let meta_ty = Ident::new("__TaleMeta", Span::mixed_site());
    let uncertain = step.uncertain;
    let meta = quote! {
        struct #meta_ty;
        impl #private::StepMeta for #meta_ty {
            const NAME: &'static str = #name;
            const KIND: #private::StepKind = #private::StepKind::#runtime_kind;
            const UNCERTAIN: bool = #uncertain;
        }
    };
    let constructor = if step.is_async {
        quote! {
            #private::AsyncStepFn::new(#args_tuple, #meta_ty, #private::#marker,
                async |#a| #into_result(#callee(#(#arg_exprs),*).await))
        }
    } else {
        quote! {
            #private::StepFn::new(#args_tuple, #meta_ty, #private::#marker,
                |#a| #into_result(#callee(#(#arg_exprs),*)))
        }
    };
    let compensate = compensate(step, &a, &arg_exprs);
    let retry = step
        .retry
        .as_ref()
        .map(|r| quote_spanned!(r.span()=> .retry(|| #r)));
    let compensation_retry = step
        .compensation_retry
        .as_ref()
        .map(|r| quote_spanned!(r.span()=> .compensation_retry(|| #r)));
    let (nested, sibling) = if step.in_impl {
        (quote!(), body_fn)
    } else {
        (body_fn, quote!())
    };
    quote! {
        #(#outer_attrs)*
        #must_use
        #vis fn #ident #generics (#(#params),*) -> #returns #where_clause {
            #nested
            #meta
            #constructor #compensate #retry #compensation_retry
        }
        #sibling
    }
}

/// Docs, `cfg` and `deprecated` stay on the step function; lint levels go on both; the
/// rest (`inline`, `tracing::instrument`, ...) go on the body.
fn split_attrs(attrs: &[syn::Attribute]) -> (Vec<&syn::Attribute>, Vec<&syn::Attribute>) {
    let is = |a: &syn::Attribute, names: &[&str]| names.iter().any(|n| a.path().is_ident(n));
    let outer = attrs
        .iter()
        .filter(|a| {
            is(
                a,
                &[
                    "doc",
                    "cfg",
                    "deprecated",
                    "must_use",
                    "allow",
                    "expect",
                    "warn",
                    "deny",
                ],
            )
        })
        .collect();
    let body = attrs
        .iter()
        .filter(|a| !is(a, &["doc", "must_use", "deprecated"]))
        .collect();
    (outer, body)
}

/// The step function's parameters: the receiver with a named lifetime, then
/// `name: Type` with elided lifetimes named.
fn params(step: &StepFn) -> Vec<TokenStream> {
    let mut params = Vec::new();
    if let Some(receiver) = &step.receiver {
        params.push(quote!(#receiver));
    }
    for arg in &step.args {
        if let Some(ty) = &arg.ty {
            let name = &arg.name;
            params.push(quote!(#name: #ty));
        }
    }
    params
}

/// `impl Step<Output = .., Error = ..> + Kinded<Kind = ..> + Captures<(..)>`.
fn returns(step: &StepFn) -> TokenStream {
    let output = &step.output;
    let ret = {
        let private = private_at(output.span());
        quote_spanned!(output.span()=> <#output as #private::StepReturn>)
    };
    let private = private();
    let trait_ = if step.is_async {
        quote!(AsyncStep)
    } else {
        quote!(Step)
    };
    let marker = match step.kind {
        Kind::Compensatable => quote!(Compensatable),
        Kind::Uncompensated => quote!(Uncompensated),
        Kind::Pivot => quote!(Pivot),
        Kind::Retriable => quote!(Retriable),
    };
    let lifetimes = &step.lifetimes;
    let captures = if lifetimes.is_empty() {
        quote!()
    } else {
        quote!(+ #private::Captures<(#(&#lifetimes (),)*)>)
    };
    quote! {
        impl #private::#trait_<Output = #ret::Output, Error = #ret::Error>
            + #private::Kinded<Kind = #private::#marker> #captures
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
fn arg_exprs(step: &StepFn, a: &Ident) -> Vec<TokenStream> {
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

/// `.compensate(|a, out| ...)`: a checked call of the `compensate = ...`
/// function with the arguments and the output.
fn compensate(step: &StepFn, a: &Ident, arg_exprs: &[TokenStream]) -> TokenStream {
    let Some(path) = &step.compensate else {
        return quote!();
    };
    let span = path.span();
    // At the path, with its hygiene: errors about the compensation call point there
    // (tokens of two hygiene contexts widen an error to the whole attribute).
    let out = Ident::new("__tale_out", span);
    let args = Ident::new("__tale_args", span);
    let undo = Ident::new("__tale_undo", span);
    let private = private_at(span);
    let uncertain = step.uncertain;
    let output = &step.output;
    let ret = {
        let private = private_at(output.span());
        quote_spanned!(output.span()=> <#output as #private::StepReturn>)
    };
    let some = quote!(::core::option::Option::Some);
    let none = quote!(::core::option::Option::None);
    let ok = quote!(::core::result::Result::Ok(()));
    let call = match (step.is_async, uncertain) {
        (true, false) => quote_spanned! {span=>
            match #out {
                #some(#out) => #private::compensate_async((#(#arg_exprs,)*), #out, &mut #path).await,
                #none => #ok,
            }
        },
        (true, true) => quote_spanned! {span=>
            #private::compensate_uncertain_async((#(#arg_exprs,)*), #out, &mut #path).await
        },
        (false, uncertain) => {
            let (check, method) = if uncertain {
                ("CheckUncertain", "call_uncertain")
            } else {
                ("CheckSync", "call")
            };
            let (check, method) = (Ident::new(check, span), Ident::new(method, span));
            let checked = quote_spanned! {span=>
                let #args = (#(#arg_exprs,)*);
                #[allow(unused_imports)]
                let mut #undo = {
                    use #private::{TaleFits as _, TaleMismatch as _};
                    (&#private::#check::<_, #ret::Output, #ret::Error, _>::new(#path, &#args)).tale_fits()
                };
                #undo.#method(#args, #out)
            };
            if uncertain {
                quote!({ #checked })
            } else {
                quote!(match #out { #some(#out) => { #checked } #none => #ok })
            }
        }
    };
    let closure = if step.is_async {
        quote!(async |#a, #out|)
    } else {
        quote!(|#a, #out|)
    };
    quote!(.compensate(#closure #call))
}
