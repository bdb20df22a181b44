//! How sessions look to people and programs outside the calendar: the JSON object
//! of `upcoming --json` and `/api/sessions`, the terminal table, and which stored
//! sessions a view selects (upcoming, or the feed's window).
//!
//! Knows the model and the filter; not HTML, not iCalendar, not the store's layout.

pub mod change;
pub mod duplicates;

pub use crate::terminal::{clip, columns, terminal_safe};

use crate::config::SourceConfig;
use crate::duplicates::Listing;
use crate::feed::{self, FeedOptions};
use crate::links::LinkPolicy;
use crate::model::{PlacesPublished, Session, Status, StoredSession};
use crate::query::{Cursor, Filter, Part};
use crate::site::Site;
use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How far back the feed keeps past sessions, so a calendar keeps recent history.
pub const FEED_PAST_DAYS: i64 = 30;

/// The JSON shape of one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionJson {
    /// The session's calendar UID (the feed's `UID`), stable across crawls.
    pub uid: String,
    /// The id of the source file it came from, e.g. `wsp`.
    pub source: String,
    /// The source's own id of the event; several sessions of one event share it.
    pub event_id: String,
    /// The course title as the site shows it.
    pub title: String,
    /// The site's category, e.g. `Child Neglect`; `None` when it gives none.
    pub category: Option<String>,
    /// The course level as the site words it; `None` when it gives none.
    pub level: Option<String>,
    /// When it starts: RFC 3339 in UTC, to the second.
    pub start: String,
    /// When it ends: RFC 3339 in UTC, to the second (for an all-day session,
    /// the midnight in `timezone` after its last day).
    pub end: String,
    /// IANA name of the zone its times are shown in (its source's), e.g.
    /// `Europe/London`.
    pub timezone: String,
    /// A whole-day session (a calendar's date without a time): `start` and
    /// `end` are midnights in `timezone`, `end` exclusive. `false` for a
    /// session with times.
    pub all_day: bool,
    /// The venue's name and address, or the online platform's name; `None`
    /// when the source gives neither.
    pub location: Option<String>,
    /// Held online.
    pub online: bool,
    /// Scheduled, full, closed, cancelled or withdrawn.
    pub status: Status,
    /// Places left; `None` when the source gives no number.
    pub spaces_left: Option<u32>,
    /// Places in all; `None` when the source gives no number.
    pub capacity: Option<u32>,
    /// A waiting list can be joined.
    pub waitlist: bool,
    /// What the source published about places: `number` (`spaces_left`
    /// holds it), `no-number` (it said places are available without a
    /// number) or `not-published` (it said nothing about places).
    pub availability: PlacesPublished,
    /// Availability in the words the feed and the page use, e.g. `3 places`
    /// or `FULL – waiting list`.
    pub places: String,
    /// Where a person books: the session's page on its site.
    pub url: String,
    /// What must be done first, in the site's words; `None` when it says nothing.
    pub prerequisites: Option<String>,
    /// The site's description; `None` when it gives none.
    pub description: Option<String>,
    /// The feed's `SEQUENCE`: 0 when first seen, one more each time a field a
    /// calendar shows changed.
    pub sequence: u32,
    /// When a crawl first found it: RFC 3339 in UTC.
    pub first_seen: String,
    /// When a crawl last found a field a calendar shows changed (or first found
    /// it): RFC 3339 in UTC.
    pub last_changed: String,
    /// The other sources that list this same session, merged into this
    /// entry (see `duplicates`); empty for a session listed once, and in a
    /// single source's view. Absent from the answers of older servers.
    #[serde(default)]
    pub also_listed: Vec<Listing>,
}

impl SessionJson {
    /// The JSON of a session (`/api/sessions`, `sessions.json`, `events
    /// upcoming --json`): its `url` is the link as `links` lets it be
    /// emitted, or empty when there is none.
    pub fn linked(s: &StoredSession, links: &LinkPolicy) -> SessionJson {
        let mut j = SessionJson::from_stored(s);
        match links.link(&s.session.source, &s.session.url) {
            Some(u) => j.url = u.into(),
            None => j.url.clear(),
        }
        j
    }

    /// The JSON shape of a stored session.
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
            all_day: x.all_day,
            location: x.venue.clone(),
            online: x.online,
            status: x.status,
            spaces_left: x.availability.spaces_left,
            capacity: x.availability.capacity,
            waitlist: x.availability.waitlist,
            availability: x.availability.published(),
            places: feed::places_label(x),
            url: x.url.clone(),
            prerequisites: x.prerequisites.clone(),
            description: x.description.clone(),
            sequence: s.sequence,
            first_seen: rfc3339(s.first_seen),
            last_changed: rfc3339(s.last_changed),
            also_listed: Vec::new(),
        }
    }
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Sessions still to come (or under way), withdrawn ones left out, soonest
/// first: what the page and `/api/sessions` list.
pub fn upcoming(all: &[StoredSession], filter: &Filter, now: DateTime<Utc>) -> Vec<StoredSession> {
    upcoming_where(all, filter, now, false)
}

/// Sessions still to come (or under way), withdrawn ones included, soonest
/// first: what `events upcoming` lists, so an operator (and a `--json`
/// consumer) can tell a session that vanished from its source from one that
/// never existed. `available` still leaves them out (they have no places).
pub fn upcoming_with_withdrawn(
    all: &[StoredSession],
    filter: &Filter,
    now: DateTime<Utc>,
) -> Vec<StoredSession> {
    upcoming_where(all, filter, now, true)
}

fn upcoming_where(
    all: &[StoredSession],
    filter: &Filter,
    now: DateTime<Utc>,
    withdrawn: bool,
) -> Vec<StoredSession> {
    let m = filter.matcher();
    let mut v: Vec<StoredSession> = all
        .iter()
        .filter(|s| s.session.end > now && (withdrawn || s.session.status != Status::Withdrawn))
        .filter(|s| m.matches(s, now))
        .cloned()
        .collect();
    sort(&mut v);
    v
}

/// One part of a view (see `query::part`), borrowed from the list it was
/// taken from, with the size of the whole view.
#[derive(Debug)]
pub struct ViewPart<'a> {
    /// The part's sessions, soonest first.
    pub sessions: Vec<&'a StoredSession>,
    /// Where the next part starts; `None` for the last part.
    pub next: Option<Cursor>,
    /// Sessions in the whole view, every part.
    pub total: usize,
    /// Of those, the ones before this part.
    pub before: usize,
    /// Of those, the ones whose source says places remain.
    pub with_places: usize,
}

/// One part of the upcoming sessions a view selects (withdrawn ones too
/// when `withdrawn`), from `sorted`, which must be in the order views list
/// in (start, then UID), as the server's snapshot is. One pass, counting the
/// whole view as it goes.
pub fn part_of<'a>(
    sorted: &'a [StoredSession],
    filter: &Filter,
    now: DateTime<Utc>,
    withdrawn: bool,
    part: &Part,
) -> ViewPart<'a> {
    let m = filter.matcher();
    let mut out = ViewPart {
        sessions: Vec::new(),
        next: None,
        total: 0,
        before: 0,
        with_places: 0,
    };
    let upcoming = sorted
        .iter()
        .filter(|s| s.session.end > now && (withdrawn || s.session.status != Status::Withdrawn))
        .filter(|s| m.matches(s, now));
    for s in upcoming {
        out.total += 1;
        out.with_places += usize::from(s.session.places_remain());
        if !part.after.as_ref().is_none_or(|c| c.is_before(s)) {
            out.before += 1;
            continue;
        }
        if out.sessions.len() < part.limit {
            out.sessions.push(s);
        } else if out.next.is_none() {
            out.next = out.sessions.last().map(|l| Cursor::after(l));
        }
    }
    out
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
    let (m, off) = (filter.matcher(), called_off.as_ref().map(Filter::matcher));
    all.iter()
        .filter(|s| s.session.end >= from)
        .filter(|s| {
            m.matches(s, now)
                || off
                    .as_ref()
                    .is_some_and(|f| s.session.status.is_off() && f.matches(s, now))
        })
        .collect()
}

fn sort(v: &mut [StoredSession]) {
    v.sort_by(listing_order);
}

/// The order every view lists sessions in: by start, then by UID.
pub fn listing_order(a: &StoredSession, b: &StoredSession) -> std::cmp::Ordering {
    (a.session.start, &a.uid).cmp(&(b.session.start, &b.uid))
}

/// How often calendar clients are asked to refresh a feed.
pub const FEED_REFRESH: std::time::Duration = std::time::Duration::from_secs(3600);

/// The calendar's description: worded without `,`, `;` or `\\`, which would
/// need escaping, and most readers show `X-WR-CALDESC` without unescaping.
pub const FEED_DESCRIPTION: &str =
    "Safeguarding training sessions and the places left on each as the booking sites last showed them.";

/// Most sources named in a calendar's name; past this it says how many.
pub const MAX_NAMED_SOURCES: usize = 3;

/// A feed's name, description and refresh, the one place they are decided.
///
/// The name is `events.toml`'s `title`, else built from the configured
/// sources' names (never their ids), e.g. `Walsall Safeguarding Partnership
/// & West Midlands VRP training`, or `Safeguarding training from 5 sources`
/// past [`MAX_NAMED_SOURCES`]. A view of one source is named for it; the rest
/// of the filter follows in words, e.g. `… training — Child Neglect`.
///
/// The name depends on the configuration and the filter only, never on the
/// store: a name that changes renames the subscription in people's calendars
/// and changes the feed's ETag. It holds no `,`, `;` or `\\` (see
/// [`FEED_DESCRIPTION`]): the filter's parts are joined with ` · ` and such
/// characters in a title, category or search become spaces.
pub fn feed_options(sources: &[SourceConfig], site: &Site, filter: &Filter) -> FeedOptions {
    let one = filter.source.as_deref().map(|id| {
        sources
            .iter()
            .find(|s| s.id == id)
            .map_or("one source", |s| s.name.as_str())
    });
    let who = match (&site.title, one) {
        (Some(title), Some(name)) => format!("{title} — {name}"),
        (Some(title), None) => title.clone(),
        (None, Some(name)) => format!("{name} training"),
        (None, None) => sources_title(sources),
    };
    // A category's own commas must not read as the separator.
    let rest = Filter {
        source: None,
        categories: filter.categories.iter().map(|c| plain_words(c)).collect(),
        ..filter.clone()
    };
    let name = match rest.describe() {
        Some(d) => format!("{who} — {}", plain_words(&d.replace(", ", " · "))),
        None => who,
    };
    FeedOptions {
        name: plain_words(&name),
        description: Some(
            site.description
                .clone()
                .unwrap_or_else(|| FEED_DESCRIPTION.into()),
        ),
        refresh: FEED_REFRESH,
    }
}

/// The whole calendar's name from its sources' names, sorted so the order
/// of the source files does not matter.
fn sources_title(sources: &[SourceConfig]) -> String {
    let mut names: Vec<&str> = sources.iter().map(|s| s.name.trim()).collect();
    names.sort_unstable();
    names.dedup();
    match names.len() {
        0 => "Safeguarding training".into(),
        n if n <= MAX_NAMED_SOURCES => format!("{} training", names.join(" & ")),
        n => format!("Safeguarding training from {n} sources"),
    }
}

/// `,`, `;` and `\\` as spaces, whitespace runs as one space.
fn plain_words(s: &str) -> String {
    s.replace([',', ';', '\\'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A session's time in its own zone, as the page and the changes feed say it:
/// "Tuesday 5 January 2027, 09:30–12:30 GMT", or both dates when it spans days.
pub fn span(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> String {
    let st = start.with_timezone(&tz);
    let en = end.with_timezone(&tz);
    if st.date_naive() == en.date_naive() {
        format!(
            "{}, {}–{}",
            st.format("%A %-d %B %Y"),
            st.format("%H:%M"),
            en.format("%H:%M %Z")
        )
    } else {
        format!(
            "{} – {}",
            st.format("%A %-d %B %Y, %H:%M"),
            en.format("%A %-d %B %Y, %H:%M %Z")
        )
    }
}

/// When a session is, in its own zone, as the page, the changes feed and
/// the Atom entries say it: [`span`] for a timed session; for an all-day one
/// "Wednesday 3 March 2027, all day", or its first and last days
/// ("Wednesday 3 – Friday 5 March 2027, all day"), never midnights.
pub fn when(s: &Session, tz: Tz) -> String {
    if s.all_day {
        all_day_span(s.start, s.end, tz)
    } else {
        span(s.start, s.end, tz)
    }
}

/// The first and last day of an all-day session in `tz`. Its `end` is the
/// midnight after its last day (exclusive, as iCalendar's `DTEND;VALUE=DATE`);
/// an end at or before the start counts as one day.
pub fn all_day_dates(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> (NaiveDate, NaiveDate) {
    let first = start.with_timezone(&tz).date_naive();
    let after = end.with_timezone(&tz).date_naive();
    let last = after.pred_opt().filter(|d| *d > first).unwrap_or(first);
    (first, last)
}

/// "Wednesday 3 March 2027, all day", "Wednesday 3 – Friday 5 March 2027, all
/// day", "Wednesday 31 March – Friday 2 April 2027, all day", or both years
/// when it spans New Year.
pub fn all_day_span(start: DateTime<Utc>, end: DateTime<Utc>, tz: Tz) -> String {
    let (first, last) = all_day_dates(start, end, tz);
    let days = if first == last {
        first.format("%A %-d %B %Y").to_string()
    } else if first.year() != last.year() {
        format!(
            "{} – {}",
            first.format("%A %-d %B %Y"),
            last.format("%A %-d %B %Y")
        )
    } else if first.month() != last.month() {
        format!(
            "{} – {}",
            first.format("%A %-d %B"),
            last.format("%A %-d %B %Y")
        )
    } else {
        format!(
            "{} – {}",
            first.format("%A %-d"),
            last.format("%A %-d %B %Y")
        )
    };
    format!("{days}, all day")
}

/// The TIME cell of the terminal table: "09:30-12:30", or for an all-day
/// session "all day" (one day) or "all day to Fri 05 Mar" (several).
fn table_time(start: DateTime<Utc>, end: DateTime<Utc>, all_day: bool, tz: Tz) -> String {
    if all_day {
        let (first, last) = all_day_dates(start, end, tz);
        if first == last {
            "all day".into()
        } else {
            format!("all day to {}", last.format("%a %d %b"))
        }
    } else {
        format!(
            "{}-{}",
            start.with_timezone(&tz).format("%H:%M"),
            end.with_timezone(&tz).format("%H:%M")
        )
    }
}

/// Time zone of a session for display (its source's), UTC if the name is unknown.
pub fn zone(s: &StoredSession) -> Tz {
    s.session.timezone.parse().unwrap_or(chrono_tz::UTC)
}

/// The terminal table of `events upcoming`, from the sessions' JSON shape
/// (what a server's `/api/sessions` sends), so the table is the same
/// whether the CLI read the store or asked a server.
pub fn table(sessions: &[SessionJson]) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "DATE".into(),
        "TIME".into(),
        "TITLE".into(),
        "SOURCE".into(),
        "WHERE".into(),
        "PLACES".into(),
    ]];
    for s in sessions {
        let tz: Tz = s.timezone.parse().unwrap_or(chrono_tz::UTC);
        let (Some(start), Some(end)) = (utc(&s.start), utc(&s.end)) else {
            // Not an instant (a server of another version): shown as sent.
            rows.push([
                s.start.clone(),
                String::new(),
                clip(&s.title, 48),
                source_words(s),
                clip(&where_words(s), 32),
                s.places.clone(),
            ]);
            continue;
        };
        rows.push([
            start.with_timezone(&tz).format("%a %d %b %Y").to_string(),
            table_time(start, end, s.all_day, tz),
            clip(&s.title, 48),
            source_words(s),
            clip(&where_words(s), 32),
            s.places.clone(),
        ]);
    }
    columns(&rows)
}

/// The SOURCE cell: the source, and the others that list the same session
/// (`wsp+site`), so one row says where else it is listed.
fn source_words(s: &SessionJson) -> String {
    let mut out = s.source.clone();
    for l in &s.also_listed {
        out.push('+');
        out.push_str(&l.source);
    }
    clip(&out, 24)
}

/// The WHERE cell: the venue, else "Online" or "-".
fn where_words(s: &SessionJson) -> String {
    match (&s.location, s.online) {
        (Some(v), _) => v.clone(),
        (None, true) => "Online".into(),
        (None, false) => "-".into(),
    }
}

/// An RFC 3339 instant of the JSON shapes.
pub fn utc(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(source: &str, id: &str) -> StoredSession {
        use crate::model::{Availability, Session, SessionKey};
        let t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2027, 3, 1, 9, 0, 0).unwrap();
        let session = Session {
            source: source.into(),
            event_id: id.into(),
            key: SessionKey::nth(1),
            title: "Course".into(),
            category: None,
            level: None,
            prerequisites: None,
            description: None,
            start: t,
            end: t,
            timezone: "Europe/London".into(),
            venue: None,
            online: false,
            status: Status::Scheduled,
            availability: Availability::spaces(1),
            url: "https://x.example/1".into(),
            all_day: false,
        };
        StoredSession {
            uid: session.uid(),
            session,
            first_seen: t,
            last_seen: t,
            last_changed: t,
            sequence: 0,
        }
    }

    #[test]
    fn feed_name_is_stable_and_needs_no_escaping() {
        let cfg = |id: &str, name: &str| {
            crate::config::parse_source(
                std::path::Path::new("x.toml"),
                &format!("id = \"{id}\"\nname = \"{name}\"\nkind = \"event-booking\"\nbase_url = \"https://x.example\"\n"),
            )
            .unwrap()
        };
        let sources = vec![
            cfg("wsp", "Walsall Safeguarding Partnership"),
            cfg("vrp", "West Midlands VRP"),
        ];
        let none = Site::default();
        let f = Filter::default();
        let a = feed_options(&sources, &none, &f);
        assert_eq!(
            a.name,
            "Walsall Safeguarding Partnership & West Midlands VRP training"
        );
        let reversed: Vec<_> = sources.iter().rev().cloned().collect();
        assert_eq!(a, feed_options(&reversed, &none, &f));
        assert_eq!(feed_options(&[], &none, &f).name, "Safeguarding training");
        let many: Vec<_> = ["a", "b", "c", "d"].map(|i| cfg(i, i)).into();
        assert_eq!(
            feed_options(&many, &none, &f).name,
            "Safeguarding training from 4 sources"
        );
        let one = Filter {
            source: Some("vrp".into()),
            ..Filter::default()
        };
        assert_eq!(
            feed_options(&sources, &none, &one).name,
            "West Midlands VRP training"
        );
        let site = Site {
            title: Some("Walsall, training".into()),
            description: Some("Courses in Walsall.".into()),
            ..Site::default()
        };
        assert_eq!(feed_options(&sources, &site, &f).name, "Walsall training");
        assert_eq!(
            feed_options(&sources, &site, &one).name,
            "Walsall training — West Midlands VRP"
        );
        assert_eq!(
            feed_options(&sources, &site, &f).description.as_deref(),
            Some("Courses in Walsall.")
        );
        let f = Filter {
            categories: vec!["Drugs, Alcohol; and more".into(), "Neglect".into()],
            search: Some("level\\2".into()),
            available: true,
            ..Filter::default()
        };
        let named = feed_options(&sources, &none, &f);
        assert_eq!(
            named.name,
            "Walsall Safeguarding Partnership & West Midlands VRP training — Drugs Alcohol and more · Neglect · “level 2” · with places"
        );
        for text in [named.name.as_str(), FEED_DESCRIPTION] {
            assert!(!text.contains([',', ';', '\\']), "{text}");
        }
    }

    #[test]
    fn all_day_sessions_say_all_day_never_midnights() {
        let london = chrono_tz::Europe::London;
        let midnight = |y, m, d| {
            chrono::TimeZone::with_ymd_and_hms(&london, y, m, d, 0, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        let said = |a: DateTime<Utc>, b: DateTime<Utc>| all_day_span(a, b, london);
        // The end is the midnight after the last day.
        assert_eq!(
            said(midnight(2027, 3, 3), midnight(2027, 3, 4)),
            "Wednesday 3 March 2027, all day"
        );
        assert_eq!(
            said(midnight(2027, 3, 3), midnight(2027, 3, 6)),
            "Wednesday 3 – Friday 5 March 2027, all day"
        );
        assert_eq!(
            said(midnight(2027, 3, 31), midnight(2027, 4, 3)),
            "Wednesday 31 March – Friday 2 April 2027, all day"
        );
        assert_eq!(
            said(midnight(2027, 12, 31), midnight(2028, 1, 2)),
            "Friday 31 December 2027 – Saturday 1 January 2028, all day"
        );
        // Across the clocks going forward (a 23-hour day), and an end that is
        // not after the start: still the days themselves.
        assert_eq!(
            said(midnight(2027, 3, 28), midnight(2027, 3, 29)),
            "Sunday 28 March 2027, all day"
        );
        assert_eq!(
            said(midnight(2027, 3, 3), midnight(2027, 3, 3)),
            "Wednesday 3 March 2027, all day"
        );

        let mut s = stored("ical", "1");
        s.session.start = midnight(2027, 3, 10);
        s.session.end = midnight(2027, 3, 13);
        assert!(when(&s.session, london).contains(", 00:00"));
        s.session.all_day = true;
        assert_eq!(
            when(&s.session, london),
            "Wednesday 10 – Friday 12 March 2027, all day"
        );
        let t = table(&[SessionJson::from_stored(&s)]);
        let row = t.lines().nth(1).unwrap();
        assert!(
            row.starts_with("Wed 10 Mar 2027  all day to Fri 12 Mar  "),
            "{t}"
        );
        s.session.end = midnight(2027, 3, 11);
        let t = table(&[SessionJson::from_stored(&s)]);
        assert!(
            t.lines()
                .nth(1)
                .unwrap()
                .starts_with("Wed 10 Mar 2027  all day  "),
            "{t}"
        );
    }

    #[test]
    fn json_says_what_the_source_published_and_whether_all_day() {
        use crate::model::Availability;
        let json = |a: Availability, all_day: bool| {
            let mut s = stored("x", "1");
            s.session.availability = a;
            s.session.all_day = all_day;
            serde_json::to_value(SessionJson::from_stored(&s)).unwrap()
        };
        let v = json(Availability::spaces(3), false);
        assert_eq!(v["availability"], "number");
        assert_eq!(v["all_day"], false);
        let v = json(Availability::available(), true);
        assert_eq!(v["availability"], "no-number");
        assert_eq!(v["places"], "places available");
        assert_eq!(v["all_day"], true);
        let v = json(Availability::unknown(), false);
        assert_eq!(v["availability"], "not-published");
        assert_eq!(v["places"], "places not published");
        assert_eq!(v["spaces_left"], serde_json::Value::Null);
    }

    #[test]
    fn only_with_places_keeps_what_a_source_said_has_places() {
        use crate::model::Availability;
        let now = chrono::TimeZone::with_ymd_and_hms(&Utc, 2027, 2, 1, 9, 0, 0).unwrap();
        let with = |id: &str, a: Availability| {
            let mut s = stored("x", id);
            s.session.availability = a;
            s.session.end = s.session.start + Duration::hours(2);
            s
        };
        let all = vec![
            with("counted", Availability::spaces(2)),
            with("said", Availability::available()),
            with("silent", Availability::unknown()),
            with("none-left", Availability::spaces(0)),
        ];
        let only = Filter {
            available: true,
            ..Filter::default()
        };
        let ids = |v: Vec<StoredSession>| -> Vec<String> {
            v.into_iter().map(|s| s.session.event_id).collect()
        };
        assert_eq!(ids(upcoming(&all, &only, now)), ["counted", "said"]);
        assert_eq!(
            ids(upcoming_with_withdrawn(&all, &only, now)),
            ["counted", "said"]
        );
        assert_eq!(upcoming(&all, &Filter::default(), now).len(), 4);
    }
}
