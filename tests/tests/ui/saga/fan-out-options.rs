use tale::{saga, step};

#[derive(Debug)]
pub struct BookingError;

#[step]
fn reserve(_seat: &u32) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {
    let seats = vec![1, 2];
    let _ = saga!(async {
        let _held = join!(for seat in &seats { reserve(seat) }, limit = 3);
    });
    let _ = saga! {
        let _held = join!(for seat in &seats { reserve(seat) }, max_concurrent = 3);
        let _labelled = 'outer: for seat in &seats { reserve(seat) };
    };
}
