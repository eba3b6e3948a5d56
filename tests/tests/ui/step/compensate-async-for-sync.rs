use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(compensate = release)]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

// Takes the right arguments, but a sync step's compensation is a plain `fn`.
async fn release(_order: &Order, _seats: &u32) -> Result<(), BookingError> {
    Ok(())
}

fn main() {}
