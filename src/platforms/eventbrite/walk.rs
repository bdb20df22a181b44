//! The walk of an `eventbrite` source: the API with a token, else the public
//! website.
//!
//! Owns the choice of path, the order of requests, the API call budget
//! (`limits.max_api_calls`) and what is kept when an event page cannot be read
//! (the places last known). Merging and health belong to the generic crawl.

use super::{
    api_events_url, api_ticket_classes_url, apply_page_facts, apply_ticket_totals, event_page_url,
    parse_api_error, parse_api_events, parse_event_page, parse_showmore, parse_ticket_classes,
    showmore_url, ApiErrorKind, EventRecord, EventbriteConfig, PageCursor, TicketTotals,
};
use crate::source::{Gathered, LimitHit, WalkError, Walker};
use crate::errors::ErrorKind;
use crate::source::FieldMiss;
use crate::fetch::FetchError;
use crate::model::{Session, Status};
use std::collections::{HashMap, HashSet};

/// Reads the organiser's events by whichever path is open.
pub(super) async fn walk(ebr: &EventbriteConfig, w: &Walker<'_>) -> Result<Gathered, WalkError> {
    let Some(org) = &ebr.organizer_id else {
        return Err(WalkError::Skip(format!(
            "no organizer_id in {}: open the organiser's page on Eventbrite and copy the digits at the end of its address (…/o/name-12345678901)",
            w.source.file.display()
        )));
    };
    let token = std::env::var(&ebr.token_env)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let (records, limit) = match token {
        Some(token) => from_api(ebr, org, &token, w).await?,
        None => from_public_site(org, w).await?,
    };
    Ok(Gathered {
        sessions: records
            .into_iter()
            .map(|r| r.into_session(&w.ctx))
            .collect(),
        courses: None,
        limit,
    })
}

/// The Platform API: the organiser's live events, then each event's ticket classes.
async fn from_api(
    ebr: &EventbriteConfig,
    org: &str,
    token: &str,
    w: &Walker<'_>,
) -> Result<(Vec<EventRecord>, Option<LimitHit>), WalkError> {
    let auth = [("Authorization", format!("Bearer {token}"))];
    let max_calls = w.source.limits.max_api_calls;
    let budget_hit = || w.limit_hit("max_api_calls", max_calls, "API calls");
    let mut limit = None;
    let mut calls = 0usize;
    let mut call = |url: url::Url| {
        calls += 1;
        let over = calls > max_calls;
        let auth = &auth;
        async move {
            if over {
                return Err(ApiCall::Budget);
            }
            w.get_api(&url, auth).await.map_err(ApiCall::Fetch)
        }
    };
    let mut records = Vec::new();
    let mut cursor = PageCursor::First;
    let mut seen_cursors = HashSet::new();
    loop {
        let url = api_events_url(&ebr.api_url, org, &cursor);
        let page = match call(url.clone()).await {
            Ok(page) => page,
            Err(ApiCall::Budget) => {
                limit = Some(budget_hit());
                break;
            }
            Err(e) => return Err(e.into_walk(&ebr.token_env)),
        };
        let parsed = parse_api_events(&page.body, &url, &w.ctx)?;
        let empty = parsed.events.is_empty();
        listed(w, &url, "API event list", &parsed.events, org);
        records.extend(parsed.events);
        match parsed.next {
            Some(next) if !empty && seen_cursors.insert(format!("{next:?}")) => cursor = next,
            _ => break,
        }
    }
    for rec in &mut records {
        let mut totals = TicketTotals::default();
        let mut cursor = PageCursor::First;
        let mut refused = true;
        for _ in 0..w.source.limits.max_pages {
            let url = api_ticket_classes_url(&ebr.api_url, &rec.event_id, &cursor);
            let body = match call(url.clone()).await {
                Ok(b) => b.body,
                // Out of calls: this and the remaining events keep the list's
                // ticket_availability; the crawl reports the limit.
                Err(ApiCall::Budget) => {
                    limit.get_or_insert_with(budget_hit);
                    break;
                }
                // Another organiser's ticket classes may be refused: fall back to
                // the list's ticket_availability. A refused token stops the crawl.
                Err(e) if !e.is_fatal() => {
                    tracing::info!(source = %w.source.id, event = %rec.event_id, reason = %e.into_walk(&ebr.token_env), "ticket classes unavailable; using ticket_availability");
                    break;
                }
                Err(e) => return Err(e.into_walk(&ebr.token_env)),
            };
            match parse_ticket_classes(&body, &url) {
                Ok(p) => {
                    w.ctx.probe.read(&url, "ticket classes", None, &[]);
                    totals = totals.merge(p.totals);
                    match p.next {
                        Some(n) => cursor = n,
                        None => {
                            refused = false;
                            break;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(source = %w.source.id, error = %e, "unreadable ticket classes; using ticket_availability");
                    break;
                }
            }
        }
        if !refused {
            apply_ticket_totals(rec, &totals);
        }
    }
    Ok((records, limit))
}

/// Why one API call did not give a body.
enum ApiCall {
    Budget,
    Fetch(FetchError),
}

impl ApiCall {
    /// A refused token ends the crawl (a spent budget is handled by the caller);
    /// other refusals of a single resource do not.
    fn is_fatal(&self) -> bool {
        match self {
            ApiCall::Budget => true,
            ApiCall::Fetch(FetchError::Status { status, body, .. }) => {
                parse_api_error(*status, body).kind == ApiErrorKind::Auth
            }
            ApiCall::Fetch(_) => false,
        }
    }

    fn into_walk(self, token_env: &str) -> WalkError {
        match self {
            ApiCall::Budget => WalkError::fail(ErrorKind::Limit, "out of API calls for this crawl"),
            ApiCall::Fetch(FetchError::Status {
                url, status, body, ..
            }) => {
                let api = parse_api_error(status, &body);
                if api.kind == ApiErrorKind::Auth {
                    WalkError::fail(
                        ErrorKind::HttpStatus,
                        format!("the token in {token_env} was refused ({api})"),
                    )
                } else {
                    WalkError::fail(ErrorKind::HttpStatus, format!("{url}: {api}"))
                }
            }
            ApiCall::Fetch(e) => WalkError::from(e),
        }
    }
}

/// The public site: the organiser's "show more" pages, then each event page.
async fn from_public_site(
    org: &str,
    w: &Walker<'_>,
) -> Result<(Vec<EventRecord>, Option<LimitHit>), WalkError> {
    let mut records: Vec<EventRecord> = Vec::new();
    let mut ids = HashSet::new();
    let base = &w.source.base_url;
    let mut pages = w.pages(showmore_url(base, org, 1));
    while let Some(url) = pages.next_page() {
        let body = w.get(&url).await?;
        let (page_url, ctx) = (url.clone(), w.ctx.clone());
        let parsed = w
            .blocking(move || parse_showmore(&body.body, &page_url, &ctx))
            .await??;
        let before = records.len();
        listed(w, &url, "organiser's events", &parsed.events, org);
        for r in parsed.events {
            if ids.insert(r.event_id.clone()) {
                records.push(r);
            }
        }
        // A page that adds nothing new ends the walk even if it claims more.
        let more = parsed.has_next_page && records.len() > before;
        let next = u32::try_from(pages.pages_read() + 1).unwrap_or(u32::MAX);
        pages.go_on(more.then(|| showmore_url(base, org, next)));
    }
    let mut limit = pages.limit_hit(w, |_| "pages of the organiser's events".to_string());
    // What the store knows, for events whose page cannot be read this time.
    let known: HashMap<String, Session> = w
        .stored_sessions()?
        .into_iter()
        .map(|s| (s.event_id.clone(), s))
        .collect();
    let max_event_pages = w.source.limits.max_event_pages;
    let mut read = 0usize;
    for rec in &mut records {
        let Some(url) = event_page_url(base, &rec.url) else {
            tracing::warn!(source = %w.source.id, event = %rec.event_id, url = %rec.url, "event has no usable page address; availability unknown");
            continue;
        };
        if read == max_event_pages {
            // Past the limit: the list's events stay, with what the store knew.
            limit.get_or_insert_with(|| {
                w.limit_hit("max_event_pages", max_event_pages, "event pages")
            });
            keep_known_places(rec, &known);
            continue;
        }
        read += 1;
        let fetched = match w.get(&url).await {
            Ok(page) => {
                let page_url = url.clone();
                Ok(w.blocking(move || parse_event_page(&page.text(), &page_url))
                    .await?)
            }
            Err(e) => Err(e),
        };
        match fetched {
            Ok(parsed) => match parsed {
                Ok(facts) => {
                    apply_page_facts(rec, &facts);
                    read_event_page(w, &url, rec, &facts);
                }
                Err(e) => {
                    tracing::warn!(source = %w.source.id, error = %e, "event page unreadable; keeping the places last known");
                    keep_known_places(rec, &known);
                }
            },
            Err(e) => {
                tracing::warn!(source = %w.source.id, error = %e, "event page unavailable; keeping the places last known");
                keep_known_places(rec, &known);
            }
        }
    }
    Ok((records, limit))
}

/// Tells the probe what a list page (of the API or the public site) held:
/// its events, as the list alone gives them; none is a miss of the organiser.
fn listed(w: &Walker<'_>, url: &url::Url, role: &'static str, events: &[EventRecord], org: &str) {
    let probe = &w.ctx.probe;
    if !probe.is_on() {
        return;
    }
    let sessions: Vec<Session> = events
        .iter()
        .map(|r| r.clone().into_session(&w.ctx))
        .collect();
    probe.read(url, role, Some(events.len()), &sessions);
    if events.is_empty() {
        let miss = FieldMiss::new(
            "events",
            Some("organizer_id"),
            org,
            "the organiser's list held no public upcoming event",
        );
        probe.missed(url, miss.required());
    }
}

/// Tells the probe what an event page added to its event; no ticket counts
/// is a miss no setting changes (the page's shape).
fn read_event_page(
    w: &Walker<'_>,
    url: &url::Url,
    rec: &EventRecord,
    facts: &super::PageFacts,
) {
    let probe = &w.ctx.probe;
    if !probe.is_on() {
        return;
    }
    probe.read(url, "event page", None, &[rec.clone().into_session(&w.ctx)]);
    if facts.availability.is_none() && !facts.sold_out && facts.status.is_none() {
        let miss = FieldMiss::new(
            "places",
            None,
            "window.__SERVER_DATA__ ticket classes",
            "the page has no ticket classes the reader knows",
        );
        probe.missed(url, miss);
    }
}

/// A page that could not be read says nothing new: keep the places (and a
/// sold-out or cancelled state) the store already has, rather than "unknown".
fn keep_known_places(rec: &mut EventRecord, known: &HashMap<String, Session>) {
    if let Some(old) = known.get(&rec.event_id) {
        if rec.status == Status::Scheduled && old.status != Status::Withdrawn {
            rec.status = old.status;
        }
        if rec.availability.spaces_left.is_none() {
            rec.availability = old.availability;
        }
    }
}
