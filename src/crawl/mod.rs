//! The generic crawl: one crawl of one source walks it through its kind's
//! `walk` (given a `Walker`, from `source`), then applies the limits, the outage guard and
//! the merge into the store, and records health; plus the schedule `serve`
//! crawls on (`schedule`).
//!
//! Knows no platform: the order of requests and the parsing of pages belong to
//! each kind in `platforms`, network I/O to `fetch`, merging to `store`. Owns
//! the rule that a failed crawl changes nothing but health, and that a crawl
//! stopped at a limit withdraws nothing; the crawl's deadline
//! (`limits.max_crawl_time`); and where the heavy work runs: parsing and the
//! store merge go to blocking threads, at most [`MAX_BLOCKING_WORK`] at once,
//! so the async workers stay free to answer `serve`'s requests.

pub mod schedule;

use crate::source::walker::{on_blocking_thread, WARNINGS};
pub use crate::source::walker::{CountWarnings, MAX_BLOCKING_WORK};
pub use crate::source::{CrawlError, Gathered, LimitHit, WalkError, Walker};

use crate::errors::ErrorKind;
use crate::fetch::Fetcher;
use crate::source::SourceConfig;
use crate::source::SourceContext;
use crate::store::{CrawlStats, MergeReport, Refusal, Store, StoreError};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How one source's crawl ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The whole site was read and merged into the store: what was new,
    /// changed and withdrawn.
    Merged(MergeReport),
    /// The crawl worked but its result looked broken; nothing was changed.
    Refused(Refusal),
    /// The crawl failed; nothing was changed.
    Failed(CrawlError),
    /// The source is not ready to crawl (e.g. an id is missing); not a failure.
    Skipped(String),
    /// The crawl stopped at one of the source's limits: what it read was
    /// merged, nothing was withdrawn, and the limit is this crawl's error.
    Partial(MergeReport, LimitHit),
}

impl Outcome {
    /// The kind of error this crawl ended with (kept in health as
    /// `last_error_kind`); `None` when it merged whole or was skipped.
    pub fn error_kind(&self) -> Option<ErrorKind> {
        match self {
            Outcome::Merged(_) | Outcome::Skipped(_) => None,
            Outcome::Refused(_) => Some(ErrorKind::Refused),
            Outcome::Failed(e) => Some(e.kind()),
            Outcome::Partial(..) => Some(ErrorKind::Limit),
        }
    }
}

/// What one crawl of one source did: the line `events crawl` prints and the
/// log's summary.
#[derive(Debug, Clone)]
pub struct CrawlReport {
    /// The source's id.
    pub source: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Pages or entries that could not be read and were skipped.
    pub warnings: usize,
    /// The crawl's network counters (zero when it never reached the network).
    pub stats: CrawlStats,
    /// How long the crawl took, from its start to its merge (or failure).
    pub elapsed: std::time::Duration,
    /// The `[limits]` setting the crawl stopped at, if any: that of a
    /// `Partial` outcome (even one then refused), or `max_crawl_time` for a
    /// crawl that ran out of time and failed.
    pub stopped_at: Option<&'static str>,
    /// Responses refused for passing `limits.max_body_bytes` (each one a
    /// page skipped or the crawl failed, as its kind decides).
    pub oversized_bodies: u64,
}

impl CrawlReport {
    /// True when the crawl counts as failed (refused, failed, or stopped at a
    /// limit); a skipped source is not a failure.
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
    /// The crawl of `source` (its id) begins.
    fn started(&self, _source: &str) {}
    /// `url` is about to be fetched (a page or an API call).
    fn page(&self, _source: &str, _url: &url::Url) {}
    /// The crawl of `report.source` has ended, however it ended.
    fn finished(&self, _report: &CrawlReport) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl Observer for Quiet {}

/// The longest a store merge may take before the crawl gives up waiting for
/// it: a merge of 100,000 sessions takes well under a minute, and sled can
/// wait forever in its log flush when the disk fills mid-merge.
pub const MERGE_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// Runs a merge on a blocking thread, waiting at most [`MERGE_WAIT`] for it;
/// past that the crawl fails with a sentence (the merge is one transaction, so
/// a merge that never ends changes nothing).
async fn bounded_merge<T: Send + 'static>(
    merge: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::time::timeout(MERGE_WAIT, on_blocking_thread(None, merge)).await {
        Ok(r) => r,
        Err(_) => Err(StoreError::Stalled {
            secs: MERGE_WAIT.as_secs(),
        }),
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
    // Kept pages are stamped with the system clock, whatever `now` is.
    schedule::prune_kept_pages(fetcher, Utc::now());
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
    let started = std::time::Instant::now();
    let mut report = crawl_and_merge(cfg, fetcher, store, now, observer).await;
    report.elapsed = started.elapsed();
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
    let report = |outcome, warnings, stats, stopped_at, oversized_bodies| CrawlReport {
        source: cfg.id.clone(),
        outcome,
        warnings,
        stats,
        elapsed: std::time::Duration::ZERO,
        stopped_at,
        oversized_bodies,
    };
    // A full or read-only disk fails the crawl before anything is fetched
    // (fetching keeps pages in the store); its health is written only when
    // the disk has room for it: sled can wait forever on a write the disk
    // cannot take.
    if let Err(e) = store.check_disk() {
        tracing::error!(source = %cfg.id, error = %e, "crawl not started");
        let outcome = disk_refused(cfg, store, now, e, CrawlStats::default());
        return report(outcome, 0, CrawlStats::default(), None, 0);
    }
    let page_hook = |source: &str, url: &url::Url| observer.page(source, url);
    let walker = walker_for(
        cfg,
        fetcher,
        now,
        Default::default(),
        &page_hook,
        Some(store),
    );
    let (walked, out_of_time, warnings) = walk_within_deadline(cfg, &walker).await;
    let stats = walker.http.counters().snapshot();
    let oversized = walker.oversized.load(Ordering::Relaxed);
    let stopped = out_of_time.then_some("max_crawl_time");
    if let Err(e) = store.check_disk() {
        tracing::error!(source = %cfg.id, error = %e, "crawl not merged");
        let outcome = disk_refused(cfg, store, now, e, stats);
        return report(outcome, warnings, stats, stopped, oversized);
    }
    match walked {
        Err(WalkError::Skip(why)) => report(Outcome::Skipped(why), 0, stats, stopped, oversized),
        Err(WalkError::Fail(e)) => {
            let outcome = record_failed(cfg, store, now, e, stats);
            report(outcome, 0, stats, stopped, oversized)
        }
        Ok(g) => {
            let (outcome, at_limit) = merge_gathered(cfg, store, now, g, stats).await;
            report(outcome, warnings, stats, at_limit.or(stopped), oversized)
        }
    }
}

/// Runs the kind's walk within `limits.max_crawl_time`, counting the
/// warnings it logs: what it gathered (nothing when out of time, since it is
/// merged all at once), whether time ran out, and the warnings.
async fn walk_within_deadline(
    cfg: &SourceConfig,
    walker: &Walker<'_>,
) -> (Result<Gathered, WalkError>, bool, usize) {
    let counter = Arc::new(AtomicUsize::new(0));
    let deadline = cfg.limits.max_crawl_time;
    let walk = WARNINGS.scope(counter.clone(), cfg.kind.walk(walker));
    let (walked, out_of_time) = match tokio::time::timeout(deadline, walk).await {
        Ok(w) => (w, false),
        Err(_) => {
            let limit = cfg.limit_hit(
                "max_crawl_time",
                usize::try_from(deadline.as_secs()).unwrap_or(usize::MAX),
                "seconds of crawling",
            );
            (
                Err(WalkError::fail(ErrorKind::Timeout, limit.to_string())),
                true,
            )
        }
    };
    (walked, out_of_time, counter.load(Ordering::Relaxed))
}

/// A crawl the store's disk refused: noted in health only when the disk has
/// room for the note.
fn disk_refused(
    cfg: &SourceConfig,
    store: &Store,
    now: DateTime<Utc>,
    e: StoreError,
    stats: CrawlStats,
) -> Outcome {
    if store.room_for_health() {
        record_failed(cfg, store, now, e.into(), stats)
    } else {
        Outcome::Failed(e.into())
    }
}

/// A failed walk: only the source's health changes.
fn record_failed(
    cfg: &SourceConfig,
    store: &Store,
    now: DateTime<Utc>,
    e: CrawlError,
    stats: CrawlStats,
) -> Outcome {
    let msg = plain_error(&e.to_string());
    tracing::warn!(source = %cfg.id, error = %msg, kind = %e.kind(), "crawl failed; previous data kept");
    if let Err(se) = store.record_failure(&cfg.id, now, e.kind(), &msg, stats) {
        tracing::error!(source = %cfg.id, error = %se, "could not record the failure");
    }
    Outcome::Failed(e)
}

/// Merges what a walk gathered: in part when it stopped at a limit (or has
/// more than `max_sessions`), whole otherwise. Returns the outcome and the
/// limit's setting when one was reached.
async fn merge_gathered(
    cfg: &SourceConfig,
    store: &Store,
    now: DateTime<Utc>,
    mut g: Gathered,
    stats: CrawlStats,
) -> (Outcome, Option<&'static str>) {
    let max = cfg.limits.max_sessions;
    if g.sessions.len() > max {
        g.sessions.truncate(max);
        g.limit
            .get_or_insert_with(|| cfg.limit_hit("max_sessions", max, "sessions"));
    }
    crate::links::admit(cfg, &mut g.sessions);
    let refused = |refusal: Refusal| {
        tracing::warn!(source = %cfg.id, reason = %refusal, "crawl result refused");
        Outcome::Refused(refusal)
    };
    let (store, id) = (store.clone(), cfg.id.clone());
    if let Some(limit) = g.limit {
        tracing::error!(source = %cfg.id, error = %limit, "crawl incomplete");
        let setting = limit.setting;
        let msg = limit.to_string();
        let merged =
            bounded_merge(move || store.apply_partial_crawl(&id, g.sessions, now, stats, &msg))
                .await;
        let outcome = match merged {
            Ok(Ok(m)) => Outcome::Partial(m, limit),
            Ok(Err(refusal)) => refused(refusal),
            Err(e) => Outcome::Failed(e.into()),
        };
        return (outcome, Some(setting));
    }
    let min_fraction = cfg.min_fraction;
    let merged = bounded_merge(move || {
        store.apply_crawl(&id, g.sessions, g.courses, now, min_fraction, stats)
    })
    .await;
    let outcome = match merged {
        Ok(Ok(m)) => Outcome::Merged(m),
        Ok(Err(refusal)) => refused(refusal),
        Err(e) => Outcome::Failed(e.into()),
    };
    (outcome, None)
}

/// Walks `cfg` once as a crawl does (the same fetcher, robots.txt,
/// politeness, limits and deadline) without a store: nothing is read from or
/// written to one, and every page is reported to `probe`. `events check`'s walk.
pub async fn dry_walk(
    cfg: &SourceConfig,
    fetcher: &Arc<Fetcher>,
    now: DateTime<Utc>,
    probe: crate::source::Probe,
) -> Result<Gathered, WalkError> {
    let walker = walker_for(cfg, fetcher, now, probe, &|_: &str, _: &url::Url| {}, None);
    let deadline = cfg.limits.max_crawl_time;
    let walk = WARNINGS.scope(Arc::new(AtomicUsize::new(0)), cfg.kind.walk(&walker));
    match tokio::time::timeout(deadline, walk).await {
        Ok(w) => w,
        Err(_) => Err(WalkError::fail(
            ErrorKind::Timeout,
            cfg.limit_hit(
                "max_crawl_time",
                usize::try_from(deadline.as_secs()).unwrap_or(usize::MAX),
                "seconds of crawling",
            )
            .to_string(),
        )),
    }
}

/// The walker one walk of `cfg` reads the site through: its own fetcher
/// (its spacing, its `max_body_bytes`), its clock and probe, and the store
/// (`None` in a dry run).
fn walker_for<'a>(
    cfg: &'a SourceConfig,
    fetcher: &Arc<Fetcher>,
    now: DateTime<Utc>,
    probe: crate::source::Probe,
    page_hook: crate::source::walker::PageHook<'a>,
    store: Option<&'a Store>,
) -> Walker<'a> {
    let max_body = usize::try_from(cfg.limits.max_body_bytes.as_u64()).unwrap_or(usize::MAX);
    Walker {
        source: cfg,
        ctx: SourceContext {
            source_id: cfg.id.clone(),
            timezone: cfg.timezone,
            now,
            probe,
        },
        http: fetcher
            .for_source(cfg.requests_per_second)
            .with_max_body(max_body),
        page_hook,
        store,
        oversized: std::sync::atomic::AtomicU64::new(0),
    }
}

/// A failed crawl's sentence is kept as the source's `last_error` and logged:
/// at most this many characters of it.
pub const MAX_ERROR_CHARS: usize = 600;

/// A failure's sentence made safe for the log, the store and the health list:
/// control characters (a site's NULs, escape sequences, line breaks) become
/// U+FFFD, and the sentence is cut at [`MAX_ERROR_CHARS`].
pub fn plain_error(msg: &str) -> String {
    let mut out: String = msg
        .chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .take(MAX_ERROR_CHARS)
        .collect();
    if msg.chars().count() > MAX_ERROR_CHARS {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_text_holds_no_control_characters_and_is_bounded() {
        let e = plain_error("https://x.example/a.ics: not an iCalendar feed\0\0\u{1b}[31m");
        assert!(!e.chars().any(char::is_control), "{e:?}");
        assert!(e.starts_with("https://x.example/a.ics: not an iCalendar feed"));
        let long = plain_error(&"x".repeat(10_000));
        assert_eq!(long.chars().count(), MAX_ERROR_CHARS + 1);
    }
}
