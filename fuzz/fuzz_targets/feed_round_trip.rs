//! The feed writer: sessions of arbitrary text rendered and read back by the `ical` crate and a strict RFC 5545 reading.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::feed_round_trip(&checks::sessions_from_bytes(data));
});
