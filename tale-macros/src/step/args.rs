//! Parse: the options of `#[step(...)]`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::parse::Parser as _;
use syn::{Expr, Ident, LitStr, Path, Token, Type};

use crate::diag::did_you_mean;
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
    /// `type = Name`: the struct the step function returns.
    pub(crate) type_name: Option<Spanned<Ident>>,
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
        Key::value("type", "type = StepName", |out, key, value| {
            key.set_once(&mut out.type_name, type_name(value)?)
        }),
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

/// The keys the unknown-option message lists: all but `type`, which came later and is
/// only suggested for a near miss, so that the message stays as it was.
fn listed(key: &str) -> bool {
    key != "type"
}

/// Parses one option of `#[step(...)]` into `out`.
fn parse_step_option(meta: &ParseNestedMeta<'_>, out: &mut StepArgs) -> syn::Result<()> {
    if let Some(ident) = meta.path.get_ident() {
        let key = ident.to_string();
        let keys: Vec<&str> = STEP.keys.iter().map(|k| k.name).collect();
        if !keys.contains(&key.as_str()) && did_you_mean(&key, &keys) == Some("type") {
            return Err(meta.error(format_args!(
                "unknown `step` option `{key}`; did you mean `type`? (`type = StepName` names the struct the step function returns)"
            )));
        }
    }
    STEP.parse(meta, out, listed)
}

/// The value of `type = ...`: the name of the struct to declare, a bare identifier.
/// A string, a path or generic arguments are an error at the value, whose hint keeps
/// the name the user meant.
fn type_name(input: ParseStream<'_>) -> syn::Result<Ident> {
    const TAKES: &str = "`type = ...` takes the name of the struct to declare";
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        let name = syn::parse_str::<Ident>(&lit.value())
            .map_or_else(|_| "StepName".to_owned(), |ident| ident.to_string());
        return Err(syn::Error::new(
            lit.span(),
            format_args!("{TAKES}, not a string: write `type = {name}`, without quotes"),
        ));
    }
    let span = input.span();
    let Ok(ty) = input.parse::<Type>() else {
        return Err(syn::Error::new(
            span,
            format_args!("{TAKES}, like `type = BookSeat`"),
        ));
    };
    let Type::Path(path) = &ty else {
        return Err(syn::Error::new_spanned(
            &ty,
            format_args!("{TAKES}, like `type = BookSeat`"),
        ));
    };
    let segments = &path.path.segments;
    // Invariant: syn parses a path of at least one segment.
    let last = segments.last().expect("a path has a segment");
    let name = &last.ident;
    if path.qself.is_some() || path.path.leading_colon.is_some() || segments.len() > 1 {
        return Err(syn::Error::new_spanned(
            &ty,
            format_args!(
                "{TAKES}, not a path: the struct is declared next to the step function; write `type = {name}`"
            ),
        ));
    }
    if !last.arguments.is_none() {
        return Err(syn::Error::new_spanned(
            &last.arguments,
            format_args!(
                "the struct of `type = ...` takes the step function's generic parameters, in order: write `type = {name}`, without them"
            ),
        ));
    }
    Ok(name.clone())
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
            name = "debit", pivot, retriable, uncertain, local, type = Debit,
        })
        .unwrap();
        assert_eq!(args.type_name.unwrap().value, "Debit");
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
