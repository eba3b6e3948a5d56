//! The success path of a macro saga allocates nothing: a 10-step saga (sync, then
//! async with a `join!`), and steps with a type of their own (`#[step(type = ...)]`),
//! run under a counting global allocator and the count does not move.
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

#[step(type = Add, compensate = undo)]
fn add_named(total: &u64, n: u64) -> Result<u64, Fail> {
    Ok(*total + n)
}

#[step(type = AddAsync, compensate = undo_async)]
async fn add_named_async(total: &u64, n: u64) -> Result<u64, Fail> {
    Ok(*total + n)
}

/// Named steps (`#[step(type = ...)]`): from a `Vec` (allocated before the region) run
/// one by one, then in a sync and an async saga.
fn named_steps(steps: Vec<Add<'_>>) -> u64 {
    let mut executor = tale::Executor::new();
    let mut total = 0;
    for step in steps {
        total += executor.run_step(step).unwrap();
    }
    let zero = 0;
    let sync = saga! {
        let a = add_named(&zero, 1);
        let b = add_named(&a, 2);
        let total = commit(&b);
        announce(&total);
        total
    };
    let saga = saga!(async {
        let a = add_named_async(&zero, 1);
        let (b, c) = join!(add_named_async(&a, 2), add_named(&a, 3));
        b + c
    });
    let mut saga = std::pin::pin!(saga);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let std::task::Poll::Ready(asynchronous) = saga.as_mut().poll(&mut cx) else {
        panic!("every step is ready at once")
    };
    total + sync.unwrap() + asynchronous.unwrap()
}

fn named_steps_allocate_nothing() {
    let numbers = [1, 2, 3];
    let warm = named_steps(numbers.iter().map(|n| add_named(n, 1)).collect());
    let steps: Vec<Add<'_>> = numbers.iter().map(|n| add_named(n, 1)).collect();
    let region = Region::new(GLOBAL);
    let total = named_steps(steps);
    let stats = region.change();
    assert_eq!(total, warm);
    // The `Vec`'s buffer is freed in the region: one deallocation, nothing allocated.
    assert_eq!(
        stats.allocations, 0,
        "named steps allocated on the success path: {stats:?}"
    );
    assert_eq!(stats.reallocations, 0, "{stats:?}");
}

#[test]
fn allocations() {
    a_ten_step_saga_allocates_nothing();
    a_ten_step_async_saga_with_a_join_allocates_nothing();
    a_failed_saga_allocates_only_its_error();
    named_steps_allocate_nothing();
}
