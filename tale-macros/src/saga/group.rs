//! Expand: a `join!` group of an async saga, whose branches run concurrently.

use std::ops::Range;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::expand::{At, on_success, rest, runtime_index};
use super::model::{Saga, SagaStep};
use super::names::{binding_parts, group_local, hidden, step_place};
use super::value::{Branch, kind_check, value};
use crate::paths::private;

/// ```text
/// let (f, h) = join!(book_flight(&o), book_hotel(&o));  rest...
/// ```
/// becomes, in an async saga,
/// ```text
/// {
///     let mut g = (book_flight(&o), book_hotel(&o));   // all built first, one local
///     (&Probe::new(&g.0)).tale_kind().in_group(p0);    // the branches' kind checks
///     (&Probe::new(&g.1)).tale_kind().in_group(p0); let p2 = p0;
///     let (g0, g1) = join2(run.branch(0, &mut g.0), run.branch(1, &mut g.1)).await;
///     // (more branches: a balanced tree of `join2`, so types nest log2(n) deep)
///     if matches!(g0, Ok(_)) & matches!(g1, Ok(_)) {   // no borrow of a result
///         let (f, h): (_, _) = (succeeded(g0), succeeded(g1));
///         let u = { rest... };                   // success leaves with `break`
///         let ((), ()) = join2(run.compensate(1, &mut g.1, h),
///                              run.compensate(0, &mut g.0, f)).await;
///         u
///     } else {                                   // some branch failed: undo the others
///         let (g1, g0) = join2(run.settle_branch(1, &mut g.1, g1),
///                              run.settle_branch(0, &mut g.0, g0)).await;
///         let mut failed = GroupFailure::new();
///         failed.add_settled(0, g0); failed.add_settled(1, g1);
///         failed.into_unwind()                   // the first failure, the others as siblings
///     }
/// }
/// ```
/// The branches' compensations run concurrently, in one join (one await, whatever the
/// number of branches), listed last branch first: under
/// `max_concurrent_compensations = 1` they run in reverse order. Each join is one value
/// holding its futures in place, and the step values are one tuple: rustc's cost for an
/// async block grows with the square of the locals live across an await, so a group
/// adds a handful of them, not several per branch. The results are tested with
/// `matches!`, not `is_ok`: a borrowed local keeps its storage, and so a place in the
/// state machine, until its scope ends, across every later await (at 1000 branches
/// that made the layout pass cubic in the branch count); a result only matched and
/// moved holds none once moved.
pub(super) fn ladder(saga: &Saga, at: At, branches: &[SagaStep]) -> TokenStream {
    let private = private();
    let first = at.step;
    let range = first..first + branches.len();
    let run = hidden("__run");
    let failed = hidden("__failed");
    let places: Vec<_> = range
        .clone()
        .zip(branches)
        .map(|(i, step)| step_place(i, step, Some(first)))
        .collect();
    let results: Vec<_> = range
        .clone()
        .map(|i| format_ident!("__g{}", i, span = Span::mixed_site()))
        .collect();
    let group = group_local(first, branches[0].span);
    let values = branches.iter().map(|step| value(saga, step));
    let end = range.end;
    let checks = range
        .clone()
        .zip(branches)
        .zip(&places)
        .map(|((i, step), place)| {
            let last = i + 1 == end;
            kind_check(i, step, place, Some(Branch { first, last }))
        });
    let joined: Vec<TokenStream> = range
        .clone()
        .zip(branches)
        .zip(&places)
        .map(|((i, step), place)| {
            let index = runtime_index(saga, i);
            quote_spanned!(step.span=> #run.branch(#index, &mut #place))
        })
        .collect();
    let results_tokens: Vec<TokenStream> = results.iter().map(|g| quote!(#g)).collect();
    let (joined, pattern) = balanced(&joined, &results_tokens);
    let (bind, carried) = bindings(range.clone(), branches, &results);
    let indices: Vec<TokenStream> = range.clone().map(|i| runtime_index(saga, i)).collect();
    let undo = undo_all(&indices, &places, &carried);
    let on_success = on_success(saga, rest(saga, at.next(saga)), &undo);
    let settled: Vec<TokenStream> = indices
        .iter()
        .zip(&places)
        .zip(&results)
        .map(|((i, place), g)| quote!(#run.settle_branch(#i, &mut #place, #g)))
        .rev()
        .collect();
    let reversed: Vec<TokenStream> = results_tokens.iter().rev().cloned().collect();
    let (settle_all, settled_pattern) = balanced(&settled, &reversed);
    let add = indices
        .iter()
        .zip(&results)
        .map(|(i, g)| quote!(#failed.add_settled(#i, #g);));
    quote! {{
        let mut #group = (#(#values,)*);
        #(#checks)*
        let #pattern = #joined.await;
        if #(::core::matches!(#results, ::core::result::Result::Ok(_)))&* {
            #bind
            #on_success
        } else {
            let #settled_pattern = #settle_all.await;
            let mut #failed = #private::GroupFailure::new();
            #(#add)*
            #failed.into_unwind()
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

/// The statement binding every branch's output to the user's names, from the
/// branches' results (all `Ok`), and those names (hidden ones for discarded outputs).
/// One `let` with a tuple pattern, not one per branch: each `let` opens a scope, and a
/// 1000-branch group nested that deep overflows LLVM's stack emitting debug info.
fn bindings(
    range: Range<usize>,
    branches: &[SagaStep],
    results: &[Ident],
) -> (TokenStream, Vec<TokenStream>) {
    let private = private();
    let (mut patterns, mut types, mut carried) = (Vec::new(), Vec::new(), Vec::new());
    for (i, step) in range.zip(branches) {
        let (pattern, ty, name) = binding_parts(i, &step.binding);
        patterns.push(pattern);
        types.push(ty);
        carried.push(name);
    }
    // A branch's output may be `()`.
    let bind = quote! {
        #[allow(clippy::let_unit_value)]
        let (#(#patterns,)*): (#(#types,)*) = (#(#private::succeeded(#results),)*);
    };
    (bind, carried)
}

/// The statement compensating every branch, if the rest of the saga fails: one join
/// of the compensations, listed last branch first.
fn undo_all(
    indices: &[TokenStream],
    places: &[TokenStream],
    carried: &[TokenStream],
) -> TokenStream {
    let run = hidden("__run");
    let undo_all: Vec<TokenStream> = indices
        .iter()
        .zip(places)
        .zip(carried)
        .map(|((i, place), out)| quote!(#run.compensate(#i, &mut #place, #out)))
        .rev()
        .collect();
    let units: Vec<TokenStream> = undo_all.iter().map(|_| quote!(())).collect();
    let (undo_all, units) = balanced(&undo_all, &units);
    quote!(let #units = #undo_all.await;)
}
