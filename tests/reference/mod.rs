//! The reference renderer: the same calendar as `events::feed::render`, built
//! through the `icalendar` crate's model and written by the crate
//! (`render_with_crate`). Several times slower, and used by no command: it is
//! here so that `tests/feed.rs` can check the hand-written writer against an
//! independent one, and the crate is a dev-dependency only.
//!
//! Owns: the use of the `icalendar` crate and the workarounds that only its
//! writer needs (NAME escaped, VTIMEZONEs spliced in, lines folded again; each
//! marked "icalendar lacks"). Does not own: what the calendar says
//! (`events::feed::parts`: the calendar's frame and properties, each event's
//! fields and times), or the text rules that fill the crate's other gaps.

use events::feed::parts::{
    calendar_properties, dedupe_sorted, escape_text, fold_into, push_escaped, sanitize_text,
    CalValue, CalendarFrame, EventFields, EventTimes,
};
use events::feed::FeedOptions;
use events::model::StoredSession;
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike, EventStatus, Property};
use std::borrow::Borrow;

/// The same calendar as `events::feed::render`, built through the
/// `icalendar` crate's model and written by the crate. Several times slower;
/// kept as the reference the hand-written writer is checked against (same
/// events, same properties).
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

    let mut cal = calendar_with_properties(opts, frame.zone);
    for ev in &events {
        cal.push(crate_event(ev));
    }
    splice_vtimezones(&cal.to_string(), &frame.vtimezones)
}

/// An empty calendar with the calendar's own properties.
fn calendar_with_properties(opts: &FeedOptions, zone: &str) -> Calendar {
    let mut cal = Calendar::empty();
    for (name, value) in calendar_properties(opts, zone) {
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
    cal
}

/// One VEVENT as the crate's `Event`.
fn crate_event(ev: &EventFields<'_>) -> Event {
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
    set_times(&mut e, ev.times);
    e.done()
}

/// DTSTART and DTEND: with a TZID, in UTC or as dates.
fn set_times(e: &mut Event, times: EventTimes) {
    match times {
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
}

/// The crate's text (`written`) with `vtimezones` before the first VEVENT,
/// every line folded by `fold_into`.
// icalendar lacks: any VTIMEZONE. Splice ours in before the first VEVENT;
// the crate's folds (CRLF + space) are undone and done again by `fold_into`.
fn splice_vtimezones(written: &str, vtimezones: &[String]) -> String {
    let unfolded = written.replace("\r\n ", "");
    let mut out = String::with_capacity(unfolded.len() + unfolded.len() / 16);
    let mut spliced = false;
    for line in unfolded.split("\r\n").filter(|l| !l.is_empty()) {
        if !spliced && (line == "BEGIN:VEVENT" || line == "END:VCALENDAR") {
            for tz_line in vtimezones {
                fold_into(&mut out, tz_line);
            }
            spliced = true;
        }
        fold_into(&mut out, line);
    }
    out
}
