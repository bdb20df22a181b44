//! `/`: the HTML page of a view, a part at a time, with absolute links when
//! the request's origin is known; cached as feeds are, and revalidated on
//! every visit.
//!
//! Does not own the HTML (`page`, through `views`) or how the origin is
//! found (`origin`).

use super::conditional::conditional_with;
use super::origin::origin_of;
use super::respond::ApiError;
use crate::query::part::PAGE_PART;
use crate::query::{Filter, Part};
use crate::views::AppState;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

/// `/`: the page of the view the query string's filters ask for.
pub(super) async fn index(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let raw = q.as_deref().unwrap_or("");
    let filter = Filter::from_query(raw)?;
    let part = Part::from_query(raw, PAGE_PART, PAGE_PART)?;
    let origin = origin_of(&st.origin, &headers);
    let r = match st.page_hit(&filter, &part, &origin) {
        Some(hit) => hit,
        None => st.blocking(move |st| st.page(filter, part, origin)).await?,
    };
    // Relative times ("2 hours ago") go stale; always revalidate.
    Ok(conditional_with(
        &r,
        "text/html; charset=utf-8",
        "no-cache",
        &headers,
    ))
}
