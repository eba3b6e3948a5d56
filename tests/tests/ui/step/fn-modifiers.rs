use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step]
const fn fixed(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

#[step]
unsafe fn raw(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

#[step]
extern "C" fn foreign(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {}
