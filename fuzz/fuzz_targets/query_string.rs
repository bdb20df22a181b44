//! The query-string filter parser of `serve` (`server::parse_filter`).
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::query_string(&String::from_utf8_lossy(data));
});
