use std::str::FromStr;

use tale::{saga, step};

#[derive(Debug)]
pub struct ParseError;

#[step]
fn parse<T: FromStr>(text: &str) -> Result<T, ParseError> {
    text.parse().map_err(|_| ParseError)
}

// Nothing says what `parse` should produce: annotate `count`, or call `parse::<u32>`.
fn main() {
    let _ = saga! {
        let count = parse("5");
        count
    };
}

// The same in an async saga (a body of its own: rustc reports one such error per body).
pub fn in_async() {
    let _ = saga!(async {
        let count = parse("5");
        count
    });
}
