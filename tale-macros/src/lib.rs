//! Procedural macros for `tale`. Use the `tale` crate instead: it re-exports
//! [`macro@step`] and [`saga!`] with their documentation.
#![warn(clippy::pedantic)]
// A two-armed `match` that builds a value in each arm reads better than `if let` /
// `else` here, where the arms are code generation of similar size.
#![allow(clippy::single_match_else)]

use proc_macro::TokenStream;

mod diag;
mod paths;
mod saga;
mod step;

#[doc = include_str!("../docs/step.md")]
#[proc_macro_attribute]
pub fn step(args: TokenStream, item: TokenStream) -> TokenStream {
    step::expand(args.into(), item.into()).into()
}

#[doc = include_str!("../docs/saga.md")]
#[proc_macro]
pub fn saga(input: TokenStream) -> TokenStream {
    saga::expand(input.into()).into()
}
