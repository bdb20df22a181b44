//! The fast writer: a feed written straight into one buffer, content line by
//! content line, escaping and folding as it goes (`render`), in parts that the
//! event-block cache reuses (`write_head`, `write_event`).
//!
//! Owns: the syntax and order of the calendar's lines and of each VEVENT's,
//! and the format of date-time values. Does not own: what the lines say
//! (`calendar`, `event`, `wording`), the byte-level rules (`text`), reuse of
//! rendered events (`blocks`), or the crate-built reference it is checked
//! against (`tests/reference`).

use super::calendar::{calendar_properties, dedupe_sorted, CalValue, CalendarFrame};
use super::event::{EventFields, EventTimes};
use super::text::{fold_into, push_escaped};
use super::FeedOptions;
use crate::model::StoredSession;
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use std::borrow::Borrow;
use std::fmt::Write as _;

/// Renders sessions as an iCalendar feed. Sorts by (start, uid) itself, so the
/// order of `sessions` does not matter; the same input gives the same bytes.
///
/// This is the hot path of every feed request, so it writes content lines
/// straight into one buffer (escaping and folding as it goes) instead of
/// building the `icalendar` crate's model: the crate allocates a map, a
/// `String` per property and a folded copy of every line, and its folding
/// walks each line by characters from the start for every fold, so at 10,000
/// sessions it was several times slower than the whole rest of a request.
/// The tests' reference (`tests/reference`) builds the same calendar from the
/// same [`parts`](super::parts) through the crate, and `tests/feed.rs` checks
/// that both parse to the same events.
#[must_use]
pub fn render<S: Borrow<StoredSession>>(sessions: &[S], opts: &FeedOptions) -> String {
    let sessions = dedupe_sorted(sessions);
    // Times first (the VTIMEZONEs, written before any event, depend on them);
    // each event's text is then built, written and dropped one at a time.
    let times: Vec<EventTimes> = sessions
        .iter()
        .map(|st| EventTimes::of(&st.session))
        .collect();
    let frame = CalendarFrame::of(&times);

    // About 900 octets a VEVENT, so the buffer rarely grows (and never doubles
    // twice): growth would briefly hold two copies of a 10 MB feed.
    let mut out = String::with_capacity(2048 + frame.vtimezones.len() * 40 + times.len() * 900);
    let mut line = String::with_capacity(4096);
    write_head(&mut out, &mut line, opts, &frame);
    for (st, t) in sessions.iter().zip(&times) {
        write_event(&mut out, &mut line, &EventFields::of(st, *t));
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// `BEGIN:VCALENDAR`, the calendar's properties and its VTIMEZONEs.
pub(super) fn write_head(
    out: &mut String,
    line: &mut String,
    opts: &FeedOptions,
    frame: &CalendarFrame,
) {
    out.push_str("BEGIN:VCALENDAR\r\n");
    for (name, value) in calendar_properties(opts, frame.zone) {
        line.push_str(name);
        match value {
            CalValue::Text(t) => {
                line.push(':');
                push_escaped(line, &t);
            }
            CalValue::Raw(r) => {
                line.push(':');
                line.push_str(&r);
            }
            CalValue::Duration(d) => {
                line.push_str(";VALUE=DURATION:");
                line.push_str(&d);
            }
        }
        fold_into(out, line);
        line.clear();
    }
    for tz_line in &frame.vtimezones {
        fold_into(out, tz_line);
    }
}

/// Writes one VEVENT. Properties come in the order the `icalendar` crate
/// writes them (by name), so the two writers' outputs can be compared line by line.
pub(super) fn write_event(out: &mut String, line: &mut String, ev: &EventFields<'_>) {
    let mut put = |line: &mut String| {
        fold_into(out, line);
        line.clear();
    };
    line.push_str("BEGIN:VEVENT");
    put(line);
    if let Some(cat) = &ev.category {
        line.push_str("CATEGORIES:");
        push_escaped(line, cat);
        put(line);
    }
    line.push_str("DESCRIPTION:");
    push_escaped(line, &ev.description);
    put(line);
    push_time(line, "DTEND", ev.times, false);
    put(line);
    line.push_str("DTSTAMP:");
    push_utc(line, ev.dtstamp);
    put(line);
    push_time(line, "DTSTART", ev.times, true);
    put(line);
    if let Some(loc) = &ev.location {
        line.push_str("LOCATION:");
        push_escaped(line, loc);
        put(line);
    }
    let _ = write!(line, "SEQUENCE:{}", ev.sequence);
    put(line);
    line.push_str(if ev.cancelled {
        "STATUS:CANCELLED"
    } else {
        "STATUS:CONFIRMED"
    });
    put(line);
    line.push_str("SUMMARY:");
    push_escaped(line, &ev.summary);
    put(line);
    // These are sessions to consider booking, not time the subscriber is busy.
    line.push_str("TRANSP:TRANSPARENT");
    put(line);
    line.push_str("UID:");
    push_escaped(line, ev.uid);
    put(line);
    if let Some(url) = &ev.url {
        line.push_str("URL:");
        line.push_str(url);
        put(line);
    }
    line.push_str("END:VEVENT");
    put(line);
}

/// `DTSTART;TZID=Europe/London:20270715T093000` or `DTSTART:20270715T083000Z`.
fn push_time(line: &mut String, name: &str, times: EventTimes, start: bool) {
    line.push_str(name);
    match times {
        EventTimes::Zoned(tz, a, b) => {
            line.push_str(";TZID=");
            line.push_str(tz.name());
            line.push(':');
            push_local(line, if start { a } else { b });
        }
        EventTimes::Utc(a, b) => {
            line.push(':');
            push_utc(line, if start { a } else { b });
        }
        EventTimes::Dates(a, b) => {
            let d = if start { a } else { b };
            let _ = write!(
                line,
                ";VALUE=DATE:{:04}{:02}{:02}",
                d.year(),
                d.month(),
                d.day()
            );
        }
    }
}

/// `20270715T093000`.
fn push_local(line: &mut String, t: NaiveDateTime) {
    let _ = write!(
        line,
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

/// `20270715T083000Z`.
fn push_utc(line: &mut String, t: DateTime<Utc>) {
    push_local(line, t.naive_utc());
    line.push('Z');
}
