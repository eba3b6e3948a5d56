//! Expand: a step with `type = Name`, whose function returns a struct the user can
//! name: the struct (its arguments), the function that builds it, and the struct's
//! `Step` (or `AsyncStep`), `Describe` and `Kinded` impls, written out for it.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{GenericParam, Ident};

use super::call::{arg_exprs, callable};
use super::expand::{
    body_fn, checked_call, marker, output_and_error, params, runtime_kind, split_attrs,
};
use super::send::{arg_types, send_exec, send_undo};
use super::validate::{Futures, StepFn};
use crate::paths::{private, private_at};

/// ```text
/// #[step(type = BookSeat, compensate = cancel)]
/// pub fn book_seat(flight: &Flight, passenger: &Passenger) -> Result<Seat, E> { body }
/// ```
/// becomes
/// ```text
/// #[doc = "The step value of [`book_seat()`]: ..."]
/// #[must_use = "a step does nothing until a saga or an executor runs it"]
/// pub struct BookSeat<'a> {
///     __tale_args: (&'a Flight, &'a Passenger),
/// }
///
/// pub fn book_seat<'a>(flight: &'a Flight, passenger: &'a Passenger) -> BookSeat<'a> {
///     BookSeat { __tale_args: (flight, passenger) }
/// }
///
/// const _: () = {
///     fn __tale_body(flight: &Flight, passenger: &Passenger) -> Result<Seat, E> { body }
///     impl<'a> Kinded for BookSeat<'a> { type Kind = Compensatable; }
///     impl<'a> Describe for BookSeat<'a> {
///         type Error = E;
///         fn name(&self) -> &str { "book_seat" }
///         // kind, has_compensation, is_uncertain, the retry policies, ...
///     }
///     impl<'a> Step for BookSeat<'a> {
///         type Output = Seat;
///         fn execute(&mut self) -> Result<Seat, E> {
///             let a = &mut self.__tale_args;
///             StepReturn::into_result(__tale_body(a.0, a.1))
///         }
///         fn compensate(&mut self, out: &Seat) -> Result<(), E> {
///             let a = &mut self.__tale_args;
///             /* cancel(a.0, a.1, out), type-checked */
///         }
///     }
/// };
/// ```
/// The struct's generic parameters are the step function's: first the elided lifetimes
/// of the arguments (`'a` for all the arguments that are references, as here), then
/// the user's; a field of `PhantomData<fn() -> ..>` holds those that no argument may
/// use. An `async fn` step implements
/// `AsyncStep`: unless it is `local`, through the helpers of [`super::send`], whose
/// futures are `Send` by their signatures.
pub(super) fn expand(step: &StepFn, name: &Ident) -> TokenStream {
    let private = private();
    let item = &step.item;
    let vis = &item.vis;
    let ident = &item.sig.ident;
    let (outer_attrs, body_attrs) = split_attrs(&item.attrs);
    let cfgs: Vec<_> = outer_attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect();
    let generics = &step.generics;
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let params = params(step);
    let names = step.args.iter().map(|arg| &arg.name);
    let types = arg_types(step);
    let (phantom_field, phantom_value) = phantom(step);
    let doc = format!(
        " The step value of [`{ident}()`] (`#[step(type = {name})]`): calling the function \
         builds it, and a saga or an executor runs it."
    );
    let body_ident = Ident::new("__tale_body", ident.span());
    let body_fn = body_fn(step, &body_ident, &body_attrs);
    let (helpers, step_impl) = step_impl(step, name, &body_ident);
    let describe = describe(step);
    let kind = marker(step.kind);
    // At the name, so that rustc's "defined multiple times" points there.
    let declaration = quote_spanned! {name.span()=>
        #[doc = #doc]
        #(#cfgs)*
        #[must_use = "a step does nothing until a saga or an executor runs it"]
        #vis struct #name #generics #where_clause {
            __tale_args: (#(#types,)*),
            #phantom_field
        }
    };
    quote! {
        #declaration

        #(#outer_attrs)*
        #vis fn #ident #generics (#(#params),*) -> #name #ty_generics #where_clause {
            #name { __tale_args: (#(#names,)*), #phantom_value }
        }

        #(#cfgs)*
        const _: () = {
            #body_fn
            #helpers
            #[automatically_derived]
            impl #impl_generics #private::Kinded for #name #ty_generics #where_clause {
                type Kind = #private::#kind;
            }
            #[automatically_derived]
            impl #impl_generics #private::Describe for #name #ty_generics #where_clause {
                #describe
            }
            #[automatically_derived]
            #step_impl
        };
    }
}

/// The field that uses every lifetime and type parameter the function declares, and
/// its value: none if it declares neither. (The struct's own lifetime, for the elided
/// ones, is an argument's.)
fn phantom(step: &StepFn) -> (TokenStream, TokenStream) {
    let params: Vec<TokenStream> = step
        .item
        .sig
        .generics
        .params
        .iter()
        .filter_map(|param| match param {
            GenericParam::Lifetime(l) => {
                let l = &l.lifetime;
                Some(quote!(&#l ()))
            }
            GenericParam::Type(t) => {
                let t = &t.ident;
                Some(quote!(::core::marker::PhantomData<#t>))
            }
            GenericParam::Const(_) => None,
        })
        .collect();
    if params.is_empty() {
        return (quote!(), quote!());
    }
    // `fn() -> ..`: covariant, `Send` and `Sync` whatever the parameters, owning none.
    (
        quote!(__tale_types: ::core::marker::PhantomData<fn() -> (#(#params,)*)>,),
        quote!(__tale_types: ::core::marker::PhantomData,),
    )
}

/// The body of the `Describe` impl: the step's name, kind and policies.
fn describe(step: &StepFn) -> TokenStream {
    let private = private();
    let (_, error) = output_and_error(step);
    let name = &step.name;
    let kind = runtime_kind(step.kind);
    let has_compensation = step.compensate.is_some();
    let uncertain = step.uncertain;
    let without_output = has_compensation && uncertain;
    let option = quote!(::core::option::Option);
    let policy = |method: &str, expr: Option<&syn::Expr>| {
        expr.map(|expr| {
            let method = Ident::new(method, Span::call_site());
            let value = quote_spanned!(expr.span()=> ::core::option::Option::Some(#expr));
            quote! {
                fn #method(&self) -> #option<#private::Retry<#error>> {
                    #value
                }
            }
        })
    };
    let retry = policy("retry_policy", step.retry.as_ref());
    let compensation_retry = policy(
        "compensation_retry_policy",
        step.compensation_retry.as_ref(),
    );
    quote! {
        type Error = #error;

        #[inline]
        fn name(&self) -> &str {
            #name
        }
        #[inline]
        fn static_name(&self) -> #option<&'static str> {
            #option::Some(#name)
        }
        #[inline]
        fn kind(&self) -> #private::StepKind {
            #private::StepKind::#kind
        }
        #[inline]
        fn has_compensation(&self) -> bool {
            #has_compensation
        }
        #[inline]
        fn is_uncertain(&self) -> bool {
            #uncertain
        }
        #[inline]
        fn compensates_without_output(&self) -> bool {
            #without_output
        }
        #retry
        #compensation_retry
    }
}

/// The helpers that the impl calls (a `Send` async step's), and the `Step` or
/// `AsyncStep` impl.
fn step_impl(step: &StepFn, name: &Ident, body_ident: &Ident) -> (TokenStream, TokenStream) {
    let private = private();
    let (impl_generics, ty_generics, where_clause) = step.generics.split_for_impl();
    let (output, error) = output_and_error(step);
    let callee = callable(step, body_ident);
    let a = Ident::new("__a", Span::mixed_site());
    let arg_exprs = arg_exprs(step, &a);
    // No binding for a step without arguments, where it would be unused.
    let args = if step.args.is_empty() {
        quote!()
    } else {
        quote!(let #a = &mut self.__tale_args;)
    };
    let into_result = {
        let private = private_at(step.output.span());
        quote_spanned!(step.output.span()=> #private::StepReturn::into_result)
    };
    let result = quote!(::core::result::Result);
    let option = quote!(::core::option::Option);
    let future = quote!(impl ::core::future::Future);
    // The output, as the compensation receives it: at the path, with its hygiene, as
    // in `expand::compensate`.
    let out = step.compensate.as_ref().map_or_else(
        || Ident::new("__tale_out", Span::call_site()),
        |path| Ident::new("__tale_out", path.span()),
    );
    let (helpers, methods) = match step.futures {
        Futures::None => (quote!(), sync_methods(step, &arg_exprs, &args, &out)),
        Futures::Local => (quote!(), local_methods(step, &arg_exprs, &args, &out)),
        Futures::Send => {
            let (exec_fn, exec_ref) = send_exec(step, &a, &into_result, &callee, &arg_exprs);
            let undo = send_undo(step, &a, &arg_exprs);
            let compensate = match &undo {
                Some((_, undo_ref)) => quote! {
                    #undo_ref(&mut self.__tale_args, #option::Some(#out))
                },
                None => quote!(async { #result::Ok(()) }),
            };
            let uncertain = match (&undo, step.uncertain) {
                (Some((_, undo_ref)), true) => {
                    let pending = Ident::new("__tale_pending", Span::mixed_site());
                    quote! {
                        let #pending = #undo_ref(&mut self.__tale_args, #option::None);
                        async move { #option::Some(#pending.await) }
                    }
                }
                _ => quote!(async { #option::None }),
            };
            let undo_fn = undo.map(|(undo_fn, _)| undo_fn);
            let methods = quote! {
                #[inline]
                fn execute(&mut self) -> #future<Output = #result<#output, #error>> {
                    #exec_ref(&mut self.__tale_args)
                }
                #[inline]
                fn compensate(&mut self, #out: &#output) -> #future<Output = #result<(), #error>> {
                    #compensate
                }
                fn compensate_uncertain(&mut self) -> #future<Output = #option<#result<(), #error>>> {
                    #uncertain
                }
            };
            (quote!(#exec_fn #undo_fn), methods)
        }
    };
    let trait_ = if step.is_async() {
        quote!(AsyncStep)
    } else {
        quote!(Step)
    };
    let execute = match step.futures {
        Futures::None => quote! {
            #[inline]
            fn execute(&mut self) -> #result<#output, #error> {
                #args
                #into_result(#callee(#(#arg_exprs),*))
            }
        },
        Futures::Local => quote! {
            #[inline]
            fn execute(&mut self) -> #future<Output = #result<#output, #error>> {
                #args
                async move { #into_result(#callee(#(#arg_exprs),*).await) }
            }
        },
        Futures::Send => quote!(),
    };
    let step_impl = quote! {
        impl #impl_generics #private::#trait_ for #name #ty_generics #where_clause {
            type Output = #output;
            #execute
            #methods
        }
    };
    (helpers, step_impl)
}

/// `compensate` and `compensate_uncertain` of a sync step.
fn sync_methods(
    step: &StepFn,
    arg_exprs: &[TokenStream],
    args: &TokenStream,
    out: &Ident,
) -> TokenStream {
    let (output, error) = output_and_error(step);
    let result = quote!(::core::result::Result);
    let option = quote!(::core::option::Option);
    if step.compensate.is_none() {
        return quote! {
            #[inline]
            fn compensate(&mut self, _: &#output) -> #result<(), #error> {
                #result::Ok(())
            }
        };
    }
    let call = checked_call(step, arg_exprs, out);
    if !step.uncertain {
        return quote! {
            #[inline]
            fn compensate(&mut self, #out: &#output) -> #result<(), #error> {
                #args
                #call
            }
        };
    }
    quote! {
        #[inline]
        fn compensate(&mut self, #out: &#output) -> #result<(), #error> {
            #args
            let #out = #option::Some(#out);
            #call
        }
        fn compensate_uncertain(&mut self) -> #option<#result<(), #error>> {
            #args
            let #out: #option<&#output> = #option::None;
            #option::Some({ #call })
        }
    }
}

/// `compensate` and `compensate_uncertain` of a `local` async step.
fn local_methods(
    step: &StepFn,
    arg_exprs: &[TokenStream],
    args: &TokenStream,
    out: &Ident,
) -> TokenStream {
    let (output, error) = output_and_error(step);
    let result = quote!(::core::result::Result);
    let option = quote!(::core::option::Option);
    let future = quote!(impl ::core::future::Future);
    let uncertain_none = quote! {
        fn compensate_uncertain(&mut self) -> #future<Output = #option<#result<(), #error>>> {
            async { #option::None }
        }
    };
    if step.compensate.is_none() {
        return quote! {
            #[inline]
            fn compensate(&mut self, _: &#output) -> #future<Output = #result<(), #error>> {
                async { #result::Ok(()) }
            }
            #uncertain_none
        };
    }
    let call = checked_call(step, arg_exprs, out);
    if !step.uncertain {
        return quote! {
            #[inline]
            fn compensate(&mut self, #out: &#output) -> #future<Output = #result<(), #error>> {
                #args
                async move { #call }
            }
            #uncertain_none
        };
    }
    quote! {
        #[inline]
        fn compensate(&mut self, #out: &#output) -> #future<Output = #result<(), #error>> {
            #args
            let #out = #option::Some(#out);
            async move { #call }
        }
        fn compensate_uncertain(&mut self) -> #future<Output = #option<#result<(), #error>>> {
            #args
            let #out: #option<&#output> = #option::None;
            async move { #option::Some(#call) }
        }
    }
}
