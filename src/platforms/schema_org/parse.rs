//! The one reader of schema.org `Event`s, used by `schema-org` sources and by
//! Eventbrite's public pages: finding the JSON-LD blocks of a page (one object,
//! an array, `@graph`, several blocks), recognising `Event` and its subtypes,
//! reading a listing's event addresses (`ItemList`, embedded `Event`s, else
//! same-site links matching a pattern) and its `rel="next"` page, and turning
//! an `Event` (and its `subEvent`s) into `Session`s: dates with or without an
//! offset, `eventStatus`, `offers` availability, places left, `Place` or
//! `VirtualLocation`.
//!
//! Nothing here reads a clock or does I/O; an event that cannot be read is a
//! logged warning naming the page, never a panic.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use regex::Regex;
use scraper::{Html, Selector};
use serde_json::Value;
use std::collections::HashSet;
use std::ops::ControlFlow;
use url::Url;

use crate::model::{Availability, Session, SessionKey, Status};
use crate::platforms::text;
use crate::source::{ParseError, SourceContext};

/// Pages larger than this are refused rather than parsed.
pub const MAX_PAGE_BYTES: usize = 16 * 1024 * 1024;

/// The venue text of an event held online (one wording for every kind).
pub use crate::platforms::text::ONLINE_VENUE;

/// What a listing page gave.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Listing {
    /// Sessions of `Event`s embedded whole in the listing (they need no detail page).
    pub sessions: Vec<Session>,
    /// Event pages to read, in page order, without those embedded whole.
    pub event_urls: Vec<Url>,
    /// The `rel="next"` page, if any.
    pub next: Option<Url>,
    /// The page held more than its [`Budget`] allowed, and the rest of it
    /// was not read.
    pub over: Option<Over>,
}

/// How much one page may still add to a crawl, counted as the page is read:
/// each `subEvent` and each embedded event against `sessions`, each `ItemList`
/// entry against `event_urls`. A page that holds more stops being read there,
/// so a hostile page costs no more than the crawl's limits allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Sessions (events and `subEvent`s read) the crawl may still take.
    pub sessions: usize,
    /// Event pages the crawl may still name for reading.
    pub event_urls: usize,
}

impl Budget {
    /// No bound but the page's size (for reading one page on its own).
    pub const WHOLE_PAGE: Budget = Budget {
        sessions: usize::MAX,
        event_urls: usize::MAX,
    };
}

/// Which part of a [`Budget`] a page went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// More events or `subEvent`s than `Budget::sessions`.
    Sessions,
    /// More event addresses than `Budget::event_urls`.
    EventUrls,
}

/// The sessions of an event page, and whether it held more than its budget.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventPage {
    /// The sessions read, at most the budget's `sessions`.
    pub sessions: Vec<Session>,
    /// The page held more events or `subEvent`s than the budget allowed.
    pub over: bool,
}

/// The parsed JSON-LD blocks of a page, each as written (an object or an array).
/// An unreadable block is skipped with a warning naming the page.
pub fn json_ld_blocks(doc: &Html, page_url: &Url) -> Vec<Value> {
    let Ok(sel) = Selector::parse("script") else {
        return Vec::new();
    };
    doc.select(&sel)
        .filter(|s| {
            s.value()
                .attr("type")
                .is_some_and(|t| t.to_ascii_lowercase().contains("ld+json"))
        })
        .filter_map(|s| {
            let text: String = s.text().collect();
            read_json_ld(text.trim(), page_url)
        })
        .collect()
}

/// One JSON-LD block: strict JSON, or else JSON with the two faults
/// WordPress events plugins write (see [`wordpress_repair`]); anything else
/// is skipped with a warning naming the page.
fn read_json_ld(text: &str, page_url: &Url) -> Option<Value> {
    let strict = match serde_json::from_str::<Value>(text) {
        Ok(v) => return Some(v),
        Err(e) => e,
    };
    if let Some(v) = wordpress_repair(text).and_then(|t| serde_json::from_str::<Value>(&t).ok()) {
        tracing::debug!(url = %page_url, "JSON-LD block read with its PHP-escaped quotes or trailing commas mended");
        return Some(v);
    }
    tracing::warn!(url = %page_url, "unreadable JSON-LD block skipped: {strict}");
    None
}

/// The JSON WordPress events plugins meant, when they wrote one of two faults
/// (as search engines and extruct read it): `\'` inside a string (PHP's
/// `addslashes`), read as `'`; and a comma before `]` or `}`, dropped. Nothing
/// else is mended: single-quoted strings, comments or bare words stay errors.
/// `None` when neither fault is present.
pub fn wordpress_repair(text: &str) -> Option<String> {
    const JSON_WS: [char; 4] = [' ', '\t', '\n', '\r'];
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut in_string = false;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match (in_string, c) {
            (true, '\\') => match chars.next() {
                Some((_, '\'')) => {
                    out.push('\'');
                    changed = true;
                }
                Some((_, escaped)) => {
                    out.push('\\');
                    out.push(escaped);
                }
                None => out.push('\\'),
            },
            (true, '"') | (false, '"') => {
                in_string = !in_string;
                out.push('"');
            }
            (false, ',')
                if text[i + 1..]
                    .trim_start_matches(JSON_WS)
                    .starts_with([']', '}']) =>
            {
                changed = true;
            }
            _ => out.push(c),
        }
    }
    changed.then_some(out)
}

/// Pushes the `Event` nodes of one JSON-LD value: a single object, an array,
/// an object with `@graph`, or the items of an `ItemList`.
pub fn collect_events(v: Value, out: &mut Vec<Value>) {
    collect_events_depth(v, out, 0);
}

fn collect_events_depth(v: Value, out: &mut Vec<Value>, depth: u8) {
    if depth > 6 {
        return;
    }
    match v {
        Value::Array(items) => {
            for item in items {
                collect_events_depth(item, out, depth + 1);
            }
        }
        Value::Object(mut map) => {
            if let Some(graph) = map.remove("@graph") {
                collect_events_depth(graph, out, depth + 1);
            }
            let node = Value::Object(map);
            if is_event_type(node.get("@type")) {
                out.push(node);
            } else if has_type(node.get("@type"), "ItemList") {
                for item in list_items(&node) {
                    if let Some(inner) = item.get("item") {
                        collect_events_depth(inner.clone(), out, depth + 1);
                    } else if is_event_type(item.get("@type")) {
                        out.push(item.clone());
                    }
                }
            }
        }
        _ => {}
    }
}

fn list_items(list: &Value) -> Vec<&Value> {
    match list.get("itemListElement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

fn has_type(t: Option<&Value>, name: &str) -> bool {
    match t {
        Some(Value::String(s)) => schema_name(s) == name,
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .any(|s| schema_name(s) == name),
        _ => false,
    }
}

/// `Event` or a schema.org subtype (`EducationEvent`, `BusinessEvent`, …), or a
/// `CourseInstance` (a dated run of a course).
pub fn is_event_type(t: Option<&Value>) -> bool {
    let is_event = |s: &str| {
        let s = schema_name(s);
        s.ends_with("Event") || matches!(s, "Festival" | "Hackathon" | "CourseInstance")
    };
    match t {
        Some(Value::String(s)) => is_event(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).any(is_event),
        _ => false,
    }
}

/// `https://schema.org/SoldOut` → `SoldOut` (also bare or `http:` forms).
pub fn schema_name(s: &str) -> &str {
    s.trim().rsplit('/').next().unwrap_or_default()
}

/// The `availability` of each offer: `offers` may be one object or an array,
/// and an `AggregateOffer` may nest its own `offers`.
pub fn offer_availabilities(offers: Option<&Value>) -> Vec<&str> {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>, depth: u8) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, out, depth)),
            Value::Object(map) => {
                if let Some(a) = map.get("availability").and_then(Value::as_str) {
                    out.push(schema_name(a));
                } else if depth < 3 {
                    if let Some(inner) = map.get("offers") {
                        walk(inner, out, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(v) = offers {
        walk(v, &mut out, 0);
    }
    out
}

/// Reads a listing page: the events its JSON-LD embeds whole (with dates), the
/// event pages its JSON-LD names (`ItemList` items, `Event`s with only a
/// `url`), else its same-site links whose path matches `event_path`; and the
/// `rel="next"` page.
pub fn parse_listing(
    html: &str,
    page_url: &Url,
    event_path: Option<&Regex>,
    ctx: &SourceContext,
) -> Result<Listing, ParseError> {
    parse_listing_within(html, page_url, event_path, ctx, Budget::WHOLE_PAGE)
}

/// [`parse_listing`], reading no more of the page than `budget` allows
/// (`Listing::over` says when it held more).
pub fn parse_listing_within(
    html: &str,
    page_url: &Url,
    event_path: Option<&Regex>,
    ctx: &SourceContext,
    budget: Budget,
) -> Result<Listing, ParseError> {
    refuse_oversized(html, page_url)?;
    let doc = crate::platforms::parse_html(html, page_url)?;
    let mut reader = ListingReader::new(page_url, ctx, budget);
    for block in json_ld_blocks(&doc, page_url) {
        if reader.read_block(block).is_break() {
            break;
        }
    }
    let named_nothing = reader.listing.event_urls.is_empty()
        && reader.listing.sessions.is_empty()
        && reader.listing.over.is_none();
    if let Some(pattern) = event_path.filter(|_| named_nothing) {
        reader.read_links(&doc, pattern)?;
    }
    let mut listing = reader.finish();
    let next = Selector::parse("link[rel~='next'], a[rel~='next']")
        .map_err(|e| ParseError::new(page_url, e.to_string()))?;
    listing.next = doc
        .select(&next)
        .filter_map(|a| a.value().attr("href"))
        .find_map(|h| same_site(page_url, h));
    Ok(listing)
}

/// Refuses a page larger than [`MAX_PAGE_BYTES`] before any parsing.
fn refuse_oversized(html: &str, page_url: &Url) -> Result<(), ParseError> {
    if html.len() > MAX_PAGE_BYTES {
        return Err(ParseError::new(
            page_url,
            format!("page of {} bytes is too large to read", html.len()),
        ));
    }
    Ok(())
}

/// A listing as it is read, block by block, against its budget. A step
/// that finds the budget spent marks the listing as holding more and
/// breaks: the rest of the page is not read.
struct ListingReader<'a> {
    page_url: &'a Url,
    ctx: &'a SourceContext,
    budget: Budget,
    listing: Listing,
    /// Every event address named so far.
    seen_urls: HashSet<Url>,
    /// Addresses of events read whole: their pages need no reading.
    embedded_urls: HashSet<Url>,
    /// Events and `subEvent`s read so far, against `budget.sessions`.
    events_read: usize,
}

impl<'a> ListingReader<'a> {
    /// A reader that has read nothing yet.
    fn new(page_url: &'a Url, ctx: &'a SourceContext, budget: Budget) -> Self {
        Self {
            page_url,
            ctx,
            budget,
            listing: Listing::default(),
            seen_urls: HashSet::new(),
            embedded_urls: HashSet::new(),
            events_read: 0,
        }
    }

    /// Adds an event address unless it is known.
    fn push_url(&mut self, u: Url) -> ControlFlow<()> {
        if self.seen_urls.contains(&u) {
            return ControlFlow::Continue(());
        }
        if self.listing.event_urls.len() >= self.budget.event_urls {
            self.listing.over = Some(Over::EventUrls);
            return ControlFlow::Break(());
        }
        self.seen_urls.insert(u.clone());
        self.listing.event_urls.push(u);
        ControlFlow::Continue(())
    }

    /// One JSON-LD block: the bare addresses of its `ItemList`s, then its events.
    fn read_block(&mut self, block: Value) -> ControlFlow<()> {
        let mut lists = Vec::new();
        collect_lists(&block, &mut lists, 0);
        for item in lists.into_iter().flat_map(list_items) {
            if let Some(u) = item_address(item).and_then(|u| same_site(self.page_url, u)) {
                self.push_url(u)?;
            }
        }
        let mut events = Vec::new();
        collect_events(block, &mut events);
        for ev in events {
            let url = ev
                .get("url")
                .and_then(Value::as_str)
                .and_then(|u| same_site(self.page_url, u));
            if ev.get("startDate").is_some() && self.read_embedded(&ev, url.as_ref())? {
                continue;
            }
            if let Some(u) = url {
                self.push_url(u)?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Reads an event embedded with its dates into the listing; true when it
    /// gave sessions (so its page, at `url`, need not be read).
    fn read_embedded(&mut self, ev: &Value, url: Option<&Url>) -> ControlFlow<(), bool> {
        let room = self.budget.sessions.saturating_sub(self.events_read);
        let read = event_sessions_within(ev, self.page_url, self.ctx, room);
        self.events_read += read.read;
        let embedded = !read.sessions.is_empty();
        if embedded {
            if let Some(u) = url {
                self.embedded_urls.insert(u.clone());
            }
            self.listing.sessions.extend(read.sessions);
        }
        if read.over {
            self.listing.over = Some(Over::Sessions);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(embedded)
    }

    /// The page's same-site links whose path matches `pattern` (for a page
    /// whose JSON-LD named no event), the page itself left out.
    fn read_links(&mut self, doc: &Html, pattern: &Regex) -> Result<(), ParseError> {
        let links = Selector::parse("a[href]")
            .map_err(|e| ParseError::new(self.page_url, e.to_string()))?;
        for a in doc.select(&links) {
            let Some(u) = a
                .value()
                .attr("href")
                .and_then(|h| same_site(self.page_url, h))
            else {
                continue;
            };
            if pattern.is_match(u.path()) && u != *self.page_url && self.push_url(u).is_break() {
                break;
            }
        }
        Ok(())
    }

    /// The listing read, without the addresses of events it holds whole.
    fn finish(self) -> Listing {
        let mut listing = self.listing;
        listing
            .event_urls
            .retain(|u| !self.embedded_urls.contains(u));
        listing
    }
}

/// The address an `ItemList` item gives of an event page: the item as a
/// string, or the `url` (else `@id`) of an item that is not itself an event,
/// or the entry's own `url`.
fn item_address(item: &Value) -> Option<&str> {
    match item.get("item") {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(obj @ Value::Object(_)) if !is_event_type(obj.get("@type")) => obj
            .get("url")
            .or_else(|| obj.get("@id"))
            .and_then(Value::as_str),
        Some(_) => None,
        None => item.get("url").and_then(Value::as_str),
    }
}

fn collect_lists<'a>(v: &'a Value, out: &mut Vec<&'a Value>, depth: u8) {
    if depth > 6 {
        return;
    }
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect_lists(i, out, depth + 1)),
        Value::Object(map) => {
            if has_type(v.get("@type"), "ItemList") {
                out.push(v);
            }
            if let Some(g) = map.get("@graph") {
                collect_lists(g, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// `href` resolved against the page, fragment dropped, if it is on the same host.
fn same_site(page_url: &Url, href: &str) -> Option<Url> {
    let mut u = page_url.join(href.trim()).ok()?;
    u.set_fragment(None);
    (matches!(u.scheme(), "http" | "https")
        && u.host_str() == page_url.host_str()
        && u.port_or_known_default() == page_url.port_or_known_default())
    .then_some(u)
}

/// Reads an event page: the sessions of every `Event` in its JSON-LD. Fails
/// when the page has no JSON-LD `Event` at all (not an event page).
pub fn parse_event_page(
    html: &str,
    page_url: &Url,
    ctx: &SourceContext,
) -> Result<Vec<Session>, ParseError> {
    parse_event_page_within(html, page_url, ctx, usize::MAX).map(|p| p.sessions)
}

/// [`parse_event_page`], reading at most `max_sessions` events and
/// `subEvent`s (`EventPage::over` says when the page held more).
pub fn parse_event_page_within(
    html: &str,
    page_url: &Url,
    ctx: &SourceContext,
    max_sessions: usize,
) -> Result<EventPage, ParseError> {
    refuse_oversized(html, page_url)?;
    if !html.contains("ld+json") {
        return Err(ParseError::new(page_url, "no JSON-LD: not an event page?"));
    }
    let doc = crate::platforms::parse_html(html, page_url)?;
    let mut events = Vec::new();
    for block in json_ld_blocks(&doc, page_url) {
        collect_events(block, &mut events);
    }
    if events.is_empty() {
        return Err(ParseError::new(
            page_url,
            "no JSON-LD Event: not an event page?",
        ));
    }
    let mut page = EventPage::default();
    let mut read = 0usize;
    for ev in &events {
        let got = event_sessions_within(ev, page_url, ctx, max_sessions - read);
        read += got.read;
        page.sessions.extend(got.sessions);
        if got.over {
            page.over = true;
            break;
        }
    }
    Ok(page)
}

/// What a postponed event's description starts with.
pub const POSTPONED_NOTE: &str =
    "Postponed: the organiser has postponed this event; a new date is to be announced.";

/// An `Event`'s `eventStatus` as a session status, and its description with
/// the postponement said first: `EventCancelled` is cancelled, `EventPostponed`
/// cancelled with [`POSTPONED_NOTE`] (the old date no longer holds and no new
/// one is known), and `EventRescheduled` scheduled (its dates are the new
/// ones). Anything else is scheduled.
pub fn status_of(ev: &Value, description: Option<String>) -> (Status, Option<String>) {
    match ev
        .get("eventStatus")
        .and_then(Value::as_str)
        .map(schema_name)
        .unwrap_or_default()
    {
        "EventCancelled" => (Status::Cancelled, description),
        "EventPostponed" => (Status::Cancelled, Some(postponed(description))),
        _ => (Status::Scheduled, description),
    }
}

/// A postponed event's description: [`POSTPONED_NOTE`], then what it said.
pub fn postponed(description: Option<String>) -> String {
    match description {
        Some(d) if d.starts_with(POSTPONED_NOTE) => d,
        Some(d) => format!("{POSTPONED_NOTE} {d}"),
        None => POSTPONED_NOTE.to_string(),
    }
}

/// True when the `offers` say there is nothing left to book: every offer's
/// `availability` is `SoldOut` or `OutOfStock` (and there is at least one).
pub fn offers_sold_out(offers: Option<&Value>) -> bool {
    let availabilities = offer_availabilities(offers);
    !availabilities.is_empty()
        && availabilities
            .iter()
            .all(|a| matches!(*a, "SoldOut" | "OutOfStock"))
}

/// The sessions of one JSON-LD `Event`: one, or one per `subEvent` (keyed
/// `1`, `2`, … in order, sharing the event's id). An event whose dates cannot
/// be read is left out with a warning.
pub fn event_sessions(ev: &Value, page_url: &Url, ctx: &SourceContext) -> Vec<Session> {
    event_sessions_within(ev, page_url, ctx, usize::MAX).sessions
}

/// The sessions of one `Event`, reading at most `max` of it and its
/// `subEvent`s (each counts as read, readable or not).
pub struct EventRead {
    /// The sessions of what was read.
    pub sessions: Vec<Session>,
    /// How many events and `subEvent`s were read (at most `max`).
    pub read: usize,
    /// The event had more `subEvent`s (or was itself one more) than `max`.
    pub over: bool,
}

/// [`event_sessions`], reading at most `max` of the event and its `subEvent`s.
pub fn event_sessions_within(
    ev: &Value,
    page_url: &Url,
    ctx: &SourceContext,
    max: usize,
) -> EventRead {
    let mut out = EventRead {
        sessions: Vec::new(),
        read: 0,
        over: false,
    };
    let url = ev
        .get("url")
        .and_then(Value::as_str)
        .and_then(|u| page_url.join(u.trim()).ok())
        .unwrap_or_else(|| page_url.clone());
    // The address's path names the event whatever host or port serves it.
    let event_id = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let subs: &[Value] = match ev.get("subEvent") {
        Some(Value::Array(items)) => items,
        Some(v @ Value::Object(_)) => std::slice::from_ref(v),
        _ => &[],
    };
    let mut subs = subs.iter().filter(|i| i.is_object()).peekable();
    if subs.peek().is_none() {
        if max == 0 {
            out.over = true;
            return out;
        }
        out.read = 1;
        out.sessions.extend(read_session(
            ev,
            None,
            &event_id,
            SessionKey::nth(1),
            &url,
            page_url,
            ctx,
        ));
        return out;
    }
    for (i, sub) in subs.enumerate() {
        if out.read == max {
            out.over = true;
            break;
        }
        out.read += 1;
        out.sessions.extend(read_session(
            sub,
            Some(ev),
            &event_id,
            SessionKey::nth(i + 1),
            &url,
            page_url,
            ctx,
        ));
    }
    out
}

/// A start or end as written: an instant, or a date (a whole day).
enum Written {
    Instant(DateTime<Utc>),
    Day(NaiveDate),
}

/// `2027-01-20T10:00:00+00:00` (an instant), `2027-01-20T10:00` (local in
/// `tz`), `2027-01-20` (a day).
fn read_date(s: &str, tz: chrono_tz::Tz) -> Option<Written> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(Written::Instant(t.with_timezone(&Utc)));
    }
    for f in [
        "%Y-%m-%dT%H:%M%:z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%Y-%m-%dT%H:%M%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(Written::Instant(t.with_timezone(&Utc)));
        }
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return text::local_to_utc(n.date(), n.time(), tz)
                .ok()
                .map(Written::Instant);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(Written::Day)
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Text as people read it: entities decoded and tags dropped (CMS exports
/// often carry `&#8211;` or `<p>`), whitespace tidied.
fn plain(s: &str) -> String {
    if s.contains('&') || s.contains('<') {
        let frag = Html::parse_fragment(s);
        text::normalise_ws(&frag.root_element().text().collect::<String>())
    } else {
        text::normalise_ws(s)
    }
}

/// A count from a number, a numeric string, or a `QuantitativeValue`.
fn count(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => s.trim().parse().ok(),
        Value::Object(o) => o.get("value").and_then(count),
        _ => None,
    }
}

/// The first `inventoryLevel` of the offers.
fn inventory(offers: Option<&Value>) -> Option<u32> {
    match offers? {
        Value::Array(items) => items.iter().find_map(|i| inventory(Some(i))),
        o @ Value::Object(_) => o
            .get("inventoryLevel")
            .and_then(count)
            .or_else(|| inventory(o.get("offers"))),
        _ => None,
    }
}

/// `(venue, online)` of a `location`: a `Place` (name and address), a
/// `VirtualLocation`, a plain string, or a list of these (a `Place` wins).
fn location(loc: Option<&Value>, attendance_online: bool) -> (Option<String>, bool) {
    let items: Vec<&Value> = match loc {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    };
    let mut place = None;
    let mut virtual_seen = false;
    for it in items {
        match it {
            Value::String(s) => {
                if let Some(v) = text::parse_venue(s) {
                    virtual_seen |= v.online;
                    place = place.or((!v.online).then_some(v.text));
                }
            }
            Value::Object(_) if has_type(it.get("@type"), "VirtualLocation") => virtual_seen = true,
            Value::Object(_) => {
                let mut parts: Vec<String> = Vec::new();
                if let Some(n) = str_of(it, "name") {
                    parts.push(plain(n));
                }
                match it.get("address") {
                    Some(Value::String(a)) => parts.push(plain(a)),
                    Some(a @ Value::Object(_)) => {
                        for k in ["streetAddress", "addressLocality", "postalCode"] {
                            if let Some(p) = str_of(a, k) {
                                parts.push(plain(p));
                            }
                        }
                    }
                    _ => {}
                }
                parts.dedup();
                if !parts.is_empty() && place.is_none() {
                    place = Some(parts.join(", "));
                }
            }
            _ => {}
        }
    }
    match place {
        Some(p) => (Some(p), false),
        None if virtual_seen || attendance_online => (Some(ONLINE_VENUE.into()), true),
        None => (None, false),
    }
}

/// A `subEvent` with the event it belongs to: what the sub-event does not
/// say, its event does.
#[derive(Clone, Copy)]
struct Inherits<'a> {
    ev: &'a Value,
    parent: Option<&'a Value>,
}

impl<'a> Inherits<'a> {
    /// The event's own `k`, else its parent's.
    fn get(self, k: &str) -> Option<&'a Value> {
        self.ev
            .get(k)
            .or_else(|| self.parent.and_then(|p| p.get(k)))
    }
}

/// One session of an `Event`, or of a `subEvent` of `parent`. `None`, with a
/// warning naming the page and the event, when it has no name or its dates
/// cannot be read.
#[allow(clippy::too_many_arguments)]
fn read_session(
    ev: &Value,
    parent: Option<&Value>,
    event_id: &str,
    key: SessionKey,
    url: &Url,
    page_url: &Url,
    ctx: &SourceContext,
) -> Option<Session> {
    let node = Inherits { ev, parent };
    let warn = |why: &str| {
        let label = str_of(ev, "name")
            .or_else(|| parent.and_then(|p| str_of(p, "name")))
            .unwrap_or("(no name)");
        tracing::warn!(url = %page_url, event = %label, "event skipped: {why}");
    };
    let Some(title) = node
        .get("name")
        .and_then(Value::as_str)
        .map(plain)
        .filter(|t| !t.is_empty())
    else {
        warn("no name");
        return None;
    };
    let (start, end, all_day) = match read_span(ev, ctx.timezone) {
        Ok(span) => span,
        Err(why) => {
            warn(&why);
            return None;
        }
    };
    let description = node
        .get("description")
        .and_then(Value::as_str)
        .map(plain)
        .filter(|d| !d.is_empty());
    let (status, description) = status_of(ev, description);
    let (status, availability) = places(node, status);
    let attendance_online = node
        .get("eventAttendanceMode")
        .and_then(Value::as_str)
        .map(schema_name)
        == Some("OnlineEventAttendanceMode");
    let (venue, online) = location(node.get("location"), attendance_online);
    Some(Session {
        source: ctx.source_id.clone(),
        event_id: event_id.to_string(),
        key,
        title,
        category: None,
        level: None,
        prerequisites: None,
        description,
        start,
        end,
        timezone: ctx.timezone.name().to_string(),
        venue,
        online,
        status,
        availability,
        url: url.to_string(),
        all_day,
    })
}

/// The event's `startDate` and `endDate` as instants, and whether it takes
/// whole days; the error says which date is missing or unreadable.
fn read_span(
    ev: &Value,
    tz: chrono_tz::Tz,
) -> Result<(DateTime<Utc>, DateTime<Utc>, bool), String> {
    let start_s = ev
        .get("startDate")
        .and_then(Value::as_str)
        .ok_or("no startDate")?;
    let start =
        read_date(start_s, tz).ok_or_else(|| format!("startDate `{start_s}` is not a date"))?;
    let end = match ev.get("endDate").and_then(Value::as_str) {
        Some(e) => Some(read_date(e, tz).ok_or_else(|| format!("endDate `{e}` is not a date"))?),
        None => None,
    };
    Ok(span(start, end, tz))
}

/// A start and end as written, as instants, and whether the event takes whole
/// days: a day starts at local midnight in `tz`, and an end given as a day
/// ends when that day does (schema.org's `endDate` is the last day; a
/// calendar's end is the day after). An end before the start is the start.
fn span(
    start: Written,
    end: Option<Written>,
    tz: chrono_tz::Tz,
) -> (DateTime<Utc>, DateTime<Utc>, bool) {
    let midnight = |d: NaiveDate| {
        text::local_to_utc(d, chrono::NaiveTime::MIN, tz).unwrap_or_else(|_| {
            DateTime::<Utc>::from_naive_utc_and_offset(d.and_time(chrono::NaiveTime::MIN), Utc)
        })
    };
    match (start, end) {
        (Written::Day(a), Some(Written::Day(b))) => {
            (midnight(a), midnight(b.max(a) + Duration::days(1)), true)
        }
        (Written::Day(a), None) => (midnight(a), midnight(a + Duration::days(1)), true),
        (Written::Instant(a), Some(Written::Instant(b))) => (a, b.max(a), false),
        (Written::Instant(a), None) => (a, a, false),
        (Written::Instant(a), Some(Written::Day(b))) => {
            (a, midnight(b + Duration::days(1)).max(a), false)
        }
        (Written::Day(a), Some(Written::Instant(b))) => (midnight(a), b.max(midnight(a)), false),
    }
}

/// The places an event's `offers` and attendee counts give, and `status`
/// made full when a scheduled event has none left.
fn places(node: Inherits<'_>, status: Status) -> (Status, Availability) {
    let offers = node.get("offers");
    let sold_out = offers_sold_out(offers);
    let spaces_left = node
        .get("remainingAttendeeCapacity")
        .and_then(count)
        .or_else(|| inventory(offers));
    let capacity = node.get("maximumAttendeeCapacity").and_then(count);
    let status = if status == Status::Scheduled && (sold_out || spaces_left == Some(0)) {
        Status::Full
    } else {
        status
    };
    let availability = Availability {
        spaces_left: if sold_out && spaces_left.is_none() {
            Some(0)
        } else {
            spaces_left
        },
        capacity,
        waitlist: false,
        // Offers that say nothing of availability, and no counts: the
        // page never said whether places remain.
        unpublished: offer_availabilities(offers).is_empty() && spaces_left.is_none(),
    };
    (status, availability)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_with_and_without_offsets() {
        let tz = chrono_tz::Europe::London;
        let Some(Written::Instant(t)) = read_date("2027-06-15T10:00:00+01:00", tz) else {
            panic!("offset form");
        };
        assert_eq!(t.to_rfc3339(), "2027-06-15T09:00:00+00:00");
        let Some(Written::Instant(t)) = read_date("2027-06-15T10:00", tz) else {
            panic!("local form");
        };
        assert_eq!(t.to_rfc3339(), "2027-06-15T09:00:00+00:00");
        assert!(matches!(read_date("2027-06-15", tz), Some(Written::Day(_))));
        assert!(read_date("next Tuesday", tz).is_none());
    }

    #[test]
    fn only_php_escaped_quotes_and_trailing_commas_are_mended() {
        let mended = |s: &str| wordpress_repair(s);
        assert_eq!(
            mended(r#"{"name": "Children\'s Services", "a": [1, 2, ], }"#).as_deref(),
            Some(r#"{"name": "Children's Services", "a": [1, 2 ] }"#)
        );
        // Inside a string a comma before a bracket is text, and other escapes stay.
        assert_eq!(
            mended(r#"{"t": "a, ]", "q": "\"x\"\\", "b": [1,]}"#).as_deref(),
            Some(r#"{"t": "a, ]", "q": "\"x\"\\", "b": [1]}"#)
        );
        assert_eq!(mended(r#"{"valid": "json"}"#), None);
        // Looser faults are not mended: these stay unreadable.
        for loose in [
            "{'name': 'single quotes'}",
            "{\"a\": 1 /* comment */}",
            "{\"a\": 1, // comment\n}",
            "{\"a\": [1,,]}",
            "{name: \"bare key\"}",
        ] {
            let fixed = mended(loose).unwrap_or_else(|| loose.to_string());
            assert!(
                serde_json::from_str::<Value>(&fixed).is_err(),
                "{loose} was read"
            );
        }
    }

    #[test]
    fn counts_from_numbers_strings_and_values() {
        assert_eq!(count(&serde_json::json!(7)), Some(7));
        assert_eq!(count(&serde_json::json!("7")), Some(7));
        assert_eq!(
            count(&serde_json::json!({"@type": "QuantitativeValue", "value": 7})),
            Some(7)
        );
        assert_eq!(count(&serde_json::json!(-1)), None);
    }
}
