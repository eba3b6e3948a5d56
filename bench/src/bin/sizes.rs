//! The sizes of the benchmarked async sagas' futures against the hand-written ones: a
//! runtime moves a future it is handed (tokio's `block_on` copies it twice), so a
//! saga's state machine costs in proportion to its size.
//!
//! `cargo run --release -p tale-bench --bin sizes`; prints `figure NAME: VALUE` lines.

fn main() {
    let x = 7u64;
    let figures = [
        (
            "async_saga_10_future_bytes",
            size_of_val(&tale_bench::async_saga_10(&x)),
        ),
        (
            "async_hand_10_future_bytes",
            size_of_val(&tale_bench::async_hand_10(&x)),
        ),
        (
            "async_saga_100_future_bytes",
            size_of_val(&tale_bench::async_saga_100(&x)),
        ),
        (
            "async_hand_100_future_bytes",
            size_of_val(&tale_bench::async_hand_100(&x)),
        ),
    ];
    for (name, bytes) in figures {
        println!("figure {name}: {bytes}");
    }
}
