use tale::{saga, step};

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

// The misspelled option is the only error: the saga below still sees a step.
#[step(compensat = release)]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

fn release(_order: &Order, _seats: &u32) -> Result<(), BookingError> {
    Ok(())
}

#[step(pivot)]
fn charge(_order: &Order, seats: &u32) -> Result<u32, BookingError> {
    Ok(*seats * 10)
}

fn main() {
    let order = Order;
    let _ = saga! {
        let seats = reserve(&order);
        let paid = charge(&order, &seats);
        (seats, paid)
    };
}
