//! User items named like the runtime's (`Step`, `Result`, `Ok`, `Saga`, `core`, ...)
//! next to the macros do not change what the expansions mean.
#![allow(
    dead_code,
    non_camel_case_types,
    non_snake_case,
    clippy::upper_case_acronyms
)]

use tale::{saga, step};

struct Step;
struct Saga;
struct Context;
struct Executor;
struct Execution;
struct Option;
enum Result {
    Ok,
    Err,
}
fn Ok() {}
fn Err() {}
fn Some() {}
mod core {}
mod tale_private {}
mod std {}

/// The steps' error.
#[derive(Debug)]
pub struct Fail;

#[step(compensate = undo)]
fn reserve(n: &u32) -> ::core::result::Result<u32, Fail> {
    ::core::result::Result::Ok(*n)
}

fn undo(_n: &u32, _out: &u32) -> ::core::result::Result<(), Fail> {
    ::core::result::Result::Ok(())
}

#[step(type = Reserved, compensate = undo, retry = tale::Retry::times(1))]
fn reserved(n: &u32) -> ::core::result::Result<u32, Fail> {
    ::core::result::Result::Ok(*n)
}

#[step(type = Fetched)]
async fn fetched<T: Sync>(n: &T) -> ::core::result::Result<u32, Fail> {
    let _ = n;
    ::core::result::Result::Ok(1)
}

#[test]
fn the_macros_ignore_user_names() {
    let n = 2;
    let __run = 1;
    let __exec = 2;
    let result = saga! {
        let a = reserve(&n);
        let b = reserve(&a);
        a + b + __run + __exec
    };
    assert!(matches!(result, ::core::result::Result::Ok(7)));
}

#[test]
fn named_steps_ignore_user_names() {
    let n = 2;
    let __a = 3;
    let __tale_args = 4;
    let result = saga! {
        let a = reserved(&n);
        let b = reserved(&a);
        a + b + __a + __tale_args
    };
    assert!(matches!(result, ::core::result::Result::Ok(11)));
    let _: Fetched<'_, u32> = fetched(&n);
}
