use tale::{saga, step};

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(compensate = release)]
fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

fn release(_order: &Order, _seats: &u32) -> Result<(), BookingError> {
    Ok(())
}

#[step(pivot)]
fn charge(_order: &Order) -> Result<u32, BookingError> {
    Ok(2)
}

#[step(retriable)]
fn notify(_order: &Order) -> Result<(), BookingError> {
    Ok(())
}

fn main() {
    let order = Order;
    // Retriable branches may follow the pivot; a compensatable one may not.
    let _ = saga! {
        charge(&order);
        join!(notify(&order), reserve(&order));
    };
}
