//! Three worker processes share one PostgreSQL journal; one is killed in the middle of
//! its sagas, and the other two finish them.
//!
//! The example starts a throwaway PostgreSQL server the way tale's tests do (from the
//! machine's PostgreSQL binaries; set `TALE_PG_URL` to use a server of yours), then
//! runs itself three times as a worker: each begins four bookings (durable async
//! sagas of three slow steps) and runs an `AsyncWorker`. A second and a half in, the
//! first worker is killed (SIGKILL). Its leases end two seconds later, and the others
//! claim its sagas, replay what its journal shows done, and finish the rest. The
//! example prints who began and who finished each booking, then shuts the workers down
//! gracefully.
//!
//! `cargo run --example worker_pool` (needs PostgreSQL's server binaries installed:
//! `apt-get install postgresql`).

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tale::journal::{
    AsyncRecoverer, AsyncStore, AsyncWorker, DurableError, Interrupted, JournalError, Leases,
    Origin, PgStore, PgTestServer, Status, WorkerId, WorkerOptions, fencing_token,
};
use tale::{CancelHandle, TokioClock, saga, step};

/// What can go wrong; stored in the journal, so serializable.
#[derive(Debug, Serialize, Deserialize)]
enum BookingError {
    Interrupted(Interrupted),
}

impl From<Interrupted> for BookingError {
    fn from(i: Interrupted) -> Self {
        BookingError::Interrupted(i)
    }
}

/// The worker running the steps, for the printout.
struct Env {
    me: String,
}

/// A slow remote call: half a second, then done.
#[step(compensate = undo)]
async fn call(env: &Env, what: &'static str, order: &u32) -> Result<(), BookingError> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let epoch = fencing_token().map_or(0, |t| t.epoch);
    println!("  [{}] booking {order}: {what} (epoch {epoch})", env.me);
    Ok(())
}

async fn undo(
    _env: &Env,
    _what: &'static str,
    _order: &u32,
    _done: &(),
) -> Result<(), BookingError> {
    Ok(())
}

saga! {
    #![saga(durable, name = "booking")]
    /// Charge, flight, hotel: a second and a half of calls.
    async fn booking(order: &u32, env: &Env) -> Result<(), DurableError<BookingError>> {
        call(env, "charge", order);
        call(env, "flight", order);
        call(env, "hotel", order);
    }
}

/// A worker process: begins bookings `first..first + 4` and works until its standard
/// input closes.
async fn worker(url: &str, name: &str, first: u32) -> Result<(), JournalError> {
    // A worker id is never reused: the name and this process's id.
    let id = WorkerId::named(&format!("{name}-{}", std::process::id()));
    let leases = Leases::new().worker(id).ttl(Duration::from_secs(2));
    let store = Arc::new(PgStore::connect(url).await?.with_leases(leases));
    let env = Arc::new(Env {
        me: name.to_owned(),
    });
    let shutdown = CancelHandle::new();
    {
        let shutdown = shutdown.clone();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            shutdown.cancel();
        });
    }
    let pool = {
        let (store, env, shutdown) = (Arc::clone(&store), Arc::clone(&env), shutdown.clone());
        tokio::spawn(async move {
            let mut recoverer = AsyncRecoverer::new(&*store);
            recoverer.register("booking", booking);
            let options = WorkerOptions::new().poll_interval(Duration::from_millis(100));
            AsyncWorker::new(&recoverer, TokioClock::new())
                .options(options)
                .run(&env, &shutdown)
                .await
        })
    };
    let mine: Vec<_> = (first..first + 4)
        .map(|order| {
            let (store, env) = (Arc::clone(&store), Arc::clone(&env));
            tokio::spawn(async move {
                let store: &dyn AsyncStore = &*store;
                booking(store, Origin::New, &order, &env).await
            })
        })
        .collect();
    for saga in mine {
        let _ = saga.await;
    }
    let stats = pool
        .await
        .map_err(|e| JournalError::Database(Box::new(e)))?;
    println!("  [{name}] shut down: {stats:?}");
    Ok(())
}

fn spawn(url: &str, name: &str, first: u32) -> Child {
    Command::new(std::env::current_exe().expect("the example's path"))
        .args(["worker", url, name, &first.to_string()])
        .stdin(Stdio::piped())
        .spawn()
        .expect("a worker starts")
}

#[tokio::main]
async fn main() -> Result<(), JournalError> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [role, url, name, first] = args.as_slice()
        && role == "worker"
    {
        return worker(url, name, first.parse().unwrap_or(0)).await;
    }

    let server = PgTestServer::shared();
    let url = server.fresh_database("worker_pool").await;
    println!("a throwaway PostgreSQL journal; three workers, four bookings each:");
    let mut workers: Vec<Child> = ["ada", "grace", "edsger"]
        .iter()
        .zip([1, 5, 9])
        .map(|(name, first)| spawn(&url, name, first))
        .collect();

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let killed = Instant::now();
    workers[0].kill().expect("SIGKILL");
    let _ = workers[0].wait();
    println!("\nada is killed (SIGKILL) in the middle of its bookings.\n");

    let store = PgStore::connect(&url).await?;
    loop {
        let all = store.sagas(&[]).await?;
        if all.len() == 12 && all.iter().all(|s| s.status.is_finished()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "\nevery booking finished, {:.1?} after the kill (leases of 2 s):",
        killed.elapsed()
    );
    let mut sagas = store.sagas(&[]).await?;
    sagas.sort_by_key(|s| s.inputs.parse::<u32>().unwrap_or(0));
    for saga in sagas {
        let by = saga.lease.owner.as_deref().unwrap_or("?");
        let by = by.split('-').next().unwrap_or(by);
        let how = if saga.lease.epoch > 1 {
            "taken over and finished"
        } else {
            "finished"
        };
        println!(
            "  booking {:>2}: {}, {how} by {by} (epoch {})",
            saga.inputs, saga.status, saga.lease.epoch
        );
    }
    let taken_over = store
        .sagas(&[Status::Completed])
        .await?
        .iter()
        .filter(|s| s.lease.epoch > 1)
        .count();
    println!("\n{taken_over} bookings changed hands; shutting the other workers down.");
    for mut worker in workers.drain(1..) {
        drop(worker.stdin.take());
        let _ = worker.wait();
    }
    Ok(())
}
