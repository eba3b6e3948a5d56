//! Expand: the helpers of a `Send` async step, generated `fn`s whose signatures say
//! that the futures of its body and its compensation are `Send`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned as _;

use super::call::{callable, step_return};
use super::validate::StepFn;

/// The hidden helper function `kind` (`exec` or `undo`) of the step: a sibling
/// associated function in an `impl` block, a nested function otherwise.
fn helper_ident(step: &StepFn, kind: &str) -> Ident {
    let ident = &step.item.sig.ident;
    if step.in_impl {
        format_ident!("__tale_{}_{}", kind, ident, span = ident.span())
    } else {
        format_ident!("__tale_{}", kind, span = Span::mixed_site())
    }
}

/// The types of the step's arguments as the step value holds them (the tuple `A`).
pub(super) fn arg_types(step: &StepFn) -> Vec<TokenStream> {
    step.args
        .iter()
        .map(|arg| match (&arg.ty, &step.receiver) {
            (Some(ty), _) => quote!(#ty),
            (None, Some(syn::FnArg::Receiver(r))) => match &r.kind {
                syn::ReceiverKind::Reference(_, lifetime, mutability) => {
                    quote!(&#lifetime #mutability Self)
                }
                _ => quote!(Self),
            },
            (None, _) => quote!(Self),
        })
        .collect()
}

/// The generics of a helper: the step function's, after `lifetimes`.
fn helper_generics(step: &StepFn, lifetimes: &[&syn::Lifetime]) -> TokenStream {
    let params = &step.generics.params;
    quote!(<#(#lifetimes,)* #params>)
}

/// The helper that runs the body of a `Send` async step once:
/// `fn exec<'a>(args: &'a mut A) -> impl Future<Output = Result<..>> + Send + 'a`. A
/// body whose future is not `Send` fails to compile here (rustc reports it at the
/// `#[step]` attribute). Returns the helper and the path that names it.
pub(super) fn send_exec(
    step: &StepFn,
    a: &Ident,
    into_result: &TokenStream,
    callee: &TokenStream,
    arg_exprs: &[TokenStream],
) -> (TokenStream, TokenStream) {
    let ret = step_return(step);
    let tick = syn::Lifetime::new("'__tale_a", Span::mixed_site());
    let generics = helper_generics(step, &[&tick]);
    let where_clause = &step.generics.where_clause;
    let types = arg_types(step);
    let exec = helper_ident(step, "exec");
    // `manual_async_fn`: an `async fn` could not promise `Send` in its signature.
    // `needless_lifetimes`: the borrow's lifetime is declared before the step's own
    // generics, where clippy would sometimes have it elided.
    let helper = quote! {
        #[doc(hidden)]
        #[allow(clippy::needless_lifetimes, clippy::manual_async_fn)]
        fn #exec #generics (#a: &#tick mut (#(#types,)*))
            -> impl ::core::future::Future<Output = ::core::result::Result<#ret::Output, #ret::Error>> + ::core::marker::Send + #tick
            #where_clause
        {
            async move { #into_result(#callee(#(#arg_exprs),*).await) }
        }
    };
    let path = callable(step, &exec);
    (helper, path)
}

/// The helper that runs the compensation of a `Send` async step, if it has one:
/// `fn undo<'a, 'b>(args: &'a mut A, out: Option<&'b O>) -> impl Future + Send`.
pub(super) fn send_undo(
    step: &StepFn,
    a: &Ident,
    arg_exprs: &[TokenStream],
) -> Option<(TokenStream, TokenStream)> {
    let compensation = step.compensate.as_ref()?;
    let span = compensation.span();
    let out = Ident::new("__tale_out", span);
    // A direct call: through a trait bound (as `compensation_call` checks it), rustc
    // cannot prove the future `Send` when the compensation takes a `'static` argument
    // (rust-lang/rust#110338).
    let call = if step.uncertain {
        quote_spanned!(span=> #compensation(#(#arg_exprs,)* #out).await)
    } else {
        quote_spanned! {span=>
            match #out {
                ::core::option::Option::Some(#out) => #compensation(#(#arg_exprs,)* #out).await,
                ::core::option::Option::None => ::core::result::Result::Ok(()),
            }
        }
    };
    let ret = step_return(step);
    let undo = helper_ident(step, "undo");
    let (ta, tb) = (
        syn::Lifetime::new("'__tale_a", Span::mixed_site()),
        syn::Lifetime::new("'__tale_b", Span::mixed_site()),
    );
    let generics = helper_generics(step, &[&ta, &tb]);
    let where_clause = &step.generics.where_clause;
    let types = arg_types(step);
    let send = quote_spanned!(span=> ::core::marker::Send);
    // The `allow`s for the reasons given in `send_exec`.
    let helper = quote! {
        #[doc(hidden)]
        #[allow(clippy::needless_lifetimes, clippy::manual_async_fn)]
        fn #undo #generics (
            #a: &#ta mut (#(#types,)*),
            #out: ::core::option::Option<&#tb #ret::Output>,
        ) -> impl ::core::future::Future<Output = ::core::result::Result<(), #ret::Error>> + #send
            #where_clause
        {
            async move { #call }
        }
    };
    let path = callable(step, &undo);
    Some((helper, path))
}
