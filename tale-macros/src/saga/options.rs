//! Parse: the options of `#![saga(...)]`, each at most once. Which of them a form may
//! have is checked in validate.

use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned as _;
use syn::{Attribute, Expr, LitStr, Token};

use crate::options::{Key, Spanned, Table};

/// The options as written, each at most once.
#[derive(Default)]
pub(crate) struct SagaArgs {
    pub(crate) name: Option<Spanned<LitStr>>,
    pub(crate) executor: Option<Spanned<Expr>>,
    pub(crate) durable: Option<Spanned<()>>,
    pub(crate) deadline: Option<Spanned<Expr>>,
    pub(crate) cancel: Option<Spanned<Expr>>,
    pub(crate) fail_fast: Option<Spanned<()>>,
    pub(crate) max_concurrent_compensations: Option<Spanned<Expr>>,
}

/// Every option of `#![saga(...)]`, in the order the messages list them.
const SAGA: Table<SagaArgs> = Table {
    attr: "saga",
    unnamed: "",
    keys: &[
        Key::value("name", "name = \"...\"", |out, key, value| {
            key.set_once(&mut out.name, value.parse()?)
        }),
        Key::value("executor", "executor = &mut executor", |out, key, value| {
            key.set_once(&mut out.executor, value.parse()?)
        }),
        Key::value(
            "deadline",
            "deadline = Duration::from_secs(30)",
            |out, key, value| key.set_once(&mut out.deadline, value.parse()?),
        ),
        Key::value("cancel", "cancel = &cancel_handle", |out, key, value| {
            key.set_once(&mut out.cancel, value.parse()?)
        }),
        Key::flag("fail_fast", |out| &mut out.fail_fast),
        Key::value(
            "max_concurrent_compensations",
            "max_concurrent_compensations = 4",
            |out, key, value| key.set_once(&mut out.max_concurrent_compensations, value.parse()?),
        ),
        // Accepted in every form (validate says where it belongs), listed in the item
        // form only.
        Key::flag("durable", |out| &mut out.durable),
    ],
    no_value,
};

/// `flag = value`: an error at the value.
fn no_value(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<()> {
    if !meta.input.peek(Token![=]) {
        return Ok(());
    }
    meta.input.parse::<Token![=]>()?;
    let value: Expr = meta.input.parse()?;
    Err(syn::Error::new(
        value.span(),
        format_args!("`{key}` takes no value: write `#![saga({key})]`, or remove it"),
    ))
}

/// The options of the inner attributes `attrs`, and what was wrong with them: another
/// attribute than `saga`, or the first error of each `#![saga(...)]`.
pub(crate) fn parse(attrs: &[Attribute], is_item: bool) -> (SagaArgs, Vec<syn::Error>) {
    let mut options = SagaArgs::default();
    let mut errors = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("saga") {
            errors.push(syn::Error::new(
                attr.path().span(),
                "`saga!` accepts only `#![saga(name = \"...\", executor = ...)]` here",
            ));
            continue;
        }
        let listed = |key: &str| key != "durable" || is_item;
        if let Err(error) = attr.parse_nested_meta(|meta| SAGA.parse(&meta, &mut options, listed)) {
            errors.push(error);
        }
    }
    (options, errors)
}
