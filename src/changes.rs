//! What changed: the kinds of change a crawl can make to a session that people
//! want to hear about (`ChangeKind`), the record of one such change (`Change`),
//! the rule that classifies an old and a new version of a session into kinds
//! (`classify`), and which changes a view selects. Data only, over `model`.
//!
//! Does not own how a change reads to people (its title, JSON shape and
//! terminal row are `present::change`), where changes are kept (the store
//! records them in the same transaction as the session itself, see
//! `Store::apply_crawl`), the Atom feed (`atom`) or the page (`page`).

use crate::model::{Availability, Session, SessionKey, Status, Uid};
use crate::query::Filter;
use chrono::{DateTime, TimeDelta, Utc};
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;

    /// A session of the WSP replica's shape, for tests of changes and of
    /// how they read.
    pub(crate) fn session(status: Status, spaces: Option<u32>) -> Session {
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
}
