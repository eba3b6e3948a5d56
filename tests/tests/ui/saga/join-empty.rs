use tale::{saga, step};

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(compensate = release)]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

fn release(_order: &Order, _seats: &u32) -> Result<(), BookingError> {
    Ok(())
}

fn main() {
    let order = Order;
    let _ = saga! {
        reserve(&order);
        join!();
    };
}
