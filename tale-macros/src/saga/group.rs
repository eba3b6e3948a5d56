//! Expand: a `join!` group of an async saga, whose branches run concurrently.

use std::ops::Range;

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::expand::{At, on_success, rest, runtime_index};
use super::model::{Binding, Saga, SagaStep};
use super::names::{binding_parts, group_local, hidden, step_place};
use super::value::{Branch, kind_check, value};
use crate::paths::private;

/// ```text
/// let (f, _, h) = join!(book_flight(&o), book_car(&o), book_hotel(&o));  rest...
/// ```
/// becomes, in an async saga,
/// ```text
/// {
///     let mut g = (book_flight(&o), book_car(&o), book_hotel(&o)); // all built first
///     (&Probe::new(&g.0)).tale_kind().in_group(p0);    // the branches' kind checks
///     ...; let p3 = p0;
///     let gs = join2(run.branch(0, &mut g.0),          // a balanced tree of `join2`,
///                    join2(run.branch(1, &mut g.1),    // so types nest log2(n) deep
///                          run.branch(2, &mut g.2))).await;
///     if matches!(gs.0, Ok(_)) & matches!(gs.1.0, Ok(_)) & matches!(gs.1.1, Ok(_)) {
///         let (f, h, d): (_, _, (_,)) = {
///             let (g0, (g1, g2)) = { gs };
///             (succeeded(g0), succeeded(g2), (succeeded(g1),))
///         };
///         let u = { rest... };                   // success leaves with `break`
///         let ((), ((), ())) = join2(run.compensate(2, &mut g.2, h),
///             join2(run.compensate(1, &mut g.1, d.0), run.compensate(0, &mut g.0, f))).await;
///         u
///     } else {                                   // some branch failed: undo the others
///         let (g2, (g1, g0)) = {
///             let (g0, (g1, g2)) = { gs };
///             join2(run.settle_branch(2, &mut g.2, g2), join2(...(1, g1), ...(0, g0)))
///         }.await;
///         let mut failed = GroupFailure::new();
///         failed.add_settled(0, g0); failed.add_settled(1, g1); failed.add_settled(2, g2);
///         failed.into_unwind()                   // the first failure, the others as siblings
///     }
/// }
/// ```
/// The branches' compensations run concurrently, in one join (one await, whatever the
/// number of branches), listed last branch first: under
/// `max_concurrent_compensations = 1` they run in reverse order.
///
/// rustc's layout of an async block costs the square of the locals live across an
/// await (its `StorageConflictVisitor`), so a group keeps that count constant, not one
/// or more per branch: the step values are one tuple, each join one value, the
/// discarded outputs one tuple. The joined results stay one value, tested in place by
/// `matches!` (a borrowed local keeps its storage, and so a place in the state
/// machine, to the end of its scope), and are taken apart only inside a block that
/// ends before the next await: the moves out of them, one per branch with a call
/// between, give each a drop flag, and a flag whose local is still in scope at an
/// await is saved across it (at 1000 branches, 1000 flags made `cargo check` take
/// 74 s; 13 s without).
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
    let joined_results = hidden("__gs");
    let unpack = quote!(let #pattern = { #joined_results };);
    let joined_places = places_in_tree(quote!(#joined_results), branches.len());
    let (bind, carried) = bindings(range.clone(), branches, &results, &unpack);
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
        let #joined_results = #joined.await;
        if #(::core::matches!(#joined_places, ::core::result::Result::Ok(_)))&* {
            #bind
            #on_success
        } else {
            let #settled_pattern = {
                #unpack
                #settle_all
            }.await;
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
    let mid = left_of(branches.len());
    let (left, left_pattern) = balanced(&branches[..mid], &results[..mid]);
    let (right, right_pattern) = balanced(&branches[mid..], &results[mid..]);
    (
        quote!(#private::join2(#left, #right)),
        quote!((#left_pattern, #right_pattern)),
    )
}

/// How many of `len` branches (two or more) [`balanced`] joins on the left: the tree's
/// one shape, which [`places_in_tree`] follows.
fn left_of(len: usize) -> usize {
    len / 2
}

/// The places of the branches' results in the output of [`balanced`]'s join of
/// `len` branches held by `joined`: `joined.0`, `joined.1.0`, `joined.1.1` for three.
fn places_in_tree(joined: TokenStream, len: usize) -> Vec<TokenStream> {
    if len == 1 {
        return vec![joined];
    }
    let mid = left_of(len);
    let (left, right) = (syn::Index::from(0), syn::Index::from(1));
    let mut places = places_in_tree(quote!(#joined.#left), mid);
    places.extend(places_in_tree(quote!(#joined.#right), len - mid));
    places
}

/// The statement binding every branch's output to the user's names, from the
/// branches' results (all `Ok`), and where each output is then found (for its
/// compensation). One `let` with a tuple pattern, not one per branch: each `let` opens
/// a scope, and a 1000-branch group nested that deep overflows LLVM's stack emitting
/// debug info. The discarded outputs (`_`) are one hidden tuple, not a local each: they
/// are live across every later await, and rustc's layout of an async block grows with
/// the square of such locals.
fn bindings(
    range: Range<usize>,
    branches: &[SagaStep],
    results: &[Ident],
    unpack: &TokenStream,
) -> (TokenStream, Vec<TokenStream>) {
    let private = private();
    let discarded = format_ident!("__tale_d{}", range.start, span = Span::mixed_site());
    let (mut patterns, mut types, mut values) = (Vec::new(), Vec::new(), Vec::new());
    let (mut discarded_values, mut carried) = (Vec::new(), Vec::new());
    for ((i, step), result) in range.zip(branches).zip(results) {
        let value = quote!(#private::succeeded(#result));
        if let Binding::Discard = step.binding {
            let field = syn::Index::from(discarded_values.len());
            carried.push(quote!(#discarded.#field));
            discarded_values.push(value);
        } else {
            let (pattern, ty, name) = binding_parts(i, &step.binding);
            patterns.push(pattern);
            types.push(ty);
            values.push(value);
            carried.push(name);
        }
    }
    let discarded_types = discarded_values.iter().map(|_| quote!(_));
    // A branch's output may be `()`.
    let bind = quote! {
        #[allow(clippy::let_unit_value)]
        let (#(#patterns,)* #discarded): (#(#types,)* (#(#discarded_types,)*)) = {
            #unpack
            (#(#values,)* (#(#discarded_values,)*))
        };
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
