//! Async sagas on a current-thread tokio runtime against hand-written async calls: every
//! step succeeding, and the last one failing (every other step compensated, against the
//! hand-written compensation ladder).
//!
//! `cargo bench -p tale-bench --bench async`; the last lines are the figures.

use std::hint::black_box;

use tale_bench::{
    Figures, async_hand_10, async_hand_100, async_hand_fallible_10, async_hand_fallible_100,
    async_saga_10, async_saga_100, async_saga_fallible_10, async_saga_fallible_100, criterion,
    current_thread_runtime, median_ns,
};

fn main() {
    let mut c = criterion();
    let mut figures = Figures::default();
    let runtime = current_thread_runtime();
    let x = 7;
    let t_saga = median_ns(&mut c, "async saga! 10", || {
        let _ = black_box(runtime.block_on(async_saga_10(black_box(&x))));
    });
    let t_hand = median_ns(&mut c, "async hand 10", || {
        let _ = black_box(runtime.block_on(async_hand_10(black_box(&x))));
    });
    figures.add("async_10_ratio_vs_hand", t_saga / t_hand);
    let t_saga = median_ns(&mut c, "async saga! 100", || {
        let _ = black_box(runtime.block_on(async_saga_100(black_box(&x))));
    });
    let t_hand = median_ns(&mut c, "async hand 100", || {
        let _ = black_box(runtime.block_on(async_hand_100(black_box(&x))));
    });
    figures.add("async_100_ratio_vs_hand", t_saga / t_hand);
    let fail = true;
    let t_saga = median_ns(&mut c, "async saga! 10, last step fails", || {
        let _ = black_box(runtime.block_on(async_saga_fallible_10(black_box(&x), black_box(fail))));
    });
    let t_hand = median_ns(&mut c, "async hand 10, last step fails", || {
        let _ = black_box(runtime.block_on(async_hand_fallible_10(black_box(&x), black_box(fail))));
    });
    figures.add("async_compensated_10_ratio_vs_hand", t_saga / t_hand);
    let t_saga = median_ns(&mut c, "async saga! 100, last step fails", || {
        let _ =
            black_box(runtime.block_on(async_saga_fallible_100(black_box(&x), black_box(fail))));
    });
    let t_hand = median_ns(&mut c, "async hand 100, last step fails", || {
        let _ =
            black_box(runtime.block_on(async_hand_fallible_100(black_box(&x), black_box(fail))));
    });
    figures.add("async_compensated_100_ratio_vs_hand", t_saga / t_hand);
    c.final_summary();
    figures.print();
}
