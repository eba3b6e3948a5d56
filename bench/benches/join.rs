//! A `join!` of 1000 async no-op branches against `futures::future::join_all` of the
//! same futures, on a current-thread tokio runtime.
//!
//! `cargo bench -p tale-bench --features join-1000 --bench join`; the last line is the
//! figure.

use std::hint::black_box;

use tale_bench::join::{join_hand_1000, join_saga_1000};
use tale_bench::{Figures, criterion, current_thread_runtime, median_ns};

fn main() {
    let mut c = criterion();
    let mut figures = Figures::default();
    let runtime = current_thread_runtime();
    let x = 7;
    let t_saga = median_ns(&mut c, "join! 1000", || {
        let _ = black_box(runtime.block_on(join_saga_1000(black_box(&x))));
    });
    let t_hand = median_ns(&mut c, "join_all 1000", || {
        let _ = black_box(runtime.block_on(join_hand_1000(black_box(&x))));
    });
    figures.add("join_1000_ratio_vs_join_all", t_saga / t_hand);
    c.final_summary();
    figures.print();
}
