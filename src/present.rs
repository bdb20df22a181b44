//! How sessions look to people and programs outside the calendar: the JSON object
//! of `upcoming --json` and `/api/sessions`, the terminal table, and which stored
//! sessions a view selects (upcoming, or the feed's window).
//!
//! Knows the model and the filter; not HTML, not iCalendar, not the store's layout.

use crate::feed::{self, FeedOptions};
use crate::model::{Status, StoredSession};
use crate::query::Filter;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::Serialize;

/// How far back the feed keeps past sessions, so a calendar keeps recent history.
pub const FEED_PAST_DAYS: i64 = 30;

/// The JSON shape of one session.
#[derive(Debug, Clone, Serialize)]
pub struct SessionJson {
    pub uid: String,
    pub source: String,
    pub event_id: String,
    pub title: String,
    pub category: Option<String>,
    pub level: Option<String>,
    pub start: String,
    pub end: String,
    pub timezone: String,
    pub location: Option<String>,
    pub online: bool,
    pub status: Status,
    pub spaces_left: Option<u32>,
    pub capacity: Option<u32>,
    pub waitlist: bool,
    pub places: String,
    pub url: String,
    pub prerequisites: Option<String>,
    pub description: Option<String>,
    pub sequence: u32,
    pub first_seen: String,
    pub last_changed: String,
}

impl SessionJson {
    pub fn from_stored(s: &StoredSession) -> Self {
        let x = &s.session;
        SessionJson {
            uid: s.uid.0.clone(),
            source: x.source.clone(),
            event_id: x.event_id.clone(),
            title: x.title.clone(),
            category: x.category.clone(),
            level: x.level.clone(),
            start: rfc3339(x.start),
            end: rfc3339(x.end),
            timezone: x.timezone.clone(),
            location: x.venue.clone(),
            online: x.online,
            status: x.status,
            spaces_left: x.availability.spaces_left,
            capacity: x.availability.capacity,
            waitlist: x.availability.waitlist,
            places: feed::places_label(x),
            url: x.url.clone(),
            prerequisites: x.prerequisites.clone(),
            description: x.description.clone(),
            sequence: s.sequence,
            first_seen: rfc3339(s.first_seen),
            last_changed: rfc3339(s.last_changed),
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Sessions still to come (or under way), withdrawn ones left out, soonest first.
pub fn upcoming(all: &[StoredSession], filter: &Filter, now: DateTime<Utc>) -> Vec<StoredSession> {
    let mut v: Vec<StoredSession> = all
        .iter()
        .filter(|s| s.session.end > now && s.session.status != Status::Withdrawn)
        .filter(|s| filter.matches(s, now))
        .cloned()
        .collect();
    sort(&mut v);
    v
}

/// Sessions a feed holds: from `FEED_PAST_DAYS` ago on, cancelled and withdrawn
/// ones included (clients show them struck through or drop them). Borrowed from
/// `all`, in no particular order (the feed sorts): a feed of the whole store
/// copies no session.
pub fn feed_window<'a>(
    all: &'a [StoredSession],
    filter: &Filter,
    now: DateTime<Utc>,
) -> Vec<&'a StoredSession> {
    let from = now - Duration::days(FEED_PAST_DAYS);
    // "Only with places" must not hide that a session was called off.
    let called_off = filter.available.then(|| Filter {
        available: false,
        ..filter.clone()
    });
    all.iter()
        .filter(|s| s.session.end >= from)
        .filter(|s| {
            filter.matches(s, now)
                || called_off
                    .as_ref()
                    .is_some_and(|f| s.session.status.is_off() && f.matches(s, now))
        })
        .collect()
}

fn sort(v: &mut [StoredSession]) {
    v.sort_by(|a, b| (a.session.start, &a.uid).cmp(&(b.session.start, &b.uid)));
}

/// How often calendar clients are asked to refresh a feed.
pub const FEED_REFRESH: std::time::Duration = std::time::Duration::from_secs(3600);

/// A feed's name and refresh, the one place they are decided: the sources that
/// have sessions (most sessions first, then by id) and the filter in words, e.g.
/// `WSP & VRP training — Child Neglect`.
pub fn feed_options(all: &[StoredSession], filter: &Filter) -> FeedOptions {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for s in all {
        *counts.entry(s.session.source.as_str()).or_default() += 1;
    }
    let mut ids: Vec<(&str, usize)> = counts.into_iter().collect();
    ids.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut ids: Vec<String> = ids.into_iter().map(|(id, _)| id.to_string()).collect();
    if let Some(only) = &filter.source {
        ids = vec![only.clone()];
    }
    let who = if ids.is_empty() {
        "Safeguarding".to_string()
    } else {
        ids.iter()
            .map(|i| i.to_uppercase())
            .collect::<Vec<_>>()
            .join(" & ")
    };
    let rest = Filter {
        source: None,
        ..filter.clone()
    };
    let name = match rest.describe() {
        Some(d) => format!("{who} training — {d}"),
        None => format!("{who} training"),
    };
    FeedOptions {
        name,
        description: Some(
            "Safeguarding training sessions with the places left, refreshed from the booking sites."
                .into(),
        ),
        refresh: FEED_REFRESH,
    }
}

/// Time zone of a session for display (its source's), UTC if the name is unknown.
pub fn zone(s: &StoredSession) -> Tz {
    s.session.timezone.parse().unwrap_or(chrono_tz::UTC)
}

/// The terminal table of `events upcoming`.
pub fn table(sessions: &[StoredSession]) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "DATE".into(),
        "TIME".into(),
        "TITLE".into(),
        "SOURCE".into(),
        "WHERE".into(),
        "PLACES".into(),
    ]];
    for s in sessions {
        let tz = zone(s);
        let start = s.session.start.with_timezone(&tz);
        let end = s.session.end.with_timezone(&tz);
        rows.push([
            start.format("%a %d %b %Y").to_string(),
            format!("{}-{}", start.format("%H:%M"), end.format("%H:%M")),
            clip(&s.session.title, 48),
            s.session.source.clone(),
            clip(
                &s.session.venue.clone().unwrap_or_else(|| {
                    if s.session.online {
                        "Online".into()
                    } else {
                        "-".into()
                    }
                }),
                32,
            ),
            feed::places_label(&s.session),
        ]);
    }
    columns(&rows)
}

/// Lays rows out in columns two spaces apart (widths in characters); the first
/// row is the header.
pub fn columns<R: AsRef<[String]>>(rows: &[R]) -> String {
    let n = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.as_ref().get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .as_ref()
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Shortens to `max` characters (never inside a character), flattening newlines.
pub fn clip(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        let mut t: String = flat.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// "just now", "5 minutes ago", "2 hours ago", "yesterday", "3 days ago", or
/// "on 3 November 2026" for anything older than a week.
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> String {
    let d = now - t;
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    // A clock a little behind the crawler's still reads as "just now".
    if d < Duration::minutes(1) {
        "just now".into()
    } else if d < Duration::hours(1) {
        plural(d.num_minutes(), "minute")
    } else if d < Duration::days(1) {
        plural(d.num_hours(), "hour")
    } else if d < Duration::days(2) {
        "yesterday".into()
    } else if d < Duration::days(7) {
        plural(d.num_days(), "day")
    } else {
        format!("on {}", t.with_timezone(&tz).format("%-d %B %Y"))
    }
}
