//! The success path of a macro saga allocates nothing: a 10-step saga runs under a
//! counting global allocator and the count does not move.

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

#[test]
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
