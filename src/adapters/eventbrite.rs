//! Eventbrite sources (`kind = "eventbrite"`): pure parsing of what the platform
//! answers, into source-independent [`EventRecord`]s and then [`Session`]s.
//!
//! Owns: the addresses of the endpoints (API list, ticket classes, the public
//! "show more" list, event pages), the lenient reading of their JSON and HTML,
//! the mapping of Eventbrite's states onto [`Status`] and [`Availability`], and the
//! merging of the partial views of one event (list entry, ticket classes, event
//! page) into one record.
//!
//! Does not own: fetching, tokens, rate limits, retries, walking the pages (the
//! crawler follows the cursors returned here), or choosing between the token
//! path and the public path; nor the store or the feed. Nothing here reads a
//! clock or does I/O.
//!
//! Two access paths produce the same [`EventRecord`] for the same event:
//! - token: [`parse_api_events`] + [`parse_ticket_classes`] / [`apply_ticket_totals`]
//!   (falling back to the list's `ticket_availability` when ticket classes are refused);
//! - public: [`parse_showmore`] + [`parse_event_page`] / [`apply_page_facts`].
//!
//! Capacity comes only from ticket classes (API or event page), never from the
//! event's own `capacity` field: that is an organiser-set cap that need not match
//! the sum of the tickets, and only the ticket counts exist on both paths.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use scraper::{ElementRef, Html, Node, Selector};
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use url::Url;

use super::schema_org::{collect_events as collect_ld_events, offer_availabilities, schema_name};
use super::{ParseError, SourceContext};
use crate::model::{Availability, Session, SessionKey, Status};

/// Bodies larger than this are refused rather than parsed: real Eventbrite pages
/// are a few MiB at most, and a runaway response should not eat the crawler's memory.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The venue text of an online event (the API gives no platform name).
pub const ONLINE_VENUE: &str = "Online";

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
    pub title: String,
    /// The event's summary (both paths carry it), else the API's plain-text description.
    pub description: Option<String>,
    /// The public event page, without `?aff=…` or any other query.
    pub url: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// "name, address", or [`ONLINE_VENUE`] for an online event.
    pub venue: Option<String>,
    pub online: bool,
    pub status: Status,
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

/// One page of the API's organiser event list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPage {
    pub events: Vec<EventRecord>,
    /// `None` on the last page.
    pub next: Option<PageCursor>,
}

/// One page of the public `showmore` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShowmorePage {
    pub events: Vec<EventRecord>,
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

fn add_known(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    Some(a?.saturating_add(b?))
}

/// One page of `GET /events/{id}/ticket_classes/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketClassesPage {
    pub totals: TicketTotals,
    pub next: Option<PageCursor>,
}

/// What an event page says beyond the list entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PageFacts {
    /// `Some(Cancelled)` when the page's JSON-LD says `EventCancelled`; `None`
    /// otherwise (postponed/rescheduled events keep their listed status).
    pub status: Option<Status>,
    /// Places from `window.__SERVER_DATA__`'s ticket classes, when present.
    /// `waitlist` is always false: the page shows no waiting-list flag we rely on.
    pub availability: Option<Availability>,
    /// Every offer or ticket class is sold out.
    pub sold_out: bool,
}

// ---------------------------------------------------------------------------
// URLs

/// The fixed part of the API list's query: public events only (`only_public`),
/// soonest first, with venue and ticket availability, in the states a calendar
/// shows: on sale (`live`), under way (`started`) or called off (`canceled`), so
/// a cancellation is seen as one rather than as the event vanishing. Drafts are
/// never asked for. Ended events are not either: they are past, the public list
/// (`type=future`) does not show them, and each would cost a ticket-class call.
pub const API_EVENTS_QUERY: &str =
    "status=live,started,canceled&only_public=true&order_by=start_asc&expand=venue,ticket_availability";

/// `{api}/organizers/{id}/events/?` + [`API_EVENTS_QUERY`] plus the paging
/// parameter of `next`.
pub fn api_events_url(api: &Url, organizer_id: &str, next: &PageCursor) -> Url {
    let mut url = with_path(api, &["organizers", organizer_id, "events", ""]);
    // Built by hand so the commas in `status` and `expand` stay literal, as
    // Eventbrite documents them.
    let mut query = String::from(API_EVENTS_QUERY);
    push_cursor(&mut query, next);
    url.set_query(Some(&query));
    url
}

/// `{api}/events/{event_id}/ticket_classes/` plus the paging parameter of `next`.
pub fn api_ticket_classes_url(api: &Url, event_id: &str, next: &PageCursor) -> Url {
    let mut url = with_path(api, &["events", event_id, "ticket_classes", ""]);
    let mut query = String::new();
    push_cursor(&mut query, next);
    url.set_query((!query.is_empty()).then_some(query.as_str()));
    url
}

/// `{base}/org/{organizer_id}/showmore/?type=future&page_size=50&page={page}`.
pub fn showmore_url(base: &Url, organizer_id: &str, page: u32) -> Url {
    let mut url = with_path(base, &["org", organizer_id, "showmore", ""]);
    url.set_query(Some(&format!("type=future&page_size=50&page={page}")));
    url
}

/// The event page of `record_url` on the configured site `base`: keeps the path
/// (`/e/<slug>-tickets-<id>`) and drops the host, so a configured base (or a test
/// server) is used and the crawler never wanders to another host. `None` when
/// the address is not an event page.
pub fn event_page_url(base: &Url, record_url: &str) -> Option<Url> {
    let parsed = Url::parse(record_url).ok()?;
    let path = parsed.path();
    if !path.starts_with("/e/") {
        return None;
    }
    let mut url = base.join(path).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url)
}

/// `base` with `segments` appended to its path; an empty last segment gives the
/// trailing slash Eventbrite's endpoints want. Works whether or not `base` ends in `/`.
fn with_path(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

fn push_cursor(query: &mut String, next: &PageCursor) {
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

// ---------------------------------------------------------------------------
// Raw shapes (lenient: every field optional, unknown fields ignored)

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawId {
    Text(String),
    Number(u64),
}

impl RawId {
    fn digits(&self) -> Option<String> {
        let s = match self {
            RawId::Text(s) => s.trim().to_string(),
            RawId::Number(n) => n.to_string(),
        };
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
    }
}

/// `{text, html}` in the API; a bare string is accepted too.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawText {
    Plain(String),
    Rich {
        #[serde(default)]
        text: Option<String>,
    },
}

impl RawText {
    fn text(&self) -> Option<&str> {
        match self {
            RawText::Plain(s) => Some(s),
            RawText::Rich { text } => text.as_deref(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawTime {
    timezone: Option<String>,
    local: Option<String>,
    utc: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawAddress {
    localized_address_display: Option<String>,
    address_1: Option<String>,
    address_2: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawVenue {
    name: Option<String>,
    address: Option<RawAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawTicketAvailability {
    is_sold_out: Option<bool>,
    waitlist_available: Option<bool>,
}

/// An event of either list (API or `showmore`); the two share these field names.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawEvent {
    id: Option<RawId>,
    name: Option<RawText>,
    summary: Option<String>,
    description: Option<RawText>,
    url: Option<String>,
    start: Option<RawTime>,
    end: Option<RawTime>,
    status: Option<String>,
    online_event: Option<bool>,
    venue: Option<RawVenue>,
    ticket_availability: Option<RawTicketAvailability>,
}

// ---------------------------------------------------------------------------
// API list

/// Parses one page of `GET /organizers/{id}/events/`. A malformed event is
/// skipped with a warning; the page fails only when it is not an event list.
pub fn parse_api_events(
    body: &[u8],
    page_url: &Url,
    ctx: &SourceContext,
) -> Result<ApiPage, ParseError> {
    let root = parse_json(body, page_url)?;
    refuse_error_body(&root, page_url)?;
    let events = root
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(page_url, "no `events` list in the API answer"))?;
    let records = events
        .iter()
        .filter_map(|v| record_or_warn(v, page_url, ctx, Access::Api))
        .collect();
    Ok(ApiPage {
        events: records,
        next: next_cursor(root.get("pagination"), page_url),
    })
}

/// Parses one page of `GET /events/{id}/ticket_classes/` (a 200 answer; refusals
/// go through [`parse_api_error`]). Hidden and donation classes are not counted:
/// nobody can book them from the public page.
pub fn parse_ticket_classes(body: &[u8], page_url: &Url) -> Result<TicketClassesPage, ParseError> {
    let root = parse_json(body, page_url)?;
    refuse_error_body(&root, page_url)?;
    let classes = root
        .get("ticket_classes")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(page_url, "no `ticket_classes` list in the API answer"))?;
    let mut totals = TicketTotals::default();
    for class in classes {
        if !class.is_object() {
            tracing::warn!(url = %page_url, "a ticket class is not an object; places left unknown");
            totals.add_class(None, None);
            continue;
        }
        if flag(class, "hidden") || flag(class, "donation") {
            continue;
        }
        let total = class.get("quantity_total").and_then(count);
        let sold = class.get("quantity_sold").and_then(count);
        let remaining = total.zip(sold).map(|(t, s)| t.saturating_sub(s));
        if remaining.is_none() {
            tracing::warn!(
                url = %page_url,
                class = %class.get("id").map(|v| v.to_string()).unwrap_or_default(),
                "ticket class without quantity_total/quantity_sold; places left unknown"
            );
        }
        totals.add_class(remaining, total);
    }
    Ok(TicketClassesPage {
        totals,
        next: next_cursor(root.get("pagination"), page_url),
    })
}

/// Merges ticket-class totals into a record from the API list. Zero counted
/// classes teach nothing, so the list's `ticket_availability` stays.
pub fn apply_ticket_totals(record: &mut EventRecord, totals: &TicketTotals) {
    if totals.counted == 0 {
        return;
    }
    if totals.spaces_left.is_some() {
        record.availability.spaces_left = totals.spaces_left;
    }
    if totals.capacity.is_some() {
        record.availability.capacity = totals.capacity;
    }
    settle_full(record, false);
}

/// The next page of a list: the continuation when given, else the next page
/// number; `None` on the last page, or when the list would loop or cannot say
/// where to go next.
fn next_cursor(pagination: Option<&Value>, page_url: &Url) -> Option<PageCursor> {
    let p = pagination?;
    if !p
        .get("has_more_items")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return None;
    }
    let asked = |name: &str| {
        page_url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(token) = p
        .get("continuation")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if asked("continuation").as_deref() == Some(token) {
            tracing::warn!(url = %page_url, "the API returned the continuation it was given; stopping");
            return None;
        }
        return Some(PageCursor::Continuation(token.to_string()));
    }
    let current = p
        .get("page_number")
        .and_then(count)
        .or_else(|| asked("page").and_then(|s| s.parse().ok()))
        .or_else(|| asked("continuation").is_none().then_some(1));
    match current {
        Some(n) => Some(PageCursor::Page(n.saturating_add(1))),
        None => {
            tracing::warn!(url = %page_url, "more pages announced but neither a continuation nor a page number given; stopping");
            None
        }
    }
}

// ---------------------------------------------------------------------------
// API errors

/// What kind of refusal an API answer is, which decides what the crawler does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// No token, or a token Eventbrite does not accept: stop and tell the user.
    Auth,
    /// The token works but this resource is not ours (ticket classes of another
    /// organiser), or a CDN refused: fall back to what the list said.
    Forbidden,
    /// `HIT_RATE_LIMIT`: wait, then retry.
    RateLimited,
    NotFound,
    Other,
}

/// A non-2xx answer of the API, read without assuming it is JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ApiErrorKind,
    pub status: u16,
    /// Eventbrite's `error` code (`NO_AUTH`, …), when the body was its JSON.
    pub code: Option<String>,
    /// `error_description`, or the first words of a non-JSON body's text.
    pub description: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ApiErrorKind::Auth => "the Eventbrite API refused the token",
            ApiErrorKind::Forbidden => "the Eventbrite API does not allow this request",
            ApiErrorKind::RateLimited => "the Eventbrite API rate limit was reached",
            ApiErrorKind::NotFound => "the Eventbrite API has no such resource",
            ApiErrorKind::Other => "the Eventbrite API request failed",
        };
        write!(f, "{what} (HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        write!(f, ": {})", self.description)
    }
}

impl std::error::Error for ApiError {}

/// Words of a non-JSON error body kept in the description.
const ERROR_WORDS: usize = 12;

/// How much of an error body is read: Eventbrite's JSON errors are tiny, and
/// html5ever slows down badly on deeply nested markup.
const ERROR_HEAD_BYTES: usize = 8 * 1024;

/// Reads an API refusal. Eventbrite's errors are `{status_code, error,
/// error_description}`, but a CDN in front of it answers HTML: never assume JSON.
pub fn parse_api_error(status: u16, body: &[u8]) -> ApiError {
    // Twelve words need little text; a short head also bounds the HTML parse.
    let head = &body[..body.len().min(ERROR_HEAD_BYTES)];
    let json: Option<Value> = serde_json::from_slice(head).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(squash)
            .filter(|s| !s.is_empty())
    };
    let code = field("error");
    let description = field("error_description")
        .or_else(|| code.clone())
        .unwrap_or_else(|| {
            let text = visible_text(&String::from_utf8_lossy(head), ERROR_WORDS);
            if text.is_empty() {
                "no explanation in the response".to_string()
            } else {
                text
            }
        });
    let kind = match code.as_deref() {
        Some("NO_AUTH" | "INVALID_AUTH" | "INVALID_AUTH_HEADER" | "TOKEN_EXPIRED") => {
            ApiErrorKind::Auth
        }
        Some("HIT_RATE_LIMIT") => ApiErrorKind::RateLimited,
        Some("NOT_FOUND") => ApiErrorKind::NotFound,
        Some("NOT_AUTHORIZED" | "ACCESS_DENIED") => ApiErrorKind::Forbidden,
        _ => match status {
            401 => ApiErrorKind::Auth,
            403 => ApiErrorKind::Forbidden,
            404 => ApiErrorKind::NotFound,
            429 => ApiErrorKind::RateLimited,
            _ => ApiErrorKind::Other,
        },
    };
    ApiError {
        kind,
        status,
        code,
        description,
    }
}

/// The first `max_words` words a person would see in `body` (HTML or plain text).
fn visible_text(body: &str, max_words: usize) -> String {
    let words: Vec<String> = if body.contains('<') {
        let doc = Html::parse_document(body);
        let mut words = Vec::new();
        collect_words(doc.root_element(), &mut words, max_words);
        words
    } else {
        body.split_whitespace()
            .take(max_words)
            .map(str::to_string)
            .collect()
    };
    words.join(" ")
}

/// Words of the text under `el`, skipping what a browser does not show. Walks
/// with its own stack: a hostile page can nest elements deeper than the call stack.
fn collect_words(el: ElementRef<'_>, words: &mut Vec<String>, max_words: usize) {
    let mut stack = vec![*el];
    while let Some(node) = stack.pop() {
        match node.value() {
            Node::Text(t) => {
                for w in t.split_whitespace() {
                    if words.len() >= max_words {
                        return;
                    }
                    words.push(w.to_string());
                }
            }
            Node::Element(e)
                if matches!(
                    e.name(),
                    "head" | "script" | "style" | "noscript" | "template" | "title"
                ) => {}
            Node::Element(_) | Node::Document | Node::Fragment => {
                // reversed, so the first child is popped first
                stack.extend(node.children().rev());
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// Public website: showmore list

/// Parses one page of `/org/{id}/showmore/`: `{success, data {events, has_next_page}}`.
pub fn parse_showmore(
    body: &[u8],
    page_url: &Url,
    ctx: &SourceContext,
) -> Result<ShowmorePage, ParseError> {
    let root = parse_json(body, page_url)?;
    if root.get("success").and_then(Value::as_bool) == Some(false) {
        let why = root
            .get("error")
            .or_else(|| root.get("message"))
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_else(|| "no reason given".into());
        return Err(ParseError::new(
            page_url,
            format!("the organiser's event list answered success=false ({why})"),
        ));
    }
    let data = root.get("data").unwrap_or(&root);
    let events = data
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(page_url, "no `data.events` list in the answer"))?;
    let records: Vec<EventRecord> = events
        .iter()
        .filter_map(|v| record_or_warn(v, page_url, ctx, Access::Public))
        .collect();
    let mut has_next_page = data
        .get("has_next_page")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if has_next_page && events.is_empty() {
        // An empty page that promises more would make the crawler loop for ever.
        tracing::warn!(url = %page_url, "empty page announces a next page; stopping");
        has_next_page = false;
    }
    Ok(ShowmorePage {
        events: records,
        has_next_page,
    })
}

// ---------------------------------------------------------------------------
// Public website: event page

/// Reads an event page (`/e/<slug>-tickets-<id>`) for what the showmore list
/// lacks: cancellation (JSON-LD `eventStatus`) and places (`window.__SERVER_DATA__`
/// ticket classes, else JSON-LD `offers.availability`). Fails only when the page
/// has neither, which means it is not an event page (a login wall, a CDN page).
pub fn parse_event_page(html: &str, page_url: &Url) -> Result<PageFacts, ParseError> {
    if html.len() > MAX_BODY_BYTES {
        return Err(ParseError::new(
            page_url,
            format!("page of {} bytes is too large to read", html.len()),
        ));
    }
    // Cheap refusal of pages that cannot hold what we read (CDN and login pages),
    // before the HTML parse, which is slow on pathological markup.
    if !html.contains("ld+json") && !html.contains("__SERVER_DATA__") {
        return Err(ParseError::new(
            page_url,
            "neither JSON-LD nor window.__SERVER_DATA__: not an Eventbrite event page?",
        ));
    }
    let doc = super::parse_html(html, page_url)?;
    let scripts =
        Selector::parse("script").map_err(|e| ParseError::new(page_url, e.to_string()))?;
    let mut ld_nodes: Vec<Value> = Vec::new();
    let mut server_data: Option<Value> = None;
    for script in doc.select(&scripts) {
        if script.value().attr("src").is_some() {
            continue;
        }
        let text: String = script.text().collect();
        let is_ld = script
            .value()
            .attr("type")
            .is_some_and(|t| t.to_ascii_lowercase().contains("ld+json"));
        if is_ld {
            match serde_json::from_str::<Value>(text.trim()) {
                Ok(v) => collect_ld_events(v, &mut ld_nodes),
                Err(e) => tracing::warn!(url = %page_url, "unreadable JSON-LD block skipped: {e}"),
            }
        } else if server_data.is_none() && text.contains("__SERVER_DATA__") {
            server_data = extract_server_data(&text, page_url);
        }
    }
    let event_id = trailing_digits(page_url.path());
    let ld_event = ld_nodes
        .iter()
        .find(|n| {
            !event_id.is_empty()
                && n.get("url")
                    .and_then(Value::as_str)
                    .is_some_and(|u| trailing_digits(u.split('?').next().unwrap_or(u)) == event_id)
        })
        .or_else(|| ld_nodes.first());
    let classes = server_data
        .as_ref()
        .and_then(|d| d.pointer("/event_listing_response/tickets/ticketClasses"))
        .and_then(Value::as_array);
    if ld_event.is_none() && classes.is_none() {
        return Err(ParseError::new(
            page_url,
            "neither a JSON-LD Event nor window.__SERVER_DATA__ ticket classes: not an Eventbrite event page?",
        ));
    }

    let mut facts = PageFacts::default();
    if let Some(ev) = ld_event {
        let status = ev
            .get("eventStatus")
            .and_then(Value::as_str)
            .map(schema_name)
            .unwrap_or_default();
        match status {
            "EventCancelled" => facts.status = Some(Status::Cancelled),
            "EventPostponed" | "EventRescheduled" => tracing::warn!(
                url = %page_url,
                "event page says {status}; keeping the listed status and dates"
            ),
            _ => {}
        }
        let availabilities = offer_availabilities(ev.get("offers"));
        facts.sold_out =
            !availabilities.is_empty() && availabilities.iter().all(|a| *a == "SoldOut");
    }
    if let Some(classes) = classes {
        let mut totals = TicketTotals::default();
        let mut all_sold_out = true;
        for class in classes {
            if flag(class, "hidden") || flag(class, "isHidden") {
                continue;
            }
            totals.add_class(
                class.get("quantityRemaining").and_then(count),
                class.get("capacity").and_then(count),
            );
            let state = class.get("onSaleStatusEnum").and_then(Value::as_str);
            all_sold_out &= state == Some("SOLD_OUT");
        }
        if totals.counted > 0 {
            facts.availability = Some(Availability {
                spaces_left: totals.spaces_left,
                capacity: totals.capacity,
                waitlist: false,
                unpublished: false,
            });
            facts.sold_out |= all_sold_out || totals.spaces_left == Some(0);
        }
    }
    Ok(facts)
}

/// Merges what an event page said into a record from a list (either path).
/// Cancellation wins; page counts replace list counts (the page is the fresher,
/// more direct read); a sold-out page makes a scheduled event full.
pub fn apply_page_facts(record: &mut EventRecord, facts: &PageFacts) {
    if facts.status == Some(Status::Cancelled) {
        record.status = Status::Cancelled;
    }
    if let Some(a) = facts.availability {
        if a.spaces_left.is_some() {
            record.availability.spaces_left = a.spaces_left;
        }
        if a.capacity.is_some() {
            record.availability.capacity = a.capacity;
        }
        record.availability.waitlist |= a.waitlist;
    }
    settle_full(record, facts.sold_out);
}

/// A scheduled event with no places is full; a full event says 0 places left
/// when no count says otherwise. Cancelled stays cancelled, and full is never
/// undone here: the platform's own sold-out flag knows of holds counts don't show.
fn settle_full(record: &mut EventRecord, sold_out: bool) {
    if record.status == Status::Scheduled
        && (sold_out || record.availability.spaces_left == Some(0))
    {
        record.status = Status::Full;
    }
    if sold_out && record.availability.spaces_left.is_none() {
        record.availability.spaces_left = Some(0);
    }
}

/// Finds `window.__SERVER_DATA__ = {…};` in a script and parses the object. The
/// object is taken by balancing braces outside strings, because its strings can
/// hold `};` and so the first `};` is not necessarily its end.
fn extract_server_data(script: &str, page_url: &Url) -> Option<Value> {
    let at = script.find("__SERVER_DATA__")?;
    let after = &script[at + "__SERVER_DATA__".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let Some(len) = balanced_object_len(after) else {
        tracing::warn!(url = %page_url, "window.__SERVER_DATA__ is not a complete object");
        return None;
    };
    match serde_json::from_str(&after[..len]) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(url = %page_url, "window.__SERVER_DATA__ is not JSON: {e}");
            None
        }
    }
}

/// Byte length of the `{…}` object at the start of `s`, strings and escapes
/// respected; `None` when `s` does not start with `{` or never closes it.
fn balanced_object_len(s: &str) -> Option<usize> {
    if !s.starts_with('{') {
        return None;
    }
    let mut depth: usize = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

// ---------------------------------------------------------------------------
// One event of a list

/// Which list an entry comes from: what the entry can be trusted to say differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// The organiser's list through the API: a token can see drafts, unlisted
    /// and private events, so each entry must say it is public.
    Api,
    /// The public site's list, which shows only public events and carries
    /// neither `status` nor `listed`; an entry that says otherwise is still refused.
    Public,
}

/// The `status` values of events the public may see: on sale, under way, over,
/// or called off. Anything else (`draft`, unknown words) stays off the calendar.
const PUBLIC_STATUSES: &[&str] = &[
    "live",
    "started",
    "ended",
    "completed",
    "canceled",
    "cancelled",
];

/// Why an entry must stay off a public calendar, or `None` when it may be shown:
/// an event that is not listed, not shareable, or a draft (or of a status we do
/// not know). The API must say `listed: true` and give a status; the public list
/// is refused only on what it says. Read from the raw entry, before anything
/// else, so that nothing of a private event (its title) reaches a log.
fn not_public(v: &Value, access: Access) -> Option<String> {
    let status = v
        .get("status")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_lowercase());
    match (&status, access) {
        (Some(s), _) if !PUBLIC_STATUSES.contains(&s.as_str()) => {
            let shown: String = s
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(20)
                .collect();
            return Some(format!("status `{shown}` is not public"));
        }
        (None, Access::Api) => return Some("no readable status".into()),
        _ => {}
    }
    match (v.get("listed").map(Value::as_bool), access) {
        (Some(Some(true)), _) => {}
        (Some(Some(false)), _) => return Some("not listed".into()),
        (_, Access::Api) => return Some("does not say it is listed".into()),
        _ => {}
    }
    if v.get("shareable").and_then(Value::as_bool) == Some(false) {
        return Some("not shareable".into());
    }
    None
}

/// Reads one list entry, or logs why it is skipped and returns `None`: a
/// malformed entry with a warning naming it, an entry that is not public with
/// an info line naming only its id (its title may be private).
fn record_or_warn(
    v: &Value,
    page_url: &Url,
    ctx: &SourceContext,
    access: Access,
) -> Option<EventRecord> {
    if !v.is_object() {
        warn_skipped(v, page_url, ctx, "malformed entry: not an object");
        return None;
    }
    if let Some(why) = not_public(v, access) {
        tracing::info!(
            source = %ctx.source_id,
            url = %page_url,
            event = %id_of(v),
            "Eventbrite event left out of the calendar: {why}"
        );
        return None;
    }
    let result = RawEvent::deserialize(v)
        .map_err(|e| format!("malformed entry: {e}"))
        .and_then(|raw| record_from_raw(raw, page_url, ctx));
    match result {
        Ok(r) => Some(r),
        Err(why) => {
            warn_skipped(v, page_url, ctx, &why);
            None
        }
    }
}

fn warn_skipped(v: &Value, page_url: &Url, ctx: &SourceContext, why: &str) {
    tracing::warn!(
        source = %ctx.source_id,
        url = %page_url,
        event = %label_of(v),
        "skipping Eventbrite event: {why}"
    );
}

/// The entry's id as given, for a log line: digits only, so that nothing else
/// of a private event is written out.
fn id_of(v: &Value) -> String {
    let id = match v.get("id") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit()) {
        id
    } else {
        "(no usable id)".into()
    }
}

/// `812345670011 "Title"`, from whatever of the entry is readable.
fn label_of(v: &Value) -> String {
    let id = match v.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "(no id)".into(),
    };
    let name = v
        .get("name")
        .and_then(|n| n.get("text").or(Some(n)))
        .and_then(Value::as_str)
        .unwrap_or("(no name)");
    let name: String = name.chars().take(80).collect();
    format!("{id} \"{name}\"")
}

fn record_from_raw(
    raw: RawEvent,
    page_url: &Url,
    ctx: &SourceContext,
) -> Result<EventRecord, String> {
    let event_id = raw
        .id
        .as_ref()
        .and_then(RawId::digits)
        .ok_or("no numeric id")?;
    let title = raw
        .name
        .as_ref()
        .and_then(RawText::text)
        .map(squash)
        .filter(|s| !s.is_empty())
        .ok_or("no name")?;
    let start = raw
        .start
        .as_ref()
        .ok_or_else(|| "no start time".to_string())
        .and_then(|t| to_utc(t, ctx.timezone))
        .map_err(|e| format!("start: {e}"))?;
    let end = raw
        .end
        .as_ref()
        .ok_or_else(|| "no end time".to_string())
        .and_then(|t| to_utc(t, ctx.timezone))
        .map_err(|e| format!("end: {e}"))?;
    if end < start {
        return Err(format!("ends ({end}) before it starts ({start})"));
    }
    let description = raw
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            raw.description
                .as_ref()
                .and_then(RawText::text)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        })
        .map(str::to_string);
    let online = raw.online_event.unwrap_or(false);
    let venue = venue_text(online, raw.venue.as_ref());
    let url = clean_event_url(raw.url.as_deref(), page_url, &event_id);

    let cancelled = raw.status.as_deref().is_some_and(|s| {
        matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "canceled" | "cancelled"
        )
    });
    let ta = raw.ticket_availability.unwrap_or_default();
    let sold_out = ta.is_sold_out == Some(true);
    let mut record = EventRecord {
        event_id,
        title,
        description,
        url,
        start,
        end,
        venue,
        online,
        status: if cancelled {
            Status::Cancelled
        } else {
            Status::Scheduled
        },
        availability: Availability {
            spaces_left: None,
            capacity: None,
            waitlist: ta.waitlist_available == Some(true),
            unpublished: false,
        },
    };
    settle_full(&mut record, sold_out);
    Ok(record)
}

/// `{timezone, local, utc}` → UTC. `utc` is used when present; `local` is never
/// read as UTC but converted from its `timezone` (the source's zone when absent).
fn to_utc(t: &RawTime, fallback: Tz) -> Result<DateTime<Utc>, String> {
    let utc = t.utc.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(u) = utc {
        if let Ok(d) = DateTime::parse_from_rfc3339(u) {
            return Ok(d.with_timezone(&Utc));
        }
    }
    let Some(local) = t.local.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(match utc {
            Some(u) => format!("`{u}` is not a time"),
            None => "neither `utc` nor `local` given".into(),
        });
    };
    if let Ok(d) = DateTime::parse_from_rfc3339(local) {
        return Ok(d.with_timezone(&Utc));
    }
    let tz: Tz = match t
        .timezone
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(name) => name
            .parse()
            .map_err(|_| format!("`{name}` is not a time zone"))?,
        None => fallback,
    };
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M"))
        .map_err(|_| format!("`{local}` is not a local time"))?;
    // Ambiguous (clocks go back): the first occurrence. Skipped (clocks go
    // forward): the same wall time an hour later, as clocks show it.
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            naive
                .checked_add_signed(chrono::Duration::hours(1))
                .and_then(|n| tz.from_local_datetime(&n).earliest())
        })
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| format!("`{local}` does not exist in {tz}"))
}

fn venue_text(online: bool, venue: Option<&RawVenue>) -> Option<String> {
    if online {
        return Some(ONLINE_VENUE.to_string());
    }
    let venue = venue?;
    let name = venue.name.as_deref().map(squash).filter(|s| !s.is_empty());
    let address = venue.address.as_ref().and_then(address_text);
    match (name, address) {
        // Some venues are named after their first address line.
        (Some(n), Some(a)) if a.starts_with(&n) => Some(a),
        (Some(n), Some(a)) => Some(format!("{n}, {a}")),
        (n, a) => n.or(a),
    }
}

fn address_text(a: &RawAddress) -> Option<String> {
    if let Some(s) = a
        .localized_address_display
        .as_deref()
        .map(squash)
        .filter(|s| !s.is_empty())
    {
        return Some(s);
    }
    let parts: Vec<String> = [&a.address_1, &a.address_2, &a.city, &a.postal_code]
        .into_iter()
        .filter_map(|p| p.as_deref().map(squash))
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The event page's address without `?aff=…` or any other query; resolved
/// against the page for relative links; Eventbrite's short form when unusable.
fn clean_event_url(raw: Option<&str>, page_url: &Url, event_id: &str) -> String {
    raw.and_then(|s| page_url.join(s.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
        // `/e/<id>` redirects to the event's page on every Eventbrite domain.
        .unwrap_or_else(|| format!("https://www.eventbrite.com/e/{event_id}"))
}

// ---------------------------------------------------------------------------
// Small helpers

fn parse_json(body: &[u8], page_url: &Url) -> Result<Value, ParseError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ParseError::new(
            page_url,
            format!("answer of {} bytes is too large to read", body.len()),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let start = String::from_utf8_lossy(&body[..body.len().min(512)]).to_string();
        let hint = if start.trim_start().starts_with('<') {
            format!(
                " (looks like HTML: \"{}\")",
                visible_text(&start, ERROR_WORDS)
            )
        } else {
            String::new()
        };
        ParseError::new(page_url, format!("not JSON: {e}{hint}"))
    })
}

/// A 200 answer that is really an API error object.
fn refuse_error_body(root: &Value, page_url: &Url) -> Result<(), ParseError> {
    if root.get("status_code").is_some() && root.get("error").is_some() {
        let status = root
            .get("status_code")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(0);
        let e = parse_api_error(status, root.to_string().as_bytes());
        return Err(ParseError::new(page_url, e.to_string()));
    }
    Ok(())
}

/// A non-negative count from a JSON number or digit string; negatives are 0.
fn count(v: &Value) -> Option<u32> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    Some(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

fn flag(v: &Value, name: &str) -> bool {
    v.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// Collapses runs of whitespace to one space and trims.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The digits at the end of a path (`…-tickets-812345670011` → `812345670011`).
fn trailing_digits(path: &str) -> &str {
    let path = path.trim_end_matches('/');
    let digits = path.bytes().rev().take_while(u8::is_ascii_digit).count();
    &path[path.len() - digits..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> SourceContext {
        SourceContext {
            source_id: "vrp".into(),
            timezone: chrono_tz::Europe::London,
            now: DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default(),
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn api_urls_join_without_trailing_slash() {
        let api = url("https://www.eventbriteapi.com/v3");
        assert_eq!(
            api_events_url(&api, "98765432101", &PageCursor::First).as_str(),
            "https://www.eventbriteapi.com/v3/organizers/98765432101/events/?status=live,started,canceled&only_public=true&order_by=start_asc&expand=venue,ticket_availability"
        );
        let slash = url("https://www.eventbriteapi.com/v3/");
        assert_eq!(
            api_events_url(&slash, "1", &PageCursor::Page(3)).as_str(),
            "https://www.eventbriteapi.com/v3/organizers/1/events/?status=live,started,canceled&only_public=true&order_by=start_asc&expand=venue,ticket_availability&page=3"
        );
        assert_eq!(
            api_events_url(&api, "1", &PageCursor::Continuation("a+b=".into())).as_str(),
            "https://www.eventbriteapi.com/v3/organizers/1/events/?status=live,started,canceled&only_public=true&order_by=start_asc&expand=venue,ticket_availability&continuation=a%2Bb%3D"
        );
        assert_eq!(
            api_ticket_classes_url(&api, "812345670011", &PageCursor::First).as_str(),
            "https://www.eventbriteapi.com/v3/events/812345670011/ticket_classes/"
        );
        assert_eq!(
            showmore_url(&url("https://www.eventbrite.co.uk"), "98765432101", 2).as_str(),
            "https://www.eventbrite.co.uk/org/98765432101/showmore/?type=future&page_size=50&page=2"
        );
    }

    #[test]
    fn event_page_url_rebases_onto_configured_site() {
        let base = url("http://127.0.0.1:8080/");
        assert_eq!(
            event_page_url(
                &base,
                "https://www.eventbrite.co.uk/e/x-tickets-812345670011?aff=a"
            )
            .map(|u| u.to_string()),
            Some("http://127.0.0.1:8080/e/x-tickets-812345670011".into())
        );
        assert_eq!(event_page_url(&base, "https://evil.example/o/x-1"), None);
    }

    #[test]
    fn local_time_is_converted_not_read_as_utc() {
        let t = RawTime {
            timezone: Some("Europe/London".into()),
            local: Some("2027-06-15T10:00:00".into()),
            utc: None,
        };
        assert_eq!(
            to_utc(&t, chrono_tz::UTC).map(|d| d.to_rfc3339()),
            Ok("2027-06-15T09:00:00+00:00".into())
        );
        // a time skipped by the clocks going forward moves an hour on
        let gap = RawTime {
            timezone: None,
            local: Some("2027-03-28T01:30:00".into()),
            utc: None,
        };
        assert_eq!(
            to_utc(&gap, chrono_tz::Europe::London).map(|d| d.to_rfc3339()),
            Ok("2027-03-28T01:30:00+00:00".into())
        );
    }

    #[test]
    fn sold_out_with_waitlist_from_ticket_availability() {
        let body = br#"{"pagination":{"has_more_items":false},"events":[{"id":"812345670099","name":{"text":"X"},
            "url":"https://www.eventbrite.co.uk/e/x-tickets-812345670099?aff=ebapi",
            "start":{"timezone":"Europe/London","local":"2027-01-20T10:00:00","utc":"2027-01-20T10:00:00Z"},
            "end":{"timezone":"Europe/London","local":"2027-01-20T11:00:00","utc":"2027-01-20T11:00:00Z"},
            "status":"live","listed":true,"ticket_availability":{"is_sold_out":true,"waitlist_available":true}}]}"#;
        let page = parse_api_events(body, &url("https://api.test/v3/x"), &ctx()).expect("parses");
        let e = &page.events[0];
        assert_eq!(e.status, Status::Full);
        assert_eq!(
            e.availability,
            Availability {
                spaces_left: Some(0),
                capacity: None,
                waitlist: true,
                unpublished: false,
            }
        );
        assert_eq!(
            e.url,
            "https://www.eventbrite.co.uk/e/x-tickets-812345670099"
        );
        assert_eq!(page.next, None);
    }

    #[test]
    fn next_cursor_rules() {
        let u = url("https://api.test/v3/o/?page=4");
        let p = |v: &str| next_cursor(serde_json::from_str::<Value>(v).ok().as_ref(), &u);
        assert_eq!(p(r#"{"has_more_items":false,"continuation":"x"}"#), None);
        assert_eq!(
            p(r#"{"has_more_items":true,"continuation":"x"}"#),
            Some(PageCursor::Continuation("x".into()))
        );
        assert_eq!(
            p(r#"{"has_more_items":true,"page_number":2}"#),
            Some(PageCursor::Page(3))
        );
        assert_eq!(p(r#"{"has_more_items":true}"#), Some(PageCursor::Page(5)));
        let c = url("https://api.test/v3/o/?continuation=x");
        let v: Value = serde_json::from_str(r#"{"has_more_items":true,"continuation":"x"}"#)
            .unwrap_or_default();
        assert_eq!(
            next_cursor(Some(&v), &c),
            None,
            "a repeated continuation would loop"
        );
        let v: Value = serde_json::from_str(r#"{"has_more_items":true}"#).unwrap_or_default();
        assert_eq!(
            next_cursor(Some(&v), &c),
            None,
            "no way to tell the next page"
        );
    }

    #[test]
    fn balanced_object_ignores_braces_in_strings() {
        let s = r#"{"a":"};{\"}","b":[{"c":1}]}; more = {};"#;
        let n = balanced_object_len(s).unwrap_or(0);
        assert_eq!(&s[..n], r#"{"a":"};{\"}","b":[{"c":1}]}"#);
        assert_eq!(balanced_object_len(r#"{"a":"}"#), None);
        assert_eq!(balanced_object_len("nope"), None);
        assert_eq!(balanced_object_len("}}"), None);
    }

    #[test]
    fn api_error_kinds() {
        assert_eq!(parse_api_error(401, b"").kind, ApiErrorKind::Auth);
        assert_eq!(
            parse_api_error(
                400,
                br#"{"error":"INVALID_AUTH","error_description":"bad"}"#
            )
            .kind,
            ApiErrorKind::Auth
        );
        assert_eq!(
            parse_api_error(503, b"Service Unavailable").kind,
            ApiErrorKind::Other
        );
        assert_eq!(
            parse_api_error(503, b"Service  Unavailable\n").description,
            "Service Unavailable"
        );
        assert_eq!(
            parse_api_error(500, b"").to_string(),
            "the Eventbrite API request failed (HTTP 500: no explanation in the response)"
        );
    }

    #[test]
    fn trailing_digits_of_paths() {
        assert_eq!(
            trailing_digits("/e/x-tickets-812345670011/"),
            "812345670011"
        );
        assert_eq!(trailing_digits("/e/x"), "");
        assert_eq!(trailing_digits(""), "");
    }
}
