//! The holiday booking of `holiday_booking`, built at run time: a `Saga` of `Link`s
//! over one state type, as for sagas assembled from data (a list of steps from a
//! configuration, say). Run it with `cargo run --example booking_from_data`.

use std::time::Duration;

use examples::{Bank, BookingError, Order, PaymentId, Reservation, Reservations};
use tale::compose::{Link, Saga};
use tale::observe::{Report, observe_fn};
use tale::{Event, Executor, Retry, SagaError, SystemClock};

/// What the saga has booked so far; each step fills in its part.
#[derive(Debug, Default)]
struct Trip {
    payment: Option<PaymentId>,
    flight: Option<Reservation>,
    hotel: Option<Reservation>,
}

fn main() {
    let order = Order {
        customer: "Ada".into(),
        destination: "Lisbon".into(),
        nights: 3,
        price: 840,
    };
    let bank = Bank::new(1_000);
    let airline = Reservations::new("airline", "TP-14C-");
    let hotels = Reservations::new("Hotel Avenida", "room-").timing_out(5);

    println!(
        "Booking {} nights in {} for {} ({} EUR); the bank holds {} EUR.\n",
        order.nights,
        order.destination,
        order.customer,
        order.price,
        bank.balance()
    );

    let mut saga = Saga::new("holiday booking")
        .step(
            Link::new("debit customer", |trip: &mut Trip| {
                let payment = bank.charge(order.price)?;
                trip.payment = Some(payment.clone());
                Ok(payment)
            })
            .compensate(|_, payment| {
                bank.refund(payment.unwrap(), order.price);
                Ok(())
            }),
        )
        .step(
            Link::new("book flight", |trip: &mut Trip| {
                let seat = airline.reserve(&order.customer)?;
                trip.flight = Some(seat.clone());
                Ok(seat)
            })
            .compensate(|_, seat| {
                airline.cancel(seat.unwrap());
                Ok(())
            }),
        )
        .step(
            Link::new("book hotel", |trip: &mut Trip| {
                let room = hotels.reserve(&order.customer)?;
                trip.hotel = Some(room.clone());
                Ok(room)
            })
            .compensate(|_, room| {
                hotels.cancel(room.unwrap());
                Ok(())
            })
            .retry(
                Retry::times(2)
                    .exponential(Duration::from_millis(50))
                    .transient_only(),
            ),
        );

    let narrator = observe_fn(|event: &Event<'_, BookingError>| match event {
        Event::AttemptSucceeded { step, attempt } => {
            println!("  ok    {:<16} (attempt {attempt})", step.name);
        }
        Event::AttemptFailed {
            step,
            attempt,
            error,
            retry_in,
        } => match retry_in {
            Some(delay) => println!(
                "  retry {:<16} attempt {attempt}: {error}; again in {delay:?}",
                step.name
            ),
            None => println!(
                "  FAIL  {:<16} attempt {attempt}: {error}; giving up",
                step.name
            ),
        },
        Event::CompensationSucceeded { step, .. } => {
            println!("  undo  {:<16} compensated", step.name)
        }
        Event::CompensationFailed { step, error, .. } => {
            println!("  STUCK {:<16} compensation failed: {error:?}", step.name);
        }
        _ => {}
    });
    let mut executor = Executor::new().with_observer((narrator, Report::new(SystemClock)));

    let mut trip = Trip::default();
    let result = saga.run(&mut executor, &mut trip);

    println!();
    match &result {
        Ok(()) => println!("Booked: {trip:?}"),
        Err(SagaError::Compensated { failure }) => {
            println!("Not booked, and nothing left behind: {failure}.");
        }
        Err(error) => println!("Not booked, and some steps could not be undone: {error}"),
    }
    let (_, report) = executor.into_observer();
    println!("\n{report}");
    println!(
        "The world afterwards: the bank holds {} EUR; flights held: {:?}; rooms held: {:?}.",
        bank.balance(),
        airline.held(),
        hotels.held()
    );
}
