//! The parsers of `tale-macros`, compiled as a library for the fuzz targets: a
//! proc-macro crate cannot export them, so the same source files are included here.

#![allow(missing_docs, dead_code, unreachable_pub)]

#[path = "../../tale-macros/src/diag.rs"]
mod diag;
#[path = "../../tale-macros/src/options.rs"]
mod options;
#[path = "../../tale-macros/src/paths.rs"]
mod paths;
#[path = "../../tale-macros/src/saga/mod.rs"]
mod saga;
#[path = "../../tale-macros/src/step/mod.rs"]
mod step;

use std::str::FromStr;

use proc_macro2::TokenStream;

/// The deepest nesting of delimiters rustc itself survives comfortably: at a few
/// thousand levels rustc overflows its own stack before any macro runs (checked on
/// rustc 1.95 with 8,000 nested parentheses), and so do proc-macro2 and syn, which parse
/// recursively. Deeper inputs cannot reach the macros; the targets skip them.
const MAX_DEPTH: usize = 1000;

/// The longest input the parser targets try. syn parses prefix chains such as `&&&...T`
/// recursively, and so does rustc: 3,550 `&` in a type overflow both stacks (checked on
/// rustc 1.95), while 3,000 pass both. Up to 2 KiB, no input can nest that deep.
const MAX_LEN: usize = 2048;

fn too_deep(input: &str) -> bool {
    if input.len() > MAX_LEN {
        return true;
    }
    let mut depth = 0usize;
    for c in input.chars() {
        match c {
            '(' | '[' | '{' | '<' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return true;
                }
            }
            ')' | ']' | '}' | '>' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// Expands `saga! { <input> }`, if `input` lexes as Rust tokens.
pub fn saga(input: &str) {
    if too_deep(input) {
        return;
    }
    if let Ok(tokens) = TokenStream::from_str(input) {
        let _ = saga::expand(tokens);
    }
}

/// Expands `#[step(<args>)] <item>`, if both lex as Rust tokens.
pub fn step(args: &str, item: &str) {
    if too_deep(args) || too_deep(item) {
        return;
    }
    if let (Ok(args), Ok(item)) = (TokenStream::from_str(args), TokenStream::from_str(item)) {
        let _ = step::expand(args, item);
    }
}
