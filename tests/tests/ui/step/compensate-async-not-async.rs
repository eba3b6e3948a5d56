use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(compensate = release)]
async fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

// The compensation of an async step is an `async fn` too.
fn release(_order: &Order, _reserved: &u32) -> Result<(), BookingError> {
    Ok(())
}

fn main() {}
