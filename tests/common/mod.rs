//! Helpers shared by the integration tests: running the `events` binary with a
//! frozen clock, reading its JSON, and capturing what the code logs; servers
//! on loopback ([`servers`]), sessions to fill a store with ([`sessions`]),
//! mock web sites ([`web`]), what a directory holds ([`files`]) and the
//! other programs some tests read output with ([`tools`]).
#![allow(dead_code)] // each test file uses its own subset

pub mod files;
pub mod servers;
pub mod sessions;
pub mod tools;
pub mod web;

use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::process::Output;
use std::sync::{Arc, Mutex};

/// The `events` binary with its sources, store and clock set, and the
/// Eventbrite token set to `token` (or removed).
pub fn events_command(
    sources: &Path,
    data: &Path,
    now: &str,
    token: Option<&str>,
    args: &[&str],
) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_events"));
    c.arg("--sources")
        .arg(sources)
        .arg("--data")
        .arg(data)
        .args(args)
        .env("EVENTS_NOW", now);
    match token {
        Some(t) => c.env("EVENTBRITE_TOKEN", t),
        None => c.env_remove("EVENTBRITE_TOKEN"),
    };
    c
}

/// Runs `events` to the end and returns what it printed.
pub async fn events(
    sources: &Path,
    data: &Path,
    now: &str,
    token: Option<&str>,
    args: &[&str],
) -> Output {
    events_command(sources, data, now, token, args)
        .output()
        .await
        .expect("the events binary runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// The JSON array a successful `upcoming --json` printed.
pub fn json_list(o: &Output) -> Vec<Value> {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice::<Value>(&o.stdout)
        .expect("stdout is JSON")
        .as_array()
        .expect("a JSON array")
        .clone()
}

/// Runs `f` and returns what it logged at warning level or above.
pub fn capture_warnings<T>(f: impl FnOnce() -> T) -> (T, String) {
    capture_logs(tracing::Level::WARN, f)
}

/// Runs `f` and returns what it logged at `level` or above.
pub fn capture_logs<T>(level: tracing::Level, f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // Tests run on several threads; a log site first hit on a thread with no
    // subscriber would otherwise be cached as uninteresting for every thread. A
    // global subscriber that wants what is captured (and writes it nowhere)
    // prevents that.
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::INFO)
                .with_writer(std::io::sink)
                .finish(),
        );
    });
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(level)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buf.0.lock().unwrap()).to_string();
    (out, text)
}

/// A feed parsed by the independent `ical` crate: exactly one calendar.
pub fn parse_one_calendar(text: &str) -> ical::parser::ical::component::IcalCalendar {
    let mut parser = ical::IcalParser::new(text.as_bytes());
    let cal = parser
        .next()
        .expect("one calendar")
        .expect("the ical crate parses the feed");
    assert!(parser.next().is_none(), "one VCALENDAR expected");
    cal
}

/// The UIDs of a calendar's events, in order.
pub fn uids(cal: &ical::parser::ical::component::IcalCalendar) -> Vec<String> {
    cal.events
        .iter()
        .filter_map(|e| e.properties.iter().find(|p| p.name == "UID"))
        .filter_map(|p| p.value.clone())
        .collect()
}

/// Writes `dir/wsp.toml`: an event-booking source at `base` with the given rate.
pub fn write_wsp_source(dir: &Path, base: &url::Url, requests_per_second: u32) {
    std::fs::write(
        dir.join("wsp.toml"),
        format!(
            "id = \"wsp\"\nname = \"Walsall Safeguarding Partnership\"\nkind = \"event-booking\"\nbase_url = \"{base}\"\nrequests_per_second = {requests_per_second}\n"
        ),
    )
    .expect("writing the source file");
}

/// The clock every reader test freezes: fixtures are read as of this instant.
pub const READ_AT: &str = "2026-12-01T09:00:00Z";

/// An RFC 3339 time in a test, as UTC.
pub fn utc(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("test time")
        .with_timezone(&chrono::Utc)
}

/// What a platform's reader is given in the reader tests: the source id,
/// London, and the frozen clock [`READ_AT`].
pub fn reader_context(source_id: &str) -> events::platforms::SourceContext {
    events::platforms::SourceContext {
        source_id: source_id.into(),
        timezone: chrono_tz::Europe::London,
        now: utc(READ_AT),
        probe: Default::default(),
    }
}

/// The bytes of `tests/fixtures/<dir>/<name>`.
pub fn fixture_bytes(dir: &str, name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// The text of `tests/fixtures/<dir>/<name>`.
pub fn fixture_text(dir: &str, name: &str) -> String {
    String::from_utf8(fixture_bytes(dir, name)).expect("fixtures are UTF-8")
}
