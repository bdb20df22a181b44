//! Every failed crawl keeps its kind beside its sentence: `events sources
//! --json` (and so `/api/sources`) says `error_kind`, one stable word an
//! operator and a script can act on. Real binary, real store, sites on
//! loopback (wiremock) that fail in each way; and `other`, which no site can
//! cause (a reader that stops abnormally), through a kind defined here,
//! crawled in this process and read back from the server's `/api/sources`.

mod common;

use serde_json::Value;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: &str = "2027-03-01T09:00:00Z";

/// Crawls an `ical` source whose feed is at `/feed.ics` of `site`, with
/// `extra` lines in its source file; returns (exit code, crawl line, the
/// source's health object).
async fn crawl(site: &MockServer, extra: &str) -> (Option<i32>, String, Value) {
    let sources = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        sources.path().join("cal.toml"),
        format!(
            "id = \"cal\"\nname = \"A partnership calendar\"\nkind = \"ical\"\nurl = \"{}/feed.ics\"\nrequests_per_second = 50\n{extra}",
            site.uri()
        ),
    )
    .unwrap();
    let o = common::events(sources.path(), data.path(), NOW, None, &["crawl"]).await;
    let line = common::stdout(&o);
    let health = common::events(
        sources.path(),
        data.path(),
        NOW,
        None,
        &["sources", "--json"],
    )
    .await;
    let list: Value = serde_json::from_slice(&health.stdout).unwrap();
    (o.status.code(), line, list[0].clone())
}

async fn site(robots: ResponseTemplate, feed: ResponseTemplate) -> MockServer {
    let site = MockServer::start().await;
    Mock::given(path("/robots.txt"))
        .respond_with(robots)
        .mount(&site)
        .await;
    Mock::given(path("/feed.ics"))
        .respond_with(feed)
        .mount(&site)
        .await;
    site
}

fn feed() -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/calendar")
        .set_body_string(common::fixture_text("ical", "events.ics"))
}

#[tokio::test]
async fn each_failure_is_named_by_its_kind() {
    let no_robots = || ResponseTemplate::new(404);
    let cases = [
        (
            site(
                ResponseTemplate::new(200).set_body_string("User-agent: *\nDisallow: /\n"),
                feed(),
            )
            .await,
            "",
            "robots",
        ),
        (
            site(
                no_robots(),
                ResponseTemplate::new(410).set_body_string("gone"),
            )
            .await,
            "",
            "http-status",
        ),
        (
            site(no_robots(), feed()).await,
            "[limits]\nmax_body_bytes = \"1 KiB\"\n",
            "body-limit",
        ),
        (
            site(
                no_robots(),
                ResponseTemplate::new(200)
                    .set_body_string("<html><body>Not a calendar</body></html>"),
            )
            .await,
            "",
            "parse",
        ),
    ];
    for (site, extra, kind) in cases {
        let (code, line, health) = crawl(&site, extra).await;
        assert_eq!(code, Some(1), "{kind}: {line}");
        assert!(line.starts_with("cal: FAILED: "), "{kind}: {line}");
        assert_eq!(health["error_kind"], kind, "{line}\n{health}");
        assert_eq!(health["healthy"], false);
        // The sentence is the crawl line's, as before.
        assert_eq!(
            format!("cal: FAILED: {}", health["last_error"].as_str().unwrap()),
            line.trim_end(),
        );
    }
}

#[tokio::test]
async fn a_good_crawl_has_no_error_kind() {
    let site = site(ResponseTemplate::new(404), feed()).await;
    let (code, line, health) = crawl(&site, "").await;
    assert_eq!(code, Some(0), "{line}");
    assert_eq!(health["error_kind"], Value::Null);
    assert_eq!(health["last_error"], Value::Null);
}

/// A crawl that outlives `max_crawl_time` is a timeout, and a feed whose
/// address redirects to itself is a redirect failure.
#[tokio::test]
async fn a_slow_site_and_a_redirect_loop_are_named_too() {
    let cases = [
        (
            site(
                ResponseTemplate::new(404),
                feed().set_delay(std::time::Duration::from_secs(5)),
            )
            .await,
            "[limits]\nmax_crawl_time = \"1s\"\n",
            "timeout",
        ),
        (
            site(
                ResponseTemplate::new(404),
                ResponseTemplate::new(302).insert_header("location", "/feed.ics"),
            )
            .await,
            "",
            "redirect",
        ),
    ];
    for (site, extra, kind) in cases {
        let (code, line, health) = crawl(&site, extra).await;
        assert_eq!(code, Some(1), "{kind}: {line}");
        assert_eq!(health["error_kind"], kind, "{line}\n{health}");
        assert_eq!(
            format!("cal: FAILED: {}", health["last_error"].as_str().unwrap()),
            line.trim_end(),
        );
    }
}

/// A kind whose reader stops abnormally (a bug in a platform's parser): its
/// walk reads the feed, then its reader panics on the blocking thread.
#[derive(Debug)]
struct ReaderThatStops;

impl events::platforms::Kind for ReaderThatStops {
    fn walk<'a>(&'a self, w: &'a events::source::Walker<'a>) -> events::platforms::WalkFuture<'a> {
        Box::pin(async move {
            let url = w.source.base_url.join("/feed.ics").unwrap();
            let page = w.get(&url).await?;
            let read: usize = w
                .blocking(move || {
                    assert!(
                        page.body.is_empty(),
                        "a reader bug, on a page of {} bytes",
                        page.body.len()
                    );
                    0
                })
                .await?;
            unreachable!("the reader returned {read}")
        })
    }
}

/// A reader that stops abnormally fails only its own source, as `other`, in
/// `/api/sources`; the crawl of the source beside it merges, and the server
/// goes on serving both.
#[tokio::test]
async fn a_reader_that_stops_abnormally_is_other_and_fails_only_its_source() {
    use events::crawl::{crawl_all, Quiet};
    let site = site(ResponseTemplate::new(404), feed()).await;
    let source = |id: &str| {
        let text = format!(
            "id = \"{id}\"\nname = \"{id}\"\nkind = \"ical\"\nurl = \"{}/feed.ics\"\nrequests_per_second = 50\n",
            site.uri()
        );
        events::config::parse_source(std::path::Path::new(&format!("{id}.toml")), &text).unwrap()
    };
    let mut stops = source("stops");
    stops.kind = std::sync::Arc::new(ReaderThatStops);
    let sources = vec![source("cal"), stops];
    let dir = tempfile::tempdir().unwrap();
    let store = events::store::Store::open(dir.path()).unwrap();
    let fetcher = std::sync::Arc::new(
        events::fetch::Fetcher::new(Default::default(), Some(store.clone())).unwrap(),
    );
    let now = common::utc(NOW);
    let reports = crawl_all(&sources, &fetcher, &store, now, std::sync::Arc::new(Quiet)).await;
    assert_eq!(reports.iter().filter(|r| r.failed()).count(), 1);

    let state = events::server::AppState::new(store, sources, events::server::fixed_clock(now));
    let served = common::servers::Served::start(state).await;
    let client = reqwest::Client::new();
    let api: Value = serde_json::from_str(
        &common::servers::body_text(client.get(served.url("/api/sources"))).await,
    )
    .unwrap();
    let of = |id: &str| {
        api.as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(of("stops")["error_kind"], "other", "{api}");
    let sentence = of("stops")["last_error"].as_str().unwrap().to_string();
    assert!(sentence.contains("stopped abnormally"), "{sentence}");
    assert_eq!(of("cal")["error_kind"], Value::Null, "{api}");
    assert!(of("cal")["sessions_found"].as_u64().unwrap() > 0, "{api}");
    served.stop().await;
}
