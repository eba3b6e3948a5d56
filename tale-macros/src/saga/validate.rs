//! Validate: which statements are steps, how their outputs are bound, the options,
//! all checked together into the [`Saga`] model.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned as _;
use syn::{Expr, FnArg, LitStr, Pat, Signature, Stmt, Type};

use super::ast::{Binding, Durable, Form, Saga, SagaInput, SagaStep, Source};
use super::options::options;
use crate::diag::Diag;

/// The methods that `saga!` applies itself to any step (sync or async).
const MODIFIERS: &[&str] = &[
    "retry",
    "compensation_retry",
    "named",
    "uncertain",
    "timeout",
];

const NOT_A_STEP: &str = "only steps are allowed here: a `#[step]` function call, `step(|| ...)`, `step(|| ..., |out| ...)` or `join!(...)`, optionally bound with `let`; wrap other code in `step(|| ...)`";

/// Checks the whole input, reporting every problem found.
pub(crate) fn validate(input: SagaInput) -> syn::Result<Saga> {
    let mut diag = Diag::new();
    let options = options(&input, &mut diag);
    let is_async_form = is_async(&input.form);
    let mut steps = Vec::new();
    let mut tail = None;
    let count = input.stmts.len();
    for (index, stmt) in input.stmts.into_iter().enumerate() {
        match stmt {
            Stmt::Local(local) => {
                let Some(init) = local.init else {
                    diag.error(
                        local.pat.span(),
                        format_args!("a `let` without a step: {NOT_A_STEP}"),
                    );
                    continue;
                };
                if let Some((else_token, _)) = &init.diverge {
                    diag.error(
                        else_token.span,
                        "`let ... else` is not a step: bind the step's output to a name",
                    );
                    continue;
                }
                statement(Some(local.pat), *init.expr, &mut steps, &mut diag);
            }
            Stmt::Expr(expr, Some(_)) => statement(None, expr, &mut steps, &mut diag),
            Stmt::Expr(expr, None) if index + 1 == count => tail = Some(expr),
            Stmt::Expr(expr, None) => diag.error(expr.span(), NOT_A_STEP),
            Stmt::Macro(mac) => {
                let expr = Expr::Macro(syn::ExprMacro {
                    attrs: mac.attrs,
                    mac: mac.mac,
                });
                statement(None, expr, &mut steps, &mut diag);
            }
            Stmt::Item(item) => diag.error(
                item.span(),
                "items cannot be declared inside `saga!`: declare them before the saga",
            ),
        }
    }
    if count - usize::from(tail.is_some()) == 0 {
        diag.error(
            input.span,
            "this saga has no steps: add at least one, e.g. `let output = my_step(&input);`",
        );
    }
    let (is_async, move_token, item) = match input.form {
        Form::Sync => (false, None, None),
        Form::Async { move_token } => (true, move_token, None),
        Form::Item { attrs, vis, sig } => {
            if options.durable.is_none() {
                if let Some(executor) = &options.executor {
                    diag.error(executor.key, "the `fn` form of `saga!` takes its executor as its first argument: remove `executor = ...`");
                }
                if let syn::ReturnType::Default = sig.output {
                    diag.error(sig.ident.span(), "a `saga!` function returns `Result<T, tale::SagaError<E>>`: add the return type");
                }
            }
            (sig.asyncness.is_some(), None, Some((attrs, vis, sig)))
        }
    };
    let durable = match (&options.durable, &item) {
        (None, _) => None,
        (Some(key), None) => {
            diag.error(key.key, "`durable` applies to the `fn` form of `saga!` only: declare the saga as `fn name(inputs: &Inputs, env: &Env) -> Result<T, DurableError<E>> { ... }`");
            None
        }
        (Some(_), Some((_, _, sig))) => durable_fn(sig, &mut diag),
    };
    if !is_async_form {
        sync_timeouts(&steps, &mut diag);
    }
    diag.finish()?;
    let name = options.name.map_or_else(
        || match &item {
            Some((_, _, sig)) => LitStr::new(&sig.ident.to_string(), sig.ident.span()),
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
        steps,
        tail,
        item,
        durable,
    })
}

/// True for the async forms: `saga!(async { ... })` and an `async fn`.
pub(super) fn is_async(form: &Form) -> bool {
    matches!(form, Form::Async { .. })
        || matches!(form, Form::Item { sig, .. } if sig.asyncness.is_some())
}

/// Reports the step timeouts of a sync saga, which cannot have any.
fn sync_timeouts(steps: &[SagaStep], diag: &mut Diag) {
    for (method, _) in steps.iter().flat_map(|step| &step.modifiers) {
        if method == "timeout" {
            diag.error(method.span(), "`.timeout(...)` needs an async saga: a timeout stops a step in flight by dropping its future; use `saga!(async { ... })`");
        }
    }
}

const DURABLE_INPUTS: &str = "a durable `saga!` function takes exactly two inputs, the saga's inputs (recorded in the journal) then its environment (never stored): `fn name(inputs: &Inputs, env: &Env)`";

/// The signature of a durable saga function: not `async` (yet), two typed inputs,
/// `Result<T, DurableError<E>>`.
fn durable_fn(sig: &Signature, diag: &mut Diag) -> Option<Durable> {
    if let Some(asyncness) = &sig.asyncness {
        diag.error(asyncness.span, "durable sagas are sync only for now: `async fn` with `durable` is not supported yet; remove `async`");
    }
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

/// One statement: a step or a `join!` group, with its optional pattern.
fn statement(pat: Option<Pat>, expr: Expr, steps: &mut Vec<SagaStep>, diag: &mut Diag) {
    if let Expr::Macro(mac) = &expr {
        if mac.mac.path.is_ident("join") {
            join(pat, &mac.mac, steps, diag);
            return;
        }
    }
    let binding = pat.map_or(Some(Binding::Discard), |p| binding(p, diag));
    if let (Some(binding), Some(step)) = (binding, step(expr, diag)) {
        steps.push(SagaStep {
            binding,
            group_len: 1,
            in_group: false,
            ..step
        });
    }
}

/// `join!(a, b, ...)`, bound to a tuple pattern of as many names, `_`, or nothing.
fn join(pat: Option<Pat>, mac: &syn::Macro, steps: &mut Vec<SagaStep>, diag: &mut Diag) {
    let parser = syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated;
    let branches = match mac.parse_body_with(parser) {
        Ok(branches) => branches,
        Err(error) => return diag.push(error),
    };
    if branches.is_empty() {
        return diag.error(
            mac.path.span(),
            "`join!` needs at least one step: `join!(a(&x), b(&x))`",
        );
    }
    let bindings: Vec<Option<Binding>> = match pat {
        None | Some(Pat::Wild(_)) => branches.iter().map(|_| Some(Binding::Discard)).collect(),
        Some(Pat::Tuple(tuple)) if tuple.elems.len() == branches.len() => {
            tuple.elems.into_iter().map(|p| binding(p, diag)).collect()
        }
        Some(other) => {
            let msg = format!(
                "bind a `join!` of {} steps to a tuple of {} names: `let ({}) = join!(...)`",
                branches.len(),
                branches.len(),
                (0..branches.len())
                    .map(|i| format!("out{i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return diag.error(other.span(), msg);
        }
    };
    let first = steps.len();
    for (index, (branch, binding)) in branches.into_iter().zip(bindings).enumerate() {
        if let Expr::Macro(inner) = &branch {
            if inner.mac.path.is_ident("join") {
                diag.error(
                    inner.mac.path.span(),
                    "`join!` cannot be nested: list every branch in one `join!`",
                );
                continue;
            }
        }
        if let (Some(binding), Some(step)) = (binding, step(branch, diag)) {
            steps.push(SagaStep {
                binding,
                in_group: index > 0,
                group_len: 1,
                ..step
            });
        }
    }
    let len = steps.len() - first;
    if let Some(head) = steps.get_mut(first) {
        head.group_len = len;
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

/// A step expression: its modifiers peeled off, closure steps recognised.
fn step(expr: Expr, diag: &mut Diag) -> Option<SagaStep> {
    let span = expr.span();
    let mut modifiers = Vec::new();
    let mut base = expr;
    while let Expr::MethodCall(call) = &base {
        let method = call.method.to_string();
        if !MODIFIERS.contains(&method.as_str()) || call.turbofish.is_some() {
            break;
        }
        let Expr::MethodCall(call) = base else {
            unreachable!("matched above")
        };
        let arg = call.args.into_iter().next();
        modifiers.push((call.method, arg));
        base = *call.receiver;
    }
    modifiers.reverse();
    let source = match base {
        Expr::Call(call) if matches!(&*call.func, Expr::Path(p) if p.path.is_ident("step")) => {
            let mut args = call.args.into_iter();
            match (args.next(), args.next(), args.next()) {
                (Some(execute), None, None) => Source::Closure(execute),
                (Some(execute), Some(compensate), None) => Source::Pair(execute, compensate),
                _ => {
                    diag.error(call.func.span(), "`step(...)` takes an execute closure and, optionally, a compensate closure: `step(|| ...)` or `step(|| ..., |out| ...)`");
                    return None;
                }
            }
        }
        base @ (Expr::Call(_) | Expr::MethodCall(_) | Expr::Path(_)) => Source::Expr(base),
        Expr::Macro(mac) => {
            let name = mac.mac.path.to_token_stream().to_string();
            diag.error(
                mac.mac.path.span(),
                format_args!(
                    "`{name}!` is not a step: wrap it in a closure step, `step(|| {name}!(...))`"
                ),
            );
            return None;
        }
        other => {
            diag.error(other.span(), NOT_A_STEP);
            return None;
        }
    };
    Some(SagaStep {
        binding: Binding::Discard,
        source,
        modifiers,
        span,
        group_len: 1,
        in_group: false,
    })
}
