//! The booking site's detail page parser.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::booking_detail(&String::from_utf8_lossy(data));
});
