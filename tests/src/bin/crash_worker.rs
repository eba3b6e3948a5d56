//! The child process of the workers' crash suite (`tests/tests/crash_workers.rs`): one
//! of several processes sharing one SQLite journal. Each starts its own durable async
//! sagas (the async suite's, from `tests::crash::sagas`, a fan-out among them) and runs an `AsyncWorker` that
//! claims and finishes the sagas other processes left, on a multi-threaded tokio
//! runtime; the harness kills it with SIGKILL, pauses it with SIGSTOP past its lease,
//! or shuts it down gracefully by closing its standard input.
//!
//! ```text
//! crash_worker work <dir> <seed> <first> <n> <lanes> <ttl_ms>
//! ```
//!
//! starts the sagas `first..first + n` of the seed's plans on `lanes` tasks, works
//! until its standard input closes (its journal is `<dir>/journal.db`, or the
//! PostgreSQL database `TALE_CRASH_JOURNAL` names, whose connections the harness cuts),
//! then drains (each saga it runs stops before its next action and is given back) and
//! prints `stats <WorkerStats>`. Its service calls
//! are recorded under its worker id, with their fencing token.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tale::journal::{
    AsyncRecoverer, AsyncStore, AsyncWorker, DurableError, JournalError, Leases, PgStore,
    SqliteStore, WorkerOptions,
};
use tale::{CancelHandle, TokioClock};
use tests::crash::plan::async_plan;
use tests::crash::sagas::{group, order, transfer, trip};
use tests::crash::services::Services;

/// What `work` is given.
struct Work {
    dir: PathBuf,
    seed: u64,
    first: u64,
    n: u64,
    lanes: u64,
    ttl: Duration,
}

/// Connects to the PostgreSQL journal as a supervised worker does: the harness may be
/// cutting connections or restarting the server right now, so a connection lost while
/// connecting is tried again, for a while.
async fn connect(url: &str) -> Result<PgStore, String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match PgStore::connect(url).await {
            Ok(store) => return Ok(store),
            Err(JournalError::Database(_)) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => return Err(error.to_string()),
        }
    }
}

async fn work(job: Work) -> Result<(), String> {
    let leases = Leases::new().ttl(job.ttl);
    let postgres = std::env::var("TALE_CRASH_JOURNAL").ok();
    let store: Arc<dyn AsyncStore> = match &postgres {
        Some(url) => Arc::new(connect(url).await?.with_leases(leases)),
        None => Arc::new(
            SqliteStore::open_with(
                job.dir.join("journal.db"),
                tale::journal::Durability::Normal,
            )
            .map_err(|e| e.to_string())?
            .with_leases(leases),
        ),
    };
    // On PostgreSQL the harness cuts connections and restarts the server: a journal
    // write that fails then stops its saga, for a worker to resume.
    let faults = postgres.is_some();
    let me = store.leases().worker_id().to_string();
    let services = Arc::new(
        Services::connect(&job.dir)
            .map_err(|e| e.to_string())?
            .by(&me),
    );
    let shutdown = CancelHandle::new();
    {
        // Standard input closed: shut down gracefully.
        let shutdown = shutdown.clone();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            shutdown.cancel();
        });
    }
    let worker = {
        let (store, services, shutdown) =
            (Arc::clone(&store), Arc::clone(&services), shutdown.clone());
        let heartbeat = job.ttl / 4;
        tokio::spawn(async move {
            let mut recoverer = AsyncRecoverer::new(&*store);
            recoverer
                .register("trip", trip)
                .register("order", order)
                .register("transfer", transfer)
                .register("group", group);
            let options = WorkerOptions::new()
                .batch(8)
                .poll_interval(Duration::from_millis(10))
                .heartbeat(heartbeat)
                // Kills and pauses make sagas change hands often; none is poison.
                .max_resumptions(1_000)
                .backoff(Duration::from_millis(20), Duration::from_millis(200));
            AsyncWorker::new(&recoverer, TokioClock::new())
                .options(options)
                .run(&services, &shutdown)
                .await
        })
    };
    let lanes: Vec<_> = (0..job.lanes)
        .map(|lane| {
            let (store, services, shutdown) =
                (Arc::clone(&store), Arc::clone(&services), shutdown.clone());
            let (seed, first, n, lanes) = (job.seed, job.first, job.n, job.lanes);
            tokio::spawn(async move {
                let step = usize::try_from(lanes).unwrap_or(1);
                for i in (first + lane..first + n).step_by(step) {
                    if shutdown.is_cancelled() {
                        break;
                    }
                    let (kind, plan) = async_plan(seed, i);
                    let store: &dyn AsyncStore = &*store;
                    let origin = tale::journal::Origin::New;
                    let result = match kind {
                        0 => trip(store, origin, &plan, &services).await,
                        1 => order(store, origin, &plan, &services).await,
                        2 => transfer(store, origin, &plan, &services).await,
                        _ => group(store, origin, &plan, &services).await,
                    };
                    match result {
                        Ok(_)
                        | Err(DurableError::Saga(_))
                        // Taken over (this process was paused), or stopped by the drain.
                        | Err(DurableError::Journal(
                            JournalError::LeaseLost { .. } | JournalError::ShuttingDown { .. },
                        )) => {}
                        Err(DurableError::Journal(JournalError::Database(_))) if faults => {}
                        Err(error) => return Err(format!("{}: {error:?}", plan.order)),
                    }
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for lane in lanes {
        lane.await.map_err(|e| e.to_string())??;
    }
    let stats = worker.await.map_err(|e| e.to_string())?;
    println!("stats {stats:?}");
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| -> Result<u64, String> {
        let text = args.get(i).ok_or(format!("argument {i} is missing"))?;
        text.parse()
            .map_err(|_| format!("argument {i}: `{text}` is not a number"))
    };
    let job = match (args.first().map(String::as_str), args.get(1)) {
        (Some("work"), Some(dir)) => (|| {
            Ok::<_, String>(Work {
                dir: Path::new(dir).to_owned(),
                seed: number(2)?,
                first: number(3)?,
                n: number(4)?,
                lanes: number(5)?.max(1),
                ttl: Duration::from_millis(number(6)?),
            })
        })(),
        _ => Err("usage: crash_worker work <dir> <seed> <first> <n> <lanes> <ttl_ms>".into()),
    };
    let result = match job {
        Ok(job) => work(job).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("crash_worker: {error}");
            ExitCode::from(2)
        }
    }
}
