//! Sessions as a crawl would store them, for tests that fill a store or
//! render a feed directly: one builder with the defaults most tests share,
//! setters for what a test makes different, and a crawl's merge.

use chrono::{DateTime, Duration, Utc};
use events::model::{Availability, Session, SessionKey, Status};
use events::store::{CrawlStats, MergeReport, Store};

/// The first session of `source`'s event `event_id`, starting at `start`,
/// with the defaults a test changes with [`SessionBuilder`]'s setters:
///
/// - titled `Course {event_id}`, in the category "Child Neglect", with no
///   level, prerequisites or description;
/// - three hours long, in Europe/London, not all day;
/// - in person with no venue given;
/// - scheduled, with 10 places left;
/// - booked at `https://{source}.example/events/{event_id}`.
pub fn session(source: &str, event_id: &str, start: DateTime<Utc>) -> Session {
    Session {
        source: source.into(),
        event_id: event_id.into(),
        key: SessionKey::nth(1),
        title: format!("Course {event_id}"),
        category: Some("Child Neglect".into()),
        level: None,
        prerequisites: None,
        description: None,
        start,
        end: start + Duration::hours(3),
        timezone: "Europe/London".into(),
        venue: None,
        online: false,
        status: Status::Scheduled,
        availability: Availability::spaces(10),
        url: format!("https://{source}.example/events/{event_id}"),
        all_day: false,
    }
}

/// Builder-style setters on a [`Session`], each returning it changed:
/// `session("wsp", "1", start).titled("Neglect").at_venue("Civic Centre").with_spaces(3)`.
pub trait SessionBuilder: Sized {
    /// The `n`th session of its event (see `SessionKey::nth`).
    fn nth(self, n: usize) -> Self;
    /// Titled `title`.
    fn titled(self, title: impl Into<String>) -> Self;
    /// In the category `category`.
    fn in_category(self, category: impl Into<String>) -> Self;
    /// At the training level `level`, e.g. "Level 2".
    fn at_level(self, level: impl Into<String>) -> Self;
    /// With `text` as its prerequisites.
    fn requiring(self, text: impl Into<String>) -> Self;
    /// With `text` as its description.
    fn described(self, text: impl Into<String>) -> Self;
    /// Held at `venue`.
    fn at_venue(self, venue: impl Into<String>) -> Self;
    /// Held online, or in person (the venue is left as it is).
    fn held_online(self, online: bool) -> Self;
    /// With the status `status`.
    fn with_status(self, status: Status) -> Self;
    /// `n` places left, and nothing else said about them.
    fn with_spaces(self, n: u32) -> Self;
    /// With the places as `availability` says.
    fn with_availability(self, availability: Availability) -> Self;
    /// Ends `length` after it starts.
    fn lasting(self, length: Duration) -> Self;
    /// Booked at `url`.
    fn booked_at(self, url: impl Into<String>) -> Self;
}

impl SessionBuilder for Session {
    fn nth(self, n: usize) -> Self {
        Session {
            key: SessionKey::nth(n),
            ..self
        }
    }

    fn titled(self, title: impl Into<String>) -> Self {
        Session {
            title: title.into(),
            ..self
        }
    }

    fn in_category(self, category: impl Into<String>) -> Self {
        Session {
            category: Some(category.into()),
            ..self
        }
    }

    fn at_level(self, level: impl Into<String>) -> Self {
        Session {
            level: Some(level.into()),
            ..self
        }
    }

    fn requiring(self, text: impl Into<String>) -> Self {
        Session {
            prerequisites: Some(text.into()),
            ..self
        }
    }

    fn described(self, text: impl Into<String>) -> Self {
        Session {
            description: Some(text.into()),
            ..self
        }
    }

    fn at_venue(self, venue: impl Into<String>) -> Self {
        Session {
            venue: Some(venue.into()),
            ..self
        }
    }

    fn held_online(self, online: bool) -> Self {
        Session { online, ..self }
    }

    fn with_status(self, status: Status) -> Self {
        Session { status, ..self }
    }

    fn with_spaces(self, n: u32) -> Self {
        self.with_availability(Availability::spaces(n))
    }

    fn with_availability(self, availability: Availability) -> Self {
        Session {
            availability,
            ..self
        }
    }

    fn lasting(self, length: Duration) -> Self {
        Session {
            end: self.start + length,
            ..self
        }
    }

    fn booked_at(self, url: impl Into<String>) -> Self {
        Session {
            url: url.into(),
            ..self
        }
    }
}

/// Merges `sessions` into `store` as a complete crawl of `source` made at
/// `at` (no catalogue, no crawl statistics, refused below half the sessions
/// the store holds, as the crawler merges), and asserts that it was merged.
pub fn merge_crawl(
    store: &Store,
    source: &str,
    sessions: Vec<Session>,
    at: DateTime<Utc>,
) -> MergeReport {
    store
        .apply_crawl(source, sessions, None, at, 0.5, CrawlStats::default())
        .expect("the store merges the crawl")
        .expect("the crawl is not refused")
}
