//! Only links that may leave the program leave it (src/links.rs): a
//! schema.org site on loopback whose events name `javascript:`, `data:`,
//! off-site and protocol-relative `url`s is crawled by the binary, and every
//! output (the served feed, page, Atom and JSON, `events ics`, `events
//! upcoming --json`, the export) carries the one good link and none of the
//! others; the crawl names each dropped link. A store that already holds such
//! links (written before the rule) is served without them too. An `ical`
//! source's own feed address (its reader's stand-in for "no link") is never a
//! "Book" link.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::servers::Served;
use common::sessions::{self, SessionBuilder};
use common::web;
use events::model::Session;
use events::server::{self, AppState};
use events::store::Store;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wiremock::{MockServer, ResponseTemplate};

const NOW: &str = "2026-12-01T09:00:00Z";

/// The links no output may carry, as they appear in the page's JSON-LD.
const HOSTILE: [&str; 4] = [
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)<\\/script>",
    "https://evil.test/phish",
    "//evil.test/x",
];

/// What must appear in no output.
const FORBIDDEN: [&str; 3] = ["javascript:", "data:text", "evil.test"];

fn event(name: &str, url: &str, day: u32) -> String {
    format!(
        r#"{{"@context":"https://schema.org","@type":"EducationEvent","name":"{name}","url":"{url}","startDate":"2027-03-{day:02}T09:30:00Z","endDate":"2027-03-{day:02}T12:30:00Z","eventAttendanceMode":"https://schema.org/OfflineEventAttendanceMode","location":{{"@type":"Place","name":"Walsall Town Hall","address":"Leicester Street, Walsall"}}}}"#
    )
}

/// A listing that embeds every event whole: one with a good link, one for
/// each hostile one.
fn listing() -> String {
    let mut events = vec![event("Good course", "/event/good-course/", 1)];
    for (i, u) in HOSTILE.iter().enumerate() {
        events.push(event(&format!("Hostile {i}"), u, 2 + i as u32));
    }
    format!(
        "<!DOCTYPE html><html><head><title>Events</title><script type=\"application/ld+json\">[{}]</script></head><body><h1>Events</h1></body></html>",
        events.join(",")
    )
}

async fn site() -> MockServer {
    web::site([
        ("/robots.txt", web::text(200, "User-agent: *\nAllow: /\n")),
        (
            "/events/",
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/html; charset=utf-8")
                .set_body_string(listing()),
        ),
    ])
    .await
}

fn write_source(dir: &Path, base: &str) {
    std::fs::write(
        dir.join("site.toml"),
        format!("id = \"site\"\nname = \"Site\"\nkind = \"schema-org\"\nbase_url = \"{base}\"\nlisting = \"/events/\"\nevent_path = '^/event/'\nrequests_per_second = 5\n"),
    )
    .unwrap();
}

fn assert_clean(what: &str, text: &str) {
    for bad in FORBIDDEN {
        assert!(!text.contains(bad), "{what} carries {bad}:\n{text}");
    }
}

/// An iCalendar body with its folded lines joined.
fn unfold(ics: &str) -> String {
    ics.replace("\r\n ", "").replace("\r\n\t", "")
}

/// The feed's checks: every hostile session is there, with neither a `URL`
/// nor a "Book:" line; the good one has both.
fn check_feed(what: &str, ics: &str, good: &str) {
    let ics = unfold(ics);
    assert_clean(what, &ics);
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 5, "{what}: {ics}");
    let urls: Vec<&str> = ics.lines().filter(|l| l.starts_with("URL")).collect();
    assert_eq!(urls, [format!("URL:{good}").as_str()], "{what}");
    assert_eq!(ics.matches("Book: ").count(), 1, "{what}: {ics}");
    assert!(ics.contains(&format!("Book: {good}")), "{what}: {ics}");
}

/// The JSON's checks: five sessions, the good one's `url` the good link,
/// every other one empty.
fn check_json(what: &str, body: &str, good: &str) {
    assert_clean(what, body);
    let v: Vec<Value> = serde_json::from_str(body).unwrap();
    assert_eq!(v.len(), 5, "{what}: {body}");
    let mut urls: Vec<&str> = v.iter().map(|s| s["url"].as_str().unwrap()).collect();
    urls.sort();
    assert_eq!(urls, ["", "", "", "", good], "{what}");
}

/// `GET path` over HTTP/1.0 (no chunking), the body as text.
async fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(30), s.read_to_end(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    body.to_string()
}

/// Serves the store in `data` with the sources in `sources` until the
/// returned server is dropped.
async fn serve(data: &Path, sources: &Path) -> Served {
    let store = Store::open(data).unwrap();
    let configs = events::cli::load_sources(sources).unwrap();
    let state = AppState::new(store, configs, server::fixed_clock(common::utc(NOW)));
    Served::start(state).await
}

/// Every output of the store in `data`; `changed`: the store holds changes
/// of these sessions (the Atom feed and the page list them).
async fn check_every_output(data: &Path, sources: &Path, good: &str, changed: bool) {
    let server = serve(data, sources).await;
    let addr = server.addr;
    check_feed("/calendar.ics", &get(addr, "/calendar.ics").await, good);
    check_json("/api/sessions", &get(addr, "/api/sessions").await, good);
    let page = get(addr, "/").await;
    assert_clean("the page", &page);
    assert_eq!(
        page.matches(&format!("<a class=\"book\" href=\"{good}\""))
            .count(),
        1,
        "{page}"
    );
    assert_eq!(page.matches("class=\"book\"").count(), 1, "{page}");
    let atom = get(addr, "/changes.atom").await;
    assert_clean("/changes.atom", &atom);
    if changed {
        assert_eq!(atom.matches("<entry>").count(), 5, "{atom}");
        assert!(atom.contains(&format!("href=\"{good}\"")), "{atom}");
        assert_eq!(atom.matches("Book or see the details").count(), 1, "{atom}");
        // The page's "What changed" lists them with the one good link.
        assert_eq!(page.matches(">Details<").count(), 1, "{page}");
    }
    drop(server);

    let ics = common::events(sources, data, NOW, None, &["ics"]).await;
    assert!(ics.status.success());
    check_feed("events ics", &common::stdout(&ics), good);
    let up = common::events(sources, data, NOW, None, &["upcoming", "--json"]).await;
    assert!(up.status.success());
    check_json("events upcoming --json", &common::stdout(&up), good);
    let out = tempfile::tempdir().unwrap();
    let ex = common::events(
        sources,
        data,
        NOW,
        None,
        &["export", out.path().to_str().unwrap()],
    )
    .await;
    assert!(
        ex.status.success(),
        "{}",
        String::from_utf8_lossy(&ex.stderr)
    );
    check_json(
        "sessions.json",
        &std::fs::read_to_string(out.path().join("sessions.json")).unwrap(),
        good,
    );
    check_feed(
        "the exported calendar.ics",
        &std::fs::read_to_string(out.path().join("calendar.ics")).unwrap(),
        good,
    );
    assert_clean(
        "the exported page",
        &std::fs::read_to_string(out.path().join("index.html")).unwrap(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_links_are_dropped_when_crawled_and_never_emitted() {
    let server = site().await;
    let base = format!("{}/", server.uri());
    let sources = tempfile::tempdir().unwrap();
    write_source(sources.path(), &base);
    let data = tempfile::tempdir().unwrap();
    let data = data.path().join("data");

    let crawl = common::events(sources.path(), &data, NOW, None, &["crawl"]).await;
    let stderr = String::from_utf8_lossy(&crawl.stderr);
    assert!(crawl.status.success(), "{stderr}");
    // Each dropped link is named, with its source.
    for shown in [
        "javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "https://evil.test/phish",
        "http://evil.test/x",
    ] {
        assert!(
            stderr
                .lines()
                .any(|l| l.contains("link was dropped") && l.contains("site") && l.contains(shown)),
            "no warning names {shown}:\n{stderr}"
        );
    }
    let good = format!("{base}event/good-course/");
    check_every_output(&data, sources.path(), &good, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_already_in_the_store_are_not_emitted() {
    let base = "https://www.site.example/";
    let sources = tempfile::tempdir().unwrap();
    write_source(sources.path(), base);
    let data = tempfile::tempdir().unwrap();
    let data = data.path().join("data");
    {
        // Written straight into the store, as a crawl before the rule did.
        let store = Store::open(&data).unwrap();
        let start = Utc.with_ymd_and_hms(2027, 3, 1, 9, 30, 0).unwrap();
        let mut urls = vec!["https://site.example/event/good-course/".to_string()];
        urls.extend(HOSTILE.iter().map(|u| u.replace("<\\/", "</")));
        let sessions = |spaces: u32| -> Vec<Session> {
            urls.iter()
                .enumerate()
                .map(|(i, url)| Session {
                    category: None,
                    ..sessions::session(
                        "site",
                        &format!("/e/{i}"),
                        start + Duration::days(i as i64),
                    )
                    .titled(format!("Course {i}"))
                    .at_venue("Walsall Town Hall")
                    .with_spaces(spaces)
                    .booked_at(url.clone())
                })
                .collect()
        };
        // Full, then places again: a change of each, with its link.
        for (spaces, ago) in [(0, 2), (4, 1)] {
            sessions::merge_crawl(
                &store,
                "site",
                sessions(spaces),
                common::utc(NOW) - Duration::hours(ago),
            );
        }
        store.flush().unwrap();
    }
    check_every_output(
        &data,
        sources.path(),
        "https://site.example/event/good-course/",
        true,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ical_sources_feed_is_never_a_book_link() {
    use events::replica::{Replica, Site, ICAL_FEED_PATH};
    let cal = Replica::start(Site::Ical).await.unwrap();
    let feed = cal.base_url().join(ICAL_FEED_PATH).unwrap();
    let sources = tempfile::tempdir().unwrap();
    std::fs::write(
        sources.path().join("cal.toml"),
        format!("id = \"cal\"\nname = \"Calendar\"\nkind = \"ical\"\nurl = \"{feed}\"\nrequests_per_second = 50\n"),
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let data = data.path().join("data");
    let crawl = common::events(sources.path(), &data, NOW, None, &["crawl"]).await;
    assert!(
        crawl.status.success(),
        "{}",
        String::from_utf8_lossy(&crawl.stderr)
    );
    let ics = common::events(sources.path(), &data, NOW, None, &["ics"]).await;
    let ics = unfold(&common::stdout(&ics));
    assert!(ics.matches("BEGIN:VEVENT").count() > 3, "{ics}");
    // The replica's events name no page on its own host (their URLs are the
    // real site's, another host here), and those without one would have had
    // the feed's own address: neither is a link.
    assert!(!ics.contains("ical=1"), "{ics}");
    assert!(!ics.lines().any(|l| l.starts_with("URL")), "{ics}");
    assert!(!ics.contains("Book: "), "{ics}");
}
