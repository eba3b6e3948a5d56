//! `saga!`: parse ([`parse`]), validate ([`validate`]), expand ([`expand`]).

mod ast;
mod expand;
mod group;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use ast::SagaInput;

/// Expands `saga! { ... }`. Errors are wrapped in a block, so that the invocation is
/// still one expression (dtolnay/syn#1964).
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let (result, is_item) = match syn::parse2::<SagaInput>(input) {
        Ok(input) => {
            let is_item = matches!(input.form, ast::Form::Item { .. });
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
