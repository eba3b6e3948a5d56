//! Procedural macros for `tale`. Use the `tale` crate instead: it re-exports
//! [`macro@step`] and [`saga!`] with their documentation.
#![warn(clippy::pedantic)]
// A two-armed `match` that builds a value in each arm reads better than `if let` /
// `else` here, where the arms are code generation of similar size.
#![allow(clippy::single_match_else)]
// The syntax trees hold syn nodes by value, and there are a few of them per macro call:
// boxing the larger variants would buy nothing.
#![allow(clippy::large_enum_variant)]

use proc_macro::TokenStream;

mod diag;
mod options;
mod paths;
mod saga;
mod step;
#[cfg(test)]
mod test_support;

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
