//! Expand: a validated `#[step]` function into a function that returns a step value.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned as _;

use super::call::{arg_exprs, callable, step_return};
use super::named;
use super::send::{send_exec, send_undo};
use super::validate::{Futures, Kind, StepFn};
use crate::paths::{private, private_at};

/// ```text
/// #[step(compensate = refund)]
/// pub fn debit(order: &Order, amount: u64) -> Result<Payment, E> { body }
/// ```
/// becomes
/// ```text
/// #[must_use = "a step does nothing until a saga or an executor runs it"]
/// pub fn debit<'__tale_l0>(order: &'__tale_l0 Order, amount: u64)
///     -> impl Step<Output = <Result<Payment, E> as StepReturn>::Output, Error = ...>
///        + Kinded<Kind = Compensatable> + Captures<(&'__tale_l0 (),)>
/// {
///     fn __tale_body(order: &Order, amount: u64) -> Result<Payment, E> { body }
///     struct __TaleConsts;
///     impl StepConsts for __TaleConsts {
///         const NAME: &'static str = "debit";
///         const KIND: StepKind = StepKind::Compensatable;
///         const UNCERTAIN: bool = false;
///     }
///     StepFn::new((order, amount), __TaleConsts, Compensatable,
///             |a| StepReturn::into_result(__tale_body(a.0, per_attempt(&a.1))))
///         .compensate(|a, out| match out {
///             Some(out) => /* refund(a.0, per_attempt(&a.1), out), type-checked */,
///             None => Ok(()),
///         })
/// }
/// ```
/// In an `impl` block the body becomes a hidden sibling method `__tale_debit`
/// instead, called as `Self::__tale_debit`. An `async fn` step builds an
/// `AsyncStepFn`; unless it is `local`, wrapped in `SendStep::new(..)` and running its
/// body and compensation through the helpers of [`super::send`].
/// A step with `type = Name` is expanded by [`super::named`] instead.
pub(crate) fn expand(step: &StepFn) -> TokenStream {
    if let Some(name) = &step.named {
        return named::expand(step, name);
    }
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
    let body_fn = body_fn(step, &body_ident, &body_attrs);
    let callee = callable(step, &body_ident);
    let a = Ident::new("__a", Span::mixed_site());
    let arg_exprs = arg_exprs(step, &a);
    let args_tuple = {
        let names = step.args.iter().map(|arg| &arg.name);
        quote!((#(#names,)*))
    };
    let marker = marker(step.kind);
    let into_result = {
        let private = private_at(step.output.span());
        quote_spanned!(step.output.span()=> #private::StepReturn::into_result)
    };
    let consts_ty = Ident::new("__TaleConsts", Span::mixed_site());
    let consts = consts(step, &consts_ty);
    let send = step.futures == Futures::Send;
    let mut helpers = quote!();
    let constructor = if send {
        let (exec_fn, exec_ref) = send_exec(step, &a, &into_result, &callee, &arg_exprs);
        helpers.extend(exec_fn);
        quote! {
            #private::AsyncStepFn::new(#args_tuple, #consts_ty, #private::#marker, #exec_ref)
        }
    } else if step.is_async() {
        quote! {
            #private::AsyncStepFn::new(#args_tuple, #consts_ty, #private::#marker,
                async |#a| #into_result(#callee(#(#arg_exprs),*).await))
        }
    } else {
        quote! {
            #private::StepFn::new(#args_tuple, #consts_ty, #private::#marker,
                |#a| #into_result(#callee(#(#arg_exprs),*)))
        }
    };
    let compensate = if send {
        match send_undo(step, &a, &arg_exprs) {
            Some((undo_fn, undo_ref)) => {
                helpers.extend(undo_fn);
                quote!(.compensate(#undo_ref))
            }
            None => quote!(),
        }
    } else {
        compensate(step, &a, &arg_exprs)
    };
    let retry = step
        .retry
        .as_ref()
        .map(|r| quote_spanned!(r.span()=> .retry(|| #r)));
    let compensation_retry = step
        .compensation_retry
        .as_ref()
        .map(|r| quote_spanned!(r.span()=> .compensation_retry(|| #r)));
    let (nested, sibling) = if step.in_impl {
        (quote!(), quote!(#body_fn #helpers))
    } else {
        (quote!(#body_fn #helpers), quote!())
    };
    let value = quote!(#constructor #compensate #retry #compensation_retry);
    let value = if send {
        quote!(#private::SendStep::new(#value))
    } else {
        value
    };
    quote! {
        #(#outer_attrs)*
        #must_use
        #vis fn #ident #generics (#(#params),*) -> #returns #where_clause {
            #nested
            #consts
            #value
        }
        #sibling
    }
}

/// The user's function renamed `body_ident`, with the attributes that apply to the body.
pub(super) fn body_fn(
    step: &StepFn,
    body_ident: &Ident,
    body_attrs: &[&syn::Attribute],
) -> TokenStream {
    let mut sig = step.item.sig.clone();
    sig.ident = body_ident.clone();
    let block = &step.item.block;
    let hidden = if step.in_impl {
        quote!(#[doc(hidden)])
    } else {
        quote!()
    };
    quote!(#hidden #(#body_attrs)* #sig #block)
}

/// The step's name, kind and uncertainty as constants of a zero-sized type `consts_ty`:
/// the step value then holds its arguments and nothing else.
fn consts(step: &StepFn, consts_ty: &Ident) -> TokenStream {
    let private = private();
    let name = &step.name;
    let runtime_kind = runtime_kind(step.kind);
    let uncertain = step.uncertain;
    quote! {
        struct #consts_ty;
        impl #private::StepConsts for #consts_ty {
            const NAME: &'static str = #name;
            const KIND: #private::StepKind = #private::StepKind::#runtime_kind;
            const UNCERTAIN: bool = #uncertain;
        }
    }
}

/// The `StepKind` variant of a kind.
pub(super) fn runtime_kind(kind: Kind) -> TokenStream {
    match kind {
        Kind::Compensatable | Kind::Uncompensated => quote!(Compensatable),
        Kind::Pivot => quote!(Pivot),
        Kind::Retriable => quote!(Retriable),
    }
}

/// The kind marker type's name (in `__private`).
pub(super) fn marker(kind: Kind) -> TokenStream {
    match kind {
        Kind::Compensatable => quote!(Compensatable),
        Kind::Uncompensated => quote!(Uncompensated),
        Kind::Pivot => quote!(Pivot),
        Kind::Retriable => quote!(Retriable),
    }
}

/// Docs, `cfg` and `deprecated` stay on the step function; lint levels go on both; the
/// rest (`inline`, `tracing::instrument`, ...) go on the body.
pub(super) fn split_attrs(
    attrs: &[syn::Attribute],
) -> (Vec<&syn::Attribute>, Vec<&syn::Attribute>) {
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
pub(super) fn params(step: &StepFn) -> Vec<TokenStream> {
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
    let (output, error) = output_and_error(step);
    let private = private();
    let trait_ = match step.futures {
        Futures::Send => quote!(SendAsyncStep),
        Futures::Local => quote!(AsyncStep),
        Futures::None => quote!(Step),
    };
    let marker = marker(step.kind);
    let lifetimes = &step.lifetimes;
    let captures = if lifetimes.is_empty() {
        quote!()
    } else {
        quote!(+ #private::Captures<(#(&#lifetimes (),)*)>)
    };
    let opaque = quote! {
        impl #private::#trait_<Output = #output, Error = #error>
            + #private::Kinded<Kind = #private::#marker> #captures
    };
    if step.futures == Futures::Send {
        quote!(#private::SendStep<#opaque>)
    } else {
        opaque
    }
}

/// The step's output and error types, as written when the return type is written
/// `Result<T, E>` (see [`result_args`]).
pub(super) fn output_and_error(step: &StepFn) -> (TokenStream, TokenStream) {
    let ret = step_return(step);
    match result_args(&step.output) {
        Some((output, error)) => (quote!(#output), quote!(#error)),
        None => (quote!(#ret::Output), quote!(#ret::Error)),
    }
}

/// `T` and `E` of a return type written `Result<T, E>` (any path to it), which the
/// signature then names as they are written, not as `<Result<T, E> as StepReturn>::Output`:
/// rustc prints them so in hovers and errors. An alias of another shape (`io::Result<T>`)
/// goes through `StepReturn`, which checks a two-argument `Result` alias too.
fn result_args(ty: &syn::Type) -> Option<(&syn::Type, &syn::Type)> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let mut types = args.args.iter().map(|arg| match arg {
        syn::GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    match (types.next(), types.next(), types.next()) {
        (Some(Some(output)), Some(Some(error)), None)
            if path.qself.is_none() && last.ident == "Result" =>
        {
            Some((output, error))
        }
        _ => None,
    }
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
    let call = compensation_call(step, arg_exprs, &out);
    let closure = if step.is_async() {
        quote!(async |#a, #out|)
    } else {
        quote!(|#a, #out|)
    };
    quote!(.compensate(#closure #call))
}

/// The call of the `compensate = ...` function with the arguments and `out`, the
/// output (an `Option`), type-checked.
fn compensation_call(step: &StepFn, arg_exprs: &[TokenStream], out: &Ident) -> TokenStream {
    // Invariant: only called for a step with a compensation.
    let span = step.compensate.as_ref().expect("a compensation").span();
    let call = checked_call(step, arg_exprs, out);
    let some = quote!(::core::option::Option::Some);
    let none = quote!(::core::option::Option::None);
    let ok = quote!(::core::result::Result::Ok(()));
    match (step.is_async(), step.uncertain) {
        (true, false) => quote_spanned! {span=>
            match #out {
                #some(#out) => #call,
                #none => #ok,
            }
        },
        (true, true) => call,
        (false, true) => quote!({ #call }),
        (false, false) => quote!(match #out { #some(#out) => { #call } #none => #ok }),
    }
}

/// The type-checked call of the `compensate = ...` function with the arguments and
/// `out`: `&Output`, or `Option<&Output>` for an `uncertain` step. An expression (with
/// `.await` for an async step) or, for a sync step, the statements of a block.
pub(super) fn checked_call(step: &StepFn, arg_exprs: &[TokenStream], out: &Ident) -> TokenStream {
    // Invariant: only called for a step with a compensation.
    let path = step.compensate.as_ref().expect("a compensation");
    let span = path.span();
    let args = Ident::new("__tale_args", span);
    let undo = Ident::new("__tale_undo", span);
    let private = private_at(span);
    let uncertain = step.uncertain;
    let ret = step_return(step);
    match (step.is_async(), uncertain) {
        (true, false) => quote_spanned! {span=>
            #private::compensate_async((#(#arg_exprs,)*), #out, &mut #path).await
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
            // Autoref picks `tale_fits`: `TaleFits` when the compensation fits, else
            // `TaleIsAsync` for an `async fn`, else `TaleMismatch`, the last two for
            // their diagnostics; the other imports are unused, hence the `allow`.
            quote_spanned! {span=>
                let #args = (#(#arg_exprs,)*);
                #[allow(unused_imports)]
                let mut #undo = {
                    use #private::{TaleFits as _, TaleIsAsync as _, TaleMismatch as _};
                    (&&#private::#check::<_, #ret::Output, #ret::Error, _>::new(#path, &#args)).tale_fits()
                };
                #undo.#method(#args, #out)
            }
        }
    }
}
