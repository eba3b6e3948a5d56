//! Expand: the validated [`Saga`] into the nested compensation ladder.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

use super::ast::{Binding, Saga, SagaStep, Source};
use super::item::{durable_fn, durable_start, item_fn};
use crate::paths::{private, private_at};

/// ```text
/// saga! { let a = step_a(&x); let b = step_b(&a); Trip { a, b } }
/// ```
/// becomes
/// ```text
/// {
///     let mut exec = Executor::new();
///     let mut run = Execution::start(ExecutorMut::executor_mut(&mut exec), "saga");
///     let p0 = BeforePivot;
///     'saga: {
///         let u = 'l0: {                                     // each level: an Unwind
///             let mut s0 = step_a(&x);
///             let p1 = (&Probe::new(&s0)).tale_kind().then(p0);   // pivot checks
///             let o = match run.step(0, &mut s0) { Ok(o) => o, Err(u) => break 'l0 u };
///             let a = o;
///             let u = 'l1: {
///                 let mut s1 = step_b(&a); ...;
///                 let o = match run.step(1, &mut s1) { Ok(o) => o, Err(u) => break 'l1 u };
///                 let b = o; release(s1); release(s0);
///                 break 'saga run.finish(Ok(Trip { a, b }))
///             };
///             run.compensate(0, &mut s0, a);
///             u
///         };
///         run.finish(Err(u))
///     }
/// }
/// ```
/// Success leaves by `break`, so the outputs stay where they were bound instead of
/// travelling outward as nested tuples (in an async saga, every level's tuple was kept
/// in the state machine: a 100-step saga's future was 25 KB, then 5.4 KB). Each step's
/// result is matched in a `let`, leaving its level with a labelled `break` on failure,
/// so that the `Result` does not outlive the statement (matched around the rest of the
/// saga, every level's `Result` stayed in the state machine: 5.4 KB, now 3.2 KB). The
/// step values are released first, last first, as their scopes would end, since they
/// may borrow outputs that the tail moves.
/// The async form runs on an `AsyncExecution` inside `async { ... }`, and runs the
/// branches of a `join!` concurrently (see `group.rs`).
pub(crate) fn expand(saga: &Saga) -> TokenStream {
    let body = body(saga);
    match (&saga.item, &saga.durable) {
        (Some((attrs, vis, sig)), Some(durable)) => durable_fn(durable, attrs, vis, sig, &body),
        (Some((attrs, vis, sig)), None) => item_fn(saga, attrs, vis, sig, &body),
        (None, _) if saga.is_async => {
            let move_token = &saga.move_token;
            quote!(async #move_token { #body })
        }
        (None, _) => quote!({ #body }),
    }
}

pub(super) fn hidden(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
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
    let ladder = ladder(saga, 0);
    let start = if let Some(durable) = &saga.durable {
        durable_start(durable, &executor_mut, name)
    } else if saga.is_async {
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
        let limits = (deadline.is_some() || cancel.is_some() || saga.fail_fast || bound.is_some())
            .then(|| quote!(.limits(#private::Limits::new() #deadline #cancel #fail_fast #bound)));
        // `mut` for the plain steps, which take the run exclusively (a saga of only
        // `join!` groups shares it throughout).
        quote! {
            #[allow(unused_mut)]
            let mut #run = #private::AsyncRun::start(#executor_mut, #name) #limits;
        }
    } else {
        quote!(let mut #run = #private::Run::start(#executor_mut, #name);)
    };
    let label = saga_label();
    // The traits of the steps' kind checks, once for the whole saga: a `use` in each
    // check's own block made rustc's method resolution quadratic in the steps (half the
    // type-check time of a 200-branch `join!`).
    quote! {
        #[allow(unused_imports)]
        use #private::{KindOfMarked as _, KindOfUnmarked as _};
        let mut #exec = #executor;
        #start
        let #phase = #private::BeforePivot;
        #label: {
            let #unwind = #ladder;
            #run.finish(::core::result::Result::Err(#unwind))
        }
    }
}

/// The label of the block a saga's run is: its success leaves it with a `break`.
fn saga_label() -> syn::Lifetime {
    syn::Lifetime::new("'__tale_saga", Span::mixed_site())
}

/// Every step succeeded: drop the step values (last first, as if their scopes ended:
/// they may borrow outputs that the tail moves), evaluate the tail and leave the saga's
/// block with `run.finish(Ok(tail))`. Leaving by `break` keeps the outputs where they
/// were bound: nothing is carried outward through the levels, so an async saga's state
/// holds each output once.
pub(super) fn succeed(saga: &Saga) -> TokenStream {
    let private = private();
    let run = hidden("__run");
    let label = saga_label();
    // A group's tuple is released whole (its branches ran side by side, so no order
    // among them matters): moving its fields one by one would give each a drop flag.
    let releases = saga
        .steps
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, step)| !(saga.is_async && step.in_group))
        .map(|(i, step)| {
            if saga.is_async && step.group_len > 1 {
                let group = group_local(i, step.span);
                quote!(#group)
            } else {
                step_place(saga, i)
            }
        });
    let tail = saga
        .tail
        .as_ref()
        .map_or_else(|| quote!(()), |tail| quote!(#tail));
    quote! {
        #(#private::release(#releases);)*
        break #label #run.finish(::core::result::Result::Ok(#tail));
    }
}

/// The step value's local, located at the user's step for errors.
///
/// It is `__tale_`-prefixed and resolved at the call site rather than mixed-site:
/// rustc reports a failed bound on `&mut local` at the span of the whole expression,
/// and tokens of two hygiene contexts widen that span to the whole `saga!`.
fn step_local(index: usize, step: &SagaStep) -> Ident {
    format_ident!("__tale_s{}", index, span = step.span)
}

/// Where step `index`'s value lives: its own local, or for a branch of an async
/// `join!`, a field of the group's tuple. An async saga's state machine costs rustc
/// time quadratic in the locals that live across an await (the layout's storage
/// conflicts, borrowck's liveness), so a group keeps its branches in one local.
pub(super) fn step_place(saga: &Saga, index: usize) -> TokenStream {
    let step = &saga.steps[index];
    let Some(first) = group_of(saga, index)
        .filter(|_| saga.is_async)
        .map(|group| group.start)
    else {
        let local = step_local(index, step);
        return quote!(#local);
    };
    let group = group_local(first, step.span);
    let field = syn::Index {
        index: u32::try_from(index - first).expect("fewer than 2^32 branches"),
        span: step.span,
    };
    quote_spanned!(step.span=> #group.#field)
}

/// The tuple of the async `join!` group starting at step `first`, located at `span`
/// (the step using it) for the same reason as [`step_local`].
pub(super) fn group_local(first: usize, span: Span) -> Ident {
    format_ident!("__tale_g{}", first, span = span)
}

/// The phase before step `index` (for the pivot checks), located at `span` for the
/// same reason as [`step_local`].
pub(super) fn phase_of(index: usize, span: Span) -> Ident {
    format_ident!("__tale_p{}", index, span = span)
}

/// The level of step `index`, an expression that evaluates to the `Unwind` of a failed
/// run (success leaves by [`succeed`]): build the step (or the whole `join!` group),
/// check its kind, run it; on success bind the output and run the rest; if the rest
/// fails, compensate this step with its output.
pub(super) fn ladder(saga: &Saga, index: usize) -> TokenStream {
    let step = &saga.steps[index];
    if saga.is_async && step.group_len > 1 {
        return super::group::ladder(saga, index);
    }
    let local = step_local(index, step);
    let run = hidden("__run");
    let output = hidden("__o");
    let unwind = hidden("__u");
    let ok = quote!(::core::result::Result::Ok);
    let err = quote!(::core::result::Result::Err);
    let builds = if step.in_group {
        quote!()
    } else {
        let builds = (index..index + step.group_len).map(|i| {
            let local = step_local(i, &saga.steps[i]);
            let value = value(saga, &saga.steps[i]);
            quote!(let mut #local = #value;)
        });
        quote!(#(#builds)*)
    };
    let check = kind_check(saga, index);
    let index_lit = proc_macro2::Literal::usize_unsuffixed(index);
    let attempt = if saga.is_async {
        quote_spanned!(step.span=> #run.step(#index_lit, &mut #local).await)
    } else {
        quote_spanned!(step.span=> #run.step(#index_lit, &mut #local))
    };
    let (bind, carried) = bind_output(index, &step.binding, &output);
    let on_success = if index + 1 == saga.steps.len() {
        succeed(saga)
    } else {
        let next = ladder(saga, index + 1);
        let compensate = if saga.is_async {
            quote!(#run.compensate(#index, &mut #local, #carried).await;)
        } else {
            quote!(#run.compensate(#index, &mut #local, #carried);)
        };
        quote! {
            let #unwind = #next;
            #compensate
            #unwind
        }
    };
    // The step's result is matched in a `let`, so that its temporary ends with the
    // statement; matched around the rest of the saga, it stayed live to the end, and an
    // async saga's state machine kept every level's `Result` (24 bytes a step).
    let label = syn::Lifetime::new(&format!("'__tale_l{index}"), Span::mixed_site());
    quote! {#label: {
        #builds
        #check
        let #output = match #attempt {
            #ok(#output) => #output,
            #err(#unwind) => break #label #unwind,
        };
        #bind
        #on_success
    }}
}

/// The statement binding step `index`'s raw `output` to the user's name (a hidden one
/// for a discarded output), and that name.
fn bind_output(index: usize, binding: &Binding, output: &Ident) -> (TokenStream, TokenStream) {
    let (pattern, ty, name) = binding_parts(index, binding);
    (
        quote!(#[allow(clippy::let_unit_value)] let #pattern: #ty = #output;),
        name,
    )
}

/// What step `index`'s output is bound with: the pattern, its type (`_` if not
/// written) and the name later steps see (a hidden one for a discarded output).
pub(super) fn binding_parts(
    index: usize,
    binding: &Binding,
) -> (TokenStream, TokenStream, TokenStream) {
    match binding {
        Binding::Named {
            mutability,
            ident,
            ty,
        } => {
            let ty = ty.as_ref().map_or_else(|| quote!(_), |ty| quote!(#ty));
            (quote!(#mutability #ident), ty, quote!(#ident))
        }
        Binding::Discard => {
            let hidden = format_ident!("__o{}", index, span = Span::mixed_site());
            (quote!(#hidden), quote!(_), quote!(#hidden))
        }
    }
}

/// The compile-time pivot check of step `index`: the phase after it, from the phase
/// before it and its kind. A branch of `join!` is checked against the phase before the
/// group, and may not be the pivot (its siblings could fail after it succeeded); the
/// phase after the group is the phase before it. Checks of branches are expression
/// statements, not `let`s: each `let` opens a scope, and a 1000-branch group nested
/// that deep overflowed LLVM's stack when emitting debug info.
pub(super) fn kind_check(saga: &Saga, index: usize) -> TokenStream {
    let private = private();
    let step = &saga.steps[index];
    let local = step_place(saga, index);
    let kind = quote_spanned!(step.span=> (&#private::Probe::new(&#local)).tale_kind());
    let next_phase = phase_of(index + 1, step.span);
    let Some(group) = group_of(saga, index) else {
        let phase = phase_of(index, step.span);
        return quote_spanned!(step.span=> let #next_phase = #kind.then(#phase););
    };
    let phase = phase_of(group.start, step.span);
    let check = quote_spanned!(step.span=> #kind.in_group(#phase););
    if index + 1 == group.end {
        quote!(#check let #next_phase = #phase;)
    } else {
        check
    }
}

/// The steps of the `join!` group that step `index` belongs to, if any.
pub(super) fn group_of(saga: &Saga, index: usize) -> Option<std::ops::Range<usize>> {
    let step = &saga.steps[index];
    if !step.in_group && step.group_len < 2 {
        return None;
    }
    // Invariant: a group starts with a step that is not `in_group`.
    let first = (0..=index)
        .rev()
        .find(|&i| !saga.steps[i].in_group)
        .expect("a group has a first branch");
    Some(first..first + saga.steps[first].group_len)
}

/// The step value: the expression, a closure step, with the modifiers applied.
pub(super) fn value(saga: &Saga, step: &SagaStep) -> TokenStream {
    let private = private();
    let base = match &step.source {
        Source::Expr(expr) => quote!(#expr),
        Source::Closure(execute) => quote_spanned!(step.span=> #private::from_fn(#execute)),
        Source::Pair(execute, compensate) => {
            quote_spanned!(step.span=> #private::from_fn(#execute).with_compensation(#compensate))
        }
    };
    let mut modifiers = step
        .modifiers
        .iter()
        .map(|(method, arg)| (method, arg.as_ref().map(|a| quote!(#a))));
    if saga.is_async {
        let calls = modifiers.map(|(method, arg)| quote!(.#method(#arg)));
        if step.modifiers.is_empty() {
            base
        } else {
            quote_spanned!(step.span=> #private::AsyncTuned::new(#base) #(#calls)*)
        }
    } else if let Some((first, arg)) = modifiers.next() {
        let arg = arg.map(|a| quote!(, #a));
        let calls = modifiers.map(|(method, arg)| quote!(.#method(#arg)));
        quote_spanned!(step.span=> #private::StepExt::#first(#base #arg) #(#calls)*)
    } else {
        base
    }
}
