//! Expand: the validated [`Saga`] into the nested compensation ladder.

use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::Ident;

use super::item::{durable_fn, durable_start, item_fn};
use super::model::{Binding, Saga, SagaStep, Stmt};
use super::names::{
    binding_parts, group_local, hidden, level_label, phase_of, saga_label, step_local,
};
use super::value::{Branch, kind_check, value};
use crate::paths::{private, private_at};

/// ```text
/// saga! { let a = step_a(&x); let b = step_b(&a); Trip { a, b } }
/// ```
/// becomes
/// ```text
/// {
///     use KindOfMarked as _, KindOfUnmarked as _;
///     let mut exec = Executor::new();
///     let mut run = Run::start(ExecutorMut::executor_mut(&mut exec), "saga");
///     let p0 = BeforePivot;
///     'saga: {
///         let u = 'l0: {                                     // each level: an Unwind
///             let mut s0 = step_a(&x);
///             let p1 = (&Probe::new(&s0)).tale_kind().then(p0);   // pivot checks
///             let o = { let r = run.step(0, &mut s0); let Ok(o) = r else { break 'l0 failed(r) }; o };
///             let a: _ = o;
///             let u = 'l1: {
///                 let mut s1 = step_b(&a);
///                 let p2 = (&Probe::new(&s1)).tale_kind().then(p1);
///                 let o = { let r = run.step(1, &mut s1); let Ok(o) = r else { break 'l1 failed(r) }; o };
///                 let b: _ = o;
///                 release(s1); release(s0);
///                 break 'saga run.finish(Ok(Trip { a, b }));
///             };
///             run.compensate(0, &mut s0, a);
///             u
///         };
///         run.finish(Err(u))
///     }
/// }
/// ```
/// Success leaves by `break`, so that the outputs stay where they were bound instead
/// of travelling outward through the levels: an async saga's state machine holds each
/// output once. Each step's result is matched in a block that leaves its level with a
/// labelled `break` on failure, so that the `Result` ends with the statement: matched
/// around the rest of the saga, it would stay alive, and in an async saga every
/// level's `Result` would be kept in the state machine. The step values are released
/// last first, as their scopes would end, since they may borrow outputs that the tail
/// moves.
///
/// The async form runs on an `AsyncRun` inside `async { ... }` and awaits each step,
/// running the branches of a `join!` concurrently (see `group.rs`); the durable form
/// runs the same ladder on a `DurableRun` (see `item.rs`).
pub(crate) fn expand(saga: &Saga) -> TokenStream {
    let body = body(saga);
    match (&saga.item, &saga.durable) {
        (Some(item), Some(durable)) => durable_fn(saga, durable, item, &body),
        (Some(item), None) => item_fn(saga, item, &body),
        (None, _) if saga.is_async => {
            let move_token = &saga.move_token;
            quote!(async #move_token { #body })
        }
        (None, _) => quote!({ #body }),
    }
}

/// The statements of the saga's run, ending with `run.finish(...)`.
fn body(saga: &Saga) -> TokenStream {
    let private = private();
    let exec = saga.executor.as_ref().map_or_else(
        || hidden("__exec"),
        |e| Ident::new("__tale_exec", syn::spanned::Spanned::span(e)),
    );
    let run = hidden("__run");
    let unwind = hidden("__u");
    let executor = match (&saga.executor, &saga.item) {
        (Some(executor), _) => quote!(#executor),
        (None, Some(_)) if saga.durable.is_none() => {
            let executor = hidden("executor");
            quote!(#executor)
        }
        (None, _) => quote!(#private::Executor::new()),
    };
    let executor_mut = match &saga.executor {
        Some(e) => {
            let span = syn::spanned::Spanned::span(e);
            let private = private_at(span);
            quote_spanned!(span=> #private::ExecutorMut::executor_mut(&mut #exec))
        }
        None => quote!(#private::ExecutorMut::executor_mut(&mut #exec)),
    };
    let name = &saga.name;
    let phase = phase_of(0, Span::call_site());
    let ladder = ladder(saga, At { stmt: 0, step: 0 });
    let limits = limits(saga);
    let start = if let Some(durable) = &saga.durable {
        durable_start(saga, durable, &executor_mut, &limits)
    } else if saga.is_async {
        let limits = (!limits.is_empty()).then(|| quote!(.limits(#private::Limits::new() #limits)));
        // `mut` for the plain steps, which take the run exclusively; a saga of only
        // `join!` groups shares it throughout and leaves it unused, hence the `allow`.
        quote! {
            #[allow(unused_mut)]
            let mut #run = #private::AsyncRun::start(#executor_mut, #name) #limits;
        }
    } else {
        quote!(let mut #run = #private::Run::start(#executor_mut, #name);)
    };
    let label = saga_label();
    let finish = finish(saga, &quote!(::core::result::Result::Err(#unwind)));
    // The traits of the steps' kind checks, once for the whole saga: a `use` in each
    // check's own block makes rustc's method resolution quadratic in the steps. Autoref
    // picks `tale_kind` from `KindOfMarked` for a step that declares its kind and from
    // `KindOfUnmarked` otherwise, so one of them may go unused, hence the `allow`.
    quote! {
        #[allow(unused_imports)]
        use #private::{KindOfMarked as _, KindOfUnmarked as _};
        let mut #exec = #executor;
        #start
        let #phase = #private::BeforePivot;
        #label: {
            let #unwind = #ladder;
            #finish
        }
    }
}

/// `run.finish(result)`, awaited for a durable async run (which journals the end).
pub(super) fn finish(saga: &Saga, result: &TokenStream) -> TokenStream {
    let run = hidden("__run");
    if saga.is_async && saga.durable.is_some() {
        quote!(#run.finish(#result).await)
    } else {
        quote!(#run.finish(#result))
    }
}

/// The calls that set an async run's limits (`.deadline(..)` and the like), empty if
/// it has none.
fn limits(saga: &Saga) -> TokenStream {
    let deadline = saga.deadline.as_ref().map(|d| {
        let span = syn::spanned::Spanned::span(d);
        let private = private_at(span);
        quote_spanned!(span=> .deadline(#private::Timeout::after(#d)))
    });
    let cancel = saga.cancel.as_ref().map(|c| {
        let span = syn::spanned::Spanned::span(c);
        quote_spanned!(span=> .cancel_on(#c))
    });
    let fail_fast = saga.fail_fast.then(|| quote!(.fail_fast()));
    let bound = saga.max_concurrent_compensations.as_ref().map(|n| {
        let span = syn::spanned::Spanned::span(n);
        quote_spanned!(span=> .max_concurrent_compensations(#n))
    });
    quote!(#deadline #cancel #fail_fast #bound)
}

/// A statement of the saga: its index, and the index of its first step (steps are
/// numbered flatly, the branches of a `join!` included).
#[derive(Clone, Copy)]
pub(super) struct At {
    pub(super) stmt: usize,
    pub(super) step: usize,
}

impl At {
    /// The statement after this one.
    pub(super) fn next(self, saga: &Saga) -> At {
        At {
            stmt: self.stmt + 1,
            step: self.step + saga.stmts[self.stmt].steps().len(),
        }
    }
}

/// The ladder from statement `at` on: an expression that evaluates to the `Unwind` of
/// a failed run (success leaves by [`succeed`]).
pub(super) fn ladder(saga: &Saga, at: At) -> TokenStream {
    match &saga.stmts[at.stmt] {
        Stmt::Step(step) => {
            let local = step_local(at.step, step);
            let value = value(saga, step);
            let check = kind_check(at.step, step, &quote!(#local), None);
            let builds = quote!(let mut #local = #value;);
            level(
                saga,
                at.step,
                step,
                &builds,
                &check,
                rest(saga, at.next(saga)),
            )
        }
        Stmt::Join(branches) if saga.is_async => super::group::ladder(saga, at, branches),
        Stmt::Join(branches) => sequential(saga, at, branches, 0),
        Stmt::ForEach(each) => super::fan_out::ladder(saga, at, each),
    }
}

/// Step `index`'s position at run time: as written, plus the items of the fan-outs
/// before it (`index + shift`, where the last fan-out before it binds `shift`).
pub(super) fn runtime_index(saga: &Saga, index: usize) -> TokenStream {
    let literal = Literal::usize_unsuffixed(index);
    match fan_out_before(saga, index) {
        Some(first) => {
            let shift = shift_of(first);
            quote!((#literal + #shift))
        }
        None => quote!(#literal),
    }
}

/// The position (as written) of the last fan-out before step `index`, if any.
pub(super) fn fan_out_before(saga: &Saga, index: usize) -> Option<usize> {
    saga.numbered()
        .into_iter()
        .rev()
        .find(|(first, stmt)| *first < index && matches!(stmt, Stmt::ForEach(_)))
        .map(|(first, _)| first)
}

/// The items of every fan-out up to the one at step `first`, once it has run.
pub(super) fn shift_of(first: usize) -> Ident {
    quote::format_ident!("__shift{}", first, span = Span::mixed_site())
}

/// The ladder after a statement: from `at`, or `None` after the last statement.
pub(super) fn rest(saga: &Saga, at: At) -> Option<TokenStream> {
    (at.stmt < saga.stmts.len()).then(|| ladder(saga, at))
}

/// Branch `k` and the later branches of a `join!` in a sync saga, run one after
/// another, a level each. The first level builds every branch's value, so that no
/// branch can borrow a sibling's output.
fn sequential(saga: &Saga, at: At, branches: &[SagaStep], k: usize) -> TokenStream {
    let index = at.step + k;
    let step = &branches[k];
    let builds = if k == 0 {
        let builds = branches.iter().enumerate().map(|(k, branch)| {
            let local = step_local(at.step + k, branch);
            let value = value(saga, branch);
            quote!(let mut #local = #value;)
        });
        quote!(#(#builds)*)
    } else {
        quote!()
    };
    let local = step_local(index, step);
    let last = k + 1 == branches.len();
    let branch = Branch {
        first: at.step,
        last,
    };
    let check = kind_check(index, step, &quote!(#local), Some(branch));
    let rest = if last {
        rest(saga, at.next(saga))
    } else {
        Some(sequential(saga, at, branches, k + 1))
    };
    level(saga, index, step, &builds, &check, rest)
}

/// The level of step `index`, an expression that evaluates to the `Unwind` of a failed
/// run: the step values it `builds`, the kind `check`, the step run; on success its
/// output bound and the `rest` run (or the saga's success, if nothing follows); if the
/// rest fails, this step compensated with its output.
///
/// The output is bound with `let Ok(o) = r else { break 'l failed(r) }` rather than a
/// `match` whose `Err` arm breaks: that arm's `!` would be coerced into the output's
/// type, and an output type left uninferred (a generic step, `parse("5")`) would then
/// fall back to `!` ("`!: FromStr` is not satisfied") instead of asking for an
/// annotation.
fn level(
    saga: &Saga,
    index: usize,
    step: &SagaStep,
    builds: &TokenStream,
    check: &TokenStream,
    rest: Option<TokenStream>,
) -> TokenStream {
    let local = step_local(index, step);
    let run = hidden("__run");
    let output = hidden("__o");
    let result = hidden("__r");
    let ok = quote!(::core::result::Result::Ok);
    let private = private();
    let index_lit = runtime_index(saga, index);
    let attempt = if saga.is_async {
        quote_spanned!(step.span=> #run.step(#index_lit, &mut #local).await)
    } else {
        quote_spanned!(step.span=> #run.step(#index_lit, &mut #local))
    };
    let (bind, carried) = bind_output(index, &step.binding, &output);
    let compensate = if saga.is_async {
        quote!(#run.compensate(#index_lit, &mut #local, #carried).await;)
    } else {
        quote!(#run.compensate(#index_lit, &mut #local, #carried);)
    };
    let on_success = on_success(saga, rest, &compensate);
    let label = level_label(index);
    quote! {#label: {
        #builds
        #check
        let #output = {
            let #result = #attempt;
            let #ok(#output) = #result else {
                break #label #private::failed(#result);
            };
            #output
        };
        #bind
        #on_success
    }}
}

/// After a level's steps succeeded: the `rest` of the saga, and if it fails, `undo`,
/// evaluating to the rest's `Unwind`; with nothing after, the saga's success.
pub(super) fn on_success(
    saga: &Saga,
    rest: Option<TokenStream>,
    undo: &TokenStream,
) -> TokenStream {
    let Some(rest) = rest else {
        return succeed(saga);
    };
    let unwind = hidden("__u");
    quote! {
        let #unwind = #rest;
        #undo
        #unwind
    }
}

/// Every step succeeded: drop the step values (last first, as if their scopes ended:
/// they may borrow outputs that the tail moves), evaluate the tail and leave the saga's
/// block with `run.finish(Ok(tail))`.
fn succeed(saga: &Saga) -> TokenStream {
    let private = private();
    let label = saga_label();
    // An async group's tuple is released whole (its branches ran side by side, so no
    // order among them matters): moving its fields one by one would give each a drop
    // flag.
    let releases = saga
        .numbered()
        .into_iter()
        .rev()
        .flat_map(|(first, stmt)| match stmt {
            Stmt::Join(branches) if saga.is_async => {
                let group = group_local(first, branches[0].span);
                vec![quote!(#group)]
            }
            Stmt::ForEach(each) => {
                let items = step_local(first, &each.step);
                vec![quote!(#items)]
            }
            stmt => (stmt.steps().iter().enumerate().rev())
                .map(|(k, step)| {
                    let local = step_local(first + k, step);
                    quote!(#local)
                })
                .collect(),
        });
    let tail = saga
        .tail
        .as_ref()
        .map_or_else(|| quote!(()), |tail| quote!(#tail));
    let finish = finish(saga, &quote!(::core::result::Result::Ok(#tail)));
    quote! {
        #(#private::release(#releases);)*
        break #label #finish;
    }
}

/// The statement binding step `index`'s raw `output` to the user's name (a hidden one
/// for a discarded output), and that name.
pub(super) fn bind_output(
    index: usize,
    binding: &Binding,
    output: &Ident,
) -> (TokenStream, TokenStream) {
    let (pattern, ty, name) = binding_parts(index, binding);
    // A step's output may be `()`.
    (
        quote!(#[allow(clippy::let_unit_value)] let #pattern: #ty = #output;),
        name,
    )
}
