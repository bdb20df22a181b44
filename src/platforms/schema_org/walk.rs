//! The walk of a `schema-org` source: the listing and its `rel="next"` pages
//! (at most `limits.max_pages`), then each event page the listing names but
//! does not embed whole.
//!
//! Owns the order of requests for this kind and what is kept when an event
//! page cannot be read (what the store last knew of it). Merging and health
//! belong to the generic crawl.

use super::{parse_event_page, parse_listing, SchemaOrgConfig};
use crate::crawl::{Gathered, WalkError, Walker};
use crate::model::{Session, Status};
use std::collections::{HashMap, HashSet};

/// Walks the listing pages, then reads the event pages they name.
pub(super) async fn walk(so: &SchemaOrgConfig, w: &Walker<'_>) -> Result<Gathered, WalkError> {
    let ctx = &w.ctx;
    let cfg = w.source;
    let mut url = cfg
        .base_url
        .join(&so.listing)
        .map_err(|e| WalkError::Fail(format!("listing `{}`: {e}", so.listing)))?;
    let mut sessions: Vec<Session> = Vec::new();
    let mut event_urls = Vec::new();
    let mut seen_urls = HashSet::new();
    let mut visited = HashSet::new();
    let mut limit = None;
    let max_pages = cfg.limits.max_pages;
    for pages in 0.. {
        if !visited.insert(url.clone()) {
            break;
        }
        if pages == max_pages {
            limit = Some(w.limit_hit(
                "max_pages",
                max_pages,
                format!("listing pages of {}", so.listing),
            ));
            break;
        }
        let page = w.get(&url).await?;
        let listing = parse_listing(&page.text(), &url, so.event_path.as_ref(), ctx)?;
        sessions.extend(listing.sessions);
        for u in listing.event_urls {
            if seen_urls.insert(u.clone()) {
                event_urls.push(u);
            }
        }
        match listing.next {
            Some(next) => url = next,
            None => break,
        }
    }
    // An event embedded whole on one listing page and linked from another
    // needs no page of its own.
    let embedded: HashSet<String> = sessions.iter().map(|s| s.url.clone()).collect();
    // What the store knows of each event page, for one that cannot be read.
    let stored = w.stored_sessions()?;
    let mut known: HashMap<&str, Vec<&Session>> = HashMap::new();
    for s in &stored {
        if s.status != Status::Withdrawn {
            known.entry(s.url.as_str()).or_default().push(s);
        }
    }
    for u in event_urls {
        if embedded.contains(u.as_str()) {
            continue;
        }
        let keep_known = |sessions: &mut Vec<Session>| {
            if let Some(k) = known.get(u.as_str()) {
                sessions.extend(k.iter().map(|s| (*s).clone()));
            }
        };
        match w.get(&u).await {
            Ok(page) => match parse_event_page(&page.text(), &u, ctx) {
                Ok(found) if !found.is_empty() => sessions.extend(found),
                Ok(_) => {
                    tracing::warn!(source = %cfg.id, url = %u, "event page has no readable event; keeping what is known of it");
                    keep_known(&mut sessions);
                }
                Err(e) => {
                    tracing::warn!(source = %cfg.id, error = %e, "event page unreadable; keeping what is known of it");
                    keep_known(&mut sessions);
                }
            },
            Err(e) => {
                tracing::warn!(source = %cfg.id, url = %u, error = %e, "event page unavailable; keeping what is known of it");
                keep_known(&mut sessions);
            }
        }
    }
    // One event named twice (on a page and embedded elsewhere) is one session.
    let mut uids = HashSet::new();
    sessions.retain(|s| uids.insert(s.uid()));
    Ok(Gathered {
        sessions,
        courses: None,
        limit,
    })
}
