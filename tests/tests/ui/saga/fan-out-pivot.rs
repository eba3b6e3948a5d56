use tale::{saga, step};

#[derive(Debug)]
pub struct BookingError;

#[step(pivot)]
fn charge(_amount: &u32) -> Result<u32, BookingError> {
    Ok(2)
}

fn main() {
    let amounts = vec![1, 2];
    let _ = saga! {
        let _paid = for amount in &amounts { charge(amount) };
    };
}
