//! Reuse of rendered VEVENTs across feeds (`EventBlocks`, `render_with_blocks`)
//! and the validator of a feed body (`body_hash`): what lets a server answer a
//! feed it has not rendered before mostly by copying.
//!
//! Owns: the cache of each session's VEVENT text for one store generation, its
//! byte budget and counts, and the ETag hash. Does not own: how a VEVENT is
//! written (`writer`, whose bytes it must reproduce exactly), or the cache of
//! whole feeds (`feed_cache`).

use super::calendar::{dedupe_sorted, CalendarFrame};
use super::event::{EventFields, EventTimes};
use super::writer::{write_event, write_head};
use super::FeedOptions;
use crate::model::StoredSession;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::borrow::Borrow;
use std::collections::HashMap;

/// Bytes of rendered VEVENTs a server keeps by default (see [`EventBlocks`]):
/// every session of the 10,000-event national replica (13,988 sessions, 9.5 MB
/// of VEVENTs plus `EVENT_BLOCK_OVERHEAD` each) fits. Paid for by keeping fewer
/// whole feeds of unusual filters (`feed_cache::OTHER_SHARE_DIVISOR`).
pub const DEFAULT_EVENT_BLOCK_BYTES: usize = 12 * 1024 * 1024;

/// What [`EventBlocks`] counts of a block besides its text: the map slot, the
/// key, the stamp and the allocation's own header.
pub const EVENT_BLOCK_OVERHEAD: usize = 96;

/// Each session's VEVENT text as [`render`](super::render) writes it, kept for one store
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

    /// The blocks and counts, locked.
    fn lock(&self) -> std::sync::MutexGuard<'_, BlocksInner> {
        // A render that panicked left whole blocks only; carry on.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The kept block of each of `sessions`, looked up under one lock (a new
    /// `generation` first drops every block of the old one); counts the hits
    /// and the misses, which the caller renders.
    fn look_up(&self, sessions: &[&StoredSession], generation: u64) -> Vec<Option<KeptBlock>> {
        let mut inner = self.lock();
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
    }

    /// Bytes left in the budget (none once it was hit in this generation).
    /// A hint only: others may fill it meanwhile, so [`EventBlocks::keep`]
    /// checks again.
    fn room(&self) -> usize {
        let inner = self.lock();
        if inner.full {
            0
        } else {
            self.budget.saturating_sub(inner.used)
        }
    }

    /// Keeps `new_blocks`, those that still fit, if the generation is still
    /// `generation`; counts those that do not fit, with `not_kept` more, as
    /// over budget, and the first time in a generation warns that it is full.
    fn keep(&self, generation: u64, new_blocks: Vec<(u128, Block)>, mut not_kept: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        for (key, b) in new_blocks {
            let size = b.text.len() + EVENT_BLOCK_OVERHEAD;
            if inner.used + size > self.budget {
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
                budget = self.budget,
                kept = inner.blocks.len(),
                "the rendered-event cache is full, so the feeds of this store generation render the other sessions afresh each time; raise its budget (feed::EventBlocks)"
            );
        }
    }
}

/// A feed body's validator (`ETag`): 128 bits of XXH3, as hex. Not a
/// cryptographic hash: it tells versions of our own output apart, and is
/// many times cheaper than SHA-256 over a 10 MB feed.
#[must_use]
pub fn body_hash(body: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(body))
}

/// [`body_hash`] of a body handed over in pieces: the same digest as of the
/// whole.
#[derive(Default)]
pub struct BodyHasher(xxhash_rust::xxh3::Xxh3);

impl BodyHasher {
    /// Takes the next piece of the body.
    pub fn update(&mut self, piece: &[u8]) {
        self.0.update(piece);
    }

    /// The digest of every piece taken, as [`body_hash`] writes it.
    #[must_use]
    pub fn finish(&self) -> String {
        format!("{:032x}", self.0.digest128())
    }
}

/// A kept block's text and `EventTimes::zone_years`.
type KeptBlock = (std::sync::Arc<str>, Option<(Tz, i32, i32)>);

/// Where a session's block is kept: its UID, hashed.
fn block_key(uid: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(uid.as_bytes())
}

/// What a kept block must match to stand for this version of its session.
fn block_stamp(st: &StoredSession) -> (u32, DateTime<Utc>, DateTime<Utc>) {
    (st.sequence, st.last_changed, st.last_seen)
}

/// The same bytes as [`render`](super::render), taking each VEVENT from
/// `blocks` when it was rendered before in `generation` and keeping the ones it
/// renders, within the budget. `generation` is the store's
/// (`Store::generation`): a new one drops the old blocks.
#[must_use]
pub fn render_with_blocks<S: Borrow<StoredSession>>(
    sessions: &[S],
    opts: &FeedOptions,
    blocks: &EventBlocks,
    generation: u64,
) -> String {
    let mut body = Vec::new();
    render_with_blocks_into(sessions, opts, blocks, generation, &mut |chunk| {
        body.extend_from_slice(chunk)
    });
    // Written from `&str`s only, so always UTF-8.
    String::from_utf8(body).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Bytes of a feed gathered before they are handed on: a national feed
/// goes to its consumer (gzip, a hash) a piece at a time, and is never held
/// whole.
pub const STREAM_CHUNK_BYTES: usize = 64 * 1024;

/// The same feed as `render_with_blocks`, handed to `sink` in pieces of
/// about [`STREAM_CHUNK_BYTES`].
pub fn render_with_blocks_into<S: Borrow<StoredSession>>(
    sessions: &[S],
    opts: &FeedOptions,
    blocks: &EventBlocks,
    generation: u64,
    sink: &mut dyn FnMut(&[u8]),
) {
    let sessions = dedupe_sorted(sessions);
    let kept = blocks.look_up(&sessions, generation);
    // Only a session without a kept block needs its times worked out.
    let times: Vec<Option<EventTimes>> = sessions
        .iter()
        .zip(&kept)
        .map(|(st, k)| k.is_none().then(|| EventTimes::of(&st.session)))
        .collect();
    let frame = frame_of(&kept, &times);
    let mut out = String::with_capacity(STREAM_CHUNK_BYTES + 64 * 1024);
    let mut line = String::with_capacity(4096);
    write_head(&mut out, &mut line, opts, &frame);
    let room = blocks.room();
    let mut pass_on = |out: &mut String| {
        if out.len() >= STREAM_CHUNK_BYTES {
            sink(out.as_bytes());
            out.clear();
        }
    };
    let (new_blocks, not_kept) = write_events(
        &mut out,
        &mut line,
        &sessions,
        kept,
        times,
        room,
        &mut pass_on,
    );
    out.push_str("END:VCALENDAR\r\n");
    sink(out.as_bytes());
    blocks.keep(generation, new_blocks, not_kept);
}

/// The calendar's frame from each session's kept block or, for a miss, its
/// times.
fn frame_of(kept: &[Option<KeptBlock>], times: &[Option<EventTimes>]) -> CalendarFrame {
    CalendarFrame::of_years(kept.iter().zip(times).map(|(k, t)| match (k, t) {
        (Some((_, years)), _) => *years,
        (None, Some(t)) => t.zone_years(),
        (None, None) => None,
    }))
}

/// Writes each session's VEVENT, copying its kept block or rendering it from
/// its `times`. Returns the rendered ones that fit in `room` as new blocks,
/// and how many did not fit.
fn write_events(
    out: &mut String,
    line: &mut String,
    sessions: &[&StoredSession],
    kept: Vec<Option<KeptBlock>>,
    times: Vec<Option<EventTimes>>,
    mut room: usize,
    pass_on: &mut dyn FnMut(&mut String),
) -> (Vec<(u128, Block)>, u64) {
    let mut new_blocks: Vec<(u128, Block)> = Vec::new();
    let mut not_kept = 0u64;
    for ((st, k), t) in sessions.iter().zip(kept).zip(times) {
        match (k, t) {
            (Some((text, _)), _) => out.push_str(&text),
            (None, Some(t)) => {
                let start = out.len();
                write_event(out, line, &EventFields::of(st, t));
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
        pass_on(out);
    }
    (new_blocks, not_kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_hashed_in_pieces_has_the_whole_body_s_hash() {
        let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut h = BodyHasher::default();
        for piece in body.chunks(STREAM_CHUNK_BYTES / 3) {
            h.update(piece);
        }
        assert_eq!(h.finish(), body_hash(&body));
        assert_eq!(BodyHasher::default().finish(), body_hash(b""));
    }
}
