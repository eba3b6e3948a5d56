//! `saga!`: parse ([`parse`]), validate ([`validate`]), expand ([`expand`]).

mod ast;
mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use ast::SagaInput;

/// Expands `saga! { ... }`. Errors are wrapped in a block, so that the invocation is
/// still one expression (dtolnay/syn#1964).
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let result = syn::parse2::<SagaInput>(input).and_then(validate::validate);
    match result {
        Ok(saga) => expand::expand(&saga),
        Err(error) => {
            let errors = error.into_compile_error();
            quote::quote!({ #errors })
        }
    }
}
