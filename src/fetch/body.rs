//! Reading a response body.
//!
//! Owns: reading a body chunk by chunk under a byte limit (refusing it as soon
//! as it passes the limit, or at once when `Content-Length` says it will),
//! reading only the first bytes of a body whose prefix is useful, the
//! limit on how much of an error answer is read, and the first words of a body
//! for an error message.
//!
//! Does not own: decompression, which reqwest does as the body arrives (the
//! client is built with gzip in the parent module, so the limit applies to the
//! decompressed bytes); character sets (bodies are bytes here; `Fetched::text`
//! reads them as UTF-8); or deciding whether a failed read is retried (`retry`).

use super::{describe_reqwest, FetchError};
use url::Url;

/// How much of a non-success answer is read: enough for an API's error object
/// or the words of an error page.
pub(super) const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Reads a body, refusing it once it passes `limit` bytes; `timeout` is the
/// client's, named when it runs out mid-body.
pub(super) async fn read_capped(
    mut resp: reqwest::Response,
    limit: usize,
    url: &Url,
    timeout: std::time::Duration,
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
                    secs: timeout.as_secs(),
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

/// The first bytes of a body, and whether there were more.
pub(super) struct Prefix {
    /// At most the limit's worth of bytes, from the start.
    pub(super) bytes: Vec<u8>,
    /// The body went on past the limit; the rest was not read.
    pub(super) cut: bool,
}

/// Reads at most `limit` bytes of a body and stops there (for a file of which
/// a prefix is useful, as robots.txt); `timeout` is named when it runs out.
pub(super) async fn read_prefix(
    mut resp: reqwest::Response,
    limit: usize,
    url: &Url,
    timeout: std::time::Duration,
) -> Result<Prefix, FetchError> {
    let mut bytes = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - bytes.len();
                if chunk.len() > room {
                    bytes.extend_from_slice(&chunk[..room]);
                    // Dropping the response closes the connection unread.
                    return Ok(Prefix { bytes, cut: true });
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Prefix { bytes, cut: false }),
            Err(e) if e.is_timeout() => {
                return Err(FetchError::Timeout {
                    url: url.to_string(),
                    secs: timeout.as_secs(),
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

/// The first words of a body, tags stripped, for an error message.
pub(super) fn snippet(body: &[u8]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_strips_tags() {
        assert_eq!(
            snippet(b"<html><body><h1>403 Forbidden</h1><p>Request blocked.</p></body></html>"),
            "403 Forbidden Request blocked."
        );
        assert_eq!(snippet(b""), "(empty body)");
    }
}
