//! The walk of a `schema-org` source: the listing and its `rel="next"` pages
//! (at most `limits.max_pages`), then each event page the listing names but
//! does not embed whole (at most `limits.max_event_pages`), stopping once
//! `limits.max_sessions` sessions are read.
//!
//! Owns the order of requests for this kind, the counting of pages and
//! sessions against the source's limits as they are read, and what is kept
//! when an event page cannot be read (what the store last knew of it). Pages
//! are parsed on the crawl's blocking threads. Merging and health belong to
//! the generic crawl.

use super::{parse_event_page_within, parse_listing_within, Budget, Over, SchemaOrgConfig};
use crate::errors::ErrorKind;
use crate::model::Session;
use crate::source::FieldMiss;
use crate::source::{Gathered, LimitHit, WalkError, Walker};
use std::collections::HashSet;
use url::Url;

/// Walks the listing pages, then reads the event pages they name.
pub(super) async fn walk(so: &SchemaOrgConfig, w: &Walker<'_>) -> Result<Gathered, WalkError> {
    let cfg = w.source;
    let mut sessions: Vec<Session> = Vec::new();
    let (event_urls, mut limit) = walk_listing(so, w, &mut sessions).await?;
    if limit.is_none() || matches!(&limit, Some(l) if l.setting != "max_sessions") {
        if let Some(hit) = walk_event_pages(w, event_urls, &mut sessions).await? {
            // The limit that ended the reading is the one to raise first.
            limit = Some(hit);
        }
    }
    // One event named twice (on a page and embedded elsewhere) is one session.
    let mut uids = HashSet::new();
    sessions.retain(|s| uids.insert(s.uid()));
    if limit.is_some() {
        tracing::debug!(source = %cfg.id, sessions = sessions.len(), "walk stopped at a limit");
    }
    Ok(Gathered {
        sessions,
        courses: None,
        limit,
    })
}

/// The listing pages: the sessions they embed (into `sessions`), and the event
/// pages they name that are not embedded; with the limit it reached, if any.
async fn walk_listing(
    so: &SchemaOrgConfig,
    w: &Walker<'_>,
    sessions: &mut Vec<Session>,
) -> Result<(Vec<Url>, Option<LimitHit>), WalkError> {
    let limits = &w.source.limits;
    let first =
        w.source.base_url.join(&so.listing).map_err(|e| {
            WalkError::fail(ErrorKind::Other, format!("listing `{}`: {e}", so.listing))
        })?;
    let mut event_urls = Vec::new();
    let mut seen_urls = HashSet::new();
    let mut limit = None;
    let mut pages = w.pages(first);
    while let Some(url) = pages.next_page() {
        let page = w.get(&url).await?;
        let budget = Budget {
            sessions: limits.max_sessions.saturating_sub(sessions.len()),
            event_urls: limits.max_event_pages.saturating_sub(event_urls.len()),
        };
        let (page_url, pattern, ctx) = (url.clone(), so.event_path.clone(), w.ctx.clone());
        let listing = w
            .blocking(move || {
                parse_listing_within(&page.text(), &page_url, pattern.as_ref(), &ctx, budget)
            })
            .await??;
        listing_read(w, so, &url, &listing);
        sessions.extend(listing.sessions);
        for u in listing.event_urls {
            if seen_urls.insert(u.clone()) {
                event_urls.push(u);
            }
        }
        match listing.over {
            Some(Over::Sessions) => {
                limit = Some(w.limit_hit("max_sessions", limits.max_sessions, "sessions"));
                pages.go_on(None);
            }
            Some(Over::EventUrls) => {
                limit = Some(w.limit_hit(
                    "max_event_pages",
                    limits.max_event_pages,
                    format!("event pages named by {}", so.listing),
                ));
                pages.go_on(None);
            }
            None => pages.go_on(listing.next),
        }
    }
    if let Some(hit) = pages.limit_hit(w, |_| format!("listing pages of {}", so.listing)) {
        limit = Some(hit);
    }
    // An event embedded whole on one listing page and linked from another
    // needs no page of its own.
    let embedded: HashSet<&str> = sessions.iter().map(|s| s.url.as_str()).collect();
    event_urls.retain(|u| !embedded.contains(u.as_str()));
    Ok((event_urls, limit))
}

/// Tells the probe what a listing page named or embedded; nothing at all is
/// a miss of `event_path` (or of `listing`, without one).
fn listing_read(w: &Walker<'_>, so: &SchemaOrgConfig, url: &Url, listing: &super::Listing) {
    let probe = &w.ctx.probe;
    let named = listing.event_urls.len() + listing.sessions.len();
    probe.read(url, "listing", Some(named), &listing.sessions);
    if named == 0 {
        let miss = match &so.event_path {
            Some(p) => FieldMiss::new(
                "events",
                Some("event_path"),
                p.as_str(),
                "no Event JSON-LD and no same-site link whose path matches",
            ),
            None => FieldMiss::new(
                "events",
                Some("listing"),
                &so.listing,
                "no Event JSON-LD and no same-site event link",
            ),
        };
        probe.missed(url, miss.required());
    }
}

/// Reads each event page into `sessions`, at most `limits.max_event_pages`
/// of them and until `limits.max_sessions` sessions are read; the limit it
/// reached, if any.
async fn walk_event_pages(
    w: &Walker<'_>,
    event_urls: Vec<Url>,
    sessions: &mut Vec<Session>,
) -> Result<Option<LimitHit>, WalkError> {
    let limits = &w.source.limits;
    // What the store knows of each event page, for one that cannot be read.
    let known = w.known_by(|s| s.url.as_str())?;
    let mut budget = w.event_pages("event pages");
    let sessions_hit = || w.limit_hit("max_sessions", limits.max_sessions, "sessions");
    for u in event_urls {
        if !budget.take() {
            return Ok(budget.limit_hit(w));
        }
        if sessions.len() >= limits.max_sessions {
            return Ok(Some(sessions_hit()));
        }
        let room = limits.max_sessions - sessions.len();
        match read_event_page(w, &u, room).await? {
            Some(found) if !found.sessions.is_empty() => {
                sessions.extend(found.sessions);
                if found.over {
                    return Ok(Some(sessions_hit()));
                }
            }
            // Unavailable, unreadable or empty: keep what is known of it.
            _ => sessions.extend_from_slice(known.of(u.as_str())),
        }
    }
    Ok(None)
}

/// One event page's sessions (at most `room`); `None` when it cannot be
/// fetched or read, each with a warning naming the page.
async fn read_event_page(
    w: &Walker<'_>,
    u: &Url,
    room: usize,
) -> Result<Option<super::EventPage>, WalkError> {
    let source = &w.source.id;
    let page = match w.get(u).await {
        Ok(page) => page,
        Err(e) => {
            tracing::warn!(source = %source, url = %u, error = %e, "event page unavailable; keeping what is known of it");
            return Ok(None);
        }
    };
    let (page_url, ctx) = (u.clone(), w.ctx.clone());
    let parsed = w
        .blocking(move || parse_event_page_within(&page.text(), &page_url, &ctx, room))
        .await?;
    let found = match parsed {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!(source = %source, error = %e, "event page unreadable; keeping what is known of it");
            return Ok(None);
        }
    };
    w.ctx.probe.read(u, "event page", None, &found.sessions);
    if found.sessions.is_empty() {
        let miss = FieldMiss::new(
            "event",
            None,
            "schema.org Event JSON-LD",
            "no Event with a start date in the page's JSON-LD",
        );
        w.ctx.probe.missed(u, miss.required());
        tracing::warn!(source = %source, url = %u, "event page has no readable event; keeping what is known of it");
    }
    Ok(Some(found))
}
