//! Renders a snapshot of stored sessions into the iCalendar (RFC 5545) feed that
//! people subscribe to in Outlook, Google Calendar, Apple Calendar and Thunderbird.
//!
//! Owns: the wording of a session's availability (`places_label`, `summary`) that
//! the CLI and the HTML page reuse, the mapping of a session onto a VEVENT, the
//! VTIMEZONE for every zone a feed uses, and the byte-level rules (escaping,
//! folding, CRLF). Rendering is a pure function of its input: no clock reads, so
//! the same snapshot always gives byte-identical output (DTSTAMP is the session's
//! `last_changed`).
//!
//! Does not own: which sessions are shown (the caller filters, see `query`),
//! where they come from (the store), or HTTP/HTML (the server). It knows nothing
//! about HTML or the store.
//!
//! The `icalendar` crate builds the calendar and events, but it falls short in
//! several places, each handled below and marked "icalendar lacks":
//! - no VTIMEZONE support at all (and any component built with it gets a random
//!   UID and a `Utc::now()` DTSTAMP), so VTIMEZONEs are generated here from
//!   chrono-tz and spliced in as text;
//! - its folding can write a 76-octet line (off by one on continuation lines),
//!   so its output is unfolded and folded again here;
//! - it escapes only `\n` in TEXT values, leaving a bare CR that breaks a line
//!   in many parsers, so text is sanitised before it reaches the crate;
//! - it writes X- properties (X-WR-CALNAME, ...) and URL without any escaping;
//! - `Calendar::ttl` formats one hour as `PT3600S`, not `PT1H`.

mod blocks;
mod calendar;
mod event;
mod text;
mod wording;
mod writer;
mod zones;

pub use blocks::{
    body_hash, render_with_blocks, BlockStats, EventBlocks, DEFAULT_EVENT_BLOCK_BYTES,
    EVENT_BLOCK_OVERHEAD,
};
pub use wording::{places_label, summary};
pub use writer::render;

use crate::model::StoredSession;
use calendar::{calendar_properties, dedupe_sorted, CalValue, CalendarFrame};
use event::{EventFields, EventTimes};
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike, EventStatus, Property};
use std::borrow::Borrow;
use std::time::Duration;
use text::{escape_text, fold_into, push_escaped, sanitize_text};

/// Calendar-level settings of one feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedOptions {
    /// Shown as the calendar's name: RFC 7986 `NAME` and `X-WR-CALNAME`. Best
    /// without `,`, `;` and `\`: most readers do not unescape `X-WR-CALNAME`.
    pub name: String,
    /// RFC 7986 `DESCRIPTION` and `X-WR-CALDESC`, when given (the same advice).
    pub description: Option<String>,
    /// How often clients should re-fetch (`REFRESH-INTERVAL` and `X-PUBLISHED-TTL`).
    pub refresh: Duration,
}

impl Default for FeedOptions {
    fn default() -> Self {
        Self {
            name: "Safeguarding training".into(),
            description: None,
            refresh: Duration::from_secs(3600),
        }
    }
}

/// The same calendar as [`render`], built through the `icalendar` crate's model
/// and written by the crate. Several times slower; kept as the reference the
/// hand-written writer is checked against (same events, same properties).
#[must_use]
pub fn render_with_crate<S: Borrow<StoredSession>>(sessions: &[S], opts: &FeedOptions) -> String {
    let sessions = dedupe_sorted(sessions);
    let times: Vec<EventTimes> = sessions
        .iter()
        .map(|st| EventTimes::of(&st.session))
        .collect();
    let events: Vec<EventFields<'_>> = sessions
        .iter()
        .zip(&times)
        .map(|(st, t)| EventFields::of(st, *t))
        .collect();
    let frame = CalendarFrame::of(&times);

    let mut cal = Calendar::empty();
    for (name, value) in calendar_properties(opts, frame.zone) {
        match value {
            // icalendar lacks: escaping of RFC 7986's NAME, which it does not
            // know to be TEXT, so it is escaped here.
            CalValue::Text(t) if name == "NAME" => {
                cal.append_property((name, escape_text(&t).as_str()))
            }
            // The crate escapes X- properties itself (since 0.17).
            CalValue::Text(t) => cal.append_property((name, sanitize_text(&t).as_str())),
            CalValue::Raw(r) => cal.append_property((name, r.as_str())),
            CalValue::Duration(d) => cal.append_property(
                Property::new(name, d.as_str())
                    .add_parameter("VALUE", "DURATION")
                    .done(),
            ),
        };
    }
    for ev in &events {
        let mut e = Event::new();
        e.uid(ev.uid)
            .sequence(ev.sequence)
            .timestamp(ev.dtstamp)
            .summary(&ev.summary)
            .description(&sanitize_text(&ev.description))
            .status(if ev.cancelled {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            })
            .add_property("TRANSP", "TRANSPARENT");
        if let Some(url) = &ev.url {
            e.url(url);
        }
        if let Some(loc) = &ev.location {
            e.location(loc);
        }
        if let Some(cat) = &ev.category {
            // CATEGORIES is a list: the crate writes it as given, so escape the one item.
            let mut item = String::new();
            push_escaped(&mut item, cat);
            e.add_property("CATEGORIES", item);
        }
        match ev.times {
            EventTimes::Zoned(tz, a, b) => {
                let with_tz = |date_time| CalendarDateTime::WithTimezone {
                    date_time,
                    tzid: tz.name().to_string(),
                };
                e.starts(with_tz(a)).ends(with_tz(b));
            }
            EventTimes::Utc(a, b) => {
                e.starts(a).ends(b);
            }
            EventTimes::Dates(a, b) => {
                e.starts(a).ends(b);
            }
        }
        cal.push(e.done());
    }

    // icalendar lacks: any VTIMEZONE. Splice ours in before the first VEVENT;
    // the crate's folds (CRLF + space) are undone and done again by `fold_into`.
    let unfolded = cal.to_string().replace("\r\n ", "");
    let mut out = String::with_capacity(unfolded.len() + unfolded.len() / 16);
    let mut spliced = false;
    for line in unfolded.split("\r\n").filter(|l| !l.is_empty()) {
        if !spliced && (line == "BEGIN:VEVENT" || line == "END:VCALENDAR") {
            for tz_line in &frame.vtimezones {
                fold_into(&mut out, tz_line);
            }
            spliced = true;
        }
        fold_into(&mut out, line);
    }
    out
}
