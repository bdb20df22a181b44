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
//!
//! One concern a file:
//! - `listen`: binding the socket, and the accept loop that applies the
//!   limits to each connection;
//! - `limits`: `Limits`, the constants they default to, and each client's
//!   count of connections;
//! - `routes`: the router and the layers every request goes through
//!   (metrics, methods, request time), and the `404`;
//! - `feeds`: `/calendar.ics`, its pretty paths and `/changes.atom`;
//! - `index`: the page at `/`;
//! - `api`: `/api/sessions`, `/api/changes`, `/api/courses`, `/api/sources`;
//! - `ops`: `/healthz`, `/metrics` and `/backup`;
//! - `render`: rendering off the async workers, a few at a time;
//! - `conditional`: a cached answer's `ETag`, `Last-Modified`, `304`s and
//!   gzip;
//! - `origin`: the origin of a request's absolute links;
//! - `respond`: `ApiError`, and the plain-text and JSON responses.
//!
//! Every public item is re-exported here: its path is `server::…` whichever
//! file holds it.

mod api;
mod conditional;
mod feeds;
mod index;
mod limits;
mod listen;
mod ops;
mod origin;
mod render;
mod respond;
mod routes;

pub use crate::site::PublicUrlError;
pub use crate::views::{
    fixed_clock, system_clock, AppState, Clock, PublicOrigin, DEFAULT_FEED_CACHE_BYTES,
};
pub use feeds::{changes_query, parse_kinds};
pub use limits::{
    Limits, CLIENT_WARNING_INTERVAL, HEADER_READ_TIMEOUT, MAX_CONNECTIONS,
    MAX_CONNECTIONS_PER_CLIENT, MAX_HEADERS, MAX_HEADER_BYTES, REQUEST_TIMEOUT,
    RESERVED_FOR_NEW_CLIENTS,
};
pub use listen::{bind, serve, serve_with_limits, ServeError, DEFAULT_LISTEN};
pub use respond::ApiError;
pub use routes::ALLOWED_METHODS;
