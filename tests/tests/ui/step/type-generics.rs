use tale::step;

#[derive(Debug)]
pub struct Flight;
#[derive(Debug)]
pub struct BookingError;

#[step(type = BookSeat<'a>)]
fn book_seat(_flight: &Flight) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {}
