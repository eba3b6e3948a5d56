use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(retry)]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

#[step(compensation_retry)]
fn hold(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

#[step(name)]
fn pay(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {}
