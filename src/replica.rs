//! A replica of the real sites (the WSP booking site, Eventbrite, and a
//! partnership website's iCalendar feed and schema.org event pages), served on loopback from the fixtures under
//! `tests/fixtures/` (embedded in the binary): what `events demo` crawls, and what
//! the end-to-end tests crawl.
//!
//! Owns the URL → fixture mapping, `ETag`/`Last-Modified`/`304`, the API list's
//! `status` filter, the switch to the "second crawl" variant, and request counters. Knows nothing about parsing.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use include_dir::{include_dir, Dir};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use url::Url;

static FIXTURES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/tests/fixtures");

/// Serves `app` on `listener` in the background until the returned sender is
/// dropped (or sent to): how every replica stops with its handle.
pub(crate) fn serve_until_dropped(
    listener: tokio::net::TcpListener,
    app: axum::Router,
) -> tokio::sync::oneshot::Sender<()> {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    tx
}

/// Which real site a replica stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// The WSP booking site (`event-booking`).
    Wsp,
    /// Eventbrite's public site and its API (under `/v3`).
    Eventbrite,
    /// A partnership website's events plugin: its iCalendar feed (`ical`),
    /// at [`ICAL_FEED_PATH`].
    Ical,
    /// A partnership website's event pages with schema.org JSON-LD
    /// (`schema-org`); its listing is `/events/`.
    SchemaOrg,
}

/// Where the `Site::Ical` replica serves its feed.
pub const ICAL_FEED_PATH: &str = "/events/?ical=1";

/// The host the partnership-website fixtures name in their absolute links;
/// the replica serves them with its own address in its place.
pub const PARTNERSHIP_SITE: &str = "https://www.walsallsafeguarding.example";

/// The organiser id the Eventbrite fixtures belong to.
pub const EVENTBRITE_ORGANIZER: &str = "98765432101";
/// The token the Eventbrite replica accepts.
pub const EVENTBRITE_TOKEN: &str = "demo-token";

struct ReplicaState {
    site: Site,
    second: AtomicBool,
    changed: AtomicBool,
    requests: AtomicU64,
    not_modified: AtomicU64,
    log: Mutex<Vec<String>>,
}

/// A running replica; it stops when dropped.
pub struct Replica {
    addr: SocketAddr,
    state: Arc<ReplicaState>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Replica {
    /// Starts a replica of `site` on a free loopback port.
    pub async fn start(site: Site) -> std::io::Result<Replica> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ReplicaState {
            site,
            second: AtomicBool::new(false),
            changed: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            not_modified: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(state.clone());
        let tx = serve_until_dropped(listener, app);
        Ok(Replica {
            addr,
            state,
            _stop: tx,
        })
    }

    /// `http://127.0.0.1:port`: the root of the replica's site.
    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}", self.addr)).expect("loopback URL")
    }

    /// The Eventbrite API base on this replica.
    pub fn api_url(&self) -> Url {
        Url::parse(&format!("http://{}/v3", self.addr)).expect("loopback URL")
    }

    /// Serve the "second crawl" fixtures from now on (sessions moved, cancelled, vanished).
    pub fn second_crawl(&self) {
        self.state.second.store(true, Ordering::SeqCst);
    }

    /// Serve the WSP pages as a site whose markup has changed since the
    /// source file was written: the Places label says "Capacity" and the
    /// places are worded without "places" ("Remaining: 12", "Only 2 left"),
    /// and the description's class is `course-summary`, so
    /// `labels.places` and `selectors.description` find nothing (what
    /// `events check` must name).
    pub fn change_markup(&self) {
        self.state.changed.store(true, Ordering::SeqCst);
    }

    /// How many requests it has answered so far, of any kind.
    pub fn requests(&self) -> u64 {
        self.state.requests.load(Ordering::SeqCst)
    }

    /// How many of those it answered `304 Not Modified`.
    pub fn not_modified(&self) -> u64 {
        self.state.not_modified.load(Ordering::SeqCst)
    }

    /// Every request so far as `path?query`, in order.
    pub fn log(&self) -> Vec<String> {
        self.state
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

async fn handle(State(st): State<Arc<ReplicaState>>, req: Request) -> Response {
    st.requests.fetch_add(1, Ordering::SeqCst);
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    st.log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{query}")
        });
    let second = st.second.load(Ordering::SeqCst);
    let found = match st.site {
        Site::Wsp => wsp_file(&path, &query, second),
        Site::Eventbrite => eventbrite_file(&path, &query, req.headers()),
        Site::Ical => Ok(site_file("ical", &path, second, ".ics")),
        Site::SchemaOrg => Ok(site_file("schema-org", &path, second, ".html")),
    };
    let (status, file) = match found {
        Ok(f) => (StatusCode::OK, f),
        Err(Answer::Status(status, file)) => (status, file),
    };
    let Some(bytes) = file
        .and_then(|f| FIXTURES.get_file(f))
        .map(|f| f.contents())
    else {
        return plain(
            StatusCode::NOT_FOUND,
            "<html><body><h1>404 Not Found</h1></body></html>",
        );
    };
    let bytes = match st.site {
        Site::Eventbrite => filter_by_status(&path, &query, bytes),
        Site::SchemaOrg => rebase_links(bytes, req.headers()),
        Site::Wsp if st.changed.load(Ordering::SeqCst) => changed_markup(bytes),
        _ => Cow::Borrowed(bytes),
    };
    let ctype = content_type_of(file);
    if status != StatusCode::OK {
        return refusal(status, ctype, &bytes);
    }
    answer(&st, req.headers(), ctype, &bytes, second)
}

/// The content type of a fixture file, by its ending.
fn content_type_of(file: Option<&str>) -> &'static str {
    if file_ends(file, ".json") {
        "application/json"
    } else if file_ends(file, ".ics") {
        "text/calendar; charset=utf-8"
    } else if file_ends(file, ".txt") {
        "text/plain; charset=utf-8"
    } else {
        "text/html; charset=utf-8"
    }
}

/// An answer other than 200 with this body; a 429 says when to retry.
fn refusal(status: StatusCode, ctype: &'static str, bytes: &[u8]) -> Response {
    let mut r = Response::new(Body::from(bytes.to_vec()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if status == StatusCode::TOO_MANY_REQUESTS {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

/// A 200 with validators (ETag, Last-Modified) as a real site sends them
/// (Eventbrite's API sends none), or a 304 to a client that has the page.
fn answer(
    st: &ReplicaState,
    headers: &HeaderMap,
    ctype: &'static str,
    bytes: &[u8],
    second: bool,
) -> Response {
    let etag = format!("\"{}\"", &hex(&Sha256::digest(bytes))[..16]);
    // A fixed date per variant: the replica's pages change only between variants.
    let last_modified = if second {
        "Wed, 02 Dec 2026 08:00:00 GMT"
    } else {
        "Tue, 01 Dec 2026 08:00:00 GMT"
    };
    if matches(headers, &etag) {
        st.not_modified.fetch_add(1, Ordering::SeqCst);
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        r.headers_mut().insert(header::ETAG, hv(&etag));
        return r;
    }
    let mut r = Response::new(Body::from(bytes.to_vec()));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    if st.site != Site::Eventbrite {
        h.insert(header::ETAG, hv(&etag));
        h.insert(
            header::LAST_MODIFIED,
            HeaderValue::from_static(last_modified),
        );
    }
    r
}

/// A WSP page as the changed site serves it (see `Replica::change_markup`).
fn changed_markup(bytes: &[u8]) -> Cow<'_, [u8]> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Cow::Borrowed(bytes);
    };
    let mut t = text.to_string();
    for (from, to) in CHANGED_MARKUP {
        t = t.replace(from, to);
    }
    Cow::Owned(t.into_bytes())
}

/// What the changed WSP site says differently: labels and wording, then the
/// description's class.
const CHANGED_MARKUP: &[(&str, &str)] = &[
    ("<dt>Places</dt>", "<dt>Capacity</dt>"),
    ("Places available:", "Remaining:"),
    ("places available", "remaining"),
    ("places left", "left"),
    ("place left", "left"),
    ("Places:", "Capacity:"),
    ("class=\"description\"", "class=\"course-summary\""),
    ("class=\"event-description\"", "class=\"course-summary\""),
    ("id=\"description\"", "id=\"course-summary\""),
];

fn file_ends(file: Option<&str>, ext: &str) -> bool {
    file.is_some_and(|f| f.ends_with(ext))
}

enum Answer {
    Status(StatusCode, Option<&'static str>),
}

fn matches(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

/// `/events-list?c=497&page=2` → `wsp/events-list_c-497_page-2.html`, the
/// second-crawl overlay first when it is on.
fn wsp_file(path: &str, query: &str, second: bool) -> Result<Option<&'static str>, Answer> {
    let mut name = if path == "/robots.txt" {
        "robots.txt".to_string()
    } else {
        let mut n = path.trim_start_matches('/').replace('/', "_");
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            n.push_str(&format!("_{k}-{v}"));
        }
        n.push_str(".html");
        n
    };
    if name.contains("..") || name.is_empty() {
        return Err(Answer::Status(StatusCode::NOT_FOUND, None));
    }
    if second {
        let removed = FIXTURES
            .get_file("wsp/second/removed.txt")
            .and_then(|f| f.contents_utf8())
            .unwrap_or("");
        if removed.lines().any(|l| l.trim() == name) {
            return Err(Answer::Status(StatusCode::NOT_FOUND, None));
        }
        let overlay = format!("wsp/second/{name}");
        if let Some(f) = FIXTURES.get_file(&overlay) {
            return Ok(Some(static_path(f)));
        }
    }
    name = format!("wsp/{name}");
    Ok(FIXTURES.get_file(&name).map(static_path))
}

/// A partnership website: `/event/working-together/` →
/// `{folder}/event_working-together{ext}`, the listing `/events/` →
/// `{folder}/events{ext}` (any query ignored), the second-crawl overlay first
/// when it is on; `None` (404) for anything else, robots.txt included.
fn site_file(folder: &str, path: &str, second: bool, ext: &str) -> Option<&'static str> {
    let name = path.trim_matches('/').replace('/', "_");
    if name.is_empty() || name.contains("..") || name == "robots.txt" {
        return None;
    }
    let name = format!("{name}{ext}");
    if second {
        let removed = FIXTURES
            .get_file(format!("{folder}/second/removed.txt"))
            .and_then(|f| f.contents_utf8())
            .unwrap_or("");
        if removed.lines().any(|l| l.trim() == name) {
            return None;
        }
        if let Some(f) = FIXTURES.get_file(format!("{folder}/second/{name}")) {
            return Some(static_path(f));
        }
    }
    FIXTURES
        .get_file(format!("{folder}/{name}"))
        .map(static_path)
}

/// The fixtures' absolute links name the real site; served here, they name
/// the replica (the `Host` it was asked as), as a real site's own links do.
fn rebase_links<'a>(body: &'a [u8], headers: &HeaderMap) -> Cow<'a, [u8]> {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return Cow::Borrowed(body);
    };
    match std::str::from_utf8(body) {
        Ok(text) if text.contains(PARTNERSHIP_SITE) => Cow::Owned(
            text.replace(PARTNERSHIP_SITE, &format!("http://{host}"))
                .into_bytes(),
        ),
        _ => Cow::Borrowed(body),
    }
}

fn eventbrite_file(
    path: &str,
    query: &str,
    headers: &HeaderMap,
) -> Result<Option<&'static str>, Answer> {
    let q: BTreeMap<&str, &str> = query.split('&').filter_map(|p| p.split_once('=')).collect();
    let file = |name: String| {
        FIXTURES
            .get_file(format!("eventbrite/{name}"))
            .map(static_path)
    };
    if path == "/robots.txt" {
        return Ok(None);
    }
    if let Some(rest) = path.strip_prefix("/v3/") {
        let authorised = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {EVENTBRITE_TOKEN}"));
        if !authorised {
            return Err(Answer::Status(
                StatusCode::UNAUTHORIZED,
                file("api_error_401.json".into()),
            ));
        }
        let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
        return match parts.as_slice() {
            ["organizers", id, "events"] if *id == EVENTBRITE_ORGANIZER => {
                let name = match (q.get("continuation"), q.get("page")) {
                    (Some(_), _) => "api_events_page2.json",
                    (None, Some(&"3")) => "api_events_page3.json",
                    (None, Some(&"1")) | (None, None) => "api_events_page1.json",
                    _ => return Err(Answer::Status(StatusCode::NOT_FOUND, None)),
                };
                Ok(file(name.into()))
            }
            ["events", id, "ticket_classes"] => {
                if let Some(f) = file(format!("api_ticket_classes_{id}.json")) {
                    return Ok(Some(f));
                }
                match file(format!("api_ticket_classes_{id}_403.json")) {
                    Some(f) => Err(Answer::Status(StatusCode::FORBIDDEN, Some(f))),
                    None => Err(Answer::Status(StatusCode::NOT_FOUND, None)),
                }
            }
            _ => Err(Answer::Status(StatusCode::NOT_FOUND, None)),
        };
    }
    if let Some(rest) = path.strip_prefix("/org/") {
        if rest.trim_end_matches('/') == format!("{EVENTBRITE_ORGANIZER}/showmore") {
            let page = q.get("page").copied().unwrap_or("1");
            return Ok(file(format!("showmore_page{page}.json")));
        }
    }
    if let Some(slug) = path.strip_prefix("/e/") {
        let id: String = slug
            .trim_end_matches('/')
            .chars()
            .rev()
            .take_while(char::is_ascii_digit)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Ok(file(format!("event_{id}.html")));
    }
    Ok(None)
}

/// The API's organiser list keeps only the events whose `status` is among those
/// asked for (`status=live,canceled`; `all` or no `status` keeps everything), as
/// Eventbrite documents. `only_public` is deliberately not honoured: an organiser's
/// token has been seen to get unlisted events, and the crawler must cope.
fn filter_by_status<'a>(path: &str, query: &str, body: &'a [u8]) -> Cow<'a, [u8]> {
    if !(path.starts_with("/v3/organizers/") && path.trim_end_matches('/').ends_with("/events")) {
        return Cow::Borrowed(body);
    }
    let Some(asked) = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "status")
        .map(|(_, v)| v.into_owned())
    else {
        return Cow::Borrowed(body);
    };
    let wanted: Vec<&str> = asked.split(',').map(str::trim).collect();
    if wanted.contains(&"all") {
        return Cow::Borrowed(body);
    }
    let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Cow::Borrowed(body);
    };
    if let Some(events) = doc.get_mut("events").and_then(|e| e.as_array_mut()) {
        events.retain(|e| {
            e.get("status")
                .and_then(|s| s.as_str())
                .is_some_and(|s| wanted.contains(&s))
        });
    }
    match serde_json::to_vec_pretty(&doc) {
        Ok(v) => Cow::Owned(v),
        Err(_) => Cow::Borrowed(body),
    }
}

fn static_path(f: &'static include_dir::File<'static>) -> &'static str {
    f.path().to_str().unwrap_or("")
}

fn plain(status: StatusCode, body: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("\"x\""))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
