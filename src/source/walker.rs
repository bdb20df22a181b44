//! What a kind's walk is given and gives back: the `Walker` (the source's
//! fetcher, what the store holds of it, its settings and limits), the
//! `SourceContext` its readers are given, the
//! `Gathered` sessions, and why a walk gave nothing (`WalkError`, a
//! `LimitHit`). Also the bounded pool of blocking threads readers run on, and
//! the count of each crawl's warnings.
//!
//! Owns no crawl: `crawl` builds a `Walker`, runs the kind's walk and merges
//! what it gathered.

use crate::errors::ErrorKind;
use crate::fetch::{FetchError, Fetched, SourceFetcher};
use crate::model::{Course, Session};
use crate::source::error::{CrawlError, ParseError};
use crate::source::probe::Probe;
use crate::source::settings::SourceConfig;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// What a reader needs to know about the source it is parsing for.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// The source file's `id`, copied into every session.
    pub source_id: String,
    /// The time zone the site prints local times in.
    pub timezone: Tz,
    /// The crawl's clock, passed in so tests can freeze it.
    pub now: DateTime<Utc>,
    /// Where readers report what they could not find (off in a crawl; on
    /// in `events check`).
    pub probe: Probe,
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

/// Told of each page a walk is about to fetch (source id, address): the
/// crawl's observer, for a progress display and metrics.
pub type PageHook<'a> = &'a (dyn Fn(&str, &url::Url) + Send + Sync);

/// What a kind's walk reads the source through: the source's fetcher (which
/// keeps politeness and counts requests, and tells the observer of each), what
/// the store holds of the source, and the source's settings and limits.
pub struct Walker<'a> {
    /// The source's common settings (id, base address, zone, limits, file).
    pub source: &'a SourceConfig,
    /// What readers need: the source id, its zone and the crawl's clock.
    pub ctx: SourceContext,
    pub(crate) http: SourceFetcher,
    pub(crate) page_hook: PageHook<'a>,
    /// `None` in a dry run (`events check`): nothing is read from or
    /// written to a store, and the walk sees a source never crawled.
    pub(crate) store: Option<&'a Store>,
    /// Responses refused for passing `limits.max_body_bytes`.
    pub(crate) oversized: std::sync::atomic::AtomicU64,
}

impl Walker<'_> {
    /// GET a page of the site (conditional when a body is kept).
    pub async fn get(&self, url: &url::Url) -> Result<Fetched, FetchError> {
        (self.page_hook)(&self.source.id, url);
        let r = self.counted(self.http.get(url).await);
        self.ctx.probe.fetched(url, &r);
        r
    }

    /// GET an authenticated API resource with these headers (not subject to
    /// robots.txt, never cached).
    pub async fn get_api(
        &self,
        url: &url::Url,
        headers: &[(&str, String)],
    ) -> Result<Fetched, FetchError> {
        (self.page_hook)(&self.source.id, url);
        let r = self.counted(self.http.get_api(url, headers).await);
        self.ctx.probe.fetched(url, &r);
        r
    }

    /// `r`, counted when it is a body over `limits.max_body_bytes`.
    fn counted(&self, r: Result<Fetched, FetchError>) -> Result<Fetched, FetchError> {
        if matches!(r, Err(FetchError::TooLarge { .. })) {
            self.oversized.fetch_add(1, Ordering::Relaxed);
        }
        r
    }

    /// The body kept from the last fetch of `url`, without a request.
    pub fn cached(&self, url: &url::Url) -> Option<Vec<u8>> {
        self.http.cached(url)
    }

    /// Every session the store holds for this source, withdrawn ones too.
    pub fn stored_sessions(&self) -> Result<Vec<Session>, StoreError> {
        let Some(store) = self.store else {
            return Ok(Vec::new());
        };
        Ok(store
            .source_sessions(&self.source.id)?
            .into_iter()
            .map(|s| s.session)
            .collect())
    }

    /// The walk's own note under `key` (e.g. when a page was last fetched).
    pub fn note(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.store {
            Some(store) => store.note(&self.source.id, key),
            None => Ok(None),
        }
    }

    /// Keeps a note under `key` for the next crawl.
    pub fn set_note(&self, key: &str, value: &str) -> Result<(), StoreError> {
        match self.store {
            Some(store) => store.set_note(&self.source.id, key, value),
            None => Ok(()),
        }
    }

    /// When a crawl of this source was last merged: notes written after it
    /// belong to a crawl that stopped before its merge.
    pub fn last_merged(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.store {
            Some(store) => Ok(store.health(&self.source.id)?.last_success),
            None => Ok(None),
        }
    }

    /// Runs `f` (a reader) on a blocking thread, once one of the
    /// [`MAX_BLOCKING_WORK`] slots is free, while the walk goes on to its next
    /// request; warnings it logs still count as this crawl's.
    pub fn off_thread<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        // The count belongs to this task; the spawned one has none of its own.
        let counter = WARNINGS.try_with(Arc::clone).ok();
        tokio::spawn(on_blocking_thread(counter, f))
    }

    /// Runs `f` (a reader) as [`Walker::off_thread`] does and waits for it:
    /// the async workers stay free to answer requests meanwhile.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WalkError> {
        self.off_thread(f).await.map_err(|e| {
            WalkError::fail(
                ErrorKind::Other,
                format!("reading a page stopped abnormally: {e}"),
            )
        })
    }

    /// The error of a walk that reached `limits.<setting>`.
    pub fn limit_hit(
        &self,
        setting: &'static str,
        value: usize,
        what: impl Into<String>,
    ) -> LimitHit {
        self.source.limit_hit(setting, value, what)
    }
}

/// What a kind's walk found, before merging.
pub struct Gathered {
    /// Every session read (or kept from the store where a page failed).
    pub sessions: Vec<Session>,
    /// The undated courses, when the kind has a catalogue and it was read whole.
    pub courses: Option<Vec<Course>>,
    /// Set when the walk stopped at a limit: `sessions` is only part of the site.
    pub limit: Option<LimitHit>,
}

impl SourceConfig {
    /// The error of a crawl of this source that reached `limits.<setting>`.
    pub fn limit_hit(
        &self,
        setting: &'static str,
        value: usize,
        what: impl Into<String>,
    ) -> LimitHit {
        LimitHit {
            setting,
            value,
            what: what.into(),
            file: self.file.clone(),
        }
    }
}

/// Parses and store merges that run at once in the whole process, each on a
/// blocking thread of its own: enough to keep a crawl's pages flowing, few
/// enough that a hostile source's parse cannot take every core from `serve`
/// (the async workers answering requests are never among them).
pub const MAX_BLOCKING_WORK: usize = 2;

static BLOCKING_WORK: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(MAX_BLOCKING_WORK);

/// Runs `f` on a blocking thread once a [`MAX_BLOCKING_WORK`] slot is free,
/// counting its warnings in `counter` (a crawl's). A panic in `f` is resumed
/// here. The slot is held until `f` returns, even if the caller stops waiting
/// (a thread cannot be stopped), so abandoned work still counts.
pub(crate) async fn on_blocking_thread<T: Send + 'static>(
    counter: Option<Arc<AtomicUsize>>,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let _slot = BLOCKING_WORK.acquire().await;
    let work = tokio::task::spawn_blocking(move || match counter {
        Some(c) => WARNINGS.sync_scope(c, f),
        None => f(),
    });
    match work.await {
        Ok(v) => v,
        Err(e) => match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            // Only a runtime shutting down cancels blocking work.
            Err(e) => panic!("blocking work cancelled: {e}"),
        },
    }
}

tokio::task_local! {
    /// Warnings logged by the crawl running in this task (see `CountWarnings`).
    pub(crate) static WARNINGS: Arc<AtomicUsize>;
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

/// Why a walk gave nothing to merge.
pub enum WalkError {
    /// The source is not ready to crawl (e.g. an id is missing); not a failure.
    Skip(String),
    /// The crawl failed; nothing is changed but health.
    Fail(CrawlError),
}

impl WalkError {
    /// A failure of `kind`, in the words of `message`.
    pub fn fail(kind: ErrorKind, message: impl Into<String>) -> WalkError {
        WalkError::Fail(CrawlError::new(kind, message))
    }
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WalkError::Skip(m) => f.write_str(m),
            WalkError::Fail(e) => e.fmt(f),
        }
    }
}

impl From<FetchError> for WalkError {
    fn from(e: FetchError) -> Self {
        WalkError::Fail(e.into())
    }
}

impl From<ParseError> for WalkError {
    fn from(e: ParseError) -> Self {
        WalkError::Fail(e.into())
    }
}

impl From<StoreError> for WalkError {
    fn from(e: StoreError) -> Self {
        WalkError::Fail(e.into())
    }
}
