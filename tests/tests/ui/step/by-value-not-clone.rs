use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

pub struct Ticket;

#[step]
fn issue(_order: &Order, _ticket: Ticket) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {}
