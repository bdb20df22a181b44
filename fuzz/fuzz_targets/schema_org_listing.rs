//! The schema.org listing reader, on any bytes.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::schema_org_listing(&String::from_utf8_lossy(data));
});
