use tale::step;

#[derive(Debug)]
pub struct Order;

// Named like a `Result`, so only the type checker can tell that it is not one.
type CountResult = u32;

#[step]
fn count(_order: &Order) -> CountResult {
    1
}

fn main() {}
