//! `#[step]`: parse ([`args`]), validate ([`validate`]), expand ([`expand`](mod@expand)).

mod args;
mod call;
mod expand;
mod lifetimes;
mod send;
mod stub;
mod validate;

use proc_macro2::TokenStream;

/// Expands `#[step(args)] item`. On error, emits the errors and a stub of the step
/// function that keeps the function as written inside it (see [`stub`](mod@stub)), so
/// that its callers raise no further errors and the IDE keeps working.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let Ok(function) = syn::parse2::<syn::ItemFn>(item.clone()) else {
        let error = syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[step]` goes on a function: `#[step] fn reserve(...) -> Result<T, E>`",
        );
        let mut out = error.into_compile_error();
        out.extend(item);
        return out;
    };
    let result =
        args::parse(args).and_then(|options| validate::validate(options, function.clone()));
    match result {
        Ok(step) => expand::expand(&step),
        Err(error) => {
            let mut out = error.into_compile_error();
            out.extend(stub::stub(&function));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect_file;
    use quote::quote;

    use crate::test_support::pretty_items;

    /// The `compile_error!` messages of an expansion, in order.
    fn errors(expansion: &proc_macro2::TokenStream) -> Vec<String> {
        let file: syn::File = syn::parse2(expansion.clone()).unwrap();
        file.items
            .iter()
            .filter_map(|item| match item {
                syn::Item::Macro(m)
                    if m.mac.path.segments.last().unwrap().ident == "compile_error" =>
                {
                    Some(m.mac.parse_body::<syn::LitStr>().unwrap().value())
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn on_error_the_function_becomes_a_stub_that_keeps_it() {
        let expansion = super::expand(
            quote!(compensat = refund),
            quote! {
                async fn debit(order: &Order) -> Result<Payment, E> { bank::debit(order) }
            },
        );
        assert_eq!(errors(&expansion).len(), 1);
        let text = expansion.to_string();
        assert!(
            text.contains("fn debit (order : & Order) -> :: tale :: __private :: Unexpanded <"),
            "{text}"
        );
        assert!(
            text.contains("async fn __tale_body (order : & Order) -> Result < Payment , E >"),
            "{text}"
        );
    }

    #[test]
    fn a_return_type_that_is_not_a_result_is_one_error() {
        for (ty, written) in [
            (quote!(u32), "u32"),
            (quote!(Option<u32>), "Option<u32>"),
            (quote!(&'a str), "&'a str"),
        ] {
            let expansion = super::expand(quote!(), quote!(fn count() -> #ty { todo!() }));
            let errors = errors(&expansion);
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert!(errors[0].starts_with(&format!("a `#[step]` function returns `Result<Output, Error>`, not `{written}`: return `Result<{written}, E>`")), "{errors:?}");
            // The stub's error type is left to the saga.
            assert!(
                expansion.to_string().contains("Unexpanded < "),
                "{expansion}"
            );
        }
        for ty in [
            quote!(Result<u32, E>),
            quote!(io::Result<u32>),
            quote!(MyResult),
            quote!(Self::Result),
        ] {
            let expansion = super::expand(quote!(), quote!(fn count() -> #ty { todo!() }));
            assert!(errors(&expansion).is_empty(), "{ty}");
        }
    }

    #[test]
    fn a_compensation_named_like_a_type_is_not_a_function() {
        let expansion = super::expand(
            quote!(compensate = undo::Refund),
            quote!(
                fn debit() -> Result<u32, E> {
                    todo!()
                }
            ),
        );
        let errors = errors(&expansion);
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].starts_with(
                "`compensate = ...` takes a function, and `Refund` is the name of a type"
            ),
            "{errors:?}"
        );
        for path in [quote!(UNDO), quote!(Refund::undo), quote!(refund)] {
            let expansion = super::expand(
                quote!(compensate = #path),
                quote!(
                    fn debit() -> Result<u32, E> {
                        todo!()
                    }
                ),
            );
            assert!(super::tests::errors(&expansion).is_empty(), "{path}");
        }
    }

    #[test]
    fn a_step_with_a_compensation_expands_to_a_step_value() {
        let expansion = super::expand(
            quote!(compensate = refund, retry = Retry::times(3)),
            quote! {
                /// Debits the order.
                pub fn debit(order: &Order, amount: u64) -> Result<Payment, E> {
                    bank::debit(order.account, amount)
                }
            },
        );
        expect_file!["../../tests/snapshots/step_compensate.rs"]
            .assert_eq(&pretty_items(&expansion));
    }
}
