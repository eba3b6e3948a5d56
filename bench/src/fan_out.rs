//! Fan-outs of `n` no-op steps against the same calls written by hand: a concurrent
//! `join!(for ...)` against `futures::future::join_all` of the same futures, and an
//! in-order `for` against a loop that pushes each output.

use futures_util::future::join_all;

use super::{Fail, async_noop, async_noop_body, noop, noop_body, undo_body};

/// `join!(for ...)` of `n` async no-op steps.
///
/// # Errors
///
/// Never: the steps succeed.
pub async fn saga_concurrent(x: &u64, n: u64) -> Result<u64, tale::SagaError<Fail>> {
    tale::saga!(async {
        #![saga(name = "bench", executor = tale::Executor::new().with_clock(tale::TokioClock::new()))]
        let outputs = join!(for _ in 0..n { async_noop(x) });
        outputs.iter().sum()
    })
    .await
}

/// The same `n` futures with `futures::future::join_all`, compensating the ones that
/// succeeded if any failed.
///
/// # Errors
///
/// Never: the calls succeed.
pub async fn hand_concurrent(x: &u64, n: u64) -> Result<u64, Fail> {
    let results = join_all((0..n).map(|_| async_noop_body(x))).await;
    if let Some(error) = results.iter().find_map(|r| r.err()) {
        for output in results.iter().rev().flatten() {
            let _ = undo_body(x, output);
        }
        return Err(error);
    }
    Ok(results.iter().flatten().sum())
}

/// `for` of `n` sync no-op steps.
///
/// # Errors
///
/// Never: the steps succeed.
pub fn saga_in_order(x: &u64, n: u64) -> Result<u64, tale::SagaError<Fail>> {
    tale::saga! {
        #![saga(name = "bench")]
        let outputs = for _ in 0..n { noop(x) };
        outputs.iter().sum()
    }
}

/// The same `n` calls in a loop, keeping their outputs for the compensations.
///
/// # Errors
///
/// Never: the calls succeed.
pub fn hand_in_order(x: &u64, n: u64) -> Result<u64, Fail> {
    let mut outputs = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    for _ in 0..n {
        match noop_body(x) {
            Ok(output) => outputs.push(output),
            Err(error) => {
                for output in outputs.iter().rev() {
                    let _ = undo_body(x, output);
                }
                return Err(error);
            }
        }
    }
    Ok(outputs.iter().sum())
}
