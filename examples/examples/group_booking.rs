//! Books a group: one charge, then a seat per passenger, from a `Vec` known only at
//! run time. Each passenger's seat is a typed `#[step]` with its own compensation.
//!
//! First in order: the airline refuses the third passenger, so the saga releases the
//! two seats it booked (last first, each with its own reservation) and refunds the
//! charge. Then the same group with the refusal lifted, concurrently, at most two
//! requests at a time. Last, the seats as data: a `Vec` of the step's named type
//! (`BookSeatAsync`), run by `tale::compose::run_concurrent_steps`.
//!
//! Run it with `cargo run --example group_booking`.

use std::time::Duration;

use examples::{Bank, BookingError, PaymentId, Reservation, Reservations};
use tale::compose::run_concurrent_steps;
use tale::{Executor, SagaError, TokioClock, saga, step};

/// Who flies.
struct Passenger {
    name: &'static str,
    /// The airline turns this passenger away (no valid passport on file).
    refused: bool,
}

/// Charges the group's price; undone by [`refund`].
#[step(compensate = refund)]
fn charge(bank: &Bank, price: u32) -> Result<PaymentId, BookingError> {
    bank.charge(price)
}

fn refund(bank: &Bank, price: u32, payment: &PaymentId) -> Result<(), BookingError> {
    bank.refund(payment, price);
    println!("        refunded {price} EUR ({payment})");
    Ok(())
}

/// Reserves one passenger's seat; undone by [`release`], which gets that seat.
#[step(compensate = release)]
fn book_seat(airline: &Reservations, passenger: &Passenger) -> Result<Reservation, BookingError> {
    book_seat_fn(airline, passenger)
}

fn release(
    airline: &Reservations,
    passenger: &Passenger,
    seat: &Reservation,
) -> Result<(), BookingError> {
    airline.cancel(seat);
    println!("        released seat {seat} ({})", passenger.name);
    Ok(())
}

/// The same reservation as an async call, as to a remote service. Its step type has a
/// name, so that a list of them can be built and handed around.
#[step(compensate = release_async, type = BookSeatAsync)]
async fn book_seat_async(
    airline: &Reservations,
    passenger: &Passenger,
) -> Result<Reservation, BookingError> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    book_seat_fn(airline, passenger)
}

/// [`book_seat`]'s body, called by the async step.
fn book_seat_fn(
    airline: &Reservations,
    passenger: &Passenger,
) -> Result<Reservation, BookingError> {
    if passenger.refused {
        return Err(BookingError::Refused(format!(
            "no passport on file for {}",
            passenger.name
        )));
    }
    let seat = airline.reserve(passenger.name)?;
    println!("        seat {seat} for {}", passenger.name);
    Ok(seat)
}

async fn release_async(
    airline: &Reservations,
    passenger: &Passenger,
    seat: &Reservation,
) -> Result<(), BookingError> {
    release(airline, passenger, seat)
}

/// Sends one ticket listing every seat: it borrows the fan-out's `Vec` of outputs.
#[step]
fn send_tickets(seats: &[Reservation]) -> Result<(), BookingError> {
    let seats: Vec<String> = seats.iter().map(ToString::to_string).collect();
    println!("        tickets for {}", seats.join(", "));
    Ok(())
}

fn group(refused: Option<&str>) -> Vec<Passenger> {
    ["Ada", "Grace", "Edsger", "Barbara"]
        .into_iter()
        .map(|name| Passenger {
            name,
            refused: Some(name) == refused,
        })
        .collect()
}

fn book_in_order(
    bank: &Bank,
    airline: &Reservations,
    passengers: &[Passenger],
) -> Result<Vec<Reservation>, SagaError<BookingError>> {
    saga! {
        #![saga(name = "group booking")]
        let _payment = charge(bank, 250 * u32::try_from(passengers.len()).unwrap_or(u32::MAX));
        let seats = for passenger in passengers { book_seat(airline, passenger) };
        send_tickets(&seats);
        seats
    }
}

async fn book_at_once(
    bank: &Bank,
    airline: &Reservations,
    passengers: &[Passenger],
) -> Result<Vec<Reservation>, SagaError<BookingError>> {
    saga!(async {
        #![saga(name = "group booking", executor = Executor::new().with_clock(TokioClock::new()))]
        let _payment = charge(bank, 250 * u32::try_from(passengers.len()).unwrap_or(u32::MAX));
        let seats = join!(
            for passenger in passengers { book_seat_async(airline, passenger) },
            max_concurrent = 2,
        );
        send_tickets(&seats);
        seats
    })
    .await
}

/// One seat step per passenger, as data.
fn seat_steps<'a>(
    airline: &'a Reservations,
    passengers: &'a [Passenger],
) -> Vec<BookSeatAsync<'a>> {
    passengers
        .iter()
        .map(|passenger| book_seat_async(airline, passenger))
        .collect()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bank = Bank::new(2_000);
    let airline = Reservations::new("airline", "TP-14");

    println!("1. A seat per passenger, in order; the airline refuses Edsger:");
    let error = book_in_order(&bank, &airline, &group(Some("Edsger"))).unwrap_err();
    println!("   failed: {}", error.failure());
    println!(
        "   compensated: {}, seats held: {:?}, balance {} EUR",
        error.is_compensated(),
        airline.held(),
        bank.balance()
    );

    println!("2. The same group, concurrently, two requests at a time:");
    let seats = book_at_once(&bank, &airline, &group(None)).await.unwrap();
    println!(
        "   booked {} seats, held: {:?}, balance {} EUR",
        seats.len(),
        airline.held(),
        bank.balance()
    );

    println!("3. Steps as data (Vec<BookSeatAsync>), on another flight; Grace is refused:");
    let other_flight = Reservations::new("airline", "LH-9");
    let passengers = group(Some("Grace"));
    let mut executor = Executor::new().with_clock(TokioClock::new());
    let error = run_concurrent_steps(&mut executor, seat_steps(&other_flight, &passengers))
        .await
        .unwrap_err();
    println!(
        "   failed: {}; compensated: {}, seats held: {:?}",
        error.failure(),
        error.is_compensated(),
        other_flight.held()
    );
}
