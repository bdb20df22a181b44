//! The iCalendar reader: arbitrary bodies, and two shapes it must stay bounded
//! on whatever the bytes say: a repeating event whose `RRULE` and `DTSTART`
//! come from the input (`R…`), and components nested as deep as the input is
//! long (`N…`). libFuzzer's `-timeout` makes a slow input a failure.
#![no_main]

use events::platforms::ical::parse_feed_within;
use events::platforms::SourceContext;

fn ctx() -> SourceContext {
    SourceContext {
        source_id: "fuzz".into(),
        timezone: chrono_tz::Europe::London,
        now: chrono::DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
        probe: Default::default(),
    }
}

fn body(data: &[u8]) -> String {
    let text = String::from_utf8_lossy(data);
    match data.first() {
        Some(b'R') => {
            let (start, rule) = text[1..].split_once('|').unwrap_or(("19000101T000000Z", &text[1..]));
            format!(
                "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:r\r\nDTSTART:{start}\r\nRRULE:{rule}\r\nSUMMARY:r\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
            )
        }
        Some(b'N') => {
            let depth = data.len() * 50;
            format!(
                "BEGIN:VCALENDAR\r\n{}{}END:VCALENDAR\r\n",
                "BEGIN:X\r\n".repeat(depth),
                "END:X\r\n".repeat(depth / 2)
            )
        }
        _ => text.into_owned(),
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let url = url::Url::parse("https://feed.example/cal.ics").unwrap();
    if let Ok(feed) = parse_feed_within(&body(data), &url, &ctx(), 5_000) {
        assert!(feed.sessions.len() <= 5_000);
    }
});
