//! End to end: after a good crawl of the booking site, crawls whose pages turn
//! hostile (empty, huge, nested a million deep, not UTF-8, JSON where HTML
//! should be) lose no stored session, and say which pages they could not use.
//! The site is a wiremock server on loopback serving the saved fixtures, then
//! the hostile bodies.

mod common;

use common::web;
use serde_json::Value;
use std::path::Path;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FIRST: &str = "2026-12-01T09:00:00Z";
const SECOND: &str = "2026-12-01T10:00:00Z";
const THIRD: &str = "2026-12-01T11:00:00Z";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/wsp")
            .join(name),
    )
    .unwrap()
}

fn html(body: Vec<u8>) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/html; charset=utf-8")
        .set_body_bytes(body)
}

/// Mounts the site: robots.txt, both listing pages, the catalogue, and each
/// detail page from `detail(id)`.
async fn mount(
    server: &MockServer,
    listing: Vec<u8>,
    page_2: Vec<u8>,
    detail: impl Fn(u32) -> Vec<u8>,
) {
    web::robots(server, "User-agent: *\nAllow: /\n").await;
    Mock::given(method("GET"))
        .and(path("/events-list"))
        .and(query_param("page", "2"))
        .respond_with(html(page_2))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/events-list"))
        .respond_with(html(listing))
        .with_priority(2)
        .mount(server)
        .await;
    web::mount(
        server,
        "/elearning-list",
        html(b"<p>No courses</p>".to_vec()),
    )
    .await;
    for id in 1001..=1010 {
        web::mount(server, &format!("/events/{id}"), html(detail(id))).await;
    }
}

/// A hostile body for each event, in turn.
fn hostile(id: u32) -> Vec<u8> {
    match id % 5 {
        0 => Vec::new(),
        1 => "<div>".repeat(1024 * 1024).into_bytes(),
        2 => {
            let mut b = fixture(&format!("events_{id}.html"));
            b.extend_from_slice(&[0xff, 0xfe, 0x00, 0x93, 0x94]);
            b.splice(0..0, [0xc3, 0x28]);
            b
        }
        3 => br#"{"events": [{"name": 7, "start": null}]}"#.to_vec(),
        _ => format!(
            "<h1>{}</h1><table><tr><td>31/02/2027</td><td>25:00</td><td>09:00</td></tr></table>",
            "x".repeat(10_000)
        )
        .into_bytes(),
    }
}

fn uids(list: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = list
        .iter()
        .map(|s| s["uid"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_pages_after_a_good_crawl_lose_no_session() {
    let sources = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let site = MockServer::start().await;
    let base: url::Url = site.uri().parse().unwrap();
    common::write_wsp_source(sources.path(), &base, 50);
    let run = |now: &'static str, args: &'static [&'static str]| {
        let (s, d) = (sources.path().to_path_buf(), data.path().to_path_buf());
        async move { common::events(&s, &d, now, None, args).await }
    };

    mount(
        &site,
        fixture("events-list.html"),
        fixture("events-list_page-2.html"),
        |id| fixture(&format!("events_{id}.html")),
    )
    .await;
    let first = run(FIRST, &["crawl"]).await;
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let before = uids(&common::json_list(
        &run(FIRST, &["upcoming", "--json"]).await,
    ));
    assert!(before.len() >= 8, "{before:?}");

    // Every detail page turns hostile, and every listing entry's text changes
    // (one more line) so each detail page is fetched again.
    site.reset().await;
    let touched = |name: &str| {
        String::from_utf8(fixture(name))
            .unwrap()
            .replace("</li>", "<div>Updated</div></li>")
            .into_bytes()
    };
    mount(
        &site,
        touched("events-list.html"),
        touched("events-list_page-2.html"),
        hostile,
    )
    .await;
    let second = run(SECOND, &["crawl"]).await;
    let logs = String::from_utf8_lossy(&second.stderr).to_string();
    let after = uids(&common::json_list(
        &run(SECOND, &["upcoming", "--json"]).await,
    ));
    assert_eq!(after, before, "no session lost: {logs}");
    for id in [1003, 1006, 1010] {
        assert!(
            logs.contains(&format!("/events/{id}")),
            "the page of {id} is named: {logs}"
        );
    }
    assert!(logs.contains("nested too deeply"), "{logs}");

    // Then the listing itself is empty, then junk: refused, nothing changes.
    for listing in [
        Vec::new(),
        vec![0xff; 4096],
        "<div>".repeat(1024 * 1024).into_bytes(),
    ] {
        site.reset().await;
        mount(&site, listing.clone(), listing, hostile).await;
        let third = run(THIRD, &["crawl"]).await;
        assert_eq!(
            third.status.code(),
            Some(1),
            "a refused crawl fails: {third:?}"
        );
        let line = common::stdout(&third);
        assert!(line.contains("FAILED"), "{line}");
        let now = uids(&common::json_list(
            &run(THIRD, &["upcoming", "--json"]).await,
        ));
        assert_eq!(now, before, "no session lost: {line}");
    }
}
