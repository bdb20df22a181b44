//! The walk of a `schema-org` source: the listing and its `rel="next"` pages
//! (at most `limits.max_pages`), then each event page the listing names but
//! does not embed whole.
//!
//! Owns the order of requests for this kind and what is kept when an event
//! page cannot be read (what the store last knew of it). Parsing lives in
//! `adapters::schema_org`, limits, merging and health in `crawl`.

use super::{Gathered, Observed, WalkError};
use crate::adapters::{schema_org, SourceContext};
use crate::config::{SchemaOrgConfig, SourceConfig};
use crate::model::{Session, Status};
use crate::store::Store;
use std::collections::{HashMap, HashSet};

/// Walks the listing pages, then reads the event pages they name.
pub(super) async fn walk(
    cfg: &SourceConfig,
    so: &SchemaOrgConfig,
    http: &Observed<'_>,
    store: &Store,
    ctx: &SourceContext,
) -> Result<Gathered, WalkError> {
    let event_path = match so.event_path.as_deref().map(regex::Regex::new) {
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => return Err(WalkError::Fail(format!("event_path: {e}"))),
        None => None,
    };
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
            limit = Some(cfg.limit_hit(
                "max_pages",
                max_pages,
                format!("listing pages of {}", so.listing),
            ));
            break;
        }
        let page = http.get(&url).await?;
        let listing = schema_org::parse_listing(&page.text(), &url, event_path.as_ref(), ctx)
            .map_err(|e| WalkError::Fail(e.to_string()))?;
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
    let stored = store.source_sessions(&cfg.id)?;
    let mut known: HashMap<&str, Vec<&Session>> = HashMap::new();
    for s in &stored {
        if s.session.status != Status::Withdrawn {
            known
                .entry(s.session.url.as_str())
                .or_default()
                .push(&s.session);
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
        match http.get(&u).await {
            Ok(page) => match schema_org::parse_event_page(&page.text(), &u, ctx) {
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
