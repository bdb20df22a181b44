//! The normalised domain model: one `Session` per bookable date, whatever its source.
//!
//! Owns the types every other module speaks (`Session`, `SessionKey`, `Status`,
//! `Availability`, `Uid`, `Course`) and the one rule that derives a UID. It knows
//! nothing about HTML, JSON, sled or iCalendar.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a calendar should say about a session's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Running, bookable as far as we know.
    Scheduled,
    /// Running, no places left (a waiting list may exist).
    Full,
    /// Running, but booking has closed.
    Closed,
    /// The organiser cancelled it.
    Cancelled,
    /// It vanished from a source whose crawl succeeded; kept, never deleted.
    Withdrawn,
}

impl Status {
    /// The lowercase word used in JSON, the CLI and the page (`scheduled`, `full`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Full => "full",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
            Status::Withdrawn => "withdrawn",
        }
    }

    /// Cancelled or withdrawn: not happening.
    pub fn is_off(self) -> bool {
        matches!(self, Status::Cancelled | Status::Withdrawn)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many places remain, as far as the source tells.
///
/// Three things a source can say: a number (`spaces_left`), that places are
/// available without a number (`spaces_left` none, `unpublished` false), or
/// nothing at all (`unpublished` true: every `ical` session, a schema.org
/// event without offers, Eventbrite keeping its ticket counts to itself).
/// Only the first two say places remain; see [`Session::places_remain`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Availability {
    /// `None` when the source does not say (e.g. "places available" with no number).
    pub spaces_left: Option<u32>,
    /// Places in all, when the source says (Eventbrite's ticket totals).
    pub capacity: Option<u32>,
    /// A waiting list can be joined.
    pub waitlist: bool,
    /// With no `spaces_left`: the source said nothing about places at all, as
    /// opposed to printing "places available" without a number. Shown as
    /// "places not published". Records stored before this field load as
    /// `false`, what they were shown as until then; the next crawl of their
    /// source corrects them.
    #[serde(default)]
    pub unpublished: bool,
}

impl Availability {
    /// The source said nothing about places: no number and no "places
    /// available" (the same as [`Availability::unpublished`]). What a reader
    /// that finds no word on places must give, so that nothing reads "places
    /// available" unless its source said so.
    pub fn unknown() -> Self {
        Self::unpublished()
    }

    /// The source said nothing about places: no number and no "places available".
    pub fn unpublished() -> Self {
        Self {
            unpublished: true,
            ..Self::default()
        }
    }

    /// The source printed that places are available, without a number.
    pub fn available() -> Self {
        Self::default()
    }

    /// The source said `n` places are left.
    pub fn spaces(n: u32) -> Self {
        Self {
            spaces_left: Some(n),
            ..Self::default()
        }
    }

    /// What the source published about places, as JSON names it.
    pub fn published(&self) -> PlacesPublished {
        match (self.spaces_left, self.unpublished) {
            (Some(_), _) => PlacesPublished::Number,
            (None, false) => PlacesPublished::NoNumber,
            (None, true) => PlacesPublished::NotPublished,
        }
    }
}

/// What a source published about a session's places (`availability` in the
/// JSON of `upcoming --json` and `/api/sessions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PlacesPublished {
    /// A number of places left (`spaces_left` holds it).
    Number,
    /// That places are available, without a number.
    NoNumber,
    /// Nothing about places: "places not published".
    NotPublished,
}

/// Identifies one session within one source event, stable across crawls even when
/// the organiser moves the session's time (e.g. `1`, `2`, `3` for the rows of a
/// three-day course; `1` for a single-date event).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SessionKey(pub String);

impl SessionKey {
    /// A key as the platform chose it (an occurrence's original start, a row number).
    pub fn new(s: impl Into<String>) -> Self {
        SessionKey(s.into())
    }

    /// Key of the `n`th session (1-based) of an event.
    pub fn nth(n: usize) -> Self {
        SessionKey(n.to_string())
    }
}

impl fmt::Display for SessionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A calendar UID: a pure function of (source id, source event id, session key).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Uid(pub String);

impl Uid {
    /// The UID of a session: stable for as long as its source, event id and key are.
    pub fn derive(source: &str, event_id: &str, key: &SessionKey) -> Uid {
        Uid(format!(
            "{}-{}-{}@events.safeguarding-training",
            uid_part(source),
            uid_part(event_id),
            uid_part(&key.0)
        ))
    }

    /// The UID's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Keeps a UID to safe characters whatever a page put in an id, so it never needs
/// escaping in iCalendar and never collides by accident (`%` encodes the rest).
fn uid_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b == b'.' || b == b'_' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One session as a platform's reader read it from a source, before the store adds history.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Session {
    /// The source file's `id`.
    pub source: String,
    /// The source's own id of the event (digits for both known sources).
    pub event_id: String,
    /// Which session of the event this is (see [`SessionKey`]).
    pub key: SessionKey,
    /// The event's title as the source prints it.
    pub title: String,
    /// The source's category or theme, e.g. "Child Neglect".
    pub category: Option<String>,
    /// The training level, e.g. "Level 2", when the source gives one.
    pub level: Option<String>,
    /// Prose, e.g. "You MUST complete Level 1 first".
    pub prerequisites: Option<String>,
    /// Plain text about the event, when the source gives any.
    pub description: Option<String>,
    /// When it starts (an instant; sources print local times, converted on reading).
    pub start: DateTime<Utc>,
    /// When it ends; never before `start`.
    pub end: DateTime<Utc>,
    /// IANA name of the source's time zone (e.g. `Europe/London`), used to show times.
    pub timezone: String,
    /// Postal address, or the online platform's name ("Virtual - MS Teams").
    pub venue: Option<String>,
    /// Held online rather than in a room.
    pub online: bool,
    /// Whether it runs and can be booked.
    pub status: Status,
    /// Places left, as far as the source says.
    pub availability: Availability,
    /// Where a person books (the detail page; never the booking form itself).
    pub url: String,
    /// A whole-day event (a calendar's `VALUE=DATE`): `start` and `end` are
    /// midnights in `timezone`, `end` exclusive. Absent in records stored
    /// before it existed, which were all timed.
    #[serde(default)]
    pub all_day: bool,
}

impl Session {
    /// Its calendar UID, from source, event id and key.
    pub fn uid(&self) -> Uid {
        Uid::derive(&self.source, &self.event_id, &self.key)
    }

    /// The fields a calendar shows; a change in any of them bumps `sequence`.
    pub fn shown_fields_differ(&self, other: &Session) -> bool {
        self.title != other.title
            || self.start != other.start
            || self.end != other.end
            || self.venue != other.venue
            || self.online != other.online
            || self.status != other.status
            || self.availability != other.availability
            || self.description != other.description
            || self.prerequisites != other.prerequisites
            || self.url != other.url
            || self.all_day != other.all_day
    }

    /// True when places can be booked: not off, not full, not closed, and not known to be zero.
    pub fn has_places(&self) -> bool {
        self.status == Status::Scheduled && self.availability.spaces_left != Some(0)
    }

    /// True when the source said places remain: bookable (see
    /// [`Session::has_places`]) and either a number above zero or "places
    /// available". A session whose source says nothing about places does not
    /// count: this is what "only with places" (`--available`, `?available=1`)
    /// keeps, and a team lead looking for room must not be sent to a session
    /// nobody said has any.
    pub fn places_remain(&self) -> bool {
        self.has_places() && self.availability.published() != PlacesPublished::NotPublished
    }
}

/// A session as kept in the store: what the source said last, plus its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredSession {
    /// Its calendar UID (the store's key).
    pub uid: Uid,
    /// What the source said at its last successful crawl that saw it.
    pub session: Session,
    /// The crawl that first found it.
    pub first_seen: DateTime<Utc>,
    /// The last crawl that found it (written at most daily while unchanged).
    pub last_seen: DateTime<Utc>,
    /// The last crawl that changed a field a calendar shows (the feed's DTSTAMP).
    pub last_changed: DateTime<Utc>,
    /// Starts at 0, +1 whenever a field a calendar shows changes.
    pub sequence: u32,
}

/// An undated course (eLearning): a catalogue entry, never a calendar event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Course {
    /// The source file's `id`.
    pub source: String,
    /// The source's id of the course, or its URL when it has none.
    pub id: String,
    /// The course's title.
    pub title: String,
    /// Its category or theme, when the catalogue gives one.
    pub category: Option<String>,
    /// Plain text about it, when the catalogue gives any.
    pub description: Option<String>,
    /// Where a person starts it.
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_is_pure_and_safe() {
        let a = Uid::derive("wsp", "1234", &SessionKey::nth(2));
        let b = Uid::derive("wsp", "1234", &SessionKey::nth(2));
        assert_eq!(a, b);
        assert_eq!(a.as_str(), "wsp-1234-2@events.safeguarding-training");
        let odd = Uid::derive("wsp", "12;34\n", &SessionKey::nth(1));
        assert_eq!(
            odd.as_str(),
            "wsp-12%3B34%0A-1@events.safeguarding-training"
        );
        // the separator in a part cannot make two different triples collide
        assert_ne!(
            Uid::derive("a-b", "c", &SessionKey::nth(1)),
            Uid::derive("a", "b-c", &SessionKey::nth(1))
        );
    }
}
