//! How a rendered, cached answer goes out (a feed, and the page and the
//! parts of `/api/sessions`, which are cached alike): its `ETag` (one per
//! content-coding), `Last-Modified`, `Cache-Control` and `Vary`; a `304`
//! when `If-None-Match`, or else `If-Modified-Since`, says the client's copy
//! is current; and the cached gzip body, sent as it is when the client
//! accepts gzip and unzipped as it streams when not.
//!
//! Does not own rendering or caching (`views`), or compressing the answers
//! made afresh for each request (tower-http's layer, set in `routes`).

use crate::views::RenderedFeed;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

/// How long clients and shared caches may keep a feed without asking again.
const CACHE_CONTROL_FEED: &str = "public, max-age=300";

/// A rendered feed's response: gzip when accepted, `ETag`, `Last-Modified`,
/// and a `304` when the client's copy is current.
pub(super) fn conditional(
    r: &RenderedFeed,
    content_type: &'static str,
    headers: &HeaderMap,
) -> Response {
    conditional_with(r, content_type, CACHE_CONTROL_FEED, headers)
}

/// The same with this `Cache-Control`.
pub(super) fn conditional_with(
    r: &RenderedFeed,
    content_type: &'static str,
    cache_control: &'static str,
    headers: &HeaderMap,
) -> Response {
    let gz = accepts_gzip(headers);
    let etag = if gz {
        format!("\"{}-gzip\"", r.hash)
    } else {
        format!("\"{}\"", r.hash)
    };
    let mut h = HeaderMap::new();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Some(lm) = r.last_modified {
        let t: std::time::SystemTime = lm.into();
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(t)) {
            h.insert(header::LAST_MODIFIED, v);
        }
    }
    // If-Modified-Since counts only without If-None-Match (RFC 9110 §13.1.3).
    let fresh = match none_match(headers, &r.hash) {
        Some(m) => m,
        None => not_modified_since(headers, r.last_modified),
    };
    if fresh {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    if gz {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        return (StatusCode::OK, h, Body::from(r.gzip.clone())).into_response();
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(r.plain_len));
    let plain =
        async_compression::tokio::bufread::GzipDecoder::new(std::io::Cursor::new(r.gzip.clone()));
    let chunks = tokio_util::io::ReaderStream::with_capacity(plain, 64 * 1024);
    (StatusCode::OK, h, Body::from_stream(chunks)).into_response()
}

/// True when `Accept-Encoding` allows gzip (`gzip`, `x-gzip` or `*`, q > 0).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut verdict = None;
    for v in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(v) = v.to_str() else { continue };
        for item in v.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            match coding.as_str() {
                "gzip" | "x-gzip" => verdict = Some(q > 0.0),
                // A wildcard only decides when gzip is not named.
                "*" if verdict.is_none() => verdict = Some(q > 0.0),
                _ => {}
            }
        }
    }
    verdict.unwrap_or(false)
}

/// `If-None-Match` against our tag; `*` and lists match, weak or strong (RFC
/// 9110 §13.1.2 uses weak comparison), either content-coding's form.
fn none_match(headers: &HeaderMap, hash: &str) -> Option<bool> {
    let mut any = false;
    for v in headers.get_all(header::IF_NONE_MATCH) {
        any = true;
        let Ok(v) = v.to_str() else { continue };
        for tag in v.split(',') {
            let tag = tag.trim();
            if tag == "*" {
                return Some(true);
            }
            let tag = tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"');
            let tag = tag.strip_suffix("-gzip").unwrap_or(tag);
            if tag == hash {
                return Some(true);
            }
        }
    }
    any.then_some(false)
}

fn not_modified_since(headers: &HeaderMap, last_modified: Option<DateTime<Utc>>) -> bool {
    let (Some(lm), Some(ims)) = (last_modified, headers.get(header::IF_MODIFIED_SINCE)) else {
        return false;
    };
    let Some(ims) = ims
        .to_str()
        .ok()
        .and_then(|s| httpdate::parse_http_date(s).ok())
    else {
        return false;
    };
    let ims: DateTime<Utc> = ims.into();
    // HTTP dates have whole seconds.
    lm.timestamp() <= ims.timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_negotiation() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0.5"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("*, gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("*"));
        assert!(accepts_gzip(&h));
    }

    #[test]
    fn etag_lists() {
        let mut h = HeaderMap::new();
        assert_eq!(none_match(&h, "abc"), None);
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc-gzip\""),
        );
        assert_eq!(none_match(&h, "abc"), Some(true));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("\"x\""));
        assert_eq!(none_match(&h, "abc"), Some(false));
    }
}
