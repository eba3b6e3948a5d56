use tale::{saga, step};

#[derive(Debug)]
pub struct BookingError;

#[step]
fn reserve(seats: &u32) -> Result<u32, BookingError> {
    Ok(*seats)
}

saga! {
    #![saga(durable)]
    fn saga_error(seats: &u32, _env: &()) -> Result<u32, tale::SagaError<BookingError>> {
        let reserved = reserve(seats);
        reserved
    }
}

saga! {
    #![saga(durable)]
    fn no_return_type(seats: &u32, _env: &()) {
        reserve(seats);
    }
}

fn main() {}
