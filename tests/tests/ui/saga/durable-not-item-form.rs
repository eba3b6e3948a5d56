use tale::{saga, step};

#[derive(Debug)]
pub struct BookingError;

#[step]
fn reserve(_seats: &u32) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {
    let seats = 2;
    let _ = saga! {
        #![saga(durable)]
        reserve(&seats);
    };
}
