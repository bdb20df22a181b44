//! HTTP tests of `events serve` on loopback: every route, the filters, the
//! caching headers (ETag, Last-Modified, 304s, HEAD, gzip), the 400s, escaping
//! of scraped text on the page and in the feed, and the render cache.
//!
//! The store is filled directly with `apply_crawl`, and the clock is frozen at
//! 2026-12-01T09:00:00Z, so no test touches the network or the real time.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::servers::Served;
use common::sessions::{self, SessionBuilder};
use events::config::{parse_source, SourceConfig};
use events::model::{Availability, Session, Status};
use events::server::{self, AppState};
use events::store::{CrawlStats, Store};
use reqwest::header;
use reqwest::{Client, StatusCode};
use std::io::Read as _;
use std::path::Path;

const INJECTION: &str = "A\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:evil";
const XSS: &str = "<script>alert(1)</script>";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

struct S {
    source: &'static str,
    id: &'static str,
    title: &'static str,
    category: &'static str,
    start: DateTime<Utc>,
    status: Status,
    spaces: Option<u32>,
    online: bool,
}

fn session(s: S) -> Session {
    let session = sessions::session(s.source, s.id, s.start)
        .titled(s.title)
        .in_category(s.category)
        .described(format!("About {}", s.title))
        .at_venue(if s.online {
            "Virtual - MS Teams"
        } else {
            "Council House, Walsall"
        })
        .held_online(s.online)
        .with_status(s.status)
        .with_availability(Availability {
            spaces_left: s.spaces,
            capacity: Some(20),
            waitlist: false,
            unpublished: false,
        });
    Session {
        prerequisites: (s.id == "101").then(|| "You MUST complete Level 1 first".to_string()),
        ..session
    }
}

fn wsp_sessions() -> Vec<Session> {
    vec![
        session(S {
            source: "wsp",
            id: "101",
            title: "Understanding Child Neglect Level 2",
            category: "Child Neglect",
            start: at(2027, 1, 5, 9, 30),
            status: Status::Scheduled,
            spaces: Some(3),
            online: false,
        }),
        session(S {
            source: "wsp",
            id: "102",
            title: "Self-Neglect and Hoarding",
            category: "Self-Neglect & Hoarding",
            start: at(2026, 12, 8, 10, 0),
            status: Status::Full,
            spaces: Some(0),
            online: true,
        }),
        session(S {
            source: "wsp",
            id: "103",
            title: XSS,
            category: "Child Neglect",
            start: at(2026, 12, 10, 13, 0),
            status: Status::Closed,
            spaces: None,
            online: false,
        }),
        session(S {
            source: "wsp",
            id: "104",
            title: INJECTION,
            category: "Domestic Abuse",
            start: at(2026, 12, 15, 9, 0),
            status: Status::Scheduled,
            spaces: None,
            online: true,
        }),
        // Past, inside the feed's 30-day window but not upcoming.
        session(S {
            source: "wsp",
            id: "105",
            title: "Past Neglect Briefing",
            category: "Child Neglect",
            start: at(2026, 11, 20, 9, 0),
            status: Status::Scheduled,
            spaces: Some(5),
            online: false,
        }),
    ]
}

fn vrp_sessions() -> Vec<Session> {
    vec![
        session(S {
            source: "vrp",
            id: "201",
            title: "Violence Reduction Basics",
            category: "Exploitation",
            start: at(2026, 12, 3, 10, 0),
            status: Status::Scheduled,
            spaces: Some(10),
            online: false,
        }),
        session(S {
            source: "vrp",
            id: "202",
            title: "Trauma-Informed Practice",
            category: "Exploitation",
            start: at(2026, 12, 4, 10, 0),
            status: Status::Cancelled,
            spaces: Some(10),
            online: true,
        }),
    ]
}

fn sources() -> Vec<SourceConfig> {
    vec![
        parse_source(
            Path::new("wsp.toml"),
            "id = \"wsp\"\nname = \"Walsall Safeguarding Partnership\"\nkind = \"event-booking\"\nbase_url = \"https://wsp.example\"\n",
        )
        .unwrap(),
        parse_source(
            Path::new("vrp.toml"),
            "id = \"vrp\"\nname = \"West Midlands Violence Reduction Partnership\"\nkind = \"eventbrite\"\nbase_url = \"https://vrp.example\"\norganizer_id = \"12345\"\n",
        )
        .unwrap(),
    ]
}

/// The store served on loopback, and the store itself (to change it under
/// the server).
struct Server {
    served: Served,
    store: Store,
}

impl Server {
    async fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("data")).unwrap();
        let before = now() - Duration::hours(2);
        sessions::merge_crawl(&store, "wsp", wsp_sessions(), before);
        sessions::merge_crawl(&store, "vrp", vrp_sessions(), before);
        // The latest vrp crawl failed: the page and the API must say so.
        store
            .record_failure(
                "vrp",
                now() - Duration::minutes(30),
                events::errors::ErrorKind::HttpStatus,
                "the listing answered 503 Service Unavailable",
                CrawlStats::default(),
            )
            .unwrap();
        Server::serve(store, sources(), dir).await
    }

    /// Serves `store` with `sources` on loopback, the clock frozen at `now()`.
    async fn serve(store: Store, sources: Vec<SourceConfig>, dir: tempfile::TempDir) -> Server {
        let state = AppState::new(store.clone(), sources, server::fixed_clock(now()));
        Server {
            served: Served::start(state).await.keeping(dir),
            store,
        }
    }

    fn url(&self, path: &str) -> String {
        self.served.url(path)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        raw_client().get(self.url(path)).send().await.unwrap()
    }

    async fn text(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        (r.status(), r.text().await.unwrap())
    }

    async fn stop(self) {
        self.served.stop().await;
    }
}

/// A client that does not ask for or decode gzip, so raw bytes and headers are seen.
fn raw_client() -> Client {
    Client::builder().no_gzip().build().unwrap()
}

fn calendars(body: &str) -> Vec<ical::parser::ical::component::IcalCalendar> {
    ical::IcalParser::new(body.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .expect("the feed parses")
}

fn prop<'a>(props: &'a [ical::property::Property], name: &str) -> Option<&'a str> {
    props
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.as_deref())
}

async fn json(r: reqwest::Response) -> serde_json::Value {
    serde_json::from_str(&r.text().await.unwrap()).unwrap()
}

/// (UID, SUMMARY) of every event in a feed.
fn events(body: &str) -> Vec<(String, String)> {
    let cals = calendars(body);
    assert_eq!(cals.len(), 1);
    cals[0]
        .events
        .iter()
        .map(|e| {
            (
                prop(&e.properties, "UID").unwrap_or("").to_string(),
                prop(&e.properties, "SUMMARY").unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn calname(body: &str) -> String {
    prop(&calendars(body)[0].properties, "X-WR-CALNAME")
        .unwrap_or("")
        .to_string()
}

fn uids(body: &str) -> Vec<String> {
    let mut v: Vec<String> = events(body).into_iter().map(|e| e.0).collect();
    v.sort();
    v
}

fn uid(source: &str, id: &str) -> String {
    format!("{source}-{id}-1@events.safeguarding-training")
}

#[tokio::test]
async fn calendar_feed_headers_and_content() {
    let s = Server::start().await;
    let r = s.get("/calendar.ics").await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h[header::CONTENT_TYPE], "text/calendar; charset=utf-8");
    assert_eq!(h[header::CACHE_CONTROL], "public, max-age=300");
    let etag = h[header::ETAG].to_str().unwrap();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );
    assert!(h.get(header::CONTENT_ENCODING).is_none());
    // The newest last_changed: both crawls ran two hours before "now".
    let lm = httpdate::parse_http_date(h[header::LAST_MODIFIED].to_str().unwrap()).unwrap();
    assert_eq!(DateTime::<Utc>::from(lm), now() - Duration::hours(2));
    let body = r.text().await.unwrap();
    assert_eq!(
        calname(&body),
        "Walsall Safeguarding Partnership & West Midlands Violence Reduction Partnership training"
    );
    // Every session in the window, past one and cancelled one included.
    assert_eq!(events(&body).len(), 7);
    s.stop().await;
}

#[tokio::test]
async fn a_title_cannot_inject_calendar_lines() {
    let s = Server::start().await;
    let (_, body) = s.text("/calendar.ics").await;
    let evs = events(&body);
    assert_eq!(
        evs.len(),
        7,
        "the injected END/BEGIN did not split an event"
    );
    assert!(!body.lines().any(|l| l.trim_end() == "SUMMARY:evil"));
    let injected = evs.iter().find(|e| e.0 == uid("wsp", "104")).unwrap();
    assert!(injected.1.contains("evil"), "kept as text: {}", injected.1);
    assert_eq!(body.lines().filter(|l| *l == "BEGIN:VEVENT").count(), 7);
    assert_eq!(body.lines().filter(|l| *l == "END:VEVENT").count(), 7);
    s.stop().await;
}

#[tokio::test]
async fn calendar_filters_and_pretty_paths() {
    let s = Server::start().await;

    let (st, body) = s.text("/calendar.ics?source=wsp").await;
    assert_eq!(st, StatusCode::OK);
    assert!(uids(&body).iter().all(|u| u.starts_with("wsp-")));
    assert_eq!(uids(&body).len(), 5);
    assert_eq!(calname(&body), "Walsall Safeguarding Partnership training");

    let (_, pretty) = s.text("/calendar/wsp.ics").await;
    assert_eq!(pretty, body, "the pretty path is the same feed");

    let (_, vrp) = s.text("/calendar/vrp.ics").await;
    assert_eq!(uids(&vrp), vec![uid("vrp", "201"), uid("vrp", "202")]);

    let (_, neglect) = s.text("/calendar/category/child-neglect.ics").await;
    assert_eq!(
        uids(&neglect),
        vec![uid("wsp", "101"), uid("wsp", "103"), uid("wsp", "105")]
    );
    assert_eq!(
        calname(&neglect),
        "Walsall Safeguarding Partnership & West Midlands Violence Reduction Partnership training — Child Neglect"
    );
    let (_, by_param) = s.text("/calendar.ics?category=Child%20Neglect").await;
    assert_eq!(by_param, neglect, "slug and name give the same view");

    let (_, two) = s
        .text("/calendar.ics?category=Exploitation&category=Domestic+Abuse")
        .await;
    assert_eq!(
        uids(&two),
        vec![uid("vrp", "201"), uid("vrp", "202"), uid("wsp", "104")]
    );

    let (_, q) = s.text("/calendar.ics?q=hoarding").await;
    assert_eq!(uids(&q), vec![uid("wsp", "102")]);

    // With places: full and closed go, cancelled stays so calendars learn of it.
    let (_, avail) = s.text("/calendar.ics?available=1").await;
    assert_eq!(
        uids(&avail),
        vec![
            uid("vrp", "201"),
            uid("vrp", "202"),
            uid("wsp", "101"),
            uid("wsp", "104"),
            uid("wsp", "105")
        ]
    );
    assert!(calname(&avail).contains("with places"));

    let (_, online) = s.text("/calendar.ics?online=1").await;
    assert_eq!(
        uids(&online),
        vec![uid("vrp", "202"), uid("wsp", "102"), uid("wsp", "104")]
    );
    let (_, offline) = s.text("/calendar.ics?online=0&source=vrp").await;
    assert_eq!(uids(&offline), vec![uid("vrp", "201")]);

    // A subscription to a category with no sessions right now stays valid.
    let (st, empty) = s.text("/calendar/category/nothing-here.ics").await;
    assert_eq!(st, StatusCode::OK);
    assert!(uids(&empty).is_empty());

    assert_eq!(
        s.get("/calendar/wsp.txt").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.get("/calendar/wsp.ics?source=vrp").await.status(),
        StatusCode::BAD_REQUEST
    );
    s.stop().await;
}

#[tokio::test]
async fn conditional_requests_give_304() {
    let s = Server::start().await;
    let c = raw_client();
    let url = s.url("/calendar.ics");
    let first = c.get(&url).send().await.unwrap();
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_string();
    let lm = first.headers()[header::LAST_MODIFIED]
        .to_str()
        .unwrap()
        .to_string();

    for inm in [
        etag.clone(),
        "*".to_string(),
        format!("\"nope\", {etag}"),
        format!("W/{etag}"),
    ] {
        let r = c
            .get(&url)
            .header(header::IF_NONE_MATCH, &inm)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "If-None-Match: {inm}");
        assert_eq!(r.headers()[header::ETAG].to_str().unwrap(), etag);
        assert!(r.bytes().await.unwrap().is_empty());
    }
    let r = c
        .get(&url)
        .header(header::IF_NONE_MATCH, "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let r = c
        .get(&url)
        .header(header::IF_MODIFIED_SINCE, &lm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let earlier = httpdate::fmt_http_date((now() - Duration::days(1)).into());
    let r = c
        .get(&url)
        .header(header::IF_MODIFIED_SINCE, earlier)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // If-None-Match wins over If-Modified-Since.
    let r = c
        .get(&url)
        .header(header::IF_NONE_MATCH, "\"other\"")
        .header(header::IF_MODIFIED_SINCE, &lm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    s.stop().await;
}

#[tokio::test]
async fn head_has_the_headers_and_no_body() {
    let s = Server::start().await;
    let c = raw_client();
    let get = c.get(s.url("/calendar.ics")).send().await.unwrap();
    let head = c.head(s.url("/calendar.ics")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    for h in [
        header::ETAG,
        header::LAST_MODIFIED,
        header::CONTENT_TYPE,
        header::CACHE_CONTROL,
    ] {
        assert_eq!(head.headers()[&h], get.headers()[&h], "{h}");
    }
    assert!(head.bytes().await.unwrap().is_empty());
    let head = c.head(s.url("/")).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.bytes().await.unwrap().is_empty());
    s.stop().await;
}

#[tokio::test]
async fn gzip_when_asked() {
    let s = Server::start().await;
    let c = raw_client();
    let plain = c.get(s.url("/calendar.ics")).send().await.unwrap();
    let plain_etag = plain.headers()[header::ETAG].clone();
    let plain = plain.text().await.unwrap();

    let r = c
        .get(s.url("/calendar.ics"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(r.headers()[header::VARY], "Accept-Encoding");
    let gz_etag = r.headers()[header::ETAG].clone();
    assert_ne!(
        gz_etag, plain_etag,
        "each content-coding has its own strong tag"
    );
    let bytes = r.bytes().await.unwrap();
    let mut out = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, plain);

    // The gzip tag revalidates too.
    let r = c
        .get(s.url("/calendar.ics"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .header(header::IF_NONE_MATCH, gz_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    // A decoding client sees the same feed.
    let auto = Client::new()
        .get(s.url("/calendar.ics"))
        .send()
        .await
        .unwrap();
    assert_eq!(auto.text().await.unwrap(), plain);

    // The page and the API are compressed as well.
    for path in ["/", "/api/sessions"] {
        let r = c
            .get(s.url(path))
            .header(header::ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip", "{path}");
    }
    s.stop().await;
}

#[tokio::test]
async fn bad_query_strings_are_400_in_one_sentence() {
    let s = Server::start().await;
    let huge = format!("q={}", "a".repeat(10_000));
    let long_q = format!("q={}", "a".repeat(201));
    let cases = [
        "online=maybe".to_string(),
        "available=yes%20please".to_string(),
        "available=yes please".to_string(),
        "source=WSP%3Cscript%3E".to_string(),
        "days=-1".to_string(),
        "q=a&q=b".to_string(),
        huge,
        long_q,
    ];
    for path in ["/calendar.ics", "/api/sessions", "/", "/calendar/wsp.ics"] {
        for q in &cases {
            let r = s.get(&format!("{path}?{q}")).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}?{q}");
            assert_eq!(
                r.headers()[header::CONTENT_TYPE],
                "text/plain; charset=utf-8"
            );
            let body = r.text().await.unwrap();
            assert!(
                body.ends_with(".\n") && body.lines().count() == 1,
                "{body:?}"
            );
        }
    }
    // Empty values (as an HTML form sends them) and unknown parameters are fine.
    let (st, _) = s
        .text("/calendar.ics?source=&category=&q=&online=&utm_source=newsletter")
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, _) = s.text("/nowhere").await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    s.stop().await;
}

#[tokio::test]
async fn the_page_shows_sessions_escaped_grouped_and_subscribable() {
    let s = Server::start().await;
    let r = s.get("/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let html = r.text().await.unwrap();

    assert!(html.starts_with("<!DOCTYPE html><html lang=\"en-GB\">"));
    assert!(html.contains("name=\"viewport\""));
    // Scraped text is text.
    assert!(!html.contains(XSS));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    // Upcoming only: the past session and nothing withdrawn.
    assert!(!html.contains("Past Neglect Briefing"));
    assert_eq!(html.matches("<li class=\"session").count(), 6);
    assert!(html.contains(&format!("data-uid=\"{}\"", uid("wsp", "101"))));
    // Weeks, times in London, badges with words, prerequisites, booking links.
    assert!(html.contains("Week of Monday 30 November 2026"));
    assert!(html.contains("Week of Monday 4 January 2027"));
    assert!(html.contains("Tuesday 5 January 2027, 09:30–12:30 GMT"));
    assert!(html.contains("<span class=\"badge badge-full\">FULL</span>"));
    assert!(html.contains("<span class=\"badge badge-few\">3 places</span>"));
    assert!(html.contains("<span class=\"badge badge-closed\">CLOSED</span>"));
    assert!(html.contains("<span class=\"badge badge-cancelled\">CANCELLED</span>"));
    assert!(html.contains("You MUST complete Level 1 first"));
    assert!(html.contains("href=\"https://wsp.example/events/101\""));
    // Filters as links and a form, with the categories present.
    assert!(html.contains("<form method=\"get\" action=\"/\">"));
    assert!(html.contains("<label for=\"q\">"));
    assert!(html.contains("href=\"/?category=Self-Neglect+%26+Hoarding\""));
    assert!(html.contains("href=\"/?source=vrp\""));
    // Subscribe box: no public URL is configured, so its links are relative
    // (the page's script makes them absolute in the browser), never built
    // from the request's Host.
    assert!(html.contains("<a class=\"webcal\" href=\"/calendar.ics\">"));
    assert!(html.contains("value=\"/calendar.ics\""));
    assert!(!html.contains(&s.served.addr.to_string()));
    for step in [
        "Subscribe from web",
        "From URL",
        "New Calendar Subscription",
    ] {
        assert!(html.contains(step), "{step}");
    }
    // Source health in words.
    assert!(html.contains("2 hours ago"));
    assert!(html.contains("the listing answered 503 Service Unavailable"));
    // Headings in order: one h1, then h2s.
    assert_eq!(html.matches("<h1").count(), 1);
    assert!(html.find("<h1").unwrap() < html.find("<h2").unwrap());
    s.stop().await;
}

#[tokio::test]
async fn the_page_follows_the_filters_and_the_host() {
    let s = Server::start().await;
    let (st, html) = s.text("/?source=vrp&available=1").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(html.matches("<li class=\"session").count(), 1);
    assert!(html.contains("Violence Reduction Basics"));
    assert!(html.contains("href=\"/calendar.ics?source=vrp&amp;available=1\""));
    assert!(html.contains("checked"));

    let (_, html) = s.text("/?q=nothing+matches+this").await;
    assert!(html.contains("No upcoming sessions match these filters."));

    let r = raw_client()
        .get(s.url("/?category=child-neglect"))
        .header(header::HOST, "calendar.example.org")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    // Neither the Host nor an untrusted proxy header makes the links.
    assert!(html.contains("value=\"/calendar.ics?category=Child+Neglect\""));
    assert!(!html.contains("calendar.example.org"));

    // A hostile Host header does not reach the page.
    let r = raw_client()
        .get(s.url("/"))
        .header(header::HOST, "evil\"><script>x")
        .send()
        .await
        .unwrap();
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>x"));
    s.stop().await;
}

#[tokio::test]
async fn api_sessions_sources_and_health() {
    let s = Server::start().await;
    let r = s.get("/api/sessions").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    let v: serde_json::Value = json(r).await;
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 6, "upcoming only");
    assert_eq!(arr[0]["uid"], uid("vrp", "201"));
    assert_eq!(arr[0]["places"], "10 places");

    let v: serde_json::Value = json(
        s.get("/api/sessions?category=child-neglect&available=1")
            .await,
    )
    .await;
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 1);
    assert_eq!(arr[0]["title"], "Understanding Child Neglect Level 2");
    assert_eq!(arr[0]["prerequisites"], "You MUST complete Level 1 first");

    let v: serde_json::Value = json(s.get("/api/sources").await).await;
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["id"], "wsp");
    assert_eq!(arr[0]["kind"], "event-booking");
    assert_eq!(arr[0]["timezone"], "Europe/London");
    assert_eq!(arr[0]["healthy"], true);
    assert_eq!(arr[0]["sessions_found"], 5);
    assert_eq!(arr[1]["id"], "vrp");
    assert_eq!(arr[1]["kind"], "eventbrite");
    assert_eq!(arr[1]["healthy"], false);
    assert_eq!(arr[1]["consecutive_failures"], 1);
    assert_eq!(
        arr[1]["last_error"],
        "the listing answered 503 Service Unavailable"
    );
    for k in [
        "last_attempt",
        "last_success",
        "requests",
        "bytes",
        "not_modified",
        "name",
    ] {
        assert!(arr[1].get(k).is_some(), "{k}");
    }

    let r = s.get("/healthz").await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "an unhealthy source does not fail it"
    );
    let v: serde_json::Value = json(r).await;
    assert_eq!(v["status"], "degraded");
    assert_eq!(v["unhealthy_sources"], serde_json::json!(["vrp"]));
    assert_eq!(v["sessions"], 7);
    s.stop().await;
}

/// `/healthz` is answered from a body kept between requests, and each
/// health write under the running server shows in the very next answer: a
/// failed crawl (which changes no session) turns it `degraded`, a crawl that
/// succeeds turns it `ok` again, and a crawl that changes sessions moves its
/// generation and count.
#[tokio::test]
async fn healthz_shows_each_health_write_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    let before = now() - Duration::hours(2);
    sessions::merge_crawl(&store, "wsp", wsp_sessions(), before);
    sessions::merge_crawl(&store, "vrp", vrp_sessions(), before);
    let s = Server::serve(store, sources(), dir).await;
    let health = || async {
        let r = s.get("/healthz").await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        json(r).await
    };
    let ok = serde_json::json!({
        "status": "ok",
        "generation": s.store.generation(),
        "sessions": 7,
        "unhealthy_sources": [],
    });
    // Twice: the second is answered from what the first kept.
    assert_eq!(health().await, ok);
    assert_eq!(health().await, ok);

    let generation = s.store.generation();
    s.store
        .record_failure(
            "vrp",
            now() - Duration::minutes(30),
            events::errors::ErrorKind::HttpStatus,
            "the listing answered 503 Service Unavailable",
            CrawlStats::default(),
        )
        .unwrap();
    assert_eq!(
        s.store.generation(),
        generation,
        "a failure moves no session"
    );
    let degraded = serde_json::json!({
        "status": "degraded",
        "generation": generation,
        "sessions": 7,
        "unhealthy_sources": ["vrp"],
    });
    assert_eq!(health().await, degraded);
    assert_eq!(health().await, degraded);

    // The same sessions again: health moves, the generation does not.
    sessions::merge_crawl(
        &s.store,
        "vrp",
        vrp_sessions(),
        now() - Duration::minutes(10),
    );
    assert_eq!(s.store.generation(), generation);
    assert_eq!(health().await, ok);

    // One session more: the generation moves, and the answer with it.
    let mut more = vrp_sessions();
    more.push(session(S {
        source: "vrp",
        id: "203",
        title: "Contextual Safeguarding",
        category: "Exploitation",
        start: at(2026, 12, 9, 10, 0),
        status: Status::Scheduled,
        spaces: Some(4),
        online: false,
    }));
    sessions::merge_crawl(&s.store, "vrp", more, now() - Duration::minutes(5));
    let moved = s.store.generation();
    assert_ne!(moved, generation);
    let v = health().await;
    assert_eq!(v["status"], "ok");
    assert_eq!(v["generation"], moved);
    assert_eq!(v["sessions"], 8);
    s.stop().await;
}

/// What the server refuses in a query string, the command line refuses in its
/// flags, with the same sentence (and a usage error's exit code), before it
/// reads the store.
#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_refuses_the_filters_the_server_refuses_in_the_same_words() {
    let s = Server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let long = "a".repeat(events::query::MAX_Q_CHARS + 1);
    let cats: Vec<String> = (0..=events::query::MAX_CATEGORIES)
        .map(|i| format!("c{i}"))
        .collect();
    let mut many: Vec<&str> = vec!["upcoming"];
    for c in &cats {
        many.extend(["--category", c]);
    }
    let cases: Vec<(String, Vec<&str>)> = vec![
        (format!("q={long}"), vec!["upcoming", "--search", &long]),
        (format!("q={long}"), vec!["ics", "--q", &long]),
        ("days=0".into(), vec!["upcoming", "--days", "0"]),
        ("source=WSP".into(), vec!["changes", "--source", "WSP"]),
        (
            cats.iter()
                .map(|c| format!("category={c}"))
                .collect::<Vec<_>>()
                .join("&"),
            many.clone(),
        ),
    ];
    for (query, args) in cases {
        let (status, body) = s.text(&format!("/api/sessions?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let out = common::events(
            &dir.path().join("sources"),
            &dir.path().join("data"),
            "2026-12-01T09:00:00Z",
            None,
            &args,
        )
        .await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim(), format!("error: {}", body.trim()), "{args:?}");
    }
    // Within the limits, the flags are read as before.
    let ok = common::events(
        &dir.path().join("sources"),
        &dir.path().join("data"),
        "2026-12-01T09:00:00Z",
        None,
        &[
            "upcoming",
            "--search",
            &"a".repeat(events::query::MAX_Q_CHARS),
        ],
    )
    .await;
    let err = String::from_utf8_lossy(&ok.stderr);
    assert!(!err.contains("longer than"), "{err}");
    s.stop().await;
}

/// `events sources --json` and `/api/sources` print the same objects for the
/// same store and source files, and the table, the JSON and the page follow
/// one rule: a configured source by its name and zone, one no file configures
/// any more by its id in capitals, with no kind, in London time.
#[tokio::test(flavor = "multi_thread")]
async fn sources_read_the_same_in_the_terminal_the_api_and_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("sources");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(
        files.join("wsp.toml"),
        "id = \"wsp\"\nname = \"Walsall Safeguarding Partnership\"\nkind = \"event-booking\"\nbase_url = \"http://127.0.0.1:9/\"\n",
    )
    .unwrap();
    std::fs::write(
        files.join("nyc.toml"),
        "id = \"nyc\"\nname = \"New York training\"\nkind = \"ical\"\nurl = \"http://127.0.0.1:9/events.ics\"\ntimezone = \"America/New_York\"\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    // Long enough ago that times read as a date, which depends on the zone:
    // 02:00 UTC on 3 November is still 2 November in New York.
    let long_ago = at(2026, 11, 3, 2, 0);
    {
        let store = Store::open(&data).unwrap();
        for (id, list) in [("wsp", wsp_sessions()), ("old", vrp_sessions())] {
            let list = list
                .into_iter()
                .map(|mut x| {
                    x.source = id.into();
                    x
                })
                .collect();
            sessions::merge_crawl(&store, id, list, long_ago);
        }
        store
            .record_failure(
                "nyc",
                long_ago,
                events::errors::ErrorKind::HttpStatus,
                "the feed answered 404",
                CrawlStats::default(),
            )
            .unwrap();
        store.flush().unwrap();
    }
    let now = now().to_rfc3339();
    let out = common::events(&files, &data, &now, None, &["sources", "--json"]).await;
    assert!(out.status.success(), "{out:?}");
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let table = common::stdout(&common::events(&files, &data, &now, None, &["sources"]).await);

    let store = Store::open(&data).unwrap();
    let configs = events::cli::load_sources(&files).unwrap();
    let s = Server::serve(store, configs, dir).await;
    let served: serde_json::Value = json(s.get("/api/sources").await).await;
    assert_eq!(printed, served, "one shape for both");

    let arr = served.as_array().unwrap();
    let ids: Vec<&str> = arr.iter().map(|x| x["id"].as_str().unwrap()).collect();
    // Configured ones in file-name order, as loaded, then the store's others.
    assert_eq!(ids, ["nyc", "wsp", "old"]);
    assert_eq!(arr[0]["name"], "New York training");
    assert_eq!(arr[0]["kind"], "ical");
    assert_eq!(arr[0]["timezone"], "America/New_York");
    assert_eq!(arr[0]["healthy"], false);
    assert_eq!(arr[0]["last_error"], "the feed answered 404");
    assert_eq!(arr[1]["kind"], "event-booking");
    assert_eq!(arr[1]["timezone"], "Europe/London");
    assert_eq!(arr[2]["name"], "OLD");
    assert_eq!(arr[2]["kind"], serde_json::Value::Null);
    assert_eq!(arr[2]["timezone"], "Europe/London");
    assert_eq!(arr[2]["healthy"], true);
    assert_eq!(arr[2]["sessions_found"], 2);

    let row = |id: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("{id} ")))
            .unwrap_or_else(|| panic!("no row for {id}: {table}"))
            .to_string()
    };
    assert!(row("old").contains("(no source file)"), "{table}");
    assert!(row("old").contains("on 3 November 2026"), "{table}");
    assert!(row("nyc").contains("on 2 November 2026"), "{table}");
    assert!(row("nyc").contains("FAILING"), "{table}");
    assert!(table.contains("nyc: the feed answered 404"), "{table}");

    let (_, html) = s.text("/").await;
    assert!(
        html.contains(r#"<li data-source="old"><strong>OLD</strong>"#),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"old\">OLD</option>"),
        "{html}"
    );
    assert!(
        html.contains(r#"title="2 November 2026, 21:00 EST""#),
        "{html}"
    );
    s.stop().await;
}

#[tokio::test]
async fn rendered_feeds_are_cached_until_the_store_changes() {
    let s = Server::start().await;
    let before = s.served.state.feed_renders();
    let a = s.get("/calendar.ics?source=wsp").await;
    let etag_a = a.headers()[header::ETAG].clone();
    let body_a = a.text().await.unwrap();
    let b = s.get("/calendar.ics?source=wsp").await;
    assert_eq!(b.headers()[header::ETAG], etag_a);
    assert_eq!(b.text().await.unwrap(), body_a);
    // The pretty path is the same view, so the same cache entry.
    let _ = s.get("/calendar/wsp.ics").await;
    assert_eq!(s.served.state.feed_renders(), before + 1, "rendered once");
    let _ = s.get("/calendar.ics?source=wsp").await;

    let avail = s.get("/calendar.ics?available=1").await;
    let avail_lm = avail.headers()[header::LAST_MODIFIED].clone();

    // A new crawl: one session has fewer places now, another is full.
    let mut fresh = wsp_sessions();
    fresh[0].availability.spaces_left = Some(1);
    fresh[3].status = Status::Full;
    sessions::merge_crawl(&s.store, "wsp", fresh, now());
    let c = s.get("/calendar.ics?source=wsp").await;
    assert_ne!(c.headers()[header::ETAG], etag_a);
    let lm =
        httpdate::parse_http_date(c.headers()[header::LAST_MODIFIED].to_str().unwrap()).unwrap();
    assert_eq!(DateTime::<Utc>::from(lm), now());
    assert!(c.text().await.unwrap().contains("(1 place)"));
    // Once for the first wsp view, once for `available=1`, once after the crawl.
    assert_eq!(s.served.state.feed_renders(), before + 3);
    // The full session left the `available=1` view: that is a modification.
    let r = raw_client()
        .get(s.url("/calendar.ics?available=1"))
        .header(header::IF_MODIFIED_SINCE, avail_lm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!uids(&r.text().await.unwrap()).contains(&uid("wsp", "104")));
    s.stop().await;
}

#[tokio::test]
async fn a_taken_port_is_explained() {
    let s = Server::start().await;
    let err = server::bind(s.served.addr).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{} is already in use; pass --listen with another port",
            s.served.addr
        )
    );
    s.stop().await;
}

/// `--event-blocks`: a budget too small to keep any rendered event serves the
/// same feeds, byte for byte, as the default budget; it only renders more.
#[tokio::test]
async fn a_tiny_event_block_budget_serves_the_same_feeds() {
    let s = Server::start().await;
    let state = AppState::new(s.store.clone(), sources(), server::fixed_clock(now()))
        .with_event_block_bytes(1024);
    let tiny = Served::start(state.clone()).await;
    for path in [
        "/calendar.ics",
        "/calendar.ics?days=400",
        "/calendar.ics?source=wsp",
    ] {
        let (status, expected) = s.text(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let got = raw_client().get(tiny.url(path)).send().await.unwrap();
        assert_eq!(got.status(), StatusCode::OK, "{path}");
        assert_eq!(got.text().await.unwrap(), expected, "{path}");
    }
    // The feed cache's own budget is untouched by the event-block setting.
    assert_eq!(
        state.feed_cache_budget(),
        s.served.state.feed_cache_budget()
    );
    tiny.stop().await;
}
