//! Parse: the options of `#[step(...)]`.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::{Expr, LitStr, Path, Token};

use crate::diag::{did_you_mean, duplicate};

/// A value and the span of the key that set it.
pub(crate) struct Spanned<T> {
    pub(crate) key: Span,
    pub(crate) value: T,
}

/// The options as written, each at most once.
#[derive(Default)]
pub(crate) struct StepArgs {
    pub(crate) compensate: Option<Spanned<Path>>,
    pub(crate) retry: Option<Spanned<Expr>>,
    pub(crate) compensation_retry: Option<Spanned<Expr>>,
    pub(crate) name: Option<Spanned<LitStr>>,
    pub(crate) pivot: Option<Spanned<()>>,
    pub(crate) retriable: Option<Spanned<()>>,
    pub(crate) uncertain: Option<Spanned<()>>,
    pub(crate) local: Option<Spanned<()>>,
}

const KEYS: &[&str] = &[
    "compensate",
    "retry",
    "compensation_retry",
    "name",
    "pivot",
    "retriable",
    "uncertain",
    "local",
];

/// Sets an option once; a second time is an error at the second key.
pub(crate) fn set_once<T>(
    slot: &mut Option<Spanned<T>>,
    key: &str,
    span: Span,
    value: T,
) -> syn::Result<()> {
    if let Some(first) = slot {
        return Err(duplicate(key, first.key, span));
    }
    *slot = Some(Spanned { key: span, value });
    Ok(())
}

/// The value of `key = value`, with an error at the key naming the whole form if the
/// `=` is missing (syn's own "expected `=`" would land on the whole attribute).
fn value_of<'a>(
    meta: &ParseNestedMeta<'a>,
    form: &str,
) -> syn::Result<syn::parse::ParseStream<'a>> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format_args!("expected `{form}`")));
    }
    meta.value()
}

/// Parses one option of `#[step(...)]` into `out`.
pub(crate) fn parse_step_option(meta: &ParseNestedMeta<'_>, out: &mut StepArgs) -> syn::Result<()> {
    let Some(ident) = meta.path.get_ident() else {
        return Err(unknown(meta, "this"));
    };
    let key = ident.to_string();
    let span = ident.span();
    match key.as_str() {
        "compensate" => {
            let path: Path = value_of(meta, "compensate = path::to::undo")?.parse()?;
            set_once(&mut out.compensate, &key, span, path)
        }
        "retry" => {
            let expr: Expr = value_of(meta, "retry = Retry::times(3)")?.parse()?;
            set_once(&mut out.retry, &key, span, expr)
        }
        "compensation_retry" => {
            let form = "compensation_retry = Retry::until_success()";
            let expr: Expr = value_of(meta, form)?.parse()?;
            set_once(&mut out.compensation_retry, &key, span, expr)
        }
        "name" => {
            let name: LitStr = value_of(meta, "name = \"...\"")?.parse()?;
            set_once(&mut out.name, &key, span, name)
        }
        "pivot" | "retriable" | "uncertain" | "local" => {
            if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                return Err(meta.error(format_args!(
                    "`{key}` takes no value: write `#[step({key})]`"
                )));
            }
            let slot = match key.as_str() {
                "pivot" => &mut out.pivot,
                "retriable" => &mut out.retriable,
                "uncertain" => &mut out.uncertain,
                _ => &mut out.local,
            };
            set_once(slot, &key, span, ())
        }
        _ => Err(unknown(meta, &key)),
    }
}

fn unknown(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Error {
    let expected = "expected `compensate`, `retry`, `compensation_retry`, `name`, `pivot`, `retriable`, `uncertain` or `local`";
    match did_you_mean(key, KEYS) {
        Some(close) => meta.error(format_args!(
            "unknown `step` option `{key}`; did you mean `{close}`? ({expected})"
        )),
        None => meta.error(format_args!("unknown `step` option `{key}`; {expected}")),
    }
}
