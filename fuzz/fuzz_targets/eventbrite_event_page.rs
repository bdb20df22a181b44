//! The Eventbrite public event page parser.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::eventbrite_event_page(&String::from_utf8_lossy(data));
});
