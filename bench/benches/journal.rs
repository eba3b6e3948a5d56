//! Placeholder until the SQLite store lands: see BENCHMARKS.md.
fn main() {}
