//! What every layer says of errors: an operating-system error in the plain
//! words of a one-sentence message, and the kinds of crawl failure
//! ([`ErrorKind`]) that health, `/api/sources` and `/metrics` name. Owns no
//! error type; each layer has its own (`StoreError`, `ConfigError`,
//! `crawl::CrawlError`, …).

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of failure stopped a source's crawl, stable for scripts and
/// monitoring (`error_kind` in `/api/sources`): each means something
/// different to an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorKind {
    /// robots.txt disallows an address the walk needs.
    Robots,
    /// A page, robots.txt or API answered an HTTP error status (after retries).
    HttpStatus,
    /// A page did not answer in time, or the crawl passed `max_crawl_time`.
    Timeout,
    /// The site (or its robots.txt) could not be reached: DNS, connection, TLS.
    Network,
    /// A body passed `limits.max_body_bytes`.
    BodyLimit,
    /// Redirects too many, off the site or to a non-web address.
    Redirect,
    /// A page could not be read as the kind expects.
    Parse,
    /// One of the source's other `[limits]` was reached.
    Limit,
    /// The crawl worked, but found too few sessions to trust (the outage
    /// guard, `min_fraction`), so nothing was changed.
    Refused,
    /// The store (or its disk) failed.
    Store,
    /// Anything else, e.g. a source file that names a setting the walk cannot use.
    Other,
}

impl ErrorKind {
    /// Every kind, in a fixed order (metrics' label values).
    pub const ALL: [ErrorKind; 11] = [
        ErrorKind::Robots,
        ErrorKind::HttpStatus,
        ErrorKind::Timeout,
        ErrorKind::Network,
        ErrorKind::BodyLimit,
        ErrorKind::Redirect,
        ErrorKind::Parse,
        ErrorKind::Limit,
        ErrorKind::Refused,
        ErrorKind::Store,
        ErrorKind::Other,
    ];

    /// The stable name: `robots`, `http-status`, `timeout`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Robots => "robots",
            ErrorKind::HttpStatus => "http-status",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Network => "network",
            ErrorKind::BodyLimit => "body-limit",
            ErrorKind::Redirect => "redirect",
            ErrorKind::Parse => "parse",
            ErrorKind::Limit => "limit",
            ErrorKind::Refused => "refused",
            ErrorKind::Store => "store",
            ErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An I/O error in plain words, without Rust's "(os error N)".
pub fn io_words(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rsplit_once(" (os error ") {
        Some((words, _)) => words.to_lowercase(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn kinds_are_named_as_serde_names_them() {
        for k in ErrorKind::ALL {
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::Value::String(k.as_str().into())
            );
        }
    }

    #[test]
    fn os_errors_lose_their_number() {
        let e = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(super::io_words(&e), "permission denied");
        let plain = std::io::Error::other("the disk is full");
        assert_eq!(super::io_words(&plain), "the disk is full");
    }
}
