//! Asking again after a failure.
//!
//! Owns: which answers are retried (429, 408 and server errors; connection
//! failures and timeouts are retried by the request loop), how many times
//! (`max_retries`), how long to wait between attempts (a doubling backoff with
//! jitter, or the server's `Retry-After` when it gives one), and the longest
//! `Retry-After` honoured before the request is given up instead.
//!
//! Does not own: the request spacing of a host (`hosts`; a retry still waits
//! its turn there), building or sending requests, or reading bodies.

use super::FetchConfig;
use rand::Rng;
use reqwest::header::HeaderValue;
use reqwest::StatusCode;
use std::time::Duration;

/// The retries of one request: how many were made, and how long to wait
/// before the next.
pub(super) struct Attempts {
    max_retries: u32,
    backoff: Duration,
    max_retry_after: Duration,
    /// Retries made so far.
    made: u32,
}

impl Attempts {
    /// No retries made yet, under `config`'s limits.
    pub(super) fn new(config: &FetchConfig) -> Self {
        Attempts {
            max_retries: config.max_retries,
            backoff: config.backoff,
            max_retry_after: config.max_retry_after,
            made: 0,
        }
    }

    /// Retries made so far.
    pub(super) fn retries(&self) -> u32 {
        self.made
    }

    /// Every retry allowed has been made: the next failure is final.
    pub(super) fn exhausted(&self) -> bool {
        self.made >= self.max_retries
    }

    /// Whether an answer with `status` (not a success) is asked again, given
    /// the `Retry-After` it came with: only a status worth retrying, while
    /// retries are left, and never when the server asks for a longer wait than
    /// `max_retry_after`.
    pub(super) fn should_retry(&self, status: StatusCode, retry_after: Option<Duration>) -> bool {
        let too_long = retry_after.is_some_and(|w| w > self.max_retry_after);
        retryable_status(status) && !self.exhausted() && !too_long
    }

    /// The wait before the next attempt: the server's `retry_after` when given,
    /// else the backoff for that attempt.
    pub(super) fn next_wait(&self, retry_after: Option<Duration>) -> Duration {
        retry_after.unwrap_or_else(|| backoff(self.backoff, self.made + 1))
    }

    /// Counts a retry and sleeps until it may be made (`next_wait`).
    pub(super) async fn wait(&mut self, retry_after: Option<Duration>) {
        let delay = self.next_wait(retry_after);
        self.made += 1;
        tokio::time::sleep(delay).await;
    }
}

/// Statuses that may go away if asked again: too many requests, a request
/// timeout, and server errors. Any other client error is final.
pub(super) fn retryable_status(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

/// The wait before retry number `attempt` (1-based): `base` doubled for each
/// attempt (up to 2¹⁰ times), plus up to half as much again at random, so
/// that many clients do not come back at once.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let base = base.saturating_mul(1 << attempt.min(10));
    let jitter = rand::thread_rng().gen_range(0.0..0.5);
    base.mul_f64(1.0 + jitter)
}

/// `Retry-After` as seconds or an HTTP date.
pub(super) fn parse_retry_after(v: Option<&HeaderValue>) -> Option<Duration> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> FetchConfig {
        FetchConfig {
            max_retries: 2,
            backoff: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(120),
            ..FetchConfig::default()
        }
    }

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
        assert_eq!(parse_retry_after(None), None);
    }

    #[test]
    fn only_passing_failures_are_retried() {
        for s in [429, 408, 500, 502, 503, 504] {
            assert!(retryable_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 410] {
            assert!(!retryable_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }

    #[test]
    fn the_server_s_retry_after_is_the_wait_unless_it_is_too_long() {
        let a = Attempts::new(&config());
        let two = Some(Duration::from_secs(2));
        assert!(a.should_retry(StatusCode::TOO_MANY_REQUESTS, two));
        assert_eq!(a.next_wait(two), Duration::from_secs(2));
        assert!(a.should_retry(StatusCode::SERVICE_UNAVAILABLE, None));
        let hour = Some(Duration::from_secs(3600));
        assert!(!a.should_retry(StatusCode::TOO_MANY_REQUESTS, hour));
        assert!(!a.should_retry(StatusCode::NOT_FOUND, None));
    }

    #[test]
    fn backoff_doubles_with_jitter_of_at_most_half() {
        let base = Duration::from_millis(100);
        for attempt in 1..=4 {
            let floor = base * (1 << attempt);
            for _ in 0..50 {
                let d = backoff(base, attempt);
                assert!(d >= floor && d < floor.mul_f64(1.5), "{attempt}: {d:?}");
            }
        }
        // Doubling stops at 2¹⁰.
        let d = backoff(base, 30);
        assert!(d >= base * 1024 && d < (base * 1024).mul_f64(1.5), "{d:?}");
    }

    #[tokio::test]
    async fn retries_run_out() {
        let mut a = Attempts::new(&FetchConfig {
            backoff: Duration::ZERO,
            ..config()
        });
        assert!(!a.exhausted());
        a.wait(Some(Duration::ZERO)).await;
        a.wait(None).await;
        assert_eq!(a.retries(), 2);
        assert!(a.exhausted());
        assert!(!a.should_retry(StatusCode::SERVICE_UNAVAILABLE, None));
    }
}
