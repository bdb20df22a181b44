//! What changed: the kinds of change a crawl can make to a session that people
//! want to hear about (`ChangeKind`), the record of one such change (`Change`),
//! the rule that classifies an old and a new version of a session into kinds
//! (`classify`), and how a change reads to people: its title, its JSON shape
//! and its row in the terminal table of `events changes`.
//!
//! Does not own where changes are kept (the store records them in the same
//! transaction as the session itself, see `Store::apply_crawl`), the Atom feed
//! (`atom`), the page (`page`) or which view a change belongs to beyond
//! matching it against a `Filter`.

use crate::model::{Availability, Session, SessionKey, Status, Uid};
use crate::present;
use crate::query::Filter;
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How long changes are kept: older ones are pruned at the next merge. At
/// least this long, so a feed reader away for a quarter still catches up.
pub const KEEP_CHANGES: TimeDelta = TimeDelta::days(90);

/// Places left at or below which a session is "filling".
pub const FILLING_AT: u32 = 3;

/// One kind of change people are told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// A session not seen before (never reported by the first crawl of a source).
    New,
    /// Places became bookable again (full or closed → bookable), or more places are left.
    PlacesFreed,
    /// Places left fell to `FILLING_AT` or fewer.
    Filling,
    /// No places left.
    Full,
    /// Start or end changed.
    Moved,
    /// The organiser cancelled it.
    Cancelled,
    /// It vanished from a complete crawl while still to come.
    Withdrawn,
    /// It was cancelled or withdrawn and is on again.
    Reinstated,
}

impl ChangeKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [ChangeKind; 8] = [
        ChangeKind::New,
        ChangeKind::PlacesFreed,
        ChangeKind::Filling,
        ChangeKind::Full,
        ChangeKind::Moved,
        ChangeKind::Cancelled,
        ChangeKind::Withdrawn,
        ChangeKind::Reinstated,
    ];

    /// The name used in URLs, flags, JSON and Atom categories: `places-freed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::New => "new",
            ChangeKind::PlacesFreed => "places-freed",
            ChangeKind::Filling => "filling",
            ChangeKind::Full => "full",
            ChangeKind::Moved => "moved",
            ChangeKind::Cancelled => "cancelled",
            ChangeKind::Withdrawn => "withdrawn",
            ChangeKind::Reinstated => "reinstated",
        }
    }

    /// How a title starts: "Places freed".
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::New => "New",
            ChangeKind::PlacesFreed => "Places freed",
            ChangeKind::Filling => "Filling up",
            ChangeKind::Full => "Full",
            ChangeKind::Moved => "Moved",
            ChangeKind::Cancelled => "Cancelled",
            ChangeKind::Withdrawn => "Withdrawn",
            ChangeKind::Reinstated => "Back on",
        }
    }

    /// `new, places-freed, …`: for messages that list what is accepted.
    pub fn names() -> String {
        ChangeKind::ALL
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a change kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a kind of change; use one of {kinds}", kinds = ChangeKind::names())]
pub struct UnknownKind(pub String);

impl FromStr for ChangeKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let want = s.trim().to_ascii_lowercase();
        ChangeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == want)
            .ok_or_else(|| UnknownKind(s.trim().to_string()))
    }
}

/// Full, or at least known to have no place left.
fn is_full(s: &Session) -> bool {
    s.status == Status::Full
        || (s.status == Status::Scheduled && s.availability.spaces_left == Some(0))
}

/// The kinds of change from `old` (as stored) to `new` (as crawled now), in
/// the order they are told; empty when nothing people are told about changed.
///
/// Going off (cancelled, withdrawn) is told alone: a cancelled session's new
/// time or places do not matter, and one already cancelled that is then
/// withdrawn is not told again. Coming back on is `reinstated` (and `moved`
/// if its time changed too). Otherwise `moved` and one of the places kinds:
/// `full` when the last place went; `places-freed` when a session with no
/// bookable place (full, closed, none left) has some again, or more places
/// are left than before; `filling` when the places left cross down to
/// `FILLING_AT` or fewer (from more, or from not saying).
pub fn classify(old: &Session, new: &Session) -> Vec<ChangeKind> {
    let mut kinds = Vec::new();
    if new.status == Status::Withdrawn {
        // A cancelled session taken off the site is no news: it was already off.
        if !old.status.is_off() {
            kinds.push(ChangeKind::Withdrawn);
        }
        return kinds;
    }
    if new.status == Status::Cancelled {
        if old.status != Status::Cancelled {
            kinds.push(ChangeKind::Cancelled);
        }
        return kinds;
    }
    let moved = old.start != new.start || old.end != new.end;
    if old.status.is_off() {
        kinds.push(ChangeKind::Reinstated);
        if moved {
            kinds.push(ChangeKind::Moved);
        }
        return kinds;
    }
    if moved {
        kinds.push(ChangeKind::Moved);
    }
    let (was, now) = (old.availability.spaces_left, new.availability.spaces_left);
    if is_full(new) {
        if !is_full(old) {
            kinds.push(ChangeKind::Full);
        }
    } else if new.has_places() {
        if !old.has_places() {
            kinds.push(ChangeKind::PlacesFreed);
        } else if let (Some(was), Some(now)) = (was, now) {
            if now > was {
                kinds.push(ChangeKind::PlacesFreed);
            } else if now <= FILLING_AT && was > FILLING_AT {
                kinds.push(ChangeKind::Filling);
            }
        } else if now.is_some_and(|n| n <= FILLING_AT) {
            kinds.push(ChangeKind::Filling);
        }
    }
    kinds
}

/// One change a crawl made to one session, with the session as it was after
/// the change (enough to tell people what it is and where to book, and to
/// match the change against a view's filters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The session's calendar UID.
    pub uid: Uid,
    /// The source file's id.
    pub source: String,
    /// What changed.
    pub kind: ChangeKind,
    /// When the crawl that saw it was merged.
    pub at: DateTime<Utc>,
    /// The session's title after the change.
    pub title: String,
    /// Its category.
    pub category: Option<String>,
    /// Its level, e.g. `Level 2`.
    #[serde(default)]
    pub level: Option<String>,
    /// Its start after the change.
    pub start: DateTime<Utc>,
    /// Its end after the change.
    pub end: DateTime<Utc>,
    /// IANA zone its times are shown in.
    pub timezone: String,
    /// Venue or online platform.
    #[serde(default)]
    pub venue: Option<String>,
    /// Online, not in person.
    #[serde(default)]
    pub online: bool,
    /// Its status after the change.
    pub status: Status,
    /// Places left after the change, when the source says.
    pub spaces_left: Option<u32>,
    /// A waiting list can be joined.
    #[serde(default)]
    pub waitlist: bool,
    /// With no `spaces_left`: the source said nothing about places ("places
    /// not published"). Changes recorded before this field read `false`.
    #[serde(default)]
    pub places_unpublished: bool,
    /// A whole-day session: its times are midnights, shown as "all day".
    /// Changes recorded before this field read `false`.
    #[serde(default)]
    pub all_day: bool,
    /// Where people book.
    pub url: String,
    /// For `moved`: the start before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_start: Option<DateTime<Utc>>,
    /// For `moved`: the end before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_end: Option<DateTime<Utc>>,
}

impl Change {
    /// The change of `kind` that made `old` (none for a new session) into `new` at `at`.
    pub fn new(kind: ChangeKind, at: DateTime<Utc>, old: Option<&Session>, new: &Session) -> Self {
        let moved_from = old.filter(|_| kind == ChangeKind::Moved);
        Change {
            uid: new.uid(),
            source: new.source.clone(),
            kind,
            at,
            title: new.title.clone(),
            category: new.category.clone(),
            level: new.level.clone(),
            start: new.start,
            end: new.end,
            timezone: new.timezone.clone(),
            venue: new.venue.clone(),
            online: new.online,
            status: new.status,
            spaces_left: new.availability.spaces_left,
            waitlist: new.availability.waitlist,
            places_unpublished: new.availability.unpublished,
            all_day: new.all_day,
            url: new.url.clone(),
            previous_start: moved_from.map(|o| o.start),
            previous_end: moved_from.map(|o| o.end),
        }
    }

    /// Every change from `old` to `new` (`new` alone when there is no `old`).
    pub fn between(at: DateTime<Utc>, old: Option<&Session>, new: &Session) -> Vec<Change> {
        match old {
            None => vec![Change::new(ChangeKind::New, at, None, new)],
            Some(o) => classify(o, new)
                .into_iter()
                .map(|k| Change::new(k, at, Some(o), new))
                .collect(),
        }
    }

    /// The session as the snapshot knows it (no description or prerequisites),
    /// for matching filters and for wording.
    pub fn session(&self) -> Session {
        Session {
            source: self.source.clone(),
            event_id: String::new(),
            key: SessionKey::new(""),
            title: self.title.clone(),
            category: self.category.clone(),
            level: self.level.clone(),
            prerequisites: None,
            description: None,
            start: self.start,
            end: self.end,
            timezone: self.timezone.clone(),
            venue: self.venue.clone(),
            online: self.online,
            status: self.status,
            availability: Availability {
                spaces_left: self.spaces_left,
                capacity: None,
                waitlist: self.waitlist,
                unpublished: self.places_unpublished,
            },
            url: self.url.clone(),
            all_day: self.all_day,
        }
    }

    /// Zone the session's times are shown in (UTC when the name is unknown).
    pub fn zone(&self) -> Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// What people read first, in the session's own zone: "Places freed:
    /// Understanding Neglect Level 2, Thu 31 Dec, 3 places".
    pub fn title_line(&self) -> String {
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

    /// "Thursday 13 May 2027, 09:30–12:30 BST" (both dates when it spans
    /// days), or "Thursday 13 May 2027, all day" (see `present::when`).
    pub fn when(&self) -> String {
        self.span(self.start, self.end)
    }

    /// For `moved`: when it was before, in the same words as `when`.
    pub fn was_when(&self) -> Option<String> {
        Some(self.span(self.previous_start?, self.previous_end?))
    }

    fn span(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> String {
        if self.all_day {
            present::all_day_span(start, end, self.zone())
        } else {
            present::span(start, end, self.zone())
        }
    }

    /// "3 places", "1 place", "full", "closed", "cancelled", "places not
    /// published", …
    pub fn places(&self) -> String {
        if self.status == Status::Scheduled && self.spaces_left.is_none() && self.places_unpublished
        {
            return "places not published".into();
        }
        places_words(self.status, self.spaces_left, self.waitlist)
    }

    /// True when it matches the view's `filter` (judged on the snapshot: the
    /// search reads title, category, level and venue).
    pub fn matches(&self, filter: &Filter, now: DateTime<Utc>) -> bool {
        self.matches_with(&filter.matcher(), now)
    }

    /// The same, with a filter made ready for many changes.
    pub fn matches_with(&self, m: &crate::query::Matcher<'_>, now: DateTime<Utc>) -> bool {
        m.matches_session(&self.session(), now)
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

/// Keeps the changes that match `filter` and whose kind is in `kinds` (all
/// kinds when empty), in the order given.
pub fn select<'a>(
    changes: impl IntoIterator<Item = Change> + 'a,
    filter: &'a Filter,
    kinds: &'a [ChangeKind],
    now: DateTime<Utc>,
) -> impl Iterator<Item = Change> + 'a {
    let m = filter.matcher();
    changes
        .into_iter()
        .filter(move |c| (kinds.is_empty() || kinds.contains(&c.kind)) && c.matches_with(&m, now))
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
    use chrono::TimeZone;

    fn session(status: Status, spaces: Option<u32>) -> Session {
        let start = Utc.with_ymd_and_hms(2027, 5, 13, 8, 30, 0).unwrap();
        Session {
            source: "wsp".into(),
            event_id: "1004".into(),
            key: SessionKey::nth(1),
            title: "Understanding Neglect Level 2".into(),
            category: Some("Child Neglect".into()),
            level: Some("Level 2".into()),
            prerequisites: None,
            description: Some("About neglect".into()),
            start,
            end: start + TimeDelta::hours(3),
            timezone: "Europe/London".into(),
            venue: Some("Blakenall Village Centre".into()),
            online: false,
            status,
            availability: Availability {
                spaces_left: spaces,
                capacity: None,
                waitlist: false,
                unpublished: false,
            },
            url: "https://wsp.example/events/1004".into(),
            all_day: false,
        }
    }

    use ChangeKind::*;
    use Status::{Cancelled as C, Closed, Full as F, Scheduled as S, Withdrawn as W};

    #[test]
    fn names_round_trip() {
        for k in ChangeKind::ALL {
            assert_eq!(k.as_str().parse::<ChangeKind>(), Ok(k));
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        assert_eq!(" Places-Freed ".parse::<ChangeKind>(), Ok(PlacesFreed));
        let e = "freed".parse::<ChangeKind>().unwrap_err();
        assert!(e.to_string().contains("places-freed"), "{e}");
    }

    #[test]
    fn places_kinds() {
        let k = |a: (Status, Option<u32>), b: (Status, Option<u32>)| {
            classify(&session(a.0, a.1), &session(b.0, b.1))
        };
        assert_eq!(k((F, Some(0)), (S, Some(3))), [PlacesFreed], "full → 3");
        assert_eq!(k((S, Some(0)), (S, Some(5))), [PlacesFreed], "0 left → 5");
        assert_eq!(k((Closed, None), (S, None)), [PlacesFreed], "reopened");
        assert_eq!(k((S, Some(2)), (S, Some(4))), [PlacesFreed], "went up");
        assert_eq!(k((S, Some(8)), (S, Some(2))), [Filling]);
        assert_eq!(k((S, Some(4)), (S, Some(3))), [Filling], "crosses to 3");
        assert_eq!(k((S, None), (S, Some(1))), [Filling], "from unknown");
        assert!(k((S, Some(3)), (S, Some(2))).is_empty(), "already filling");
        assert!(k((S, Some(12)), (S, Some(8))).is_empty(), "still plenty");
        assert!(k((S, Some(2)), (S, None)).is_empty(), "stopped saying");
        assert_eq!(k((S, Some(30)), (F, Some(0))), [Full]);
        assert_eq!(k((S, Some(1)), (S, Some(0))), [Full], "none left is full");
        assert!(k((F, Some(0)), (S, Some(0))).is_empty(), "still full");
        assert!(k((S, Some(5)), (Closed, None)).is_empty(), "booking closed");
        assert!(k((S, Some(5)), (S, Some(5))).is_empty());
    }

    #[test]
    fn status_kinds() {
        let k = |a: Status, b: Status| classify(&session(a, Some(5)), &session(b, Some(5)));
        assert_eq!(k(S, C), [Cancelled]);
        assert_eq!(k(F, C), [Cancelled]);
        assert_eq!(k(S, W), [Withdrawn]);
        assert!(k(C, W).is_empty(), "already off");
        assert!(k(W, W).is_empty());
        assert!(k(C, C).is_empty());
        assert_eq!(k(C, S), [Reinstated]);
        assert_eq!(k(W, S), [Reinstated]);
        assert_eq!(k(W, C), [Cancelled], "back, but cancelled");
    }

    #[test]
    fn moves() {
        let old = session(S, Some(8));
        let mut new = old.clone();
        new.start += TimeDelta::hours(4);
        new.end += TimeDelta::hours(4);
        assert_eq!(classify(&old, &new), [Moved]);
        new.availability.spaces_left = Some(2);
        assert_eq!(classify(&old, &new), [Moved, Filling], "told together");
        let mut only_end = old.clone();
        only_end.end += TimeDelta::minutes(30);
        assert_eq!(classify(&old, &only_end), [Moved]);
        // A cancelled session's new time is not news; a reinstated one's is.
        new.status = C;
        assert_eq!(classify(&old, &new), [Cancelled]);
        let mut back = new.clone();
        back.status = S;
        back.start += TimeDelta::days(1);
        assert_eq!(classify(&new, &back), [Reinstated, Moved]);
        // Nothing a person is told about: a new description.
        let mut text = old.clone();
        text.description = Some("New words".into());
        assert!(classify(&old, &text).is_empty());
    }

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
    fn filters_and_kinds_select() {
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap();
        let full = Change::new(Full, at, None, &session(F, Some(0)));
        let mut other = session(S, Some(3));
        other.source = "vrp".into();
        other.category = Some("Exploitation".into());
        let freed = Change::new(PlacesFreed, at, None, &other);
        let all = vec![full.clone(), freed.clone()];
        let pick = |f: &Filter, k: &[ChangeKind]| -> Vec<ChangeKind> {
            select(all.clone(), f, k, at).map(|c| c.kind).collect()
        };
        assert_eq!(pick(&Filter::default(), &[]), [Full, PlacesFreed]);
        assert_eq!(pick(&Filter::default(), &[PlacesFreed, New]), [PlacesFreed]);
        let available = Filter {
            available: true,
            ..Filter::default()
        };
        assert_eq!(pick(&available, &[]), [PlacesFreed]);
        let neglect = Filter {
            categories: vec!["child-neglect".into()],
            ..Filter::default()
        };
        assert_eq!(pick(&neglect, &[]), [Full]);
        let search = Filter {
            search: Some("blakenall".into()),
            ..Filter::default()
        };
        assert_eq!(pick(&search, &[]), [Full, PlacesFreed], "venue is searched");
        let vrp = Filter {
            source: Some("vrp".into()),
            ..Filter::default()
        };
        assert_eq!(pick(&vrp, &[]), [PlacesFreed]);
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
