//! The only module that does network I/O: one `Fetcher` per process.
//!
//! Owns the reqwest client (rustls, gzip, timeouts, a redirect policy), the per-host
//! rate limiters (governor), robots.txt (texting_robots; read again, conditionally,
//! by every crawl), conditional requests backed by the store's HTTP cache, retries
//! with backoff, and a cap on body size. Returns bytes; it knows nothing about what the pages mean.

use crate::store::{CachedResponse, Pruned, Store, StoreError};
use chrono::{DateTime, Utc};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use rand::Rng;
use reqwest::header::{
    HeaderMap, HeaderValue, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use reqwest::StatusCode;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use texting_robots::Robot;
use tokio::sync::Mutex as AsyncMutex;
use url::Url;

/// The product token robots.txt rules are matched against.
pub const ROBOTS_AGENT: &str = "events";

#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    #[error("{url} is disallowed by the site's robots.txt, so it was not fetched")]
    Disallowed { url: String },
    #[error("{url} answered HTTP {status}: {snippet}")]
    Status {
        url: String,
        status: u16,
        /// The body, so callers can read an API's error object.
        body: Vec<u8>,
        snippet: String,
    },
    #[error("{url} could not be reached: {message}")]
    Network { url: String, message: String },
    #[error("{url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("{url} sent more than {limit} bytes; refused")]
    TooLarge { url: String, limit: usize },
    #[error("{url} redirected too often, to a non-http address or to another host; stopped")]
    Redirect { url: String },
    #[error(
        "{url}: robots.txt could not be fetched ({message}); not crawling that host this time"
    )]
    RobotsUnavailable { url: String, message: String },
}

impl FetchError {
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// How the fetcher behaves; `Default` is what production uses.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub max_body: usize,
    pub max_redirects: usize,
    pub max_retries: u32,
    /// First backoff; doubled on each retry, plus jitter.
    pub backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one fails the request.
    pub max_retry_after: Duration,
    /// Kept responses no crawl has used for this long are pruned (the pages
    /// of events long gone from their sites).
    pub cache_max_age: Duration,
}

impl FetchConfig {
    pub fn with_contact(contact: &str) -> Self {
        Self {
            user_agent: format!(
                "{ROBOTS_AGENT}/{} (safeguarding training calendar; +{contact})",
                env!("CARGO_PKG_VERSION")
            ),
            ..Self::default()
        }
    }
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            user_agent: format!(
                "{ROBOTS_AGENT}/{} (safeguarding training calendar)",
                env!("CARGO_PKG_VERSION")
            ),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            max_body: 5 * 1024 * 1024,
            max_redirects: 5,
            max_retries: 3,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(120),
            cache_max_age: Duration::from_secs(30 * 86_400),
        }
    }
}

/// Network counters of one crawl of one source.
#[derive(Debug, Default)]
pub struct Counters {
    pub requests: AtomicU64,
    pub bytes: AtomicU64,
    pub not_modified: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> crate::store::CrawlStats {
        crate::store::CrawlStats {
            requests: self.requests.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            not_modified: self.not_modified.load(Ordering::Relaxed),
        }
    }
}

/// A body the fetcher got, fresh or from the conditional-request cache.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: Url,
    pub body: Vec<u8>,
    /// The server said 304 and the stored body was used.
    pub not_modified: bool,
}

impl Fetched {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

struct HostState {
    limiter: Arc<DefaultDirectRateLimiter>,
    /// The spacing `limiter` enforces.
    period: Duration,
    robots: Option<Arc<Robot>>,
}

pub struct Fetcher {
    client: reqwest::Client,
    config: FetchConfig,
    store: Option<Store>,
    hosts: AsyncMutex<HashMap<String, Arc<AsyncMutex<Option<HostState>>>>>,
    logged_disallowed: Mutex<HashSet<String>>,
}

/// Requests of one crawl of one source: its rate, extra headers and counters.
/// Each crawl takes a new one, and robots.txt is read again (conditionally) at
/// the first request it makes to each host, so a site's changed rules are obeyed
/// from its next crawl on, however long the process runs.
#[derive(Clone)]
pub struct SourceFetcher {
    fetcher: Arc<Fetcher>,
    rps: f64,
    counters: Arc<Counters>,
    /// Hosts whose robots.txt this crawl has read.
    robots_read: Arc<Mutex<HashSet<String>>>,
    /// Largest body this source's pages may have (the fetcher's by default).
    max_body: usize,
}

impl SourceFetcher {
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// GET with conditional-request caching.
    pub async fn get(&self, url: &Url) -> Result<Fetched, FetchError> {
        self.fetcher.get(self, url, &[], true).await
    }

    /// The same fetcher, refusing bodies over `bytes` (a source's `max_body_bytes`).
    #[must_use]
    pub fn with_max_body(self, bytes: usize) -> Self {
        SourceFetcher {
            max_body: bytes,
            ..self
        }
    }

    /// GET of an authenticated API with extra headers (e.g. a token): never
    /// cached, and not subject to robots.txt, which governs crawling of web
    /// pages, not calls an API's owner issued us a token for.
    pub async fn get_api(
        &self,
        url: &Url,
        headers: &[(&str, String)],
    ) -> Result<Fetched, FetchError> {
        self.fetcher.get(self, url, headers, false).await
    }

    /// The body stored for `url` by an earlier crawl, without a request (and
    /// the entry marked as still in use, so it is not pruned).
    pub fn cached(&self, url: &Url) -> Option<Vec<u8>> {
        let body = self
            .fetcher
            .store
            .as_ref()?
            .cached_response(url.as_str())
            .ok()
            .flatten()
            .map(|c| c.body)?;
        self.fetcher.touch(url);
        Some(body)
    }
}

impl Fetcher {
    pub fn new(config: FetchConfig, store: Option<Store>) -> Result<Arc<Fetcher>, FetchError> {
        let max_redirects = config.max_redirects;
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            let looped = attempt.previous().contains(attempt.url());
            // A redirect may not take the crawler off the host it was sent to:
            // robots.txt and the request spacing were checked for that host.
            let elsewhere = attempt
                .previous()
                .first()
                .is_some_and(|first| !same_site(first, attempt.url()));
            if attempt.previous().len() >= max_redirects
                || !matches!(attempt.url().scheme(), "http" | "https")
                || looped
                || elsewhere
            {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(policy)
            .gzip(true)
            .build()
            .map_err(|e| FetchError::Network {
                url: String::new(),
                message: e.to_string(),
            })?;
        Ok(Arc::new(Fetcher {
            client,
            config,
            store,
            hosts: AsyncMutex::new(HashMap::new()),
            logged_disallowed: Mutex::new(HashSet::new()),
        }))
    }

    pub fn for_source(self: &Arc<Self>, requests_per_second: f64) -> SourceFetcher {
        SourceFetcher {
            fetcher: self.clone(),
            rps: requests_per_second,
            counters: Arc::new(Counters::default()),
            robots_read: Arc::new(Mutex::new(HashSet::new())),
            max_body: self.config.max_body,
        }
    }

    async fn host_entry(&self, url: &Url) -> Arc<AsyncMutex<Option<HostState>>> {
        let key = host_key(url);
        let mut hosts = self.hosts.lock().await;
        hosts.entry(key).or_default().clone()
    }

    /// Waits for the host's limiter and makes sure robots.txt allows `url`;
    /// robots.txt is read at the first request of each crawl (`robots_read`)
    /// to the host, and whenever the last read failed.
    async fn admit(
        &self,
        url: &Url,
        rps: f64,
        counters: &Counters,
        robots: bool,
        robots_read: &Mutex<HashSet<String>>,
    ) -> Result<Arc<DefaultDirectRateLimiter>, FetchError> {
        let entry = self.host_entry(url).await;
        // Holding the host's lock while robots.txt is fetched makes every other
        // request to that host wait for it: robots.txt is always asked first.
        let mut guard = entry.lock().await;
        if guard.is_none() {
            let period = period_for(rps, None);
            *guard = Some(HostState {
                limiter: Arc::new(limiter_for(period)),
                period,
                robots: None,
            });
        }
        let state = guard.as_mut().expect("just set");
        if !robots {
            return Ok(state.limiter.clone());
        }
        let first_this_crawl = robots_read
            .lock()
            .expect("not poisoned")
            .insert(host_key(url));
        if state.robots.is_none() || first_this_crawl {
            let robots_url = url.join("/robots.txt").map_err(|e| FetchError::Network {
                url: url.to_string(),
                message: e.to_string(),
            })?;
            state.limiter.until_ready().await;
            let robot = match self.fetch_robots(&robots_url, counters).await {
                Ok(r) => r,
                Err(e) => {
                    // Rules we could not read are no rules to rely on: the
                    // next request to this host asks again.
                    state.robots = None;
                    return Err(e);
                }
            };
            let delay = robot
                .delay
                .map(|d| Duration::from_secs_f32(d.clamp(0.0, 60.0)));
            let period = period_for(rps, delay);
            if delay.is_some_and(|d| d > period_for(rps, None)) && period > state.period {
                tracing::info!(host = %host_key(url), ?period, "robots.txt Crawl-delay is longer than our own spacing; using it");
                state.limiter = Arc::new(limiter_for(period));
                state.period = period;
                // The robots.txt request itself counts against the new spacing.
                let _ = state.limiter.check();
            }
            state.robots = Some(Arc::new(robot));
        }
        let robot = state.robots.clone().expect("just set");
        if !robot.allowed(url.as_str()) {
            let mut logged = self.logged_disallowed.lock().expect("not poisoned");
            if logged.insert(url.to_string()) {
                tracing::warn!(%url, "disallowed by robots.txt; not fetched");
            }
            return Err(FetchError::Disallowed {
                url: url.to_string(),
            });
        }
        Ok(state.limiter.clone())
    }

    /// Reads robots.txt, conditionally when an earlier answer is stored: an
    /// unchanged file costs a `304` and its stored body is used.
    async fn fetch_robots(
        &self,
        robots_url: &Url,
        counters: &Counters,
    ) -> Result<Robot, FetchError> {
        let allow_all = || Robot::new(ROBOTS_AGENT, b"").expect("empty robots.txt parses");
        let parse = |body: &[u8]| {
            Robot::new(ROBOTS_AGENT, body).unwrap_or_else(|e| {
                tracing::warn!(url = %robots_url, error = %e, "unreadable robots.txt; treating it as allowing everything");
                allow_all()
            })
        };
        let cached = self
            .store
            .as_ref()
            .and_then(|s| s.cached_response(robots_url.as_str()).ok().flatten());
        let mut attempt = 0;
        loop {
            counters.requests.fetch_add(1, Ordering::Relaxed);
            let mut req = self.client.get(robots_url.clone());
            if let Some(c) = &cached {
                if let Some(etag) = &c.etag {
                    req = req.header(IF_NONE_MATCH, etag);
                }
                if let Some(lm) = &c.last_modified {
                    req = req.header(IF_MODIFIED_SINCE, lm);
                }
            }
            let result = req.send().await;
            match result {
                Ok(resp) => {
                    let status = resp.status();
                    if status == StatusCode::NOT_MODIFIED {
                        if let Some(c) = &cached {
                            counters.not_modified.fetch_add(1, Ordering::Relaxed);
                            return Ok(parse(&c.body));
                        }
                    }
                    if status.is_success() {
                        let headers = resp.headers().clone();
                        let body = read_capped(resp, self.config.max_body, robots_url).await?;
                        counters
                            .bytes
                            .fetch_add(body.len() as u64, Ordering::Relaxed);
                        self.remember(robots_url, &headers, &body);
                        return Ok(parse(&body));
                    }
                    // No robots.txt (4xx) means no rules; a server error means we
                    // cannot know the rules, so we stay away this time.
                    if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
                        return Ok(allow_all());
                    }
                    if attempt >= self.config.max_retries {
                        return Err(FetchError::RobotsUnavailable {
                            url: robots_url.to_string(),
                            message: format!("HTTP {}", status.as_u16()),
                        });
                    }
                }
                Err(e) => {
                    if attempt >= self.config.max_retries {
                        return Err(FetchError::RobotsUnavailable {
                            url: robots_url.to_string(),
                            message: describe_reqwest(&e),
                        });
                    }
                }
            }
            attempt += 1;
            tokio::time::sleep(self.backoff(attempt)).await;
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.config.backoff.saturating_mul(1 << attempt.min(10));
        let jitter = rand::thread_rng().gen_range(0.0..0.5);
        base.mul_f64(1.0 + jitter)
    }

    async fn get(
        &self,
        src: &SourceFetcher,
        url: &Url,
        headers: &[(&str, String)],
        conditional: bool,
    ) -> Result<Fetched, FetchError> {
        let (rps, counters, robots_read) = (src.rps, &*src.counters, &*src.robots_read);
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Redirect {
                url: url.to_string(),
            });
        }
        let limiter = self
            .admit(
                url,
                rps,
                counters,
                !conditional_is_api(headers),
                robots_read,
            )
            .await?;
        let cached = if conditional {
            self.store
                .as_ref()
                .and_then(|s| s.cached_response(url.as_str()).ok().flatten())
        } else {
            None
        };
        let mut attempt: u32 = 0;
        loop {
            limiter.until_ready().await;
            counters.requests.fetch_add(1, Ordering::Relaxed);
            let mut req = self.client.get(url.clone());
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            if let Some(c) = &cached {
                if let Some(etag) = &c.etag {
                    req = req.header(IF_NONE_MATCH, etag);
                }
                if let Some(lm) = &c.last_modified {
                    req = req.header(IF_MODIFIED_SINCE, lm);
                }
            }
            let outcome = req.send().await;
            let retry_after;
            match outcome {
                Err(e) => {
                    let err = if e.is_timeout() {
                        FetchError::Timeout {
                            url: url.to_string(),
                            secs: self.config.timeout.as_secs(),
                        }
                    } else if e.is_redirect() {
                        return Err(FetchError::Redirect {
                            url: url.to_string(),
                        });
                    } else {
                        FetchError::Network {
                            url: url.to_string(),
                            message: describe_reqwest(&e),
                        }
                    };
                    if attempt >= self.config.max_retries {
                        return Err(err);
                    }
                    tracing::debug!(%url, error = %err, attempt, "retrying");
                    retry_after = None;
                }
                Ok(resp) => {
                    let status = resp.status();
                    if status == StatusCode::NOT_MODIFIED {
                        if let Some(c) = cached {
                            counters.not_modified.fetch_add(1, Ordering::Relaxed);
                            self.touch(url);
                            return Ok(Fetched {
                                url: url.clone(),
                                body: c.body,
                                not_modified: true,
                            });
                        }
                    }
                    if status.is_redirection() {
                        return Err(FetchError::Redirect {
                            url: url.to_string(),
                        });
                    }
                    let final_url = resp.url().clone();
                    let resp_headers = resp.headers().clone();
                    if status.is_success() {
                        let body = match read_capped(resp, src.max_body, url).await {
                            Ok(b) => b,
                            Err(FetchError::Network { .. } | FetchError::Timeout { .. })
                                if attempt < self.config.max_retries =>
                            {
                                attempt += 1;
                                tokio::time::sleep(self.backoff(attempt)).await;
                                continue;
                            }
                            Err(e) => return Err(e),
                        };
                        counters
                            .bytes
                            .fetch_add(body.len() as u64, Ordering::Relaxed);
                        if conditional {
                            self.remember(url, &resp_headers, &body);
                        }
                        return Ok(Fetched {
                            url: final_url,
                            body,
                            not_modified: false,
                        });
                    }
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::REQUEST_TIMEOUT
                        || status.is_server_error();
                    let body = read_capped(resp, 64 * 1024, url).await.unwrap_or_default();
                    counters
                        .bytes
                        .fetch_add(body.len() as u64, Ordering::Relaxed);
                    let wait = parse_retry_after(resp_headers.get(RETRY_AFTER));
                    let too_long = wait.is_some_and(|w| w > self.config.max_retry_after);
                    if !retryable || attempt >= self.config.max_retries || too_long {
                        return Err(FetchError::Status {
                            url: url.to_string(),
                            status: status.as_u16(),
                            snippet: snippet(&body),
                            body,
                        });
                    }
                    tracing::info!(%url, status = status.as_u16(), ?wait, attempt, "retrying");
                    retry_after = wait;
                }
            }
            attempt += 1;
            let delay = retry_after.unwrap_or_else(|| self.backoff(attempt));
            tokio::time::sleep(delay).await;
        }
    }

    /// Marks the kept response of `url` as still in use.
    fn touch(&self, url: &Url) {
        let Some(store) = &self.store else { return };
        if let Err(e) = store.touch_cached_response(url.as_str(), Utc::now()) {
            tracing::warn!(%url, error = %e, "could not mark a kept response as in use");
        }
    }

    /// Removes kept responses no crawl has used for `cache_max_age`; at most
    /// once a day (it reads every kept response's header), remembered in the store.
    pub fn prune_cache(&self) -> Result<Pruned, StoreError> {
        const NOTE: (&str, &str) = ("*", "http-cache-pruned");
        let Some(store) = &self.store else {
            return Ok(Pruned::default());
        };
        let now = Utc::now();
        let last = store
            .note(NOTE.0, NOTE.1)?
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok());
        if last.is_some_and(|t| (now - t.with_timezone(&Utc)) < chrono::TimeDelta::days(1)) {
            return Ok(Pruned::default());
        }
        let age = chrono::TimeDelta::from_std(self.config.cache_max_age)
            .unwrap_or(chrono::TimeDelta::days(30));
        let pruned = store.prune_http_cache(now, age)?;
        store.set_note(NOTE.0, NOTE.1, &now.to_rfc3339())?;
        Ok(pruned)
    }

    fn remember(&self, url: &Url, headers: &HeaderMap, body: &[u8]) {
        let Some(store) = &self.store else { return };
        let text = |h| {
            headers
                .get(h)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = text(ETAG);
        let last_modified = text(LAST_MODIFIED);
        // Bodies without validators are still kept: the crawler re-reads them to
        // skip detail pages whose listing entry has not changed.
        let c = CachedResponse {
            etag,
            last_modified,
            fetched: Utc::now(),
            seen: Some(Utc::now()),
            body: body.to_vec(),
        };
        if let Err(e) = store.put_cached_response(url.as_str(), &c) {
            tracing::warn!(%url, error = %e, "could not keep the response for conditional requests");
        }
    }
}

/// The same host and port, allowing an upgrade from http on port 80 to https
/// on port 443 (the one redirect sites routinely send to themselves).
fn same_site(a: &Url, b: &Url) -> bool {
    let host = |u: &Url| u.host_str().map(str::to_ascii_lowercase);
    if host(a) != host(b) {
        return false;
    }
    let (pa, pb) = (a.port_or_known_default(), b.port_or_known_default());
    pa == pb || (a.scheme() == "http" && pa == Some(80) && b.scheme() == "https" && pb == Some(443))
}

/// API calls carry an Authorization header; page fetches never do.
fn conditional_is_api(headers: &[(&str, String)]) -> bool {
    headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
}

fn host_key(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

fn period_for(rps: f64, crawl_delay: Option<Duration>) -> Duration {
    let ours = Duration::from_secs_f64(1.0 / rps.clamp(0.001, 1000.0));
    match crawl_delay {
        Some(d) if d > ours => d,
        _ => ours,
    }
}

fn limiter_for(period: Duration) -> DefaultDirectRateLimiter {
    let quota = Quota::with_period(period.max(Duration::from_millis(1)))
        .expect("period is non-zero")
        .allow_burst(NonZeroU32::MIN);
    RateLimiter::direct(quota)
}

/// Reads a body, refusing it once it passes `limit` bytes.
async fn read_capped(
    mut resp: reqwest::Response,
    limit: usize,
    url: &Url,
) -> Result<Vec<u8>, FetchError> {
    if resp.content_length().is_some_and(|n| n as usize > limit) {
        return Err(FetchError::TooLarge {
            url: url.to_string(),
            limit,
        });
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(FetchError::TooLarge {
                        url: url.to_string(),
                        limit,
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) if e.is_timeout() => {
                return Err(FetchError::Timeout {
                    url: url.to_string(),
                    secs: 0,
                })
            }
            Err(e) => {
                return Err(FetchError::Network {
                    url: url.to_string(),
                    message: describe_reqwest(&e),
                })
            }
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn parse_retry_after(v: Option<&HeaderValue>) -> Option<Duration> {
    let s = v?.to_str().ok()?.trim();
    if let Ok(secs) = s.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(s).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// The first words of a body, tags stripped, for an error message.
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned();
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = out.split_whitespace().take(12).collect();
    if words.is_empty() {
        "(empty body)".into()
    } else {
        words.join(" ")
    }
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg = format!("{msg}: {s}");
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        assert_eq!(
            parse_retry_after(Some(&HeaderValue::from_static("2"))),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after(Some(&HeaderValue::from_static(
                "Wed, 21 Oct 2015 07:28:00 GMT"
            ))),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after(Some(&HeaderValue::from_static("soon"))),
            None
        );
    }

    #[test]
    fn snippet_strips_tags() {
        assert_eq!(
            snippet(b"<html><body><h1>403 Forbidden</h1><p>Request blocked.</p></body></html>"),
            "403 Forbidden Request blocked."
        );
        assert_eq!(snippet(b""), "(empty body)");
    }
}
