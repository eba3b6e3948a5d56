//! What a fan-out allocates on its success path: a fixed number of buffers, whatever
//! its count of items: the items' steps and their outputs (the `Vec` the saga binds), and
//! for a concurrent fan-out its results and the lanes its futures run in (one box, for
//! items that are ready when first polled). Counted under a counting global allocator;
//! the checks run one after the other in one test, as in `alloc_free.rs`.

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

#[step(compensate = undo_async)]
async fn add_async(total: &u64, n: u64) -> Result<u64, Fail> {
    Ok(*total + n)
}

async fn undo_async(_total: &u64, _n: u64, _sum: &u64) -> Result<(), Fail> {
    Ok(())
}

fn in_order(n: u64) -> u64 {
    let zero = 0;
    let result = saga! {
        let base = add(&zero, 1);
        let sums = for i in 0..n { add(&base, i) };
        sums.iter().sum::<u64>()
    };
    result.unwrap()
}

fn ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("every step is ready at once"),
    }
}

fn concurrent(n: u64) -> u64 {
    let zero = 0;
    ready(saga!(async {
        let base = add_async(&zero, 1);
        let sums = join!(for i in 0..n {
            add_async(&base, i)
        });
        let again = for i in 0..n {
            add_async(&base, i)
        };
        sums.iter().sum::<u64>() + again.len() as u64
    }))
    .unwrap()
}

/// The allocations of `run(n)`.
fn allocations(run: fn(u64) -> u64, n: u64) -> usize {
    run(n);
    let region = Region::new(GLOBAL);
    run(n);
    let stats = region.change();
    assert_eq!(stats.reallocations, 0, "{stats:?}");
    stats.allocations
}

#[test]
fn a_fan_out_allocates_its_buffers_whatever_its_count() {
    // The steps and the outputs.
    assert_eq!(allocations(in_order, 10), 2);
    assert_eq!(allocations(in_order, 1000), 2);
    assert_eq!(
        allocations(in_order, 0),
        0,
        "an empty fan-out allocates nothing"
    );
    // Concurrently: the steps, the results, the lanes, one lane's box, the free lanes,
    // the outputs; then an async fan-out in order: its steps and outputs.
    assert_eq!(allocations(concurrent, 10), 8);
    assert_eq!(allocations(concurrent, 1000), 8);
}
