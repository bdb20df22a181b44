//! The `after=` cursor of the paged page and API (`query::Cursor::from_param`,
//! and `Cursor::to_param` for the round trip).
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::cursor_param(&String::from_utf8_lossy(data));
});
