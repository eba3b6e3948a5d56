use tale::{saga, step};

#[derive(Debug)]
pub struct Fail;

#[step]
fn noop() -> Result<(), Fail> {
    Ok(())
}

fn main() {
    let _ = saga! {
        #![saga(deadline = std::time::Duration::from_secs(1))]
        noop();
    };
}
