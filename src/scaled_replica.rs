//! A generated `event-booking` site of any size (1,000 to 100,000 events and
//! more), served on loopback: what the scale test and `bench/run` crawl.
//!
//! Owns the generator (every event, its sessions and its availability follow
//! from a seed, a first day and an index, so nothing is held per event), the
//! pages it serves (`/events-list[?page=K]`, `/events/<id>`, `/elearning-list`,
//! `/robots.txt`) in the shape of `tests/fixtures/wsp`, `ETag` /
//! `Last-Modified` / `304`, the versions a site goes through between crawls
//! (`bump`), and request counters. Pages are built on demand from the index.
//!
//! Does not own parsing or crawling, nor the fixture replica (`replica`), and
//! knows nothing of the store: `ScaledSite::sessions` is the truth a test
//! compares a crawl with.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use url::Url;

/// Entries on one listing page, as on the real site.
pub const PER_PAGE: usize = 8;

/// The first event id; event `i` (0-based) has id `FIRST_ID + i`.
pub const FIRST_ID: u64 = 100_000;

/// Days over which the sessions are spread, from the first day on.
pub const SPAN_DAYS: i64 = 400;

/// Per mille of the events (those whose places can move) that change at each
/// `bump`.
const CHANGED_PER_MILLE: u64 = 40;

/// What a generated site holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaledConfig {
    /// How many events the listing has.
    pub events: usize,
    /// Everything else follows from this: the same seed gives the same site.
    pub seed: u64,
    /// The day the earliest session is on (UK local); the last is about
    /// `SPAN_DAYS` later.
    pub first_day: NaiveDate,
}

/// Whether places can be booked, as a page says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Places {
    /// `Places available: N`, `Only N places left`, `1 place left`.
    Left(u32),
    /// `N of M places available`.
    LeftOf(u32, u32),
    /// `Fully booked` (`- join the waiting list` when `true`).
    Full(bool),
    /// `Booking closed`.
    Closed,
    /// `This event has been cancelled`.
    Cancelled,
}

/// One session of a generated event, in the site's local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenSession {
    /// 1-based row of the sessions table (the session's key).
    pub row: usize,
    /// Start, Europe/London local time.
    pub start: NaiveDateTime,
    /// End, Europe/London local time.
    pub end: NaiveDateTime,
    /// The Venue cell: an address, or an online platform.
    pub venue: &'static str,
    /// Whether the venue is online (what the adapter should conclude).
    pub online: bool,
}

/// One generated event, at one version of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenEvent {
    /// The digits of `/events/<id>`.
    pub id: u64,
    /// The title as text (the pages escape it).
    pub title: String,
    /// The Category field and the listing's category label.
    pub category: &'static str,
    /// The Level field, when the event has one.
    pub level: Option<&'static str>,
    /// The Prerequisites field as printed, brackets included.
    pub prerequisites: Option<&'static str>,
    /// The one paragraph of the description.
    pub description: &'static str,
    /// Places, shared by all the event's sessions.
    pub places: Places,
    /// One to three sessions, in date order.
    pub sessions: Vec<GenSession>,
}

/// The generator: pure functions of the config, an event's index and a version.
#[derive(Debug, Clone, Copy)]
pub struct ScaledSite {
    cfg: ScaledConfig,
}

/// Course names with the category each belongs to.
const COURSES: &[(&str, &str)] = &[
    ("Understanding Neglect", "Child Neglect"),
    ("Graded Care Profile 2 (GCP2)", "Child Neglect"),
    (
        "Child Sexual Abuse: Recognising, Responding & Recording",
        "Child Sexual Abuse",
    ),
    (
        "All-Age Exploitation; County Lines, Cuckooing & \"Mate Crime\"",
        "All-Age Exploitation",
    ),
    (
        "Self-Neglect & Hoarding: Café Conversation",
        "Self-Neglect and Hoarding",
    ),
    (
        "Think Family: Parental Mental Health, Substance Misuse & Domestic Abuse",
        "Think Family",
    ),
    (
        "Domestic Abuse – Risk Identification (DASH)",
        "Domestic Abuse",
    ),
    ("Safer Recruitment for Managers", "Multi-Agency Working"),
    (
        "Working Together to Safeguard Children",
        "Multi-Agency Working",
    ),
    ("Trauma-Informed Practice", "Think Family"),
    ("Modern Slavery & Human Trafficking", "All-Age Exploitation"),
    (
        "Mental Capacity Act, Best Interests & DoLS",
        "Adult Safeguarding",
    ),
    (
        "Harmful Sexual Behaviour – AIM3 Assessment",
        "Child Sexual Abuse",
    ),
    ("Professional Curiosity & Challenge", "Multi-Agency Working"),
    ("Online Safety for Practitioners", "All-Age Exploitation"),
    (
        "“Was Not Brought” – Missed Health Appointments",
        "Child Neglect",
    ),
];

const SUFFIXES: &[&str] = &[
    "",
    " for Practitioners",
    " – Refresher",
    " (Multi-Agency)",
    ": Briefing",
    " & Case Studies",
];

const LEVELS: &[&str] = &["Level 1", "Level 2", "Level 3"];

const PREREQUISITES: &[&str] = &[
    "[You MUST complete Level 1 first]",
    "[You MUST complete Level 1 and Level 2 first]",
];

const VENUES: &[(&str, bool)] = &[
    ("Virtual - MS Teams", true),
    ("Online (Zoom)", true),
    (
        "Walsall Council House, Lichfield Street, Walsall, WS1 1TP",
        false,
    ),
    (
        "Blakenall Village Centre, Thames Road, Blakenall, Walsall, WS3 1LZ",
        false,
    ),
    ("Saddlers Centre, Park Street, Walsall, WS1 1YS", false),
    (
        "Jerome Retail Park Training Suite, Pelsall Lane, Rushall, WS4 1NG",
        false,
    ),
    ("Virtual - MS Teams", true),
];

const DESCRIPTIONS: &[&str] = &[
    "This course helps practitioners recognise and respond to the signs.",
    "A face to face session for practitioners working with children and families.",
    "Online delivery. A joining link is sent two working days before the course.",
    "For staff in every agency; managers are welcome.",
    "Practical, case-based learning with time for questions.",
];

/// A local time of day as (hour, minute).
type HourMinute = (u32, u32);

/// (start, end) local times of a session.
const TIMES: &[(HourMinute, HourMinute)] = &[
    ((9, 30), (12, 30)),
    ((9, 30), (16, 30)),
    ((10, 0), (13, 0)),
    ((13, 30), (16, 30)),
    ((14, 0), (15, 30)),
    ((12, 0), (13, 30)),
];

/// SplitMix64: a small, fixed mixing function, so a seed gives the same site on
/// every platform and with every version of any dependency.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stream of pseudo-random numbers for one (seed, index, purpose).
struct Draw(u64);

impl Draw {
    fn new(seed: u64, index: u64, purpose: u64) -> Self {
        Draw(mix(seed ^ mix(index ^ mix(purpose))))
    }
    fn next(&mut self) -> u64 {
        self.0 = mix(self.0);
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

impl ScaledSite {
    /// The generator for `cfg`.
    pub fn new(cfg: ScaledConfig) -> Self {
        Self { cfg }
    }

    /// The config it generates from.
    pub fn config(&self) -> ScaledConfig {
        self.cfg
    }

    /// Listing pages (at least one, even for an empty site).
    pub fn pages(&self) -> usize {
        self.cfg.events.div_ceil(PER_PAGE).max(1)
    }

    /// The index of event `id`, when the site has it.
    pub fn index_of(&self, id: u64) -> Option<usize> {
        let i = usize::try_from(id.checked_sub(FIRST_ID)?).ok()?;
        (i < self.cfg.events).then_some(i)
    }

    /// Event `index` (0-based) as it is at `version`.
    pub fn event(&self, index: usize, version: u32) -> GenEvent {
        let seed = self.cfg.seed;
        let mut d = Draw::new(seed, index as u64, 1);
        let (course, category) = d.pick(COURSES);
        let suffix = d.pick(SUFFIXES);
        let level = (d.below(3) > 0).then(|| d.pick(LEVELS));
        let title = match level {
            Some(l) => format!("{course} {l}{suffix}"),
            None => format!("{course}{suffix}"),
        };
        let prerequisites = match level {
            Some("Level 2") => Some(PREREQUISITES[0]),
            Some("Level 3") => Some(PREREQUISITES[1]),
            _ => None,
        };
        let description = d.pick(DESCRIPTIONS);

        // Sessions: in index order through the span, so the listing is by date.
        let n = self.cfg.events.max(1) as i64;
        let day0 = self.cfg.first_day + Duration::days(index as i64 * SPAN_DAYS / n);
        let count = match d.below(10) {
            0 => 3,
            1 | 2 => 2,
            _ => 1,
        };
        let ((sh, sm), (eh, em)) = d.pick(TIMES);
        let mut sessions = Vec::with_capacity(count);
        for row in 1..=count {
            let day = day0 + Duration::weeks(row as i64 - 1);
            let (venue, online) = d.pick(VENUES);
            let at = |h, m| day.and_time(NaiveTime::from_hms_opt(h, m, 0).expect("valid time"));
            sessions.push(GenSession {
                row,
                start: at(sh, sm),
                end: at(eh, em),
                venue,
                online,
            });
        }
        GenEvent {
            id: FIRST_ID + index as u64,
            title,
            category,
            level,
            prerequisites,
            description,
            places: self.places(index, version),
            sessions,
        }
    }

    /// Places at version 0.
    fn base_places(&self, index: usize) -> Places {
        let mut d = Draw::new(self.cfg.seed, index as u64, 2);
        match d.below(100) {
            0..=44 => Places::Left(1 + d.below(30) as u32),
            45..=59 => {
                let cap = 10 + d.below(21) as u32;
                Places::LeftOf(1 + d.below(cap as usize) as u32, cap)
            }
            60..=71 => Places::Full(d.below(2) == 0),
            72..=84 => Places::Closed,
            _ => Places::Cancelled,
        }
    }

    /// Whether event `index` changes at `version` (≥ 1), given its places before.
    fn changes_at(&self, index: usize, version: u32, before: Places) -> bool {
        let movable = matches!(
            before,
            Places::Left(_) | Places::LeftOf(..) | Places::Full(_)
        );
        movable
            && Draw::new(self.cfg.seed, index as u64, 1000 + u64::from(version)).next() % 1000
                < CHANGED_PER_MILLE
    }

    /// Places at `version`: each bump books a place on a few events, or frees one
    /// on a full event.
    pub fn places(&self, index: usize, version: u32) -> Places {
        self.history(index, version).0
    }

    /// The last version (≤ `version`) at which event `index` changed; 0 if never.
    fn changed_version(&self, index: usize, version: u32) -> u32 {
        self.history(index, version).1
    }

    /// (places at `version`, the last version that changed them).
    fn history(&self, index: usize, version: u32) -> (Places, u32) {
        let mut p = self.base_places(index);
        let mut last = 0;
        for v in 1..=version {
            if self.changes_at(index, v, p) {
                last = v;
                p = match p {
                    Places::Left(n) if n > 1 => Places::Left(n - 1),
                    Places::Left(_) => Places::Full(true),
                    Places::LeftOf(n, cap) if n > 1 => Places::LeftOf(n - 1, cap),
                    Places::LeftOf(..) => Places::Full(false),
                    Places::Full(_) => Places::Left(1),
                    other => other,
                };
            }
        }
        (p, last)
    }

    /// Ids of the events whose places differ between `version - 1` and `version`.
    pub fn changed_events(&self, version: u32) -> Vec<u64> {
        if version == 0 {
            return Vec::new();
        }
        (0..self.cfg.events)
            .filter(|&i| self.places(i, version - 1) != self.places(i, version))
            .map(|i| FIRST_ID + i as u64)
            .collect()
    }

    /// Every session of the site at `version`, with its event.
    pub fn sessions(&self, version: u32) -> impl Iterator<Item = (GenEvent, GenSession)> + '_ {
        (0..self.cfg.events).flat_map(move |i| {
            let e = self.event(i, version);
            e.sessions.clone().into_iter().map(move |s| (e.clone(), s))
        })
    }

    /// Listing page `page` (1-based) at `version`; `None` past the last page.
    pub fn listing_page(&self, page: usize, version: u32) -> Option<String> {
        if page == 0 || page > self.pages() {
            return None;
        }
        let from = (page - 1) * PER_PAGE;
        let to = (from + PER_PAGE).min(self.cfg.events);
        let mut h = String::with_capacity(8 * 1024);
        let title = if page == 1 {
            "Courses".to_string()
        } else {
            format!("Courses (page {page})")
        };
        h.push_str(&head(&title));
        h.push_str("<body class=\"events-list\">\n");
        h.push_str(NAV);
        h.push_str(
            "<main class=\"container\">\n<h1>Training courses</h1>\n<section class=\"events\">\n",
        );
        for i in from..to {
            listing_entry(&mut h, &self.event(i, version), i);
        }
        if from >= to {
            h.push_str("<p>No events found.</p>\n");
        }
        h.push_str("</section>\n<ul class=\"pagination\">\n");
        if page > 1 {
            let _ = writeln!(
                h,
                "  <li><a href=\"{}\" rel=\"prev\">&laquo; Previous</a></li>",
                page_href(page - 1)
            );
        }
        let _ = writeln!(h, "  <li class=\"active\"><span>{page}</span></li>");
        if page < self.pages() {
            let _ = writeln!(
                h,
                "  <li><a href=\"{}\" rel=\"next\">Next &raquo;</a></li>",
                page_href(page + 1)
            );
        }
        h.push_str("</ul>\n</main>\n");
        h.push_str(FOOTER);
        Some(h)
    }

    /// The detail page of event `id` at `version`; `None` for an unknown id.
    pub fn detail_page(&self, id: u64, version: u32) -> Option<String> {
        let i = self.index_of(id)?;
        let e = self.event(i, version);
        let mut h = String::with_capacity(4 * 1024);
        h.push_str(&head(&e.title));
        h.push_str("<body>\n");
        h.push_str(NAV);
        h.push_str("<main class=\"container\">\n");
        let _ = writeln!(h, "<h1>{}</h1>", esc(&e.title));
        if e.places == Places::Cancelled {
            h.push_str("<div class=\"alert alert-danger\">This event has been cancelled</div>\n");
        }
        h.push_str("<dl class=\"event-details\">\n");
        let _ = writeln!(h, "  <dt>Category</dt><dd>{}</dd>", esc(e.category));
        if let Some(l) = e.level {
            let _ = writeln!(h, "  <dt>Level</dt><dd>{l}</dd>");
        }
        if let Some(p) = e.prerequisites {
            let _ = writeln!(h, "  <dt>Prerequisites</dt><dd>{}</dd>", esc(p));
        }
        if let Some(p) = places_text(e.places, i, true) {
            let _ = writeln!(h, "  <dt>Places</dt><dd>{p}</dd>");
        }
        h.push_str("</dl>\n<h2>Sessions</h2>\n<table class=\"table sessions\">\n");
        h.push_str("  <thead><tr><th>Date</th><th>Start</th><th>End</th><th>Venue</th></tr></thead>\n  <tbody>\n");
        for s in &e.sessions {
            let style = i + s.row;
            let _ = writeln!(
                h,
                "    <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                date_text(s.start.date(), style),
                time_text(s.start.time(), style),
                time_text(s.end.time(), style),
                esc(s.venue)
            );
        }
        h.push_str("  </tbody>\n</table>\n");
        let _ = writeln!(
            h,
            "<div class=\"description\">\n  <p>{}</p>\n</div>",
            esc(e.description)
        );
        if matches!(e.places, Places::Left(_) | Places::LeftOf(..)) {
            let _ = writeln!(
                h,
                "<a class=\"btn btn-primary\" href=\"/events/{}/book\">Book now</a>",
                e.id
            );
        }
        h.push_str("</main>\n");
        h.push_str(FOOTER);
        Some(h)
    }

    /// The eLearning catalogue: one short page.
    pub fn elearning_page(&self) -> String {
        let mut h = head("eLearning");
        h.push_str("<body>\n");
        h.push_str(NAV);
        h.push_str("<h1>eLearning courses</h1>\n<ul class=\"courses\">\n");
        for (n, (title, category)) in [
            ("Understanding Neglect Level 1", "Child Neglect"),
            ("Child Sexual Abuse – Awareness", "Child Sexual Abuse"),
            ("All-Age Exploitation Awareness", "All-Age Exploitation"),
        ]
        .iter()
        .enumerate()
        {
            let _ = writeln!(
                h,
                "  <li class=\"course\">\n    <a href=\"/elearning/{}\"><h3>{}</h3></a>\n    <span class=\"category\">{}</span>\n    <p class=\"description\">About an hour, at your own pace.</p>\n  </li>",
                201 + n,
                esc(title),
                esc(category)
            );
        }
        h.push_str("</ul>\n</body>\n</html>\n");
        h
    }

    /// `Last-Modified` of listing page `page` at `version`: when its newest
    /// entry last changed.
    fn listing_changed(&self, page: usize, version: u32) -> u32 {
        let from = (page.max(1) - 1) * PER_PAGE;
        let to = (from + PER_PAGE).min(self.cfg.events);
        (from..to)
            .map(|i| self.changed_version(i, version))
            .max()
            .unwrap_or(0)
    }
}

const NAV: &str = "<header class=\"site-header\"><nav><a href=\"/events-list\">Courses</a> | <a href=\"/elearning-list\">eLearning</a> | <a href=\"/register\">Register</a></nav></header>\n";

const FOOTER: &str =
    "<footer>&copy; Safeguarding Partnership (generated replica)</footer>\n</body>\n</html>\n";

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head><meta charset=\"utf-8\"><title>{} | Safeguarding Partnership</title></head>\n",
        esc(title)
    )
}

fn page_href(page: usize) -> String {
    if page == 1 {
        "/events-list".into()
    } else {
        format!("/events-list?page={page}")
    }
}

/// One listing entry, in one of two shapes seen on the site.
fn listing_entry(h: &mut String, e: &GenEvent, index: usize) {
    let first = &e.sessions[0];
    let style = index + 1;
    let mut date = date_text(first.start.date(), style);
    if e.sessions.len() > 1 {
        let more = e.sessions.len() - 1;
        let _ = write!(
            date,
            " (+ {more} more date{})",
            if more == 1 { "" } else { "s" }
        );
    }
    let time = format!(
        "{} - {}",
        time_text(first.start.time(), style),
        time_text(first.end.time(), style)
    );
    let places = places_text(e.places, index, false).unwrap_or_default();
    let title = esc(&e.title);
    let venue = esc(first.venue);
    let category = esc(e.category);
    if index.is_multiple_of(2) {
        let _ = write!(
            h,
            "<div class=\"event-item\">\n  <h3><a href=\"/events/{id}\">{title}</a></h3>\n  <p class=\"date\">{date}</p>\n  <p class=\"time\">{time}</p>\n  <p class=\"venue\">{venue}</p>\n  <p class=\"places\">{places}</p>\n  <span class=\"badge category\">{category}</span>\n",
            id = e.id
        );
    } else {
        let _ = write!(
            h,
            "<div class=\"event-item\">\n  <h3 class=\"title\"><a href=\"/events/{id}\">{title}</a></h3>\n  <div><strong>Date:</strong> {date}</div>\n  <div><strong>Time:</strong> {time}</div>\n  <div><strong>Venue:</strong> {venue}</div>\n  <div><strong>Availability:</strong> {places}</div>\n  <div><strong>Category:</strong> {category}</div>\n",
            id = e.id
        );
    }
    if matches!(e.places, Places::Left(_) | Places::LeftOf(..)) {
        let _ = writeln!(
            h,
            "  <a class=\"btn btn-primary\" href=\"/events/{}/book\">Book now</a>",
            e.id
        );
    }
    h.push_str("</div>\n");
}

/// The availability phrase, worded in one of the ways the site words it; `None`
/// when a detail page has no Places field (a cancelled event shows a banner).
fn places_text(p: Places, style: usize, detail: bool) -> Option<String> {
    Some(match p {
        Places::Left(1) => "1 place left".into(),
        Places::Left(n) if n <= 3 => format!("Only {n} places left"),
        Places::Left(n) => {
            if style.is_multiple_of(3) {
                format!("{n} places available")
            } else {
                format!("Places available: {n}")
            }
        }
        Places::LeftOf(n, cap) => format!("{n} of {cap} places available"),
        Places::Full(true) => "Fully booked - join the waiting list".into(),
        Places::Full(false) => "Fully booked".into(),
        Places::Closed => "Booking closed".into(),
        Places::Cancelled if detail => return None,
        Places::Cancelled => "This event has been cancelled".into(),
    })
}

/// `Friday 9 April 2027`, `Fri 9th Apr 2027` or `09/04/2027`.
fn date_text(d: NaiveDate, style: usize) -> String {
    match style % 3 {
        0 => d.format("%A %-d %B %Y").to_string(),
        1 => {
            let day = d.day();
            let suffix = match (day % 10, day % 100) {
                (_, 11..=13) => "th",
                (1, _) => "st",
                (2, _) => "nd",
                (3, _) => "rd",
                _ => "th",
            };
            format!("{} {day}{suffix} {}", d.format("%a"), d.format("%b %Y"))
        }
        _ => d.format("%d/%m/%Y").to_string(),
    }
}

/// `09:30` or `9:30am` / `1pm`.
fn time_text(t: NaiveTime, style: usize) -> String {
    if style.is_multiple_of(2) {
        return t.format("%H:%M").to_string();
    }
    let (pm, h12) = t.hour12();
    let ampm = if pm { "pm" } else { "am" };
    if t.minute() == 0 {
        format!("{h12}{ampm}")
    } else {
        format!("{h12}:{:02}{ampm}", t.minute())
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Serving

/// Request counters of a running replica.
#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    not_modified: AtomicU64,
    detail_bodies: AtomicU64,
    listing_bodies: AtomicU64,
}

/// What the replica has served so far (`/__stats` gives the same as JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Every request but those to `/__stats`.
    pub requests: u64,
    /// `304 Not Modified` answers.
    pub not_modified: u64,
    /// Detail pages (`/events/<id>`) sent with a body.
    pub detail_bodies: u64,
    /// Listing pages sent with a body.
    pub listing_bodies: u64,
    /// The site's current version (see `ScaledReplica::bump`).
    pub version: u32,
}

struct Shared {
    site: ScaledSite,
    version: AtomicU32,
    counters: Counters,
}

/// A running generated site; it stops when dropped.
pub struct ScaledReplica {
    addr: SocketAddr,
    shared: Arc<Shared>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl ScaledReplica {
    /// Serves `cfg` on a free loopback port.
    pub async fn start(cfg: ScaledConfig) -> std::io::Result<ScaledReplica> {
        Self::start_on(cfg, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Serves `cfg` on `listen` (port 0 for a free one).
    pub async fn start_on(cfg: ScaledConfig, listen: SocketAddr) -> std::io::Result<ScaledReplica> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            site: ScaledSite::new(cfg),
            version: AtomicU32::new(0),
            counters: Counters::default(),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let tx = crate::replica::serve_until_dropped(listener, app);
        Ok(ScaledReplica {
            addr,
            shared,
            _stop: tx,
        })
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}/", self.addr)).expect("loopback URL")
    }

    /// The generator behind the pages, for the truth of what they say.
    pub fn site(&self) -> &ScaledSite {
        &self.shared.site
    }

    /// Moves the site to `version`: from then on a few percent of the events
    /// (`ScaledSite::changed_events`) show other places than before.
    pub fn bump(&self, version: u32) {
        self.shared.version.store(version, Ordering::SeqCst);
    }

    /// The version being served.
    pub fn version(&self) -> u32 {
        self.shared.version.load(Ordering::SeqCst)
    }

    /// What has been served so far.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }
}

impl Shared {
    fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            requests: c.requests.load(Ordering::SeqCst),
            not_modified: c.not_modified.load(Ordering::SeqCst),
            detail_bodies: c.detail_bodies.load(Ordering::SeqCst),
            listing_bodies: c.listing_bodies.load(Ordering::SeqCst),
            version: self.version.load(Ordering::SeqCst),
        }
    }
}

/// Which page a request asks for.
enum Page {
    Robots,
    Listing(usize),
    Detail(u64),
    Elearning,
    Stats,
    Missing,
}

fn route(path: &str, query: &str) -> Page {
    let page_param = || {
        query
            .split('&')
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| *k == "page")
            .map(|(_, v)| v.parse::<usize>().unwrap_or(0))
            .unwrap_or(1)
    };
    match path.trim_end_matches('/') {
        "/robots.txt" => Page::Robots,
        "/events-list" => Page::Listing(page_param()),
        "/elearning-list" if page_param() == 1 => Page::Elearning,
        "/__stats" => Page::Stats,
        p => match p.strip_prefix("/events/").map(str::parse::<u64>) {
            Some(Ok(id)) => Page::Detail(id),
            _ => Page::Missing,
        },
    }
}

async fn handle(State(st): State<Arc<Shared>>, req: Request) -> Response {
    let page = route(req.uri().path(), req.uri().query().unwrap_or(""));
    if let Page::Stats = page {
        let json = serde_json::to_string(&st.stats()).unwrap_or_default();
        return body(StatusCode::OK, "application/json", json);
    }
    st.counters.requests.fetch_add(1, Ordering::SeqCst);
    let version = st.version.load(Ordering::SeqCst);
    let site = &st.site;
    let (text, changed, is_detail) = match page {
        Page::Robots => (Some("User-agent: *\nDisallow:\n".to_string()), 0, false),
        Page::Listing(p) => (
            site.listing_page(p, version),
            site.listing_changed(p, version),
            false,
        ),
        Page::Detail(id) => (
            site.detail_page(id, version),
            site.index_of(id)
                .map_or(0, |i| site.changed_version(i, version)),
            true,
        ),
        Page::Elearning => (Some(site.elearning_page()), 0, false),
        Page::Stats | Page::Missing => (None, 0, false),
    };
    let Some(text) = text else {
        return body(
            StatusCode::NOT_FOUND,
            "text/html; charset=utf-8",
            "<html><body><h1>404 Not Found</h1></body></html>".into(),
        );
    };
    let ctype = if matches!(page, Page::Robots) {
        "text/plain; charset=utf-8"
    } else {
        "text/html; charset=utf-8"
    };
    let digest = Sha256::digest(text.as_bytes());
    let etag = format!(
        "\"{}\"",
        digest[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    // A page last changed when the version that changed it was served; version
    // K is dated K hours after a fixed instant.
    let modified = Utc
        .with_ymd_and_hms(2026, 1, 1, 8, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::hours(i64::from(changed));
    let last_modified = httpdate::fmt_http_date(modified.into());
    let matched = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if matched {
        st.counters.not_modified.fetch_add(1, Ordering::SeqCst);
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r.headers_mut().insert(header::ETAG, hv(&etag));
        r.headers_mut()
            .insert(header::LAST_MODIFIED, hv(&last_modified));
        return r;
    }
    if is_detail {
        st.counters.detail_bodies.fetch_add(1, Ordering::SeqCst);
    } else if matches!(page, Page::Listing(_)) {
        st.counters.listing_bodies.fetch_add(1, Ordering::SeqCst);
    }
    let mut r = body(StatusCode::OK, ctype, text);
    r.headers_mut().insert(header::ETAG, hv(&etag));
    r.headers_mut()
        .insert(header::LAST_MODIFIED, hv(&last_modified));
    r
}

fn body(status: StatusCode, ctype: &'static str, text: String) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    r
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("\"x\""))
}

/// `events replica`: serves a site of `events` events on `listen` until
/// Ctrl-C or SIGTERM, after printing its base URL as one line on stdout.
pub async fn serve_until_stopped(cfg: ScaledConfig, listen: SocketAddr) -> std::io::Result<()> {
    use std::io::Write as _;
    let replica = ScaledReplica::start_on(cfg, listen).await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", replica.base_url())?;
    out.flush()?;
    drop(out);
    let (_tx, mut stop) = crate::crawl::schedule::on_signals();
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(events: usize) -> ScaledSite {
        ScaledSite::new(ScaledConfig {
            events,
            seed: 7,
            first_day: NaiveDate::from_ymd_opt(2027, 1, 4).expect("date"),
        })
    }

    #[test]
    fn same_seed_same_site_and_listing_is_paged() {
        let a = site(1000);
        let b = site(1000);
        assert_eq!(a.event(123, 0), b.event(123, 0));
        assert_eq!(a.pages(), 125);
        assert!(a.listing_page(1, 0).unwrap().contains("rel=\"next\""));
        assert!(!a.listing_page(125, 0).unwrap().contains("rel=\"next\""));
        assert_eq!(a.listing_page(126, 0), None);
        assert_eq!(a.detail_page(FIRST_ID + 1000, 0), None);
    }

    #[test]
    fn a_bump_changes_a_few_percent() {
        let s = site(2000);
        let changed = s.changed_events(1).len();
        assert!((20..=200).contains(&changed), "{changed} changed");
        assert!(s.changed_events(0).is_empty());
    }

    #[test]
    fn words_the_site_uses() {
        let d = NaiveDate::from_ymd_opt(2027, 4, 2).expect("date");
        assert_eq!(date_text(d, 0), "Friday 2 April 2027");
        assert_eq!(date_text(d, 1), "Fri 2nd Apr 2027");
        assert_eq!(date_text(d, 2), "02/04/2027");
        let t = NaiveTime::from_hms_opt(13, 0, 0).expect("time");
        assert_eq!(time_text(t, 1), "1pm");
        assert_eq!(time_text(t, 0), "13:00");
        assert_eq!(esc("A & \"B\""), "A &amp; &quot;B&quot;");
    }
}
