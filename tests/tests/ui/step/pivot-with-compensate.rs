use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(pivot, compensate = release)]
fn charge(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

fn release(_order: &Order, _charged: &u32) -> Result<(), BookingError> {
    Ok(())
}

fn main() {}
