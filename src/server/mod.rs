//! `events serve`: the HTTP server over the views of the store (`views`).
//!
//! Owns the routes (`/`, `/calendar.ics` and its pretty paths, `/changes.atom`,
//! `/api/sessions`, `/api/changes`, `/api/courses`, `/api/sources`, `/backup`,
//! `/healthz`, `/metrics`) and which route template each request is counted
//! under (`metrics` owns the counting), the 400s for bad query strings, and
//! the HTTP headers calendar and feed clients rely on: `ETag`,
//! `Last-Modified`, `Cache-Control`, conditional `304`s, `HEAD` and gzip; the
//! origin of a request's absolute links (a configured public URL or a
//! trusted proxy's headers, never a bare `Host`); and the limits clients are
//! held to (`Limits`): methods, header size and read time, connections in all
//! and per client address, and request time (a query string's limits are
//! `query`'s).
//!
//! Does not own what a view holds or how it is rendered and cached
//! (`views`, which `events export` uses too), crawling or parsing (the
//! crawler fills the store, maybe in the same process), how a filter is read
//! from and written to a query string (`query`), or the HTML (`page`).

use crate::answers::{ChangesQuery, SessionsQuery};
use crate::metrics::Route;
use crate::query::part::{DEFAULT_API_LIMIT, MAX_API_LIMIT, PAGE_PART};
use crate::query::{Filter, Part};
use crate::store::StoreError;
use axum::body::Body;
use axum::extract::{MatchedPath, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;

pub use crate::site::PublicUrlError;
pub use crate::views::{
    fixed_clock, system_clock, AppState, Clock, PublicOrigin, DEFAULT_FEED_CACHE_BYTES,
};

mod feeds;
use feeds::{calendar, calendar_category, calendar_source, changes_atom};
pub use feeds::{changes_query, parse_kinds};

mod render;

mod listen;
pub use listen::{bind, serve, serve_with_limits, ServeError, DEFAULT_LISTEN};

mod limits;
pub use limits::{
    Limits, CLIENT_WARNING_INTERVAL, HEADER_READ_TIMEOUT, MAX_CONNECTIONS,
    MAX_CONNECTIONS_PER_CLIENT, MAX_HEADERS, MAX_HEADER_BYTES, REQUEST_TIMEOUT,
    RESERVED_FOR_NEW_CLIENTS,
};

mod respond;
pub use respond::ApiError;
use respond::{json, text};

mod conditional;
use conditional::conditional_with;

mod origin;
use origin::origin_of;

/// The only methods served; any other gets a 405 naming them.
pub const ALLOWED_METHODS: &str = "GET, HEAD";

/// How long a JSON answer may be reused without asking again.
const CACHE_CONTROL_API: &str = "public, max-age=60";

/// All routes, answering only `ALLOWED_METHODS`, each request bounded by
/// `timeout` and counted in the metrics (outermost, so 405s and 503s are too).
fn router_with_timeout(state: AppState, timeout: std::time::Duration) -> Router {
    let metrics = state.metrics.clone();
    routes(state)
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                match tokio::time::timeout(timeout, next.run(req)).await {
                    Ok(r) => r,
                    Err(_) => {
                        tracing::warn!(?timeout, "a request took too long and was answered 503");
                        text(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "The server took too long to answer; try again shortly.".into(),
                        )
                    }
                }
            },
        ))
        .layer(axum::middleware::from_fn(only_get_and_head))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let metrics = metrics.clone();
                async move {
                    let route = route_of(req.extensions().get::<MatchedPath>());
                    let response = next.run(req).await;
                    metrics.record_request(route, response.status().as_u16());
                    response
                }
            },
        ))
}

/// The route template a request was routed to, from the router's own
/// match (never the path asked for); `Route::Other` for the fallback.
fn route_of(matched: Option<&MatchedPath>) -> Route {
    match matched.map(MatchedPath::as_str) {
        Some("/") => Route::Index,
        Some("/calendar.ics") => Route::Calendar,
        Some("/calendar/{file}") => Route::CalendarSource,
        Some("/calendar/category/{file}") => Route::CalendarCategory,
        Some("/changes.atom") => Route::ChangesAtom,
        Some("/api/sessions") => Route::ApiSessions,
        Some("/api/sources") => Route::ApiSources,
        Some("/api/changes") => Route::ApiChanges,
        Some("/api/courses") => Route::ApiCourses,
        Some("/healthz") => Route::Healthz,
        Some("/metrics") => Route::Metrics,
        Some("/backup") => Route::Backup,
        _ => Route::Other,
    }
}

/// 405 for every method but `ALLOWED_METHODS`, on every path (the fallback
/// too), with the `Allow` header and one sentence.
async fn only_get_and_head(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    use axum::http::Method;
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return next.run(req).await;
    }
    let mut r = text(
        StatusCode::METHOD_NOT_ALLOWED,
        "Only GET and HEAD are served here.".into(),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(ALLOWED_METHODS));
    r
}

/// Feeds compress themselves (their gzip body is cached, with its own ETag);
/// the page and the JSON go through tower-http's compression.
fn routes(state: AppState) -> Router {
    let feeds = Router::new()
        .route("/calendar.ics", get(calendar))
        .route("/calendar/{file}", get(calendar_source))
        .route("/calendar/category/{file}", get(calendar_category))
        .route("/changes.atom", get(changes_atom));
    let others = Router::new()
        .route("/", get(index))
        .route("/api/sessions", get(api_sessions))
        .route("/api/sources", get(api_sources))
        .route("/api/changes", get(api_changes))
        .route("/api/courses", get(api_courses))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/backup", get(backup))
        .layer(CompressionLayer::new().gzip(true));
    feeds.merge(others).fallback(not_found).with_state(state)
}

async fn not_found() -> Response {
    ApiError::NotFound("There is nothing at this address; try / or /calendar.ics.".into())
        .into_response()
}

async fn index(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let raw = q.as_deref().unwrap_or("");
    let filter = Filter::from_query(raw)?;
    let part = Part::from_query(raw, PAGE_PART, PAGE_PART)?;
    let origin = origin_of(&st.origin, &headers);
    let r = st.blocking(move |st| st.page(filter, part, origin)).await?;
    // Relative times ("2 hours ago") go stale; always revalidate.
    Ok(conditional_with(
        &r,
        "text/html; charset=utf-8",
        "no-cache",
        &headers,
    ))
}

/// `/api/sessions`: a part of a view's upcoming sessions, at most `limit`
/// (`DEFAULT_API_LIMIT`, up to `MAX_API_LIMIT`), with an RFC 8288 `Link`
/// to the next part until the last, and the whole view's size in
/// `X-Total-Count`. Cached and revalidated as feeds are.
async fn api_sessions(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let raw = q.as_deref().unwrap_or("");
    let question = SessionsQuery::from_query(raw)?;
    let part = Part::from_query(raw, DEFAULT_API_LIMIT, MAX_API_LIMIT)?;
    let next_query = question.to_query();
    let asked = part.clone();
    let r = st
        .blocking(move |st| st.sessions_part(&question, asked))
        .await?;
    let mut resp = conditional_with(&r, "application/json", CACHE_CONTROL_API, &headers);
    let h = resp.headers_mut();
    if let Some(total) = r.total {
        h.insert("x-total-count", HeaderValue::from(total));
    }
    if let Some(next) = &r.next {
        let origin = origin_of(&st.origin, &headers).unwrap_or_default();
        let params = part.next_params(next, DEFAULT_API_LIMIT);
        let sep = if next_query.is_empty() { "" } else { "&" };
        let link = format!("<{origin}/api/sessions?{next_query}{sep}{params}>; rel=\"next\"");
        if let Ok(v) = HeaderValue::from_str(&link) {
            h.insert(header::LINK, v);
        }
    }
    Ok(resp)
}

/// `/api/changes`: what `events changes --json` prints for the same
/// question (`since`, `kind` and the view's filters).
async fn api_changes(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = ChangesQuery::from_query(q.as_deref().unwrap_or(""))?;
    Ok(json(&st.changes_answer(&q)?))
}

/// `/api/courses`: the undated eLearning courses, as `events courses
/// --json` prints them.
async fn api_courses(State(st): State<AppState>) -> Result<Response, ApiError> {
    Ok(json(&st.courses_answer()?))
}

/// `/api/sources`: every source's `SourceStatus`, as `events sources --json`
/// prints it.
async fn api_sources(State(st): State<AppState>) -> Result<Response, ApiError> {
    Ok(json(&st.sources_answer()?))
}

/// 200 whenever the store can be read, even with failing sources (they are
/// named in the body): a monitor should page about the server, not about a
/// booking site being down. 503 only when the store itself fails.
async fn healthz(State(st): State<AppState>) -> Response {
    let result = st
        .snapshot()
        .and_then(|(g, all)| Ok((g, all.len(), st.source_statuses(&all)?)));
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

/// `/backup`: a backup file of the store as it is now (`backup::write`), for
/// `events backup` run beside this server. Only with the token the server
/// left in its data directory: the store holds nothing secret, but a copy
/// of it is for those who could copy the directory anyway.
async fn backup(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
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

/// `/metrics`: the Prometheus text of `metrics::Metrics`, with the feed
/// cache's bytes and the sources' health as they are now. Never cached; a
/// store that cannot be read is a 500, as elsewhere.
async fn metrics(State(st): State<AppState>) -> Result<Response, ApiError> {
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
