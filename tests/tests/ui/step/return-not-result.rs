use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step]
fn count(_order: &Order) -> u32 {
    1
}

#[step]
async fn find(_order: &Order) -> Option<u32> {
    None
}

fn main() {}
