//! Durable sagas on the SQLite journal: sagas per second for a 5-step saga at each
//! `Durability` setting, sync and async, against the limit measured in the same run:
//! plain rusqlite writing the same rows in the same number of transactions. And, for
//! async sagas, the journal served inline (what `SqliteStore` does) against the same
//! store served on tokio's blocking pool (`BlockingPool`, whose writes group commit
//! groups), with 1, 8, 16 and 64 sagas in flight. And group
//! commit: sync sagas on 1, 8 and 64 threads sharing a store handle, against plain
//! rusqlite committing the same number of records per transaction.
//!
//! `cargo bench -p tale-bench --bench journal`; the last lines are the figures. A plain
//! bench binary rather than criterion: one sample is hundreds of fsyncs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, params};
use tale::journal::{AsyncStore, BlockingPool, Durability, Origin, SqliteStore};
use tale_bench::Figures;
use tale_bench::durable::{STEPS, five_async_steps, five_steps};

/// Runs `sagas` async sagas on `store`, `in_flight` at a time, on a two-worker runtime.
fn run_async(
    runtime: &tokio::runtime::Runtime,
    store: Arc<dyn AsyncStore>,
    sagas: usize,
    in_flight: usize,
) -> Duration {
    let start = Instant::now();
    runtime.block_on(async move {
        let lanes: Vec<_> = (0..in_flight)
            .map(|lane| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    for _ in (lane..sagas).step_by(in_flight) {
                        five_async_steps(&*store, Origin::New, &7, &())
                            .await
                            .expect("a saga");
                    }
                })
            })
            .collect();
        for lane in lanes {
            lane.await.expect("a lane");
        }
    });
    start.elapsed()
}

/// What the journal writes for one such saga, by hand: one insert to start it, then
/// one transaction per record (a start and an end per step, and the end of the saga),
/// each inserting the record and updating the saga's row; statements prepared once
/// (cached), as a careful hand-written version would.
fn raw_saga(conn: &mut Connection) {
    conn.prepare_cached(
        "INSERT INTO sagas (name, inputs, status, records) VALUES ('bench', '7', 'running', 0)",
    )
    .and_then(|mut insert| insert.execute([]))
    .expect("insert");
    let saga = conn.last_insert_rowid();
    for seq in 1..=(2 * STEPS as i64 + 1) {
        let tx = conn.transaction().expect("begin");
        tx.prepare_cached(
            "INSERT INTO records (saga_id, seq, kind, payload) VALUES (?1, ?2, 'step', '{\"output\":\"1\"}')",
        )
        .and_then(|mut insert| insert.execute(params![saga, seq]))
        .expect("insert record");
        tx.prepare_cached("UPDATE sagas SET records = ?2 WHERE id = ?1")
            .and_then(|mut update| update.execute(params![saga, seq]))
            .expect("update saga");
        tx.commit().expect("commit");
    }
}

/// `sagas` such sagas by hand with their writes grouped `group` to a transaction, as
/// group commit groups the writes of sagas in flight together: one transaction begins
/// `group` sagas, then per record one transaction holds that record of each.
fn raw_grouped(conn: &mut Connection, sagas: usize, group: usize) {
    let mut left = sagas;
    while left > 0 {
        let now = group.min(left);
        left -= now;
        let tx = conn.transaction().expect("begin");
        let ids: Vec<i64> = (0..now)
            .map(|_| {
                tx.prepare_cached(
                    "INSERT INTO sagas (name, inputs, status, records) \
                     VALUES ('bench', '7', 'running', 0)",
                )
                .and_then(|mut insert| insert.execute([]))
                .expect("insert");
                tx.last_insert_rowid()
            })
            .collect();
        tx.commit().expect("commit");
        for seq in 1..=(2 * STEPS as i64 + 1) {
            let tx = conn.transaction().expect("begin");
            for &saga in &ids {
                tx.prepare_cached(
                    "INSERT INTO records (saga_id, seq, kind, payload) \
                     VALUES (?1, ?2, 'step', '{\"output\":\"1\"}')",
                )
                .and_then(|mut insert| insert.execute(params![saga, seq]))
                .expect("insert record");
                tx.prepare_cached("UPDATE sagas SET records = ?2 WHERE id = ?1")
                    .and_then(|mut update| update.execute(params![saga, seq]))
                    .expect("update saga");
            }
            tx.commit().expect("commit");
        }
    }
}

/// Group commit: sync sagas on `threads` threads sharing one store handle, `sagas` in
/// all; sagas per second and the mean number of writes (beginnings and records) per
/// commit.
fn threaded(store: &Arc<SqliteStore>, threads: usize, sagas: usize) -> (Duration, f64) {
    let (commits0, records0) = store.group_commit_stats();
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let store = Arc::clone(store);
            std::thread::spawn(move || {
                for _ in (t..sagas).step_by(threads) {
                    five_steps(&*store).expect("a saga");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a thread");
    }
    let elapsed = start.elapsed();
    let (commits, records) = store.group_commit_stats();
    let group = (records - records0) as f64 / (commits - commits0).max(1) as f64;
    (elapsed, group)
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

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tale-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn main() {
    let mut figures = Figures::default();
    // `cargo bench -p tale-bench --bench journal -- group`: group commit only.
    let only_group = std::env::args().any(|a| a == "group");
    for (label, sync, sagas) in [
        ("off", Durability::Off, 400),
        ("normal", Durability::Normal, 400),
        ("full", Durability::Full, 60),
    ] {
        if only_group {
            break;
        }
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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .expect("a runtime");
        let async_rate = sagas_per_second(5, sagas, |round| {
            let store = SqliteStore::open_with(dir.join(format!("async-{round}.db")), sync)
                .expect("journal");
            run_async(&runtime, Arc::new(store), sagas, 1)
        });
        figures.add(
            &format!("journal_async_{label}_sagas_per_second"),
            async_rate,
        );
        figures.add(
            &format!("journal_async_{label}_ratio_vs_raw"),
            async_rate / raw_rate,
        );
        let mut inline_alone = 0.0;
        for in_flight in [1, 8, 16, 64] {
            let inline = sagas_per_second(5, sagas, |round| {
                let path = dir.join(format!("inline-{in_flight}-{round}.db"));
                let store = SqliteStore::open_with(path, sync).expect("journal");
                run_async(&runtime, Arc::new(store), sagas, in_flight)
            });
            let mut groups = Vec::new();
            let pooled = sagas_per_second(5, sagas, |round| {
                let path = dir.join(format!("pooled-{in_flight}-{round}.db"));
                let store = Arc::new(SqliteStore::open_with(path, sync).expect("journal"));
                let pool = Arc::new(BlockingPool::new(Arc::clone(&store)));
                let elapsed = run_async(&runtime, pool, sagas, in_flight);
                let (commits, writes) = store.group_commit_stats();
                groups.push(writes as f64 / commits.max(1) as f64);
                elapsed
            });
            let group = median(&mut groups);
            let pooled_raw = sagas_per_second(5, sagas, |round| {
                let path = dir.join(format!("pooled-raw-{in_flight}-{round}.db"));
                let mut conn = raw_connection(&path, sync);
                let start = Instant::now();
                raw_grouped(&mut conn, sagas, (group.round() as usize).max(1));
                start.elapsed()
            });
            let name = format!("journal_async_{label}_{in_flight}_in_flight_pooled");
            figures.add(&format!("{name}_writes_per_commit"), group);
            figures.add(&format!("{name}_ratio_vs_raw"), pooled / pooled_raw);
            figures.add(
                &format!("journal_async_{label}_{in_flight}_in_flight_inline_sagas_per_second"),
                inline,
            );
            figures.add(
                &format!("journal_async_{label}_{in_flight}_in_flight_pooled_sagas_per_second"),
                pooled,
            );
            figures.add(
                &format!("journal_async_{label}_{in_flight}_in_flight_pooled_vs_inline"),
                pooled / inline,
            );
            if in_flight == 1 {
                inline_alone = inline;
            }
            figures.add(
                &format!("journal_async_{label}_{in_flight}_in_flight_pooled_vs_1_inline"),
                pooled / inline_alone,
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
        figures.add(&format!("journal_{label}_sagas_per_second"), tale_rate);
        figures.add(&format!("journal_{label}_raw_sagas_per_second"), raw_rate);
        figures.add(
            &format!("journal_{label}_ratio_vs_raw"),
            tale_rate / raw_rate,
        );
    }
    // Group commit: 1, 8 and 64 sagas in flight on threads, against plain rusqlite
    // writing the same rows with the same number of records per commit.
    for (label, sync, per_thread) in [
        ("off", Durability::Off, 20),
        ("normal", Durability::Normal, 20),
        ("full", Durability::Full, 4),
    ] {
        let dir = fresh_dir(&format!("group-{label}"));
        let mut alone = 0.0;
        for threads in [1, 8, 64] {
            let sagas = (threads * per_thread).max(60);
            let mut groups = Vec::new();
            let tale_rate = sagas_per_second(3, sagas, |round| {
                let path = dir.join(format!("tale-{threads}-{round}.db"));
                let store = Arc::new(SqliteStore::open_with(path, sync).expect("journal"));
                let (elapsed, group) = threaded(&store, threads, sagas);
                groups.push(group);
                elapsed
            });
            let group = median(&mut groups);
            let size = (group.round() as usize).max(1);
            let raw_rate = sagas_per_second(3, sagas, |round| {
                let path = dir.join(format!("raw-{threads}-{round}.db"));
                let mut conn = raw_connection(&path, sync);
                let start = Instant::now();
                raw_grouped(&mut conn, sagas, size);
                start.elapsed()
            });
            if threads == 1 {
                alone = tale_rate;
            }
            let name = format!("journal_group_{label}_{threads}_in_flight");
            figures.add(&format!("{name}_sagas_per_second"), tale_rate);
            figures.add(&format!("{name}_writes_per_commit"), group);
            figures.add(&format!("{name}_raw_sagas_per_second"), raw_rate);
            figures.add(&format!("{name}_ratio_vs_raw"), tale_rate / raw_rate);
            figures.add(&format!("{name}_vs_1_in_flight"), tale_rate / alone);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    figures.print();
}
