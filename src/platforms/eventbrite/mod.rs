//! `kind = "eventbrite"`: an organiser's events on Eventbrite, through the
//! Platform API with a token (`api.rs`) or the public website without one
//! (`public.rs`); both read each list entry the same way (`record.rs`) into a
//! source-independent [`EventRecord`], which becomes a [`Session`].
//!
//! This folder is the whole platform: its settings (this file), its walk
//! (`walk.rs`: which path, the order of requests, the API call budget, what is
//! kept when an event page cannot be read) and its readers. The readers own
//! the addresses of the endpoints, the lenient reading of their JSON and HTML,
//! the mapping of Eventbrite's states onto [`Status`] and [`Availability`], and
//! the merging of the partial views of one event (list entry, ticket classes,
//! event page) into one record; they never fetch or read a clock.
//!
//! Two access paths produce the same [`EventRecord`] for the same event:
//! - token: [`parse_api_events`] + [`parse_ticket_classes`] / [`apply_ticket_totals`]
//!   (falling back to the list's `ticket_availability` when ticket classes are refused);
//! - public: [`parse_showmore`] + [`parse_event_page`] / [`apply_page_facts`].
//!
//! Capacity comes only from ticket classes (API or event page), never from the
//! event's own `capacity` field: that is an organiser-set cap that need not match
//! the sum of the tickets, and only the ticket counts exist on both paths.

mod api;
mod public;
mod record;
#[cfg(test)]
mod tests;
mod walk;

pub use api::{
    api_events_url, api_ticket_classes_url, apply_ticket_totals, parse_api_error, parse_api_events,
    parse_ticket_classes, ApiError, ApiErrorKind, API_EVENTS_QUERY,
};
pub use public::{
    apply_page_facts, event_page_url, parse_event_page, parse_showmore, showmore_url,
};

use api::*;
use public::*;
use record::*;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use scraper::{ElementRef, Html, Node, Selector};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use url::Url;

use super::schema_org::{
    collect_events as collect_ld_events, offers_sold_out, postponed, status_of,
};
use super::{Configured, Kind, ParseError, Platform, SourceContext};
use crate::model::{Availability, Session, SessionKey, Status};
use crate::source::{ConfigError, KindFields};

/// The registry's entry for this platform.
pub const PLATFORM: Platform = Platform {
    kind: "eventbrite",
    configure,
};

/// Settings of an `eventbrite` source.
#[derive(Debug, Clone, PartialEq)]
pub struct EventbriteConfig {
    /// Digits; `None` while the source file does not say yet.
    pub organizer_id: Option<String>,
    /// Where the Platform API lives (a replica in tests).
    pub api_url: Url,
    /// Name of the environment variable holding a private API token.
    pub token_env: String,
}

/// The fields an `eventbrite` source file may set besides the common ones.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    organizer_id: Option<toml::Value>,
    organizer_url: Option<String>,
    api_url: Option<String>,
    token_env: Option<String>,
}

fn configure(fields: &KindFields<'_>) -> Result<Configured, ConfigError> {
    let f: Fields = fields.read()?;
    let organizer_id = match (&f.organizer_id, &f.organizer_url) {
        (Some(v), _) => {
            let s = match v {
                toml::Value::String(s) => s.trim().to_string(),
                toml::Value::Integer(i) => i.to_string(),
                _ => {
                    return Err(fields.error(
                        "organizer_id",
                        "must be the organiser's digits, as a string or a number",
                    ))
                }
            };
            if s.is_empty() {
                None
            } else if s.bytes().all(|b| b.is_ascii_digit()) {
                Some(s)
            } else {
                return Err(fields.error(
                    "organizer_id",
                    format!("`{s}` must be digits only (the end of the organiser page's address)"),
                ));
            }
        }
        (None, Some(u)) if !u.trim().is_empty() => {
            Some(organizer_id_from_url(u).ok_or_else(|| {
                fields.error(
                    "organizer_url",
                    format!("`{u}` does not end in the organiser's digits (…/o/name-12345678)"),
                )
            })?)
        }
        _ => None,
    };
    let api_url = crate::source::settings::parse_url(
        f.api_url
            .as_deref()
            .unwrap_or("https://www.eventbriteapi.com/v3"),
    )
    .map_err(|m| fields.error("api_url", m))?;
    let token_env = f.token_env.unwrap_or_else(|| "EVENTBRITE_TOKEN".into());
    Ok(Configured {
        kind: Arc::new(EventbriteConfig {
            organizer_id,
            api_url,
            token_env,
        }),
        default_base_url: Some(
            Url::parse("https://www.eventbrite.co.uk").expect("a valid address"),
        ),
    })
}

impl Kind for EventbriteConfig {
    fn walk<'a>(&'a self, w: &'a crate::source::Walker<'a>) -> super::WalkFuture<'a> {
        Box::pin(walk::walk(self, w))
    }

    fn is_booking_system(&self) -> bool {
        true
    }
}

/// The trailing digits of an organiser page address (`…/o/some-name-12345678`).
pub fn organizer_id_from_url(u: &str) -> Option<String> {
    let path = Url::parse(u.trim())
        .ok()?
        .path()
        .trim_end_matches('/')
        .to_string();
    let digits: String = path
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!digits.is_empty()).then_some(digits)
}

/// Bodies larger than this are refused rather than parsed: real Eventbrite pages
/// are a few MiB at most, and a runaway response should not eat the crawler's memory.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The venue text of an online event (the API gives no platform name).
pub use super::text::ONLINE_VENUE;

/// Where the next page of an API list starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageCursor {
    /// The first page: no paging parameter.
    First,
    /// The opaque `pagination.continuation` token of the previous page.
    Continuation(String),
    /// A 1-based page number, for lists that give no continuation.
    Page(u32),
}

/// One Eventbrite event as either access path read it, before it becomes a `Session`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Eventbrite's event id: digits.
    pub event_id: String,
    /// The event's name, whitespace collapsed; never empty.
    pub title: String,
    /// The event's summary (both paths carry it), else the API's plain-text description.
    pub description: Option<String>,
    /// The public event page, without `?aff=…` or any other query.
    pub url: String,
    /// When it starts (Eventbrite's `utc`, else its local time in the event's zone).
    pub start: DateTime<Utc>,
    /// When it ends; never before `start`.
    pub end: DateTime<Utc>,
    /// "name, address", or [`ONLINE_VENUE`] for an online event.
    pub venue: Option<String>,
    /// Eventbrite marks it an online event.
    pub online: bool,
    /// `Cancelled` when Eventbrite says so, `Full` when sold out or no places
    /// are left, else `Scheduled`.
    pub status: Status,
    /// Places as far as this path has read them: counts come from ticket
    /// classes (API or event page); the list entry gives only sold out (0
    /// left) and the waiting-list flag.
    pub availability: Availability,
}

impl EventRecord {
    /// The calendar session of this event: Eventbrite events are single-date, so
    /// the key is always the first session, and the UID depends only on the event id.
    pub fn into_session(self, ctx: &SourceContext) -> Session {
        // Eventbrite never prints "places available": with no count from the
        // ticket classes, the event page or a sold-out flag, it said nothing.
        let mut availability = self.availability;
        availability.unpublished = availability.spaces_left.is_none();
        Session {
            source: ctx.source_id.clone(),
            event_id: self.event_id,
            key: SessionKey::nth(1),
            title: self.title,
            category: None,
            level: None,
            prerequisites: None,
            description: self.description,
            start: self.start,
            end: self.end,
            // Eventbrite stores each event's own zone, but the calendar shows the
            // source's zone (Europe/London) so all sources read alike.
            timezone: ctx.timezone.name().to_string(),
            venue: self.venue,
            online: self.online,
            status: self.status,
            availability,
            url: self.url,
            all_day: false,
        }
    }
}

/// One page of the API's organiser event list: its events in the API's order
/// (entries that could not be read are left out, with a warning), and the
/// cursor of the next page.
pub type ApiPage = crate::source::ListingPage<EventRecord, PageCursor>;

/// One page of the public `showmore` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowmorePage {
    /// The page's events in the site's order; entries that could not be read
    /// are left out (with a warning).
    pub events: Vec<EventRecord>,
    /// The site announces another page; false for an empty page, whatever it
    /// says, so that a crawl cannot loop for ever.
    pub has_next_page: bool,
}

/// Sums over the ticket classes seen so far (possibly over several pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TicketTotals {
    /// Ticket classes counted (hidden and donation classes are not).
    pub counted: u32,
    /// Sum of places left; `None` when a counted class did not say.
    pub spaces_left: Option<u32>,
    /// Sum of places in total; `None` when a counted class did not say.
    pub capacity: Option<u32>,
}

impl TicketTotals {
    fn add_class(&mut self, remaining: Option<u32>, total: Option<u32>) {
        if self.counted == 0 {
            self.spaces_left = remaining;
            self.capacity = total;
        } else {
            self.spaces_left = add_known(self.spaces_left, remaining);
            self.capacity = add_known(self.capacity, total);
        }
        self.counted = self.counted.saturating_add(1);
    }

    /// Totals of two pages of ticket classes of the same event.
    pub fn merge(self, other: TicketTotals) -> TicketTotals {
        if self.counted == 0 {
            return other;
        }
        if other.counted == 0 {
            return self;
        }
        TicketTotals {
            counted: self.counted.saturating_add(other.counted),
            spaces_left: add_known(self.spaces_left, other.spaces_left),
            capacity: add_known(self.capacity, other.capacity),
        }
    }
}

pub(super) fn add_known(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    Some(a?.saturating_add(b?))
}

/// One page of `GET /events/{id}/ticket_classes/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketClassesPage {
    /// Sums over this page's ticket classes only (see [`TicketTotals::merge`]).
    pub totals: TicketTotals,
    /// `None` on the last page.
    pub next: Option<PageCursor>,
}

/// What an event page says beyond the list entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageFacts {
    /// `Some(Cancelled)` when the page's JSON-LD says `EventCancelled` or
    /// `EventPostponed`; `None` otherwise (a rescheduled event's list entry
    /// already has its new dates).
    pub status: Option<Status>,
    /// The JSON-LD says `EventPostponed`: the description says so first.
    pub postponed: bool,
    /// Places from `window.__SERVER_DATA__`'s ticket classes, when present.
    /// `waitlist` is always false: the page shows no waiting-list flag we rely on.
    pub availability: Option<Availability>,
    /// Every offer or ticket class is sold out.
    pub sold_out: bool,
}

// ---------------------------------------------------------------------------
// URLs

/// `base` with `segments` appended to its path; an empty last segment gives the
/// trailing slash Eventbrite's endpoints want. Works whether or not `base` ends in `/`.
pub(super) fn with_path(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

pub(super) fn push_cursor(query: &mut String, next: &PageCursor) {
    let sep = if query.is_empty() { "" } else { "&" };
    match next {
        PageCursor::First => {}
        PageCursor::Continuation(token) => {
            let token: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
            query.push_str(&format!("{sep}continuation={token}"));
        }
        PageCursor::Page(n) => query.push_str(&format!("{sep}page={n}")),
    }
}
