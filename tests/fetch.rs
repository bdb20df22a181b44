//! The fetcher against mock servers on loopback: rate limits, robots.txt,
//! retries, timeouts, size and redirect limits, conditional requests.
//!
//! No test here measures time. Request spacing is shown by what the mock
//! servers received while the fetcher's own counter says requests are being
//! held back, with rates and Crawl-delays so slow that a held request cannot
//! go during the test; the spacing itself (one request per period, and when
//! the next is let through) is checked against a fake clock in the unit tests
//! of `fetch::hosts`.

mod common;

use common::web::{mount, paths, redirect, robots, text, url};
use events::fetch::{FetchConfig, FetchError, Fetcher, SourceFetcher};
use events::store::Store;
use std::sync::atomic::Ordering;
use std::time::Duration;
use url::Url;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn fast_config() -> FetchConfig {
    FetchConfig {
        timeout: Duration::from_millis(800),
        connect_timeout: Duration::from_millis(800),
        backoff: Duration::from_millis(20),
        max_retries: 3,
        ..FetchConfig::default()
    }
}

/// Answers every other GET with a short page.
async fn pages(server: &MockServer) {
    Mock::given(method("GET"))
        .respond_with(text(200, "page"))
        .mount(server)
        .await;
}

/// Requests `http`'s hosts held back because it was not yet their turn.
fn spaced(http: &SourceFetcher) -> u64 {
    http.counters().spaced.load(Ordering::Relaxed)
}

/// Waits until `done` holds. The limit only stops a broken fetcher from
/// hanging the test run; nothing is measured.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let poll = async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(60), poll)
        .await
        .is_err()
    {
        panic!("never happened: {what}");
    }
}

#[tokio::test]
async fn concurrent_requests_to_one_host_all_go_after_robots_txt() {
    let server = MockServer::start().await;
    pages(&server).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let http = fetcher.for_source(50.0);
    let mut tasks = Vec::new();
    for i in 0..5 {
        let http = http.clone();
        let u = url(&server, &format!("/page/{i}"));
        tasks.push(tokio::spawn(async move { http.get(&u).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let seen = paths(&server).await;
    assert_eq!(seen.len(), 6, "robots.txt plus five pages: {seen:?}");
    assert_eq!(seen[0], "/robots.txt", "robots.txt is asked first");
    assert_eq!(http.counters().snapshot().requests, 6);
}

/// One request per 1,000 s (the slowest rate a source can have): after
/// robots.txt, every request to the host waits its turn, and none can be sent
/// while the test runs. Another host has its own spacing and is not held up.
#[tokio::test]
async fn requests_to_one_host_wait_their_turn_while_other_hosts_go_on() {
    let slow = MockServer::start().await;
    let other = MockServer::start().await;
    pages(&slow).await;
    pages(&other).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let http = fetcher.for_source(0.001);
    let mut held = Vec::new();
    for i in 0..3 {
        let http = http.clone();
        let u = url(&slow, &format!("/page/{i}"));
        held.push(tokio::spawn(async move { http.get(&u).await }));
    }
    until("all three pages are held back, or one is fetched", || {
        spaced(&http) == 3 || held.iter().any(|t| t.is_finished())
    })
    .await;
    assert!(
        held.iter().all(|t| !t.is_finished()),
        "a page was fetched without waiting its turn"
    );
    assert_eq!(paths(&slow).await, ["/robots.txt"]);
    assert_eq!(http.counters().snapshot().requests, 1);

    // Meanwhile a second source's requests to another host go through, in order.
    let second = fetcher.for_source(50.0);
    for i in 0..3 {
        let page = second.get(&url(&other, &format!("/x/{i}"))).await.unwrap();
        assert_eq!(page.body, b"page");
    }
    assert_eq!(paths(&other).await, ["/robots.txt", "/x/0", "/x/1", "/x/2"]);
    assert_eq!(
        paths(&slow).await,
        ["/robots.txt"],
        "the slow host's pages are still held"
    );
    assert!(held.iter().all(|t| !t.is_finished()));
    for t in held {
        t.abort();
    }
}

#[tokio::test]
async fn robots_disallow_is_obeyed_and_fetched_first() {
    let server = MockServer::start().await;
    robots(
        &server,
        "User-agent: *\nDisallow: /events/*/book\nDisallow: /private\n",
    )
    .await;
    pages(&server).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let http = fetcher.for_source(50.0);
    let err = http
        .get(&url(&server, "/events/1001/book"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Disallowed { .. }), "{err}");
    let err = http.get(&url(&server, "/private/x")).await.unwrap_err();
    assert!(matches!(err, FetchError::Disallowed { .. }), "{err}");
    assert!(http.get(&url(&server, "/events/1001")).await.is_ok());
    assert_eq!(paths(&server).await, ["/robots.txt", "/events/1001"]);
}

/// Our own spacing is 1 ms here, so only the host's Crawl-delay (60 s) can
/// hold its first page back after robots.txt; the same source's pages on a
/// host without one go straight through meanwhile.
#[tokio::test]
async fn crawl_delay_longer_than_our_spacing_wins() {
    let delayed = MockServer::start().await;
    let plain = MockServer::start().await;
    robots(&delayed, "User-agent: *\nCrawl-delay: 60\n").await;
    robots(&plain, "User-agent: *\nDisallow: /private\n").await;
    pages(&delayed).await;
    pages(&plain).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let http = fetcher.for_source(1000.0);
    let held = {
        let http = http.clone();
        let u = url(&delayed, "/p0");
        tokio::spawn(async move { http.get(&u).await })
    };
    until("the page is held back or fetched", || {
        spaced(&http) >= 1 || held.is_finished()
    })
    .await;
    assert!(
        !held.is_finished(),
        "the page was fetched at once: the Crawl-delay was ignored"
    );
    for i in 0..3 {
        http.get(&url(&plain, &format!("/p{i}"))).await.unwrap();
    }
    assert_eq!(paths(&plain).await, ["/robots.txt", "/p0", "/p1", "/p2"]);
    assert_eq!(
        paths(&delayed).await,
        ["/robots.txt"],
        "the page waits for the Crawl-delay"
    );
    assert!(!held.is_finished());
    held.abort();
}

async fn limited_once(server: &MockServer, retry_after: &str) {
    Mock::given(method("GET"))
        .and(path("/limited"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", retry_after))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    mount(server, "/limited", text(200, "now ok")).await;
}

async fn asked_for(server: &MockServer, p: &str) -> usize {
    paths(server).await.iter().filter(|s| *s == p).count()
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let server = MockServer::start().await;
    robots(&server, "").await;
    limited_once(&server, "1").await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let got = fetcher
        .for_source(50.0)
        .get(&url(&server, "/limited"))
        .await
        .unwrap();
    assert_eq!(got.body, b"now ok");
    assert_eq!(asked_for(&server, "/limited").await, 2);
}

/// With no backoff of its own, only the server's `Retry-After: 100` keeps
/// the fetcher from asking again at once: while another host is fetched from
/// start to end, the limited page is not asked for a second time.
#[tokio::test]
async fn retry_after_holds_the_retry_back() {
    let server = MockServer::start().await;
    let other = MockServer::start().await;
    robots(&server, "").await;
    limited_once(&server, "100").await;
    pages(&other).await;
    let cfg = FetchConfig {
        backoff: Duration::ZERO,
        ..fast_config()
    };
    let fetcher = Fetcher::new(cfg, None).unwrap();
    let http = fetcher.for_source(1000.0);
    let held = {
        let http = http.clone();
        let u = url(&server, "/limited");
        tokio::spawn(async move { http.get(&u).await })
    };
    // The first answer (429) has been sent.
    let first = async {
        while asked_for(&server, "/limited").await == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), first)
        .await
        .expect("the page was never asked for");
    for i in 0..3 {
        http.get(&url(&other, &format!("/x/{i}"))).await.unwrap();
    }
    assert_eq!(asked_for(&server, "/limited").await, 1, "retried at once");
    assert!(!held.is_finished());
    held.abort();
}

#[tokio::test]
async fn a_retry_after_longer_than_we_wait_fails_at_once() {
    let server = MockServer::start().await;
    robots(&server, "").await;
    limited_once(&server, "3600").await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let err = fetcher
        .for_source(50.0)
        .get(&url(&server, "/limited"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429), "{err}");
    assert_eq!(asked_for(&server, "/limited").await, 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let server = MockServer::start().await;
    robots(&server, "").await;
    Mock::given(method("GET"))
        .and(path("/flaky"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/flaky"))
        .respond_with(text(200, "fine"))
        .expect(1)
        .mount(&server)
        .await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let got = fetcher
        .for_source(50.0)
        .get(&url(&server, "/flaky"))
        .await
        .unwrap();
    assert_eq!(got.body, b"fine");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    robots(&server, "").await;
    Mock::given(method("GET"))
        .and(path("/gone"))
        .respond_with(text(404, "<h1>Not found</h1>"))
        .expect(1)
        .mount(&server)
        .await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let err = fetcher
        .for_source(50.0)
        .get(&url(&server, "/gone"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404));
    assert!(err.to_string().contains("Not found"), "{err}");
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let server = MockServer::start().await;
    robots(&server, "").await;
    Mock::given(method("GET"))
        .and(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount(&server, "/slow", text(200, "eventually")).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let got = fetcher
        .for_source(50.0)
        .get(&url(&server, "/slow"))
        .await
        .unwrap();
    assert_eq!(got.body, b"eventually");
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let server = MockServer::start().await;
    robots(&server, "").await;
    mount(
        &server,
        "/huge",
        ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 64 * 1024]),
    )
    .await;
    let cfg = FetchConfig {
        max_body: 16 * 1024,
        ..fast_config()
    };
    let fetcher = Fetcher::new(cfg, None).unwrap();
    let err = fetcher
        .for_source(50.0)
        .get(&url(&server, "/huge"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
}

#[tokio::test]
async fn a_redirect_loop_is_stopped() {
    let server = MockServer::start().await;
    robots(&server, "").await;
    mount(&server, "/a", redirect(302, "/b")).await;
    mount(&server, "/b", redirect(302, "/a")).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let err = fetcher
        .for_source(50.0)
        .get(&url(&server, "/a"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Redirect { .. }), "{err}");
}

/// No redirect can send the crawler to a host other than the one it was sent
/// to (whose robots.txt and spacing it checked): the elsewhere host hears nothing.
#[tokio::test]
async fn a_redirect_to_another_host_is_not_followed() {
    let site = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    robots(&site, "").await;
    robots(&elsewhere, "").await;
    mount(
        &site,
        "/moved",
        redirect(301, url(&elsewhere, "/x").as_str()),
    )
    .await;
    mount(&site, "/here", redirect(302, "/there")).await;
    mount(&site, "/there", text(200, "same host")).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let http = fetcher.for_source(50.0);
    let err = http.get(&url(&site, "/moved")).await.unwrap_err();
    assert!(matches!(err, FetchError::Redirect { .. }), "{err}");
    assert!(err.to_string().contains("another host"), "{err}");
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "the other host was contacted"
    );
    // A redirect within the site is followed.
    let page = http.get(&url(&site, "/here")).await.unwrap();
    assert_eq!(page.text(), "same host");
}

#[tokio::test]
async fn an_unchanged_page_is_served_from_the_store_on_304() {
    let server = MockServer::start().await;
    robots(&server, "").await;
    Mock::given(method("GET"))
        .and(path("/list"))
        .and(header("If-None-Match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/list"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ETag", "\"v1\"")
                .insert_header("Last-Modified", "Tue, 01 Dec 2026 08:00:00 GMT")
                .set_body_string("the listing"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fetcher = Fetcher::new(fast_config(), Some(store)).unwrap();
    let http = fetcher.for_source(50.0);
    let first = http.get(&url(&server, "/list")).await.unwrap();
    assert!(!first.not_modified);
    let second = http.get(&url(&server, "/list")).await.unwrap();
    assert!(second.not_modified);
    assert_eq!(second.body, b"the listing");
    assert_eq!(http.counters().snapshot().not_modified, 1);
}

/// Everything but `/events/*/book` allowed at first (with validators), then,
/// from the second robots.txt request on, `/training` and `/org/` disallowed.
async fn robots_that_change_after_one_read(server: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/robots.txt"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ETag", "\"r1\"")
                .insert_header("Last-Modified", "Tue, 01 Dec 2026 08:00:00 GMT")
                .set_body_string("User-agent: *\nDisallow: /events/*/book\n"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/robots.txt"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ETag", "\"r2\"")
                .set_body_string("User-agent: *\nDisallow: /training\nDisallow: /org/\n"),
        )
        .with_priority(2)
        .mount(server)
        .await;
}

async fn robots_requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == "/robots.txt")
        .collect()
}

#[tokio::test]
async fn robots_txt_is_read_again_conditionally_by_each_crawl() {
    let server = MockServer::start().await;
    robots_that_change_after_one_read(&server).await;
    mount(&server, "/training/1", text(200, "a course")).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fetcher = Fetcher::new(fast_config(), Some(store)).unwrap();

    let first_crawl = fetcher.for_source(50.0);
    assert!(first_crawl.get(&url(&server, "/training/1")).await.is_ok());
    assert!(first_crawl.get(&url(&server, "/training/1")).await.is_ok());
    assert_eq!(
        robots_requests(&server).await.len(),
        1,
        "read once within a crawl"
    );

    // The site added a Disallow rule; the same process crawls again.
    let second_crawl = fetcher.for_source(50.0);
    let err = second_crawl
        .get(&url(&server, "/training/1"))
        .await
        .unwrap_err();
    assert!(matches!(err, FetchError::Disallowed { .. }), "{err}");

    let asked = robots_requests(&server).await;
    assert_eq!(asked.len(), 2);
    assert!(asked[0].headers.get("if-none-match").is_none());
    let header_of = |name: &str| {
        asked[1]
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header_of("if-none-match").as_deref(), Some("\"r1\""));
    assert_eq!(
        header_of("if-modified-since").as_deref(),
        Some("Tue, 01 Dec 2026 08:00:00 GMT")
    );
    let pages = server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/training/1")
        .count();
    assert_eq!(pages, 2, "the disallowed page was not fetched again");
}

#[tokio::test]
async fn an_unchanged_robots_txt_costs_a_304_and_keeps_its_rules() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/robots.txt"))
        .and(header("If-None-Match", "\"r1\""))
        .respond_with(ResponseTemplate::new(304))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/robots.txt"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ETag", "\"r1\"")
                .set_body_string("User-agent: *\nDisallow: /private\n"),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount(&server, "/open", text(200, "open")).await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fetcher = Fetcher::new(fast_config(), Some(store)).unwrap();
    for _crawl in 0..2 {
        let http = fetcher.for_source(50.0);
        let err = http.get(&url(&server, "/private")).await.unwrap_err();
        assert!(matches!(err, FetchError::Disallowed { .. }), "{err}");
        assert_eq!(
            http.get(&url(&server, "/open")).await.unwrap().body,
            b"open"
        );
    }
    assert_eq!(robots_requests(&server).await.len(), 2);
}

#[tokio::test]
async fn a_second_crawl_of_a_source_obeys_a_rule_added_since_the_first() {
    use events::crawl::{crawl_source, Outcome, Quiet};
    let server = MockServer::start().await;
    robots_that_change_after_one_read(&server).await;
    mount(
        &server,
        "/org/98765432101/showmore/",
        text(
            200,
            r#"{"success":true,"data":{"events":[],"has_next_page":false}}"#,
        ),
    )
    .await;
    let file = std::path::Path::new("vrp.toml");
    let cfg = events::config::parse_source(
        file,
        &format!(
            "id = \"vrp\"\nname = \"VRP\"\nkind = \"eventbrite\"\nbase_url = \"{}\"\norganizer_id = \"98765432101\"\ntoken_env = \"EVENTS_TEST_TOKEN_NEVER_SET\"\nrequests_per_second = 50\n",
            server.uri()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let fetcher = Fetcher::new(fast_config(), Some(store.clone())).unwrap();
    let now = chrono::Utc::now();

    let first = crawl_source(&cfg, &fetcher, &store, now, &Quiet).await;
    assert!(!first.failed(), "{}", first.line());
    let second = crawl_source(&cfg, &fetcher, &store, now, &Quiet).await;
    let Outcome::Failed(why) = &second.outcome else {
        panic!("the second crawl went ahead: {}", second.line());
    };
    assert!(why.to_string().contains("robots.txt"), "{why}");
    assert_eq!(why.kind(), events::errors::ErrorKind::Robots, "{why}");
    let asked = robots_requests(&server).await;
    assert_eq!(asked.len(), 2, "read at the start of each crawl");
    assert!(asked[1].headers.get("if-none-match").is_some());
}

#[tokio::test]
async fn a_body_that_stalls_names_the_timeout_it_ran_out_of() {
    // A server that sends its headers and part of the body, then goes quiet.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let head = if buf.starts_with(b"GET /robots.txt") {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nthe first bytes".to_string()
                };
                let _ = sock.write_all(head.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    let cfg = FetchConfig {
        timeout: Duration::from_secs(1),
        max_retries: 0,
        ..fast_config()
    };
    let fetcher = Fetcher::new(cfg, None).unwrap();
    let page = Url::parse(&format!("http://{addr}/stalls")).unwrap();
    let err = fetcher.for_source(50.0).get(&page).await.unwrap_err();
    assert!(
        matches!(err, FetchError::Timeout { secs: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("within 1 s"), "{err}");
}

/// A chain of `hops` same-host redirects `/{name}0` → `/{name}1` → … ending
/// at a page.
async fn redirect_chain(server: &MockServer, name: &str, hops: usize) {
    for i in 0..hops {
        mount(
            server,
            &format!("/{name}{i}"),
            redirect(302, format!("/{name}{}", i + 1)),
        )
        .await;
    }
    mount(server, &format!("/{name}{hops}"), text(200, "arrived")).await;
}

/// `max_redirects` is 5 by default: five redirects are followed, a sixth is not.
#[tokio::test]
async fn exactly_five_redirects_are_followed() {
    let server = MockServer::start().await;
    robots(&server, "").await;
    assert_eq!(fast_config().max_redirects, 5);
    redirect_chain(&server, "five", 5).await;
    redirect_chain(&server, "six", 6).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let http = fetcher.for_source(50.0);
    let page = http.get(&url(&server, "/five0")).await.unwrap();
    assert_eq!(page.text(), "arrived");
    let err = http.get(&url(&server, "/six0")).await.unwrap_err();
    assert!(matches!(err, FetchError::Redirect { .. }), "{err}");
    let asked = paths(&server).await;
    assert!(asked.contains(&"/six5".to_string()), "{asked:?}");
    assert!(
        !asked.contains(&"/six6".to_string()),
        "a sixth redirect was followed: {asked:?}"
    );
}

/// RFC 9309 §2.3.1.2: a robots.txt that redirects to another host (here a
/// chain of five redirects across two hosts) is followed, and its rules are
/// the site's.
#[tokio::test]
async fn a_robots_txt_redirected_to_another_host_is_followed() {
    let site = MockServer::start().await;
    let cdn = MockServer::start().await;
    assert_eq!(events::fetch::ROBOTS_MAX_REDIRECTS, 5);
    // site /robots.txt → cdn /r1 → site /r2 → cdn /r3 → site /r4 → cdn /rules.txt
    let hop = |to: &MockServer, p: &str| redirect(301, url(to, p).as_str());
    mount(&site, "/robots.txt", hop(&cdn, "/r1")).await;
    mount(&cdn, "/r1", hop(&site, "/r2")).await;
    mount(&site, "/r2", hop(&cdn, "/r3")).await;
    mount(&cdn, "/r3", hop(&site, "/r4")).await;
    mount(&site, "/r4", hop(&cdn, "/rules.txt")).await;
    mount(
        &cdn,
        "/rules.txt",
        text(200, "User-agent: *\nDisallow: /private\n"),
    )
    .await;
    pages(&site).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let http = fetcher.for_source(50.0);
    assert_eq!(
        http.get(&url(&site, "/public")).await.unwrap().text(),
        "page"
    );
    let err = http.get(&url(&site, "/private/x")).await.unwrap_err();
    assert!(matches!(err, FetchError::Disallowed { .. }), "{err}");
    assert!(!paths(&site).await.contains(&"/private/x".to_string()));
    assert_eq!(paths(&cdn).await, ["/r1", "/r3", "/rules.txt"]);
}

/// RFC 9309 §2.5: a 50 MB robots.txt is read up to `ROBOTS_MAX_BYTES` (at
/// least 500 KiB), and the rules read are used; the crawl goes on, and a rule
/// past the limit is not applied.
#[tokio::test]
async fn a_huge_robots_txt_is_read_up_to_the_limit_and_used() {
    let limit = events::fetch::ROBOTS_MAX_BYTES;
    assert!(limit >= 500 * 1024);
    let mut body = b"User-agent: *\nDisallow: /private\n".to_vec();
    let filler = b"# a comment line that pads the file out to fifty megabytes\n";
    while body.len() < 50 * 1024 * 1024 {
        body.extend_from_slice(filler);
    }
    body.extend_from_slice(b"Disallow: /late\n");
    let server = MockServer::start().await;
    mount(
        &server,
        "/robots.txt",
        ResponseTemplate::new(200).set_body_bytes(body),
    )
    .await;
    pages(&server).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let http = fetcher.for_source(50.0);
    let err = http.get(&url(&server, "/private/x")).await.unwrap_err();
    assert!(matches!(err, FetchError::Disallowed { .. }), "{err}");
    // The rule after 50 MB was never read.
    assert_eq!(
        http.get(&url(&server, "/late")).await.unwrap().text(),
        "page"
    );
    let read = http.counters().snapshot().bytes;
    assert!(
        read as usize <= limit + "page".len(),
        "{read} bytes counted; at most {limit} of robots.txt should be"
    );
    assert!(
        read as usize >= limit,
        "{read} bytes: the limit's worth is used"
    );
}

/// Every address fetched passes robots.txt: a same-host redirect from an
/// allowed path to a disallowed one is not followed, and the disallowed page
/// is never asked for.
#[tokio::test]
async fn a_redirect_to_a_disallowed_path_is_not_followed() {
    let server = MockServer::start().await;
    robots(&server, "User-agent: *\nDisallow: /private\n").await;
    mount(&server, "/open", redirect(301, "/private/page")).await;
    pages(&server).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let http = fetcher.for_source(50.0);
    let err = http.get(&url(&server, "/open")).await.unwrap_err();
    match &err {
        FetchError::Disallowed { url } => assert!(url.ends_with("/private/page"), "{err}"),
        other => panic!("expected Disallowed, got {other}"),
    }
    assert_eq!(paths(&server).await, ["/robots.txt", "/open"]);
}

/// A robots.txt behind more than `ROBOTS_MAX_REDIRECTS` redirects counts as
/// no robots.txt (RFC 9309 §2.3.1.2 lets a crawler assume it unavailable): the
/// crawl goes on, and the seventh address is never asked for.
#[tokio::test]
async fn a_robots_txt_behind_too_many_redirects_counts_as_none() {
    let server = MockServer::start().await;
    mount(&server, "/robots.txt", redirect(301, "/hop0")).await;
    // /hop0 → … → /hop5 → /hop6, which would say "Disallow: /".
    for i in 0..6 {
        mount(
            &server,
            &format!("/hop{i}"),
            redirect(301, format!("/hop{}", i + 1)),
        )
        .await;
    }
    mount(&server, "/hop6", text(200, "User-agent: *\nDisallow: /\n")).await;
    pages(&server).await;
    let fetcher = Fetcher::new(fast_config(), None).unwrap();
    let http = fetcher.for_source(50.0);
    assert_eq!(
        http.get(&url(&server, "/page")).await.unwrap().text(),
        "page"
    );
    let asked = paths(&server).await;
    assert_eq!(
        asked,
        [
            "/robots.txt",
            "/hop0",
            "/hop1",
            "/hop2",
            "/hop3",
            "/hop4",
            "/page"
        ]
    );
}
