//! `saga!` on arbitrary input: errors, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        tale_fuzz::saga(text);
    }
});
