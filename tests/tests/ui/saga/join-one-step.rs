use tale::{saga, step};

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(compensate = refund)]
fn charge(_order: &Order, amount: u32) -> Result<u32, BookingError> {
    Ok(amount)
}

fn refund(_order: &Order, _amount: u32, _paid: &u32) -> Result<(), BookingError> {
    Ok(())
}

// A `join!` of one step is that step, however its output is bound.
fn main() {
    let order = Order;
    let _ = saga! {
        let paid = join!(charge(&order, 5));
        let (tip,) = join!(charge(&order, 1));
        join!(charge(&order, 2));
        (paid, tip)
    };
}
