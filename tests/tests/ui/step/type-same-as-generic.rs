use tale::step;

#[derive(Debug)]
pub struct Flight;
#[derive(Debug)]
pub struct BookingError;

#[step(type = T)]
fn book_seat<T: Sync>(_flight: &Flight, _class: &T) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {}
