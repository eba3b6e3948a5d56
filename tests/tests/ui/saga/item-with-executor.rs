use tale::{SagaError, saga, step};

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

saga! {
    fn book(order: &Order) -> Result<u32, SagaError<BookingError>> {
        #![saga(executor = tale::Executor::new())]
        let seats = reserve(order);
        seats
    }
}

fn main() {}
