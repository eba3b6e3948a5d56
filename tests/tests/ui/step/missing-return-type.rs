use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step]
fn log_order(order: &Order) {
    println!("{order:?}");
}

fn main() {}
