//! Shared pieces of the runnable examples in `examples/`.
