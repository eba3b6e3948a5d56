use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(name = "reserve", name = "book")]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {}
