//! The single place that spells the runtime's path.

use proc_macro2::TokenStream;
use quote::quote;

/// `::tale::__private`, the only runtime path generated code uses (with `::core`).
pub(crate) fn private() -> TokenStream {
    quote!(::tale::__private)
}
