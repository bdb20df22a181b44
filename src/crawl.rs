//! One crawl of one source: walk its pages through the fetcher, hand them to the
//! source kind's adapter, and merge the result into the store.
//!
//! Owns the order of requests (listing, pager, detail pages, catalogue), which
//! detail pages to refresh, and the rule that a failed crawl changes nothing but
//! health. Parsing lives in `adapters`, network I/O in `fetch`, merging in `store`.

use crate::adapters::{event_booking, eventbrite, SourceContext};
use crate::config::{EventBookingConfig, EventbriteConfig, SourceConfig, SourceKind};
use crate::fetch::{FetchError, Fetcher, SourceFetcher};
use crate::model::{Course, Session, Status};
use crate::store::{MergeReport, Refusal, Store, StoreError};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod ical;
mod schema_org;

/// How one source's crawl ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Merged(MergeReport),
    /// The crawl worked but its result looked broken; nothing was changed.
    Refused(Refusal),
    /// The crawl failed; nothing was changed.
    Failed(String),
    /// The source is not ready to crawl (e.g. an id is missing); not a failure.
    Skipped(String),
    /// The crawl stopped at one of the source's limits: what it read was
    /// merged, nothing was withdrawn, and the limit is this crawl's error.
    Partial(MergeReport, LimitHit),
}

/// A crawl reached one of its source's `[limits]`, so it saw only part of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitHit {
    /// The setting's name under `[limits]`, e.g. `max_pages`.
    pub setting: &'static str,
    /// Its value in force.
    pub value: usize,
    /// What was counted, e.g. `listing pages of /events-list`.
    pub what: String,
    /// The source file to raise it in.
    pub file: std::path::PathBuf,
}

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped at {} {} (limits.{} in {}), so part of the site was not read and nothing was withdrawn; raise the limit if the site really is that large",
            self.value,
            self.what,
            self.setting,
            self.file.display()
        )
    }
}

#[derive(Debug, Clone)]
pub struct CrawlReport {
    pub source: String,
    pub outcome: Outcome,
    /// Pages or entries that could not be read and were skipped.
    pub warnings: usize,
}

impl CrawlReport {
    pub fn failed(&self) -> bool {
        matches!(
            self.outcome,
            Outcome::Refused(_) | Outcome::Failed(_) | Outcome::Partial(..)
        )
    }

    /// One line for `events crawl`.
    pub fn line(&self) -> String {
        match &self.outcome {
            Outcome::Merged(m) => format!(
                "{}: {} sessions found, {} new, {} changed, {} withdrawn, {} error{}",
                self.source,
                m.found,
                m.new,
                m.changed,
                m.withdrawn,
                self.warnings,
                if self.warnings == 1 { "" } else { "s" }
            ),
            Outcome::Partial(m, limit) => format!(
                "{}: INCOMPLETE: {} sessions found, {} new, {} changed, 0 withdrawn, {} error{}: {limit}",
                self.source,
                m.found,
                m.new,
                m.changed,
                self.warnings + 1,
                if self.warnings == 0 { "" } else { "s" }
            ),
            Outcome::Refused(r) => format!("{}: FAILED: {r}", self.source),
            Outcome::Failed(e) => format!("{}: FAILED: {e}", self.source),
            Outcome::Skipped(why) => format!("{}: skipped: {why}", self.source),
        }
    }
}

/// Hears about a crawl as it goes, for a progress display; all methods optional.
pub trait Observer: Send + Sync {
    fn started(&self, _source: &str) {}
    fn page(&self, _source: &str, _url: &url::Url) {}
    fn finished(&self, _report: &CrawlReport) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// A source's fetcher that tells the observer about each request.
struct Observed<'a> {
    http: SourceFetcher,
    observer: &'a dyn Observer,
    source: &'a str,
}

impl Observed<'_> {
    async fn get(&self, url: &url::Url) -> Result<crate::fetch::Fetched, FetchError> {
        self.observer.page(self.source, url);
        self.http.get(url).await
    }

    async fn get_api(
        &self,
        url: &url::Url,
        headers: &[(&str, String)],
    ) -> Result<crate::fetch::Fetched, FetchError> {
        self.observer.page(self.source, url);
        self.http.get_api(url, headers).await
    }

    fn cached(&self, url: &url::Url) -> Option<Vec<u8>> {
        self.http.cached(url)
    }

    fn counters(&self) -> &crate::fetch::Counters {
        self.http.counters()
    }
}

/// What an adapter walk produced before merging.
struct Gathered {
    sessions: Vec<Session>,
    courses: Option<Vec<Course>>,
    /// Set when the walk stopped at a limit: `sessions` is only part of the site.
    limit: Option<LimitHit>,
}

impl SourceConfig {
    fn limit_hit(&self, setting: &'static str, value: usize, what: impl Into<String>) -> LimitHit {
        LimitHit {
            setting,
            value,
            what: what.into(),
            file: self.file.clone(),
        }
    }
}

tokio::task_local! {
    /// Warnings logged by the crawl running in this task (see `CountWarnings`).
    static WARNINGS: Arc<AtomicUsize>;
}

/// A tracing layer that counts the warnings each crawl logs (skipped rows,
/// unreadable pages), so `events crawl` can report them per source. Adapters
/// just log; the count follows the task that runs the crawl.
pub struct CountWarnings;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountWarnings {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if *event.metadata().level() == tracing::Level::WARN {
            let _ = WARNINGS.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
        }
    }
}

enum WalkError {
    Skip(String),
    Fail(String),
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalkError::Skip(m) | WalkError::Fail(m) => f.write_str(m),
        }
    }
}

impl From<FetchError> for WalkError {
    fn from(e: FetchError) -> Self {
        WalkError::Fail(e.to_string())
    }
}

impl From<StoreError> for WalkError {
    fn from(e: StoreError) -> Self {
        WalkError::Fail(e.to_string())
    }
}

/// Crawls every source once, concurrently (each host keeps its own spacing).
pub async fn crawl_all(
    sources: &[SourceConfig],
    fetcher: &Arc<Fetcher>,
    store: &Store,
    now: DateTime<Utc>,
    observer: Arc<dyn Observer>,
) -> Vec<CrawlReport> {
    let mut set = tokio::task::JoinSet::new();
    for (i, cfg) in sources.iter().enumerate() {
        let cfg = cfg.clone();
        let fetcher = fetcher.clone();
        let store = store.clone();
        let observer = observer.clone();
        set.spawn(async move {
            observer.started(&cfg.id);
            let report = crawl_source(&cfg, &fetcher, &store, now, observer.as_ref()).await;
            observer.finished(&report);
            (i, report)
        });
    }
    let mut out: Vec<(usize, CrawlReport)> = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(x) => out.push(x),
            Err(e) => tracing::error!(error = %e, "a crawl task ended abnormally"),
        }
    }
    out.sort_by_key(|(i, _)| *i);
    match fetcher.prune_cache() {
        Ok(p) if p.entries > 0 => {
            tracing::info!(
                entries = p.entries,
                bytes = p.bytes,
                "pruned kept pages no crawl has used for a month"
            );
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not prune the kept pages"),
    }
    out.into_iter().map(|(_, r)| r).collect()
}

/// Crawls one source and merges the result; never panics on what the site sends.
pub async fn crawl_source(
    cfg: &SourceConfig,
    fetcher: &Arc<Fetcher>,
    store: &Store,
    now: DateTime<Utc>,
    observer: &dyn Observer,
) -> CrawlReport {
    let report = crawl_and_merge(cfg, fetcher, store, now, observer).await;
    // A crawl parses thousands of pages into short-lived blocks; a server that
    // crawls every half hour should not keep them.
    crate::memory::give_back();
    report
}

async fn crawl_and_merge(
    cfg: &SourceConfig,
    fetcher: &Arc<Fetcher>,
    store: &Store,
    now: DateTime<Utc>,
    observer: &dyn Observer,
) -> CrawlReport {
    let max_body = usize::try_from(cfg.limits.max_body_bytes.as_u64()).unwrap_or(usize::MAX);
    let http = fetcher
        .for_source(cfg.requests_per_second)
        .with_max_body(max_body);
    let http = Observed {
        http,
        observer,
        source: &cfg.id,
    };
    let ctx = SourceContext {
        source_id: cfg.id.clone(),
        timezone: cfg.timezone,
        now,
    };
    let counter = Arc::new(AtomicUsize::new(0));
    let walked = WARNINGS
        .scope(counter.clone(), async {
            match &cfg.kind {
                SourceKind::EventBooking(eb) => {
                    walk_event_booking(cfg, eb, &http, store, &ctx).await
                }
                SourceKind::Eventbrite(ebr) => walk_eventbrite(cfg, ebr, &http, store, &ctx).await,
                SourceKind::Ical(ic) => ical::walk(cfg, ic, &http, &ctx).await,
                SourceKind::SchemaOrg(so) => schema_org::walk(cfg, so, &http, store, &ctx).await,
            }
        })
        .await;
    let warnings = counter.load(Ordering::Relaxed);
    let stats = http.counters().snapshot();
    let report = |outcome, warnings| CrawlReport {
        source: cfg.id.clone(),
        outcome,
        warnings,
    };
    match walked {
        Err(WalkError::Skip(why)) => report(Outcome::Skipped(why), 0),
        Err(WalkError::Fail(msg)) => {
            tracing::warn!(source = %cfg.id, error = %msg, "crawl failed; previous data kept");
            if let Err(e) = store.record_failure(&cfg.id, now, &msg, stats) {
                tracing::error!(source = %cfg.id, error = %e, "could not record the failure");
            }
            report(Outcome::Failed(msg), 0)
        }
        Ok(mut g) => {
            let max = cfg.limits.max_sessions;
            if g.sessions.len() > max {
                g.sessions.truncate(max);
                g.limit
                    .get_or_insert_with(|| cfg.limit_hit("max_sessions", max, "sessions"));
            }
            if let Some(limit) = g.limit {
                tracing::error!(source = %cfg.id, error = %limit, "crawl incomplete");
                let msg = limit.to_string();
                return match store.apply_partial_crawl(&cfg.id, g.sessions, now, stats, &msg) {
                    Ok(Ok(m)) => report(Outcome::Partial(m, limit), warnings),
                    Ok(Err(refusal)) => {
                        tracing::warn!(source = %cfg.id, reason = %refusal, "crawl result refused");
                        report(Outcome::Refused(refusal), warnings)
                    }
                    Err(e) => report(Outcome::Failed(e.to_string()), warnings),
                };
            }
            match store.apply_crawl(&cfg.id, g.sessions, g.courses, now, cfg.min_fraction, stats) {
                Ok(Ok(m)) => report(Outcome::Merged(m), warnings),
                Ok(Err(refusal)) => {
                    tracing::warn!(source = %cfg.id, reason = %refusal, "crawl result refused");
                    report(Outcome::Refused(refusal), warnings)
                }
                Err(e) => report(Outcome::Failed(e.to_string()), warnings),
            }
        }
    }
}

/// Detail pages whose listing entry is unchanged are re-read from the stored body
/// and fetched again only this often.
fn detail_refresh(cfg: &SourceConfig) -> ChronoDuration {
    let poll = ChronoDuration::from_std(cfg.poll_interval).unwrap_or(ChronoDuration::minutes(30));
    (poll * 12).max(ChronoDuration::hours(6))
}

async fn walk_event_booking(
    cfg: &SourceConfig,
    eb: &EventBookingConfig,
    http: &Observed<'_>,
    store: &Store,
    ctx: &SourceContext,
) -> Result<Gathered, WalkError> {
    let categories: Vec<Option<u32>> = if eb.categories.is_empty() {
        vec![None]
    } else {
        eb.categories.iter().copied().map(Some).collect()
    };
    let mut entries: BTreeMap<String, event_booking::ListingEntry> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut limit = None;
    let max_pages = cfg.limits.max_pages;
    for cat in categories {
        let mut url = event_booking::listing_url(&cfg.base_url, eb, cat);
        let mut visited = HashSet::new();
        for pages in 0.. {
            if !visited.insert(url.clone()) {
                break;
            }
            if pages == max_pages {
                limit = Some(cfg.limit_hit(
                    "max_pages",
                    max_pages,
                    format!("listing pages of {}", url.path()),
                ));
                break;
            }
            let page = http.get(&url).await?;
            let listing = event_booking::parse_listing(&page.text(), &url, eb, ctx)
                .map_err(|e| WalkError::Fail(e.to_string()))?;
            for e in listing.entries {
                if !entries.contains_key(&e.event_id) {
                    order.push(e.event_id.clone());
                    entries.insert(e.event_id.clone(), e);
                }
            }
            match listing.next {
                Some(next) => url = next,
                None => break,
            }
        }
    }

    // What the store knows of each event: reused for an unchanged listing
    // entry, and kept when a detail page cannot be read.
    let stored = store.source_sessions(&cfg.id)?;
    let mut known: HashMap<&str, Vec<&Session>> = HashMap::new();
    for s in &stored {
        if s.session.status != Status::Withdrawn {
            known
                .entry(s.session.event_id.as_str())
                .or_default()
                .push(&s.session);
        }
    }
    let refresh = detail_refresh(cfg);
    let merged_until = store.health(&cfg.id)?.last_success;
    let mut sessions = Vec::new();
    for id in &order {
        let entry = &entries[id];
        let note_key = format!("detail:{id}");
        let note = store.note(&cfg.id, &note_key)?;
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
        let cached = if unchanged {
            http.cached(&entry.url)
        } else {
            None
        };
        let body = if let Some(c) = cached {
            Some(String::from_utf8_lossy(&c).into_owned())
        } else {
            match http.get(&entry.url).await {
                Ok(f) => {
                    store.set_note(
                        &cfg.id,
                        &note_key,
                        &format!("{}\t{}", ctx.now.to_rfc3339(), entry.fingerprint),
                    )?;
                    Some(f.text())
                }
                Err(e) => {
                    tracing::warn!(source = %cfg.id, url = %entry.url, error = %e, "detail page unavailable; keeping what is known of the event");
                    None
                }
            }
        };
        let parsed = body.and_then(|b| match event_booking::parse_detail(&b, &entry.url, eb, ctx) {
            Ok(s) if !s.is_empty() => Some(s),
            Ok(_) => {
                tracing::warn!(source = %cfg.id, url = %entry.url, "detail page has no readable session; using the listing entry");
                None
            }
            Err(e) => {
                tracing::warn!(source = %cfg.id, error = %e, "detail page unreadable; using the listing entry");
                None
            }
        });
        match parsed {
            Some(mut s) => sessions.append(&mut s),
            None => {
                // Keep what the store knows of this event, else what the listing says.
                match known.get(id.as_str()) {
                    Some(k) => sessions.extend(k.iter().map(|s| (*s).clone())),
                    None => match &entry.session {
                        Some(s) => sessions.push(s.clone()),
                        None => {
                            tracing::warn!(source = %cfg.id, url = %entry.url, "no session could be read for this event; left out");
                        }
                    },
                }
            }
        }
    }

    let courses = if eb.elearning.is_empty() {
        None
    } else {
        match walk_elearning(cfg, eb, http, ctx).await {
            Ok(Ok(c)) => Some(c),
            Ok(Err(hit)) => {
                // Keep the stored catalogue rather than replace it with part of it.
                limit.get_or_insert(hit);
                None
            }
            Err(e) => {
                tracing::warn!(source = %cfg.id, error = %e, "eLearning catalogue unavailable; keeping the stored one");
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

async fn walk_elearning(
    cfg: &SourceConfig,
    eb: &EventBookingConfig,
    http: &Observed<'_>,
    ctx: &SourceContext,
) -> Result<Result<Vec<Course>, LimitHit>, String> {
    let mut url = cfg
        .base_url
        .join(&eb.elearning)
        .map_err(|e| e.to_string())?;
    let mut visited = HashSet::new();
    let mut out = Vec::new();
    for pages in 0.. {
        if !visited.insert(url.clone()) {
            break;
        }
        if pages == cfg.limits.max_pages {
            return Ok(Err(cfg.limit_hit(
                "max_pages",
                pages,
                format!("catalogue pages of {}", url.path()),
            )));
        }
        let page = http.get(&url).await.map_err(|e| e.to_string())?;
        let (mut courses, next) = event_booking::parse_elearning(&page.text(), &url, eb, ctx)
            .map_err(|e| e.to_string())?;
        out.append(&mut courses);
        match next {
            Some(n) => url = n,
            None => break,
        }
    }
    Ok(Ok(out))
}

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

async fn walk_eventbrite(
    cfg: &SourceConfig,
    ebr: &EventbriteConfig,
    http: &Observed<'_>,
    store: &Store,
    ctx: &SourceContext,
) -> Result<Gathered, WalkError> {
    let Some(org) = &ebr.organizer_id else {
        return Err(WalkError::Skip(format!(
            "no organizer_id in {}: open the organiser's page on Eventbrite and copy the digits at the end of its address (…/o/name-12345678901)",
            cfg.file.display()
        )));
    };
    let token = std::env::var(&ebr.token_env)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let (records, limit) = match token {
        Some(token) => eventbrite_api(cfg, ebr, org, &token, http, ctx).await?,
        None => eventbrite_public(cfg, org, http, store, ctx).await?,
    };
    Ok(Gathered {
        sessions: records.into_iter().map(|r| r.into_session(ctx)).collect(),
        courses: None,
        limit,
    })
}

/// The Platform API: the organiser's live events, then each event's ticket classes.
async fn eventbrite_api(
    cfg: &SourceConfig,
    ebr: &EventbriteConfig,
    org: &str,
    token: &str,
    http: &Observed<'_>,
    ctx: &SourceContext,
) -> Result<(Vec<eventbrite::EventRecord>, Option<LimitHit>), WalkError> {
    let auth = [("Authorization", format!("Bearer {token}"))];
    let max_calls = cfg.limits.max_api_calls;
    let budget_hit = || cfg.limit_hit("max_api_calls", max_calls, "API calls");
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
            http.get_api(&url, auth).await.map_err(ApiCall::Fetch)
        }
    };
    let mut records = Vec::new();
    let mut cursor = eventbrite::PageCursor::First;
    let mut seen_cursors = HashSet::new();
    loop {
        let url = eventbrite::api_events_url(&ebr.api_url, org, &cursor);
        let page = match call(url.clone()).await {
            Ok(page) => page,
            Err(ApiCall::Budget) => {
                limit = Some(budget_hit());
                break;
            }
            Err(e) => return Err(e.into_walk(&ebr.token_env)),
        };
        let parsed = eventbrite::parse_api_events(&page.body, &url, ctx)
            .map_err(|e| WalkError::Fail(e.to_string()))?;
        let empty = parsed.events.is_empty();
        records.extend(parsed.events);
        match parsed.next {
            Some(next) if !empty && seen_cursors.insert(format!("{next:?}")) => cursor = next,
            _ => break,
        }
    }
    for rec in &mut records {
        let mut totals = eventbrite::TicketTotals::default();
        let mut cursor = eventbrite::PageCursor::First;
        let mut refused = true;
        for _ in 0..cfg.limits.max_pages {
            let url = eventbrite::api_ticket_classes_url(&ebr.api_url, &rec.event_id, &cursor);
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
                    tracing::info!(source = %cfg.id, event = %rec.event_id, reason = %e.into_walk(&ebr.token_env), "ticket classes unavailable; using ticket_availability");
                    break;
                }
                Err(e) => return Err(e.into_walk(&ebr.token_env)),
            };
            match eventbrite::parse_ticket_classes(&body, &url) {
                Ok(p) => {
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
                    tracing::warn!(source = %cfg.id, error = %e, "unreadable ticket classes; using ticket_availability");
                    break;
                }
            }
        }
        if !refused {
            eventbrite::apply_ticket_totals(rec, &totals);
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
                eventbrite::parse_api_error(*status, body).kind == eventbrite::ApiErrorKind::Auth
            }
            ApiCall::Fetch(_) => false,
        }
    }

    fn into_walk(self, token_env: &str) -> WalkError {
        match self {
            ApiCall::Budget => WalkError::Fail("out of API calls for this crawl".into()),
            ApiCall::Fetch(FetchError::Status {
                url, status, body, ..
            }) => {
                let api = eventbrite::parse_api_error(status, &body);
                if api.kind == eventbrite::ApiErrorKind::Auth {
                    WalkError::Fail(format!("the token in {token_env} was refused ({api})"))
                } else {
                    WalkError::Fail(format!("{url}: {api}"))
                }
            }
            ApiCall::Fetch(e) => WalkError::Fail(e.to_string()),
        }
    }
}

/// The public site: the organiser's "show more" pages, then each event page.
async fn eventbrite_public(
    cfg: &SourceConfig,
    org: &str,
    http: &Observed<'_>,
    store: &Store,
    ctx: &SourceContext,
) -> Result<(Vec<eventbrite::EventRecord>, Option<LimitHit>), WalkError> {
    let mut records: Vec<eventbrite::EventRecord> = Vec::new();
    let mut ids = HashSet::new();
    let mut limit = None;
    let max_pages = cfg.limits.max_pages;
    for page in 1.. {
        if page > max_pages {
            limit = Some(cfg.limit_hit("max_pages", max_pages, "pages of the organiser's events"));
            break;
        }
        let url =
            eventbrite::showmore_url(&cfg.base_url, org, u32::try_from(page).unwrap_or(u32::MAX));
        let body = http.get(&url).await?;
        let parsed = eventbrite::parse_showmore(&body.body, &url, ctx)
            .map_err(|e| WalkError::Fail(e.to_string()))?;
        let before = records.len();
        for r in parsed.events {
            if ids.insert(r.event_id.clone()) {
                records.push(r);
            }
        }
        // A page that adds nothing new ends the walk even if it claims more.
        if !parsed.has_next_page || records.len() == before {
            break;
        }
    }
    // What the store knows, for events whose page cannot be read this time.
    let known: HashMap<String, Session> = store
        .source_sessions(&cfg.id)?
        .into_iter()
        .map(|s| (s.session.event_id.clone(), s.session))
        .collect();
    for rec in &mut records {
        let Some(url) = eventbrite::event_page_url(&cfg.base_url, &rec.url) else {
            tracing::warn!(source = %cfg.id, event = %rec.event_id, url = %rec.url, "event has no usable page address; availability unknown");
            continue;
        };
        match http.get(&url).await {
            Ok(page) => match eventbrite::parse_event_page(&page.text(), &url) {
                Ok(facts) => eventbrite::apply_page_facts(rec, &facts),
                Err(e) => {
                    tracing::warn!(source = %cfg.id, error = %e, "event page unreadable; keeping the places last known");
                    keep_known_places(rec, &known);
                }
            },
            Err(e) => {
                tracing::warn!(source = %cfg.id, error = %e, "event page unavailable; keeping the places last known");
                keep_known_places(rec, &known);
            }
        }
    }
    Ok((records, limit))
}

/// A page that could not be read says nothing new: keep the places (and a
/// sold-out or cancelled state) the store already has, rather than "unknown".
fn keep_known_places(rec: &mut eventbrite::EventRecord, known: &HashMap<String, Session>) {
    if let Some(old) = known.get(&rec.event_id) {
        if rec.status == Status::Scheduled && old.status != Status::Withdrawn {
            rec.status = old.status;
        }
        if rec.availability.spaces_left.is_none() {
            rec.availability = old.availability;
        }
    }
}
