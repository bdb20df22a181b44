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

use crate::metrics::Route;
use axum::extract::MatchedPath;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::compression::CompressionLayer;

pub use crate::site::PublicUrlError;
pub use crate::views::{
    fixed_clock, system_clock, AppState, Clock, PublicOrigin, DEFAULT_FEED_CACHE_BYTES,
};

mod ops;
use ops::{backup, healthz, metrics};

mod index;
use index::index;

mod api;
use api::{api_changes, api_courses, api_sessions, api_sources};

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
use respond::text;
pub use respond::ApiError;

mod conditional;

mod origin;

/// The only methods served; any other gets a 405 naming them.
pub const ALLOWED_METHODS: &str = "GET, HEAD";

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
