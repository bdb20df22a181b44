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

mod calendar;
mod event;
mod text;
mod wording;
mod writer;
mod zones;

pub use wording::{places_label, summary};
pub use writer::render;

use crate::model::StoredSession;
use calendar::{calendar_properties, dedupe_sorted, CalValue, CalendarFrame};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use event::{EventFields, EventTimes};
use icalendar::{Calendar, CalendarDateTime, Component, Event, EventLike, EventStatus, Property};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::time::Duration;
use text::{escape_text, fold_into, push_escaped, sanitize_text};
use writer::{write_event, write_head};

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
