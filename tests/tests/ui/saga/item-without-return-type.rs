use tale::{saga, step};

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

saga! {
    fn book(order: &Order) {
        reserve(order);
    }
}

fn main() {}
