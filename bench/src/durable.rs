//! The durable 5-step saga of no-op steps the journal benchmarks run (SQLite and
//! PostgreSQL), sync and async, as `saga!`'s durable forms drive them.

use tale::journal::{
    AsyncStore, DurableAsyncRun, DurableError, DurableRun, Interrupted, Origin, Store,
};
use tale::step::from_fn;
use tale::{Executor, Limits, StepExt};

/// The steps' error.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Error;

impl From<Interrupted> for Error {
    fn from(_: Interrupted) -> Self {
        Error
    }
}

/// The saga's steps.
pub const STEPS: usize = 5;

/// The saga, sync, begun anew.
///
/// # Errors
///
/// The journal's.
pub fn five_steps(store: &dyn Store) -> Result<u64, DurableError<Error>> {
    let mut executor = Executor::new();
    let mut run = DurableRun::start(&mut executor, store, "bench", &7u64, Origin::New)
        .map_err(DurableError::Journal)?;
    let mut total = 0;
    for index in 0..STEPS {
        let mut step = from_fn(|| Ok::<u64, Error>(index as u64))
            .with_compensation(|_: &u64| Ok(()))
            .named("noop");
        match run.step(index, &mut step) {
            Ok(out) => total += out,
            Err(unwind) => return run.finish(Err(unwind)),
        }
    }
    run.finish(Ok(total))
}

/// The saga, async, begun or resumed as `origin` says: a durable async saga function
/// that an `AsyncRecoverer` can register (its inputs and environment unused).
///
/// # Errors
///
/// The journal's.
pub async fn five_async_steps(
    store: &dyn AsyncStore,
    origin: Origin,
    _inputs: &u64,
    _env: &(),
) -> Result<u64, DurableError<Error>> {
    let mut executor = Executor::new();
    let run = DurableAsyncRun::start(
        &mut executor,
        store,
        "bench",
        &7u64,
        origin,
        None,
        Limits::new(),
    )
    .await
    .map_err(DurableError::Journal)?;
    let mut total = 0;
    for index in 0..STEPS {
        let mut step = from_fn(|| Ok::<u64, Error>(index as u64))
            .with_compensation(|_: &u64| Ok(()))
            .named("noop");
        match run.step(index, &mut step).await {
            Ok(out) => total += out,
            Err(unwind) => return run.finish(Err(unwind)).await,
        }
    }
    run.finish(Ok(total)).await
}
