use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

pub struct Release {
    pub seats: u32,
}

#[step(compensate = Release)]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {}
