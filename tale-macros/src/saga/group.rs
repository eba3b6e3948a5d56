//! Expand: a `join!` group of an async saga, whose branches run concurrently.

use std::ops::Range;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::ast::Saga;
use super::expand::{
    bind_output, hidden, kind_check, ladder as next_ladder, step_local, succeed, value,
};
use crate::paths::private;

/// ```text
/// let (f, h) = join!(book_flight(&o), book_hotel(&o));  rest...
/// ```
/// becomes, in an async saga,
/// ```text
/// {
///     let mut s0 = book_flight(&o); let mut s1 = book_hotel(&o);   // all built first
///     /* pivot checks of s0, s1 */
///     let (g0, g1) = join2(pin!(run.step(0, &mut s0)), pin!(run.step(1, &mut s1))).await;
///     // (more branches: a balanced tree of `join2`, so types nest log2(n) deep)
///     match (g0, g1) {
///         (Ok(f), Ok(h)) => {
///             let u = { rest... };               // success leaves with `break`
///             run.compensate(1, &mut s1, h).await;
///             run.compensate(0, &mut s0, f).await;
///             u
///         }
///         (g0, g1) => {                          // some branch failed: undo the others
///             let mut failed = GroupFailure::new();
///             match g1 { Ok(o) => run.compensate(1, &mut s1, o).await, Err(u) => failed.add(1, u) }
///             match g0 { Ok(o) => run.compensate(0, &mut s0, o).await, Err(u) => failed.add(0, u) }
///             failed.into_unwind()               // the first failure, the others as siblings
///         }
///     }
/// }
/// ```
pub(super) fn ladder(saga: &Saga, index: usize) -> TokenStream {
    let private = private();
    let range = index..index + saga.steps[index].group_len;
    let run = hidden("__run");
    let unwind = hidden("__u");
    let failed = hidden("__failed");
    let ok = quote!(::core::result::Result::Ok);
    let err = quote!(::core::result::Result::Err);
    let locals: Vec<_> = range
        .clone()
        .map(|i| step_local(i, &saga.steps[i]))
        .collect();
    let results: Vec<_> = range
        .clone()
        .map(|i| format_ident!("__g{}", i, span = Span::mixed_site()))
        .collect();
    let builds = range.clone().zip(&locals).map(|(i, local)| {
        let value = value(saga, &saga.steps[i]);
        quote!(let mut #local = #value;)
    });
    let checks = range.clone().map(|i| kind_check(i, &saga.steps[i]));
    let branches: Vec<TokenStream> = range
        .clone()
        .zip(&locals)
        .map(|(i, local)| {
            let span = saga.steps[i].span;
            let index = proc_macro2::Literal::usize_unsuffixed(i);
            quote_spanned!(span=> #private::pin!(#run.step(#index, &mut #local)))
        })
        .collect();
    let results_tokens: Vec<TokenStream> = results.iter().map(|g| quote!(#g)).collect();
    let (joined, pattern) = balanced(&branches, &results_tokens);
    let (outputs, binds, carried) = bindings(saga, range.clone());
    let on_success = on_success(saga, range.clone(), &locals, &carried);
    let undo_survivors = range
        .zip(&locals)
        .zip(&results)
        .rev()
        .map(|((i, local), g)| {
            let output = hidden("__o");
            quote! {
                match #g {
                    #ok(#output) => #run.compensate(#i, &mut #local, #output).await,
                    #err(#unwind) => #failed.add(#i, #unwind),
                }
            }
        });
    quote! {{
        #(#builds)*
        #(#checks)*
        let #pattern = #joined.await;
        match (#(#results,)*) {
            (#(#ok(#outputs),)*) => {
                #(#binds)*
                #on_success
            }
            (#(#results,)*) => {
                let mut #failed = #private::GroupFailure::new();
                #(#undo_survivors)*
                #failed.into_unwind()
            }
        }
    }}
}

/// The branches joined as a balanced tree of `join2`, and the matching pattern of
/// nested pairs: a group of n branches nests its types log2(n) deep, so that a
/// 1000-branch `join!` stays within the compiler's recursion limit.
fn balanced(branches: &[TokenStream], results: &[TokenStream]) -> (TokenStream, TokenStream) {
    if let ([branch], [result]) = (branches, results) {
        return (branch.clone(), result.clone());
    }
    let private = private();
    let mid = branches.len() / 2;
    let (left, left_pattern) = balanced(&branches[..mid], &results[..mid]);
    let (right, right_pattern) = balanced(&branches[mid..], &results[mid..]);
    (
        quote!(#private::join2(#left, #right)),
        quote!((#left_pattern, #right_pattern)),
    )
}

/// The branches' raw outputs, the statements binding them to the user's names, and
/// those names (hidden ones for discarded outputs).
fn bindings(saga: &Saga, range: Range<usize>) -> (Vec<Ident>, Vec<TokenStream>, Vec<TokenStream>) {
    let mut outputs = Vec::new();
    let mut binds = Vec::new();
    let mut carried = Vec::new();
    for i in range {
        let output = format_ident!("__b{}", i, span = Span::mixed_site());
        let (bind, name) = bind_output(i, &saga.steps[i].binding, &output);
        binds.push(bind);
        carried.push(name);
        outputs.push(output);
    }
    (outputs, binds, carried)
}

/// After every branch succeeded: the rest of the saga, and if it fails, every branch
/// compensated (last branch first).
fn on_success(
    saga: &Saga,
    range: Range<usize>,
    locals: &[Ident],
    carried: &[TokenStream],
) -> TokenStream {
    let run = hidden("__run");
    let unwind = hidden("__u");
    let last = range.end;
    if last == saga.steps.len() {
        return succeed(saga);
    }
    let next = next_ladder(saga, last);
    let undo_all = range
        .zip(locals)
        .zip(carried)
        .rev()
        .map(|((i, local), out)| quote!(#run.compensate(#i, &mut #local, #out).await;));
    quote! {
        let #unwind = #next;
        #(#undo_all)*
        #unwind
    }
}
