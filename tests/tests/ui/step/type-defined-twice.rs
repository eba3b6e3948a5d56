use tale::step;

#[derive(Debug)]
pub struct Flight;
#[derive(Debug)]
pub struct BookingError;

// rustc's error, at the name in `type = ...`: the struct is declared where the
// function is, next to the module's other items.
pub struct BookSeat;

#[step(type = BookSeat)]
fn book_seat(_flight: &Flight) -> Result<u32, BookingError> {
    Ok(1)
}

fn main() {}
