use tale::step;

#[derive(Debug)]
pub struct Order;
#[derive(Debug)]
pub struct BookingError;

pub struct Bank;

impl Bank {
    #[step]
    fn charge(self, _order: &Order) -> Result<u32, BookingError> {
        Ok(1)
    }
}

fn main() {}
