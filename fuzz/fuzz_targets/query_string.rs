//! The query-string filter codec of `serve` (`query::Filter::from_query`, and
//! `Filter::to_query` for the round trip).
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::query_string(&String::from_utf8_lossy(data));
});
