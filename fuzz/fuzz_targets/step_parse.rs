//! `#[step(...)]` on arbitrary arguments and items: errors, never panics. The input is
//! split at its first NUL byte into the attribute's arguments and the item.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (args, item) = text.split_once('\0').unwrap_or(("", text));
        tale_fuzz::step(args, item);
    }
});
