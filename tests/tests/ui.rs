//! The compile-time errors of `#[step]` and `saga!`: every message the macros emit
//! (and each type-level check in `tale::__private`) has a case under `tests/ui/`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/**/*.rs");
}
