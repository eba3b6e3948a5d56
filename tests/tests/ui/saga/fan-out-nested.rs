use tale::{saga, step};

#[derive(Debug)]
pub struct BookingError;

#[step]
fn reserve(_row: &u32, _seat: &u32) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {
    let rows = vec![1, 2];
    let _ = saga! {
        let _held = for row in &rows { for seat in &rows { reserve(row, seat) } };
        let _joined = for row in &rows { join!(reserve(row, row), reserve(row, row)) };
    };
}
