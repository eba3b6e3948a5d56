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
///             let ((), ()) = join2(pin!(run.compensate_branch(1, &mut s1, h)),
///                                  pin!(run.compensate_branch(0, &mut s0, f))).await;
///             u
///         }
///         (g0, g1) => {                          // some branch failed: undo the others
///             let (g1, g0) = join2(pin!(run.settle_branch(1, &mut s1, g1)),
///                                  pin!(run.settle_branch(0, &mut s0, g0))).await;
///             let mut failed = GroupFailure::new();
///             failed.add_settled(0, g0); failed.add_settled(1, g1);
///             failed.into_unwind()               // the first failure, the others as siblings
///         }
///     }
/// }
/// ```
/// The branches' compensations run concurrently, in one join (one await, whatever the
/// number of branches), listed last branch first: under
/// `max_concurrent_compensations = 1` they run in reverse order.
pub(super) fn ladder(saga: &Saga, index: usize) -> TokenStream {
    let private = private();
    let range = index..index + saga.steps[index].group_len;
    let run = hidden("__run");
    let failed = hidden("__failed");
    let ok = quote!(::core::result::Result::Ok);
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
    let settled: Vec<TokenStream> = range
        .clone()
        .zip(&locals)
        .zip(&results)
        .map(|((i, local), g)| quote!(#private::pin!(#run.settle_branch(#i, &mut #local, #g))))
        .rev()
        .collect();
    let reversed: Vec<TokenStream> = results_tokens.iter().rev().cloned().collect();
    let (settle_all, settled_pattern) = balanced(&settled, &reversed);
    let add = range
        .zip(&results)
        .map(|(i, g)| quote!(#failed.add_settled(#i, #g);));
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
                let #settled_pattern = #settle_all.await;
                let mut #failed = #private::GroupFailure::new();
                #(#add)*
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
    let private = private();
    let undo_all: Vec<TokenStream> = range
        .zip(locals)
        .zip(carried)
        .map(|((i, local), out)| quote!(#private::pin!(#run.compensate_branch(#i, &mut #local, #out))))
        .rev()
        .collect();
    let units: Vec<TokenStream> = undo_all.iter().map(|_| quote!(())).collect();
    let (undo_all, units) = balanced(&undo_all, &units);
    quote! {
        let #unwind = #next;
        let #units = #undo_all.await;
        #unwind
    }
}
