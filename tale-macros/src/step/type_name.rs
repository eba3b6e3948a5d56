//! Validate: the rules of `type = Name`, the struct that a step function returns in
//! place of an `impl Step`, declared next to the function.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{FnArg, GenericParam, Ident, ItemFn, ReturnType};

use super::validate::mentions_self;
use crate::diag::Diag;
use crate::options::Spanned;

/// Checks `type = name` against the function it is on; each problem is an error at
/// the user's token, with a name that works in the hint.
pub(super) fn validate(name: &Spanned<Ident>, item: &ItemFn, diag: &mut Diag) {
    let sig = &item.sig;
    let fn_name = unraw(&sig.ident);
    let given = unraw(&name.value);
    let suggested = suggestion(&fn_name);
    if ["Self", "self", "super", "crate"].contains(&given.as_str()) {
        diag.error(
            name.value.span(),
            format_args!(
                "`type = {given}` cannot name a struct: name the step's struct yourself, `type = {suggested}`"
            ),
        );
    } else if given == fn_name {
        diag.error(
            name.value.span(),
            format_args!(
                "`type = {given}` is the name of the step function itself: name its struct in `UpperCamelCase`, `type = {suggested}`"
            ),
        );
    } else if let Some(param) = sig.generics.params.iter().find(|p| match p {
        GenericParam::Type(t) => unraw(&t.ident) == given,
        GenericParam::Const(c) => unraw(&c.ident) == given,
        GenericParam::Lifetime(_) => false,
    }) {
        let kind = match param {
            GenericParam::Const(_) => "const",
            _ => "type",
        };
        diag.error(
            name.value.span(),
            format_args!(
                "`type = {given}` is the name of a {kind} parameter of `{fn_name}`, which the struct takes too: name the struct otherwise, `type = {suggested}`"
            ),
        );
    }
    if sig.receiver().is_some() || mentions_self(item) {
        diag.error(
            name.key,
            "`type = ...` declares a struct next to the step function, and an `impl` block cannot hold a struct: make the step a free function outside the `impl` block (taking, say, `bank: &mut Bank` where it took `&mut self`), or remove `type = ...`",
        );
        return;
    }
    for input in &sig.inputs {
        if let FnArg::Typed(typed) = input
            && let Some(span) = impl_token(typed.ty.to_token_stream())
        {
            diag.error(
                span,
                "a step with `type = ...` keeps its arguments in a struct, which cannot hold an `impl Trait` argument: declare a type parameter instead, `fn f<T: Trait>(arg: T)`",
            );
        }
    }
    if let ReturnType::Type(_, ty) = &sig.output
        && let Some(span) = impl_token(ty.to_token_stream())
    {
        diag.error(
            span,
            "a step with `type = ...` names its output in the struct's `Step` impl, where an `impl Trait` cannot be named: return a concrete type",
        );
    }
}

/// The name without its `r#`.
fn unraw(ident: &Ident) -> String {
    let name = ident.to_string();
    name.strip_prefix("r#").map_or(name.clone(), str::to_owned)
}

/// A name for the struct of `fn_name`: `book_seat` gives `BookSeat`.
fn suggestion(fn_name: &str) -> String {
    let camel: String = fn_name
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect();
    if camel.is_empty() {
        "StepName".to_owned()
    } else if camel == fn_name {
        format!("{camel}Step")
    } else {
        camel
    }
}

/// The span of the first `impl` in a type (of `impl Trait`), if any.
pub(super) fn impl_token(tokens: TokenStream) -> Option<Span> {
    tokens.into_iter().find_map(|tree| match tree {
        TokenTree::Ident(ident) if ident == "impl" => Some(ident.span()),
        TokenTree::Group(group) => impl_token(group.stream()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::suggestion;

    #[test]
    fn suggests_the_function_name_in_upper_camel_case() {
        assert_eq!(suggestion("book_seat"), "BookSeat");
        assert_eq!(suggestion("reserve"), "Reserve");
        assert_eq!(suggestion("_private_step"), "PrivateStep");
        assert_eq!(suggestion("Reserve"), "ReserveStep");
        assert_eq!(suggestion("_"), "StepName");
    }
}
