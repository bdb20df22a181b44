//! The `Link` header reader `--server` clients follow parts by
//! (`remote::next_link`).
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::link_header(&String::from_utf8_lossy(data));
});
