use tale::{saga, step};

#[derive(Debug)]
pub struct BookingError;

#[step]
fn reserve(_seat: &u32) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {
    let seats = vec![1, 2];
    let _ = saga! {
        let _held = for seat in &seats { reserve(seat); reserve(seat) };
        let _empty = for seat in &seats {};
    };
}
