use tale::{saga, step};

#[derive(Debug)]
pub struct Fail;

#[step]
fn noop() -> Result<(), Fail> {
    Ok(())
}

fn main() {
    let _ = saga! {
        #![saga(fail_fast)]
        let (a, b) = join!(noop(), noop());
        (a, b)
    };
}
