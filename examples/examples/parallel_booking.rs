//! Books a flight and a hotel at the same time, after charging the customer. The hotel
//! refuses; the flight, booked meanwhile, is cancelled, then the charge refunded.
//!
//! Run it with `cargo run --example parallel_booking`.

use std::time::Duration;

use examples::{Bank, BookingError, Order, PaymentId, Reservation, Reservations};
use tale::observe::{Report, observe_fn};
use tale::{Event, Executor, SagaError, TokioClock, saga, step};
use tokio::time::sleep;

#[step(compensate = refund)]
fn debit_customer(bank: &Bank, order: &Order) -> Result<PaymentId, BookingError> {
    bank.charge(order.price)
}

fn refund(bank: &Bank, order: &Order, payment: &PaymentId) -> Result<(), BookingError> {
    bank.refund(payment, order.price);
    Ok(())
}

/// Asks the airline; it takes 300 ms to answer.
#[step(compensate = cancel_seat)]
async fn book_flight(airline: &Reservations, order: &Order) -> Result<Reservation, BookingError> {
    sleep(Duration::from_millis(300)).await;
    airline.reserve(&order.customer)
}

async fn cancel_seat(
    airline: &Reservations,
    _order: &Order,
    seat: &Reservation,
) -> Result<(), BookingError> {
    airline.cancel(seat);
    Ok(())
}

/// Asks the hotel; it answers (no) after 100 ms.
#[step(compensate = cancel_room)]
async fn book_hotel(_hotels: &Reservations, order: &Order) -> Result<Reservation, BookingError> {
    sleep(Duration::from_millis(100)).await;
    Err(BookingError::Refused(format!(
        "no room in {} for {} nights",
        order.destination, order.nights
    )))
}

async fn cancel_room(
    hotels: &Reservations,
    _order: &Order,
    room: &Reservation,
) -> Result<(), BookingError> {
    hotels.cancel(room);
    Ok(())
}

#[tokio::main]
async fn main() {
    let order = Order {
        customer: "Grace".into(),
        destination: "Porto".into(),
        nights: 2,
        price: 560,
    };
    let bank = Bank::new(1_000);
    let airline = Reservations::new("airline", "TP1950/3A#");
    let hotels = Reservations::new("Hotel Infante", "room-");
    let clock = TokioClock::new();
    let started = tokio::time::Instant::now();
    let narrator = observe_fn(move |event: &Event<'_, BookingError>| {
        let at = started.elapsed().as_millis();
        match event {
            Event::AttemptStarted { step, .. } => println!("{at:>5} ms  start {}", step.name),
            Event::AttemptSucceeded { step, .. } => println!("{at:>5} ms  done  {}", step.name),
            Event::AttemptFailed { step, error, .. } => {
                println!("{at:>5} ms  FAIL  {}: {error}", step.name)
            }
            Event::CompensationSucceeded { step, .. } => {
                println!("{at:>5} ms  undone {}", step.name)
            }
            _ => {}
        }
    });
    let mut executor = Executor::new()
        .with_clock(clock)
        .with_observer((narrator, Report::new(clock)));

    // The saga's future is `Send`: it runs as a task of the multi-threaded runtime.
    let booking = tokio::spawn(async move {
        let result = saga!(
            async {
                #![saga(name = "parallel booking", executor = &mut executor)]
                let payment = debit_customer(&bank, &order);
                let (seat, room) =
                    join!(book_flight(&airline, &order), book_hotel(&hotels, &order));
                (payment, seat, room)
            }
        )
        .await;
        (result, executor, bank, airline)
    });
    let (result, executor, bank, airline) = booking.await.expect("the booking task panicked");

    match &result {
        Ok((payment, seat, room)) => println!("\nBooked: {payment}, {seat}, {room}."),
        Err(SagaError::Compensated { failure }) => {
            println!("\nNot booked, nothing left behind: {failure}.")
        }
        Err(error) => println!("\nNot booked, and some steps could not be undone: {error}"),
    }
    let (_, report) = executor.into_observer();
    println!("\n{report}");
    println!(
        "The bank holds {} EUR; seats held: {:?}.",
        bank.balance(),
        airline.held()
    );
}
