//! Adapters turn the bytes of one source kind's pages into normalised `Session`s.
//!
//! One module per source kind, plus the text parsing they share (`text`). Parsing
//! functions are pure: they take page text, the page URL and a `SourceContext`
//! (with "now" passed in) and return values. They never fetch, never read a clock
//! and know nothing about the store or the feed.

pub mod event_booking;
pub mod eventbrite;
pub mod ical;
pub mod schema_org;
pub mod text;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// What an adapter needs to know about the source it is parsing for.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// The source file's `id`, copied into every session.
    pub source_id: String,
    /// The time zone the site prints local times in.
    pub timezone: Tz,
    /// The crawl's clock, passed in so tests can freeze it.
    pub now: DateTime<Utc>,
}

/// A page that cannot be used at all (a single bad entry is a warning instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url}: {message}")]
pub struct ParseError {
    pub url: String,
    pub message: String,
}

impl ParseError {
    pub fn new(url: impl ToString, message: impl Into<String>) -> Self {
        Self {
            url: url.to_string(),
            message: message.into(),
        }
    }
}
