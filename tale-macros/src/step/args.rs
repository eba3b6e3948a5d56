//! Parse: the options of `#[step(...)]`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser as _;
use syn::{Expr, LitStr, Path, Token};

use crate::options::{Key, Spanned, Table};

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

/// Every option of `#[step(...)]`, in the order the messages list them.
const STEP: Table<StepArgs> = Table {
    attr: "step",
    unnamed: "this",
    keys: &[
        Key::value(
            "compensate",
            "compensate = path::to::undo",
            |out, key, value| key.set_once(&mut out.compensate, value.parse()?),
        ),
        Key::value("retry", "retry = Retry::times(3)", |out, key, value| {
            key.set_once(&mut out.retry, value.parse()?)
        }),
        Key::value(
            "compensation_retry",
            "compensation_retry = Retry::until_success()",
            |out, key, value| key.set_once(&mut out.compensation_retry, value.parse()?),
        ),
        Key::value("name", "name = \"...\"", |out, key, value| {
            key.set_once(&mut out.name, value.parse()?)
        }),
        Key::flag("pivot", |out| &mut out.pivot),
        Key::flag("retriable", |out| &mut out.retriable),
        Key::flag("uncertain", |out| &mut out.uncertain),
        Key::flag("local", |out| &mut out.local),
    ],
    no_value,
};

/// A flag followed by anything but the next option: an error at the key.
fn no_value(meta: &ParseNestedMeta<'_>, key: &str) -> syn::Result<()> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        return Ok(());
    }
    Err(meta.error(format_args!(
        "`{key}` takes no value: write `#[step({key})]`"
    )))
}

/// Parses one option of `#[step(...)]` into `out`.
fn parse_step_option(meta: &ParseNestedMeta<'_>, out: &mut StepArgs) -> syn::Result<()> {
    STEP.parse(meta, out, |_| true)
}

/// Parses the arguments of `#[step(...)]`, stopping at the first error.
pub(crate) fn parse(args: TokenStream) -> syn::Result<StepArgs> {
    let mut options = StepArgs::default();
    syn::meta::parser(|meta| parse_step_option(&meta, &mut options)).parse2(args)?;
    Ok(options)
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::parse;
    use crate::test_support::messages;

    #[test]
    fn parses_every_option() {
        let args = parse(quote! {
            compensate = undo, retry = Retry::times(3), compensation_retry = Retry::until_success(),
            name = "debit", pivot, retriable, uncertain, local,
        })
        .unwrap();
        assert!(args.compensate.unwrap().value.is_ident("undo"));
        let retry = args.retry.unwrap().value;
        assert_eq!(
            quote!(#retry).to_string(),
            quote!(Retry::times(3)).to_string()
        );
        assert!(args.compensation_retry.is_some());
        assert_eq!(args.name.unwrap().value.value(), "debit");
        for flag in [args.pivot, args.retriable, args.uncertain, args.local] {
            assert!(flag.is_some());
        }
    }

    #[test]
    fn no_options_is_the_default() {
        let args = parse(quote!()).unwrap();
        assert!(args.compensate.is_none() && args.pivot.is_none() && args.name.is_none());
    }

    #[test]
    fn a_duplicate_is_reported_at_both_keys() {
        let error = parse(quote!(name = "a", name = "b")).err().unwrap();
        assert_eq!(
            messages(&error),
            ["duplicate `name` option", "`name` first set here"]
        );
    }

    #[test]
    fn an_unknown_key_lists_the_keys_and_suggests_one() {
        const KEYS: &str = "expected `compensate`, `retry`, `compensation_retry`, `name`, `pivot`, `retriable`, `uncertain` or `local`";
        let error = parse(quote!(retries = 3)).err().unwrap();
        assert_eq!(
            messages(&error),
            [format!(
                "unknown `step` option `retries`; did you mean `retry`? ({KEYS})"
            )]
        );
        let error = parse(quote!(banana)).err().unwrap();
        assert_eq!(
            messages(&error),
            [format!("unknown `step` option `banana`; {KEYS}")]
        );
        let error = parse(quote!(a::b)).err().unwrap();
        assert_eq!(
            messages(&error),
            [format!("unknown `step` option `this`; {KEYS}")]
        );
    }

    #[test]
    fn a_flag_takes_no_value() {
        for (args, flag) in [(quote!(pivot = true), "pivot"), (quote!(local(x)), "local")] {
            let error = parse(args).err().unwrap();
            assert_eq!(
                messages(&error),
                [format!("`{flag}` takes no value: write `#[step({flag})]`")]
            );
        }
    }

    #[test]
    fn a_value_option_needs_its_value() {
        let error = parse(quote!(compensate)).err().unwrap();
        assert_eq!(messages(&error), ["expected `compensate = path::to::undo`"]);
        let error = parse(quote!(retry, name = "x")).err().unwrap();
        assert_eq!(messages(&error), ["expected `retry = Retry::times(3)`"]);
    }

    #[test]
    fn a_value_of_the_wrong_syntax_is_syn_s_error() {
        let error = parse(quote!(name = 3)).err().unwrap();
        assert_eq!(messages(&error), ["expected string literal"]);
    }
}
