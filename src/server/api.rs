//! The JSON API: `/api/sessions` (a part at a time, with a `Link` to the
//! next part and the view's size in `X-Total-Count`, cached and revalidated
//! as feeds are), `/api/changes`, `/api/courses` and `/api/sources`, each
//! answering what the matching `events … --json` command prints, a `400`
//! for a question it cannot read.
//!
//! Does not own what an answer holds (`answers`, through `views`), how a
//! part is asked for (`query::part`), or how JSON, cached answers and
//! errors are sent (`respond`, `conditional`).

use super::conditional::conditional_with;
use super::origin::origin_of;
use super::respond::{json, ApiError};
use crate::answers::{ChangesQuery, SessionsQuery};
use crate::query::part::{DEFAULT_API_LIMIT, MAX_API_LIMIT};
use crate::query::Part;
use crate::views::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;

/// How long a JSON answer may be reused without asking again.
const CACHE_CONTROL_API: &str = "public, max-age=60";

/// `/api/sessions`: a part of a view's upcoming sessions, at most `limit`
/// (`DEFAULT_API_LIMIT`, up to `MAX_API_LIMIT`), with an RFC 8288 `Link`
/// to the next part until the last, and the whole view's size in
/// `X-Total-Count`. Cached and revalidated as feeds are.
pub(super) async fn api_sessions(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let raw = q.as_deref().unwrap_or("");
    let question = SessionsQuery::from_query(raw)?;
    let part = Part::from_query(raw, DEFAULT_API_LIMIT, MAX_API_LIMIT)?;
    let next_query = question.to_query();
    let r = match st.sessions_hit(&question, &part) {
        Some(hit) => hit,
        None => {
            let asked = part.clone();
            st.blocking(move |st| st.sessions_part(&question, asked))
                .await?
        }
    };
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
pub(super) async fn api_changes(
    State(st): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let q = ChangesQuery::from_query(q.as_deref().unwrap_or(""))?;
    Ok(json(&st.changes_answer(&q)?))
}

/// `/api/courses`: the undated eLearning courses, as `events courses
/// --json` prints them.
pub(super) async fn api_courses(State(st): State<AppState>) -> Result<Response, ApiError> {
    Ok(json(&st.courses_answer()?))
}

/// `/api/duplicates`: the sessions several sources list, merged into one
/// entry each, with why, as `events duplicates --json` prints them.
pub(super) async fn api_duplicates(State(st): State<AppState>) -> Result<Response, ApiError> {
    Ok(json(&st.duplicates_answer()?))
}

/// `/api/sources`: every source's `SourceStatus`, as `events sources --json`
/// prints it.
pub(super) async fn api_sources(State(st): State<AppState>) -> Result<Response, ApiError> {
    Ok(json(&st.sources_answer()?))
}
