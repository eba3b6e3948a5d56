//! Both macros expand under `#![no_implicit_prelude]`: every path they generate is
//! fully qualified.
#![no_implicit_prelude]

extern crate std;

use ::std::assert_eq;
use ::std::result::Result;
use ::tale::{saga, step};

/// The steps' error.
#[derive(Debug)]
pub struct Fail;

#[step(compensate = undo, retry = ::tale::Retry::times(1))]
fn reserve(n: &u32, extra: u32) -> Result<u32, Fail> {
    Result::Ok(*n + extra)
}

fn undo(_n: &u32, _extra: u32, _out: &u32) -> Result<(), Fail> {
    Result::Ok(())
}

#[step]
async fn fetch(n: &u32) -> Result<u32, Fail> {
    Result::Ok(*n)
}

#[step(type = Reserved, compensate = undo, retry = ::tale::Retry::times(1))]
fn reserved(n: &u32, extra: u32) -> Result<u32, Fail> {
    Result::Ok(*n + extra)
}

#[step(type = Fetched, compensate = unfetch, uncertain)]
async fn fetched(n: &u32) -> Result<u32, Fail> {
    Result::Ok(*n)
}

async fn unfetch(_n: &u32, _out: ::std::option::Option<&u32>) -> Result<(), Fail> {
    Result::Ok(())
}

#[step(type = Local, local)]
async fn local(n: &u32) -> Result<u32, Fail> {
    Result::Ok(*n)
}

saga! {
    /// The item form.
    pub fn twice(n: &u32) -> Result<u32, ::tale::SagaError<Fail>> {
        let a = reserve(n, 1);
        let b = reserve(&a, 1);
        b
    }
}

#[test]
fn both_macros_expand_without_the_prelude() {
    let n = 1;
    let result = saga! {
        let a = reserve(&n, 1);
        let (b, c) = join!(reserve(&a, 0), step(|| Result::Ok::<u32, Fail>(3)));
        a + b + c
    };
    assert_eq!(result.ok(), ::std::option::Option::Some(7));
    let mut executor = ::tale::Executor::new();
    assert_eq!(
        twice(&mut executor, &n).ok(),
        ::std::option::Option::Some(3)
    );
    let future = saga!(async {
        let x = fetch(&n);
        x
    });
    ::std::mem::drop(future);
}

#[test]
fn named_steps_expand_without_the_prelude() {
    let n = 1;
    let step: Reserved<'_> = reserved(&n, 1);
    let result = saga! {
        let a = step;
        let b = reserved(&a, 1);
        b
    };
    assert_eq!(result.ok(), ::std::option::Option::Some(3));
    let future = saga!(async {
        let x = fetched(&n);
        let y = local(&x);
        y
    });
    ::std::mem::drop(future);
    let _: (Fetched<'_>, Local<'_>) = (fetched(&n), local(&n));
}
