use tale::{saga, step};

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

#[step(compensate = release)]
async fn reserve(_order: &Order) -> Result<u32, BookingError> {
    Ok(1)
}

async fn release(_order: &Order, _seats: &u32) -> Result<(), BookingError> {
    Ok(())
}

#[step(pivot)]
async fn charge(_order: &Order) -> Result<u32, BookingError> {
    Ok(2)
}

fn main() {
    let order = Order;
    let _ = saga!(async {
        let (_seats, _paid) = join!(reserve(&order), charge(&order));
    });
}
