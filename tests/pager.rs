//! One pager serves every paged listing, of all four kinds: a "next" that
//! leads back to a page already read ends the listing (each page is requested
//! once), and a listing longer than `limits.max_pages` stops there and says
//! so in health. An `ical` export cut into pages ends at a page not found or
//! one with nothing new. Real binary, real store, sites on loopback
//! (wiremock) shaped by the fixtures of each platform.

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

/// What a paged The Events Calendar export answers past its last page.
enum PastTheEnd {
    /// 404, as WordPress answers a page number past the end.
    NotFound,
    /// The last page again, for any number past it.
    LastPageAgain,
    /// A calendar with no event in it.
    EmptyCalendar,
}

/// A site whose list view exports its events three to a page
/// (`tests/fixtures/ical/paged/`), answering `past` beyond page 3.
async fn paged_export(past: PastTheEnd) -> MockServer {
    let site = MockServer::start().await;
    no_robots(&site).await;
    let page = |n: &str| {
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/calendar; charset=UTF-8")
            .insert_header(
                "content-disposition",
                "attachment; filename=\"walsall-safeguarding-partnership-6b0e3c4f.ics\"",
            )
            .set_body_string(common::fixture_text(
                "ical/paged",
                &format!("list-page-{n}.ics"),
            ))
    };
    let pages = [
        ("/events/list/", "1"),
        ("/events/list/page/2/", "2"),
        ("/events/list/page/3/", "3"),
    ];
    for (p, n) in pages {
        Mock::given(path(p))
            .and(query_param("ical", "1"))
            .respond_with(page(n))
            .mount(&site)
            .await;
    }
    let beyond = match past {
        PastTheEnd::NotFound => ResponseTemplate::new(404).set_body_string("Page not found"),
        PastTheEnd::LastPageAgain => page("3"),
        PastTheEnd::EmptyCalendar => page("empty"),
    };
    Mock::given(path_regex("^/events/list/page/([4-9]|[1-9][0-9]+)/$"))
        .respond_with(beyond)
        .mount(&site)
        .await;
    site
}

fn paged_source(site: &MockServer, extra: &str) -> String {
    format!(
        "id = \"s\"\nname = \"A partnership website\"\nkind = \"ical\"\nurl = \"{0}/events/list/?ical=1\"\npage_url = \"/events/list/page/{{page}}/?ical=1\"\nrequests_per_second = 50\n{extra}",
        site.uri()
    )
}

/// Pages of `site`'s export requested, in order, by number (1 for the first).
async fn export_pages_read(site: &MockServer) -> Vec<u32> {
    let got = site.received_requests().await.unwrap_or_default();
    got.iter()
        .filter_map(|r| {
            let p = r.url.path();
            match p.strip_prefix("/events/list/page/") {
                Some(rest) => rest.trim_end_matches('/').parse().ok(),
                None => (p == "/events/list/").then_some(1),
            }
        })
        .collect()
}

/// An export cut into pages is read page by page through the pager to its
/// end, whichever way the site marks it: page 4 not found, page 3 again, or
/// an empty calendar (page 5 is never asked for). Seven sessions from three
/// pages, the event two pages hold once; without `page_url`, the first
/// page's three.
#[tokio::test]
async fn an_ical_export_cut_into_pages_is_read_to_its_end() {
    let sources = tempfile::tempdir().unwrap();
    for past in [
        PastTheEnd::NotFound,
        PastTheEnd::LastPageAgain,
        PastTheEnd::EmptyCalendar,
    ] {
        let site = paged_export(past).await;
        write_source(sources.path(), &paged_source(&site, ""));
        let (o, health) = crawl(sources.path()).await;
        assert!(o.status.success(), "{}", common::stdout(&o));
        assert_eq!(health["error_kind"], Value::Null, "{health}");
        assert_eq!(health["sessions_found"], 7, "{health}");
        assert_eq!(export_pages_read(&site).await, [1, 2, 3, 4]);
    }

    let site = paged_export(PastTheEnd::NotFound).await;
    let one_document = paged_source(&site, "").replace("page_url", "# page_url");
    write_source(sources.path(), &one_document);
    let (o, health) = crawl(sources.path()).await;
    assert!(o.status.success(), "{}", common::stdout(&o));
    assert_eq!(health["sessions_found"], 3, "{health}");
    assert_eq!(export_pages_read(&site).await, [1]);
}

/// An export longer than `max_pages` stops there and says so, withdrawing
/// nothing; a page that fails fails the crawl, and what the store held stays.
#[tokio::test]
async fn an_ical_export_past_its_limit_or_with_a_failed_page_withdraws_nothing() {
    let data = tempfile::tempdir().unwrap();
    let sources = tempfile::tempdir().unwrap();
    let run = |args: &'static [&'static str]| {
        let (s, d) = (sources.path().to_path_buf(), data.path().to_path_buf());
        async move { common::events(&s, &d, NOW, None, args).await }
    };
    let site = paged_export(PastTheEnd::NotFound).await;
    write_source(sources.path(), &paged_source(&site, ""));
    assert!(run(&["crawl"]).await.status.success());

    write_source(
        sources.path(),
        &paged_source(&site, "\n[limits]\nmax_pages = 2\n"),
    );
    let o = run(&["crawl"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", common::stdout(&o));
    let health = common::json_list(&run(&["sources", "--json"]).await)[0].clone();
    assert_eq!(health["error_kind"], "limit", "{health}");
    let error = health["last_error"].as_str().unwrap();
    assert!(error.contains("limits.max_pages"), "{error}");
    assert!(error.contains("pages of the feed's export"), "{error}");
    assert_eq!(live_sessions(&run(&["upcoming", "--json"]).await), 7);

    let failing = MockServer::start().await;
    no_robots(&failing).await;
    Mock::given(path("/events/list/"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/calendar; charset=UTF-8")
                .set_body_string(common::fixture_text("ical/paged", "list-page-1.ics")),
        )
        .mount(&failing)
        .await;
    Mock::given(path("/events/list/page/2/"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&failing)
        .await;
    write_source(sources.path(), &paged_source(&failing, ""));
    let o = run(&["crawl"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", common::stdout(&o));
    let health = common::json_list(&run(&["sources", "--json"]).await)[0].clone();
    assert_eq!(health["error_kind"], "http-status", "{health}");
    assert_eq!(live_sessions(&run(&["upcoming", "--json"]).await), 7);
}

/// Sessions `events upcoming --json` lists that are not withdrawn.
fn live_sessions(o: &std::process::Output) -> usize {
    common::json_list(o)
        .iter()
        .filter(|s| s["status"] != "withdrawn")
        .count()
}
