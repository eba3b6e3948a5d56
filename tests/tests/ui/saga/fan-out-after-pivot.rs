use tale::{saga, step};

#[derive(Debug)]
pub struct BookingError;

#[step(pivot)]
fn charge() -> Result<u32, BookingError> {
    Ok(2)
}

#[step(compensate = release)]
fn reserve(_seat: &u32) -> Result<u32, BookingError> {
    Ok(1)
}

fn release(_seat: &u32, _held: &u32) -> Result<(), BookingError> {
    Ok(())
}

fn main() {
    let seats = vec![1, 2];
    let _ = saga! {
        let _paid = charge();
        let _held = for seat in &seats { reserve(seat) };
    };
}
