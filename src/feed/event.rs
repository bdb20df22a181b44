//! One session as a VEVENT's content: how its start and end are written
//! (`EventTimes`: local times with a TZID, UTC, or whole days) and the value of
//! every property (`EventFields`), decided once so that both writers say the
//! same thing.
//!
//! Owns: the mapping of a session onto a VEVENT. Does not own: the words
//! (`wording`), the zone rules (`zones`), escaping and folding (`text`), or the
//! syntax and order of the lines (`writer`, and the tests' reference).

use super::text::one_line;
use super::wording::{book_link, description, location, non_empty, summary};
use super::zones::{local_time, zone_of};
use crate::model::{Session, StoredSession};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;

/// How one VEVENT's start and end are written.
#[derive(Debug, Clone, Copy)]
pub enum EventTimes {
    /// Local wall-clock times with `TZID=` the zone.
    Zoned(Tz, NaiveDateTime, NaiveDateTime),
    /// UTC (`...Z`): the zone is unknown or UTC, or a time falls in a repeated hour.
    Utc(DateTime<Utc>, DateTime<Utc>),
    /// A whole-day event: `VALUE=DATE`, the end date exclusive.
    Dates(NaiveDate, NaiveDate),
}

/// Everything one VEVENT says, decided once and written by either writer.
pub struct EventFields<'a> {
    /// `UID`.
    pub uid: &'a str,
    /// `SEQUENCE`.
    pub sequence: u32,
    /// `DTSTAMP`: when the session last changed.
    pub dtstamp: DateTime<Utc>,
    /// `DTSTART` and `DTEND`.
    pub times: EventTimes,
    /// `SUMMARY`: one line, sanitised.
    pub summary: String,
    /// `DESCRIPTION`: not yet sanitised, the writers do it.
    pub description: String,
    /// `LOCATION`, one line.
    pub location: Option<String>,
    /// The one item of `CATEGORIES`, one line, not yet escaped.
    pub category: Option<String>,
    /// `STATUS:CANCELLED` rather than `CONFIRMED`.
    pub cancelled: bool,
    /// `URL`: where a person books.
    pub url: Option<String>,
}

impl EventTimes {
    /// How `s`'s times are written.
    pub fn of(s: &Session) -> Self {
        // RFC 5545 needs DTEND after DTSTART; a source saying otherwise is wrong.
        let end = s.end.max(s.start);
        if s.all_day {
            let tz = zone_of(&s.timezone).unwrap_or(Tz::UTC);
            let a = s.start.with_timezone(&tz).date_naive();
            let b = end.with_timezone(&tz).date_naive();
            return EventTimes::Dates(a, b.max(a + chrono::Duration::days(1)));
        }
        zone_of(&s.timezone)
            .and_then(|tz| {
                Some(EventTimes::Zoned(
                    tz,
                    local_time(s.start, tz)?,
                    local_time(end, tz)?,
                ))
            })
            .unwrap_or(EventTimes::Utc(s.start, end))
    }

    /// The zone and local years this event writes with a TZID, if any.
    pub(super) fn zone_years(self) -> Option<(Tz, i32, i32)> {
        match self {
            EventTimes::Zoned(tz, a, b) => Some((tz, a.year(), b.year())),
            EventTimes::Utc(..) | EventTimes::Dates(..) => None,
        }
    }
}

impl<'a> EventFields<'a> {
    /// Everything `st` says as a VEVENT whose times are `times`.
    pub fn of(st: &'a StoredSession, times: EventTimes) -> Self {
        let s = &st.session;
        let url = book_link(s);
        EventFields {
            uid: st.uid.as_str(),
            sequence: st.sequence,
            dtstamp: st.last_changed,
            times,
            summary: summary(s),
            description: description(s, url.as_deref()),
            location: location(s),
            category: non_empty(&s.category).map(one_line),
            cancelled: s.status.is_off(),
            url,
        }
    }
}
