//! Shared fixtures of the test suite in `tests/`.
