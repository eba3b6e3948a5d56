//! Validate: which statements are steps, how their outputs are bound, the options,
//! all checked together into the [`Saga`] model.

use proc_macro2::Span;
use quote::ToTokens;
use syn::spanned::Spanned as _;
use syn::{Expr, LitStr, Pat, Stmt};

use super::ast::{Binding, Form, Saga, SagaInput, SagaStep, Source};
use crate::diag::{Diag, did_you_mean};
use crate::step::{Spanned, set_once};

/// The methods that `saga!` applies itself to any step (sync or async).
const MODIFIERS: &[&str] = &["retry", "compensation_retry", "named", "uncertain"];

const NOT_A_STEP: &str = "only steps are allowed here: a `#[step]` function call, `step(|| ...)`, `step(|| ..., |out| ...)` or `join!(...)`, optionally bound with `let`; wrap other code in `step(|| ...)`";

/// Checks the whole input, reporting every problem found.
pub(crate) fn validate(input: SagaInput) -> syn::Result<Saga> {
    let mut diag = Diag::new();
    let (name, executor) = options(&input, &mut diag);
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
            if let Some(executor) = &executor {
                diag.error(executor.key, "the `fn` form of `saga!` takes its executor as its first argument: remove `executor = ...`");
            }
            if let syn::ReturnType::Default = sig.output {
                diag.error(sig.ident.span(), "a `saga!` function returns `Result<T, tale::SagaError<E>>`: add the return type");
            }
            (sig.asyncness.is_some(), None, Some((attrs, vis, sig)))
        }
    };
    diag.finish()?;
    let name = name.map_or_else(
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
        executor: executor.map(|e| e.value),
        steps,
        tail,
        item,
    })
}

/// `#![saga(name = "...", executor = ...)]`.
fn options(input: &SagaInput, diag: &mut Diag) -> (Option<Spanned<LitStr>>, Option<Spanned<Expr>>) {
    let mut name = None;
    let mut executor = None;
    for attr in &input.inner_attrs {
        if !attr.path().is_ident("saga") {
            diag.error(
                attr.path().span(),
                "`saga!` accepts only `#![saga(name = \"...\", executor = ...)]` here",
            );
            continue;
        }
        let parsed = attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            let span = meta.path.span();
            let form = match key.as_str() {
                "name" => "name = \"...\"",
                "executor" => "executor = &mut executor",
                _ => {
                    let expected = "expected `name` or `executor`";
                    return Err(match did_you_mean(&key, &["name", "executor"]) {
                        Some(close) => meta.error(format_args!(
                            "unknown `saga` option `{key}`; did you mean `{close}`? ({expected})"
                        )),
                        None => {
                            meta.error(format_args!("unknown `saga` option `{key}`; {expected}"))
                        }
                    });
                }
            };
            if !meta.input.peek(syn::Token![=]) {
                return Err(meta.error(format_args!("expected `{form}`")));
            }
            if key == "name" {
                set_once(&mut name, &key, span, meta.value()?.parse()?)
            } else {
                set_once(&mut executor, &key, span, meta.value()?.parse()?)
            }
        });
        if let Err(error) = parsed {
            diag.push(error);
        }
    }
    (name, executor)
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
