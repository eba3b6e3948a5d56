//! Procedural macros for `tale`. Use the `tale` crate instead.
