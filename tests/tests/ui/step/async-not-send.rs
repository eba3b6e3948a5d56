use std::rc::Rc;

#[derive(Debug)]
pub struct Fail;

#[tale::step]
async fn count(counter: Rc<u32>) -> Result<u32, Fail> {
    let held = Rc::clone(&counter);
    std::future::ready(()).await;
    Ok(*held)
}

fn main() {}
