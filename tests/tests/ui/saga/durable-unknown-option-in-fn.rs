use tale::journal::Interrupted;
use tale::{saga, step};

#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct BookingError;

impl From<Interrupted> for BookingError {
    fn from(_: Interrupted) -> Self {
        BookingError
    }
}

#[step]
fn reserve(seats: &u32) -> Result<u32, BookingError> {
    Ok(*seats)
}

saga! {
    #![saga(durabel)]
    fn book(seats: &u32, _env: &()) -> Result<u32, tale::journal::DurableError<BookingError>> {
        let reserved = reserve(seats);
        reserved
    }
}

fn main() {}
