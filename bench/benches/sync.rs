//! Sync sagas against hand-written code, and the runtime-composed form.
//!
//! `cargo bench -p tale-bench --bench sync`; the last lines are the figures.

use std::hint::black_box;

use tale::Executor;
use tale_bench::{Figures, composed, criterion, hand_10, hand_100, median_ns, saga_10, saga_100};

fn main() {
    let mut c = criterion();
    let mut figures = Figures::default();
    let x = 7;
    for (n, saga, hand) in [
        (
            10,
            saga_10 as fn(&u64, bool) -> _,
            hand_10 as fn(&u64, bool) -> _,
        ),
        (100, saga_100, hand_100),
    ] {
        for (label, fail) in [("success", false), ("compensated", true)] {
            let t_saga = median_ns(&mut c, &format!("saga! {n} {label}"), || {
                let _ = black_box(saga(black_box(&x), black_box(fail)));
            });
            let t_hand = median_ns(&mut c, &format!("hand {n} {label}"), || {
                let _ = black_box(hand(black_box(&x), black_box(fail)));
            });
            figures.add(&format!("sync_{label}_{n}_ratio_vs_hand"), t_saga / t_hand);
            figures.add(&format!("sync_{label}_{n}_saga_ns"), t_saga);
            figures.add(&format!("sync_{label}_{n}_hand_ns"), t_hand);
        }
        for (label, fail) in [("success", false), ("compensated", true)] {
            let mut saga = composed(n, fail);
            let mut executor = Executor::new();
            let t = median_ns(&mut c, &format!("composed {n} {label}"), || {
                let mut state = black_box(x);
                let _ = black_box(saga.run(&mut executor, &mut state));
            });
            #[allow(clippy::cast_precision_loss)] // n <= 100
            let executed = if fail { n - 1 } else { n } as f64;
            figures.add(&format!("composed_{label}_{n}_ns_per_step"), t / executed);
        }
    }
    c.final_summary();
    figures.print();
}
