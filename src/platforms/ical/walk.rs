//! The walk of an `ical` source: one conditional GET of the feed; or, for an
//! export the site cuts into pages (`page_url`), its pages in turn through the
//! crawl's one pager (at most `limits.max_pages`), until a page holds no event
//! not already read (an empty page, or a site that serves its last page again
//! for any number past it), or a page past the first does not exist (404 or
//! 410, as WordPress answers a page number past the end). Reading stops once
//! `limits.max_sessions` sessions are read.
//!
//! Owns the order of requests and when a paged export ends. Reading a page is
//! `parse`'s; merging, the wording of limits and health belong to the generic
//! crawl.

use super::{parse_feed_within, IcalConfig, IcalFeed};
use crate::errors::ErrorKind;
use crate::fetch::FetchError;
use crate::model::{Session, Uid};
use crate::source::{Gathered, WalkError, Walker};
use std::collections::HashSet;
use url::Url;

/// Reads the feed, page by page when it has pages, and every occurrence in
/// the reader's window.
pub(super) async fn walk(ic: &IcalConfig, w: &Walker<'_>) -> Result<Gathered, WalkError> {
    let max = w.source.limits.max_sessions;
    let mut export = Export::default();
    let mut pages = w.pages(ic.url.clone());
    while let Some(url) = pages.next_page() {
        let budget = max.saturating_sub(export.sessions.len());
        let Some(feed) = read_page(w, &url, pages.pages_read(), budget).await? else {
            break;
        };
        if pages.pages_read() == 1 {
            warn_if_cut_short(ic, w, &feed);
        }
        let new_events = export.add(feed);
        pages.go_on(next_page(ic, &export, new_events, pages.pages_read())?);
    }
    if export.sessions.is_empty() {
        report_no_event(ic, w);
    }
    let limit = match export.stopped_at_limit {
        true => Some(w.limit_hit("max_sessions", max, "sessions")),
        false => pages.limit_hit(w, |_| "pages of the feed's export".to_string()),
    };
    Ok(Gathered {
        sessions: export.sessions,
        courses: None,
        limit,
    })
}

/// What the pages read so far gave: their sessions (an occurrence on two
/// pages once), the UIDs of their events, and whether `max_sessions` stopped
/// the reading.
#[derive(Default)]
struct Export {
    sessions: Vec<Session>,
    session_uids: HashSet<Uid>,
    /// XXH3 of each event's UID: 8 bytes an event, in window or not, however
    /// long the UIDs a hostile export writes.
    event_uids: HashSet<u64>,
    stopped_at_limit: bool,
}

impl Export {
    /// Adds a page's sessions not already read; gives how many of its events
    /// no earlier page held.
    fn add(&mut self, feed: IcalFeed) -> usize {
        let new_events = feed
            .uids
            .into_iter()
            .filter(|u| {
                self.event_uids
                    .insert(xxhash_rust::xxh3::xxh3_64(u.as_bytes()))
            })
            .count();
        for s in feed.sessions {
            if self.session_uids.insert(s.uid()) {
                self.sessions.push(s);
            }
        }
        self.stopped_at_limit |= feed.stopped_at_limit;
        new_events
    }
}

/// Fetches and reads the `nth` page (from 1); `None` when a page past the
/// first does not exist, which ends the export.
async fn read_page(
    w: &Walker<'_>,
    url: &Url,
    nth: usize,
    max_sessions: usize,
) -> Result<Option<IcalFeed>, WalkError> {
    let page = match w.get(url).await {
        Err(FetchError::Status {
            status: 404 | 410, ..
        }) if nth > 1 => {
            tracing::info!(source = %w.source.id, page = %url, "the feed's export ends before this page, which does not exist");
            return Ok(None);
        }
        answer => answer?,
    };
    let (page_url, ctx) = (url.clone(), w.ctx.clone());
    // Read on a blocking thread: a large feed takes a while to expand, and
    // the async workers must stay free to answer requests.
    let feed = w
        .blocking(move || parse_feed_within(&page.text(), &page_url, &ctx, max_sessions))
        .await??;
    tracing::debug!(source = %w.source.id, page = %url, calendar = ?feed.name, sessions = feed.sessions.len(), "feed read");
    w.ctx.probe.read(url, "feed", None, &feed.sessions);
    Ok(Some(feed))
}

/// The page after the `read`th, when the feed has pages and the last one
/// read brought an event no earlier page held.
fn next_page(
    ic: &IcalConfig,
    export: &Export,
    new_events: usize,
    read: usize,
) -> Result<Option<Url>, WalkError> {
    let Some(pages) = &ic.pages else {
        return Ok(None);
    };
    if new_events == 0 || export.stopped_at_limit {
        return Ok(None);
    }
    pages
        .after_first(read)
        .map(Some)
        .map_err(|m| WalkError::fail(ErrorKind::Other, format!("page_url: {m}")))
}

/// The number of events The Events Calendar exports unless a site changes
/// it (its `tribe_ical_feed_posts_per_page` filter): "the next 30 events".
pub const TEC_EXPORT_EVENTS: usize = 30;

/// Warns (and tells `events check`) when a feed read as one document looks
/// cut short: The Events Calendar's export (its `PRODID` names `ECPv`)
/// holding exactly its default number of events, which on a site with more
/// are only the first of them.
fn warn_if_cut_short(ic: &IcalConfig, w: &Walker<'_>, feed: &IcalFeed) {
    let by_tec = feed
        .producer
        .as_deref()
        .is_some_and(|p| p.contains("- ECPv"));
    if ic.pages.is_some() || !by_tec || feed.uids.len() != TEC_EXPORT_EVENTS {
        return;
    }
    tracing::warn!(
        source = %w.source.id,
        feed = %ic.url,
        "the feed holds {TEC_EXPORT_EVENTS} events, as many as The Events Calendar exports unless the site changes it, so the site may list more; if it does, set page_url in {} (e.g. \"/events/list/page/{{page}}/?ical=1\")",
        w.source.file.display()
    );
    let looked_at = format!(
        "{TEC_EXPORT_EVENTS} events from The Events Calendar, as many as it exports by default"
    );
    let miss = crate::platforms::FieldMiss::new("events", Some("page_url"), "not set", &looked_at);
    w.ctx.probe.missed(&ic.url, miss);
}

/// Tells `events check` that the feed held no event in the reader's window.
fn report_no_event(ic: &IcalConfig, w: &Walker<'_>) {
    let miss = crate::platforms::FieldMiss::new(
        "events",
        Some("url"),
        ic.url.as_str(),
        "the feed held no event in the reader's window",
    );
    w.ctx.probe.missed(&ic.url, miss.required());
}
