//! What the unit tests share: reading errors, pretty-printing expansions.

use proc_macro2::TokenStream;
use quote::quote;

/// The messages of `error`, one per combined error, in order.
pub(crate) fn messages(error: &syn::Error) -> Vec<String> {
    error.clone().into_iter().map(|e| e.to_string()).collect()
}

/// `items` (an expansion in item position) pretty-printed.
pub(crate) fn pretty_items(items: &TokenStream) -> String {
    let file = syn::parse2(items.clone()).unwrap_or_else(|error| panic!("not items: {error}"));
    prettyplease::unparse(&file)
}

/// `expr` (an expansion in expression position) pretty-printed, as the body of a
/// function `expansion`.
pub(crate) fn pretty_expr(expr: &TokenStream) -> String {
    pretty_items(&quote!(fn expansion() { #expr }))
}
