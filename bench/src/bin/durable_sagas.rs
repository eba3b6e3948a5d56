//! Runs `n` durable 5-step sagas on a SQLite journal (`Durability::Off`, a temporary
//! file), for instruction counts that the machine's noise does not blur: run it under
//! callgrind with two values of `n` and divide the difference.
//!
//! ```text
//! cargo build --release -p tale-bench --bin durable_sagas
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/durable_sagas 10
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/durable_sagas 510
//! # instructions per saga = (second "Collected" - first) / 500
//! ```

use tale::Executor;
use tale::journal::{
    Durability, DurableError, DurableRun, Interrupted, Origin, SqliteStore, Store,
};
use tale::step::from_fn;

/// The saga's error.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Error;

impl From<Interrupted> for Error {
    fn from(_: Interrupted) -> Self {
        Error
    }
}

/// Five journaled no-op steps.
fn five(store: &dyn Store) -> Result<u64, DurableError<Error>> {
    let mut executor = Executor::new();
    let mut run = DurableRun::start(&mut executor, store, "five", &1_u64, Origin::New)
        .map_err(DurableError::Journal)?;
    let mut total = 0;
    for i in 0..5_u64 {
        match run.step(
            usize::try_from(i).unwrap_or(0),
            &mut from_fn(move || Ok::<_, Error>(i)),
        ) {
            Ok(v) => total += v,
            Err(e) => return run.finish(Err(e)),
        }
    }
    run.finish(Ok(total))
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2_000);
    let dir = std::env::temp_dir().join(format!("tale-durable-sagas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let store = SqliteStore::open_with(dir.join("journal.db"), Durability::Off).expect("a journal");
    for _ in 0..n {
        five(&store).expect("the saga completes");
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
