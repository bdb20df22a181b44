//! The Eventbrite API event list parser.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::eventbrite_api_events(data);
});
