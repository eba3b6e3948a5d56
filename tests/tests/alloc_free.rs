//! The success path of a macro saga allocates nothing: a 10-step saga (sync, then
//! async with a `join!`) runs under a counting global allocator and the count does not
//! move.
//!
//! The allocator's counts are global, so the checks run one after the other in one
//! test: a test running beside them on another thread (or the harness reporting one)
//! would allocate inside their regions.

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tale::{saga, step};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The steps' error.
#[derive(Debug)]
pub struct Fail;

#[step(compensate = undo)]
fn add(total: &u64, n: u64) -> Result<u64, Fail> {
    Ok(*total + n)
}

fn undo(_total: &u64, _n: u64, _sum: &u64) -> Result<(), Fail> {
    Ok(())
}

#[step(pivot)]
fn commit(sum: &u64) -> Result<u64, Fail> {
    Ok(*sum)
}

#[step(retriable)]
fn announce(_sum: &u64) -> Result<(), Fail> {
    Ok(())
}

fn ten_steps() -> u64 {
    let zero = 0;
    let result = saga! {
        let a = add(&zero, 1);
        let b = add(&a, 2);
        let c = add(&b, 3);
        let (d, e) = join!(add(&c, 4), add(&c, 5));
        let f = add(&d, 6);
        let g = step(|| Ok::<u64, Fail>(e + f));
        let h = add(&g, 7);
        let total = commit(&h);
        announce(&total);
        total
    };
    result.unwrap()
}

fn a_ten_step_saga_allocates_nothing() {
    let warm = ten_steps();
    let region = Region::new(GLOBAL);
    let total = ten_steps();
    let stats = region.change();
    assert_eq!(total, warm);
    assert_eq!(
        stats.allocations, 0,
        "the success path allocated: {stats:?}"
    );
    assert_eq!(
        stats.reallocations, 0,
        "the success path reallocated: {stats:?}"
    );
}

#[step(compensate = undo_async)]
async fn add_async(total: &u64, n: u64) -> Result<u64, Fail> {
    Ok(*total + n)
}

async fn undo_async(_total: &u64, _n: u64, _sum: &u64) -> Result<(), Fail> {
    Ok(())
}

/// The async saga, polled once on a no-op waker: every step is ready at once.
fn ten_async_steps() -> u64 {
    let zero = 0;
    let saga = saga!(async {
        let a = add_async(&zero, 1);
        let b = add_async(&a, 2);
        let (c, d, e) = join!(add_async(&b, 3), add_async(&b, 4), add_async(&b, 5));
        let f = add_async(&c, 6);
        let g = add(&f, 7);
        let h = add_async(&g, 8);
        let total = commit(&h);
        announce(&total);
        total + d + e
    });
    let mut saga = std::pin::pin!(saga);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match saga.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => result.unwrap(),
        std::task::Poll::Pending => panic!("every step is ready at once"),
    }
}

fn a_ten_step_async_saga_with_a_join_allocates_nothing() {
    let warm = ten_async_steps();
    let region = Region::new(GLOBAL);
    let total = ten_async_steps();
    let stats = region.change();
    assert_eq!(total, warm);
    assert_eq!(
        stats.allocations, 0,
        "the async success path allocated: {stats:?}"
    );
}

#[step(compensate = undo_either)]
fn either(total: &u64, fail: bool) -> Result<u64, Fail> {
    if fail { Err(Fail) } else { Ok(*total + 1) }
}

fn undo_either(_total: &u64, _fail: bool, _sum: &u64) -> Result<(), Fail> {
    Ok(())
}

/// Three steps, the last failing: the first two are compensated.
fn failing_saga() -> bool {
    let zero = 0;
    let result = saga! {
        let a = either(&zero, false);
        let b = either(&a, false);
        either(&b, true);
    };
    matches!(result, Err(tale::SagaError::Compensated { .. }))
}

fn a_failed_saga_allocates_only_its_error() {
    assert!(failing_saga());
    let region = Region::new(GLOBAL);
    assert!(failing_saga());
    let stats = region.change();
    assert_eq!(
        stats.allocations, 1,
        "one box for the failure; the step's name is borrowed: {stats:?}"
    );
}

#[test]
fn allocations() {
    a_ten_step_saga_allocates_nothing();
    a_ten_step_async_saga_with_a_join_allocates_nothing();
    a_failed_saga_allocates_only_its_error();
}
