use tale::step;

#[derive(Debug)]
pub struct Flight;
#[derive(Debug)]
pub struct BookingError;

// A struct cannot be declared in an `impl` block: make the step a free function.
pub struct Airline;

impl Airline {
    #[step(type = BookSeat)]
    fn book_seat(&self, _flight: &Flight) -> Result<u32, BookingError> {
        Ok(1)
    }
}

fn main() {}
