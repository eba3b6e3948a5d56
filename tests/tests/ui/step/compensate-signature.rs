use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(compensate = release)]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

// Takes the output as a `String`, but `reserve` returns a `u32`.
fn release(_order: &Order, _seats: &String) -> Result<(), BookingError> {
    Ok(())
}

fn main() {}
