//! The routes for those who run the server: `/healthz` (`200` while the
//! store can be read, naming failing sources), `/metrics` (Prometheus text)
//! and `/backup` (a backup file of the store, only with the token the server
//! left in its data directory).
//!
//! Does not own the metrics' families and counts (`metrics`) or the backup
//! file's format (`backup`).

use super::respond::{json, text, ApiError};
use crate::store::StoreError;
use crate::views::{lock, AppState};
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// 200 whenever the store can be read, even with failing sources (they are
/// named in the body): a monitor should page about the server, not about a
/// booking site being down. 503 only when the store itself fails.
pub(super) async fn healthz(State(st): State<AppState>) -> Response {
    match st.healthz_body() {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
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

impl AppState {
    /// `/healthz`'s JSON: `status` (`ok`, or `degraded` when a source is
    /// unhealthy), the store's `generation`, its `sessions` and the
    /// `unhealthy_sources`. Kept with the store generation and health
    /// version it was written at (`Store::health_version` moves on every
    /// health write), so while neither moves an answer is a lock and a
    /// reference count: no read of the store, no JSON written.
    fn healthz_body(&self) -> Result<Bytes, StoreError> {
        let health = self.store.health_version();
        let generation = self.store.generation();
        if let Some((g, h, body)) = lock(&self.cache.healthz).as_ref() {
            if (*g, *h) == (generation, health) {
                return Ok(body.clone());
            }
        }
        // The health version is read before the health and the snapshot's
        // generation before its sessions: a write landing meanwhile files
        // newer data under the older key (written again on the next
        // request), never older data under the newer one.
        let snap = self.view_snapshot()?;
        let sources = self.source_statuses()?;
        let unhealthy: Vec<&str> = sources
            .iter()
            .filter(|s| !s.healthy())
            .map(|s| s.id.as_str())
            .collect();
        let body = serde_json::to_vec_pretty(&serde_json::json!({
            "status": if unhealthy.is_empty() { "ok" } else { "degraded" },
            "generation": snap.generation,
            "sessions": snap.stored,
            "unhealthy_sources": unhealthy,
        }))
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let body = Bytes::from(body);
        *lock(&self.cache.healthz) = Some((snap.generation, health, body.clone()));
        Ok(body)
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
