//! `saga!`: parse ([`parse`], [`options`]) into [`ast`], validate ([`validate`])
//! into [`model`], expand ([`expand`](mod@expand), with [`group`], [`item`],
//! [`value`] and [`names`]).

mod ast;
mod expand;
mod fan_out;
mod fingerprint;
mod group;
mod item;
mod model;
mod names;
mod options;
mod parse;
mod validate;
mod value;

use proc_macro2::TokenStream;

use ast::SagaInput;

/// Expands `saga! { ... }`. Errors are wrapped in a block, so that the invocation is
/// still one expression (dtolnay/syn#1964).
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let (result, is_item) = match syn::parse2::<SagaInput>(input) {
        Ok(input) => {
            let is_item = matches!(input.form, ast::Form::Item(_));
            (validate::validate(input), is_item)
        }
        Err(error) => (Err(error), false),
    };
    match result {
        Ok(saga) => expand::expand(&saga),
        // In item position the errors are items themselves.
        Err(error) if is_item => error.into_compile_error(),
        Err(error) => {
            let errors = error.into_compile_error();
            quote::quote!({ #errors })
        }
    }
}

#[cfg(test)]
mod tests {
    use expect_test::expect_file;
    use quote::quote;

    use crate::test_support::pretty_expr;

    #[test]
    fn a_sync_saga_expands_to_a_ladder() {
        let expansion = super::expand(quote! {
            #![saga(name = "trip")]
            let seat = reserve(&seats);
            let _ = step(|| charge(&seat), |payment| refund(payment)).retry(Retry::times(2));
            seat
        });
        expect_file!["../../tests/snapshots/saga_sync.rs"].assert_eq(&pretty_expr(&expansion));
    }

    #[test]
    fn an_async_saga_runs_a_join_concurrently() {
        let expansion = super::expand(quote!(
            async move {
                #![saga(fail_fast)]
                let order = place(&cart);
                let (flight, hotel) = join!(book_flight(&order), book_hotel(&order).timeout(limit));
                confirm(&flight, &hotel);
                (flight, hotel)
            }
        ));
        expect_file!["../../tests/snapshots/saga_async_join.rs"]
            .assert_eq(&pretty_expr(&expansion));
    }

    #[test]
    fn a_fan_out_runs_a_step_per_item_and_shifts_the_steps_after_it() {
        let expansion = super::expand(quote!(async {
            let order = place(&cart);
            let seats = for passenger in &order.passengers {
                book_seat(&order, passenger)
            };
            let held = join!(
                for seat in &seats {
                    hold(seat)
                },
                max_concurrent = 8
            );
            confirm(&seats, &held)
        }));
        expect_file!["../../tests/snapshots/saga_fan_out.rs"].assert_eq(&pretty_expr(&expansion));
    }

    #[test]
    fn only_a_durable_saga_reaches_for_the_journal() {
        let plain = super::expand(quote! {
            fn book(seats: &u32) -> Result<u32, SagaError<E>> { let a = reserve(seats); a }
        })
        .to_string();
        assert!(
            !plain.contains("Durable") && !plain.contains("Store"),
            "{plain}"
        );
        let durable = super::expand(quote! {
            #![saga(durable)]
            fn book(seats: &u32, env: &Env) -> Result<u32, DurableError<E>> { let a = reserve(seats); a }
        })
        .to_string();
        assert!(
            durable.contains("DurableRun :: start_versioned"),
            "{durable}"
        );
        assert!(
            durable.contains("store : & dyn :: tale :: __private :: Store"),
            "{durable}"
        );
        assert!(!durable.contains("compile_error"), "{durable}");
    }

    #[test]
    fn every_problem_of_a_durable_signature_is_reported() {
        let errors = super::expand(quote! {
            #![saga(durable, executor = Executor::new())]
            async fn book(seats: &u32) -> Result<u32, SagaError<E>> { let a = reserve(seats); a }
        })
        .to_string();
        for message in [
            "returns `Result<T, tale::journal::DurableError<E>>`: change",
            "takes exactly two inputs",
        ] {
            assert!(errors.contains(message), "{message}: {errors}");
        }
        assert_eq!(errors.matches("compile_error").count(), 2, "{errors}");
    }

    #[test]
    fn a_durable_async_saga_runs_on_an_async_store() {
        let durable = super::expand(quote! {
            #![saga(durable, deadline = secs(5))]
            async fn book(seats: &u32, env: &Env) -> Result<u32, DurableError<E>> {
                let a = reserve(seats);
                a
            }
        })
        .to_string();
        assert!(durable.contains("DurableAsyncRun :: start"), "{durable}");
        assert!(
            durable.contains("store : & dyn :: tale :: __private :: AsyncStore"),
            "{durable}"
        );
        assert!(durable.contains(". deadline ("), "{durable}");
        assert!(
            durable.contains("finish (:: core :: result :: Result :: Ok (a)) . await"),
            "{durable}"
        );
    }
}
