//! A durable booking that survives a crash.
//!
//! Run it once: it starts a booking on a SQLite journal and the process dies in the
//! middle of booking the hotel. Run it again: at start-up the recoverer finds the
//! unfinished saga and replays it: the charge and the flight are answered from the
//! journal (not done again), the hotel is asked again under the same idempotency key,
//! and this time it is full, so the flight is cancelled and the charge refunded. A
//! third run starts a new booking, and so on.
//!
//! `cargo run --example durable_booking` (twice). The journal and the services'
//! records live in `target/durable_booking/`; an operator can read both with any
//! SQLite client.

use std::path::PathBuf;

use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use tale::journal::{
    DurableError, Interrupted, Origin, Recoverer, SqliteStore, Status, Store, idempotency_key,
};
use tale::{saga, step};

/// What can go wrong; stored in the journal, so serializable.
#[derive(Debug, Serialize, Deserialize)]
enum BookingError {
    Full(String),
    Service(String),
    Interrupted(Interrupted),
}

impl From<Interrupted> for BookingError {
    fn from(i: Interrupted) -> Self {
        BookingError::Interrupted(i)
    }
}

impl std::fmt::Display for BookingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BookingError::Full(what) => write!(f, "{what} is full"),
            BookingError::Service(why) => write!(f, "service error: {why}"),
            BookingError::Interrupted(i) => write!(f, "{i}"),
        }
    }
}

/// The saga's inputs: recorded in the journal when it starts.
#[derive(Debug, Serialize, Deserialize)]
struct Order {
    customer: String,
    destination: String,
    price: u32,
}

/// The services the steps call: tables in a SQLite database of their own. Every call
/// carries the step's idempotency key, and a call repeated with the same key changes
/// nothing (`INSERT OR IGNORE` on the key).
struct World {
    db: Connection,
    /// On the first run, the process dies in the middle of booking the hotel.
    crash_in_hotel: bool,
}

impl World {
    fn open(dir: &std::path::Path, crash_in_hotel: bool) -> Self {
        let db = Connection::open(dir.join("world.db")).expect("the services' database opens");
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, what TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS hotel_requests (key TEXT PRIMARY KEY);",
        )
        .expect("the services' tables exist");
        Self { db, crash_in_hotel }
    }

    /// Applies an effect once per idempotency key.
    fn apply(&self, what: String) -> Result<(), BookingError> {
        let key = idempotency_key().map(|k| k.to_string()).unwrap_or_default();
        let fresh = self
            .db
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
        println!("    {what} [{key}]{note}");
        Ok(())
    }

    fn effects(&self) -> Vec<String> {
        let mut rows = self
            .db
            .prepare("SELECT what FROM effects ORDER BY rowid")
            .expect("a query");
        rows.query_map([], |row| row.get(0))
            .expect("rows")
            .map(|r| r.expect("a row"))
            .collect()
    }
}

#[step(compensate = refund)]
fn charge(world: &World, order: &Order) -> Result<u32, BookingError> {
    world.apply(format!("charge {} EUR to {}", order.price, order.customer))?;
    Ok(order.price)
}

fn refund(world: &World, order: &Order, amount: &u32) -> Result<(), BookingError> {
    world.apply(format!("refund {amount} EUR to {}", order.customer))
}

#[step(compensate = cancel_flight)]
fn book_flight(world: &World, order: &Order) -> Result<String, BookingError> {
    let seat = format!("flight to {} seat 14C", order.destination);
    world.apply(format!("book {seat}"))?;
    Ok(seat)
}

fn cancel_flight(world: &World, _order: &Order, seat: &String) -> Result<(), BookingError> {
    world.apply(format!("cancel {seat}"))
}

#[step(compensate = cancel_room)]
fn book_hotel(world: &World, order: &Order) -> Result<String, BookingError> {
    if world.crash_in_hotel {
        println!("    asking the hotel... and the process dies (exit code 3).");
        std::process::exit(3);
    }
    let key = idempotency_key().map(|k| k.to_string()).unwrap_or_default();
    world
        .db
        .execute(
            "INSERT OR IGNORE INTO hotel_requests (key) VALUES (?1)",
            params![key],
        )
        .map_err(|e| BookingError::Service(e.to_string()))?;
    println!("    asking the hotel again [{key}]: it filled up meanwhile.");
    Err(BookingError::Full(format!(
        "the hotel in {}",
        order.destination
    )))
}

fn cancel_room(world: &World, _order: &Order, room: &String) -> Result<(), BookingError> {
    world.apply(format!("cancel {room}"))
}

saga! {
    #![saga(durable)]
    /// Charges, books a flight, books a hotel; recovered after a crash.
    fn book_trip(order: &Order, world: &World) -> Result<(u32, String, String), DurableError<BookingError>> {
        let paid = charge(world, order);
        let seat = book_flight(world, order);
        let room = book_hotel(world, order);
        (paid, seat, room)
    }
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/durable_booking");
    std::fs::create_dir_all(&dir).expect("target/durable_booking can be created");
    let dir = dir.canonicalize().expect("the directory exists");
    let store = SqliteStore::open(dir.join("journal.db")).expect("the journal opens");
    let unfinished = store
        .sagas(&[Status::Running])
        .expect("the journal can be queried");

    if unfinished.is_empty() {
        let world = World::open(&dir, true);
        let order = Order {
            customer: "Ada".into(),
            destination: "Lisbon".into(),
            price: 840,
        };
        println!(
            "Starting a booking for {} to {} ({} EUR):",
            order.customer, order.destination, order.price
        );
        let _ = book_trip(&store, Origin::New, &order, &world);
        unreachable!("the hotel step ends the process");
    }

    println!(
        "Recovering {} unfinished saga(s) from {}:",
        unfinished.len(),
        dir.join("journal.db").display()
    );
    let world = World::open(&dir, false);
    let mut recoverer = Recoverer::new(&store);
    recoverer.register("book_trip", book_trip);
    for recovered in recoverer.recover(&world) {
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
