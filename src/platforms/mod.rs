//! Platforms: one folder per kind of source, each holding that kind's
//! settings, its walk (the order of requests) and its readers (pure functions
//! from a page's bytes to `Session`s), registered in [`PLATFORMS`].
//!
//! The generic crawl (merging, the outage guard, health, limits), the store,
//! the feed and the server know no platform: a source's settings reach them as
//! a [`Kind`] (the source interface, `crate::source`), whose `walk` the crawl
//! calls with a `Walker`. Adding a kind
//! is one folder here and one line in [`PLATFORMS`] (see the README, "Adding a
//! platform").
//!
//! Readers never fetch, never read a clock (now comes in [`SourceContext`])
//! and know nothing of the store or the feed.

pub mod html;
pub mod text;

pub use html::{parse_html, MAX_UNCLOSED_TAGS};

pub use crate::source::probe::{FieldMiss, PageProbe, Probe};
pub use crate::source::{Configured, Kind, ParseError, Platform, SourceContext, WalkFuture};

/// Declares each platform's folder as a module and lists its `PLATFORM` in
/// [`PLATFORMS`], so that a platform is registered by one line.
macro_rules! registry {
    ($($platform:ident),* $(,)?) => {
        $(pub mod $platform;)*

        /// Every kind of source this build can crawl, by the `kind = "…"` of
        /// its source files.
        pub const PLATFORMS: &[Platform] = &[$($platform::PLATFORM),*];
    };
}

registry! {
    event_booking,
    eventbrite,
    ical,
    schema_org,
}

/// The platform whose source files say `kind = "<kind>"`.
pub fn platform(kind: &str) -> Option<&'static Platform> {
    PLATFORMS.iter().find(|p| p.kind == kind)
}
