//! What the benchmarks run: no-op steps (as `#[step]` functions and as plain
//! functions), sagas generated at build time, and the measuring helper that turns
//! criterion samples into the `figure NAME: VALUE` lines BENCHMARKS.md quotes.

pub mod durable;

use std::cell::RefCell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::{Duration, Instant};

use criterion::Criterion;
use tale::step;

/// The steps' error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fail;

/// A no-op step's body.
///
/// # Errors
///
/// Never.
#[inline(never)]
pub fn noop_body(x: &u64) -> Result<u64, Fail> {
    Ok(black_box(*x))
}

/// A no-op step's body that fails if `fail`.
///
/// # Errors
///
/// [`Fail`] if `fail`.
#[inline(never)]
pub fn noop_or_fail_body(x: &u64, fail: bool) -> Result<u64, Fail> {
    if black_box(fail) {
        Err(Fail)
    } else {
        Ok(black_box(*x))
    }
}

/// A no-op compensation's body.
///
/// # Errors
///
/// Never.
#[inline(never)]
pub fn undo_body(_x: &u64, out: &u64) -> Result<(), Fail> {
    black_box(out);
    Ok(())
}

/// An async no-op step's body.
///
/// # Errors
///
/// Never.
#[inline(never)]
pub async fn async_noop_body(x: &u64) -> Result<u64, Fail> {
    Ok(black_box(*x))
}

/// An async no-op step's body that fails if `fail`.
///
/// # Errors
///
/// [`Fail`] if `fail`.
#[inline(never)]
pub async fn async_noop_or_fail_body(x: &u64, fail: bool) -> Result<u64, Fail> {
    if black_box(fail) {
        Err(Fail)
    } else {
        Ok(black_box(*x))
    }
}

#[step(compensate = undo)]
fn noop(x: &u64) -> Result<u64, Fail> {
    noop_body(x)
}

#[step(compensate = undo_fail)]
fn noop_or_fail(x: &u64, fail: bool) -> Result<u64, Fail> {
    noop_or_fail_body(x, fail)
}

#[step(compensate = async_undo)]
async fn async_noop(x: &u64) -> Result<u64, Fail> {
    async_noop_body(x).await
}

#[step(compensate = async_undo_fail)]
async fn async_noop_or_fail(x: &u64, fail: bool) -> Result<u64, Fail> {
    async_noop_or_fail_body(x, fail).await
}

async fn async_undo_fail(x: &u64, _fail: bool, out: &u64) -> Result<(), Fail> {
    undo_body(x, out)
}

async fn async_undo(x: &u64, out: &u64) -> Result<(), Fail> {
    undo_body(x, out)
}

fn undo(x: &u64, out: &u64) -> Result<(), Fail> {
    undo_body(x, out)
}

fn undo_fail(x: &u64, _fail: bool, out: &u64) -> Result<(), Fail> {
    undo_body(x, out)
}

include!(concat!(env!("OUT_DIR"), "/generated.rs"));

pub mod fan_out;

/// The runtime-composed saga of the `sync` bench and `composed_probe`: `n` no-op closure
/// links, the last failing if `fail_last`.
#[must_use]
pub fn composed(n: usize, fail_last: bool) -> tale::compose::Saga<'static, u64, Fail> {
    let mut saga = tale::compose::Saga::new("composed");
    for i in 0..n {
        let fails = fail_last && i == n - 1;
        saga.push(
            tale::compose::Link::new(
                "noop",
                move |x: &mut u64| if fails { Err(Fail) } else { Ok(black_box(*x)) },
            )
            .compensate(|_, out| {
                black_box(out);
                Ok(())
            }),
        );
    }
    saga
}

/// A 1000-branch `join!` and its hand-written counterpart, behind the feature
/// `join-1000` because the saga takes a while to compile.
#[cfg(feature = "join-1000")]
pub mod join {
    use super::{Fail, async_noop, async_noop_body, undo_body};

    include!(concat!(env!("OUT_DIR"), "/join.rs"));
}

/// The benchmark's figures, printed at the end as `figure NAME: VALUE` lines.
#[derive(Default)]
pub struct Figures {
    lines: Vec<String>,
}

impl Figures {
    /// Records a figure.
    pub fn add(&mut self, name: &str, value: f64) {
        self.lines.push(format!("figure {name}: {value:.3}"));
    }

    /// Prints every figure.
    pub fn print(&self) {
        for line in &self.lines {
            println!("{line}");
        }
    }
}

/// Benchmarks `routine` with criterion under `name` and returns the median time of
/// one call, in nanoseconds, from the samples criterion took.
pub fn median_ns(c: &mut Criterion, name: &str, mut routine: impl FnMut()) -> f64 {
    let samples = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&samples);
    c.bench_function(name, move |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                routine();
            }
            let elapsed = start.elapsed();
            #[allow(clippy::cast_precision_loss)] // nanosecond counts are far below 2^52
            seen.borrow_mut()
                .push(elapsed.as_nanos() as f64 / iters.max(1) as f64);
            elapsed
        });
    });
    median_of_last(&samples.borrow(), 100)
}

/// The median of the last `n` samples (criterion's measurement phase follows its
/// warm-up).
#[must_use]
pub fn median_of_last(samples: &[f64], n: usize) -> f64 {
    let mut last: Vec<f64> = samples[samples.len().saturating_sub(n)..].to_vec();
    last.sort_by(f64::total_cmp);
    last.get(last.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The runtime the async benchmarks run on: tokio's current-thread scheduler with its
/// timer.
///
/// # Panics
///
/// If the runtime cannot be built.
#[must_use]
pub fn current_thread_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime")
}

/// A criterion configured for a 2-core shared machine: short but many samples.
#[must_use]
pub fn criterion() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(100)
        .configure_from_args()
}
