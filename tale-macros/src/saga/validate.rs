//! Validate: what the parsed input means, checked as a whole into the [`Saga`] model:
//! the options against the form, the patterns outputs are bound with, the arity of
//! `join!`, the signature of a durable saga. Every problem is reported, in source
//! order within each kind of check.

use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{FnArg, LitStr, Pat, Signature, Type};

use super::ast::{ForEach, Form, Join, Modifier, SagaInput, Statement, StepExpr};
use super::model::{Binding, Durable, FanOut, Saga, SagaStep, Stmt};
use super::options::SagaArgs;
use crate::diag::Diag;

/// Checks the whole input, reporting every problem found.
pub(crate) fn validate(input: SagaInput) -> syn::Result<Saga> {
    let mut diag = Diag::new();
    let SagaInput {
        form,
        options,
        option_errors,
        stmts,
        tail,
        span,
    } = input;
    for error in option_errors {
        diag.push(error);
    }
    let is_async_form = form.is_async();
    if !is_async_form {
        sync_options(&options, &mut diag);
    }
    let count = stmts.len();
    let stmts: Vec<Stmt> = stmts
        .into_iter()
        .filter_map(|stmt| statement(stmt, &mut diag))
        .collect();
    if count == 0 {
        diag.error(
            span,
            "this saga has no steps: add at least one, e.g. `let output = my_step(&input);`",
        );
    }
    let (is_async, move_token, item) = match form {
        Form::Sync => (false, None, None),
        Form::Async { move_token } => (true, move_token, None),
        Form::Item(item) => {
            if options.durable.is_none() {
                if let Some(executor) = &options.executor {
                    diag.error(executor.key, "the `fn` form of `saga!` takes its executor as its first argument: remove `executor = ...`");
                }
                if let syn::ReturnType::Default = item.sig.output {
                    diag.error(item.sig.ident.span(), "a `saga!` function returns `Result<T, tale::SagaError<E>>`: add the return type");
                }
            }
            (item.sig.asyncness.is_some(), None, Some(item))
        }
    };
    let durable = match (&options.durable, &item) {
        (None, _) => None,
        (Some(key), None) => {
            diag.error(key.key, "`durable` applies to the `fn` form of `saga!` only: declare the saga as `fn name(inputs: &Inputs, env: &Env) -> Result<T, DurableError<E>> { ... }`");
            None
        }
        (Some(_), Some(item)) => durable_fn(&item.sig, &mut diag),
    };
    if !is_async_form {
        sync_timeouts(&stmts, &mut diag);
    }
    diag.finish()?;
    let name = options.name.map_or_else(
        || match &item {
            Some(item) => LitStr::new(&item.sig.ident.to_string(), item.sig.ident.span()),
            None => LitStr::new("saga", Span::call_site()),
        },
        |n| n.value,
    );
    Ok(Saga {
        is_async,
        move_token,
        name,
        executor: options.executor.map(|e| e.value),
        deadline: options.deadline.map(|d| d.value),
        cancel: options.cancel.map(|c| c.value),
        fail_fast: options.fail_fast.is_some(),
        max_concurrent_compensations: options.max_concurrent_compensations.map(|n| n.value),
        stmts,
        tail,
        item,
        durable,
    })
}

/// Reports the options that a sync saga cannot have: time limits, cancellation and
/// the options of concurrent branches.
fn sync_options(options: &SagaArgs, diag: &mut Diag) {
    const STOPS: &str = "time limits and cancellation stop a step in flight by dropping its future";
    const SEQUENTIAL: &str =
        "a sync saga runs the branches of `join!` and their compensations one after another";
    let keys = [
        (options.deadline.as_ref().map(|o| o.key), "deadline", STOPS),
        (options.cancel.as_ref().map(|o| o.key), "cancel", STOPS),
        (
            options.fail_fast.as_ref().map(|o| o.key),
            "fail_fast",
            SEQUENTIAL,
        ),
        (
            options.max_concurrent_compensations.as_ref().map(|o| o.key),
            "max_concurrent_compensations",
            SEQUENTIAL,
        ),
    ];
    for (span, key, why) in keys {
        if let Some(span) = span {
            diag.error(
                span,
                format_args!("`{key}` needs an async saga: {why}; use `saga!(async {{ ... }})`"),
            );
        }
    }
}

/// Reports the step timeouts of a sync saga, which cannot have any, and its fan-outs'
/// bounds, which mean nothing there.
fn sync_timeouts(stmts: &[Stmt], diag: &mut Diag) {
    for stmt in stmts {
        if let Stmt::ForEach(FanOut {
            limit: Some(limit), ..
        }) = stmt
        {
            diag.error(limit.span(), "`max_concurrent` needs an async saga: a sync saga runs a fan-out's items one after another; use `saga!(async { ... })`, or remove it");
        }
    }
    let steps = stmts.iter().flat_map(Stmt::steps);
    for Modifier { method, .. } in steps.flat_map(|step| &step.modifiers) {
        if method == "timeout" {
            diag.error(method.span(), "`.timeout(...)` needs an async saga: a timeout stops a step in flight by dropping its future; use `saga!(async { ... })`");
        }
    }
}

/// One statement: a step or a `join!` group, with the pattern its output is bound to.
/// The pattern is checked before the step.
fn statement(stmt: syn::Result<Statement>, diag: &mut Diag) -> Option<Stmt> {
    match stmt {
        Err(error) => {
            diag.push(error);
            None
        }
        Ok(Statement::Step { pat, step }) => {
            let binding = pat.map_or(Some(Binding::Discard), |p| binding(p, diag));
            let step = reported(step, diag);
            Some(Stmt::Step(saga_step(binding?, step?)))
        }
        Ok(Statement::Join { pat, join: group }) => join(pat, group, diag),
        Ok(Statement::ForEach { pat, each }) => fan_out(pat, each, diag),
    }
}

/// `for item in iter { step }`, its `Vec` of outputs bound to a name, `_` or nothing.
fn fan_out(pat: Option<Pat>, each: ForEach, diag: &mut Diag) -> Option<Stmt> {
    let binding = pat.map_or(Some(Binding::Discard), |p| binding(p, diag));
    let step = reported(each.step, diag);
    Some(Stmt::ForEach(FanOut {
        binding: binding?,
        item: each.item,
        iter: each.iter,
        step: saga_step(Binding::Discard, step?),
        concurrent: each.concurrent,
        limit: each.limit,
    }))
}

/// `join!(a, b, ...)` of two or more steps, bound to a tuple pattern of as many names,
/// `_`, or nothing. The patterns are checked before the branches; with a pattern of the
/// wrong shape, the branches are not checked.
fn join(pat: Option<Pat>, join: Join, diag: &mut Diag) -> Option<Stmt> {
    let count = join.branches.len();
    if count == 0 {
        diag.error(
            join.span,
            "`join!` runs two or more steps side by side: `join!(a(&x), b(&x))`",
        );
        return None;
    }
    if count == 1 {
        diag.error(join.span, one_step(pat.as_ref(), &join.tokens));
        for branch in join.branches {
            reported(branch, diag);
        }
        return None;
    }
    let bindings: Vec<Option<Binding>> = match pat {
        None | Some(Pat::Wild(_)) => (0..count).map(|_| Some(Binding::Discard)).collect(),
        Some(Pat::Tuple(tuple)) if tuple.elems.len() == count => {
            tuple.elems.into_iter().map(|p| binding(p, diag)).collect()
        }
        Some(other) => {
            let msg = format!(
                "bind a `join!` of {count} steps to a tuple of {count} names: `let ({}) = join!(...)`",
                (0..count)
                    .map(|i| format!("out{i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            diag.error(other.span(), msg);
            return None;
        }
    };
    let mut branches = Vec::new();
    for (branch, binding) in join.branches.into_iter().zip(bindings) {
        if let (Some(binding), Some(step)) = (binding, reported(branch, diag)) {
            branches.push(saga_step(binding, step));
        }
    }
    if branches.len() < count {
        // Every missing branch has reported its error.
        return None;
    }
    Some(Stmt::Join(branches))
}

/// "a `join!` of one step is that step: write `let paid = charge(5);`": the statement
/// without `join!`, its output bound as the pattern meant (`(paid,)` is `paid`).
fn one_step(pat: Option<&Pat>, step: &proc_macro2::TokenStream) -> String {
    let step = step.to_string();
    let step = step.trim().trim_end_matches(',').trim_end();
    let bound = |pat: &Pat| quote::ToTokens::to_token_stream(pat).to_string();
    let statement = match pat {
        None => format!("{step};"),
        Some(Pat::Tuple(tuple)) if tuple.elems.len() == 1 => {
            format!("let {} = {step};", bound(&tuple.elems[0]))
        }
        Some(Pat::Type(typed)) => {
            let ty = quote::ToTokens::to_token_stream(&typed.ty);
            format!("let {}: {ty} = {step};", bound(&typed.pat))
        }
        Some(pat @ (Pat::Ident(_) | Pat::Wild(_))) => format!("let {} = {step};", bound(pat)),
        Some(_) => format!("let output = {step};"),
    };
    format!("a `join!` of one step is that step: write `{statement}`")
}

/// The value of `result`; its error reported.
fn reported<T>(result: syn::Result<T>, diag: &mut Diag) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(error) => {
            diag.push(error);
            None
        }
    }
}

/// A step of the model: the parsed step, its output bound to `binding`.
fn saga_step(binding: Binding, step: StepExpr) -> SagaStep {
    SagaStep {
        binding,
        source: step.source,
        modifiers: step.modifiers,
        span: step.span,
    }
}

/// What a step's output may be bound to.
fn binding(pat: Pat, diag: &mut Diag) -> Option<Binding> {
    match pat {
        Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => Some(Binding::Named {
            mutability: p.mutability,
            ident: p.ident,
            ty: None,
        }),
        Pat::Wild(_) => Some(Binding::Discard),
        Pat::Tuple(t) if t.elems.is_empty() => Some(Binding::Discard),
        Pat::Type(typed) => match binding(*typed.pat, diag)? {
            Binding::Named {
                mutability, ident, ..
            } => Some(Binding::Named {
                mutability,
                ident,
                ty: Some(typed.ty),
            }),
            Binding::Discard => Some(Binding::Discard),
        },
        other => {
            diag.error(other.span(), "bind a step's output to a name (`let payment = ...`) or `_`: the output is kept whole for its compensation; destructure it in a later step or in the final expression");
            None
        }
    }
}

const DURABLE_INPUTS: &str = "a durable `saga!` function takes exactly two inputs, the saga's inputs (recorded in the journal) then its environment (never stored): `fn name(inputs: &Inputs, env: &Env)`";

/// The signature of a durable saga function (sync or `async`): two typed inputs,
/// `Result<T, DurableError<E>>`.
fn durable_fn(sig: &Signature, diag: &mut Diag) -> Option<Durable> {
    match &sig.output {
        syn::ReturnType::Type(_, ty) => {
            if let Err(wrong) = durable_result(ty) {
                diag.error(wrong, "a durable `saga!` function returns `Result<T, tale::journal::DurableError<E>>`: change the return type");
            }
        }
        syn::ReturnType::Default => diag.error(sig.ident.span(), "a durable `saga!` function returns `Result<T, tale::journal::DurableError<E>>`: add the return type"),
    }
    let mut typed = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        match input {
            FnArg::Receiver(receiver) => {
                diag.error(receiver.span(), DURABLE_INPUTS);
                return None;
            }
            FnArg::Typed(_) if index >= 2 => {
                diag.error(input.span(), DURABLE_INPUTS);
                return None;
            }
            FnArg::Typed(typed_input) => typed.push(Box::new(typed_input.clone())),
        }
    }
    let mut typed = typed.into_iter();
    if let (Some(inputs), Some(env)) = (typed.next(), typed.next()) {
        Some(Durable { inputs, env })
    } else {
        diag.error(sig.paren_token.span.join(), DURABLE_INPUTS);
        None
    }
}

/// Whether `ty` is written `Result<_, DurableError<_>>` (any path to either); if not,
/// the span of the wrong part: the error type of a `Result`, or the whole type.
fn durable_result(ty: &Type) -> Result<(), Span> {
    fn last_args<'a>(ty: &'a Type, name: &str) -> Option<Vec<&'a Type>> {
        let Type::Path(path) = ty else { return None };
        let last = path.path.segments.last()?;
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        let types = args.args.iter().filter_map(|arg| match arg {
            syn::GenericArgument::Type(ty) => Some(ty),
            _ => None,
        });
        (last.ident == name && path.qself.is_none()).then(|| types.collect())
    }
    /// The type's own name (`SagaError` in `tale::SagaError<E>`), else its first token.
    fn name_span(ty: &Type) -> Span {
        match ty {
            Type::Path(path) => path
                .path
                .segments
                .last()
                .map_or(ty.span(), |s| s.ident.span()),
            _ => ty.span(),
        }
    }
    match last_args(ty, "Result").as_deref() {
        Some([_, error]) => match last_args(error, "DurableError").as_deref() {
            Some([_]) => Ok(()),
            _ => Err(name_span(error)),
        },
        _ => Err(name_span(ty)),
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use crate::test_support::messages;

    /// The messages of validating `input`.
    fn errors(input: proc_macro2::TokenStream) -> Vec<String> {
        let input = syn::parse2(input).unwrap();
        super::validate(input)
            .err()
            .map_or_else(Vec::new, |e| messages(&e))
    }

    #[test]
    fn a_join_of_one_step_is_that_step_in_every_spelling() {
        for (statement, hint) in [
            (
                quote!(let paid = join!(charge(5));),
                "let paid = charge(5);",
            ),
            (
                quote!(let (paid,) = join!(charge(5),);),
                "let paid = charge(5);",
            ),
            (
                quote!(let paid: u32 = join!(charge(5));),
                "let paid: u32 = charge(5);",
            ),
            (quote!(let _ = join!(charge(5));), "let _ = charge(5);"),
            (quote!(join!(charge(5));), "charge(5);"),
            (
                quote!(let (a, b) = join!(charge(5));),
                "let output = charge(5);",
            ),
        ] {
            let errors = errors(quote!(#statement 1));
            let expected = format!("a `join!` of one step is that step: write `{hint}`");
            // The fallback printer spaces tokens as `charge (5)`.
            let spaced = |s: &str| s.replace(' ', "");
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(spaced(&errors[0]), spaced(&expected), "{statement}");
        }
    }
}
