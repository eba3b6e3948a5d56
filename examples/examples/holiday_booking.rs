//! Books a holiday: charge the customer, book a flight, book a hotel. The hotel keeps
//! timing out, its retries run out, and the saga undoes the flight and the charge, in
//! reverse order, each with what its own step produced.
//!
//! Run it with `cargo run --example holiday_booking`.

use std::time::Duration;

use examples::{Bank, BookingError, Order, PaymentId, Reservation, Reservations};
use tale::observe::{Report, observe_fn};
use tale::{Event, Executor, Retry, SagaError, SystemClock, saga, step};

/// Charges the order's price; undone by [`refund`].
#[step(compensate = refund)]
fn debit_customer(bank: &Bank, order: &Order) -> Result<PaymentId, BookingError> {
    bank.charge(order.price)
}

fn refund(bank: &Bank, order: &Order, payment: &PaymentId) -> Result<(), BookingError> {
    bank.refund(payment, order.price);
    println!("        refunded {} EUR ({payment})", order.price);
    Ok(())
}

/// Reserves a seat; undone by [`cancel_seat`].
#[step(compensate = cancel_seat)]
fn book_flight(airline: &Reservations, order: &Order) -> Result<Reservation, BookingError> {
    airline.reserve(&order.customer)
}

fn cancel_seat(
    airline: &Reservations,
    _order: &Order,
    seat: &Reservation,
) -> Result<(), BookingError> {
    airline.cancel(seat);
    println!("        released seat {seat}");
    Ok(())
}

/// Reserves a room, retrying timeouts (not refusals) twice, 50 ms then 100 ms apart.
#[step(
    compensate = cancel_room,
    retry = Retry::times(2).exponential(Duration::from_millis(50)).transient_only(),
)]
fn book_hotel(hotels: &Reservations, order: &Order) -> Result<Reservation, BookingError> {
    hotels.reserve(&order.customer)
}

fn cancel_room(
    hotels: &Reservations,
    _order: &Order,
    room: &Reservation,
) -> Result<(), BookingError> {
    hotels.cancel(room);
    Ok(())
}

/// What a completed booking holds.
struct Booking {
    payment: PaymentId,
    seat: Reservation,
    room: Reservation,
}

/// Tells what happens, as it happens.
fn narrate(event: &Event<'_, BookingError>) {
    match event {
        Event::AttemptSucceeded { step, attempt } => {
            println!("  ok    {:<16} attempt {attempt}", step.name);
        }
        Event::AttemptFailed {
            step,
            attempt,
            error,
            retry_in: Some(delay),
        } => println!(
            "  retry {:<16} attempt {attempt}: {error}; again in {delay:?}",
            step.name
        ),
        Event::AttemptFailed {
            step,
            attempt,
            error,
            ..
        } => {
            println!(
                "  FAIL  {:<16} attempt {attempt}: {error}; giving up",
                step.name
            );
        }
        Event::CompensationStarted { step, .. } => println!("  undo  {}", step.name),
        Event::CompensationFailed { step, error, .. } => {
            println!("  STUCK {:<16} compensation failed: {error:?}", step.name);
        }
        _ => {}
    }
}

fn main() {
    let order = Order {
        customer: "Ada".into(),
        destination: "Lisbon".into(),
        nights: 3,
        price: 840,
    };
    let bank = Bank::new(1_000);
    let airline = Reservations::new("airline", "TP1234/14C#");
    let hotels = Reservations::new("Hotel Avenida", "room-").timing_out(5);
    println!(
        "Booking {} nights in {} for {} ({} EUR); the bank holds {} EUR.\n",
        order.nights,
        order.destination,
        order.customer,
        order.price,
        bank.balance()
    );

    let mut executor =
        Executor::new().with_observer((observe_fn(narrate), Report::new(SystemClock)));
    let result = saga! {
        #![saga(name = "holiday booking", executor = &mut executor)]
        let payment = debit_customer(&bank, &order);
        let seat = book_flight(&airline, &order);
        let room = book_hotel(&hotels, &order);
        Booking { payment, seat, room }
    };

    println!();
    match &result {
        Ok(Booking {
            payment,
            seat,
            room,
        }) => println!("Booked: payment {payment}, seat {seat}, room {room}."),
        Err(SagaError::Compensated { failure }) => {
            println!("Not booked, and nothing left behind: {failure}.");
        }
        Err(error) => println!("Not booked, and some steps could not be undone: {error}"),
    }
    let (_, report) = executor.into_observer();
    println!("\n{report}");
    println!(
        "The world afterwards: the bank holds {} EUR; seats held: {:?}; rooms held: {:?}.",
        bank.balance(),
        airline.held(),
        hotels.held()
    );
}
