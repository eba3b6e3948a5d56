//! Runs one case of the sync and async benches (`benches/sync.rs`, `benches/async.rs`)
//! a given number of times, for instruction counts under callgrind, which the machine's
//! noise does not move: `bench/callgrind.sh` runs every case for the saga and for the
//! hand-written baseline, at two iteration counts, and divides the difference.
//!
//! ```text
//! paths CASE VARIANT ITERATIONS   # e.g. `paths sync_success_10 saga 20000`
//! paths list                      # the cases, one a line
//! ```
//!
//! `CASE` is `sync_success_N`, `sync_compensated_N` (the last step fails, every other
//! step is compensated), `async_success_N` or `async_compensated_N`, for N = 10 or 100,
//! or `fan_out_concurrent_1000` / `fan_out_in_order_1000` (`benches/fan_out.rs`: against
//! `futures::future::join_all` of the same futures, and a loop), or `durable_memory_5`
//! (the journal benches' durable 5-step saga on a `MemoryStore`, against the same five
//! calls: the journal's own cost, apart from any database);
//! `VARIANT` is `saga` (the `saga!`) or `hand` (the same calls written by hand). The
//! sagas and baselines are the library's (`saga_N`, `hand_N`, `async_saga_N`, ...), the
//! ones the criterion benches time; each call is made as those benches make it, its
//! arguments and result through `std::hint::black_box`, and an async one through
//! `block_on` of a current-thread tokio runtime built before the loop.

use std::hint::black_box;
use std::process::ExitCode;

use tale_bench::fan_out::{hand_concurrent, hand_in_order, saga_concurrent, saga_in_order};
use tale_bench::{
    async_hand_10, async_hand_100, async_hand_fallible_10, async_hand_fallible_100, async_saga_10,
    async_saga_100, async_saga_fallible_10, async_saga_fallible_100, current_thread_runtime,
    hand_10, hand_100, saga_10, saga_100,
};

/// Every case, in the order `bench/callgrind.sh` reports them.
const CASES: [&str; 11] = [
    "sync_success_10",
    "sync_success_100",
    "sync_compensated_10",
    "sync_compensated_100",
    "async_success_10",
    "async_success_100",
    "async_compensated_10",
    "async_compensated_100",
    "fan_out_concurrent_1000",
    "fan_out_in_order_1000",
    "durable_memory_5",
];

/// Calls `f` `iterations` times.
#[inline(never)]
fn repeat(iterations: u64, mut f: impl FnMut()) {
    for _ in 0..iterations {
        f();
    }
}

/// Runs `iterations` sagas of `case` with `variant`; `false` if either is unknown.
fn run(case: &str, variant: &str, iterations: u64) -> bool {
    let x = 7_u64;
    // The argument the last step fails on.
    let fail = case.contains("_compensated_");
    macro_rules! sync {
        ($f:ident) => {
            repeat(iterations, || {
                let _ = black_box($f(black_box(&x), black_box(fail)));
            })
        };
    }
    macro_rules! async_ {
        ($runtime:ident, $call:expr) => {
            repeat(iterations, || {
                let _ = black_box($runtime.block_on($call));
            })
        };
    }
    match (case, variant) {
        ("sync_success_10" | "sync_compensated_10", "saga") => sync!(saga_10),
        ("sync_success_10" | "sync_compensated_10", "hand") => sync!(hand_10),
        ("sync_success_100" | "sync_compensated_100", "saga") => sync!(saga_100),
        ("sync_success_100" | "sync_compensated_100", "hand") => sync!(hand_100),
        ("fan_out_in_order_1000", "saga") => repeat(iterations, || {
            let _ = black_box(saga_in_order(black_box(&x), black_box(1000)));
        }),
        ("fan_out_in_order_1000", "hand") => repeat(iterations, || {
            let _ = black_box(hand_in_order(black_box(&x), black_box(1000)));
        }),
        ("durable_memory_5", "saga") => {
            let store = tale::journal::MemoryStore::new();
            repeat(iterations, || {
                let _ = black_box(tale_bench::durable::five_steps(black_box(&store)));
            });
        }
        ("durable_memory_5", "hand") => repeat(iterations, || {
            let mut total = 0;
            for _ in 0..tale_bench::durable::STEPS {
                total += tale_bench::noop_body(black_box(&x)).unwrap_or(0);
            }
            black_box(total);
        }),
        ("fan_out_concurrent_1000", "saga" | "hand") => {
            let runtime = current_thread_runtime();
            if variant == "saga" {
                async_!(runtime, saga_concurrent(black_box(&x), black_box(1000)));
            } else {
                async_!(runtime, hand_concurrent(black_box(&x), black_box(1000)));
            }
        }
        _ if !case.starts_with("async_") || !matches!(variant, "saga" | "hand") => return false,
        _ => {
            let runtime = current_thread_runtime();
            match (case, variant) {
                ("async_success_10", "saga") => async_!(runtime, async_saga_10(black_box(&x))),
                ("async_success_10", "hand") => async_!(runtime, async_hand_10(black_box(&x))),
                ("async_success_100", "saga") => async_!(runtime, async_saga_100(black_box(&x))),
                ("async_success_100", "hand") => async_!(runtime, async_hand_100(black_box(&x))),
                ("async_compensated_10", "saga") => async_!(
                    runtime,
                    async_saga_fallible_10(black_box(&x), black_box(fail))
                ),
                ("async_compensated_10", "hand") => async_!(
                    runtime,
                    async_hand_fallible_10(black_box(&x), black_box(fail))
                ),
                ("async_compensated_100", "saga") => async_!(
                    runtime,
                    async_saga_fallible_100(black_box(&x), black_box(fail))
                ),
                ("async_compensated_100", "hand") => async_!(
                    runtime,
                    async_hand_fallible_100(black_box(&x), black_box(fail))
                ),
                _ => return false,
            }
        }
    }
    true
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [list] if list == "list" => {
            for case in CASES {
                println!("{case}");
            }
            ExitCode::SUCCESS
        }
        [case, variant, iterations] => match iterations.parse() {
            Ok(iterations) if run(case, variant, iterations) => ExitCode::SUCCESS,
            _ => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: paths CASE saga|hand ITERATIONS, or paths list\ncases: {}",
        CASES.join(", ")
    );
    ExitCode::from(2)
}
