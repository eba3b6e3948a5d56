//! Validate: the options of `#![saga(...)]`, each at most once, and the ones a sync
//! saga cannot have.

use syn::spanned::Spanned as _;
use syn::{Expr, LitStr};

use super::ast::{Form, SagaInput};
use super::validate::is_async;
use crate::diag::{Diag, did_you_mean};
use crate::step::{Spanned, set_once};

/// The options of `#![saga(...)]`, each at most once.
pub(super) struct Options {
    pub(super) name: Option<Spanned<LitStr>>,
    pub(super) executor: Option<Spanned<Expr>>,
    pub(super) durable: Option<Spanned<()>>,
    pub(super) deadline: Option<Spanned<Expr>>,
    pub(super) cancel: Option<Spanned<Expr>>,
    pub(super) fail_fast: Option<Spanned<()>>,
    pub(super) max_concurrent_compensations: Option<Spanned<Expr>>,
}

/// Every option, with the form it is written in. `durable` is valid only in the item
/// form, so only that form lists it.
const KEYS: &[(&str, &str)] = &[
    ("name", "name = \"...\""),
    ("executor", "executor = &mut executor"),
    ("deadline", "deadline = Duration::from_secs(30)"),
    ("cancel", "cancel = &cancel_handle"),
    ("fail_fast", "fail_fast"),
    (
        "max_concurrent_compensations",
        "max_concurrent_compensations = 4",
    ),
    ("durable", "durable"),
];

/// `#![saga(name = "...", executor = ..., durable)]`.
pub(super) fn options(input: &SagaInput, diag: &mut Diag) -> Options {
    let mut options = Options {
        name: None,
        executor: None,
        durable: None,
        deadline: None,
        cancel: None,
        fail_fast: None,
        max_concurrent_compensations: None,
    };
    let keys: Vec<&str> = KEYS
        .iter()
        .map(|(key, _)| *key)
        .filter(|key| *key != "durable" || matches!(input.form, Form::Item { .. }))
        .collect();
    let expected = expected(&keys);
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
            let flag = match key.as_str() {
                "fail_fast" => Some(&mut options.fail_fast),
                // Outside the item form, validation says where `durable` belongs.
                "durable" => Some(&mut options.durable),
                _ => None,
            };
            if let Some(flag) = flag {
                if meta.input.peek(syn::Token![=]) {
                    meta.input.parse::<syn::Token![=]>()?;
                    let value: Expr = meta.input.parse()?;
                    return Err(syn::Error::new(
                        value.span(),
                        format_args!(
                            "`{key}` takes no value: write `#![saga({key})]`, or remove it"
                        ),
                    ));
                }
                return set_once(flag, &key, span, ());
            }
            let Some((_, form)) = KEYS.iter().find(|(k, _)| *k == key) else {
                return Err(match did_you_mean(&key, &keys) {
                    Some(close) => meta.error(format_args!(
                        "unknown `saga` option `{key}`; did you mean `{close}`? ({expected})"
                    )),
                    None => meta.error(format_args!("unknown `saga` option `{key}`; {expected}")),
                });
            };
            if !meta.input.peek(syn::Token![=]) {
                return Err(meta.error(format_args!("expected `{form}`")));
            }
            match key.as_str() {
                "name" => set_once(&mut options.name, &key, span, meta.value()?.parse()?),
                "deadline" => set_once(&mut options.deadline, &key, span, meta.value()?.parse()?),
                "cancel" => set_once(&mut options.cancel, &key, span, meta.value()?.parse()?),
                "max_concurrent_compensations" => set_once(
                    &mut options.max_concurrent_compensations,
                    &key,
                    span,
                    meta.value()?.parse()?,
                ),
                _ => set_once(&mut options.executor, &key, span, meta.value()?.parse()?),
            }
        });
        if let Err(error) = parsed {
            diag.push(error);
        }
    }
    if !is_async(&input.form) {
        sync_options(&options, diag);
    }
    options
}

/// "expected `a`, `b` or `c`".
fn expected(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
    match quoted.split_last() {
        Some((last, [])) => format!("expected {last}"),
        Some((last, rest)) => format!("expected {} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Reports the options that a sync saga cannot have: time limits, cancellation and
/// the options of concurrent branches.
fn sync_options(options: &Options, diag: &mut Diag) {
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
