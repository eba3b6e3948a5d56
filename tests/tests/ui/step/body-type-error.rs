use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    let seats: u32 = "two";
    Ok(seats)
}

fn main() {}
