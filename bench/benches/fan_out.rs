//! Fan-outs of 1000 no-op steps against the same calls by hand: `join!(for ...)` against
//! `futures::future::join_all` on a current-thread tokio runtime, and `for` against a
//! loop.
//!
//! `cargo bench -p tale-bench --bench fan_out`; the last lines are the figures.

use std::hint::black_box;

use tale_bench::fan_out::{hand_concurrent, hand_in_order, saga_concurrent, saga_in_order};
use tale_bench::{Figures, criterion, current_thread_runtime, median_ns};

fn main() {
    let mut c = criterion();
    let mut figures = Figures::default();
    let runtime = current_thread_runtime();
    let x = 7;
    for n in [1000, 10] {
        let t_saga = median_ns(&mut c, &format!("join!(for) {n}"), || {
            let _ = black_box(runtime.block_on(saga_concurrent(black_box(&x), black_box(n))));
        });
        let t_hand = median_ns(&mut c, &format!("join_all {n}"), || {
            let _ = black_box(runtime.block_on(hand_concurrent(black_box(&x), black_box(n))));
        });
        figures.add(
            &format!("fan_out_concurrent_{n}_ratio_vs_join_all"),
            t_saga / t_hand,
        );
        let t_saga = median_ns(&mut c, &format!("for {n}"), || {
            let _ = black_box(saga_in_order(black_box(&x), black_box(n)));
        });
        let t_hand = median_ns(&mut c, &format!("loop {n}"), || {
            let _ = black_box(hand_in_order(black_box(&x), black_box(n)));
        });
        figures.add(
            &format!("fan_out_in_order_{n}_ratio_vs_loop"),
            t_saga / t_hand,
        );
    }
    c.final_summary();
    figures.print();
}
