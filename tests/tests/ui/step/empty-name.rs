use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(name = "")]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {}
