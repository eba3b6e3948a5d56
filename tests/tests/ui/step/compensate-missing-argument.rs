use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(compensate = release)]
fn reserve(_order: &Order, _seats: u32) -> Result<u32, BookingError> {
    Ok(1)
}

// Forgets the step's `seats` argument.
fn release(_order: &Order, _reserved: &u32) -> Result<(), BookingError> {
    Ok(())
}

fn main() {}
