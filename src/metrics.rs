//! What `events serve` counts for its operator, served at `/metrics` in the
//! Prometheus text format (version 0.0.4). Owns the registry, every metric's
//! name and meaning, and the fixed sets its labels come from.
//!
//! Built on `prometheus-client`, the Prometheus project's own Rust client:
//! it writes the exposition format (escaping, `_total` suffixes, histogram
//! buckets), is kept up by the people who define that format, and needs no
//! global registry or macros, so each server owns its own.
//!
//! Labels are bounded: `source` is a source id (from the configuration and
//! the store, never from a request), `outcome`, `setting`, `route` and
//! `view` come from the enums here, and `status` is a numeric HTTP status. Nothing a
//! client sends (a path, a query string, a header) ever becomes a label
//! value: a path no route knows counts as route `other`.
//!
//! Crawls are recorded through `crawl::Observer` ([`Recorder`]), so `crawl`
//! knows nothing of metrics or the server. The server records requests, view
//! cache hits and misses and renders as they happen, and on each scrape hands
//! over what it reads then ([`Metrics::encode`]: the view cache's bytes and
//! each source's health from the store, so the last success and session count
//! are right from the start, also after a restart).
//!
//! Does not own the `/metrics` route or which request is which route
//! (`server`), what a crawl does (`crawl`), or the health it reads (`store`).

use crate::crawl::{CrawlReport, Observer, Outcome};
use crate::store::SourceHealth;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

/// The `Content-Type` of what [`Metrics::encode`] writes.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Upper bounds, in seconds, of the crawl duration histogram's buckets: from
/// a loopback replica (well under a second) to a national site at its polite
/// rate (an hour and more; `max_crawl_time` is 2 h by default).
pub const CRAWL_DURATION_BUCKETS: [f64; 10] = [
    0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0,
];

/// The settings under a source's `[limits]` a crawl can stop at, as they are
/// spelt there: the values of the `setting` label.
pub const LIMIT_SETTINGS: [&str; 6] = [
    "max_pages",
    "max_api_calls",
    "max_body_bytes",
    "max_sessions",
    "max_event_pages",
    "max_crawl_time",
];

/// How a crawl ended, as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrawlOutcome {
    /// Read whole and merged.
    Merged,
    /// Stopped at a limit; what was read was merged.
    Partial,
    /// Its result looked broken and was not applied.
    Refused,
    /// It failed; nothing changed but health.
    Failed,
    /// The source was not ready to crawl.
    Skipped,
}

impl CrawlOutcome {
    /// Every outcome, in the order they are listed.
    pub const ALL: [CrawlOutcome; 5] = [
        CrawlOutcome::Merged,
        CrawlOutcome::Partial,
        CrawlOutcome::Refused,
        CrawlOutcome::Failed,
        CrawlOutcome::Skipped,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CrawlOutcome::Merged => "merged",
            CrawlOutcome::Partial => "partial",
            CrawlOutcome::Refused => "refused",
            CrawlOutcome::Failed => "failed",
            CrawlOutcome::Skipped => "skipped",
        }
    }

    /// The outcome of a crawl's report.
    pub fn of(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Merged(_) => CrawlOutcome::Merged,
            Outcome::Partial(..) => CrawlOutcome::Partial,
            Outcome::Refused(_) => CrawlOutcome::Refused,
            Outcome::Failed(_) => CrawlOutcome::Failed,
            Outcome::Skipped(_) => CrawlOutcome::Skipped,
        }
    }
}

impl EncodeLabelValue for CrawlOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// Which view a request was answered with from the view cache, or not: the
/// `view` label of `events_view_cache_hits_total` and
/// `events_view_cache_misses_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CachedView {
    /// A calendar feed (`/calendar.ics` and its pretty paths).
    Feed = 0,
    /// A part of the page at `/`.
    Page,
    /// A part of `/api/sessions`.
    Sessions,
}

impl CachedView {
    /// Every view, in the order they are listed.
    pub const ALL: [CachedView; 3] = [CachedView::Feed, CachedView::Page, CachedView::Sessions];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            CachedView::Feed => "feed",
            CachedView::Page => "page",
            CachedView::Sessions => "sessions",
        }
    }
}

impl EncodeLabelValue for CachedView {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

/// Which of the server's routes a request went to: the `route` label, a
/// route's template, never the path asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `/`, the page.
    Index,
    /// `/calendar.ics`.
    Calendar,
    /// `/calendar/{source}.ics`.
    CalendarSource,
    /// `/calendar/category/{category}.ics`.
    CalendarCategory,
    /// `/changes.atom`.
    ChangesAtom,
    /// `/api/sessions`.
    ApiSessions,
    /// `/api/sources`.
    ApiSources,
    /// `/api/changes`.
    ApiChanges,
    /// `/api/courses`.
    ApiCourses,
    /// `/api/duplicates`.
    ApiDuplicates,
    /// `/backup`, for `events backup` beside a running server.
    Backup,
    /// `/healthz`.
    Healthz,
    /// `/metrics`.
    Metrics,
    /// Any path no route serves.
    Other,
}

impl Route {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Route::Index => "/",
            Route::Calendar => "/calendar.ics",
            Route::CalendarSource => "/calendar/{source}.ics",
            Route::CalendarCategory => "/calendar/category/{category}.ics",
            Route::ChangesAtom => "/changes.atom",
            Route::ApiSessions => "/api/sessions",
            Route::ApiSources => "/api/sources",
            Route::ApiChanges => "/api/changes",
            Route::ApiCourses => "/api/courses",
            Route::ApiDuplicates => "/api/duplicates",
            Route::Backup => "/backup",
            Route::Healthz => "/healthz",
            Route::Metrics => "/metrics",
            Route::Other => "other",
        }
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct SourceLabel {
    source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct CrawlLabels {
    source: String,
    outcome: CrawlOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct LimitLabels {
    source: String,
    setting: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ErrorLabels {
    source: String,
    kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ViewLabel {
    view: CachedView,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    route: Route,
    status: u16,
}

type HistogramFamily = Family<SourceLabel, Histogram, fn() -> Histogram>;

fn crawl_histogram() -> Histogram {
    Histogram::new(CRAWL_DURATION_BUCKETS)
}

/// Every metric of one server, and the registry they are written from.
pub struct Metrics {
    registry: Registry,
    crawls: Family<CrawlLabels, Counter>,
    crawl_duration: HistogramFamily,
    crawl_requests: Family<SourceLabel, Counter>,
    crawl_bytes: Family<SourceLabel, Counter>,
    crawl_not_modified: Family<SourceLabel, Counter>,
    limit_hits: Family<LimitLabels, Counter>,
    crawl_errors: Family<ErrorLabels, Counter>,
    last_success: Family<SourceLabel, Gauge>,
    sessions: Family<SourceLabel, Gauge>,
    requests: Family<RequestLabels, Counter>,
    feed_cache_bytes: Gauge,
    /// Hits and misses of the view cache by view (`view` label). New
    /// families rather than a label on `feed_cache_hits`/`_misses`: a label
    /// added to a family changes what every query that does not name it
    /// sums (`rate(events_feed_cache_hits_total[5m])` would start counting
    /// pages and API parts), so those keep counting feeds alone, as they
    /// always have, and equal `view="feed"` here.
    view_cache_hits: Family<ViewLabel, Counter>,
    view_cache_misses: Family<ViewLabel, Counter>,
    /// The series of `view_cache_hits` and `_misses`, by `CachedView as
    /// usize`: a hit counts with one atomic add, no lookup of its labels.
    view_hits: [Counter; 3],
    view_misses: [Counter; 3],
    feed_cache_hits: Counter,
    feed_cache_misses: Counter,
    feed_renders: Counter,
}

impl Metrics {
    /// Metrics with every series of `sources` (their ids) at zero, so a
    /// source that has not been crawled yet shows as such rather than missing.
    pub fn new<'a>(sources: impl IntoIterator<Item = &'a str>) -> Self {
        let mut registry = Registry::with_prefix("events");
        let m = Metrics {
            crawls: Family::default(),
            crawl_duration: HistogramFamily::new_with_constructor(crawl_histogram),
            crawl_requests: Family::default(),
            crawl_bytes: Family::default(),
            crawl_not_modified: Family::default(),
            limit_hits: Family::default(),
            crawl_errors: Family::default(),
            last_success: Family::default(),
            sessions: Family::default(),
            requests: Family::default(),
            feed_cache_bytes: Gauge::default(),
            view_cache_hits: Family::default(),
            view_cache_misses: Family::default(),
            view_hits: Default::default(),
            view_misses: Default::default(),
            feed_cache_hits: Counter::default(),
            feed_cache_misses: Counter::default(),
            feed_renders: Counter::default(),
            registry: Registry::default(),
        };
        m.register_crawl_families(&mut registry);
        m.register_source_families(&mut registry);
        m.register_server_families(&mut registry);
        for id in sources {
            m.know_source(id);
        }
        // Each series made now, at zero, and kept: a clone counts into it.
        let series = |family: &Family<ViewLabel, Counter>| {
            CachedView::ALL.map(|view| family.get_or_create_owned(&ViewLabel { view }))
        };
        Metrics {
            registry,
            view_hits: series(&m.view_cache_hits),
            view_misses: series(&m.view_cache_misses),
            ..m
        }
    }

    /// Registers what the crawls count, by source: crawls by outcome, their
    /// duration, requests, bytes and `304`s, errors by kind, and limits hit.
    fn register_crawl_families(&self, registry: &mut Registry) {
        registry.register(
            "crawls",
            "Crawls ended since the server started, by source and how they ended",
            self.crawls.clone(),
        );
        registry.register_with_unit(
            "crawl_duration",
            "How long each crawl took, from its start to its merge or failure",
            Unit::Seconds,
            self.crawl_duration.clone(),
        );
        registry.register(
            "crawl_requests",
            "Requests the crawls made to the source's site since the server started",
            self.crawl_requests.clone(),
        );
        registry.register_with_unit(
            "crawl_downloaded",
            "Body bytes the crawls downloaded from the source's site since the server started",
            Unit::Bytes,
            self.crawl_bytes.clone(),
        );
        registry.register(
            "crawl_not_modified",
            "Of the crawls' requests, those the site answered 304 Not Modified",
            self.crawl_not_modified.clone(),
        );
        registry.register(
            "crawl_errors",
            "Crawls that failed, were refused or stopped at a limit since the server started, by source and kind of error (error_kind in /api/sources)",
            self.crawl_errors.clone(),
        );
        registry.register(
            "crawl_limit_hits",
            "Limits of the source's [limits] reached, by setting: crawls stopped at one, and each body over max_body_bytes",
            self.limit_hits.clone(),
        );
    }

    /// Registers what is read from the store on each scrape, by source: the
    /// last success and its session count.
    fn register_source_families(&self, registry: &mut Registry) {
        registry.register(
            "source_last_success_timestamp_seconds",
            "When the source's last successful crawl was merged (unix seconds), from the store",
            self.last_success.clone(),
        );
        registry.register(
            "source_sessions",
            "Sessions the source's last successful crawl found, from the store",
            self.sessions.clone(),
        );
    }

    /// Registers what the server counts: requests by route and status, the
    /// view cache's bytes, its hits and misses by view (and of feeds alone,
    /// under their first names), and feed renders.
    fn register_server_families(&self, registry: &mut Registry) {
        registry.register(
            "http_requests",
            "Requests answered, by route template and HTTP status",
            self.requests.clone(),
        );
        // The name is the cache's first one: it held feeds alone then.
        registry.register_with_unit(
            "feed_cache",
            "Bytes the cache of rendered views (feeds, parts of the page and of /api/sessions) holds, as its budget (--feed-cache) counts them",
            Unit::Bytes,
            self.feed_cache_bytes.clone(),
        );
        registry.register(
            "view_cache_hits",
            "Requests answered from the cache of rendered views, by view: feed, page or sessions (/api/sessions)",
            self.view_cache_hits.clone(),
        );
        registry.register(
            "view_cache_misses",
            "Requests whose view was not in the cache of rendered views and was rendered, by view: feed, page or sessions (/api/sessions)",
            self.view_cache_misses.clone(),
        );
        registry.register(
            "feed_cache_hits",
            "Feed requests answered from the cache of rendered views (the same as events_view_cache_hits_total{view=\"feed\"})",
            self.feed_cache_hits.clone(),
        );
        registry.register(
            "feed_cache_misses",
            "Feed requests not in the cache of rendered views (the same as events_view_cache_misses_total{view=\"feed\"})",
            self.feed_cache_misses.clone(),
        );
        registry.register(
            "feed_renders",
            "Calendar feeds rendered (each miss renders one)",
            self.feed_renders.clone(),
        );
    }

    /// Creates every series of source `id` at zero.
    fn know_source(&self, id: &str) {
        // `_owned`: nothing to do with the series but create it.
        for outcome in CrawlOutcome::ALL {
            self.crawls.get_or_create_owned(&crawl_labels(id, outcome));
        }
        let source = source_label(id);
        self.crawl_duration.get_or_create_owned(&source);
        self.crawl_requests.get_or_create_owned(&source);
        self.crawl_bytes.get_or_create_owned(&source);
        self.crawl_not_modified.get_or_create_owned(&source);
    }

    /// Records one ended crawl.
    pub fn record_crawl(&self, report: &CrawlReport) {
        let id = report.source.as_str();
        self.crawls
            .get_or_create(&crawl_labels(id, CrawlOutcome::of(&report.outcome)))
            .inc();
        let source = source_label(id);
        self.crawl_duration
            .get_or_create(&source)
            .observe(report.elapsed.as_secs_f64());
        self.crawl_requests
            .get_or_create(&source)
            .inc_by(report.stats.requests);
        self.crawl_bytes
            .get_or_create(&source)
            .inc_by(report.stats.bytes);
        self.crawl_not_modified
            .get_or_create(&source)
            .inc_by(report.stats.not_modified);
        let limit = |setting| {
            self.limit_hits.get_or_create_owned(&LimitLabels {
                source: id.to_string(),
                setting,
            })
        };
        if let Some(setting) = report.stopped_at.and_then(limit_setting) {
            limit(setting).inc();
        }
        if report.oversized_bodies > 0 {
            limit("max_body_bytes").inc_by(report.oversized_bodies);
        }
        if let Some(kind) = report.outcome.error_kind() {
            self.crawl_errors
                .get_or_create(&ErrorLabels {
                    source: id.to_string(),
                    kind: kind.as_str(),
                })
                .inc();
        }
    }

    /// Counts one answered request.
    pub fn record_request(&self, route: Route, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { route, status })
            .inc();
    }

    /// Counts a view answered from the view cache.
    pub fn view_cache_hit(&self, view: CachedView) {
        self.view_hits[view as usize].inc();
        if view == CachedView::Feed {
            self.feed_cache_hits.inc();
        }
    }

    /// Counts a view not in the view cache (so rendered).
    pub fn view_cache_miss(&self, view: CachedView) {
        self.view_misses[view as usize].inc();
        if view == CachedView::Feed {
            self.feed_cache_misses.inc();
        }
    }

    /// Counts a feed rendered.
    pub fn feed_rendered(&self) {
        self.feed_renders.inc();
    }

    /// The Prometheus text of every metric, with the view cache holding
    /// `feed_cache_bytes` and the sources' health as the store has it now.
    pub fn encode(
        &self,
        feed_cache_bytes: usize,
        health: &BTreeMap<String, SourceHealth>,
    ) -> Result<String, std::fmt::Error> {
        self.feed_cache_bytes
            .set(i64::try_from(feed_cache_bytes).unwrap_or(i64::MAX));
        for (id, h) in health {
            let source = source_label(id);
            if let Some(t) = h.last_success {
                self.last_success.get_or_create(&source).set(t.timestamp());
            }
            self.sessions
                .get_or_create(&source)
                .set(i64::try_from(h.sessions_found).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    /// An observer that records each crawl here, then tells `inner`.
    pub fn observer(self: &Arc<Self>, inner: Arc<dyn Observer>) -> Arc<dyn Observer> {
        Arc::new(Recorder {
            metrics: self.clone(),
            inner,
        })
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new([])
    }
}

/// `setting` as one of [`LIMIT_SETTINGS`] (a `&'static str` of the fixed
/// set), or `None` for a name not among them.
fn limit_setting(setting: &str) -> Option<&'static str> {
    LIMIT_SETTINGS.iter().copied().find(|s| *s == setting)
}

fn source_label(id: &str) -> SourceLabel {
    SourceLabel {
        source: id.to_string(),
    }
}

fn crawl_labels(id: &str, outcome: CrawlOutcome) -> CrawlLabels {
    CrawlLabels {
        source: id.to_string(),
        outcome,
    }
}

/// The crawl observer of [`Metrics::observer`]: records each ended crawl,
/// and passes everything on to the observer it wraps (the log lines).
pub struct Recorder {
    metrics: Arc<Metrics>,
    inner: Arc<dyn Observer>,
}

impl Observer for Recorder {
    fn started(&self, source: &str) {
        self.inner.started(source);
    }

    fn page(&self, source: &str, url: &url::Url) {
        self.inner.page(source, url);
    }

    fn finished(&self, report: &CrawlReport) {
        self.metrics.record_crawl(report);
        self.inner.finished(report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crawl::LimitHit;
    use crate::store::{CrawlStats, MergeReport};

    fn report(outcome: Outcome, stopped_at: Option<&'static str>) -> CrawlReport {
        CrawlReport {
            source: "wsp".into(),
            outcome,
            warnings: 0,
            stats: CrawlStats {
                requests: 7,
                bytes: 1000,
                not_modified: 2,
            },
            elapsed: std::time::Duration::from_millis(1500),
            stopped_at,
            oversized_bodies: 3,
        }
    }

    #[test]
    fn view_cache_hits_and_misses_count_by_view_and_feeds_under_their_first_names() {
        let m = Metrics::default();
        m.view_cache_miss(CachedView::Page);
        m.view_cache_hit(CachedView::Page);
        m.view_cache_hit(CachedView::Page);
        m.view_cache_miss(CachedView::Feed);
        m.view_cache_hit(CachedView::Feed);
        let text = m.encode(0, &BTreeMap::new()).unwrap();
        for line in [
            "events_view_cache_hits_total{view=\"page\"} 2",
            "events_view_cache_misses_total{view=\"page\"} 1",
            "events_view_cache_hits_total{view=\"feed\"} 1",
            "events_view_cache_misses_total{view=\"feed\"} 1",
            "events_view_cache_hits_total{view=\"sessions\"} 0",
            "events_view_cache_misses_total{view=\"sessions\"} 0",
            "events_feed_cache_hits_total 1",
            "events_feed_cache_misses_total 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
    }

    #[test]
    fn a_partial_crawl_counts_its_outcome_and_its_limit() {
        let m = Metrics::new(["wsp"]);
        let limit = LimitHit {
            setting: "max_pages",
            value: 1,
            what: "listing pages".into(),
            file: "wsp.toml".into(),
        };
        m.record_crawl(&report(
            Outcome::Partial(MergeReport::default(), limit),
            Some("max_pages"),
        ));
        m.record_crawl(&report(
            Outcome::Failed(crate::crawl::CrawlError::new(
                crate::errors::ErrorKind::Other,
                "x",
            )),
            Some("not_a_setting"),
        ));
        let text = m.encode(0, &BTreeMap::new()).unwrap();
        for line in [
            "events_crawls_total{source=\"wsp\",outcome=\"partial\"} 1",
            "events_crawls_total{source=\"wsp\",outcome=\"failed\"} 1",
            "events_crawls_total{source=\"wsp\",outcome=\"merged\"} 0",
            "events_crawl_limit_hits_total{source=\"wsp\",setting=\"max_pages\"} 1",
            "events_crawl_limit_hits_total{source=\"wsp\",setting=\"max_body_bytes\"} 6",
            "events_crawl_requests_total{source=\"wsp\"} 14",
            "events_crawl_not_modified_total{source=\"wsp\"} 4",
            "events_crawl_duration_seconds_count{source=\"wsp\"} 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
        }
        assert!(!text.contains("not_a_setting"), "{text}");
    }
}
