#[derive(Debug)]
pub struct Fail;

#[tale::step(local)]
fn count(n: u32) -> Result<u32, Fail> {
    Ok(n)
}

fn main() {}
