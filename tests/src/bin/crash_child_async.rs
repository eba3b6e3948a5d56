//! The child process of the async crash tests (`tests/tests/crash_recovery_async.rs`):
//! it runs durable async sagas, written with `saga!`'s durable `async fn` form, with
//! `join!` groups, a concurrent fan-out (`join!(for ...)`, in the saga `group`) and
//! per-attempt timeouts on their uncertain steps, on a multi-threaded
//! tokio runtime, against the test services of `tests::crash`; the harness kills it with
//! SIGKILL at random points.
//!
//! ```text
//! crash_child_async run <dir> <seed> <n> [lanes]   start n new sagas on `lanes` tasks
//! crash_child_async recover <dir>                  finish every saga the journal shows running
//! ```
//!
//! The same contract as `crash_child` (see `tests::crash::harness`), with the same
//! sagas and the saga `group` (plans from `tests::crash::plan::async_plan`); each
//! saga's order is recorded by its first call served (its id is known only to its
//! steps' keys). `recover` resumes the unfinished sagas eight at a time.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use tale::journal::{AsyncRecoverer, BlockingPool, DurableError, SqliteStore, Status, Store};
use tests::crash::plan::async_plan;
use tests::crash::sagas::{group, order, transfer, trip};
use tests::crash::services::Services;

fn open_journal(dir: &Path) -> Result<SqliteStore, String> {
    SqliteStore::open_with(dir.join("journal.db"), tale::journal::Durability::Normal)
        .map_err(|e| e.to_string())
}

/// Starts `n` sagas, spread over `lanes` tasks: the even lanes write through a
/// `BlockingPool` (their writes grouped by its writing thread), the odd ones inline.
async fn run(dir: &Path, seed: u64, n: u64, lanes: u64) -> Result<(), String> {
    let store = Arc::new(open_journal(dir)?);
    let pool = BlockingPool::new(Arc::clone(&store));
    drop(Services::create(dir).map_err(|e| e.to_string())?);
    let tasks: Vec<_> = (0..lanes)
        .map(|lane| {
            let (store, pool) = (Arc::clone(&store), pool.clone());
            let dir = dir.to_owned();
            tokio::spawn(async move {
                let services = Services::connect(&dir).map_err(|e| e.to_string())?;
                for i in (lane..n).step_by(usize::try_from(lanes).unwrap_or(1)) {
                    let (kind, plan) = async_plan(seed, i);
                    let store: &dyn tale::journal::AsyncStore =
                        if lane % 2 == 0 { &pool } else { &*store };
                    let new = tale::journal::Origin::New;
                    let result = match kind {
                        0 => trip(store, new, &plan, &services).await,
                        1 => order(store, new, &plan, &services).await,
                        2 => transfer(store, new, &plan, &services).await,
                        _ => group(store, new, &plan, &services).await,
                    };
                    match result {
                        Ok(_) | Err(DurableError::Saga(_)) => {}
                        Err(error) => return Err(format!("{}: {error:?}", plan.order)),
                    }
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// Finishes every saga left running, eight at a time.
async fn recover(dir: &Path) -> Result<(), String> {
    let store = open_journal(dir)?;
    let services = Services::create(dir).map_err(|e| e.to_string())?;
    for row in store.sagas(&[Status::Running]).map_err(|e| e.to_string())? {
        let last = match store.records(row.id) {
            Ok(records) => records.last().map_or_else(
                || "Begun".to_owned(),
                |r| {
                    format!("{r:?}")
                        .split([' ', '{'])
                        .next()
                        .unwrap_or("?")
                        .to_owned()
                },
            ),
            Err(_) => "Unreadable".to_owned(),
        };
        println!("pending {} {last}", row.id.0);
    }
    let mut recoverer = AsyncRecoverer::new(&store);
    recoverer
        .register("trip", trip)
        .register("order", order)
        .register("transfer", transfer)
        .register("group", group)
        .concurrency(8);
    let mut failed = Vec::new();
    for recovered in recoverer.recover(&services).await {
        match recovered.result {
            Ok(status) => println!("recovered {} {}", recovered.id.0, status.as_str()),
            Err(error) => failed.push(format!("{} ({}): {error}", recovered.id, recovered.name)),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: Option<u64>| -> Result<u64, String> {
        match (args.get(i), default) {
            (Some(text), _) => text
                .parse()
                .map_err(|_| format!("argument {i}: `{text}` is not a number")),
            (None, Some(default)) => Ok(default),
            (None, None) => Err(format!("argument {i} is missing")),
        }
    };
    let result = match (args.first().map(String::as_str), args.get(1)) {
        (Some("run"), Some(dir)) => match (number(2, None), number(3, None), number(4, Some(1))) {
            (Ok(seed), Ok(n), Ok(lanes)) => run(Path::new(dir), seed, n, lanes.max(1)).await,
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e),
        },
        (Some("recover"), Some(dir)) => recover(Path::new(dir)).await,
        _ => Err(
            "usage: crash_child_async run <dir> <seed> <n> [lanes] | crash_child_async recover <dir>"
                .into(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crash_child_async: {error}");
            ExitCode::from(2)
        }
    }
}
