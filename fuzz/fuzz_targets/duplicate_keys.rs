//! The keys merging matches listings on: a scraped title's course
//! (`duplicates::course_key`) and a booking link (`duplicates::link_key`).
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::duplicate_keys(&String::from_utf8_lossy(data));
});
