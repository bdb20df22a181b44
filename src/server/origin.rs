//! The origin of a request's absolute links: the public URL the server was
//! configured with, or the scheme and host a trusted proxy forwarded
//! (`Forwarded`, else `X-Forwarded-Proto` and `X-Forwarded-Host`, else the
//! `Host` the proxy passed on), or none for links relative to the root.
//!
//! Does not own which of these a server uses (`views::PublicOrigin`, chosen
//! when it starts) or how a configured URL is checked (`site`).

use crate::views::PublicOrigin;
use axum::http::{header, HeaderMap};

/// The origin of a request's links under `origin`, or `None` for relative links.
pub(super) fn origin_of(origin: &PublicOrigin, headers: &HeaderMap) -> Option<String> {
    match origin {
        PublicOrigin::Configured(o) => Some(o.clone()),
        PublicOrigin::TrustedProxy => forwarded_origin(headers),
        PublicOrigin::Relative => None,
    }
}

/// The origin a trusted proxy forwarded (see `PublicOrigin::TrustedProxy`),
/// when its host is a plausible host name.
fn forwarded_origin(headers: &HeaderMap) -> Option<String> {
    let all = |name: header::HeaderName| -> Option<String> {
        let v: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        (!v.is_empty()).then(|| v.join(","))
    };
    let last = |s: &str| s.rsplit(',').next().map(|x| x.trim().to_string());
    let (mut proto, mut host) = (None, None);
    // RFC 7239: the proxy appends its element, so the last one is the
    // trusted proxy's own.
    if let Some(f) = all(header::FORWARDED) {
        for pair in last(&f).unwrap_or_default().split(';') {
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"').to_string();
            match k.trim().to_ascii_lowercase().as_str() {
                "proto" => proto = Some(v),
                "host" => host = Some(v),
                _ => {}
            }
        }
    }
    if proto.is_none() {
        proto = all(header::HeaderName::from_static("x-forwarded-proto")).and_then(|v| last(&v));
    }
    if host.is_none() {
        host = all(header::HeaderName::from_static("x-forwarded-host")).and_then(|v| last(&v));
    }
    let host = host.or_else(|| {
        headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    })?;
    let plausible = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if !plausible {
        return None;
    }
    let scheme = if proto.is_some_and(|p| p.eq_ignore_ascii_case("https")) {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{}", host.to_ascii_lowercase()))
}
