//! The calendar as a whole, shared by both writers: which sessions it holds and
//! in what order (`dedupe_sorted`), the zone it names and the VTIMEZONEs its
//! events need (`CalendarFrame`), and its own properties
//! (`calendar_properties`).
//!
//! Owns: the calendar-level content, down to the format of the refresh
//! interval (`ical_duration`). Does not own: each event's content
//! (`event`), how a VTIMEZONE is built (`zones`), or writing any of it
//! (`writer`, and the tests' reference).

use super::event::EventTimes;
use super::zones::vtimezone;
use super::FeedOptions;
use crate::model::StoredSession;
use chrono_tz::Tz;
use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Duration;

/// The zone named in `X-WR-TIMEZONE` when no session names a usable one.
const DEFAULT_ZONE: &str = "Europe/London";

/// Who wrote the calendar (`PRODID`).
const PRODID: &str = "-//events//Safeguarding training sessions//EN";

/// Keeps one session per UID (two with the same UID and no RECURRENCE-ID make
/// an invalid feed) and sorts by (start, uid).
pub fn dedupe_sorted<S: Borrow<StoredSession>>(sessions: &[S]) -> Vec<&StoredSession> {
    let mut by_uid: HashMap<&str, &StoredSession> = HashMap::with_capacity(sessions.len());
    for st in sessions {
        let st = st.borrow();
        let rank = |s: &StoredSession| (s.sequence, s.last_changed, s.last_seen);
        by_uid
            .entry(st.uid.as_str())
            .and_modify(|kept| {
                // The newest wins; a full tie is broken by content so that input
                // order never changes the output.
                let newer = rank(st)
                    .cmp(&rank(kept))
                    .then_with(|| format!("{st:?}").cmp(&format!("{kept:?}")));
                if newer.is_gt() {
                    *kept = st;
                }
            })
            .or_insert(st);
    }
    let mut out: Vec<&StoredSession> = by_uid.into_values().collect();
    out.sort_unstable_by(|a, b| {
        (a.session.start, a.uid.as_str()).cmp(&(b.session.start, b.uid.as_str()))
    });
    out
}

/// The calendar-level facts both writers share: the zone most sessions use
/// (`X-WR-TIMEZONE`) and the VTIMEZONE lines for every zone events use.
pub struct CalendarFrame {
    /// `X-WR-TIMEZONE`.
    pub zone: &'static str,
    /// Unfolded content lines of every VTIMEZONE.
    pub vtimezones: Vec<String>,
}

impl CalendarFrame {
    /// From every event's times.
    pub fn of(times: &[EventTimes]) -> Self {
        Self::of_years(times.iter().map(|t| t.zone_years()))
    }

    /// From each event's `EventTimes::zone_years`.
    pub(super) fn of_years(years: impl Iterator<Item = Option<(Tz, i32, i32)>>) -> Self {
        // X-WR-TIMEZONE: the zone most events use (ties broken by name, for determinism).
        let mut zone_counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        // Years (local) each zone's events span, to know which transitions to describe.
        let mut zone_years: BTreeMap<&'static str, (Tz, i32, i32)> = BTreeMap::new();
        for (tz, a, b) in years.flatten() {
            *zone_counts.entry(tz.name()).or_default() += 1;
            let e = zone_years.entry(tz.name()).or_insert((tz, a, b));
            e.1 = e.1.min(a);
            e.2 = e.2.max(b);
        }
        let zone = zone_counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map_or(DEFAULT_ZONE, |(name, _)| name);
        let vtimezones = zone_years
            .values()
            .flat_map(|&(tz, y0, y1)| vtimezone(tz, y0, y1))
            .collect();
        CalendarFrame { zone, vtimezones }
    }
}

/// A calendar property's value, by how it must be written.
pub enum CalValue {
    /// TEXT: escaped.
    Text(String),
    /// Written as it is (no character needs escaping).
    Raw(String),
    /// A DURATION with `VALUE=DURATION`.
    Duration(String),
}

/// The calendar's own properties, in the order they are written.
///
/// No `METHOD`. `METHOD` makes the calendar an iTIP (RFC 5546) scheduling
/// message, and `METHOD:PUBLISH` then requires an `ORGANIZER` in every VEVENT:
/// libical (Evolution, Cyrus) and ical4j check that and report every event of
/// a feed without one. Exchange's own published calendars keep the rule by
/// always having a real mailbox as organiser; we have none (the sessions are
/// organised by booking sites, which have no calendar address), and a made-up
/// `mailto:` makes Outlook and Apple Calendar show each session as a meeting
/// invitation from that address, offering to reply to it. A feed subscribed to
/// by URL is not a scheduling message: RFC 5545 makes `METHOD` optional, and
/// Outlook, Google Calendar, Apple Calendar and Thunderbird subscribe to feeds
/// without it (Outlook reads `METHOD` only on `.ics` files opened from mail,
/// where `REQUEST` and `PUBLISH` decide between a meeting and an appointment).
///
/// `NAME` and `DESCRIPTION` (RFC 7986) are the standard forms of the calendar's
/// name and description; `X-WR-CALNAME` and `X-WR-CALDESC` stay for the clients
/// that read only those (Outlook, Google Calendar, older Apple Calendar).
pub fn calendar_properties(opts: &FeedOptions, zone: &str) -> Vec<(&'static str, CalValue)> {
    let refresh = ical_duration(opts.refresh);
    let mut props = vec![
        ("VERSION", CalValue::Raw("2.0".into())),
        ("PRODID", CalValue::Raw(PRODID.into())),
        ("CALSCALE", CalValue::Raw("GREGORIAN".into())),
        ("NAME", CalValue::Text(opts.name.clone())),
        ("X-WR-CALNAME", CalValue::Text(opts.name.clone())),
    ];
    if let Some(desc) = &opts.description {
        props.push(("DESCRIPTION", CalValue::Text(desc.clone())));
        props.push(("X-WR-CALDESC", CalValue::Text(desc.clone())));
    }
    props.push(("X-WR-TIMEZONE", CalValue::Raw(zone.into())));
    props.push(("REFRESH-INTERVAL", CalValue::Duration(refresh.clone())));
    props.push(("X-PUBLISHED-TTL", CalValue::Raw(refresh)));
    props
}

/// An RFC 5545 DURATION such as `PT1H`, `PT30M` or `P1D`.
// icalendar lacks: `Calendar::ttl` writes chrono's `PT3600S`, which clients
// accept but people reading the feed (and our contract) expect `PT1H`.
fn ical_duration(d: Duration) -> String {
    // A zero interval would ask clients to re-fetch continuously.
    let secs = d.as_secs().max(60);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let mut out = String::from("P");
    if days > 0 {
        let _ = write!(out, "{days}D");
    }
    if rem > 0 {
        out.push('T');
        let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
        if h > 0 {
            let _ = write!(out, "{h}H");
        }
        if m > 0 {
            let _ = write!(out, "{m}M");
        }
        if s > 0 {
            let _ = write!(out, "{s}S");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(ical_duration(Duration::from_secs(3600)), "PT1H");
        assert_eq!(ical_duration(Duration::from_secs(1800)), "PT30M");
        assert_eq!(ical_duration(Duration::from_secs(86_400)), "P1D");
        assert_eq!(ical_duration(Duration::from_secs(90_061)), "P1DT1H1M1S");
        assert_eq!(ical_duration(Duration::ZERO), "PT1M");
    }
}
