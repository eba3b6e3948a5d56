//! A durable async booking, with the flight and the hotel booked at once, that survives
//! a crash in the middle of them.
//!
//! Run it once: on a multi-threaded tokio runtime, it charges the card, then books the
//! flight and the hotel concurrently (a `join!`); the flight is booked, and the process
//! dies (really: `process::exit`) while the hotel is still answering. Run it again: at
//! start-up the async recoverer finds the unfinished saga and replays it on a spawned
//! task: the charge and the flight are answered from the journal (not done again), only
//! the hotel is asked again, under the same idempotency key, and the trip is confirmed.
//! A third run starts a new booking, and so on.
//!
//! `cargo run --example durable_async_booking` (twice). The journal and the services'
//! records live in `target/durable_async_booking/`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use tale::journal::{
    AsyncRecoverer, DurableError, Interrupted, Origin, Record, SqliteStore, Status, Store,
    idempotency_key,
};
use tale::{saga, step};

/// What can go wrong; stored in the journal, so serializable.
#[derive(Debug, Serialize, Deserialize)]
enum BookingError {
    Service(String),
    Interrupted(Interrupted),
}

impl From<Interrupted> for BookingError {
    fn from(i: Interrupted) -> Self {
        BookingError::Interrupted(i)
    }
}

/// The saga's inputs: recorded in the journal when it starts.
#[derive(Debug, Serialize, Deserialize)]
struct Order {
    customer: String,
    destination: String,
    price: u32,
}

/// The services the steps call: a SQLite database of their own, shared by the tasks.
/// Every call carries the step's idempotency key, and a call repeated under the same
/// key changes nothing.
struct World {
    db: Mutex<Connection>,
    /// On the first run, the process dies while the hotel answers.
    crash_in_hotel: bool,
}

impl World {
    fn open(dir: &Path, crash_in_hotel: bool) -> Self {
        let db = Connection::open(dir.join("world.db")).expect("the services' database opens");
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, what TEXT NOT NULL);",
        )
        .expect("the services' table exists");
        Self {
            db: Mutex::new(db),
            crash_in_hotel,
        }
    }

    /// A call that takes its time, then applies its effect once per idempotency key.
    async fn apply(&self, what: String) -> Result<(), BookingError> {
        // The key is the step's own across every await, on whichever thread resumes it.
        let key = idempotency_key().map(|k| k.to_string()).unwrap_or_default();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let fresh = self
            .db
            .lock()
            .expect("the services' connection")
            .execute(
                "INSERT OR IGNORE INTO effects (key, what) VALUES (?1, ?2)",
                params![key, what],
            )
            .map_err(|e| BookingError::Service(e.to_string()))?;
        let note = if fresh == 0 {
            " (already done under this key: ignored)"
        } else {
            ""
        };
        println!(
            "    {what} [{key}] on {:?}{note}",
            std::thread::current().id()
        );
        Ok(())
    }

    fn effects(&self) -> Vec<String> {
        let db = self.db.lock().expect("the services' connection");
        let mut rows = db
            .prepare("SELECT what FROM effects ORDER BY rowid")
            .expect("a query");
        rows.query_map([], |row| row.get(0))
            .expect("rows")
            .map(|r| r.expect("a row"))
            .collect()
    }
}

#[step(compensate = refund)]
async fn charge(world: &World, order: &Order) -> Result<u32, BookingError> {
    world
        .apply(format!("charge {} EUR to {}", order.price, order.customer))
        .await?;
    Ok(order.price)
}

async fn refund(world: &World, order: &Order, amount: &u32) -> Result<(), BookingError> {
    world
        .apply(format!("refund {amount} EUR to {}", order.customer))
        .await
}

#[step(compensate = cancel_flight)]
async fn book_flight(world: &World, order: &Order) -> Result<String, BookingError> {
    let seat = format!("flight to {} seat 14C", order.destination);
    world.apply(format!("book {seat}")).await?;
    Ok(seat)
}

async fn cancel_flight(world: &World, _order: &Order, seat: &String) -> Result<(), BookingError> {
    world.apply(format!("cancel {seat}")).await
}

#[step(compensate = cancel_room)]
async fn book_hotel(world: &World, order: &Order) -> Result<String, BookingError> {
    if world.crash_in_hotel {
        // The flight (50 ms) is booked and journaled; the hotel is still answering.
        tokio::time::sleep(Duration::from_millis(200)).await;
        println!("    the hotel is still answering... and the process dies (exit code 3).");
        std::process::exit(3);
    }
    let room = format!("room in {}", order.destination);
    world.apply(format!("book {room}")).await?;
    Ok(room)
}

async fn cancel_room(world: &World, _order: &Order, room: &String) -> Result<(), BookingError> {
    world.apply(format!("cancel {room}")).await
}

saga! {
    #![saga(durable)]
    /// Charges, then books the flight and the hotel at once; recovered after a crash.
    async fn book_trip(order: &Order, world: &World) -> Result<String, DurableError<BookingError>> {
        let paid = charge(world, order);
        let (seat, room) = join!(book_flight(world, order), book_hotel(world, order));
        format!("{paid} EUR: {seat}, {room}")
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/durable_async_booking");
    std::fs::create_dir_all(&dir).expect("target/durable_async_booking can be created");
    let dir = dir.canonicalize().expect("the directory exists");
    let store = Arc::new(SqliteStore::open(dir.join("journal.db")).expect("the journal opens"));
    let unfinished = store
        .sagas(&[Status::Running])
        .expect("the journal can be queried");

    if unfinished.is_empty() {
        let world = Arc::new(World::open(&dir, true));
        let order = Order {
            customer: "Ada".into(),
            destination: "Lisbon".into(),
            price: 840,
        };
        println!(
            "Starting a booking for {} to {} ({} EUR), flight and hotel at once:",
            order.customer, order.destination, order.price
        );
        // A durable async saga is `Send`: it runs on a spawned task.
        let task =
            tokio::spawn(async move { book_trip(&*store, Origin::New, &order, &world).await });
        let _ = task.await;
        unreachable!("the hotel step ends the process");
    }

    println!(
        "Recovering {} unfinished saga(s) from {}:",
        unfinished.len(),
        dir.join("journal.db").display()
    );
    for saga in &unfinished {
        println!("  {} `{}`, as its journal left it:", saga.id, saga.name);
        let records = store.records(saga.id).expect("the journal can be read");
        for record in &records {
            match record {
                Record::StepSucceeded { index, .. } => {
                    println!("    step {index} done: answered from the journal, not done again");
                }
                Record::StepStarted { index, name } => {
                    let ended = records.iter().any(|r| {
                        matches!(r, Record::StepSucceeded { index: i, .. } | Record::StepFailed { index: i, .. } if i == index)
                    });
                    if !ended {
                        println!(
                            "    step {index} (`{name}`) started, never ended: asked again under its key"
                        );
                    }
                }
                _ => {}
            }
        }
    }
    let world = Arc::new(World::open(&dir, false));
    let report = {
        let (store, world) = (Arc::clone(&store), Arc::clone(&world));
        tokio::spawn(async move {
            let mut recoverer = AsyncRecoverer::new(&*store);
            recoverer.register("book_trip", book_trip);
            recoverer.recover(&world).await
        })
        .await
        .expect("recovery does not panic")
    };
    for recovered in report {
        match recovered.result {
            Ok(status) => println!("  {} `{}` is now {status}.", recovered.id, recovered.name),
            Err(error) => println!(
                "  {} `{}` could not be recovered: {error}",
                recovered.id, recovered.name
            ),
        }
    }
    println!("\nWhat the services did, once each:");
    for effect in world.effects() {
        println!("  {effect}");
    }
    println!("\nRun again to start (and crash) another booking.");
}
