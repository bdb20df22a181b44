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
//! The `icalendar` crate builds the calendar and events, but it falls short in
//! several places, each handled below and marked "icalendar lacks":
//! - no VTIMEZONE support at all (and any component built with it gets a random
//!   UID and a `Utc::now()` DTSTAMP), so VTIMEZONEs are generated here from
//!   chrono-tz and spliced in as text;
//! - its folding can write a 76-octet line (off by one on continuation lines),
//!   so its output is unfolded and folded again here;
//! - it escapes only `\n` in TEXT values, leaving a bare CR that breaks a line
//!   in many parsers, so text is sanitised before it reaches the crate;
//! - it writes X- properties (X-WR-CALNAME, ...) and URL without any escaping;
//! - `Calendar::ttl` formats one hour as `PT3600S`, not `PT1H`.

mod text;
mod wording;

pub use wording::{places_label, summary};

use crate::model::{Session, StoredSession};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike, EventStatus, Property};
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::time::Duration;
use text::{escape_text, fold_into, one_line, push_escaped, sanitize_text};
use wording::{book_link, description, location, non_empty};

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

/// The zone named in `X-WR-TIMEZONE` when no session names a usable one.
const DEFAULT_ZONE: &str = "Europe/London";

const PRODID: &str = "-//events//Safeguarding training sessions//EN";

/// An RFC 5545 DURATION such as `PT1H`, `PT30M` or `P1D`.
// icalendar lacks: `Calendar::ttl` writes chrono's `PT3600S`, which clients
// accept but people reading the feed (and our contract) expect `PT1H`.
fn ical_duration(d: Duration) -> String {
    // A zero interval would ask clients to re-fetch continuously.
    let secs = d.as_secs().max(60);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let mut out = String::from("P");
    if days > 0 {
        let _ = write!(out, "{days}D");
    }
    if rem > 0 {
        out.push('T');
        let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
        if h > 0 {
            let _ = write!(out, "{h}H");
        }
        if m > 0 {
            let _ = write!(out, "{m}M");
        }
        if s > 0 {
            let _ = write!(out, "{s}S");
        }
    }
    out
}

/// The zone a session's times are shown in, or `None` to write them in UTC
/// (`Z`): for a name chrono-tz does not know, and for UTC itself, which needs no
/// VTIMEZONE.
fn zone_of(name: &str) -> Option<Tz> {
    let tz: Tz = name.trim().parse().ok()?;
    const UTC_NAMES: [&str; 8] = [
        "UTC",
        "Etc/UTC",
        "Etc/UCT",
        "UCT",
        "Etc/Universal",
        "Universal",
        "Etc/Zulu",
        "Zulu",
    ];
    (!UTC_NAMES.contains(&tz.name())).then_some(tz)
}

/// Local wall-clock time of `t` in `tz`, if writing it with a TZID names this
/// instant unambiguously. In the repeated hour when clocks go back, RFC 5545
/// §3.3.5 reads a local time as its first occurrence but ical.js (Thunderbird,
/// Nextcloud) takes the second, so either occurrence is written in UTC instead.
fn local_time(t: DateTime<Utc>, tz: Tz) -> Option<NaiveDateTime> {
    let local = t.with_timezone(&tz).naive_local();
    (tz.from_local_datetime(&local).single()? == t).then_some(local)
}

/// How one VEVENT's start and end are written.
#[derive(Debug, Clone, Copy)]
enum EventTimes {
    /// Local wall-clock times with `TZID=` the zone.
    Zoned(Tz, NaiveDateTime, NaiveDateTime),
    /// UTC (`...Z`): the zone is unknown or UTC, or a time falls in a repeated hour.
    Utc(DateTime<Utc>, DateTime<Utc>),
    /// A whole-day event: `VALUE=DATE`, the end date exclusive.
    Dates(NaiveDate, NaiveDate),
}

/// Everything one VEVENT says, decided once and written by either writer.
struct EventFields<'a> {
    uid: &'a str,
    sequence: u32,
    dtstamp: DateTime<Utc>,
    times: EventTimes,
    /// One line, sanitised.
    summary: String,
    /// Not yet sanitised: the writers do it.
    description: String,
    location: Option<String>,
    category: Option<String>,
    cancelled: bool,
    url: Option<String>,
}

impl EventTimes {
    fn of(s: &Session) -> Self {
        // RFC 5545 needs DTEND after DTSTART; a source saying otherwise is wrong.
        let end = s.end.max(s.start);
        if s.all_day {
            let tz = zone_of(&s.timezone).unwrap_or(Tz::UTC);
            let a = s.start.with_timezone(&tz).date_naive();
            let b = end.with_timezone(&tz).date_naive();
            return EventTimes::Dates(a, b.max(a + chrono::Duration::days(1)));
        }
        zone_of(&s.timezone)
            .and_then(|tz| {
                Some(EventTimes::Zoned(
                    tz,
                    local_time(s.start, tz)?,
                    local_time(end, tz)?,
                ))
            })
            .unwrap_or(EventTimes::Utc(s.start, end))
    }

    /// The zone and local years this event writes with a TZID, if any.
    fn zone_years(self) -> Option<(Tz, i32, i32)> {
        match self {
            EventTimes::Zoned(tz, a, b) => Some((tz, a.year(), b.year())),
            EventTimes::Utc(..) | EventTimes::Dates(..) => None,
        }
    }
}

impl<'a> EventFields<'a> {
    fn of(st: &'a StoredSession, times: EventTimes) -> Self {
        let s = &st.session;
        let url = book_link(s);
        EventFields {
            uid: st.uid.as_str(),
            sequence: st.sequence,
            dtstamp: st.last_changed,
            times,
            summary: summary(s),
            description: description(s, url.as_deref()),
            location: location(s),
            category: non_empty(&s.category).map(one_line),
            cancelled: s.status.is_off(),
            url,
        }
    }
}

/// The calendar-level facts both writers share: the zone most sessions use
/// (`X-WR-TIMEZONE`) and the VTIMEZONE lines for every zone events use.
struct CalendarFrame {
    zone: &'static str,
    vtimezones: Vec<String>,
}

impl CalendarFrame {
    fn of(times: &[EventTimes]) -> Self {
        Self::of_years(times.iter().map(|t| t.zone_years()))
    }

    /// From each event's `EventTimes::zone_years`.
    fn of_years(years: impl Iterator<Item = Option<(Tz, i32, i32)>>) -> Self {
        // X-WR-TIMEZONE: the zone most events use (ties broken by name, for determinism).
        let mut zone_counts: BTreeMap<&'static str, usize> = BTreeMap::new();
        // Years (local) each zone's events span, to know which transitions to describe.
        let mut zone_years: BTreeMap<&'static str, (Tz, i32, i32)> = BTreeMap::new();
        for (tz, a, b) in years.flatten() {
            *zone_counts.entry(tz.name()).or_default() += 1;
            let e = zone_years.entry(tz.name()).or_insert((tz, a, b));
            e.1 = e.1.min(a);
            e.2 = e.2.max(b);
        }
        let zone = zone_counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map_or(DEFAULT_ZONE, |(name, _)| name);
        let vtimezones = zone_years
            .values()
            .flat_map(|&(tz, y0, y1)| vtimezone(tz, y0, y1))
            .collect();
        CalendarFrame { zone, vtimezones }
    }
}

/// Renders sessions as an iCalendar feed. Sorts by (start, uid) itself, so the
/// order of `sessions` does not matter; the same input gives the same bytes.
///
/// This is the hot path of every feed request, so it writes content lines
/// straight into one buffer (escaping and folding as it goes) instead of
/// building the `icalendar` crate's model: the crate allocates a map, a
/// `String` per property and a folded copy of every line, and its folding
/// walks each line by characters from the start for every fold, so at 10,000
/// sessions it was several times slower than the whole rest of a request.
/// [`render_with_crate`] builds the same calendar through the crate, and a test
/// checks that both parse to the same events.
#[must_use]
pub fn render<S: Borrow<StoredSession>>(sessions: &[S], opts: &FeedOptions) -> String {
    let sessions = dedupe_sorted(sessions);
    // Times first (the VTIMEZONEs, written before any event, depend on them);
    // each event's text is then built, written and dropped one at a time.
    let times: Vec<EventTimes> = sessions
        .iter()
        .map(|st| EventTimes::of(&st.session))
        .collect();
    let frame = CalendarFrame::of(&times);

    // About 900 octets a VEVENT, so the buffer rarely grows (and never doubles
    // twice): growth would briefly hold two copies of a 10 MB feed.
    let mut out = String::with_capacity(2048 + frame.vtimezones.len() * 40 + times.len() * 900);
    let mut line = String::with_capacity(4096);
    write_head(&mut out, &mut line, opts, &frame);
    for (st, t) in sessions.iter().zip(&times) {
        write_event(&mut out, &mut line, &EventFields::of(st, *t));
    }
    out.push_str("END:VCALENDAR\r\n");
    out
}

/// `BEGIN:VCALENDAR`, the calendar's properties and its VTIMEZONEs.
fn write_head(out: &mut String, line: &mut String, opts: &FeedOptions, frame: &CalendarFrame) {
    out.push_str("BEGIN:VCALENDAR\r\n");
    for (name, value) in calendar_properties(opts, frame.zone) {
        line.push_str(name);
        match value {
            CalValue::Text(t) => {
                line.push(':');
                push_escaped(line, &t);
            }
            CalValue::Raw(r) => {
                line.push(':');
                line.push_str(&r);
            }
            CalValue::Duration(d) => {
                line.push_str(";VALUE=DURATION:");
                line.push_str(&d);
            }
        }
        fold_into(out, line);
        line.clear();
    }
    for tz_line in &frame.vtimezones {
        fold_into(out, tz_line);
    }
}

/// Bytes of rendered VEVENTs a server keeps by default (see [`EventBlocks`]):
/// every session of the 10,000-event national replica (13,988 sessions, 9.5 MB
/// of VEVENTs plus `EVENT_BLOCK_OVERHEAD` each) fits. Paid for by keeping fewer
/// whole feeds of unusual filters (`feed_cache::OTHER_SHARE_DIVISOR`).
pub const DEFAULT_EVENT_BLOCK_BYTES: usize = 12 * 1024 * 1024;

/// What [`EventBlocks`] counts of a block besides its text: the map slot, the
/// key, the stamp and the allocation's own header.
pub const EVENT_BLOCK_OVERHEAD: usize = 96;

/// Each session's VEVENT text as [`render`] writes it, kept for one store
/// generation so that a feed whose filter has not been asked for before is
/// mostly a concatenation of kept blocks (a nearly whole calendar at 14,000
/// sessions: see bench/RESULTS.md). Bounded in bytes (`budget`, text plus
/// `EVENT_BLOCK_OVERHEAD` a block): once full, further sessions are rendered
/// afresh for every feed, and the first time that happens in a generation it
/// is logged as a warning, with the budget, so it can be raised.
///
/// A block is keyed by its session's UID and checked against the session's
/// `(sequence, last_changed, last_seen)`, which the store changes with every
/// write of the record; so a block is never used for another version of its
/// session, whatever generation the caller names. A new generation drops every
/// block of the old one.
pub struct EventBlocks {
    budget: usize,
    inner: std::sync::Mutex<BlocksInner>,
}

#[derive(Default)]
struct BlocksInner {
    generation: u64,
    blocks: HashMap<u128, Block>,
    used: usize,
    /// The budget was hit in this generation (and reported).
    full: bool,
    stats: BlockStats,
}

struct Block {
    stamp: (u32, DateTime<Utc>, DateTime<Utc>),
    /// `EventTimes::zone_years` of the session, for the calendar's VTIMEZONEs.
    zone_years: Option<(Tz, i32, i32)>,
    text: std::sync::Arc<str>,
}

/// What [`EventBlocks`] has done in its current generation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockStats {
    /// Blocks kept now.
    pub blocks: usize,
    /// Bytes they hold, as the budget counts them.
    pub bytes: usize,
    /// VEVENTs taken from a kept block.
    pub hits: u64,
    /// VEVENTs rendered (and kept, while the budget allowed).
    pub misses: u64,
    /// VEVENTs rendered and not kept because the budget was full.
    pub over_budget: u64,
}

impl EventBlocks {
    /// Keeps at most `budget` bytes of blocks.
    #[must_use]
    pub fn new(budget: usize) -> Self {
        EventBlocks {
            budget,
            inner: std::sync::Mutex::new(BlocksInner::default()),
        }
    }

    /// The byte budget it was made with.
    #[must_use]
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// Counts of the current generation.
    #[must_use]
    pub fn stats(&self) -> BlockStats {
        let inner = self.lock();
        BlockStats {
            blocks: inner.blocks.len(),
            bytes: inner.used,
            ..inner.stats
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BlocksInner> {
        // A render that panicked left whole blocks only; carry on.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A feed body's validator (`ETag`): 128 bits of XXH3, as hex. Not a
/// cryptographic hash: it tells versions of our own output apart, and is
/// many times cheaper than SHA-256 over a 10 MB feed.
#[must_use]
pub fn body_hash(body: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(body))
}

/// A kept block's text and `EventTimes::zone_years`.
type KeptBlock = (std::sync::Arc<str>, Option<(Tz, i32, i32)>);

fn block_key(uid: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(uid.as_bytes())
}

fn block_stamp(st: &StoredSession) -> (u32, DateTime<Utc>, DateTime<Utc>) {
    (st.sequence, st.last_changed, st.last_seen)
}

/// The same bytes as [`render`], taking each VEVENT from `blocks` when it was
/// rendered before in `generation` and keeping the ones it renders, within the
/// budget. `generation` is the store's (`Store::generation`): a new one drops
/// the old blocks.
#[must_use]
pub fn render_with_blocks<S: Borrow<StoredSession>>(
    sessions: &[S],
    opts: &FeedOptions,
    blocks: &EventBlocks,
    generation: u64,
) -> String {
    let sessions = dedupe_sorted(sessions);
    // The kept blocks, looked up under one lock; a miss is rendered below.
    let kept: Vec<Option<KeptBlock>> = {
        let mut inner = blocks.lock();
        if inner.generation != generation {
            *inner = BlocksInner {
                generation,
                ..BlocksInner::default()
            };
        }
        let found: Vec<_> = sessions
            .iter()
            .map(|st| {
                inner
                    .blocks
                    .get(&block_key(st.uid.as_str()))
                    .filter(|b| b.stamp == block_stamp(st))
                    .map(|b| (b.text.clone(), b.zone_years))
            })
            .collect();
        let hits = found.iter().filter(|f| f.is_some()).count() as u64;
        inner.stats.hits += hits;
        inner.stats.misses += sessions.len() as u64 - hits;
        found
    };
    let times: Vec<Option<EventTimes>> = sessions
        .iter()
        .zip(&kept)
        .map(|(st, k)| k.is_none().then(|| EventTimes::of(&st.session)))
        .collect();
    let frame = CalendarFrame::of_years(kept.iter().zip(&times).map(|(k, t)| match (k, t) {
        (Some((_, years)), _) => *years,
        (None, Some(t)) => t.zone_years(),
        (None, None) => None,
    }));
    let text_len: usize = kept.iter().flatten().map(|(t, _)| t.len()).sum();
    let misses = times.iter().flatten().count();
    let mut out =
        String::with_capacity(2048 + frame.vtimezones.len() * 40 + text_len + misses * 900);
    let mut line = String::with_capacity(4096);
    write_head(&mut out, &mut line, opts, &frame);
    // Room is checked here as a hint (others may fill it meanwhile) and
    // again when the new blocks are kept.
    let mut room = {
        let inner = blocks.lock();
        if inner.full {
            0
        } else {
            blocks.budget.saturating_sub(inner.used)
        }
    };
    let mut new_blocks: Vec<(u128, Block)> = Vec::new();
    let mut not_kept = 0u64;
    for ((st, k), t) in sessions.iter().zip(kept).zip(times) {
        match (k, t) {
            (Some((text, _)), _) => out.push_str(&text),
            (None, Some(t)) => {
                let start = out.len();
                write_event(&mut out, &mut line, &EventFields::of(st, t));
                let size = out.len() - start + EVENT_BLOCK_OVERHEAD;
                if size <= room {
                    room -= size;
                    new_blocks.push((
                        block_key(st.uid.as_str()),
                        Block {
                            stamp: block_stamp(st),
                            zone_years: t.zone_years(),
                            text: std::sync::Arc::from(&out[start..]),
                        },
                    ));
                } else {
                    not_kept += 1;
                }
            }
            (None, None) => unreachable!("every session without a block has its times"),
        }
    }
    out.push_str("END:VCALENDAR\r\n");

    let mut inner = blocks.lock();
    if inner.generation == generation {
        for (key, b) in new_blocks {
            let size = b.text.len() + EVENT_BLOCK_OVERHEAD;
            if inner.used + size > blocks.budget {
                not_kept += 1;
                continue;
            }
            if let Some(old) = inner.blocks.insert(key, b) {
                inner.used -= old.text.len() + EVENT_BLOCK_OVERHEAD;
            }
            inner.used += size;
        }
        inner.stats.over_budget += not_kept;
        if not_kept > 0 && !inner.full {
            inner.full = true;
            tracing::warn!(
                budget = blocks.budget,
                kept = inner.blocks.len(),
                "the rendered-event cache is full, so the feeds of this store generation render the other sessions afresh each time; raise its budget (feed::EventBlocks)"
            );
        }
    }
    out
}

/// A calendar property's value, by how it must be written.
enum CalValue {
    /// TEXT: escaped.
    Text(String),
    /// Written as it is (no character needs escaping).
    Raw(String),
    /// A DURATION with `VALUE=DURATION`.
    Duration(String),
}

/// The calendar's own properties, in the order they are written.
///
/// No `METHOD`. `METHOD` makes the calendar an iTIP (RFC 5546) scheduling
/// message, and `METHOD:PUBLISH` then requires an `ORGANIZER` in every VEVENT:
/// libical (Evolution, Cyrus) and ical4j check that and report every event of
/// a feed without one. Exchange's own published calendars keep the rule by
/// always having a real mailbox as organiser; we have none (the sessions are
/// organised by booking sites, which have no calendar address), and a made-up
/// `mailto:` makes Outlook and Apple Calendar show each session as a meeting
/// invitation from that address, offering to reply to it. A feed subscribed to
/// by URL is not a scheduling message: RFC 5545 makes `METHOD` optional, and
/// Outlook, Google Calendar, Apple Calendar and Thunderbird subscribe to feeds
/// without it (Outlook reads `METHOD` only on `.ics` files opened from mail,
/// where `REQUEST` and `PUBLISH` decide between a meeting and an appointment).
///
/// `NAME` and `DESCRIPTION` (RFC 7986) are the standard forms of the calendar's
/// name and description; `X-WR-CALNAME` and `X-WR-CALDESC` stay for the clients
/// that read only those (Outlook, Google Calendar, older Apple Calendar).
fn calendar_properties(opts: &FeedOptions, zone: &str) -> Vec<(&'static str, CalValue)> {
    let refresh = ical_duration(opts.refresh);
    let mut props = vec![
        ("VERSION", CalValue::Raw("2.0".into())),
        ("PRODID", CalValue::Raw(PRODID.into())),
        ("CALSCALE", CalValue::Raw("GREGORIAN".into())),
        ("NAME", CalValue::Text(opts.name.clone())),
        ("X-WR-CALNAME", CalValue::Text(opts.name.clone())),
    ];
    if let Some(desc) = &opts.description {
        props.push(("DESCRIPTION", CalValue::Text(desc.clone())));
        props.push(("X-WR-CALDESC", CalValue::Text(desc.clone())));
    }
    props.push(("X-WR-TIMEZONE", CalValue::Raw(zone.into())));
    props.push(("REFRESH-INTERVAL", CalValue::Duration(refresh.clone())));
    props.push(("X-PUBLISHED-TTL", CalValue::Raw(refresh)));
    props
}

/// Writes one VEVENT. Properties come in the order the `icalendar` crate
/// writes them (by name), so the two writers' outputs can be compared line by line.
fn write_event(out: &mut String, line: &mut String, ev: &EventFields<'_>) {
    let mut put = |line: &mut String| {
        fold_into(out, line);
        line.clear();
    };
    line.push_str("BEGIN:VEVENT");
    put(line);
    if let Some(cat) = &ev.category {
        line.push_str("CATEGORIES:");
        push_escaped(line, cat);
        put(line);
    }
    line.push_str("DESCRIPTION:");
    push_escaped(line, &ev.description);
    put(line);
    push_time(line, "DTEND", ev.times, false);
    put(line);
    line.push_str("DTSTAMP:");
    push_utc(line, ev.dtstamp);
    put(line);
    push_time(line, "DTSTART", ev.times, true);
    put(line);
    if let Some(loc) = &ev.location {
        line.push_str("LOCATION:");
        push_escaped(line, loc);
        put(line);
    }
    let _ = write!(line, "SEQUENCE:{}", ev.sequence);
    put(line);
    line.push_str(if ev.cancelled {
        "STATUS:CANCELLED"
    } else {
        "STATUS:CONFIRMED"
    });
    put(line);
    line.push_str("SUMMARY:");
    push_escaped(line, &ev.summary);
    put(line);
    // These are sessions to consider booking, not time the subscriber is busy.
    line.push_str("TRANSP:TRANSPARENT");
    put(line);
    line.push_str("UID:");
    push_escaped(line, ev.uid);
    put(line);
    if let Some(url) = &ev.url {
        line.push_str("URL:");
        line.push_str(url);
        put(line);
    }
    line.push_str("END:VEVENT");
    put(line);
}

/// `DTSTART;TZID=Europe/London:20270715T093000` or `DTSTART:20270715T083000Z`.
fn push_time(line: &mut String, name: &str, times: EventTimes, start: bool) {
    line.push_str(name);
    match times {
        EventTimes::Zoned(tz, a, b) => {
            line.push_str(";TZID=");
            line.push_str(tz.name());
            line.push(':');
            push_local(line, if start { a } else { b });
        }
        EventTimes::Utc(a, b) => {
            line.push(':');
            push_utc(line, if start { a } else { b });
        }
        EventTimes::Dates(a, b) => {
            let d = if start { a } else { b };
            let _ = write!(
                line,
                ";VALUE=DATE:{:04}{:02}{:02}",
                d.year(),
                d.month(),
                d.day()
            );
        }
    }
}

fn push_local(line: &mut String, t: NaiveDateTime) {
    let _ = write!(
        line,
        "{:04}{:02}{:02}T{:02}{:02}{:02}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

fn push_utc(line: &mut String, t: DateTime<Utc>) {
    push_local(line, t.naive_utc());
    line.push('Z');
}

/// The same calendar as [`render`], built through the `icalendar` crate's model
/// and written by the crate. Several times slower; kept as the reference the
/// hand-written writer is checked against (same events, same properties).
#[must_use]
pub fn render_with_crate<S: Borrow<StoredSession>>(sessions: &[S], opts: &FeedOptions) -> String {
    let sessions = dedupe_sorted(sessions);
    let times: Vec<EventTimes> = sessions
        .iter()
        .map(|st| EventTimes::of(&st.session))
        .collect();
    let events: Vec<EventFields<'_>> = sessions
        .iter()
        .zip(&times)
        .map(|(st, t)| EventFields::of(st, *t))
        .collect();
    let frame = CalendarFrame::of(&times);

    let mut cal = Calendar::empty();
    for (name, value) in calendar_properties(opts, frame.zone) {
        match value {
            // icalendar lacks: escaping of RFC 7986's NAME, which it does not
            // know to be TEXT, so it is escaped here.
            CalValue::Text(t) if name == "NAME" => {
                cal.append_property((name, escape_text(&t).as_str()))
            }
            // The crate escapes X- properties itself (since 0.17).
            CalValue::Text(t) => cal.append_property((name, sanitize_text(&t).as_str())),
            CalValue::Raw(r) => cal.append_property((name, r.as_str())),
            CalValue::Duration(d) => cal.append_property(
                Property::new(name, d.as_str())
                    .add_parameter("VALUE", "DURATION")
                    .done(),
            ),
        };
    }
    for ev in &events {
        let mut e = Event::new();
        e.uid(ev.uid)
            .sequence(ev.sequence)
            .timestamp(ev.dtstamp)
            .summary(&ev.summary)
            .description(&sanitize_text(&ev.description))
            .status(if ev.cancelled {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            })
            .add_property("TRANSP", "TRANSPARENT");
        if let Some(url) = &ev.url {
            e.url(url);
        }
        if let Some(loc) = &ev.location {
            e.location(loc);
        }
        if let Some(cat) = &ev.category {
            // CATEGORIES is a list: the crate writes it as given, so escape the one item.
            let mut item = String::new();
            push_escaped(&mut item, cat);
            e.add_property("CATEGORIES", item);
        }
        match ev.times {
            EventTimes::Zoned(tz, a, b) => {
                let with_tz = |date_time| CalendarDateTime::WithTimezone {
                    date_time,
                    tzid: tz.name().to_string(),
                };
                e.starts(with_tz(a)).ends(with_tz(b));
            }
            EventTimes::Utc(a, b) => {
                e.starts(a).ends(b);
            }
            EventTimes::Dates(a, b) => {
                e.starts(a).ends(b);
            }
        }
        cal.push(e.done());
    }

    // icalendar lacks: any VTIMEZONE. Splice ours in before the first VEVENT;
    // the crate's folds (CRLF + space) are undone and done again by `fold_into`.
    let unfolded = cal.to_string().replace("\r\n ", "");
    let mut out = String::with_capacity(unfolded.len() + unfolded.len() / 16);
    let mut spliced = false;
    for line in unfolded.split("\r\n").filter(|l| !l.is_empty()) {
        if !spliced && (line == "BEGIN:VEVENT" || line == "END:VCALENDAR") {
            for tz_line in &frame.vtimezones {
                fold_into(&mut out, tz_line);
            }
            spliced = true;
        }
        fold_into(&mut out, line);
    }
    out
}

/// Keeps one session per UID (two with the same UID and no RECURRENCE-ID make
/// an invalid feed) and sorts by (start, uid).
fn dedupe_sorted<S: Borrow<StoredSession>>(sessions: &[S]) -> Vec<&StoredSession> {
    let mut by_uid: HashMap<&str, &StoredSession> = HashMap::with_capacity(sessions.len());
    for st in sessions {
        let st = st.borrow();
        let rank = |s: &StoredSession| (s.sequence, s.last_changed, s.last_seen);
        by_uid
            .entry(st.uid.as_str())
            .and_modify(|kept| {
                // The newest wins; a full tie is broken by content so that input
                // order never changes the output.
                let newer = rank(st)
                    .cmp(&rank(kept))
                    .then_with(|| format!("{st:?}").cmp(&format!("{kept:?}")));
                if newer.is_gt() {
                    *kept = st;
                }
            })
            .or_insert(st);
    }
    let mut out: Vec<&StoredSession> = by_uid.into_values().collect();
    out.sort_unstable_by(|a, b| {
        (a.session.start, a.uid.as_str()).cmp(&(b.session.start, b.uid.as_str()))
    });
    out
}

/// The offset in effect at some instant, as a VTIMEZONE describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OffsetState {
    /// Seconds east of UTC.
    total: i32,
    dst: bool,
    name: Option<String>,
}

fn offset_state(tz: Tz, t: i64) -> OffsetState {
    let at = DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .naive_utc();
    let off = tz.offset_from_utc_datetime(&at);
    OffsetState {
        total: off.fix().local_minus_utc(),
        dst: !off.dst_offset().is_zero(),
        name: off.abbreviation().map(str::to_string),
    }
}

/// A change of offset: at UTC instant `at` (unix seconds), `from` gives way to `to`.
#[derive(Debug, Clone)]
struct Transition {
    at: i64,
    from: OffsetState,
    to: OffsetState,
}

impl Transition {
    /// The onset in local time as it was just before the change, which is how
    /// an observance's DTSTART is written (RFC 5545 §3.6.5).
    fn onset(&self) -> NaiveDateTime {
        DateTime::from_timestamp(self.at + i64::from(self.from.total), 0)
            .unwrap_or_default()
            .naive_utc()
    }
}

/// Every transition of `tz` in `[from, to)` (unix seconds), found by sampling
/// daily and bisecting to the second: chrono-tz does not expose its table.
fn transitions(tz: Tz, from: i64, to: i64) -> Vec<Transition> {
    const DAY: i64 = 86_400;
    let mut found = Vec::new();
    let mut t = from;
    let mut state = offset_state(tz, t);
    while t < to {
        let next = (t + DAY).min(to);
        let next_state = offset_state(tz, next);
        if next_state != state {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset_state(tz, mid) == state {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push(Transition {
                at: hi,
                from: state,
                to: next_state.clone(),
            });
        }
        state = next_state;
        t = next;
    }
    found
}

/// One STANDARD or DAYLIGHT block of a VTIMEZONE.
#[derive(Debug, Clone)]
struct Observance {
    dtstart: NaiveDateTime,
    rrule: Option<String>,
    from: i32,
    to: OffsetState,
}

/// The VTIMEZONE for `tz`, as unfolded content lines, describing it correctly
/// for at least local years `y0..=y1`.
///
/// When the transitions recur on the same rule every year (e.g. last Sunday of
/// March at 01:00), each kind is one observance with an RRULE, which every
/// client (Outlook especially) reads well; otherwise each transition is its own
/// dated observance.
fn vtimezone(tz: Tz, y0: i32, y1: i32) -> Vec<String> {
    // A year either side, so an observance is in effect from before the first
    // event and a transition just outside a year boundary is not missed.
    let (first_year, last_year) = (y0 - 1, y1 + 1);
    let year_start = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(0, |d| d.and_utc().timestamp())
    };
    let (from, to) = (year_start(first_year), year_start(last_year + 1));
    let found = transitions(tz, from, to);

    let observances = yearly_rules(&found, first_year, last_year).unwrap_or_else(|| {
        // The offset in effect at the start of the range, then each change.
        let initial = offset_state(tz, from);
        let start = DateTime::from_timestamp(from + i64::from(initial.total), 0)
            .unwrap_or_default()
            .naive_utc();
        std::iter::once(Observance {
            dtstart: start,
            rrule: None,
            from: initial.total,
            to: initial,
        })
        .chain(found.iter().map(|t| Observance {
            dtstart: t.onset(),
            rrule: None,
            from: t.from.total,
            to: t.to.clone(),
        }))
        .collect()
    });

    let mut lines = vec![
        "BEGIN:VTIMEZONE".to_string(),
        format!("TZID:{}", tz.name()),
        // Read by libical-based clients (Evolution) to map the zone to their own.
        format!("X-LIC-LOCATION:{}", tz.name()),
    ];
    for o in observances {
        let kind = if o.to.dst { "DAYLIGHT" } else { "STANDARD" };
        lines.push(format!("BEGIN:{kind}"));
        lines.push(format!("DTSTART:{}", o.dtstart.format("%Y%m%dT%H%M%S")));
        if let Some(rule) = o.rrule {
            lines.push(format!("RRULE:{rule}"));
        }
        lines.push(format!("TZOFFSETFROM:{}", utc_offset(o.from)));
        lines.push(format!("TZOFFSETTO:{}", utc_offset(o.to.total)));
        if let Some(name) = &o.to.name {
            lines.push(format!("TZNAME:{}", escape_text(name)));
        }
        lines.push(format!("END:{kind}"));
    }
    lines.push("END:VTIMEZONE".into());
    lines
}

/// One RRULE observance per kind of transition, if every kind happens exactly
/// once in each year of `first..=last`, always in the same month, on the same
/// weekday (the nth or the last of the month) and at the same local time.
fn yearly_rules(found: &[Transition], first: i32, last: i32) -> Option<Vec<Observance>> {
    // Kind of change: (to dst, from offset, to offset, to name).
    let mut kinds: BTreeMap<(bool, i32, i32, Option<String>), Vec<&Transition>> = BTreeMap::new();
    for t in found {
        let key = (t.to.dst, t.from.total, t.to.total, t.to.name.clone());
        kinds.entry(key).or_default().push(t);
    }
    if kinds.is_empty() {
        return None;
    }
    let all_years: BTreeSet<i32> = (first..=last).collect();
    let mut out = Vec::new();
    for group in kinds.values() {
        let onsets: Vec<NaiveDateTime> = group.iter().map(|t| t.onset()).collect();
        let years: BTreeSet<i32> = onsets.iter().map(|o| o.year()).collect();
        if years != all_years || onsets.len() != all_years.len() {
            return None;
        }
        let o0 = onsets[0];
        let same = onsets.iter().all(|o| {
            o.month() == o0.month() && o.weekday() == o0.weekday() && o.time() == o0.time()
        });
        if !same {
            return None;
        }
        let is_last = |o: &NaiveDateTime| o.day() + 7 > days_in_month(o.year(), o.month());
        let nth = |o: &NaiveDateTime| (o.day() as i32 - 1) / 7 + 1;
        let which = if onsets.iter().all(is_last) {
            -1
        } else if onsets.iter().all(|o| nth(o) == nth(&o0)) {
            nth(&o0)
        } else {
            return None;
        };
        let day = &o0.weekday().to_string()[..2].to_uppercase();
        out.push(Observance {
            dtstart: o0,
            rrule: Some(format!(
                "FREQ=YEARLY;BYMONTH={};BYDAY={which}{day}",
                o0.month()
            )),
            from: group[0].from.total,
            to: group[0].to.clone(),
        });
    }
    out.sort_by_key(|o| (o.dtstart, o.to.total));
    debug_assert!(out
        .iter()
        .all(|o| o.dtstart.second() == 0 || o.rrule.is_some()));
    Some(out)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day())
}

/// A UTC-OFFSET value: `+0100`, `-0330`, with seconds only when there are some.
fn utc_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a % 3600 / 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(ical_duration(Duration::from_secs(3600)), "PT1H");
        assert_eq!(ical_duration(Duration::from_secs(1800)), "PT30M");
        assert_eq!(ical_duration(Duration::from_secs(86_400)), "P1D");
        assert_eq!(ical_duration(Duration::from_secs(90_061)), "P1DT1H1M1S");
        assert_eq!(ical_duration(Duration::ZERO), "PT1M");
    }

    #[test]
    fn london_is_two_yearly_rules() {
        let lines = vtimezone(chrono_tz::Europe::London, 2027, 2027);
        let text = lines.join("\n");
        assert!(text.contains(
            "BEGIN:DAYLIGHT\nDTSTART:20260329T010000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\n\
             TZOFFSETFROM:+0000\nTZOFFSETTO:+0100\nTZNAME:BST\nEND:DAYLIGHT"
        ));
        assert!(text.contains(
            "BEGIN:STANDARD\nDTSTART:20261025T020000\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\n\
             TZOFFSETFROM:+0100\nTZOFFSETTO:+0000\nTZNAME:GMT\nEND:STANDARD"
        ));
    }

    #[test]
    fn southern_and_fixed_zones() {
        let sydney = vtimezone(chrono_tz::Australia::Sydney, 2027, 2028).join("\n");
        assert!(
            sydney.contains("RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU"),
            "{sydney}"
        );
        assert!(
            sydney.contains("RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU"),
            "{sydney}"
        );
        let tokyo = vtimezone(chrono_tz::Asia::Tokyo, 2027, 2027).join("\n");
        assert!(
            tokyo.contains("TZOFFSETFROM:+0900\nTZOFFSETTO:+0900"),
            "{tokyo}"
        );
        assert_eq!(tokyo.matches("BEGIN:STANDARD").count(), 1);
        assert!(zone_of("Not/AZone").is_none());
        assert!(zone_of("UTC").is_none());
    }

    #[test]
    fn repeated_hour_is_written_in_utc() {
        let london = chrono_tz::Europe::London;
        // 2027-10-31: 01:30 BST is 00:30Z; 01:30 GMT is 01:30Z.
        let first = Utc.with_ymd_and_hms(2027, 10, 31, 0, 30, 0).unwrap();
        let second = Utc.with_ymd_and_hms(2027, 10, 31, 1, 30, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2027, 10, 31, 2, 0, 0).unwrap();
        assert!(local_time(first, london).is_none());
        assert!(local_time(second, london).is_none());
        assert!(local_time(after, london).is_some());
    }
}
