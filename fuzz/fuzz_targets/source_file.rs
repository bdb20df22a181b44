//! The source-file loader (`config::parse_source`).
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::source_file(&String::from_utf8_lossy(data));
});
