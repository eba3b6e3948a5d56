//! The parsers of `tale-macros`, compiled as a library for the fuzz targets: a
//! proc-macro crate cannot export them, so the same source files are included here.

#![allow(missing_docs, dead_code, unreachable_pub)]

#[path = "../../tale-macros/src/diag.rs"]
mod diag;
#[path = "../../tale-macros/src/paths.rs"]
mod paths;
#[path = "../../tale-macros/src/saga/mod.rs"]
mod saga;
#[path = "../../tale-macros/src/step/mod.rs"]
mod step;

use std::str::FromStr;

use proc_macro2::TokenStream;

/// Expands `saga! { <input> }`, if `input` lexes as Rust tokens.
pub fn saga(input: &str) {
    if let Ok(tokens) = TokenStream::from_str(input) {
        let _ = saga::expand(tokens);
    }
}

/// Expands `#[step(<args>)] <item>`, if both lex as Rust tokens.
pub fn step(args: &str, item: &str) {
    if let (Ok(args), Ok(item)) = (TokenStream::from_str(args), TokenStream::from_str(item)) {
        let _ = step::expand(args, item);
    }
}
