//! The date, time, places and venue text parsers.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::text_parsers(&String::from_utf8_lossy(data));
});
