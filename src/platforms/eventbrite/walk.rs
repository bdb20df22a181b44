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
use crate::errors::ErrorKind;
use crate::fetch::FetchError;
use crate::model::{Session, Status};
use crate::source::FieldMiss;
use crate::source::{Gathered, Known, LimitHit, WalkError, Walker};
use std::collections::HashSet;

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

/// The Platform API: the organiser's live events, then each event's ticket
/// classes, all within `limits.max_api_calls`.
async fn from_api(
    ebr: &EventbriteConfig,
    org: &str,
    token: &str,
    w: &Walker<'_>,
) -> Result<(Vec<EventRecord>, Option<LimitHit>), WalkError> {
    let mut calls = ApiCalls::new(w, token);
    let (mut records, mut limit) = api_event_list(ebr, org, w, &mut calls).await?;
    for rec in &mut records {
        match ticket_classes(ebr, &rec.event_id, w, &mut calls).await? {
            Tickets::Counted(totals) => apply_ticket_totals(rec, &totals),
            // This event keeps the list's ticket_availability.
            Tickets::Unread(hit) => {
                if let Some(hit) = hit {
                    limit.get_or_insert(hit);
                }
            }
        }
    }
    Ok((records, limit))
}

/// The pages of the API's list of the organiser's events, through the pager;
/// an empty page ends the list whatever its cursor says.
async fn api_event_list(
    ebr: &EventbriteConfig,
    org: &str,
    w: &Walker<'_>,
    calls: &mut ApiCalls<'_, '_>,
) -> Result<(Vec<EventRecord>, Option<LimitHit>), WalkError> {
    let mut records = Vec::new();
    let mut pages = w.pages(api_events_url(&ebr.api_url, org, &PageCursor::First));
    while let Some(url) = pages.next_page() {
        let body = match calls.get(&url).await {
            Ok(body) => body,
            Err(ApiCall::Budget) => return Ok((records, Some(calls.budget_hit()))),
            Err(e) => return Err(e.into_walk(&ebr.token_env)),
        };
        let parsed = parse_api_events(&body, &url, &w.ctx)?;
        listed(w, &url, "API event list", &parsed.entries, org);
        let next = parsed.next.filter(|_| !parsed.entries.is_empty());
        records.extend(parsed.entries);
        pages.go_on(next.map(|c| api_events_url(&ebr.api_url, org, &c)));
    }
    let limit = pages.limit_hit(w, |_| "pages of the API's event list".to_string());
    Ok((records, limit))
}

/// What an event's ticket classes gave.
enum Tickets {
    /// Every page was read: the totals stand for the event.
    Counted(TicketTotals),
    /// Not every page could be read (refused, unreadable, or a limit, which
    /// is given): the list's ticket_availability stands.
    Unread(Option<LimitHit>),
}

/// The pages of one event's ticket classes, through the pager.
async fn ticket_classes(
    ebr: &EventbriteConfig,
    event_id: &str,
    w: &Walker<'_>,
    calls: &mut ApiCalls<'_, '_>,
) -> Result<Tickets, WalkError> {
    let mut totals = TicketTotals::default();
    let first = api_ticket_classes_url(&ebr.api_url, event_id, &PageCursor::First);
    let mut pages = w.pages(first);
    while let Some(url) = pages.next_page() {
        let body = match calls.get(&url).await {
            Ok(body) => body,
            Err(ApiCall::Budget) => return Ok(Tickets::Unread(Some(calls.budget_hit()))),
            // Another organiser's ticket classes may be refused: fall back to
            // the list's ticket_availability. A refused token stops the crawl.
            Err(e) if !e.is_fatal() => {
                tracing::info!(source = %w.source.id, event = %event_id, reason = %e.into_walk(&ebr.token_env), "ticket classes unavailable; using ticket_availability");
                return Ok(Tickets::Unread(None));
            }
            Err(e) => return Err(e.into_walk(&ebr.token_env)),
        };
        match parse_ticket_classes(&body, &url) {
            Ok(p) => {
                w.ctx.probe.read(&url, "ticket classes", None, &[]);
                totals = totals.merge(p.totals);
                pages.go_on(
                    p.next
                        .map(|n| api_ticket_classes_url(&ebr.api_url, event_id, &n)),
                );
            }
            Err(e) => {
                tracing::warn!(source = %w.source.id, error = %e, "unreadable ticket classes; using ticket_availability");
                return Ok(Tickets::Unread(None));
            }
        }
    }
    let what = |_: &url::Url| format!("pages of the ticket classes of event {event_id}");
    Ok(match pages.limit_hit(w, what) {
        Some(hit) => Tickets::Unread(Some(hit)),
        None => Tickets::Counted(totals),
    })
}

/// The API calls one crawl may make (`limits.max_api_calls`), with the token.
struct ApiCalls<'w, 'a> {
    w: &'w Walker<'a>,
    auth: [(&'static str, String); 1],
    made: usize,
}

impl<'w, 'a> ApiCalls<'w, 'a> {
    fn new(w: &'w Walker<'a>, token: &str) -> Self {
        ApiCalls {
            w,
            auth: [("Authorization", format!("Bearer {token}"))],
            made: 0,
        }
    }

    /// One call's body; once the budget is spent, every call is refused.
    async fn get(&mut self, url: &url::Url) -> Result<Vec<u8>, ApiCall> {
        self.made += 1;
        if self.made > self.w.source.limits.max_api_calls {
            return Err(ApiCall::Budget);
        }
        let page = self.w.get_api(url, &self.auth).await;
        page.map(|p| p.body).map_err(ApiCall::Fetch)
    }

    fn budget_hit(&self) -> LimitHit {
        let max = self.w.source.limits.max_api_calls;
        self.w.limit_hit("max_api_calls", max, "API calls")
    }
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
    let (mut records, mut limit) = showmore_list(org, w).await?;
    if let Some(hit) = read_event_pages(&mut records, w).await? {
        limit.get_or_insert(hit);
    }
    Ok((records, limit))
}

/// The organiser's "show more" pages, through the pager; a page that adds
/// no new event ends the list even if it claims more.
async fn showmore_list(
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
        let more = parsed.has_next_page && records.len() > before;
        let next = u32::try_from(pages.pages_read() + 1).unwrap_or(u32::MAX);
        pages.go_on(more.then(|| showmore_url(base, org, next)));
    }
    let limit = pages.limit_hit(w, |_| "pages of the organiser's events".to_string());
    Ok((records, limit))
}

/// Reads each event's page for its places, within `limits.max_event_pages`;
/// past the limit an event keeps what the store knew of it.
async fn read_event_pages(
    records: &mut [EventRecord],
    w: &Walker<'_>,
) -> Result<Option<LimitHit>, WalkError> {
    let known = w.known_by(|s| &s.event_id)?;
    let mut budget = w.event_pages("event pages");
    for rec in records.iter_mut() {
        let Some(url) = event_page_url(&w.source.base_url, &rec.url) else {
            tracing::warn!(source = %w.source.id, event = %rec.event_id, url = %rec.url, "event has no usable page address; availability unknown");
            continue;
        };
        if budget.take() {
            read_event_page(w, &url, rec, &known).await?;
        } else {
            keep_known_places(rec, &known);
        }
    }
    Ok(budget.limit_hit(w))
}

/// Reads one event page into its record; a page that cannot be fetched or
/// read keeps the places last known.
async fn read_event_page(
    w: &Walker<'_>,
    url: &url::Url,
    rec: &mut EventRecord,
    known: &Known,
) -> Result<(), WalkError> {
    let page = match w.get(url).await {
        Ok(page) => page,
        Err(e) => {
            tracing::warn!(source = %w.source.id, error = %e, "event page unavailable; keeping the places last known");
            keep_known_places(rec, known);
            return Ok(());
        }
    };
    let page_url = url.clone();
    match w
        .blocking(move || parse_event_page(&page.text(), &page_url))
        .await?
    {
        Ok(facts) => {
            apply_page_facts(rec, &facts);
            probe_event_page(w, url, rec, &facts);
        }
        Err(e) => {
            tracing::warn!(source = %w.source.id, error = %e, "event page unreadable; keeping the places last known");
            keep_known_places(rec, known);
        }
    }
    Ok(())
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
fn probe_event_page(w: &Walker<'_>, url: &url::Url, rec: &EventRecord, facts: &super::PageFacts) {
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
fn keep_known_places(rec: &mut EventRecord, known: &Known) {
    if let Some(old) = known.of(&rec.event_id).first() {
        if rec.status == Status::Scheduled {
            rec.status = old.status;
        }
        if rec.availability.spaces_left.is_none() {
            rec.availability = old.availability;
        }
    }
}
