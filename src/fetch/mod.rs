//! The only module that does network I/O: one `Fetcher` per process, and a
//! `SourceFetcher` for each crawl of each source.
//!
//! Owns the public face of fetching: the reqwest client (rustls, gzip,
//! timeouts), the request loop of a GET (which follows redirects itself, at
//! most `max_redirects`, never off the host, each target admitted by
//! robots.txt like the first address), and the types callers see
//! (`Fetched`, `FetchError`, `FetchConfig`, `Counters`). The pieces of that loop live in submodules:
//! - `hosts`: per-host spacing (governor) and robots.txt, Crawl-delay included;
//! - `retry`: which failures are asked again, backoff, `Retry-After`;
//! - `body`: reading a body under a byte limit, and the words of an error body;
//! - `cache`: the store-backed kept responses, conditional requests, pruning.
//!
//! Does not own: what the pages mean (adapters), which pages to ask for
//! (crawl), or the store's layout. It returns bytes.

mod body;
mod cache;
mod hosts;
mod retry;

use crate::store::{CachedResponse, Store};
use body::snippet;
use hosts::Hosts;
pub use hosts::{ROBOTS_MAX_BYTES, ROBOTS_MAX_REDIRECTS};
use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER};
use reqwest::StatusCode;
use retry::{parse_retry_after, Attempts};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use url::Url;

/// The product token robots.txt rules are matched against.
pub const ROBOTS_AGENT: &str = "events";

/// Why a fetch gave no body.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// The host's robots.txt disallows the address; nothing was sent.
    #[error("{url} is disallowed by the site's robots.txt, so it was not fetched")]
    Disallowed {
        /// The address asked for.
        url: String,
    },
    /// The server answered with a status other than success (after retries,
    /// when the status is one that is retried).
    #[error("{url} answered HTTP {status}: {snippet}")]
    Status {
        /// The address asked for.
        url: String,
        /// The HTTP status code of the last answer.
        status: u16,
        /// The body, so callers can read an API's error object.
        body: Vec<u8>,
        /// The first words of the body, for a message.
        snippet: String,
    },
    /// The connection failed (after retries).
    #[error("{url} could not be reached: {message}")]
    Network {
        /// The address asked for (empty when the HTTP client itself could
        /// not be built).
        url: String,
        /// What went wrong, in the HTTP client's words.
        message: String,
    },
    /// No answer in time (after retries).
    #[error("{url} did not answer within {secs} s")]
    Timeout {
        /// The address asked for.
        url: String,
        /// The request timeout in whole seconds (it covers reading the body).
        secs: u64,
    },
    /// The body passed the byte limit; what was read is dropped.
    #[error("{url} sent more than {limit} bytes; refused")]
    TooLarge {
        /// The address asked for.
        url: String,
        /// The byte limit it passed.
        limit: usize,
    },
    /// Too many redirects, a redirect to a non-http(s) address or to another
    /// host, or an address that is not http(s) to begin with.
    #[error("{url} redirected too often, to a non-http address or to another host; stopped")]
    Redirect {
        /// The address asked for (not where it redirected to).
        url: String,
    },
    /// robots.txt could not be read (a server error or no connection), so the
    /// host is not crawled this time.
    #[error(
        "{url}: robots.txt could not be fetched ({message}); not crawling that host this time"
    )]
    RobotsUnavailable {
        /// The robots.txt address.
        url: String,
        /// The last status (`HTTP 503`) or connection error.
        message: String,
        /// The last HTTP status, when the server answered at all.
        status: Option<u16>,
    },
}

impl FetchError {
    /// The HTTP status of a `Status` error; `None` for every other kind.
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
    /// Sent with every request.
    pub user_agent: String,
    /// Longest wait for a connection.
    pub connect_timeout: Duration,
    /// Longest wait for a whole request, body included.
    pub timeout: Duration,
    /// Largest body read (a source may set its own with `with_max_body`).
    pub max_body: usize,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
    /// Retries of a request after its first attempt.
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
    /// The production settings with a User-Agent naming `contact` (an address
    /// or URL a site's operator can reach us at).
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
    /// Requests sent, robots.txt and retries included.
    pub requests: AtomicU64,
    /// Body bytes received.
    pub bytes: AtomicU64,
    /// Requests answered `304 Not Modified` and served from the kept body.
    pub not_modified: AtomicU64,
    /// Requests the host's spacing (our rate, or its robots.txt Crawl-delay)
    /// held back before they were sent. Not part of `snapshot`.
    pub spaced: AtomicU64,
}

impl Counters {
    /// The counters as recorded in a crawl's health.
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
    /// The body, decompressed.
    pub body: Vec<u8>,
    /// The server said 304 and the stored body was used.
    pub not_modified: bool,
}

impl Fetched {
    /// The body as text (UTF-8, invalid bytes replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The process's one HTTP client, with the state shared by every crawl: the
/// per-host spacing and robots.txt rules, and the store's kept responses.
pub struct Fetcher {
    client: reqwest::Client,
    /// The client robots.txt is read with: it follows redirects to other
    /// hosts, as RFC 9309 asks (see `hosts`).
    robots_client: reqwest::Client,
    config: FetchConfig,
    store: Option<Store>,
    hosts: Hosts,
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
    /// This crawl's network counters.
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
        let body = self.fetcher.kept(url)?.body;
        self.fetcher.touch(url);
        Some(body)
    }
}

impl Fetcher {
    /// A fetcher with `config`; `store` keeps responses for conditional
    /// requests (none: every request is unconditional and nothing is kept).
    pub fn new(config: FetchConfig, store: Option<Store>) -> Result<Arc<Fetcher>, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            // Redirects are followed by `get`, one admitted address at a time.
            .redirect(reqwest::redirect::Policy::none())
            .gzip(true)
            .build()
            .map_err(|e| FetchError::Network {
                url: String::new(),
                message: e.to_string(),
            })?;
        let robots_client = hosts::robots_client(&config)?;
        Ok(Arc::new(Fetcher {
            client,
            robots_client,
            config,
            store,
            hosts: Hosts::default(),
        }))
    }

    /// The fetcher for one crawl of a source that allows itself
    /// `requests_per_second` to each host (slower when a robots.txt
    /// Crawl-delay asks for it).
    pub fn for_source(self: &Arc<Self>, requests_per_second: f64) -> SourceFetcher {
        SourceFetcher {
            fetcher: self.clone(),
            rps: requests_per_second,
            counters: Arc::new(Counters::default()),
            robots_read: Arc::new(Mutex::new(HashSet::new())),
            max_body: self.config.max_body,
        }
    }

    /// GET `url`, following redirects by hand so that every address asked
    /// for passes `admit` (robots.txt and the host's spacing): a page that
    /// redirects to a path robots.txt disallows is not fetched.
    async fn get(
        &self,
        src: &SourceFetcher,
        url: &Url,
        headers: &[(&str, String)],
        conditional: bool,
    ) -> Result<Fetched, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::Redirect {
                url: url.to_string(),
            });
        }
        let cached = if conditional { self.kept(url) } else { None };
        // Every address asked for so far, the first included.
        let mut asked = vec![url.clone()];
        loop {
            let current = asked.last().expect("never empty").clone();
            match self
                .get_one(src, url, &current, headers, cached.as_ref())
                .await?
            {
                Answer::Body(fetched, resp_headers) => {
                    if conditional && !fetched.not_modified {
                        self.remember(url, &resp_headers, &fetched.body);
                    }
                    return Ok(fetched);
                }
                Answer::Redirect(next) => {
                    // `max_redirects` redirects are followed; one more stops.
                    let too_many = asked.len() > self.config.max_redirects;
                    // A redirect may not take the crawler off the host it was
                    // sent to: its spacing was chosen for that host.
                    if too_many
                        || !matches!(next.scheme(), "http" | "https")
                        || asked.contains(&next)
                        || !same_site(url, &next)
                    {
                        return Err(FetchError::Redirect {
                            url: url.to_string(),
                        });
                    }
                    asked.push(next);
                }
            }
        }
    }

    /// One address of a GET (the first, or a redirect's target): admitted by
    /// robots.txt and the host's spacing, then asked, retried as `retry` says.
    /// Errors name `asked` (what the caller asked for), except a disallowed
    /// redirect target, which names itself.
    async fn get_one(
        &self,
        src: &SourceFetcher,
        asked: &Url,
        url: &Url,
        headers: &[(&str, String)],
        cached: Option<&CachedResponse>,
    ) -> Result<Answer, FetchError> {
        let (rps, counters, robots_read) = (src.rps, &*src.counters, &*src.robots_read);
        let limiter = self
            .admit(url, rps, counters, !is_api_call(headers), robots_read)
            .await?;
        let mut attempts = Attempts::new(&self.config);
        loop {
            hosts::wait_turn(&limiter, counters).await;
            counters.requests.fetch_add(1, Ordering::Relaxed);
            let attempt = match self.send(url, headers, cached).await {
                Err(e) => self.send_failed(&e, asked, url, &attempts),
                Ok(resp) => {
                    self.read_answer(src, asked, url, resp, cached, &attempts)
                        .await
                }
            };
            match attempt {
                Attempt::Done(result) => return result,
                Attempt::Retry(retry_after) => attempts.wait(retry_after).await,
            }
        }
    }

    /// Sends one GET of `url` with `headers`, conditional on `cached`.
    async fn send(
        &self,
        url: &Url,
        headers: &[(&str, String)],
        cached: Option<&CachedResponse>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut req = self.client.get(url.clone());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        cache::conditional(req, cached).send().await
    }

    /// A request that got no answer: a timeout or a network error naming
    /// `asked`, asked again while `attempts` has retries left.
    fn send_failed(
        &self,
        e: &reqwest::Error,
        asked: &Url,
        url: &Url,
        attempts: &Attempts,
    ) -> Attempt<Answer> {
        let err = if e.is_timeout() {
            FetchError::Timeout {
                url: asked.to_string(),
                secs: self.config.timeout.as_secs(),
            }
        } else {
            FetchError::Network {
                url: asked.to_string(),
                message: describe_reqwest(e),
            }
        };
        if attempts.exhausted() {
            return Attempt::Done(Err(err));
        }
        tracing::debug!(%url, error = %err, attempt = attempts.retries(), "retrying");
        Attempt::Retry(None)
    }

    /// What the answer to one attempt at `url` gives: the kept body for a
    /// `304`, a redirect's target, a body, or an error status.
    async fn read_answer(
        &self,
        src: &SourceFetcher,
        asked: &Url,
        url: &Url,
        resp: reqwest::Response,
        cached: Option<&CachedResponse>,
        attempts: &Attempts,
    ) -> Attempt<Answer> {
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            if let Some(c) = cached {
                src.counters.not_modified.fetch_add(1, Ordering::Relaxed);
                self.touch(asked);
                return Attempt::Done(Ok(Answer::Body(
                    Fetched {
                        body: c.body.clone(),
                        not_modified: true,
                    },
                    HeaderMap::new(),
                )));
            }
        }
        if status.is_redirection() {
            return Attempt::Done(
                redirect_target(url, &resp)
                    .map(Answer::Redirect)
                    .ok_or_else(|| FetchError::Redirect {
                        url: asked.to_string(),
                    }),
            );
        }
        if status.is_success() {
            return self.read_success(src, asked, resp, attempts).await;
        }
        self.read_error_status(src, asked, url, resp, attempts)
            .await
    }

    /// A success's body, read under the source's byte limit; a connection
    /// lost or timed out while reading it is asked again while `attempts`
    /// has retries left.
    async fn read_success(
        &self,
        src: &SourceFetcher,
        asked: &Url,
        resp: reqwest::Response,
        attempts: &Attempts,
    ) -> Attempt<Answer> {
        let resp_headers = resp.headers().clone();
        let body = match body::read_capped(resp, src.max_body, asked, self.config.timeout).await {
            Ok(b) => b,
            Err(FetchError::Network { .. } | FetchError::Timeout { .. })
                if !attempts.exhausted() =>
            {
                return Attempt::Retry(None);
            }
            Err(e) => return Attempt::Done(Err(e)),
        };
        src.counters
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        Attempt::Done(Ok(Answer::Body(
            Fetched {
                body,
                not_modified: false,
            },
            resp_headers,
        )))
    }

    /// An answer with an error status: the start of its body is read (for
    /// the error's words) and counted; it is asked again when `attempts`
    /// allows, after the server's `Retry-After` when it gives one.
    async fn read_error_status(
        &self,
        src: &SourceFetcher,
        asked: &Url,
        url: &Url,
        resp: reqwest::Response,
        attempts: &Attempts,
    ) -> Attempt<Answer> {
        let status = resp.status();
        let resp_headers = resp.headers().clone();
        let body = body::read_capped(resp, body::ERROR_BODY_LIMIT, asked, self.config.timeout)
            .await
            .unwrap_or_default();
        src.counters
            .bytes
            .fetch_add(body.len() as u64, Ordering::Relaxed);
        let wait = parse_retry_after(resp_headers.get(RETRY_AFTER));
        if !attempts.should_retry(status, wait) {
            return Attempt::Done(Err(FetchError::Status {
                url: asked.to_string(),
                status: status.as_u16(),
                snippet: snippet(&body),
                body,
            }));
        }
        tracing::info!(%url, status = status.as_u16(), ?wait, attempt = attempts.retries(), "retrying");
        Attempt::Retry(wait)
    }
}

/// What one attempt of a request gave: the end of it (a `T` or a final
/// error), or a retry after the server's `Retry-After` (`None`: after the
/// backoff).
enum Attempt<T> {
    Done(Result<T, FetchError>),
    Retry(Option<Duration>),
}

/// What one request of a GET gave: a body (with its answer's headers, for the
/// kept copy), or where it redirects to.
enum Answer {
    Body(Fetched, HeaderMap),
    Redirect(Url),
}

/// Where a redirect answer sends us: its `Location`, resolved against `url`.
/// `None` for a 3xx that is not a redirect we follow (300, 304, 305) or has no
/// readable `Location`.
fn redirect_target(url: &Url, resp: &reqwest::Response) -> Option<Url> {
    if !matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = resp.headers().get(LOCATION)?.to_str().ok()?;
    url.join(location.trim()).ok()
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
fn is_api_call(headers: &[(&str, String)]) -> bool {
    headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
}

/// A reqwest error with the chain of its causes, for a message.
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
    fn redirects_stay_on_the_site() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(same_site(
            &u("https://a.example/x"),
            &u("https://A.example/y")
        ));
        assert!(same_site(
            &u("http://a.example/x"),
            &u("https://a.example/x")
        ));
        assert!(!same_site(
            &u("https://a.example/x"),
            &u("http://a.example/x")
        ));
        assert!(!same_site(
            &u("https://a.example/"),
            &u("https://b.example/")
        ));
        assert!(!same_site(
            &u("https://a.example/"),
            &u("https://a.example:8443/")
        ));
    }

    #[test]
    fn only_calls_with_a_token_skip_robots_txt() {
        assert!(is_api_call(&[("Authorization", "Bearer t".into())]));
        assert!(is_api_call(&[("authorization", "Bearer t".into())]));
        assert!(!is_api_call(&[]));
        assert!(!is_api_call(&[("Accept", "application/json".into())]));
    }
}
