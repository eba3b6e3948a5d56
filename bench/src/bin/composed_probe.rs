//! Runs the runtime-composed 10-link saga of `benches/sync.rs` (`Saga` of closure
//! `Link`s) a given number of times, for instruction counts under callgrind:
//!
//! ```text
//! cargo build --release -p tale-bench --bin composed_probe
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/composed_probe ok 1000
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/composed_probe ok 3000
//! # instructions per saga = (second "Collected" - first) / 2000; `fail` for the last link failing
//! ```

use std::hint::black_box;

use tale::Executor;
use tale_bench::composed;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let fail = args[1] == "fail";
    let iterations: u64 = args[2].parse().unwrap();
    let mut saga = composed(10, fail);
    let mut executor = Executor::new();
    for _ in 0..iterations {
        let mut state = black_box(7u64);
        let _ = black_box(saga.run(&mut executor, &mut state));
    }
}
