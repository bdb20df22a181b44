//! The backup file reader that events restore checks a file with, on any bytes.
#![no_main]

#[path = "../../tests/checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    checks::backup_file(data);
});
