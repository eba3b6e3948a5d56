//! `#[step]`: parse ([`args`]), validate ([`validate`], with [`type_name`] for
//! `type = Name`), expand ([`expand`](mod@expand), or [`named`] for a step with
//! `type = Name`: a struct of its own).

mod args;
mod call;
mod expand;
mod lifetimes;
mod named;
mod send;
mod stub;
mod type_name;
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

    #[test]
    fn a_step_with_a_type_expands_to_a_struct_and_its_impls() {
        let expansion = super::expand(
            quote!(type = BookSeat, compensate = cancel, retry = Retry::times(3)),
            quote! {
                /// Books a seat.
                pub fn book_seat(flight: &Flight, passenger: &Passenger) -> Result<Seat, E> {
                    airline::book(flight, passenger)
                }
            },
        );
        expect_file!["../../tests/snapshots/step_named.rs"].assert_eq(&pretty_items(&expansion));
    }

    #[test]
    fn an_async_step_with_a_type_implements_async_step_with_send_helpers() {
        let expansion = super::expand(
            quote!(type = Pick, compensate = put_back, uncertain),
            quote! {
                async fn pick<T: Sync>(items: &[T], at: usize) -> Result<usize, E> {
                    store::pick(items, at).await
                }
            },
        );
        expect_file!["../../tests/snapshots/step_named_async.rs"]
            .assert_eq(&pretty_items(&expansion));
    }

    #[test]
    fn references_share_a_lifetime_and_other_elided_lifetimes_have_their_own() {
        let expansion = super::expand(
            quote!(type = Push),
            quote! {
                fn push<'x, T>(names: &mut Vec<&str>, name: &str, held: Held<'_>, t: &'x T) -> Result<(), E> { todo!() }
            },
        );
        let text = expansion.to_string();
        assert!(
            text.contains("struct Push < 'a , 'b , 'c , 'x , T >"),
            "{text}"
        );
        assert!(
            text.contains(
                "__tale_args : (& 'a mut Vec < & 'b str > , & 'a str , Held < 'c > , & 'x T ,)"
            ),
            "{text}"
        );
    }

    #[test]
    fn the_errors_of_type_are_on_its_tokens() {
        for (args, item, message) in [
            (
                quote!(type = book_seat),
                quote! { fn book_seat() -> Result<(), E> { todo!() } },
                "`type = book_seat` is the name of the step function itself: name its struct in `UpperCamelCase`, `type = BookSeat`",
            ),
            (
                quote!(type = T),
                quote! { fn pick<T>(x: T) -> Result<(), E> { todo!() } },
                "`type = T` is the name of a type parameter of `pick`, which the struct takes too: name the struct otherwise, `type = Pick`",
            ),
            (
                quote!(type = Self),
                quote! { fn pick() -> Result<(), E> { todo!() } },
                "`type = Self` cannot name a struct: name the step's struct yourself, `type = Pick`",
            ),
            (
                quote!(type = Debit),
                quote! { fn debit(&mut self) -> Result<(), E> { todo!() } },
                "`type = ...` declares a struct next to the step function, and an `impl` block cannot hold a struct",
            ),
            (
                quote!(type = Show),
                quote! { fn show(x: impl Display) -> Result<(), E> { todo!() } },
                "a step with `type = ...` keeps its arguments in a struct, which cannot hold an `impl Trait` argument",
            ),
            (
                quote!(type = Show),
                quote! { fn show() -> Result<impl Display, E> { todo!() } },
                "a step with `type = ...` names its output in the struct's `Step` impl",
            ),
            (
                quote!(type = "BookSeat"),
                quote! { fn book_seat() -> Result<(), E> { todo!() } },
                "`type = ...` takes the name of the struct to declare, not a string: write `type = BookSeat`, without quotes",
            ),
            (
                quote!(type = steps::BookSeat),
                quote! { fn book_seat() -> Result<(), E> { todo!() } },
                "`type = ...` takes the name of the struct to declare, not a path: the struct is declared next to the step function; write `type = BookSeat`",
            ),
            (
                quote!(type = BookSeat<'a>),
                quote! { fn book_seat() -> Result<(), E> { todo!() } },
                "the struct of `type = ...` takes the step function's generic parameters, in order: write `type = BookSeat`, without them",
            ),
            (
                quote!(type = &BookSeat),
                quote! { fn book_seat() -> Result<(), E> { todo!() } },
                "`type = ...` takes the name of the struct to declare, like `type = BookSeat`",
            ),
            (
                quote!(typ = BookSeat),
                quote! { fn book_seat() -> Result<(), E> { todo!() } },
                "unknown `step` option `typ`; did you mean `type`? (`type = StepName` names the struct the step function returns)",
            ),
        ] {
            let errors = errors(&super::expand(args.clone(), item));
            assert_eq!(errors.len(), 1, "{args}: {errors:?}");
            assert!(errors[0].starts_with(message), "{args}: {errors:?}");
        }
    }

    #[test]
    fn without_type_a_step_declares_no_names() {
        let expansion = super::expand(
            quote!(),
            quote!(
                fn reserve() -> Result<(), E> {
                    todo!()
                }
            ),
        );
        let file: syn::File = syn::parse2(expansion).unwrap();
        assert_eq!(file.items.len(), 1);
        assert!(matches!(file.items[0], syn::Item::Fn(_)));
    }
}
