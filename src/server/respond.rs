//! How the server's own answers are shaped: `ApiError` (a status and one
//! plain-text sentence, the store's failures logged), which every route
//! answers with when it refuses or fails, the feeds too; plain text; and
//! pretty JSON, briefly cacheable.
//!
//! Does not own which handler answers what (`routes` and the handlers) or a
//! cached answer's body and headers (`conditional`).

use crate::answers::QueryError;
use crate::query::FilterError;
use crate::store::StoreError;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error as the client sees it: a status and one plain-text sentence.
#[derive(Debug)]
pub enum ApiError {
    /// `400`: the request is malformed (a [`FilterError`] among others).
    BadRequest(String),
    /// `404`: nothing at this address.
    NotFound(String),
    /// `403`: not for this client.
    Forbidden(String),
    /// `500`: the store could not be read.
    Store(StoreError),
}

/// A refused question is the client's mistake: a `400` with its sentence.
impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

/// A refused filter is the client's mistake: a `400` with the filter's sentence.
impl From<FilterError> for ApiError {
    fn from(e: FilterError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Store(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, msg) = match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, m),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, m),
            ApiError::Store(e) => {
                tracing::error!("reading the store: {e}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("The store could not be read ({e})."),
                )
            }
        };
        text(status, msg)
    }
}

pub(super) fn bad(m: String) -> ApiError {
    ApiError::BadRequest(m)
}

pub(super) fn text(status: StatusCode, msg: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        format!("{msg}\n"),
    )
        .into_response()
}

pub(super) fn json<T: Serialize>(v: &T) -> Response {
    match serde_json::to_vec_pretty(v) {
        Ok(b) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "public, max-age=60"),
            ],
            b,
        )
            .into_response(),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("The answer could not be written as JSON ({e})."),
        ),
    }
}
