//! The `event-booking` adapter: the hosted learning-management platform used by
//! WSP (`walsall.event-booking.org.uk`) and other partnerships.
//!
//! Owns the URLs of the platform's pages (listing, category listing, eLearning,
//! detail) and turns their HTML into `Session`s and `Course`s. Pure functions:
//! it never fetches, never reads a clock (now comes in `SourceContext`), never
//! touches the store. Text rules (dates, times, availability, venues) live in
//! `adapters::text`; this module only finds the pieces of text.
//!
//! Extraction leans on labels and text patterns rather than one exact tree
//! shape: each entry's text is split into lines and every line is classified
//! (date / time / venue / availability / category), so markup that moves things
//! around still parses. CSS selectors and label patterns come from the source
//! file (`EventBookingConfig`), so a changed live site can be fixed there.

use super::text::{self, TimeRange, Venue};
use super::{ParseError, SourceContext};
use crate::config::{EventBookingConfig, Labels};
use crate::model::{Availability, Course, Session, SessionKey, Status};
use chrono::{DateTime, NaiveDate, Utc};
use regex::Regex;
use scraper::{ElementRef, Html, Node, Selector};
use std::collections::HashMap;
use std::sync::LazyLock;
use url::Url;

/// One page of the listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingPage {
    /// Events in page order, one per event id.
    pub entries: Vec<ListingEntry>,
    /// The pager's next page, on the same host; `None` on the last page.
    pub next: Option<Url>,
}

/// One event as the listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingEntry {
    /// Digits of `/events/<id>`.
    pub event_id: String,
    /// The detail page, absolute, without query or fragment.
    pub url: Url,
    pub title: String,
    pub category: Option<String>,
    /// The entry's normalised text, so a crawler can tell whether it changed.
    pub fingerprint: String,
    /// What the listing alone says (first date only), as a fallback for when the
    /// detail page cannot be fetched; `None` when it lacks a date or a time.
    pub session: Option<Session>,
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

/// Parses one page of the listing (`/events-list[?c=ID][&page=N]`).
///
/// A page with no recognisable entries gives `Ok` with none; when it does not
/// even say "no events" a warning is logged, since the markup may have changed.
pub fn parse_listing(
    html: &str,
    page_url: &Url,
    cfg: &EventBookingConfig,
    ctx: &SourceContext,
) -> Result<ListingPage, ParseError> {
    let sel = Compiled::new(cfg, page_url)?;
    let doc = match super::parse_html(html, page_url) {
        Ok(doc) => doc,
        Err(e) => {
            tracing::warn!(error = %e, "listing page ignored");
            return Ok(ListingPage {
                entries: Vec::new(),
                next: None,
            });
        }
    };
    if let Some(depth) = too_deep(&doc) {
        tracing::warn!(url = %page_url, depth, "listing page nested too deeply to be a real page; ignored");
        return Ok(ListingPage {
            entries: Vec::new(),
            next: None,
        });
    }
    let entries = find_entries(&doc, &sel, page_url);
    let mut out = Vec::with_capacity(entries.len());
    for (id, el) in entries {
        if let Some(entry) = read_entry(el, &id, &sel, page_url, ctx) {
            out.push(entry);
        }
    }
    if out.is_empty() {
        let body = text_lines(doc.root_element(), &[]).join(" ");
        if !NO_EVENTS.is_match(&body) {
            tracing::warn!(url = %page_url, "listing page has no event entries and does not say it is empty; has the markup changed?");
        }
    }
    Ok(ListingPage {
        entries: out,
        next: next_link(&doc, &sel.next_page, page_url),
    })
}

/// Parses a detail page (`/events/<id>`) into its sessions, one per row of the
/// sessions table (`SessionKey::nth(row)`, counting every data row so keys stay
/// put when an earlier row's date is filled in or fixed). Rows whose date or
/// times cannot be read are skipped with a warning; nothing is guessed.
///
/// Errors only when the page cannot be an event page at all (no event id in
/// its URL, no title).
pub fn parse_detail(
    html: &str,
    page_url: &Url,
    cfg: &EventBookingConfig,
    ctx: &SourceContext,
) -> Result<Vec<Session>, ParseError> {
    let sel = Compiled::new(cfg, page_url)?;
    let event_id = event_id_from_url(page_url)
        .ok_or_else(|| ParseError::new(page_url, "URL has no /events/<id>"))?;
    let url = detail_url(page_url).unwrap_or_else(|| page_url.clone());
    let doc = super::parse_html(html, page_url)?;
    if let Some(depth) = too_deep(&doc) {
        return Err(ParseError::new(
            page_url,
            format!("nested {depth}+ elements deep: not a page of this site"),
        ));
    }
    let root = doc.root_element();

    let title_el = doc
        .select(&sel.detail_title)
        .find(|e| !normalise_text(*e).is_empty());
    let title = title_el.map(normalise_text).ok_or_else(|| {
        ParseError::new(page_url, "no title (detail_title selector matched nothing)")
    })?;

    let description_el = doc
        .select(&sel.description)
        .find(|e| !normalise_text(*e).is_empty());
    let description = description_el.map(|e| text_lines(e, &[]).join("\n"));

    let fields = Fields::read(&doc, &sel.labels);
    let category = fields.category.clone();
    let level = fields.level.clone();
    let prerequisites = fields.prerequisites.as_deref().map(strip_brackets);

    // Status and places: the Places field first, then any phrase on the page
    // outside the description (which may say "if the course is fully booked…").
    let mut skip: Vec<ElementRef<'_>> = Vec::new();
    skip.extend(description_el);
    skip.extend(title_el);
    let page_lines = text_lines(root, &skip);
    let mut avail = AvailabilityVote::default();
    if let Some(places) = &fields.places {
        avail.add_field(places);
    }
    for line in &page_lines {
        if let Some(found) = text::parse_availability(line) {
            avail.add(found);
        }
    }
    let (status, availability) = avail.result();

    let page_venue = fields.venue.as_deref().and_then(text::parse_venue);
    let base = SessionBase {
        ctx,
        event_id: &event_id,
        title: &title,
        category,
        level,
        prerequisites,
        description,
        status,
        availability,
        url: url.as_str(),
    };

    let rows = session_rows(&doc, &sel.sessions_table);
    let mut sessions = Vec::new();
    if rows.is_empty() {
        // No sessions table: a single session given as fields or loose lines.
        let date_text = fields.date.clone().or_else(|| {
            page_lines
                .iter()
                .find(|l| text::parse_date(l).is_ok())
                .cloned()
        });
        let time_text = fields.time.clone().or_else(|| {
            page_lines
                .iter()
                .find(|l| text::parse_time_range(l).is_ok())
                .cloned()
        });
        match (date_text, time_text) {
            (Some(d), Some(t)) => {
                let row = Row {
                    index: 1,
                    date: d,
                    start: t,
                    end: String::new(),
                    venue: None,
                };
                if let Some(s) = base.session(&row, page_venue.as_ref(), page_url) {
                    sessions.push(s);
                }
            }
            _ => {
                tracing::warn!(url = %page_url, "detail page has no sessions table and no date and time");
            }
        }
    } else {
        for row in rows {
            let venue = row
                .venue
                .as_deref()
                .and_then(text::parse_venue)
                .or_else(|| page_venue.clone());
            if let Some(s) = base.session(&row, venue.as_ref(), page_url) {
                sessions.push(s);
            }
        }
    }
    Ok(sessions)
}

/// Parses the eLearning catalogue (`/elearning-list`): undated courses, and the
/// pager's next page.
pub fn parse_elearning(
    html: &str,
    page_url: &Url,
    cfg: &EventBookingConfig,
    ctx: &SourceContext,
) -> Result<(Vec<Course>, Option<Url>), ParseError> {
    let sel = Compiled::new(cfg, page_url)?;
    let doc = match super::parse_html(html, page_url) {
        Ok(doc) => doc,
        Err(e) => {
            tracing::warn!(error = %e, "eLearning page ignored");
            return Ok((Vec::new(), None));
        }
    };
    if let Some(depth) = too_deep(&doc) {
        tracing::warn!(url = %page_url, depth, "eLearning page nested too deeply to be a real page; ignored");
        return Ok((Vec::new(), None));
    }
    let candidates: Vec<ElementRef<'_>> = doc.select(&sel.elearning_entry).collect();
    // An element that holds another candidate is a wrapper, not a course. Each
    // ancestor chain is walked once (stopping at one already seen): linear.
    let mut above_a_candidate = std::collections::HashSet::new();
    for c in &candidates {
        for anc in c.ancestors() {
            if !above_a_candidate.insert(anc.id()) {
                break;
            }
        }
    }
    let innermost: Vec<ElementRef<'_>> = candidates
        .iter()
        .copied()
        .filter(|c| !above_a_candidate.contains(&c.id()))
        .collect();
    let mut courses: Vec<Course> = Vec::new();
    for el in innermost {
        let Some(title) = first_text(el, &HEADING_OR_LINK) else {
            continue;
        };
        let link = el
            .select(&ANY_LINK)
            .filter_map(|a| a.attr("href"))
            .filter_map(|h| page_url.join(h.trim()).ok())
            .find(|u| same_origin(u, page_url));
        let (id, url) = match &link {
            Some(u) => (
                last_number(u).unwrap_or_else(|| u.to_string()),
                u.to_string(),
            ),
            None => (title.clone(), page_url.to_string()),
        };
        let lines = text_lines_capped(el, &[], ENTRY_NODES);
        let category = el
            .select(&CATEGORY_CLASS)
            .map(normalise_text)
            .map(|t| strip_label(&t, &sel.labels.category))
            .find(|t| !t.is_empty())
            .or_else(|| {
                lines
                    .iter()
                    .find(|l| sel.labels.category.is_match(l))
                    .map(|l| strip_label(l, &sel.labels.category))
            });
        let description = first_text(el, &DESCRIPTION_CLASS).or_else(|| {
            el.select(&PARAGRAPH)
                .map(normalise_text)
                .find(|t| !t.is_empty() && *t != title && Some(t) != category.as_ref())
        });
        if courses.iter().any(|c| c.id == id) {
            continue;
        }
        courses.push(Course {
            source: ctx.source_id.clone(),
            id,
            title,
            category,
            description,
            url,
        });
    }
    if courses.is_empty() && !NO_EVENTS.is_match(&text_lines(doc.root_element(), &[]).join(" ")) {
        tracing::warn!(url = %page_url, "eLearning page has no courses and does not say it is empty; has the markup changed?");
    }
    Ok((courses, next_link(&doc, &sel.next_page, page_url)))
}

// ---------------------------------------------------------------------------
// Configuration compiled once per page

/// The config's selectors and label patterns, compiled. Config validation
/// already checked them, but a bad one here is a `ParseError`, never a panic.
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

struct LabelPatterns {
    category: Regex,
    level: Regex,
    prerequisites: Regex,
    places: Regex,
}

impl Compiled {
    fn new(cfg: &EventBookingConfig, page_url: &Url) -> Result<Self, ParseError> {
        let s = &cfg.selectors;
        let css = |name: &str, v: &str| {
            Selector::parse(v)
                .map_err(|e| ParseError::new(page_url, format!("selector {name} `{v}`: {e}")))
        };
        Ok(Self {
            listing_entry: css("listing_entry", &s.listing_entry)?,
            entry_link: css("entry_link", &s.entry_link)?,
            next_page: css("next_page", &s.next_page)?,
            detail_title: css("detail_title", &s.detail_title)?,
            sessions_table: css("sessions_table", &s.sessions_table)?,
            description: css("description", &s.description)?,
            elearning_entry: css("elearning_entry", &s.elearning_entry)?,
            labels: LabelPatterns::new(&cfg.labels, page_url)?,
        })
    }
}

impl LabelPatterns {
    fn new(l: &Labels, page_url: &Url) -> Result<Self, ParseError> {
        let re = |name: &str, v: &str| {
            Regex::new(&format!("(?i){v}"))
                .map_err(|e| ParseError::new(page_url, format!("label {name} `{v}`: {e}")))
        };
        Ok(Self {
            category: re("category", &l.category)?,
            level: re("level", &l.level)?,
            prerequisites: re("prerequisites", &l.prerequisites)?,
            places: re("places", &l.places)?,
        })
    }
}

fn static_selector(s: &str) -> Selector {
    Selector::parse(s).expect("static selector")
}

static ANY_LINK: LazyLock<Selector> = LazyLock::new(|| static_selector("a[href]"));
static HEADING: LazyLock<Selector> = LazyLock::new(|| static_selector("h1, h2, h3, h4, h5, h6"));
static HEADING_OR_LINK: LazyLock<Selector> =
    LazyLock::new(|| static_selector("h1, h2, h3, h4, h5, h6, a[href]"));
static CATEGORY_CLASS: LazyLock<Selector> =
    LazyLock::new(|| static_selector("[class*='categ'], [class*='Categ']"));
static DESCRIPTION_CLASS: LazyLock<Selector> = LazyLock::new(|| {
    static_selector(".description, .summary, [class*='desc'], [class*='summary']")
});
static PARAGRAPH: LazyLock<Selector> = LazyLock::new(|| static_selector("p"));
static DT: LazyLock<Selector> = LazyLock::new(|| static_selector("dt"));

/// The page says it has nothing to list (so an empty result is not suspicious).
static NO_EVENTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bno\s+(?:upcoming\s+|matching\s+)?(?:events|courses|results|sessions)\b|\bnothing\s+(?:found|to\s+show)\b|\b0\s+(?:events|courses|results)\b")
        .expect("static regex")
});
/// `Label: value` on one line (labels are short words).
static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?P<l>[\p{L}][\p{L} /\-]{0,30}?)\s*:\s*(?P<v>.*)$").expect("static regex")
});
static VENUE_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:venue|location|where|address)\b").expect("static regex")
});
static DATE_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(?:date|dates|when)\b").expect("static regex"));
static TIME_LABEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(?:time|times)\b").expect("static regex"));
static NEXT_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:next(?:\s+page)?\s*[»›>→]*|[›>→])\s*$").expect("static regex")
});

// ---------------------------------------------------------------------------
// Text of an element, as lines

/// Deeper nesting than any real page has; Chromium's HTML parser stops nesting
/// at 512 too. Selector matching walks ancestors, so a page nested deeper (junk,
/// or hostile) would cost depth × size to read: it is refused instead.
const MAX_DEPTH: usize = 512;

/// The document's nesting depth when it exceeds `MAX_DEPTH` (read in one pass,
/// stopping as soon as it does).
fn too_deep(doc: &Html) -> Option<usize> {
    let root = doc.root_element();
    let mut open = Vec::new();
    for node in root.descendants() {
        let parent = node.parent().map(|p| p.id());
        while open.last().is_some_and(|&id| Some(id) != parent) {
            open.pop();
        }
        open.push(node.id());
        if open.len() > MAX_DEPTH {
            return Some(open.len());
        }
    }
    None
}

/// Elements that start a new line of text when rendered.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "br"
            | "caption"
            | "dd"
            | "div"
            | "dl"
            | "dt"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hr"
            | "li"
            | "main"
            | "nav"
            | "ol"
            | "p"
            | "section"
            | "table"
            | "tbody"
            | "td"
            | "tfoot"
            | "th"
            | "thead"
            | "tr"
            | "ul"
    )
}

/// Elements whose text is never shown.
fn is_hidden(name: &str) -> bool {
    matches!(
        name,
        "script" | "style" | "noscript" | "template" | "head" | "title" | "iframe" | "svg"
    )
}

/// The visible text of `root` split into normalised, non-empty lines, leaving
/// out the subtrees in `skip`. Walks the tree without recursion, so a deeply
/// nested page cannot overflow the stack.
fn text_lines(root: ElementRef<'_>, skip: &[ElementRef<'_>]) -> Vec<String> {
    text_lines_capped(root, skip, usize::MAX)
}

/// `text_lines`, reading at most `max_nodes` nodes: a cell, link or heading
/// never holds more on a real page, and the cap keeps nested junk linear.
fn text_lines_capped(
    root: ElementRef<'_>,
    skip: &[ElementRef<'_>],
    max_nodes: usize,
) -> Vec<String> {
    let mut buf = String::new();
    // open elements: (node id, is block, hides its text)
    let mut open = Vec::new();
    let mut hidden_depth = 0usize;
    for node in root.descendants().skip(1).take(max_nodes) {
        let parent = node.parent().map(|p| p.id());
        while let Some(&(id, block, hides)) = open.last() {
            if Some(id) == parent {
                break;
            }
            open.pop();
            if block {
                buf.push('\n');
            }
            if hides {
                hidden_depth = hidden_depth.saturating_sub(1);
            }
        }
        match node.value() {
            // a newline in the source is only whitespace; lines come from elements
            Node::Text(t) if hidden_depth == 0 => {
                buf.extend(
                    t.chars()
                        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
                )
            }
            Node::Element(e) => {
                let block = is_block(e.name());
                let hides = is_hidden(e.name())
                    || ElementRef::wrap(node).is_some_and(|el| skip.contains(&el));
                if block {
                    buf.push('\n');
                }
                if hides {
                    hidden_depth += 1;
                }
                open.push((node.id(), block, hides));
            }
            _ => {}
        }
    }
    buf.split('\n')
        .map(text::normalise_ws)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Most nodes read for the text of a small element (title, link, cell, field).
const SMALL_TEXT_NODES: usize = 2_000;

/// Most nodes read for the text of one listing entry or course (a real one has
/// a few dozen).
const ENTRY_NODES: usize = 2_000;

/// All visible text of a small element on one line.
fn normalise_text(el: ElementRef<'_>) -> String {
    text_lines_capped(el, &[], SMALL_TEXT_NODES).join(" ")
}

fn first_text(el: ElementRef<'_>, sel: &Selector) -> Option<String> {
    el.select(sel).map(normalise_text).find(|t| !t.is_empty())
}

/// `Category: Child Neglect` → `Child Neglect` when the label pattern matches
/// the start; the text as it is otherwise.
fn strip_label(line: &str, label: &Regex) -> String {
    if label.is_match(line) {
        if let Some(c) = LABELLED.captures(line) {
            return c["v"].trim().to_string();
        }
    }
    line.trim().to_string()
}

/// `[You MUST complete Level 1 first]` → `You MUST complete Level 1 first`.
fn strip_brackets(s: &str) -> String {
    let t = s.trim();
    let inner = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .or_else(|| t.strip_prefix('(').and_then(|r| r.strip_suffix(')')))
        .unwrap_or(t);
    inner.trim().to_string()
}

// ---------------------------------------------------------------------------
// URLs

fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

fn last_number(u: &Url) -> Option<String> {
    u.path_segments()?
        .rev()
        .find(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
}

/// The pager's next page: by selector, else by a link reading "Next"/"›";
/// resolved against the page, kept only when on the same host and not the page
/// itself (a pager that loops would never end).
fn next_link(doc: &Html, by_selector: &Selector, page_url: &Url) -> Option<Url> {
    let usable = |a: ElementRef<'_>| -> Option<Url> {
        let href = a.attr("href")?.trim();
        if href.is_empty() || href.starts_with('#') {
            return None;
        }
        let mut u = page_url.join(href).ok()?;
        u.set_fragment(None);
        if !same_origin(&u, page_url) {
            tracing::debug!(url = %page_url, next = %u, "ignoring a next link to another host");
            return None;
        }
        (u != *page_url).then_some(u)
    };
    doc.select(by_selector).find_map(usable).or_else(|| {
        doc.select(&ANY_LINK)
            .filter(|a| {
                // a pager link is a word or a symbol: a few nodes at most
                NEXT_TEXT.is_match(&text_lines_capped(*a, &[], 8).join(" "))
                    || a.attr("rel")
                        .is_some_and(|r| r.eq_ignore_ascii_case("next"))
                    || a.attr("aria-label")
                        .is_some_and(|r| r.trim().eq_ignore_ascii_case("next"))
            })
            .find_map(usable)
    })
}

// ---------------------------------------------------------------------------
// Listing entries

/// The event links inside `el`, as (event id, canonical detail URL, link): those
/// `link_sel` picks, or when it picks none (e.g. a relative `events/12` that
/// `a[href*='/events/']` cannot see), every link that resolves to an event.
fn event_links<'a>(
    el: ElementRef<'a>,
    link_sel: &Selector,
    page_url: &Url,
) -> Vec<(String, Url, ElementRef<'a>)> {
    let found = resolve_event_links(el.select(link_sel), page_url);
    if found.is_empty() {
        resolve_event_links(el.select(&ANY_LINK), page_url)
    } else {
        found
    }
}

fn resolve_event_links<'a>(
    links: impl Iterator<Item = ElementRef<'a>>,
    page_url: &Url,
) -> Vec<(String, Url, ElementRef<'a>)> {
    links
        .filter_map(|a| {
            let u = page_url.join(a.attr("href")?.trim()).ok()?;
            if !same_origin(&u, page_url) {
                return None;
            }
            let d = detail_url(&u)?;
            Some((event_id_from_url(&d)?, d, a))
        })
        .collect()
}

/// The listing's entries as (event id, element), one per id, in page order.
///
/// An entry is an element matching `listing_entry` that links to exactly one
/// event; when several nested elements qualify the innermost wins. When the
/// selector finds nothing, each event link's entry is its largest ancestor that
/// links to no other event. Only elements up to `MAX_ENTRY_DEPTH` levels above
/// a link count, which keeps a hostile, deeply nested page linear to read.
fn find_entries<'a>(
    doc: &'a Html,
    sel: &Compiled,
    page_url: &Url,
) -> Vec<(String, ElementRef<'a>)> {
    // every link to an event counts here, whether or not `entry_link` sees it
    // (e.g. a relative `events/12`); `entry_link` only ranks links in an entry
    let links = resolve_event_links(doc.select(&ANY_LINK), page_url);
    // which event(s) each element near a link links to
    let mut under: HashMap<_, Linked<'_>> = HashMap::new();
    for (id, _, link) in &links {
        for anc in link.ancestors().take(MAX_ENTRY_DEPTH) {
            let slot = under.entry(anc.id()).or_insert(Linked::One(id));
            if matches!(slot, Linked::One(other) if *other != id.as_str()) {
                *slot = Linked::Many;
            }
        }
    }
    let single = |el: ElementRef<'_>| match under.get(&el.id()) {
        Some(Linked::One(id)) => Some(id.to_string()),
        _ => None,
    };

    let mut order: Vec<String> = Vec::new();
    let mut chosen: HashMap<String, (ElementRef<'a>, usize)> = HashMap::new();
    for el in doc.select(&sel.listing_entry) {
        let Some(id) = single(el) else { continue };
        let depth = el.ancestors().count();
        match chosen.get(&id) {
            Some((_, d)) if *d >= depth => {}
            Some(_) => {
                chosen.insert(id, (el, depth));
            }
            None => {
                order.push(id.clone());
                chosen.insert(id, (el, depth));
            }
        }
    }
    if chosen.is_empty() {
        for (id, _, link) in &links {
            if chosen.contains_key(id) {
                continue;
            }
            let best = link
                .ancestors()
                .take(MAX_ENTRY_DEPTH)
                .filter_map(ElementRef::wrap)
                .take_while(|a| !matches!(a.value().name(), "body" | "html"))
                .take_while(|a| single(*a).as_deref() == Some(id.as_str()))
                .last();
            if let Some(b) = best {
                order.push(id.clone());
                chosen.insert(id.clone(), (b, 0));
            }
        }
    }
    order
        .into_iter()
        .filter_map(|id| chosen.get(&id).map(|(el, _)| (id.clone(), *el)))
        .collect()
}

/// The events an element links to, as far as an entry cares: one, or several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Linked<'a> {
    One(&'a str),
    Many,
}

/// How far above its link the fallback looks for an entry's element.
const MAX_ENTRY_DEPTH: usize = 16;

/// What the lines of an entry (or a page) say, each line classified by its text.
#[derive(Debug, Default)]
struct Classified {
    date: Option<NaiveDate>,
    time: Option<TimeRange>,
    venue: Option<Venue>,
    category: Option<String>,
    availability: AvailabilityVote,
}

fn classify(lines: &[String], title: &str, labels: &LabelPatterns, page_url: &Url) -> Classified {
    let mut c = Classified::default();
    for line in lines {
        if line == title {
            continue;
        }
        if labels.category.is_match(line) {
            if c.category.is_none() {
                c.category = Some(strip_label(line, &labels.category)).filter(|s| !s.is_empty());
            }
            continue;
        }
        let mut known = false;
        match text::parse_date(line) {
            Ok(d) => {
                known = true;
                c.date.get_or_insert(d);
            }
            Err(
                e @ (text::TextError::InvalidDate(_) | text::TextError::WeekdayMismatch { .. }),
            ) => {
                known = true;
                tracing::warn!(url = %page_url, text = %line, error = %e, "unreadable date in listing entry");
            }
            Err(_) => {}
        }
        if let Ok(t) = text::parse_time_range(line) {
            known = true;
            c.time.get_or_insert(t);
        }
        if let Some(a) = text::parse_availability(line) {
            known = true;
            c.availability.add(a);
        }
        let labelled_venue = VENUE_LABEL.is_match(line);
        if c.venue.is_none() && (labelled_venue || (!known && text::looks_like_venue(line))) {
            c.venue = text::parse_venue(line);
        }
    }
    c
}

fn read_entry(
    el: ElementRef<'_>,
    id: &str,
    sel: &Compiled,
    page_url: &Url,
    ctx: &SourceContext,
) -> Option<ListingEntry> {
    let url = event_links(el, &sel.entry_link, page_url)
        .first()
        .map(|(_, u, _)| u.clone())?;
    let links = resolve_event_links(el.select(&ANY_LINK), page_url);
    // the title is the text of a link to the detail page itself (not "Book now")
    let title = links
        .iter()
        .filter(|(_, _, a)| {
            a.attr("href")
                .and_then(|h| page_url.join(h.trim()).ok())
                .is_some_and(|u| !is_booking_url(&u))
        })
        .map(|(_, _, a)| normalise_text(*a))
        .find(|t| !t.is_empty() && !NEXT_TEXT.is_match(t) && !t.eq_ignore_ascii_case("book now"))
        .or_else(|| first_text(el, &HEADING));
    let Some(title) = title else {
        tracing::warn!(url = %page_url, event_id = %id, "listing entry has no title; skipped");
        return None;
    };
    let lines = text_lines_capped(el, &[], ENTRY_NODES);
    let mut c = classify(&lines, &title, &sel.labels, page_url);
    if c.category.is_none() {
        c.category = el
            .select(&CATEGORY_CLASS)
            .map(normalise_text)
            .map(|t| strip_label(&t, &sel.labels.category))
            .find(|t| !t.is_empty());
    }
    let (status, availability) = c.availability.result();
    let session = match (c.date, c.time) {
        (Some(date), Some(time)) => {
            let base = SessionBase {
                ctx,
                event_id: id,
                title: &title,
                category: c.category.clone(),
                level: None,
                prerequisites: None,
                description: None,
                status,
                availability,
                url: url.as_str(),
            };
            base.build(1, date, time, c.venue.as_ref(), page_url)
        }
        _ => None,
    };
    Some(ListingEntry {
        event_id: id.to_string(),
        url,
        title,
        category: c.category,
        fingerprint: lines.join(" | "),
        session,
    })
}

// ---------------------------------------------------------------------------
// Availability from several phrases

/// Combines availability phrases found on a page: the gravest status wins
/// (cancelled > closed > full > scheduled); numbers come from the Places field
/// when it has them, else from the first phrase that has them.
#[derive(Debug, Default)]
struct AvailabilityVote {
    status: Option<Status>,
    field: Option<Availability>,
    first: Option<Availability>,
    waitlist: bool,
}

fn gravity(s: Status) -> u8 {
    match s {
        Status::Scheduled => 0,
        Status::Full => 1,
        Status::Closed => 2,
        Status::Cancelled => 3,
        Status::Withdrawn => 4,
    }
}

impl AvailabilityVote {
    fn add(&mut self, (status, a): (Status, Availability)) {
        if self.status.is_none_or(|s| gravity(status) > gravity(s)) {
            self.status = Some(status);
        }
        if self.first.is_none() && (a.spaces_left.is_some() || a.capacity.is_some()) {
            self.first = Some(a);
        }
        self.waitlist |= a.waitlist;
    }

    /// The Places field: a phrase, or a bare number of places left.
    fn add_field(&mut self, value: &str) {
        let found = text::parse_availability(value).or_else(|| {
            let v = value.trim();
            let n: u32 = v.parse().ok()?;
            let status = if n == 0 {
                Status::Full
            } else {
                Status::Scheduled
            };
            Some((status, Availability::spaces(n)))
        });
        if let Some(found) = found {
            if found.1.spaces_left.is_some() || found.1.capacity.is_some() {
                self.field = Some(found.1);
            }
            self.add(found);
        }
    }

    fn result(&self) -> (Status, Availability) {
        let status = self.status.unwrap_or(Status::Scheduled);
        let mut a = self.field.or(self.first).unwrap_or_default();
        a.waitlist |= self.waitlist;
        // No phrase about places anywhere on the page: the site said nothing.
        a.unpublished = self.status.is_none();
        (status, a)
    }
}

// ---------------------------------------------------------------------------
// Detail page fields and sessions

/// The labelled fields of a detail page.
#[derive(Debug, Default)]
struct Fields {
    category: Option<String>,
    level: Option<String>,
    prerequisites: Option<String>,
    places: Option<String>,
    venue: Option<String>,
    date: Option<String>,
    time: Option<String>,
}

impl Fields {
    /// Reads `<dt>label</dt><dd>value</dd>` pairs, then `Label: value` lines
    /// anywhere on the page for labels the list did not have.
    fn read(doc: &Html, labels: &LabelPatterns) -> Self {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for dt in doc.select(&DT) {
            let label = normalise_text(dt);
            let value = dt
                .next_siblings()
                .filter_map(ElementRef::wrap)
                .take_while(|e| e.value().name() != "dt")
                .filter(|e| e.value().name() == "dd")
                .map(normalise_text)
                .collect::<Vec<_>>()
                .join(" ");
            pairs.push((label.trim_end_matches(':').trim().to_string(), value));
        }
        for line in text_lines(doc.root_element(), &[]) {
            if let Some(c) = LABELLED.captures(&line) {
                pairs.push((c["l"].to_string(), c["v"].trim().to_string()));
            }
        }
        let mut f = Fields::default();
        for (label, value) in pairs {
            if value.is_empty() {
                continue;
            }
            let slot = if labels.category.is_match(&label) {
                &mut f.category
            } else if labels.prerequisites.is_match(&label) {
                &mut f.prerequisites
            } else if labels.level.is_match(&label) {
                &mut f.level
            } else if labels.places.is_match(&label) {
                &mut f.places
            } else if VENUE_LABEL.is_match(&label) {
                &mut f.venue
            } else if DATE_LABEL.is_match(&label) {
                &mut f.date
            } else if TIME_LABEL.is_match(&label) {
                &mut f.time
            } else {
                continue;
            };
            if slot.is_none() {
                // "Places: available: 12" keeps its label words for the phrase reader
                *slot = Some(
                    if labels.places.is_match(&label) && value.parse::<u32>().is_err() {
                        format!("{label}: {value}")
                    } else {
                        value
                    },
                );
            }
        }
        f
    }
}

/// One data row of the sessions table, as text.
#[derive(Debug, Clone)]
struct Row {
    /// 1-based among the table's data rows.
    index: usize,
    date: String,
    /// The Start cell, or a Time cell holding a whole range.
    start: String,
    end: String,
    venue: Option<String>,
}

/// Columns of a sessions table, located by header text.
#[derive(Debug, Default)]
struct Columns {
    date: Option<usize>,
    start: Option<usize>,
    end: Option<usize>,
    time: Option<usize>,
    venue: Option<usize>,
}

static COL_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(?:session\s+)?(?:date|day)s?\b").expect("static regex"));
static COL_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:start|from|begins?)\b").expect("static regex"));
static COL_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:end|finish|until|to)\b").expect("static regex"));
static COL_TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\btimes?\b").expect("static regex"));
static COL_VENUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:venue|location|where|address)\b").expect("static regex")
});

impl Columns {
    fn from_header(cells: &[String]) -> Option<Self> {
        let mut c = Columns::default();
        for (i, h) in cells.iter().enumerate() {
            if c.date.is_none() && COL_DATE.is_match(h) {
                c.date = Some(i);
            } else if c.start.is_none() && COL_START.is_match(h) {
                c.start = Some(i);
            } else if c.end.is_none() && COL_END.is_match(h) {
                c.end = Some(i);
            } else if c.time.is_none() && COL_TIME.is_match(h) {
                c.time = Some(i);
            } else if c.venue.is_none() && COL_VENUE.is_match(h) {
                c.venue = Some(i);
            }
        }
        c.date.is_some().then_some(c)
    }
}

/// The data rows of the first table (by selector) that has a header row naming
/// a Date column.
fn session_rows(doc: &Html, table_sel: &Selector) -> Vec<Row> {
    for table in doc.select(table_sel) {
        // the table's own rows and cells, not those of a table nested in a cell
        let rows: Vec<Vec<String>> = own_rows(table)
            .map(|tr| {
                tr.child_elements()
                    .filter(|c| matches!(c.value().name(), "th" | "td"))
                    .map(normalise_text)
                    .collect()
            })
            .collect();
        let Some(header_at) = rows.iter().position(|r| Columns::from_header(r).is_some()) else {
            continue;
        };
        let Some(cols) = Columns::from_header(&rows[header_at]) else {
            continue;
        };
        let cell = |r: &[String], i: Option<usize>| -> String {
            i.and_then(|i| r.get(i)).cloned().unwrap_or_default()
        };
        let mut out = Vec::new();
        let data = rows
            .iter()
            .skip(header_at + 1)
            .filter(|r| r.iter().any(|c| !c.is_empty()));
        for (n, r) in data.enumerate() {
            let start = match (cols.start, cols.time) {
                (Some(_), _) => cell(r, cols.start),
                (None, Some(_)) => cell(r, cols.time),
                (None, None) => String::new(),
            };
            out.push(Row {
                index: n + 1,
                date: cell(r, cols.date),
                start,
                end: cell(r, cols.end),
                venue: cols
                    .venue
                    .map(|i| cell(r, Some(i)))
                    .filter(|v| !v.is_empty()),
            });
        }
        return out;
    }
    Vec::new()
}

/// The `<tr>`s of a table itself (directly or in its thead/tbody/tfoot).
fn own_rows<'a>(table: ElementRef<'a>) -> impl Iterator<Item = ElementRef<'a>> {
    table.child_elements().flat_map(|c| {
        let direct = (c.value().name() == "tr").then_some(c);
        let grouped = matches!(c.value().name(), "thead" | "tbody" | "tfoot")
            .then(|| c.child_elements().filter(|r| r.value().name() == "tr"))
            .into_iter()
            .flatten();
        direct.into_iter().chain(grouped)
    })
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
    /// A session from a table row, or `None` (with a warning) when its date or
    /// times cannot be read.
    fn session(&self, row: &Row, venue: Option<&Venue>, page_url: &Url) -> Option<Session> {
        let date = match text::parse_date(&row.date) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(url = %page_url, event_id = %self.event_id, row = row.index, text = %row.date, error = %e, "session date unreadable; row skipped");
                return None;
            }
        };
        // Start and End cells read as one range, so "9:30" + "12:30pm" shares the pm;
        // else a cell (or the date cell) that holds a whole range.
        let joined = format!("{} - {}", row.start, row.end);
        let time = [joined.as_str(), row.start.as_str(), row.date.as_str()]
            .into_iter()
            .find_map(|t| text::parse_time_range(t).ok())
            .or_else(|| {
                Some(TimeRange {
                    start: text::parse_time(&row.start).ok()?,
                    end: text::parse_time(&row.end).ok()?,
                })
            });
        let Some(time) = time else {
            tracing::warn!(url = %page_url, event_id = %self.event_id, row = row.index, text = %format!("{} {} {}", row.date, row.start, row.end), "session times unreadable; row skipped");
            return None;
        };
        self.build(row.index, date, time, venue, page_url)
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ctx() -> SourceContext {
        SourceContext {
            source_id: "wsp".into(),
            timezone: chrono_tz::Europe::London,
            now: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        }
    }
    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn urls() {
        let base = u("https://walsall.event-booking.org.uk");
        let cfg = EventBookingConfig::default();
        assert_eq!(
            listing_url(&base, &cfg, None).as_str(),
            "https://walsall.event-booking.org.uk/events-list"
        );
        assert_eq!(
            listing_url(&base, &cfg, Some(497)).as_str(),
            "https://walsall.event-booking.org.uk/events-list?c=497"
        );
        assert_eq!(
            elearning_url(&base, &cfg).unwrap().as_str(),
            "https://walsall.event-booking.org.uk/elearning-list"
        );
        assert_eq!(
            event_id_from_url(&u("https://x.org/events/1234")).as_deref(),
            Some("1234")
        );
        assert_eq!(
            event_id_from_url(&u("https://x.org/events/1234/book")).as_deref(),
            Some("1234")
        );
        assert_eq!(
            event_id_from_url(&u("https://x.org/events-list?c=497")),
            None
        );
        assert_eq!(event_id_from_url(&u("https://x.org/events/abc")), None);
        assert_eq!(
            detail_url(&u("https://x.org/lms/events/12/book?x=1#y"))
                .unwrap()
                .as_str(),
            "https://x.org/lms/events/12"
        );
        assert!(is_booking_url(&u("https://x.org/events/12/book")));
        assert!(!is_booking_url(&u("https://x.org/events/12")));
    }

    #[test]
    fn text_lines_split_blocks_and_hide_scripts() {
        let doc = Html::parse_document(
            "<div><p>a <b>b</b></p>c<br>d<script>var x='e';</script><ul><li>f\n f</li><li>g</li></ul></div>",
        );
        assert_eq!(
            text_lines(doc.root_element(), &[]),
            vec!["a b", "c", "d", "f f", "g"]
        );
    }

    #[test]
    fn next_link_stays_on_host_and_is_found_by_text() {
        let cfg = EventBookingConfig::default();
        let page = u("https://x.org/events-list");
        let html = r#"<a href="https://evil.example/events-list?page=2">Next</a><a href="?page=2">Next &raquo;</a>"#;
        let p = parse_listing(html, &page, &cfg, &ctx()).unwrap();
        assert_eq!(p.next.unwrap().as_str(), "https://x.org/events-list?page=2");
        let p = parse_listing(
            r#"<a href="https://evil.example/?page=2">Next</a>"#,
            &page,
            &cfg,
            &ctx(),
        )
        .unwrap();
        assert_eq!(p.next, None);
        let p = parse_listing(
            r#"<a href="">Next</a><a href="/events-list">›</a>"#,
            &page,
            &cfg,
            &ctx(),
        )
        .unwrap();
        assert_eq!(p.next, None, "a link to the page itself is not a next page");
    }

    #[test]
    fn entries_found_without_matching_selector() {
        let cfg = EventBookingConfig::default();
        let page = u("https://x.org/events-list");
        let html = r#"<table><tr><td><a href="/events/7">Course A</a></td><td>Tue 9th Mar 2027</td><td>10am - 1pm</td><td>Online (Zoom)</td><td>Only 2 places left</td></tr>
            <tr><td><a href="/events/8">Course B</a></td><td>09/03/2027</td><td>10:00 - 11:00</td><td>Booking closed</td></tr></table>"#;
        let p = parse_listing(html, &page, &cfg, &ctx()).unwrap();
        assert_eq!(p.entries.len(), 2);
        let a = p.entries[0].session.as_ref().unwrap();
        assert_eq!(a.title, "Course A");
        assert!(a.online);
        assert_eq!(a.availability.spaces_left, Some(2));
        assert_eq!(a.start.to_rfc3339(), "2027-03-09T10:00:00+00:00");
        assert_eq!(
            p.entries[1].session.as_ref().unwrap().status,
            Status::Closed
        );
    }

    #[test]
    fn detail_without_table_uses_fields() {
        let cfg = EventBookingConfig::default();
        let page = u("https://x.org/events/9");
        let html = "<h1>Briefing</h1><dl><dt>Date</dt><dd>Tue 9th Mar 2027</dd><dt>Time</dt><dd>10am - 1pm</dd><dt>Venue</dt><dd>Virtual - MS Teams</dd><dt>Places</dt><dd>5</dd></dl>";
        let s = parse_detail(html, &page, &cfg, &ctx()).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].availability.spaces_left, Some(5));
        assert!(s[0].online);
        assert_eq!(s[0].key, SessionKey::nth(1));
    }

    #[test]
    fn detail_errors_without_id_or_title() {
        let cfg = EventBookingConfig::default();
        assert!(parse_detail("<h1>x</h1>", &u("https://x.org/about"), &cfg, &ctx()).is_err());
        assert!(parse_detail("<p>x</p>", &u("https://x.org/events/1"), &cfg, &ctx()).is_err());
    }

    #[test]
    fn pages_nested_deeper_than_a_browser_allows_are_refused() {
        let cfg = EventBookingConfig::default();
        let deep = format!(
            "{}<h1>x</h1><a href=\"/events/5\">x</a>",
            "<div>".repeat(MAX_DEPTH + 10)
        );
        assert!(too_deep(&Html::parse_document(&deep)).is_some());
        assert!(parse_detail(&deep, &u("https://x.org/events/5"), &cfg, &ctx()).is_err());
        let p = parse_listing(&deep, &u("https://x.org/events-list"), &cfg, &ctx()).unwrap();
        assert!(p.entries.is_empty());
        let shallow = format!("{}<h1>x</h1>", "<div>".repeat(MAX_DEPTH - 10));
        assert_eq!(too_deep(&Html::parse_document(&shallow)), None);
    }

    #[test]
    fn brackets_and_labels() {
        assert_eq!(
            strip_brackets(" [You MUST complete Level 1 first] "),
            "You MUST complete Level 1 first"
        );
        assert_eq!(strip_brackets("None"), "None");
        let re = Regex::new(r"(?i)^\s*category\b").unwrap();
        assert_eq!(strip_label("Category: Child Neglect", &re), "Child Neglect");
        assert_eq!(strip_label("Child Neglect", &re), "Child Neglect");
    }
}
