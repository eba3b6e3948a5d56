use tale::saga;

fn main() {
    let _ = saga! {};
}
