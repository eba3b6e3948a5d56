use tale::journal::{DurableError, Interrupted};
use tale::{saga, step};

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct BookingError;

impl From<Interrupted> for BookingError {
    fn from(_: Interrupted) -> Self {
        BookingError
    }
}

/// Not `Serialize`: it cannot be recorded in the journal.
pub struct Seat;

#[step]
fn reserve(_seats: &u32) -> Result<Seat, BookingError> {
    Ok(Seat)
}

saga! {
    #![saga(durable)]
    fn book(seats: &u32, _env: &()) -> Result<(), DurableError<BookingError>> {
        reserve(seats);
    }
}

fn main() {}
