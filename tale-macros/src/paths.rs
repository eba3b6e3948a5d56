//! The single place that spells the runtime's path.

use proc_macro2::TokenStream;
use quote::quote;

/// `::tale::__private`, the only runtime path generated code uses (with `::core`).
pub(crate) fn private() -> TokenStream {
    quote!(::tale::__private)
}

/// `::tale::__private` with every token at `span`, for paths inside expressions whose
/// errors must point at the user's tokens: a path of another span or hygiene widens
/// the error's span to the whole macro invocation.
pub(crate) fn private_at(span: proc_macro2::Span) -> TokenStream {
    quote::quote_spanned!(span=> ::tale::__private)
}
