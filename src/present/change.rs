//! How a change reads to people: its title line, when it is (and was), its
//! places in words, its JSON shape (`events changes --json`, `/api/changes`)
//! and its row in the terminal table of `events changes`.
//!
//! Owns wording only; what a change is, and which changes a view selects, is
//! `changes`.

use crate::changes::{Change, ChangeKind};
use crate::model::Status;
use crate::present;
use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// A change in words. A trait so the words read as the change's own
/// (`c.title_line()`) while `changes` stays data.
pub trait ChangeWords {
    /// What people read first, in the session's own zone: "Places freed:
    /// Understanding Neglect Level 2, Thu 31 Dec, 3 places".
    fn title_line(&self) -> String;
    /// "Thursday 13 May 2027, 09:30–12:30 BST" (both dates when it spans
    /// days), or "Thursday 13 May 2027, all day" (see `present::when`).
    fn when(&self) -> String;
    /// For `moved`: when it was before, in the same words as `when`.
    fn was_when(&self) -> Option<String>;
    /// "3 places", "1 place", "full", "closed", "cancelled", "places not
    /// published", …
    fn places(&self) -> String;
}

impl ChangeWords for Change {
    fn title_line(&self) -> String {
        let tz = self.zone();
        let start = self.start.with_timezone(&tz);
        let title = one_line(&self.title);
        match self.kind {
            // An all-day session has no time to move to: its day says it.
            ChangeKind::Moved if self.all_day => format!(
                "{}: {title}, now {}, all day",
                self.kind.label(),
                start.format("%a %-d %b")
            ),
            ChangeKind::Moved => format!(
                "{}: {title}, now {}",
                self.kind.label(),
                start.format("%a %-d %b %H:%M")
            ),
            ChangeKind::Cancelled | ChangeKind::Withdrawn | ChangeKind::Full => format!(
                "{}: {title}, {}",
                self.kind.label(),
                start.format("%a %-d %b")
            ),
            _ => format!(
                "{}: {title}, {}, {}",
                self.kind.label(),
                start.format("%a %-d %b"),
                self.places()
            ),
        }
    }

    fn when(&self) -> String {
        span(self, self.start, self.end)
    }

    fn was_when(&self) -> Option<String> {
        Some(span(self, self.previous_start?, self.previous_end?))
    }

    fn places(&self) -> String {
        if self.status == Status::Scheduled && self.spaces_left.is_none() && self.places_unpublished
        {
            return "places not published".into();
        }
        places_words(self.status, self.spaces_left, self.waitlist)
    }
}

/// `start`–`end` in the words of `c`'s kind of session.
fn span(c: &Change, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    if c.all_day {
        present::all_day_span(start, end, c.zone())
    } else {
        present::span(start, end, c.zone())
    }
}

fn places_words(status: Status, spaces: Option<u32>, waitlist: bool) -> String {
    match status {
        Status::Withdrawn => "withdrawn".into(),
        Status::Cancelled => "cancelled".into(),
        Status::Closed => "booking closed".into(),
        Status::Full if waitlist => "full, waiting list".into(),
        Status::Full => "full".into(),
        Status::Scheduled => match spaces {
            Some(0) if waitlist => "full, waiting list".into(),
            Some(0) => "full".into(),
            Some(1) => "1 place".into(),
            Some(n) => format!("{n} places"),
            None => "places available".into(),
        },
    }
}

/// Text on one line: control characters dropped, whitespace runs collapsed.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A `--since` in words: "7 days", "1 hour", else humantime's form ("90m").
pub fn since_words(d: std::time::Duration) -> String {
    let s = d.as_secs();
    let plural = |n: u64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    if s > 0 && s.is_multiple_of(86_400) {
        plural(s / 86_400, "day")
    } else if s > 0 && s.is_multiple_of(3600) {
        plural(s / 3600, "hour")
    } else {
        humantime::format_duration(d).to_string()
    }
}

/// The JSON shape of one change in `events changes --json` and `/api/changes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeJson {
    /// The session's calendar UID.
    pub uid: String,
    /// The source file's id.
    pub source: String,
    /// The session's title after the change.
    pub title: String,
    /// Its start after the change (RFC 3339, UTC).
    pub start: String,
    /// Its end after the change (RFC 3339, UTC; for an all-day session the
    /// midnight after its last day).
    pub end: String,
    /// A whole-day session: `start` and `end` are midnights in its zone.
    pub all_day: bool,
    /// What changed.
    pub kind: ChangeKind,
    /// When the crawl that saw it was merged (RFC 3339, UTC).
    pub at: String,
    /// Its status after the change.
    pub status: Status,
    /// Places left after the change, when the source says.
    pub spaces_left: Option<u32>,
    /// Availability after the change in the words the table and the
    /// changes feed use, e.g. `3 places` or `places not published`.
    pub places: String,
    /// IANA name of the zone its times are shown in, e.g. `Europe/London`.
    pub timezone: String,
    /// Where people book.
    pub url: String,
}

impl From<&Change> for ChangeJson {
    fn from(c: &Change) -> Self {
        let t = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        ChangeJson {
            uid: c.uid.0.clone(),
            source: c.source.clone(),
            title: c.title.clone(),
            start: t(c.start),
            end: t(c.end),
            all_day: c.all_day,
            kind: c.kind,
            at: t(c.at),
            status: c.status,
            spaces_left: c.spaces_left,
            places: c.places(),
            timezone: c.timezone.clone(),
            url: c.url.clone(),
        }
    }
}

/// The terminal table of `events changes`, newest first as given, from the
/// changes' JSON shape (what a server's `/api/changes` sends); every cell
/// goes through `present::columns`, which makes site text terminal-safe.
pub fn table(changes: &[ChangeJson]) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "WHEN SEEN".into(),
        "CHANGE".into(),
        "SESSION".into(),
        "TITLE".into(),
        "SOURCE".into(),
        "PLACES".into(),
    ]];
    for c in changes {
        let tz: Tz = c.timezone.parse().unwrap_or(chrono_tz::UTC);
        let local = |t: &str, format: &str| match present::utc(t) {
            Some(t) => t.with_timezone(&tz).format(format).to_string(),
            // Not an instant (a server of another version): shown as sent.
            None => t.to_string(),
        };
        rows.push([
            local(&c.at, "%a %d %b %H:%M"),
            c.kind.as_str().to_string(),
            if c.all_day {
                local(&c.start, "%a %d %b %Y, all day")
            } else {
                local(&c.start, "%a %d %b %Y %H:%M")
            },
            present::clip(&c.title, 48),
            c.source.clone(),
            c.places.clone(),
        ]);
    }
    present::columns(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::tests::session;
    use crate::model::Availability;
    use chrono::{TimeDelta, TimeZone};
    use ChangeKind::*;
    use Status::{Full as F, Scheduled as S, Withdrawn as W};

    #[test]
    fn titles_in_the_sessions_own_zone() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap();
        let old = session(F, Some(0));
        let new = session(S, Some(3));
        let c = &Change::between(at, Some(&old), &new)[0];
        assert_eq!(
            c.title_line(),
            "Places freed: Understanding Neglect Level 2, Thu 13 May, 3 places"
        );
        assert_eq!(c.when(), "Thursday 13 May 2027, 09:30–12:30 BST");
        let mut moved = new.clone();
        moved.start = Utc.with_ymd_and_hms(2027, 1, 5, 23, 30, 0).unwrap();
        moved.end = moved.start + TimeDelta::hours(2);
        moved.title = "Line\none\u{7}".into();
        let m = &Change::between(at, Some(&new), &moved)[0];
        assert_eq!(m.kind, Moved);
        assert_eq!(m.title_line(), "Moved: Line one, now Tue 5 Jan 23:30");
        assert_eq!(m.previous_start, Some(new.start));
        assert_eq!(
            m.was_when().as_deref(),
            Some("Thursday 13 May 2027, 09:30–12:30 BST")
        );
        assert_eq!(
            m.when(),
            "Tuesday 5 January 2027, 23:30 – Wednesday 6 January 2027, 01:30 GMT"
        );
        let n = &Change::between(at, None, &new)[0];
        assert_eq!(n.kind, New);
        assert_eq!(n.previous_start, None);
        let mut gone = new.clone();
        gone.status = W;
        assert_eq!(
            Change::between(at, Some(&new), &gone)[0].title_line(),
            "Withdrawn: Understanding Neglect Level 2, Thu 13 May"
        );
    }

    #[test]
    fn since_in_words() {
        use std::time::Duration as D;
        assert_eq!(since_words(D::from_secs(7 * 86_400)), "7 days");
        assert_eq!(since_words(D::from_secs(3600)), "1 hour");
        assert_eq!(since_words(D::from_secs(90 * 60)), "1h 30m");
    }

    #[test]
    fn the_table_is_terminal_safe() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap();
        let mut s = session(S, Some(12));
        s.title = "\u{1b}]0;owned\u{7}Evil\u{1b}[31m title".into();
        let out = table(&[ChangeJson::from(&Change::new(New, at, None, &s))]);
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(
            out.contains("Evil title") && out.contains("12 places"),
            "{out}"
        );
        assert!(out.contains("Tue 01 Dec 11:00  new"), "{out}");
    }

    #[test]
    fn all_day_and_unpublished_sessions_read_as_their_source_said() {
        let at = Utc.with_ymd_and_hms(2027, 2, 1, 11, 0, 0).unwrap();
        let midnight = |d: u32| Utc.with_ymd_and_hms(2027, 3, d, 0, 0, 0).unwrap();
        let mut old = session(S, None);
        old.availability = Availability::unknown();
        old.all_day = true;
        old.start = midnight(3);
        old.end = midnight(4);
        let mut new = old.clone();
        new.start = midnight(10);
        new.end = midnight(13);
        let c = &Change::between(at, Some(&old), &new)[0];
        assert_eq!(c.kind, Moved);
        assert_eq!(
            c.title_line(),
            "Moved: Understanding Neglect Level 2, now Wed 10 Mar, all day"
        );
        assert_eq!(c.when(), "Wednesday 10 – Friday 12 March 2027, all day");
        assert_eq!(
            c.was_when().as_deref(),
            Some("Wednesday 3 March 2027, all day")
        );
        assert!(table(&[ChangeJson::from(c)]).contains("Wed 10 Mar 2027, all day"));
        let json = serde_json::to_value(ChangeJson::from(c)).unwrap();
        assert_eq!(json["all_day"], true);
        let fresh = Change::new(New, at, None, &new);
        assert_eq!(
            fresh.title_line(),
            "New: Understanding Neglect Level 2, Wed 10 Mar, places not published"
        );
        assert!(fresh.session().all_day && fresh.session().availability.unpublished);
        // Changes recorded before these fields read as before.
        let mut v = serde_json::to_value(&fresh).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("all_day");
        o.remove("places_unpublished");
        let old_record: Change = serde_json::from_value(v).unwrap();
        assert!(!old_record.all_day);
        assert_eq!(old_record.places(), "places available");
    }
}
