use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(compensate = release, uncertain)]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

// An uncertain step's compensation gets `Option<&u32>`.
fn release(_order: &Order, _reserved: &u32) -> Result<(), BookingError> {
    Ok(())
}

fn main() {}
