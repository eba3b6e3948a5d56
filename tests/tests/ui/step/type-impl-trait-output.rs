use tale::step;

#[derive(Debug)]
pub struct Flight;
#[derive(Debug)]
pub struct BookingError;

#[step(type = BookSeat)]
fn book_seat(_flight: &Flight) -> Result<impl std::fmt::Display, BookingError> {
    Ok(1)
}

fn main() {}
