//! Expand: a fan-out, one step per item of an iterator, run in order or concurrently.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::expand::{At, bind_output, fan_out_before, on_success, rest, runtime_index, shift_of};
use super::model::{FanOut, Saga};
use super::names::{hidden, level_label, phase_of, step_local};
use super::value::value;
use crate::paths::private;

/// ```text
/// let seats = for p in &order.passengers { book_seat(&flight, p) };  rest...
/// ```
/// becomes (the fan-out written as step 2, after the items of earlier fan-outs)
/// ```text
/// 'l2: {
///     let mut s2: Vec<_> = Iterator::map(IntoIterator::into_iter(&order.passengers).enumerate(),
///                                        |(k, p)| Item::new(k, book_seat(&flight, p))).collect();
///     (&Probe::items(&s2)).tale_kind().in_items(p2); let p3 = p2;   // no pivot
///     let first2 = (2 + shift0) + 1; let count2 = s2.len();
///     run.count(2 + shift0, "for book_seat", count2)?;               // durable runs only
///     let o = {
///         let mut outs = Vec::with_capacity(count2);
///         let mut failed = None;
///         for (k, s) in s2.iter_mut().enumerate() {
///             match run.step(first2 + k, s) { Ok(o) => outs.push(o), Err(u) => { failed = Some(u); break } }
///         }
///         if let Some(u) = failed {                  // undo items k-1..0, then leave
///             for (k, (s, o)) in s2.iter_mut().zip(outs).enumerate().rev() { run.compensate(first2 + k, s, o) }
///             break 'l2 u;
///         }
///         outs
///     };
///     let seats: _ = o;
///     let shift2 = shift0 + count2;                  // later steps are `i + shift2`
///     let u = { rest... };
///     for (k, (s, o)) in s2.iter_mut().zip(seats).enumerate().rev() { run.compensate(first2 + k, s, o) }
///     u
/// }
/// ```
/// Each item's step is wrapped in an `Item`, which tells events and errors its position.
/// The fan-out's own position holds the count of items in a durable run (a replay
/// that finds another count halts); its items take the positions after it. In an
/// async saga the steps are awaited; in `join!(for ...)` they run concurrently through
/// `JoinItems` (see [`concurrent`]), and so are their compensations.
pub(super) fn ladder(saga: &Saga, at: At, each: &FanOut) -> TokenStream {
    let private = private();
    let slot = at.step;
    let step = &each.step;
    let label = level_label(slot);
    let items = step_local(slot, step);
    let names = Names::new(slot);
    let Names {
        first, count, outs, ..
    } = &names;
    let item = &each.item;
    let iter = &each.iter;
    let value = value(saga, step);
    let flavour = if saga.is_async {
        quote!(#private::Async)
    } else {
        quote!(#private::Blocking)
    };
    let position = hidden("__k");
    let collect = quote_spanned! {step.span=>
        let mut #items: ::std::vec::Vec<_> = ::core::iter::Iterator::collect(
            ::core::iter::Iterator::map(
                ::core::iter::Iterator::enumerate(::core::iter::IntoIterator::into_iter(#iter)),
                |(#position, #item)| #private::Item::<_, #flavour>::new(#position, #value),
            ),
        );
    };
    let phase = phase_of(slot, step.span);
    let next_phase = phase_of(slot + 1, step.span);
    let check = quote_spanned! {step.span=>
        (&#private::Probe::items(&#items)).tale_kind().in_items(#phase);
        let #next_phase = #phase;
    };
    let index = runtime_index(saga, slot);
    let run = hidden("__run");
    let unwind = hidden("__u");
    let counted = saga.durable.as_ref().map(|_| {
        let name = format!("for {}", super::fingerprint::label(step));
        let awaited = saga.is_async.then(|| quote!(.await));
        quote! {
            if let ::core::result::Result::Err(#unwind) = #run.count(#index, #name, #count) #awaited {
                break #label #unwind;
            }
        }
    });
    let run_items = if each.concurrent && saga.is_async {
        concurrent(saga, each, &items, &names, &label)
    } else {
        in_order(saga.is_async, &items, &names, &label)
    };
    let (bind, carried) = bind_output(slot, &each.binding, outs);
    let shift = shift_of(slot);
    let before = previous_shift(saga, slot);
    let concurrent = saga.is_async && each.concurrent;
    let undo = undo(saga.is_async, concurrent, &items, &names, &carried);
    let on_success = on_success(saga, rest(saga, at.next(saga)), &undo);
    quote! {#label: {
        #collect
        #check
        let #first: usize = #index + 1;
        let #count: usize = #items.len();
        #counted
        let #outs = { #run_items };
        #bind
        let #shift: usize = #before + #count;
        #on_success
    }}
}

/// The names a fan-out's expansion binds, hidden from the user's code.
struct Names {
    /// The position of the first item.
    first: Ident,
    /// The number of items.
    count: Ident,
    /// The `Vec` of outputs.
    outs: Ident,
    /// An item's position in the iterator, and its step.
    k: Ident,
    s: Ident,
}

impl Names {
    fn new(slot: usize) -> Self {
        let name = |what: &str| format_ident!("__{}{}", what, slot, span = Span::mixed_site());
        Self {
            first: name("first"),
            count: name("count"),
            outs: name("outs"),
            k: hidden("__k"),
            s: hidden("__s"),
        }
    }
}

/// The items before a fan-out: `0`, or the shift the last fan-out before it bound.
fn previous_shift(saga: &Saga, slot: usize) -> TokenStream {
    fan_out_before(saga, slot).map_or_else(
        || quote!(0usize),
        |first| {
            let shift = shift_of(first);
            quote!(#shift)
        },
    )
}

/// The items run one after another; on a failure, the completed ones are undone in
/// reverse and the level is left with the failure.
fn in_order(is_async: bool, items: &Ident, names: &Names, label: &syn::Lifetime) -> TokenStream {
    let Names {
        first,
        count,
        outs,
        k,
        s,
    } = names;
    let run = hidden("__run");
    let unwind = hidden("__u");
    let failed = hidden("__failed");
    let output = hidden("__o");
    let awaited = is_async.then(|| quote!(.await));
    let undo = undo(is_async, false, items, names, &quote!(#outs));
    quote! {
        let mut #outs = ::std::vec::Vec::with_capacity(#count);
        let mut #failed = ::core::option::Option::None;
        for (#k, #s) in ::core::iter::Iterator::enumerate(#items.iter_mut()) {
            match #run.step(#first + #k, #s) #awaited {
                ::core::result::Result::Ok(#output) => #outs.push(#output),
                ::core::result::Result::Err(#unwind) => {
                    #failed = ::core::option::Option::Some(#unwind);
                    break;
                }
            }
        }
        if let ::core::option::Option::Some(#unwind) = #failed {
            #undo
            break #label #unwind;
        }
        #outs
    }
}

/// The items run concurrently, at most `max_concurrent` at once; once one fails no
/// other starts, the ones in flight end (or are stopped, with `fail_fast`), and those
/// that succeeded are compensated concurrently, last first. A durable run resumed from
/// its journal starts every item an earlier run started, failure or not, so that each is
/// settled.
fn concurrent(
    saga: &Saga,
    each: &FanOut,
    items: &Ident,
    names: &Names,
    label: &syn::Lifetime,
) -> TokenStream {
    let private = private();
    let Names {
        first, count, k, s, ..
    } = names;
    let run = hidden("__run");
    let by_ref = hidden("__run_ref");
    let results = hidden("__results");
    let result = hidden("__r");
    let failed = hidden("__failed");
    let outputs = hidden("__outputs");
    let limit = each.limit.as_ref().map_or_else(
        || quote!(::core::primitive::usize::MAX),
        |limit| quote!(#limit),
    );
    // A durable run resumed from its journal starts every item an earlier run started,
    // even after a failure, so that each is settled.
    let resuming = saga
        .durable
        .as_ref()
        .map(|_| quote!(.resuming(#run.started_items(#first, #count))));
    quote! {
        let #by_ref = &#run;
        let #results = #private::JoinItems::new(
            ::core::iter::Iterator::map(
                ::core::iter::Iterator::enumerate(#items.iter_mut()),
                |(#k, #s)| #by_ref.branch(#first + #k, #s),
            ),
            #limit,
            true,
        )
        #resuming
        .await;
        match #results {
            ::core::result::Result::Ok(#outputs) => #outputs,
            ::core::result::Result::Err(#results) => {
                let #results = #private::JoinItems::new(
                    ::core::iter::Iterator::map(
                        ::core::iter::Iterator::rev(::core::iter::Iterator::enumerate(
                            ::core::iter::Iterator::zip(#items.iter_mut(), #results),
                        )),
                        move |(#k, (#s, #result))| async move {
                            match #by_ref.settle_branch(#first + #k, #s, #result).await {
                                ::core::option::Option::Some(#failed) => {
                                    ::core::result::Result::Err((#first + #k, #failed))
                                }
                                ::core::option::Option::None => ::core::result::Result::Ok(()),
                            }
                        },
                    ),
                    ::core::primitive::usize::MAX,
                    false,
                )
                .await;
                let mut #failed = #private::GroupFailure::new();
                if let ::core::result::Result::Err(#results) = #results {
                    #failed.add_items(#results);
                }
                break #label #failed.into_unwind();
            }
        }
    }
}

/// The statement compensating the items whose outputs are in `outputs`, last first:
/// one after another (awaited in an async saga), or (`concurrent`) all at once.
fn undo(
    is_async: bool,
    concurrent: bool,
    items: &Ident,
    names: &Names,
    outputs: &TokenStream,
) -> TokenStream {
    let private = private();
    let Names { first, k, s, .. } = names;
    let run = hidden("__run");
    let by_ref = hidden("__run_ref");
    let output = hidden("__o");
    let pairs = quote! {
        ::core::iter::Iterator::rev(::core::iter::Iterator::enumerate(
            ::core::iter::Iterator::zip(#items.iter_mut(), #outputs),
        ))
    };
    if concurrent {
        return quote! {
            let #by_ref = &#run;
            let _ = #private::JoinItems::new(
                ::core::iter::Iterator::map(#pairs, move |(#k, (#s, #output))| async move {
                    #by_ref.compensate(#first + #k, #s, #output).await;
                    ::core::result::Result::Ok::<(), ()>(())
                }),
                ::core::primitive::usize::MAX,
                false,
            )
            .await;
        };
    }
    let awaited = is_async.then(|| quote!(.await));
    quote! {
        for (#k, (#s, #output)) in #pairs {
            #run.compensate(#first + #k, #s, #output) #awaited;
        }
    }
}
