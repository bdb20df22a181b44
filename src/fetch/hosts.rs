//! What each host allows: request spacing and robots.txt.
//!
//! Owns: one rate limiter per host (scheme, host and port), shared by every
//! source and crawl that asks that host; the spacing it keeps (the source's
//! `requests_per_second`, or the host's robots.txt `Crawl-delay` when that is
//! longer); reading robots.txt (at the first request of each crawl to a host,
//! conditionally when an earlier answer is kept, and again whenever the last
//! read failed) as RFC 9309 says: following up to five redirects to any host,
//! and using the first [`ROBOTS_MAX_BYTES`] of a longer file; and refusing
//! the addresses it disallows (every address asked, redirect targets too).
//!
//! Does not own: retries of ordinary requests (`retry`; robots.txt has its
//! own small retry loop here, since a failure there means staying away), the
//! kept responses (`cache`), or the request loop (the parent module).

use super::retry::Attempts;
use super::{
    body, cache, describe_reqwest, Attempt, Counters, FetchConfig, FetchError, Fetcher,
    ROBOTS_AGENT,
};
use crate::store::CachedResponse;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use reqwest::StatusCode;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use texting_robots::Robot;
use tokio::sync::Mutex as AsyncMutex;
use url::Url;

/// How much of a robots.txt is read; the rest is ignored and what was read
/// is used (RFC 9309 §2.5 asks for at least 500 KiB). A file cut here is used
/// up to its last whole line, so a rule is never read half-written.
pub const ROBOTS_MAX_BYTES: usize = 512 * 1024;

/// Redirects followed when asking for robots.txt, to any host (RFC 9309
/// §2.3.1.2 asks for at least five). A longer chain counts as no robots.txt.
pub const ROBOTS_MAX_REDIRECTS: usize = 5;

/// The client robots.txt is read with: like the page client, but it follows
/// up to [`ROBOTS_MAX_REDIRECTS`] redirects to any http(s) host. Only the
/// rules are taken from what it reads; no page is fetched this way.
pub(super) fn robots_client(config: &FetchConfig) -> Result<reqwest::Client, FetchError> {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        // `previous` holds every address asked so far, the first included.
        if attempt.previous().len() > ROBOTS_MAX_REDIRECTS
            || !matches!(attempt.url().scheme(), "http" | "https")
            || attempt.previous().contains(attempt.url())
        {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .user_agent(config.user_agent.clone())
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .redirect(policy)
        .gzip(true)
        .build()
        .map_err(|e| FetchError::Network {
            url: String::new(),
            message: e.to_string(),
        })
}

/// `body` up to the end of its last whole line (all of it when it has none).
fn whole_lines(body: &[u8]) -> &[u8] {
    match body.iter().rposition(|&b| b == b'\n') {
        Some(i) => &body[..=i],
        None => body,
    }
}

/// The per-host state of a fetcher.
#[derive(Default)]
pub(super) struct Hosts {
    /// Host key → its state, created by the first request to the host.
    table: AsyncMutex<HashMap<String, Arc<AsyncMutex<Option<HostState>>>>>,
    /// Addresses already logged as disallowed, so each is logged once.
    logged_disallowed: Mutex<HashSet<String>>,
}

/// What is known of one host.
struct HostState {
    limiter: Arc<DefaultDirectRateLimiter>,
    /// The spacing `limiter` enforces.
    period: Duration,
    /// The rules last read; `None` until read, or when the last read failed.
    robots: Option<Arc<Robot>>,
}

/// Waits until the host's limiter lets a request go, counting in
/// `counters.spaced` a request that had to wait.
pub(super) async fn wait_turn(limiter: &DefaultDirectRateLimiter, counters: &Counters) {
    if limiter.check().is_err() {
        counters.spaced.fetch_add(1, Ordering::Relaxed);
        limiter.until_ready().await;
    }
}

impl Fetcher {
    async fn host_entry(&self, url: &Url) -> Arc<AsyncMutex<Option<HostState>>> {
        let key = host_key(url);
        let mut hosts = self.hosts.table.lock().await;
        hosts.entry(key).or_default().clone()
    }

    /// Makes sure robots.txt allows `url` (when `robots`) and returns the
    /// host's limiter; robots.txt is read at the first request of each crawl
    /// (`robots_read`) to the host, and whenever the last read failed.
    pub(super) async fn admit(
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
            wait_turn(&state.limiter, counters).await;
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
            let mut logged = self.hosts.logged_disallowed.lock().expect("not poisoned");
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
    /// unchanged file costs a `304` and its stored body is used. No robots.txt
    /// (a 4xx other than 429) allows everything; a server error or no answer,
    /// after retries, is `RobotsUnavailable`.
    async fn fetch_robots(
        &self,
        robots_url: &Url,
        counters: &Counters,
    ) -> Result<Robot, FetchError> {
        let cached = self.kept(robots_url);
        let mut attempts = Attempts::new(&self.config);
        loop {
            counters.requests.fetch_add(1, Ordering::Relaxed);
            let req =
                cache::conditional(self.robots_client.get(robots_url.clone()), cached.as_ref());
            let attempt = match req.send().await {
                Ok(resp) => {
                    self.read_robots_answer(robots_url, resp, cached.as_ref(), counters, &attempts)
                        .await
                }
                Err(e) if attempts.exhausted() => {
                    Attempt::Done(Err(FetchError::RobotsUnavailable {
                        url: robots_url.to_string(),
                        message: describe_reqwest(&e),
                        status: None,
                    }))
                }
                Err(_) => Attempt::Retry(None),
            };
            match attempt {
                Attempt::Done(result) => return result,
                Attempt::Retry(retry_after) => attempts.wait(retry_after).await,
            }
        }
    }

    /// The rules an answer for robots.txt gives: the kept ones for a `304`,
    /// the body's for a success, none (everything allowed) for a redirect
    /// chain too long or a 4xx other than 429; anything else is asked again
    /// while `attempts` has retries left, then `RobotsUnavailable`.
    async fn read_robots_answer(
        &self,
        robots_url: &Url,
        resp: reqwest::Response,
        cached: Option<&CachedResponse>,
        counters: &Counters,
        attempts: &Attempts,
    ) -> Attempt<Robot> {
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            if let Some(c) = cached {
                counters.not_modified.fetch_add(1, Ordering::Relaxed);
                return Attempt::Done(Ok(parse_robots(robots_url, &c.body)));
            }
        }
        if status.is_success() {
            return self
                .read_robots_body(robots_url, resp, counters, attempts)
                .await;
        }
        // Redirects are followed by the robots client; a 3xx here
        // is a chain longer than `ROBOTS_MAX_REDIRECTS`, a loop, or
        // a target that is not http(s). RFC 9309 lets a crawler
        // count that as no robots.txt.
        if status.is_redirection() {
            tracing::warn!(url = %robots_url, "robots.txt redirects more than {ROBOTS_MAX_REDIRECTS} times or nowhere readable; treating it as allowing everything");
            return Attempt::Done(Ok(allow_all()));
        }
        // No robots.txt (4xx) means no rules; a server error means we
        // cannot know the rules, so we stay away this time.
        if status.is_client_error() && status != StatusCode::TOO_MANY_REQUESTS {
            return Attempt::Done(Ok(allow_all()));
        }
        if attempts.exhausted() {
            return Attempt::Done(Err(FetchError::RobotsUnavailable {
                url: robots_url.to_string(),
                message: format!("HTTP {}", status.as_u16()),
                status: Some(status.as_u16()),
            }));
        }
        Attempt::Retry(None)
    }

    /// The rules of a successful robots.txt answer: its first
    /// [`ROBOTS_MAX_BYTES`] (up to the last whole line when it is longer),
    /// kept for the next conditional request. A connection lost or timed
    /// out while reading it is asked again while `attempts` has retries
    /// left.
    async fn read_robots_body(
        &self,
        robots_url: &Url,
        resp: reqwest::Response,
        counters: &Counters,
        attempts: &Attempts,
    ) -> Attempt<Robot> {
        let headers = resp.headers().clone();
        let read = body::read_prefix(resp, ROBOTS_MAX_BYTES, robots_url, self.config.timeout).await;
        let body = match read {
            Ok(b) => b,
            Err(e) if attempts.exhausted() => {
                return Attempt::Done(Err(FetchError::RobotsUnavailable {
                    url: robots_url.to_string(),
                    message: e.to_string(),
                    status: None,
                }))
            }
            Err(_) => return Attempt::Retry(None),
        };
        counters
            .bytes
            .fetch_add(body.bytes.len() as u64, Ordering::Relaxed);
        let rules = if body.cut {
            tracing::warn!(url = %robots_url, limit = ROBOTS_MAX_BYTES, "robots.txt is longer than we read; its first {} KiB are used", ROBOTS_MAX_BYTES / 1024);
            whole_lines(&body.bytes)
        } else {
            &body.bytes[..]
        };
        self.remember(robots_url, &headers, rules);
        Attempt::Done(Ok(parse_robots(robots_url, rules)))
    }
}

/// Rules that allow everything: what no robots.txt means.
fn allow_all() -> Robot {
    Robot::new(ROBOTS_AGENT, b"").expect("empty robots.txt parses")
}

/// The rules of robots.txt `body` (read from `robots_url`); a file that
/// cannot be read as rules allows everything.
fn parse_robots(robots_url: &Url, body: &[u8]) -> Robot {
    Robot::new(ROBOTS_AGENT, body).unwrap_or_else(|e| {
        tracing::warn!(url = %robots_url, error = %e, "unreadable robots.txt; treating it as allowing everything");
        allow_all()
    })
}

/// The key of `url`'s host: scheme, host and port.
fn host_key(url: &Url) -> String {
    format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// The spacing between two requests to a host: one over `rps` (held between
/// one request in 1,000 s and 1,000 a second), or the host's Crawl-delay when
/// that is longer.
fn period_for(rps: f64, crawl_delay: Option<Duration>) -> Duration {
    let ours = Duration::from_secs_f64(1.0 / rps.clamp(0.001, 1000.0));
    match crawl_delay {
        Some(d) if d > ours => d,
        _ => ours,
    }
}

/// One request per `period` (at least 1 ms), with no burst.
fn quota_for(period: Duration) -> Quota {
    Quota::with_period(period.max(Duration::from_millis(1)))
        .expect("period is non-zero")
        .allow_burst(NonZeroU32::MIN)
}

fn limiter_for(period: Duration) -> DefaultDirectRateLimiter {
    RateLimiter::direct(quota_for(period))
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_spacing_is_our_rate_or_a_longer_crawl_delay() {
        assert_eq!(period_for(5.0, None), 200 * MS);
        assert_eq!(period_for(1.0, None), 1000 * MS);
        // Crawl-delay: 1 with our 10 a second: the site's delay wins.
        assert_eq!(period_for(10.0, Some(1000 * MS)), 1000 * MS);
        // A Crawl-delay shorter than our own spacing changes nothing.
        assert_eq!(period_for(1.0, Some(100 * MS)), 1000 * MS);
        // Absurd rates are held to sane bounds.
        assert_eq!(period_for(0.0, None), Duration::from_secs(1000));
        assert_eq!(period_for(1e9, None), MS);
    }

    #[test]
    fn the_limiter_lets_one_request_through_per_period() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::direct_with_clock(quota_for(200 * MS), clock.clone());
        assert!(limiter.check().is_ok(), "the first request goes at once");
        assert!(limiter.check().is_err(), "no burst: the second waits");
        clock.advance(199 * MS);
        assert!(limiter.check().is_err(), "not before the period is over");
        clock.advance(MS);
        assert!(limiter.check().is_ok(), "one period after the first");
        assert!(limiter.check().is_err());
    }

    #[test]
    fn a_crawl_delay_slows_the_limiter_down() {
        let clock = FakeRelativeClock::default();
        let period = period_for(10.0, Some(1000 * MS));
        let limiter = RateLimiter::direct_with_clock(quota_for(period), clock.clone());
        assert!(limiter.check().is_ok());
        // Our own rate would allow the next request after 100 ms.
        clock.advance(100 * MS);
        assert!(limiter.check().is_err());
        clock.advance(899 * MS);
        assert!(limiter.check().is_err());
        clock.advance(MS);
        assert!(limiter.check().is_ok());
    }

    #[test]
    fn a_cut_robots_txt_keeps_only_whole_lines() {
        assert_eq!(
            whole_lines(b"User-agent: *\nDisallow: /private\nAllow: /pr"),
            b"User-agent: *\nDisallow: /private\n"
        );
        assert_eq!(whole_lines(b"Disallow: /x"), b"Disallow: /x");
    }

    #[test]
    fn hosts_differ_by_scheme_host_and_port() {
        let key = |s: &str| host_key(&Url::parse(s).unwrap());
        assert_eq!(key("https://a.example/x"), key("https://a.example:443/y?z"));
        assert_ne!(key("https://a.example/"), key("http://a.example/"));
        assert_ne!(key("https://a.example/"), key("https://a.example:8443/"));
        assert_ne!(key("https://a.example/"), key("https://b.example/"));
    }
}
