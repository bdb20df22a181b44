//! The feed routes: `/calendar.ics`, its pretty paths (`/calendar/wsp.ics`,
//! `/calendar/category/child-neglect.ics`) and `/changes.atom`. Reads each
//! one's filters from its path and query string (a `400` for a bad one) and
//! has the feed rendered off the async workers (`render`).
//!
//! Does not own the headers and `304`s a feed goes out with
//! (`conditional`), what a feed holds and how it is rendered and cached
//! (`views`), or a query string's grammar (`query`, `answers`).

use super::conditional::conditional;
use super::origin::origin_of;
use super::respond::{bad, ApiError};
use crate::answers;
use crate::changes::ChangeKind;
use crate::query::{Filter, MAX_VALUE_CHARS};
use crate::views::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;

/// `/calendar.ics`: the feed of the view the query string's filters ask for.
pub(super) async fn calendar(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let f = Filter::from_query(q.as_deref().unwrap_or(""))?;
    feed_response(&st, f, &headers).await
}

/// `/calendar/wsp.ics`: one source's feed, query filters still apply.
pub(super) async fn calendar_source(
    State(st): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let id = ics_stem(&file)?;
    let mut f = Filter::from_query(q.as_deref().unwrap_or(""))?;
    // The path's id is held to the same rules as a `source` parameter, with
    // a sentence about the path (not about a query string it never was).
    let path_filter = Filter {
        source: Some(id.to_string()),
        ..Filter::default()
    }
    .checked()
    .map_err(|_| {
        bad(format!(
            "The source in the path must be a source id such as wsp or vrp (at most {MAX_VALUE_CHARS} characters)."
        ))
    })?;
    if f.source.is_some() && f.source != path_filter.source {
        return Err(bad(
            "The path already names a source; drop the `source` parameter.".into(),
        ));
    }
    f.source = path_filter.source;
    feed_response(&st, f, &headers).await
}

/// `/calendar/category/child-neglect.ics`: one category's feed, by its slug.
pub(super) async fn calendar_category(
    State(st): State<AppState>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let s = ics_stem(&file)?;
    if s.is_empty() || s.chars().count() > MAX_VALUE_CHARS {
        return Err(bad("The category in the path is empty or too long.".into()));
    }
    let mut f = Filter::from_query(q.as_deref().unwrap_or(""))?;
    if !f.categories.is_empty() {
        return Err(bad(
            "The path already names a category; drop the `category` parameter.".into(),
        ));
    }
    f.categories = vec![s.to_string()];
    feed_response(&st, f, &headers).await
}

/// A feed's file name without its `.ics`; a `404` for any other name.
fn ics_stem(file: &str) -> Result<&str, ApiError> {
    file.strip_suffix(".ics").ok_or_else(|| {
        ApiError::NotFound("Calendar addresses end in .ics, e.g. /calendar/wsp.ics.".into())
    })
}

/// `/changes.atom`: the newest changes of a view (at most `atom::MAX_ENTRIES`),
/// with the calendar's filters plus `kind` (repeatable, or comma-separated).
pub(super) async fn changes_atom(
    State(st): State<AppState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let filter = st
        .view_snapshot()?
        .canonical(Filter::from_query(q.as_deref().unwrap_or(""))?);
    let kinds = parse_kinds(q.as_deref())?;
    // No known origin: links relative to the host's root.
    let base = origin_of(&st.origin, &headers).unwrap_or_default();
    let r = st
        .blocking(move |st| st.changes_feed(&filter, &kinds, &base))
        .await?;
    Ok(conditional(
        &r,
        "application/atom+xml; charset=utf-8",
        &headers,
    ))
}

/// The `kind` parameters of a query string (see `answers::parse_kinds`);
/// an unknown one is a `BadRequest`.
pub fn parse_kinds(raw: Option<&str>) -> Result<Vec<ChangeKind>, ApiError> {
    Ok(answers::parse_kinds(raw.unwrap_or(""))?)
}

/// The query string of a changes view: the filter's, then its kinds.
pub fn changes_query(filter: &Filter, kinds: &[ChangeKind]) -> String {
    answers::changes_query(filter, kinds)
}

/// The calendar feed of `filter`, as `conditional` sends it.
async fn feed_response(
    st: &AppState,
    filter: Filter,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let r = st.feed_blocking(filter).await?;
    Ok(conditional(&r, "text/calendar; charset=utf-8", headers))
}
