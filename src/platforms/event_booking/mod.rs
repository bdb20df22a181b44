//! `kind = "event-booking"`: the hosted learning-management platform used by
//! WSP (`walsall.event-booking.org.uk`) and other partnerships.
//!
//! This folder is the whole platform: its settings (this file), its walk
//! (`walk.rs`: listing pages, detail pages, the eLearning catalogue) and its
//! readers, pure functions that turn the HTML of one page into `Session`s and
//! `Course`s (`listing.rs`, `detail.rs`, `elearning.rs`, sharing `markup.rs`).
//! The readers never fetch, never read a clock (now comes in `SourceContext`)
//! and know nothing of the store. Text rules (dates, times, availability,
//! venues) live in `platforms::text`; these readers only find the pieces of text.
//!
//! Extraction leans on labels and text patterns rather than one exact tree
//! shape: each entry's text is split into lines and every line is classified
//! (date / time / venue / availability / category), so markup that moves things
//! around still parses. CSS selectors and label patterns come from the source
//! file and are compiled once when it is loaded, so a changed live site can be
//! fixed there.

mod detail;
mod elearning;
mod listing;
mod markup;
#[cfg(test)]
mod tests;
mod walk;

pub use detail::parse_detail;
pub use elearning::parse_elearning;
pub use listing::{parse_listing, ListingEntry, ListingPage};

use listing::*;
use markup::*;

use super::text::{self, TimeRange, Venue};
use super::{Configured, FieldMiss, Kind, ParseError, Platform, SourceContext};
use crate::model::{Availability, Course, Session, SessionKey, Status};
use crate::source::{ConfigError, KindFields};
use chrono::{DateTime, NaiveDate, Utc};
use regex::Regex;
use scraper::{ElementRef, Html, Node, Selector};
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use url::Url;

/// The registry's entry for this platform.
pub const PLATFORM: Platform = Platform {
    kind: "event-booking",
    configure,
};

/// Settings of an `event-booking` source, with its selectors and label
/// patterns compiled.
#[derive(Debug, Clone)]
pub struct EventBookingConfig {
    /// Path of the listing, e.g. `/events-list`.
    pub listing: String,
    /// Path of the eLearning catalogue, e.g. `/elearning-list`; empty to skip.
    pub elearning: String,
    /// Category ids (`?c=497`); empty means the unfiltered listing.
    pub categories: Vec<u32>,
    /// CSS selectors as written in the source file.
    pub selectors: Selectors,
    /// Label patterns as written in the source file.
    pub labels: Labels,
    markup: Arc<Compiled>,
}

impl PartialEq for EventBookingConfig {
    fn eq(&self, other: &Self) -> bool {
        // The compiled markup follows from the texts.
        self.listing == other.listing
            && self.elearning == other.elearning
            && self.categories == other.categories
            && self.selectors == other.selectors
            && self.labels == other.labels
    }
}

/// The fields an `event-booking` source file may set besides the common ones.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct Fields {
    listing: String,
    elearning: String,
    categories: Vec<u32>,
    selectors: Selectors,
    labels: Labels,
}

impl Default for Fields {
    fn default() -> Self {
        Self {
            listing: "/events-list".into(),
            elearning: "/elearning-list".into(),
            categories: Vec::new(),
            selectors: Selectors::default(),
            labels: Labels::default(),
        }
    }
}

static DEFAULT_MARKUP: LazyLock<Arc<Compiled>> = LazyLock::new(|| {
    Arc::new(
        Compiled::new(&Selectors::default(), &Labels::default())
            .expect("the default selectors and labels are valid"),
    )
});

impl Default for EventBookingConfig {
    fn default() -> Self {
        let f = Fields::default();
        Self {
            listing: f.listing,
            elearning: f.elearning,
            categories: f.categories,
            selectors: f.selectors,
            labels: f.labels,
            markup: DEFAULT_MARKUP.clone(),
        }
    }
}

impl EventBookingConfig {
    /// Settings with these selectors and labels, compiled now; the error names
    /// the field (`selectors.next_page`, `labels.places`) and what is wrong.
    pub fn with_markup(selectors: Selectors, labels: Labels) -> Result<Self, (String, String)> {
        let markup = Arc::new(Compiled::new(&selectors, &labels)?);
        Ok(Self {
            selectors,
            labels,
            markup,
            ..Self::default()
        })
    }
}

fn configure(fields: &KindFields<'_>) -> Result<Configured, ConfigError> {
    let f: Fields = fields.read()?;
    fields.site_path("listing", &f.listing)?;
    if !(f.elearning.is_empty() || f.elearning.starts_with('/')) {
        return Err(fields.error(
            "elearning",
            format!(
                "`{}` must be a path starting with `/`, or empty",
                f.elearning
            ),
        ));
    }
    let mut cfg = EventBookingConfig::with_markup(f.selectors, f.labels)
        .map_err(|(field, message)| fields.error(&field, message))?;
    cfg.listing = f.listing;
    cfg.elearning = f.elearning;
    cfg.categories = f.categories;
    Ok(Configured {
        kind: Arc::new(cfg),
        default_base_url: None,
    })
}

impl Kind for EventBookingConfig {
    fn walk<'a>(&'a self, w: &'a crate::source::Walker<'a>) -> super::WalkFuture<'a> {
        Box::pin(walk::walk(self, w))
    }

    fn is_booking_system(&self) -> bool {
        true
    }
}

/// CSS selectors used by the event-booking readers. Defaults follow the reference
/// structure; every one can be overridden in the source file's `[selectors]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Selectors {
    /// One element per event in the listing.
    pub listing_entry: String,
    /// The link to the detail page, inside an entry.
    pub entry_link: String,
    /// The pager's "Next" link (also found by its text when this matches nothing).
    pub next_page: String,
    /// The detail page's title.
    pub detail_title: String,
    /// The detail page's sessions table.
    pub sessions_table: String,
    /// The detail page's description.
    pub description: String,
    /// One element per eLearning course.
    pub elearning_entry: String,
}

impl Default for Selectors {
    fn default() -> Self {
        Self {
            listing_entry: ".event-item, .event, article, li.event-list-item".into(),
            entry_link: "a[href*='/events/']".into(),
            next_page: "a[rel='next'], .pagination a.next, li.next a".into(),
            detail_title: "h1".into(),
            sessions_table: "table".into(),
            description: ".description, .event-description, #description".into(),
            elearning_entry: ".course, .elearning-item, article, li.course".into(),
        }
    }
}

/// Label patterns (case-insensitive regexes) of the detail page's definition list.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Labels {
    /// The category (theme, priority) field.
    pub category: String,
    /// The level field.
    pub level: String,
    /// What to do or know before attending.
    pub prerequisites: String,
    /// Places left (availability, spaces).
    pub places: String,
}

impl Default for Labels {
    fn default() -> Self {
        Self {
            category: r"^\s*(category|theme|priority)\b".into(),
            level: r"^\s*level\b".into(),
            prerequisites: r"^\s*(pre-?requisites?|requirements?|before attending)\b".into(),
            places: r"^\s*(places|availability|spaces)\b".into(),
        }
    }
}

/// The source file's selectors and label patterns, compiled once when it is
/// loaded and shared by every page the source's crawls read.
#[derive(Debug)]
struct Compiled {
    listing_entry: Selector,
    entry_link: Selector,
    next_page: Selector,
    detail_title: Selector,
    sessions_table: Selector,
    description: Selector,
    elearning_entry: Selector,
    labels: LabelPatterns,
}

#[derive(Debug)]
struct LabelPatterns {
    category: Regex,
    level: Regex,
    prerequisites: Regex,
    places: Regex,
}

impl Compiled {
    fn new(s: &Selectors, l: &Labels) -> Result<Self, (String, String)> {
        let css = |name: &str, v: &str| {
            // scraper's own message is a debug dump, not a sentence.
            Selector::parse(v).map_err(|_| {
                (
                    format!("selectors.{name}"),
                    format!("`{v}` is not a valid CSS selector"),
                )
            })
        };
        let re = |name: &str, v: &str| {
            Regex::new(&format!("(?i){v}")).map_err(|e| {
                (
                    format!("labels.{name}"),
                    format!("`{v}` is not a valid pattern: {e}"),
                )
            })
        };
        Ok(Self {
            listing_entry: css("listing_entry", &s.listing_entry)?,
            entry_link: css("entry_link", &s.entry_link)?,
            next_page: css("next_page", &s.next_page)?,
            detail_title: css("detail_title", &s.detail_title)?,
            sessions_table: css("sessions_table", &s.sessions_table)?,
            description: css("description", &s.description)?,
            elearning_entry: css("elearning_entry", &s.elearning_entry)?,
            labels: LabelPatterns {
                category: re("category", &l.category)?,
                level: re("level", &l.level)?,
                prerequisites: re("prerequisites", &l.prerequisites)?,
                places: re("places", &l.places)?,
            },
        })
    }
}

/// The listing's URL: `listing` of the config, with `?c=<category>` when given.
pub fn listing_url(base: &Url, cfg: &EventBookingConfig, category: Option<u32>) -> Url {
    let mut url = base.join(&cfg.listing).unwrap_or_else(|_| base.clone());
    url.set_query(None);
    url.set_fragment(None);
    if let Some(c) = category {
        url.query_pairs_mut().append_pair("c", &c.to_string());
    }
    url
}

/// The eLearning catalogue's URL; `None` when the config turns it off (empty).
pub fn elearning_url(base: &Url, cfg: &EventBookingConfig) -> Option<Url> {
    if cfg.elearning.trim().is_empty() {
        return None;
    }
    base.join(&cfg.elearning).ok()
}

/// The event id in a detail (or booking) URL: the digits of `/events/<id>`
/// (`/event/<id>` also accepted). `None` for any other URL.
pub fn event_id_from_url(url: &Url) -> Option<String> {
    let segments: Vec<&str> = url.path_segments()?.collect();
    segments.windows(2).find_map(|w| {
        let is_events = w[0].eq_ignore_ascii_case("events") || w[0].eq_ignore_ascii_case("event");
        let is_id = !w[1].is_empty() && w[1].bytes().all(|b| b.is_ascii_digit());
        (is_events && is_id).then(|| w[1].to_string())
    })
}

/// The canonical detail URL for any URL of an event (`…/events/<id>` with no
/// trailing segments, query or fragment), e.g. `/events/1001/book?x` →
/// `/events/1001`.
pub fn detail_url(url: &Url) -> Option<Url> {
    let id = event_id_from_url(url)?;
    let segments: Vec<&str> = url.path_segments()?.collect();
    let pos = segments.windows(2).position(|w| {
        (w[0].eq_ignore_ascii_case("events") || w[0].eq_ignore_ascii_case("event")) && w[1] == id
    })?;
    let mut out = url.clone();
    out.set_query(None);
    out.set_fragment(None);
    out.set_path(&segments[..pos + 2].join("/"));
    Some(out)
}

/// True when `url` is a link to the booking form (`/events/<id>/book`), which
/// robots.txt disallows and which is never a session's URL.
pub fn is_booking_url(url: &Url) -> bool {
    event_id_from_url(url).is_some()
        && url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .is_some_and(|last| last.eq_ignore_ascii_case("book"))
}

/// What every session of one page shares.
struct SessionBase<'a> {
    ctx: &'a SourceContext,
    event_id: &'a str,
    title: &'a str,
    category: Option<String>,
    level: Option<String>,
    prerequisites: Option<String>,
    description: Option<String>,
    status: Status,
    availability: Availability,
    url: &'a str,
}

impl SessionBase<'_> {
    fn build(
        &self,
        index: usize,
        date: NaiveDate,
        time: TimeRange,
        venue: Option<&Venue>,
        page_url: &Url,
    ) -> Option<Session> {
        let tz = self.ctx.timezone;
        let convert = |t| -> Option<DateTime<Utc>> {
            match text::local_to_utc(date, t, tz) {
                Ok(u) => Some(u),
                Err(e) => {
                    tracing::warn!(url = %page_url, event_id = %self.event_id, row = index, error = %e, "session time does not exist locally; row skipped");
                    None
                }
            }
        };
        let start = convert(time.start)?;
        let end = convert(time.end)?;
        if end <= start {
            tracing::warn!(url = %page_url, event_id = %self.event_id, row = index, start = %time.start, end = %time.end, "session ends before it starts; row skipped");
            return None;
        }
        Some(Session {
            source: self.ctx.source_id.clone(),
            event_id: self.event_id.to_string(),
            key: SessionKey::nth(index),
            title: self.title.to_string(),
            category: self.category.clone(),
            level: self.level.clone(),
            prerequisites: self.prerequisites.clone(),
            description: self.description.clone(),
            start,
            end,
            timezone: tz.name().to_string(),
            venue: venue.map(|v| v.text.clone()),
            online: venue.is_some_and(|v| v.online),
            status: self.status,
            availability: self.availability,
            url: self.url.to_string(),
            all_day: false,
        })
    }
}
