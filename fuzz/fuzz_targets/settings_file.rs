//! The settings file (events.toml) reader, on any bytes.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::settings_file(&String::from_utf8_lossy(data));
});
