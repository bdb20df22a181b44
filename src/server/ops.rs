//! The routes for those who run the server: `/healthz` (`200` while the
//! store can be read, naming failing sources), `/metrics` (Prometheus text)
//! and `/backup` (a backup file of the store, only with the token the server
//! left in its data directory).
//!
//! Does not own the metrics' families and counts (`metrics`) or the backup
//! file's format (`backup`).

use super::respond::{json, text, ApiError};
use crate::store::StoreError;
use crate::views::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// 200 whenever the store can be read, even with failing sources (they are
/// named in the body): a monitor should page about the server, not about a
/// booking site being down. 503 only when the store itself fails.
pub(super) async fn healthz(State(st): State<AppState>) -> Response {
    // The snapshot kept for the store's generation, and each source's
    // health: nothing that grows with the number of sessions.
    let result = st.view_snapshot().and_then(|snap| {
        let sources = st.source_statuses_of(&snap)?;
        Ok((snap.generation, snap.stored, sources))
    });
    match result {
        Ok((generation, sessions, sources)) => {
            let unhealthy: Vec<&str> = sources
                .iter()
                .filter(|s| !s.healthy())
                .map(|s| s.id.as_str())
                .collect();
            let mut r = json(&serde_json::json!({
                "status": if unhealthy.is_empty() { "ok" } else { "degraded" },
                "generation": generation,
                "sessions": sessions,
                "unhealthy_sources": unhealthy,
            }));
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            let mut r = json(&serde_json::json!({
                "status": "error",
                "error": e.to_string(),
            }));
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
    }
}

/// `/metrics`: the Prometheus text of `metrics::Metrics`, with the feed
/// cache's bytes and the sources' health as they are now. Never cached; a
/// store that cannot be read is a 500, as elsewhere.
pub(super) async fn metrics(State(st): State<AppState>) -> Result<Response, ApiError> {
    let health = st.store.all_health()?;
    match st.metrics.encode(st.feed_cache_bytes(), &health) {
        Ok(body) => Ok((
            [
                (header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()),
        Err(_) => Ok(text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The metrics could not be written.".into(),
        )),
    }
}

/// `/backup`: a backup file of the store as it is now (`backup::write`), for
/// `events backup` run beside this server. Only with the token the server
/// left in its data directory: the store holds nothing secret, but a copy
/// of it is for those who could copy the directory anyway.
pub(super) async fn backup(
    State(st): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let allowed = match (&st.backup_token, given) {
        (Some(t), Some(g)) => same_secret(t.as_bytes(), g.as_bytes()),
        _ => false,
    };
    if !allowed {
        return Err(ApiError::Forbidden(
            "Backups are taken with `events backup` on the server's own machine, by a user who can read its data directory.".into(),
        ));
    }
    let _permit = st
        .cache
        .rendering
        .acquire()
        .await
        .map_err(|_| ApiError::Store(StoreError::Corrupt("the server is stopping".into())))?;
    let (store, now) = (st.store.clone(), (st.clock)());
    let file = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let mut f = tempfile::tempfile()?;
        crate::backup::write(&store, now, std::io::BufWriter::new(&mut f))?;
        std::io::Seek::rewind(&mut f)?;
        Ok(f)
    })
    .await
    .map_err(|e| ApiError::Store(StoreError::Corrupt(format!("a backup failed: {e}"))))?
    .map_err(|e| ApiError::Store(StoreError::Corrupt(format!("a backup failed: {e}"))))?;
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/gzip"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Compares two secrets in time that depends on their lengths only.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
