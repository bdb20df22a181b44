//! The walk of an `event-booking` source: every listing page (per category),
//! then each event's detail page, then the eLearning catalogue.
//!
//! Owns the order of requests for this platform, which detail pages to fetch
//! again (at most `limits.max_event_pages` of them), and what is kept when one
//! cannot be read. Pages are parsed on the crawl's blocking threads. Merging, limits on
//! sessions, and health belong to the generic crawl.

use super::{parse_detail, parse_elearning, parse_listing, EventBookingConfig, ListingEntry};
use crate::model::{Course, Session};
use crate::source::ParseError;
use crate::source::{Gathered, Known, LimitHit, WalkError, Walker};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::collections::{HashSet, VecDeque};

/// Detail pages whose listing entry is unchanged are re-read from the stored body
/// and fetched again only this often.
fn detail_refresh(w: &Walker<'_>) -> ChronoDuration {
    let poll =
        ChronoDuration::from_std(w.source.poll_interval).unwrap_or(ChronoDuration::minutes(30));
    (poll * 12).max(ChronoDuration::hours(6))
}

/// Walks the listing pages, then the detail pages, then the catalogue.
pub(super) async fn walk(eb: &EventBookingConfig, w: &Walker<'_>) -> Result<Gathered, WalkError> {
    let (entries, mut limit) = walk_listings(eb, w).await?;
    let (sessions, detail_limit) = read_details(eb, w, &entries).await?;
    if let Some(hit) = detail_limit {
        limit.get_or_insert(hit);
    }
    let courses = catalogue(eb, w, &mut limit).await;
    Ok(Gathered {
        sessions,
        courses,
        limit,
    })
}

/// Every category's listing pages, through the pager: each event's entry
/// once, in the order first listed, with the limit a listing reached.
async fn walk_listings(
    eb: &EventBookingConfig,
    w: &Walker<'_>,
) -> Result<(Vec<ListingEntry>, Option<LimitHit>), WalkError> {
    let categories: Vec<Option<u32>> = if eb.categories.is_empty() {
        vec![None]
    } else {
        eb.categories.iter().copied().map(Some).collect()
    };
    let mut entries = Vec::new();
    let mut ids = HashSet::new();
    let mut limit = None;
    for cat in categories {
        let mut pages = w.pages(super::listing_url(&w.source.base_url, eb, cat));
        while let Some(url) = pages.next_page() {
            let page = w.get(&url).await?;
            let (page_url, conf, page_ctx) = (url.clone(), eb.clone(), w.ctx.clone());
            let listing = w
                .blocking(move || parse_listing(&page.text(), &page_url, &conf, &page_ctx))
                .await??;
            let listed = listing.entries.len();
            w.ctx.probe.read(&url, "listing", Some(listed), &[]);
            entries
                .extend((listing.entries.into_iter()).filter(|e| ids.insert(e.event_id.clone())));
            pages.go_on(listing.next);
        }
        if let Some(hit) = pages.limit_hit(w, |url| format!("listing pages of {}", url.path())) {
            limit = Some(hit);
        }
    }
    Ok((entries, limit))
}

/// Each event's detail page, within `limits.max_event_pages` (fetched, or
/// re-read from the kept body, or not at all when the store already holds
/// what it says), parsed on a worker while the next is requested.
async fn read_details(
    eb: &EventBookingConfig,
    w: &Walker<'_>,
    entries: &[ListingEntry],
) -> Result<(Vec<Session>, Option<LimitHit>), WalkError> {
    let known = w.known_by(|s| &s.event_id)?;
    let since = DetailNotes::of(w)?;
    let mut budget = w.event_pages("detail pages");
    let mut sessions = Vec::new();
    let mut parsing = VecDeque::new();
    for entry in entries {
        let seen = since.seen(w, entry)?;
        let stored = known.of(&entry.event_id);
        if seen.same_as_stored() && !stored.is_empty() {
            sessions.extend_from_slice(stored);
            continue;
        }
        if !budget.take() {
            break;
        }
        let Some(body) = detail_body(w, entry, seen.unchanged).await? else {
            settle(w, entry, None, &known, &mut sessions);
            continue;
        };
        let (eb, ctx, url) = (eb.clone(), w.ctx.clone(), entry.url.clone());
        let parse = w.off_thread(move || parse_detail(&body, &url, &eb, &ctx));
        parsing.push_back((entry, parse));
        while parsing.len() > PARSES_IN_FLIGHT {
            if let Some((entry, parse)) = parsing.pop_front() {
                settle(w, entry, Some(parse.await), &known, &mut sessions);
            }
        }
    }
    while let Some((entry, parse)) = parsing.pop_front() {
        settle(w, entry, Some(parse.await), &known, &mut sessions);
    }
    Ok((sessions, budget.limit_hit(w)))
}

/// The eLearning catalogue, if the source has one; `None` keeps the stored
/// one (a limit it reached goes into `limit`).
async fn catalogue(
    eb: &EventBookingConfig,
    w: &Walker<'_>,
    limit: &mut Option<LimitHit>,
) -> Option<Vec<Course>> {
    if eb.elearning.is_empty() {
        return None;
    }
    match walk_elearning(eb, w).await {
        Ok(Ok(c)) => Some(c),
        Ok(Err(hit)) => {
            // Keep the stored catalogue rather than replace it with part of it.
            limit.get_or_insert(hit);
            None
        }
        Err(e) => {
            tracing::warn!(source = %w.source.id, error = %e, "eLearning catalogue unavailable; keeping the stored one");
            None
        }
    }
}

/// What the walk's notes say of the detail pages: how often an unchanged
/// page is fetched again, and when this source's crawl was last merged.
struct DetailNotes {
    refresh: ChronoDuration,
    merged_until: Option<DateTime<Utc>>,
}

/// What the notes say of one event's detail page.
struct Seen {
    /// Its listing entry is as when the page was last fetched, recently.
    unchanged: bool,
    /// That fetch belongs to a crawl that was merged.
    merged: bool,
}

impl Seen {
    /// Unchanged entry, read by a crawl that was merged: what the store
    /// holds is what the page said, so neither fetch nor parse it again. (A
    /// crawl stopped before its merge leaves notes newer than its last
    /// success; their pages are read from the kept bodies instead.)
    fn same_as_stored(&self) -> bool {
        self.unchanged && self.merged
    }
}

impl DetailNotes {
    fn of(w: &Walker<'_>) -> Result<DetailNotes, WalkError> {
        Ok(DetailNotes {
            refresh: detail_refresh(w),
            merged_until: w.last_merged()?,
        })
    }

    fn seen(&self, w: &Walker<'_>, entry: &ListingEntry) -> Result<Seen, WalkError> {
        let note = w.note(&note_key(entry))?;
        let (old_fp, last_fetch) = parse_note(note.as_deref());
        let fresh_enough = last_fetch.is_some_and(|t| w.ctx.now - t < self.refresh);
        Ok(Seen {
            unchanged: old_fp.as_deref() == Some(entry.fingerprint.as_str()) && fresh_enough,
            merged: last_fetch.is_some_and(|t| self.merged_until.is_some_and(|m| t <= m)),
        })
    }
}

/// The key of an event's detail note.
fn note_key(entry: &ListingEntry) -> String {
    format!("detail:{}", entry.event_id)
}

/// An event's detail page: the kept body when its entry is unchanged, else
/// fetched (and noted); `None` when it cannot be fetched.
async fn detail_body(
    w: &Walker<'_>,
    entry: &ListingEntry,
    unchanged: bool,
) -> Result<Option<String>, WalkError> {
    if let Some(kept) = unchanged.then(|| w.cached(&entry.url)).flatten() {
        return Ok(Some(String::from_utf8_lossy(&kept).into_owned()));
    }
    match w.get(&entry.url).await {
        Ok(f) => {
            let note = format!("{}\t{}", w.ctx.now.to_rfc3339(), entry.fingerprint);
            w.set_note(&note_key(entry), &note)?;
            Ok(Some(f.text()))
        }
        Err(e) => {
            tracing::warn!(source = %w.source.id, url = %entry.url, error = %e, "detail page unavailable; keeping what is known of the event");
            Ok(None)
        }
    }
}

/// Detail pages being parsed while the walk requests the next ones.
const PARSES_IN_FLIGHT: usize = 2;

/// Adds an event's sessions: those its detail page gave, else what the store
/// knows of it, else what its listing entry says.
fn settle(
    w: &Walker<'_>,
    entry: &ListingEntry,
    parsed: Option<Result<Result<Vec<Session>, ParseError>, tokio::task::JoinError>>,
    known: &Known,
    sessions: &mut Vec<Session>,
) {
    let source = &w.source.id;
    if let Some(Ok(Ok(s))) = &parsed {
        w.ctx.probe.read(&entry.url, "detail", None, s);
    }
    let parsed = match parsed {
        None => None,
        Some(Ok(Ok(s))) if !s.is_empty() => Some(s),
        Some(Ok(Ok(_))) => {
            tracing::warn!(source = %source, url = %entry.url, "detail page has no readable session; using the listing entry");
            None
        }
        Some(Ok(Err(e))) => {
            tracing::warn!(source = %source, error = %e, "detail page unreadable; using the listing entry");
            None
        }
        Some(Err(e)) => {
            tracing::error!(source = %source, url = %entry.url, error = %e, "reading the detail page stopped abnormally; using the listing entry");
            None
        }
    };
    match parsed {
        Some(mut s) => sessions.append(&mut s),
        // Keep what the store knows of this event, else what the listing says.
        None => match known.of(&entry.event_id) {
            [] => match &entry.session {
                Some(s) => sessions.push(s.clone()),
                None => {
                    tracing::warn!(source = %source, url = %entry.url, "no session could be read for this event; left out");
                }
            },
            stored => sessions.extend_from_slice(stored),
        },
    }
}

/// The catalogue's pages, or the limit it ran into.
async fn walk_elearning(
    eb: &EventBookingConfig,
    w: &Walker<'_>,
) -> Result<Result<Vec<Course>, LimitHit>, String> {
    let first = w
        .source
        .base_url
        .join(&eb.elearning)
        .map_err(|e| e.to_string())?;
    let mut pages = w.pages(first);
    let mut out = Vec::new();
    while let Some(url) = pages.next_page() {
        let page = w.get(&url).await.map_err(|e| e.to_string())?;
        let (mut courses, next) =
            parse_elearning(&page.text(), &url, eb, &w.ctx).map_err(|e| e.to_string())?;
        w.ctx
            .probe
            .read(&url, "catalogue", Some(courses.len()), &[]);
        out.append(&mut courses);
        pages.go_on(next);
    }
    match pages.limit_hit(w, |url| format!("catalogue pages of {}", url.path())) {
        Some(hit) => Ok(Err(hit)),
        None => Ok(Ok(out)),
    }
}

/// A detail note: when the page was last fetched, and its entry's fingerprint.
fn parse_note(note: Option<&str>) -> (Option<String>, Option<DateTime<Utc>>) {
    let Some(n) = note else { return (None, None) };
    let (ts, fp) = n.split_once('\t').unwrap_or((n, ""));
    (
        Some(fp.to_string()),
        DateTime::parse_from_rfc3339(ts)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
    )
}
