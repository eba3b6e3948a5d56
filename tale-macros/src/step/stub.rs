//! Expand, on error: the step function as a stub that returns a step value of the
//! right types and never runs, so that the sagas calling it raise no errors beyond the
//! macro's own. The user's function is kept inside it, as `expand` keeps it, so that
//! its body is still checked and the IDE still sees it.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens as _, format_ident, quote};
use syn::{Ident, ItemFn, ReturnType, Type};

use super::expand::split_attrs;
use super::type_name::impl_token;
use super::validate::{may_be_result, mentions_self};
use crate::paths::private;

/// ```text
/// #[step(compensat = refund)]
/// pub fn debit(order: &Order) -> Result<Payment, E> { body }
/// ```
/// becomes, after the error,
/// ```text
/// #[allow(unused_variables)]
/// pub fn debit(order: &Order)
///     -> Unexpanded<<Result<Payment, E> as StepReturn>::Output, <... as StepReturn>::Error>
/// {
///     #[allow(dead_code)]
///     fn __tale_body(order: &Order) -> Result<Payment, E> { body }
///     Unexpanded::new()
/// }
/// ```
/// The stub is a plain `fn` whatever the function was (`async`, `const`, `unsafe`), so
/// that calling it needs nothing more than calling a step. A return type that cannot be
/// a `Result` (the error may be about it) becomes the output, with an error type
/// `__TaleE` left to the saga to infer; one that holds an `impl Trait` becomes `()`.
pub(super) fn stub(item: &ItemFn) -> TokenStream {
    let private = private();
    let (outer_attrs, body_attrs) = split_attrs(&item.attrs);
    let mut sig = item.sig.clone();
    sig.constness = None;
    sig.asyncness = None;
    sig.safety = syn::Safety::Default;
    sig.abi = None;
    sig.variadic = None;
    let returns = match &item.sig.output {
        ReturnType::Type(_, ty) if may_be_result(ty) && usable(ty) => quote! {
            #private::Unexpanded<
                <#ty as #private::StepReturn>::Output,
                <#ty as #private::StepReturn>::Error,
            >
        },
        output => {
            let error = Ident::new("__TaleE", Span::call_site());
            sig.generics.params.push(syn::parse_quote!(#error));
            let ty = match output {
                ReturnType::Type(_, ty) if usable(ty) => quote!(#ty),
                _ => quote!(()),
            };
            quote!(#private::Unexpanded<#ty, #error>)
        }
    };
    sig.output = syn::parse_quote!(-> #returns);
    let in_impl = sig.receiver().is_some() || mentions_self(item);
    let mut body_sig = item.sig.clone();
    body_sig.ident = if in_impl {
        format_ident!("__tale_{}", item.sig.ident, span = item.sig.ident.span())
    } else {
        Ident::new("__tale_body", item.sig.ident.span())
    };
    let block = &item.block;
    let body = quote! {
        #[doc(hidden)]
        #[allow(dead_code)]
        #(#body_attrs)*
        #body_sig #block
    };
    let (nested, sibling) = if in_impl {
        (quote!(), body)
    } else {
        (body, quote!())
    };
    let vis = &item.vis;
    quote! {
        #(#outer_attrs)*
        #[allow(unused_variables)]
        #vis #sig {
            #nested
            #private::Unexpanded::new()
        }
        #sibling
    }
}

/// Whether the written return type can stand as the stub's output: not if it is
/// (or holds, as in `Result<impl Trait, E>`) `impl Trait`, or is `!`, which cannot be a
/// type argument.
fn usable(ty: &Type) -> bool {
    match ty {
        Type::Paren(paren) => usable(&paren.elem),
        Type::Group(group) => usable(&group.elem),
        Type::ImplTrait(_) | Type::Never(_) | Type::Infer(_) => false,
        _ => impl_token(ty.to_token_stream()).is_none(),
    }
}
