//! Journal rows of arbitrary kind, step index and payload in a valid journal: reading
//! them, and replaying them the way recovery does, sync and async (a two-branch
//! group), gives errors, never panics.
//!
//! The input is a list of rows separated by `\x01`; each row is `kind\0index\0payload`.
#![no_main]

use tale::journal::{DurableAsyncRun, DurableRun, Interrupted, NewSaga, Origin, SqliteStore, Store};
use tale::step::from_fn;
use tale::{Executor, Limits, StepExt};

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Error(String);

impl From<Interrupted> for Error {
    fn from(i: Interrupted) -> Self {
        Error(i.to_string())
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("tale-fuzz-records-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("journal.db");
    let store = SqliteStore::open(&path).expect("a new journal");
    let saga = store.begin(&NewSaga::new("fuzz", "null")).expect("a saga").saga;
    {
        let raw = rusqlite::Connection::open(&path).expect("the journal opens");
        let text = String::from_utf8_lossy(data);
        let mut count = 0i64;
        for (seq, row) in text.split('\u{1}').enumerate().take(64) {
            let mut fields = row.split('\0');
            let kind = fields.next().unwrap_or("");
            let index = fields.next().and_then(|i| i.parse::<i64>().ok());
            let payload = fields.next().unwrap_or("");
            let seq = i64::try_from(seq).unwrap_or(i64::MAX) + 1;
            let _ = raw.execute(
                "INSERT INTO records (saga_id, seq, kind, step_index, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                rusqlite::params![saga.0, seq, kind, index, payload],
            );
            count = seq;
        }
        let _ = raw.execute("UPDATE sagas SET records = ?1 WHERE id = ?2", rusqlite::params![count, saga.0]);
    }
    let _ = store.records(saga);
    let _ = store.records_prefix(saga);
    let _ = store.saga(saga);
    // Replay as recovery would: a two-step saga whose outputs are numbers.
    let mut executor = Executor::new();
    if let Ok(mut run) = DurableRun::start(&mut executor, &store, "fuzz", &(), Origin::Resume(saga)) {
        let mut first = from_fn(|| Ok::<u32, Error>(1)).with_compensation(|_: &u32| Ok(())).named("first");
        let result = match run.step(0, &mut first) {
            Ok(out) => {
                let mut second = from_fn(|| Ok::<u32, Error>(2)).with_compensation(|_: &u32| Ok(())).named("second");
                match run.step(1, &mut second) {
                    Ok(two) => Ok(out + two),
                    Err(unwind) => {
                        run.compensate(0, &mut first, out);
                        Err(unwind)
                    }
                }
            }
            Err(unwind) => Err(unwind),
        };
        let _ = run.finish(result);
    }
    // The same journal replayed by an async saga whose two steps are a group.
    let mut executor = Executor::new();
    block_on(async {
        let Ok(run) = DurableAsyncRun::start(&mut executor, &store, "fuzz", &(), Origin::Resume(saga), None, Limits::new()).await else {
            return;
        };
        let mut first = from_fn(|| Ok::<u32, Error>(1)).with_compensation(|_: &u32| Ok(())).named("first");
        let mut second = from_fn(|| Ok::<u32, Error>(2)).with_compensation(|_: &u32| Ok(())).named("second");
        let (a, b) = (run.step(0, &mut first).await, run.step(1, &mut second).await);
        let result = match (a, b) {
            (Ok(a), Ok(b)) => Ok(a + b),
            (a, b) => {
                let b = run.settle_branch(1, &mut second, b).await;
                let a = run.settle_branch(0, &mut first, a).await;
                Err(a.or(b).expect("a branch failed"))
            }
        };
        let _ = run.finish(result).await;
    });
});

/// Polls a future that never waits on anything outside it.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
}
