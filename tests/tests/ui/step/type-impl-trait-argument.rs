use tale::step;

#[derive(Debug)]
pub struct Flight;
#[derive(Debug)]
pub struct BookingError;

#[step(type = BookSeat)]
fn book_seat(_flight: &Flight, _label: impl std::fmt::Display) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {}
