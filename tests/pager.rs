//! One pager serves every paged listing: a "next" that leads back to a page
//! already read ends the listing (each page is requested once), and a listing
//! longer than `limits.max_pages` stops there and says so in health. Real
//! binary, real store, sites on loopback (wiremock) shaped by the fixtures of
//! each platform.

mod common;

use serde_json::Value;
use std::path::Path;
use wiremock::matchers::{method, path, path_regex, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: &str = "2026-12-01T09:00:00Z";
const TOKEN: &str = "pager-test-token";

/// Crawls the one source in `sources`; returns the crawl's output and the
/// source's health.
async fn crawl(sources: &Path) -> (std::process::Output, Value) {
    let data = tempfile::tempdir().unwrap();
    let o = common::events(sources, data.path(), NOW, Some(TOKEN), &["crawl"]).await;
    let health = common::events(sources, data.path(), NOW, None, &["sources", "--json"]).await;
    (o, common::json_list(&health)[0].clone())
}

async fn no_robots(site: &MockServer) {
    Mock::given(path("/robots.txt"))
        .respond_with(ResponseTemplate::new(404))
        .mount(site)
        .await;
}

fn html(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/html; charset=utf-8")
        .set_body_string(body)
}

fn json(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .set_body_string(body)
}

/// Requests `site` received for `p` (with any query).
async fn requests_to(site: &MockServer, p: &str, query: Option<&str>) -> usize {
    let got = site.received_requests().await.unwrap_or_default();
    got.iter()
        .filter(|r| r.url.path() == p && query.is_none_or(|q| r.url.query() == Some(q)))
        .count()
}

fn write_source(dir: &Path, body: &str) {
    std::fs::write(dir.join("s.toml"), body).unwrap();
}

/// The WSP listing's "Next" leads to `?page=2`, which is page 1 again:
/// both addresses are read once, and the crawl ends well.
#[tokio::test]
async fn an_event_booking_listing_that_loops_is_read_once() {
    let site = MockServer::start().await;
    no_robots(&site).await;
    let page = common::fixture_text("wsp", "events-list.html");
    Mock::given(path("/events-list"))
        .respond_with(html(page))
        .mount(&site)
        .await;
    Mock::given(path_regex("^/events/[0-9]+$"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&site)
        .await;
    let sources = tempfile::tempdir().unwrap();
    common::write_wsp_source(sources.path(), &site.uri().parse().unwrap(), 50);
    let (o, health) = crawl(sources.path()).await;
    assert!(o.status.success(), "{}", common::stdout(&o));
    assert_eq!(health["error_kind"], Value::Null, "{health}");
    assert_eq!(requests_to(&site, "/events-list", None).await, 2);
    assert_eq!(requests_to(&site, "/events-list", Some("page=2")).await, 1);
}

/// A schema.org listing whose `rel="next"` page links back to itself is
/// read once; one held to `max_pages = 1` stops there and says so.
#[tokio::test]
async fn a_schema_org_listing_that_loops_is_read_once_and_one_past_its_limit_says_so() {
    let site = MockServer::start().await;
    no_robots(&site).await;
    let page = common::fixture_text("schema-org", "events.html")
        .replace("https://www.walsallsafeguarding.example", &site.uri());
    // Page 2 is page 1 again: its next link names page 2 itself.
    Mock::given(path_regex("^/events/(page/2/)?$"))
        .respond_with(html(page))
        .mount(&site)
        .await;
    Mock::given(path_regex("^/event/"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&site)
        .await;
    let source = format!(
        "id = \"s\"\nname = \"A partnership website\"\nkind = \"schema-org\"\nbase_url = \"{}\"\nlisting = \"/events/\"\nrequests_per_second = 50\n",
        site.uri()
    );
    let sources = tempfile::tempdir().unwrap();
    write_source(sources.path(), &source);
    let (o, health) = crawl(sources.path()).await;
    assert!(o.status.success(), "{}", common::stdout(&o));
    assert_eq!(health["error_kind"], Value::Null, "{health}");
    assert_eq!(requests_to(&site, "/events/", None).await, 1);
    assert_eq!(requests_to(&site, "/events/page/2/", None).await, 1);

    write_source(
        sources.path(),
        &format!("{source}\n[limits]\nmax_pages = 1\n"),
    );
    let (o, health) = crawl(sources.path()).await;
    assert_eq!(o.status.code(), Some(1), "{}", common::stdout(&o));
    assert_eq!(health["error_kind"], "limit", "{health}");
    let error = health["last_error"].as_str().unwrap();
    assert!(error.contains("limits.max_pages"), "{error}");
    assert!(error.contains("listing pages of /events/"), "{error}");
}

/// An Eventbrite API site whose event list hands back a continuation it
/// already gave, with every event's ticket classes on one page.
async fn eventbrite_api() -> MockServer {
    let api = MockServer::start().await;
    let list = "/v3/organizers/77/events/";
    let mut page1: Value =
        serde_json::from_str(&common::fixture_text("eventbrite", "api_events_page1.json")).unwrap();
    page1["pagination"]["continuation"] = "LOOP".into();
    let mut page2: Value =
        serde_json::from_str(&common::fixture_text("eventbrite", "api_events_page2.json")).unwrap();
    page2["pagination"]["continuation"] = "LOOP".into();
    page2["pagination"]["has_more_items"] = true.into();
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param_is_missing("continuation"))
        .respond_with(json(page1.to_string()))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path(list))
        .and(query_param("continuation", "LOOP"))
        .respond_with(json(page2.to_string()))
        .mount(&api)
        .await;
    let tickets = common::fixture_text("eventbrite", "api_ticket_classes_812345670011.json");
    Mock::given(method("GET"))
        .and(path_regex("^/v3/events/[0-9]+/ticket_classes/$"))
        .respond_with(json(tickets))
        .mount(&api)
        .await;
    api
}

/// The API's event list pages through the same pager: a continuation that
/// comes round again ends the list after two calls, and a list held to
/// `max_pages = 1` stops after its first page and says so.
#[tokio::test]
async fn the_eventbrite_api_list_pages_through_the_pager() {
    let api = eventbrite_api().await;
    let source = format!(
        "id = \"s\"\nname = \"VRP\"\nkind = \"eventbrite\"\nbase_url = \"{0}\"\napi_url = \"{0}/v3/\"\norganizer_id = \"77\"\nrequests_per_second = 50\n",
        api.uri()
    );
    let sources = tempfile::tempdir().unwrap();
    write_source(sources.path(), &source);
    let (o, health) = crawl(sources.path()).await;
    assert!(o.status.success(), "{}", common::stdout(&o));
    assert_eq!(health["error_kind"], Value::Null, "{health}");
    assert_eq!(
        requests_to(&api, "/v3/organizers/77/events/", None).await,
        2
    );

    // A fresh site, so the calls counted are this crawl's.
    let api = eventbrite_api().await;
    let source = format!(
        "id = \"s\"\nname = \"VRP\"\nkind = \"eventbrite\"\nbase_url = \"{0}\"\napi_url = \"{0}/v3/\"\norganizer_id = \"77\"\nrequests_per_second = 50\n\n[limits]\nmax_pages = 1\n",
        api.uri()
    );
    write_source(sources.path(), &source);
    let (o, health) = crawl(sources.path()).await;
    assert_eq!(o.status.code(), Some(1), "{}", common::stdout(&o));
    assert_eq!(
        requests_to(&api, "/v3/organizers/77/events/", None).await,
        1
    );
    assert_eq!(health["error_kind"], "limit", "{health}");
    let error = health["last_error"].as_str().unwrap();
    assert!(error.contains("limits.max_pages"), "{error}");
    assert!(error.contains("pages of the API's event list"), "{error}");
}
