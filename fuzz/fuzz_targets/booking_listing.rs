//! The booking site's listing page parser, on any bytes read as the crawler reads them.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::booking_listing(&String::from_utf8_lossy(data));
});
