//! The walk of an `event-booking` source: every listing page (per category),
//! then each event's detail page, then the eLearning catalogue.
//!
//! Owns the order of requests for this platform, which detail pages to fetch
//! again (at most `limits.max_event_pages` of them), and what is kept when one
//! cannot be read. Pages are parsed on the crawl's blocking threads. Merging, limits on
//! sessions, and health belong to the generic crawl.

use super::{parse_detail, parse_elearning, parse_listing, EventBookingConfig, ListingEntry};
use crate::source::ParseError;
use crate::source::{Gathered, LimitHit, WalkError, Walker};
use crate::model::{Course, Session, Status};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Detail pages whose listing entry is unchanged are re-read from the stored body
/// and fetched again only this often.
fn detail_refresh(w: &Walker<'_>) -> ChronoDuration {
    let poll =
        ChronoDuration::from_std(w.source.poll_interval).unwrap_or(ChronoDuration::minutes(30));
    (poll * 12).max(ChronoDuration::hours(6))
}

/// Walks the listing pages, then the detail pages, then the catalogue.
pub(super) async fn walk(eb: &EventBookingConfig, w: &Walker<'_>) -> Result<Gathered, WalkError> {
    let ctx = &w.ctx;
    let source = &w.source.id;
    let categories: Vec<Option<u32>> = if eb.categories.is_empty() {
        vec![None]
    } else {
        eb.categories.iter().copied().map(Some).collect()
    };
    let mut entries: BTreeMap<String, ListingEntry> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut limit = None;
    for cat in categories {
        let mut pages = w.pages(super::listing_url(&w.source.base_url, eb, cat));
        while let Some(url) = pages.next_page() {
            let page = w.get(&url).await?;
            let (page_url, conf, page_ctx) = (url.clone(), eb.clone(), ctx.clone());
            let listing = w
                .blocking(move || parse_listing(&page.text(), &page_url, &conf, &page_ctx))
                .await??;
            w.ctx
                .probe
                .read(&url, "listing", Some(listing.entries.len()), &[]);
            for e in listing.entries {
                if !entries.contains_key(&e.event_id) {
                    order.push(e.event_id.clone());
                    entries.insert(e.event_id.clone(), e);
                }
            }
            pages.go_on(listing.next);
        }
        if let Some(hit) = pages.limit_hit(w, |url| format!("listing pages of {}", url.path())) {
            limit = Some(hit);
        }
    }

    // What the store knows of each event: reused for an unchanged listing
    // entry, and kept when a detail page cannot be read.
    let stored = w.stored_sessions()?;
    let mut known: HashMap<&str, Vec<&Session>> = HashMap::new();
    for s in &stored {
        if s.status != Status::Withdrawn {
            known.entry(s.event_id.as_str()).or_default().push(s);
        }
    }
    let refresh = detail_refresh(w);
    let merged_until = w.last_merged()?;
    let mut sessions = Vec::new();
    let mut parsing = VecDeque::new();
    // Detail pages fetched or re-read from their kept bodies, against
    // `limits.max_event_pages`.
    let mut detail_pages = 0usize;
    let max_event_pages = w.source.limits.max_event_pages;
    for id in &order {
        let entry = &entries[id];
        let note_key = format!("detail:{id}");
        let note = w.note(&note_key)?;
        let (old_fp, last_fetch) = parse_note(note.as_deref());
        let fresh_enough = last_fetch.is_some_and(|t| ctx.now - t < refresh);
        let unchanged = old_fp.as_deref() == Some(entry.fingerprint.as_str()) && fresh_enough;
        // Unchanged entry, read by a crawl that was merged: what the store
        // holds is what the page said, so neither fetch nor parse it again. (A
        // crawl stopped before its merge leaves notes newer than its last
        // success; their pages are read from the kept bodies instead.)
        let merged = last_fetch.is_some_and(|t| merged_until.is_some_and(|m| t <= m));
        if unchanged && merged {
            if let Some(k) = known.get(id.as_str()) {
                sessions.extend(k.iter().map(|s| (*s).clone()));
                continue;
            }
        }
        if detail_pages == max_event_pages {
            limit.get_or_insert_with(|| {
                w.limit_hit("max_event_pages", max_event_pages, "detail pages")
            });
            break;
        }
        detail_pages += 1;
        let cached = if unchanged {
            w.cached(&entry.url)
        } else {
            None
        };
        let body = if let Some(c) = cached {
            Some(String::from_utf8_lossy(&c).into_owned())
        } else {
            match w.get(&entry.url).await {
                Ok(f) => {
                    w.set_note(
                        &note_key,
                        &format!("{}\t{}", ctx.now.to_rfc3339(), entry.fingerprint),
                    )?;
                    Some(f.text())
                }
                Err(e) => {
                    tracing::warn!(source = %source, url = %entry.url, error = %e, "detail page unavailable; keeping what is known of the event");
                    None
                }
            }
        };
        match body {
            // Parsed on a worker while the next page is requested, so parsing
            // stays off the path of one request after another.
            Some(body) => {
                let (eb, ctx, url) = (eb.clone(), ctx.clone(), entry.url.clone());
                let parse = w.off_thread(move || parse_detail(&body, &url, &eb, &ctx));
                parsing.push_back((entry, parse));
                while parsing.len() > PARSES_IN_FLIGHT {
                    if let Some((entry, parse)) = parsing.pop_front() {
                        settle(w, entry, Some(parse.await), &known, &mut sessions);
                    }
                }
            }
            None => settle(w, entry, None, &known, &mut sessions),
        }
    }
    while let Some((entry, parse)) = parsing.pop_front() {
        settle(w, entry, Some(parse.await), &known, &mut sessions);
    }

    let courses = if eb.elearning.is_empty() {
        None
    } else {
        match walk_elearning(eb, w).await {
            Ok(Ok(c)) => Some(c),
            Ok(Err(hit)) => {
                // Keep the stored catalogue rather than replace it with part of it.
                limit.get_or_insert(hit);
                None
            }
            Err(e) => {
                tracing::warn!(source = %source, error = %e, "eLearning catalogue unavailable; keeping the stored one");
                None
            }
        }
    };
    Ok(Gathered {
        sessions,
        courses,
        limit,
    })
}

/// Detail pages being parsed while the walk requests the next ones.
const PARSES_IN_FLIGHT: usize = 2;

/// Adds an event's sessions: those its detail page gave, else what the store
/// knows of it, else what its listing entry says.
fn settle(
    w: &Walker<'_>,
    entry: &ListingEntry,
    parsed: Option<Result<Result<Vec<Session>, ParseError>, tokio::task::JoinError>>,
    known: &HashMap<&str, Vec<&Session>>,
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
        None => match known.get(entry.event_id.as_str()) {
            Some(k) => sessions.extend(k.iter().map(|s| (*s).clone())),
            None => match &entry.session {
                Some(s) => sessions.push(s.clone()),
                None => {
                    tracing::warn!(source = %source, url = %entry.url, "no session could be read for this event; left out");
                }
            },
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
