//! Why a crawl failed, typed as lychee's `ErrorKind` is: a [`CrawlError`]
//! keeps its kind ([`ErrorKind`]), the sentence people read, and the error it
//! came from. Health and `/api/sources` show the kind beside the sentence, and
//! `/metrics` counts failures by it.
//!
//! Also the [`ParseError`] a reader fails with when a page cannot be used at
//! all. Owns the mapping from fetch, parse and store errors to kinds; knows
//! nothing of how a walk goes.

use crate::errors::ErrorKind;
use crate::fetch::FetchError;
use crate::store::StoreError;
use std::sync::Arc;

/// One failed crawl: its kind, its sentence and, where there is one, its cause.
#[derive(Debug, Clone)]
pub struct CrawlError {
    kind: ErrorKind,
    message: String,
    cause: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl CrawlError {
    /// A failure of `kind` in the words of `message`, with no other cause.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CrawlError {
        CrawlError {
            kind,
            message: message.into(),
            cause: None,
        }
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The same failure, its sentence prefixed with where it happened.
    #[must_use]
    pub fn context(self, what: &str) -> CrawlError {
        CrawlError {
            message: format!("{what}: {}", self.message),
            ..self
        }
    }

    fn caused(kind: ErrorKind, e: impl std::error::Error + Send + Sync + 'static) -> CrawlError {
        CrawlError {
            kind,
            message: e.to_string(),
            cause: Some(Arc::new(e)),
        }
    }
}

impl std::fmt::Display for CrawlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CrawlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The kind of a fetch's failure.
pub fn fetch_kind(e: &FetchError) -> ErrorKind {
    match e {
        FetchError::Disallowed { .. } => ErrorKind::Robots,
        // robots.txt unreadable is the site being down, not its refusal.
        FetchError::RobotsUnavailable {
            status: Some(_), ..
        }
        | FetchError::Status { .. } => ErrorKind::HttpStatus,
        FetchError::RobotsUnavailable { status: None, .. } => ErrorKind::Network,
        FetchError::Network { .. } => ErrorKind::Network,
        FetchError::Timeout { .. } => ErrorKind::Timeout,
        FetchError::TooLarge { .. } => ErrorKind::BodyLimit,
        FetchError::Redirect { .. } => ErrorKind::Redirect,
    }
}

impl From<FetchError> for CrawlError {
    fn from(e: FetchError) -> Self {
        CrawlError::caused(fetch_kind(&e), e)
    }
}

impl From<ParseError> for CrawlError {
    fn from(e: ParseError) -> Self {
        CrawlError::caused(ErrorKind::Parse, e)
    }
}

impl From<StoreError> for CrawlError {
    fn from(e: StoreError) -> Self {
        CrawlError::caused(ErrorKind::Store, e)
    }
}

/// A page that cannot be used at all (a single bad entry is a warning instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url}: {message}")]
pub struct ParseError {
    /// The page that could not be used.
    pub url: String,
    /// What is wrong with it, in one sentence.
    pub message: String,
}

impl ParseError {
    /// A page that cannot be used, and why.
    pub fn new(url: impl ToString, message: impl Into<String>) -> Self {
        Self {
            url: url.to_string(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn each_fetch_failure_has_its_kind_and_keeps_its_cause() {
        let url = "https://wsp.example/events".to_string();
        let cases = [
            (
                FetchError::Disallowed { url: url.clone() },
                ErrorKind::Robots,
            ),
            (
                FetchError::Status {
                    url: url.clone(),
                    status: 503,
                    body: Vec::new(),
                    snippet: String::new(),
                },
                ErrorKind::HttpStatus,
            ),
            (
                FetchError::Timeout {
                    url: url.clone(),
                    secs: 30,
                },
                ErrorKind::Timeout,
            ),
            (
                FetchError::TooLarge {
                    url: url.clone(),
                    limit: 10,
                },
                ErrorKind::BodyLimit,
            ),
        ];
        for (fetch, kind) in cases {
            let sentence = fetch.to_string();
            let e = CrawlError::from(fetch);
            assert_eq!(e.kind(), kind);
            assert_eq!(e.to_string(), sentence);
            assert!(e.source().is_some(), "{kind} keeps its cause");
        }
        let e = CrawlError::new(ErrorKind::Limit, "stopped").context("listing");
        assert_eq!(
            (e.kind(), e.to_string().as_str()),
            (ErrorKind::Limit, "listing: stopped")
        );
    }
}
