//! Journal rows of arbitrary kind, step index and payload in a valid journal: reading
//! them, and replaying them the way recovery does, gives errors, never panics.
//!
//! The input is a list of rows separated by `\x01`; each row is `kind\0index\0payload`.
#![no_main]

use tale::journal::{DurableRun, Interrupted, Origin, SqliteStore, Store};
use tale::{Executor, StepExt};

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
    let saga = store.begin("fuzz", "null").expect("a saga");
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
});
