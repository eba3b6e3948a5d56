use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(retriable, compensate = unsend)]
fn send_email(_order: &Order) -> Result<(), BookingError> {
    Ok(())
}

fn unsend(_order: &Order, _sent: &()) -> Result<(), BookingError> {
    Ok(())
}

fn main() {}
