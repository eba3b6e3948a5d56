//! Durable sagas on the SQLite journal: sagas per second for a 5-step saga at each
//! `Sync` setting, against the limit measured in the same run: plain rusqlite writing
//! the same rows in the same number of transactions.
//!
//! `cargo bench -p tale-bench --bench journal`; the last lines are the figures. A plain
//! bench binary rather than criterion: one sample is hundreds of fsyncs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use tale::journal::{
    Durability, DurableError, DurableRun, Interrupted, Origin, SqliteStore, Store,
};
use tale::step::from_fn;
use tale::{Executor, StepExt};
use tale_bench::Figures;

/// The steps' error.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Error;

impl From<Interrupted> for Error {
    fn from(_: Interrupted) -> Self {
        Error
    }
}

const STEPS: usize = 5;

/// A 5-step durable saga of no-op steps, written as the ladder `saga!` expands to.
fn five_steps(store: &dyn Store) -> Result<u64, DurableError<Error>> {
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

/// What the journal writes for one such saga, by hand: one insert to start it, then
/// one transaction per record (a start and an end per step, and the end of the saga),
/// each inserting the record and updating the saga's row.
fn raw_saga(conn: &mut Connection) {
    conn.execute(
        "INSERT INTO sagas (name, inputs, status, records) VALUES ('bench', '7', 'running', 0)",
        [],
    )
    .expect("insert");
    let saga = conn.last_insert_rowid();
    for seq in 1..=(2 * STEPS as i64 + 1) {
        let tx = conn.transaction().expect("begin");
        tx.execute(
            "INSERT INTO records (saga_id, seq, kind, payload) VALUES (?1, ?2, 'step', '{\"output\":\"1\"}')",
            params![saga, seq],
        )
        .expect("insert record");
        tx.execute(
            "UPDATE sagas SET records = ?2 WHERE id = ?1",
            params![saga, seq],
        )
        .expect("update saga");
        tx.commit().expect("commit");
    }
}

fn raw_connection(path: &Path, sync: Durability) -> Connection {
    let conn = Connection::open(path).expect("open");
    let synchronous = match sync {
        Durability::Off => "OFF",
        Durability::Normal => "NORMAL",
        _ => "FULL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {synchronous};
         CREATE TABLE sagas (id INTEGER PRIMARY KEY, name TEXT, inputs TEXT, status TEXT, records INTEGER);
         CREATE TABLE records (saga_id INTEGER, seq INTEGER, kind TEXT, payload TEXT, PRIMARY KEY (saga_id, seq));"
    ))
    .expect("schema");
    conn
}

/// The median over `rounds` of sagas per second, each round running `sagas` sagas.
fn sagas_per_second(rounds: usize, sagas: usize, mut round: impl FnMut(usize) -> Duration) -> f64 {
    let mut rates: Vec<f64> = (0..rounds)
        .map(|r| {
            let elapsed = round(r);
            sagas as f64 / elapsed.as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tale-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn main() {
    let mut figures = Figures::default();
    for (label, sync, sagas) in [
        ("off", Durability::Off, 400),
        ("normal", Durability::Normal, 400),
        ("full", Durability::Full, 60),
    ] {
        let dir = fresh_dir(label);
        let tale_rate = sagas_per_second(5, sagas, |round| {
            let store = SqliteStore::open_with(dir.join(format!("tale-{round}.db")), sync)
                .expect("journal");
            let start = Instant::now();
            for _ in 0..sagas {
                five_steps(&store).expect("a saga");
            }
            start.elapsed()
        });
        let raw_rate = sagas_per_second(5, sagas, |round| {
            let mut conn = raw_connection(&dir.join(format!("raw-{round}.db")), sync);
            let start = Instant::now();
            for _ in 0..sagas {
                raw_saga(&mut conn);
            }
            start.elapsed()
        });
        let _ = std::fs::remove_dir_all(&dir);
        figures.add(&format!("journal_{label}_sagas_per_second"), tale_rate);
        figures.add(&format!("journal_{label}_raw_sagas_per_second"), raw_rate);
        figures.add(
            &format!("journal_{label}_ratio_vs_raw"),
            tale_rate / raw_rate,
        );
    }
    figures.print();
}
