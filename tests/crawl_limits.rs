//! A hostile `schema-org` site against the crawl's limits, through the
//! `events` binary on loopback: an event with 60,000 `subEvent`s, a listing
//! whose `ItemList` names 100,000 event pages, and a site too slow for the
//! crawl's deadline. Each crawl stops at the named limit with its sentence,
//! within its bound of requests and peak memory (the process's own count,
//! `VmHWM`, which it logs at exit), and loses nothing stored.

mod common;

use common::web::mount;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: &str = "2026-12-01T09:00:00Z";

/// What a run of the binary left: exit code, output, and peak resident memory.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    peak_kib: u64,
}

/// Runs `events` to the end, with the peak resident memory it logs at exit
/// from its own counter (`VmHWM`).
async fn run_measured(sources: &Path, data: &Path, args: &[&str]) -> Run {
    let o = common::events_command(sources, data, NOW, None, args)
        .env("EVENTS_LOG", "warn,events::memory=debug")
        .output()
        .await
        .expect("the events binary runs");
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let peak_kib = stderr
        .split("peak_kib=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak memory logged: {stderr}"));
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr,
        peak_kib,
    }
}

fn write_source(dir: &Path, base: &str, limits: &str) {
    std::fs::write(
        dir.join("site.toml"),
        format!(
            "id = \"site\"\nname = \"Hostile site\"\nkind = \"schema-org\"\nbase_url = \"{base}\"\nlisting = \"/events/\"\nrequests_per_second = 1000\n\n[limits]\n{limits}"
        ),
    )
    .unwrap();
}

fn page(json_ld: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/html; charset=utf-8")
        .set_body_string(format!(
            "<!DOCTYPE html><html><head><script type=\"application/ld+json\">{json_ld}</script></head><body></body></html>"
        ))
}

/// An event page at `/e/<n>` for any `n`: one event on 1 March 2027.
async fn mount_event_pages(server: &MockServer, delay: Duration) {
    Mock::given(method("GET"))
        .and(path_regex(r"^/e/\d+$"))
        .respond_with(
            page(r#"{"@context":"https://schema.org","@type":"Event","name":"Course","startDate":"2027-03-01T10:00:00Z","endDate":"2027-03-01T12:00:00Z"}"#)
                .set_delay(delay),
        )
        .mount(server)
        .await;
}

/// A listing whose `ItemList` names `/e/0` … `/e/{n-1}`.
fn item_list(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"@type":"ListItem","position":{},"url":"/e/{i}"}}"#,
                i + 1
            )
        })
        .collect();
    format!(
        r#"{{"@context":"https://schema.org","@type":"ItemList","itemListElement":[{}]}}"#,
        items.join(",")
    )
}

async fn requests_to(server: &MockServer, prefix: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path().starts_with(prefix))
        .count()
}

fn uids(data: &Path, sources: &Path) -> Vec<String> {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_events"))
        .arg("--sources")
        .arg(sources)
        .arg("--data")
        .arg(data)
        .args(["upcoming", "--json"])
        .env("EVENTS_NOW", NOW)
        .output()
        .unwrap();
    let list: Value = serde_json::from_slice(&o.stdout).expect("upcoming --json");
    let mut v: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["uid"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// One Event with 60,000 `subEvent`s: each counts against `max_sessions` as it
/// is read, so the crawl stops at the limit and reports it, and peak memory
/// stays near that of reading the page itself (it took 572 MiB before).
#[tokio::test(flavor = "multi_thread")]
async fn sixty_thousand_sub_events_stop_at_max_sessions() {
    let site = MockServer::start().await;
    mount(&site, "/robots.txt", ResponseTemplate::new(404)).await;
    mount(
        &site,
        "/events/",
        page(&item_list(1).replace("/e/0", "/big")),
    )
    .await;
    let subs: Vec<String> = (0..60_000)
        .map(|i| {
            format!(
                r#"{{"@type":"Event","startDate":"2027-03-01T{:02}:{:02}:00Z"}}"#,
                i / 60 % 24,
                i % 60
            )
        })
        .collect();
    let event = format!(
        r#"{{"@context":"https://schema.org","@type":"Event","name":"Every minute","description":"{}","startDate":"2027-03-01T00:00:00Z","subEvent":[{}]}}"#,
        "A long description copied into every session. ".repeat(20),
        subs.join(",")
    );
    mount(&site, "/big", page(&event)).await;
    let sources = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_source(
        sources.path(),
        &site.uri(),
        "max_sessions = 100\nmax_body_bytes = \"8 MiB\"\n",
    );
    let run = run_measured(sources.path(), data.path(), &["crawl"]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("INCOMPLETE"), "{}", run.stdout);
    assert!(run.stdout.contains("limits.max_sessions"), "{}", run.stdout);
    assert!(run.stdout.contains("100 sessions found"), "{}", run.stdout);
    assert_eq!(uids(data.path(), sources.path()).len(), 100);
    assert!(
        run.peak_kib < 160 * 1024,
        "peak memory {} KiB for a page of 60,000 subEvents",
        run.peak_kib
    );
    eprintln!(
        "60,000 subEvents, max_sessions 100: peak {} KiB",
        run.peak_kib
    );
}

/// A listing whose `ItemList` names 100,000 event pages, with `max_pages = 1`
/// and `max_sessions = 100`: the crawl fetches about 100 event pages, not
/// 100,000, and reports the limit.
#[tokio::test(flavor = "multi_thread")]
async fn an_item_list_of_a_hundred_thousand_events_stops_at_the_limits() {
    let site = MockServer::start().await;
    mount(&site, "/robots.txt", ResponseTemplate::new(404)).await;
    mount(&site, "/events/", page(&item_list(100_000))).await;
    mount_event_pages(&site, Duration::ZERO).await;
    let sources = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_source(
        sources.path(),
        &site.uri(),
        "max_pages = 1\nmax_sessions = 100\nmax_body_bytes = \"8 MiB\"\n",
    );
    let run = run_measured(sources.path(), data.path(), &["crawl"]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("INCOMPLETE"), "{}", run.stdout);
    assert!(run.stdout.contains("limits.max_sessions"), "{}", run.stdout);
    let fetched = requests_to(&site, "/e/").await;
    assert!(
        (100..=101).contains(&fetched),
        "{fetched} event pages fetched"
    );
    assert!(run.peak_kib < 256 * 1024, "peak {} KiB", run.peak_kib);
    eprintln!(
        "100,000-entry ItemList: {fetched} event pages, peak {} KiB",
        run.peak_kib
    );
}

/// Event pages count against `max_event_pages`: with 20, the crawl reads 20
/// event pages of the 100,000 named and stops, reporting that limit.
#[tokio::test(flavor = "multi_thread")]
async fn event_pages_count_against_max_event_pages() {
    let site = MockServer::start().await;
    mount(&site, "/robots.txt", ResponseTemplate::new(404)).await;
    mount(&site, "/events/", page(&item_list(100_000))).await;
    mount_event_pages(&site, Duration::ZERO).await;
    let sources = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_source(
        sources.path(),
        &site.uri(),
        "max_event_pages = 20\nmax_body_bytes = \"8 MiB\"\n",
    );
    let run = run_measured(sources.path(), data.path(), &["crawl"]).await;
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("stopped at 20"), "{}", run.stdout);
    assert!(
        run.stdout.contains("limits.max_event_pages"),
        "{}",
        run.stdout
    );
    assert_eq!(requests_to(&site, "/e/").await, 20);
    let health =
        common::stdout(&common::events(sources.path(), data.path(), NOW, None, &["sources"]).await);
    assert!(health.contains("limits.max_event_pages"), "{health}");
}

/// A crawl that outlives `max_crawl_time` is stopped and reported as stopped
/// at that limit; the sessions of the last good crawl are all kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_crawl_past_its_deadline_stops_and_keeps_what_was_stored() {
    let site = MockServer::start().await;
    mount(&site, "/robots.txt", ResponseTemplate::new(404)).await;
    mount(&site, "/events/", page(&item_list(3))).await;
    mount_event_pages(&site, Duration::ZERO).await;
    let sources = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_source(sources.path(), &site.uri(), "max_crawl_time = \"2s\"\n");
    let first = run_measured(sources.path(), data.path(), &["crawl"]).await;
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    let before = uids(data.path(), sources.path());
    assert_eq!(before.len(), 3, "{before:?}");

    // Now each event page takes a minute to answer.
    site.reset().await;
    mount(&site, "/robots.txt", ResponseTemplate::new(404)).await;
    mount(&site, "/events/", page(&item_list(3))).await;
    mount_event_pages(&site, Duration::from_secs(60)).await;
    let started = std::time::Instant::now();
    let second = run_measured(sources.path(), data.path(), &["crawl"]).await;
    // The bound this test is about: the deadline, not the site, ends the crawl.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the crawl ran {:?}",
        started.elapsed()
    );
    eprintln!(
        "a crawl with a 2 s deadline ended after {:?}",
        started.elapsed()
    );
    assert_eq!(second.code, 1, "{}{}", second.stdout, second.stderr);
    assert!(second.stdout.contains("FAILED"), "{}", second.stdout);
    assert!(
        second.stdout.contains("limits.max_crawl_time"),
        "{}",
        second.stdout
    );
    assert_eq!(uids(data.path(), sources.path()), before);
}
