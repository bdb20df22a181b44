//! Renders a snapshot of stored sessions into the iCalendar (RFC 5545) feed that
//! people subscribe to in Outlook, Google Calendar, Apple Calendar and Thunderbird.
//!
//! Owns: the wording of a session's availability (`places_label`, `summary`) that
//! the CLI and the HTML page reuse, the mapping of a session onto a VEVENT, the
//! VTIMEZONE for every zone a feed uses, and the byte-level rules (escaping,
//! folding, CRLF). Rendering is a pure function of its input: no clock reads, so
//! the same snapshot always gives byte-identical output (DTSTAMP is the session's
//! `last_changed`).
//!
//! Does not own: which sessions are shown (the caller filters, see `query`),
//! where they come from (the store), or HTTP/HTML (the server). It knows nothing
//! about HTML or the store.
//!
//! One concern a file, from the bottom up:
//! - `text`: the byte-level rules (sanitising, TEXT escaping, URIs, folding);
//! - `wording`: what a session's text says (availability, title, description,
//!   location, booking link);
//! - `zones`: which zone times are written in, and the VTIMEZONEs;
//! - `event`: one session as a VEVENT's content; `calendar`: the calendar's
//!   sessions, frame (zone, VTIMEZONEs) and own properties;
//! - `writer`: the fast writer (`render`); `blocks`: rendered VEVENTs reused
//!   across feeds (`render_with_blocks`, `EventBlocks`) and the ETag
//!   (`body_hash`). What both this writer and a second one share is public
//!   as [`parts`]: `tests/reference` builds the same calendar through the
//!   `icalendar` crate over them, and `tests/feed.rs` checks `render` against
//!   it.
//!
//! The `icalendar` crate (a dev-dependency) builds that reference calendar,
//! but it falls short in several places, each handled where the gap is filled
//! and marked "icalendar lacks":
//! - no VTIMEZONE support at all (and any component built with it gets a random
//!   UID and a `Utc::now()` DTSTAMP), so VTIMEZONEs are generated from
//!   chrono-tz (`zones`) and spliced in as text (`tests/reference`);
//! - its folding can write a 76-octet line (off by one on continuation lines),
//!   so its output is unfolded and folded again (`tests/reference`);
//! - it escapes only `\n` in TEXT values, leaving a bare CR that breaks a line
//!   in many parsers, so text is sanitised before it reaches the crate (`text`);
//! - it writes X- properties (X-WR-CALNAME, ...) and URL without any escaping
//!   (`text`, `tests/reference`);
//! - `Calendar::ttl` formats one hour as `PT3600S`, not `PT1H` (`calendar`).

mod blocks;
mod calendar;
mod event;
mod text;
mod wording;
mod writer;
mod zones;

pub use blocks::{
    body_hash, render_with_blocks, render_with_blocks_into, BlockStats, BodyHasher, EventBlocks,
    DEFAULT_EVENT_BLOCK_BYTES, EVENT_BLOCK_OVERHEAD, STREAM_CHUNK_BYTES,
};
pub use wording::{places_label, summary};
pub use writer::render;

/// The parts of a calendar that any writer of it shares: which sessions it
/// holds and in what order, its frame (zone, VTIMEZONEs) and own properties,
/// each event's fields and times, and the text rules. [`render`] writes them
/// by hand; a second writer over the same parts (the tests' reference, on the
/// `icalendar` crate) says the same thing another way.
pub mod parts {
    pub use super::calendar::{calendar_properties, dedupe_sorted, CalValue, CalendarFrame};
    pub use super::event::{EventFields, EventTimes};
    pub use super::text::{escape_text, fold_into, push_escaped, sanitize_text};
}

use std::time::Duration;

/// Calendar-level settings of one feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedOptions {
    /// Shown as the calendar's name: RFC 7986 `NAME` and `X-WR-CALNAME`. Best
    /// without `,`, `;` and `\`: most readers do not unescape `X-WR-CALNAME`.
    pub name: String,
    /// RFC 7986 `DESCRIPTION` and `X-WR-CALDESC`, when given (the same advice).
    pub description: Option<String>,
    /// How often clients should re-fetch (`REFRESH-INTERVAL` and `X-PUBLISHED-TTL`).
    pub refresh: Duration,
}

impl Default for FeedOptions {
    fn default() -> Self {
        Self {
            name: "Safeguarding training".into(),
            description: None,
            refresh: Duration::from_secs(3600),
        }
    }
}
