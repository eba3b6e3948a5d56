use tale::saga;

#[derive(Debug)]
pub struct BookingError;

fn main() {
    let _ = saga! {
        let total = step(|| 40 + 2);
        total
    };
}
