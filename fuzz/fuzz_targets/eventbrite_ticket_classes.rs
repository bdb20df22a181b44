//! The Eventbrite API ticket-classes parser and error-body reader.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::eventbrite_ticket_classes(data);
});
