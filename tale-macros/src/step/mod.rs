//! `#[step]`: parse ([`args`]), validate ([`validate`]), expand ([`expand`](mod@expand)).

mod args;
mod call;
mod expand;
mod lifetimes;
mod send;
mod validate;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// Expands `#[step(args)] item`. On error, emits the errors and the function as
/// written, so that its callers and the IDE keep working.
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
            out.extend(function.into_token_stream());
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect_file;
    use quote::quote;

    use crate::test_support::pretty_items;

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
