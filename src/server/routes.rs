//! The router: which handler answers each path, and the layers every
//! request goes through: counted in the metrics under its route template
//! (never the path asked for), `GET` and `HEAD` only (a `405` otherwise),
//! and bounded in time (a `503` when over); a `404` for any other path.
//!
//! Does not own the handlers (`feeds`, `index`, `api`, `ops`), the counting
//! itself (`metrics`), or the limits on connections and request heads
//! (`limits`, applied in `listen`).

use super::api::{api_changes, api_courses, api_duplicates, api_sessions, api_sources};
use super::feeds::{calendar, calendar_category, calendar_source, changes_atom};
use super::index::index;
use super::ops::{backup, healthz, metrics};
use super::respond::{text, ApiError};
use crate::metrics::Route;
use crate::views::AppState;
use axum::extract::MatchedPath;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;

/// The only methods served; any other gets a 405 naming them.
pub const ALLOWED_METHODS: &str = "GET, HEAD";

/// All routes, answering only `ALLOWED_METHODS`, each request bounded by
/// `timeout` and counted in the metrics (outermost, so 405s and 503s are too).
pub(super) fn router_with_timeout(state: AppState, timeout: std::time::Duration) -> Router {
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

/// Feeds compress themselves (their gzip body is cached, with its own ETag);
/// the page and the JSON go through tower-http's compression, but for
/// `/healthz`, whose hundred bytes gain nothing from gzip and whose answer
/// would cost more to compress than to make.
fn routes(state: AppState) -> Router {
    let feeds = Router::new()
        .route("/calendar.ics", get(calendar))
        .route("/calendar/{file}", get(calendar_source))
        .route("/calendar/category/{file}", get(calendar_category))
        .route("/changes.atom", get(changes_atom));
    let health = Router::new().route("/healthz", get(healthz));
    let others = Router::new()
        .route("/", get(index))
        .route("/api/sessions", get(api_sessions))
        .route("/api/sources", get(api_sources))
        .route("/api/changes", get(api_changes))
        .route("/api/courses", get(api_courses))
        .route("/api/duplicates", get(api_duplicates))
        .route("/metrics", get(metrics))
        .route("/backup", get(backup))
        .layer(CompressionLayer::new().gzip(true));
    feeds
        .merge(health)
        .merge(others)
        .fallback(not_found)
        .with_state(state)
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
        Some("/api/duplicates") => Route::ApiDuplicates,
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

/// The fallback: a `404` that points at `/` and `/calendar.ics`.
async fn not_found() -> Response {
    ApiError::NotFound("There is nothing at this address; try / or /calendar.ics.".into())
        .into_response()
}
