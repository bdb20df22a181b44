//! The schedule of `watch` and `serve` prunes kept pages, at most once a day,
//! as `events crawl` does: a real store in a temporary directory, a real feed
//! on loopback, and the schedule's clock frozen.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::web;
use events::config::parse_source;
use events::crawl::schedule::run_with_clock;
use events::crawl::{CrawlReport, Observer};
use events::fetch::{FetchConfig, Fetcher};
use events::store::{CachedResponse, Store};
use std::path::Path;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use wiremock::{MockServer, ResponseTemplate};

/// The schedule's frozen clock.
fn frozen() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap()
}

const FEED: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n\
BEGIN:VEVENT\r\nUID:course-1@partnership.test\r\nDTSTAMP:20270101T000000Z\r\n\
DTSTART:20270310T100000Z\r\nDTEND:20270310T120000Z\r\nSUMMARY:Course\r\n\
END:VEVENT\r\nEND:VCALENDAR\r\n";

const OLD: &str = "https://pages.test/events/gone-for-40-days";
const RECENT: &str = "https://pages.test/events/used-2-days-ago";

/// Tells the test each time a crawl is reported finished.
struct Finished(mpsc::UnboundedSender<String>);

impl Observer for Finished {
    fn finished(&self, report: &CrawlReport) {
        let _ = self.0.send(report.source.clone());
    }
}

fn kept(last_used: DateTime<Utc>) -> CachedResponse {
    CachedResponse {
        etag: Some("\"v1\"".into()),
        last_modified: None,
        fetched: last_used,
        seen: Some(last_used),
        body: b"<html>kept</html>".to_vec(),
    }
}

async fn feed_server() -> MockServer {
    web::site([
        ("/robots.txt", web::text(200, "")),
        (
            "/feed.ics",
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/calendar")
                .set_body_string(FEED),
        ),
    ])
    .await
}

/// A store holding one page no crawl has used for 40 days and one used 2
/// days ago (by the frozen clock), pruned last at `last_prune` if given.
fn store_with_kept_pages(dir: &Path, last_prune: Option<DateTime<Utc>>) -> Store {
    let store = Store::open(dir).unwrap();
    store
        .put_cached_response(OLD, &kept(frozen() - Duration::days(40)))
        .unwrap();
    store
        .put_cached_response(RECENT, &kept(frozen() - Duration::days(2)))
        .unwrap();
    if let Some(t) = last_prune {
        // A prune at `t` of pages unused for a year: it removes nothing here,
        // but it is the day's prune.
        let first = store
            .prune_http_cache_due(t, Duration::days(365))
            .unwrap()
            .expect("the first prune is due");
        assert_eq!(first.entries, 0);
    }
    store
}

/// Runs the schedule with one `ical` source until its first crawl is
/// reported finished, then stops it.
async fn one_scheduled_crawl(server: &MockServer, store: &Store) {
    let cfg = parse_source(
        Path::new("feed.toml"),
        &format!(
            "id = \"feed\"\nname = \"Feed\"\nkind = \"ical\"\nurl = \"{}/feed.ics\"\npoll_interval = \"6h\"\nrequests_per_second = 50\n",
            server.uri()
        ),
    )
    .unwrap();
    let fetcher = Fetcher::new(
        FetchConfig {
            timeout: std::time::Duration::from_secs(5),
            connect_timeout: std::time::Duration::from_secs(5),
            ..FetchConfig::default()
        },
        Some(store.clone()),
    )
    .unwrap();
    let (tx, rx) = watch::channel(false);
    let (done, mut finished) = mpsc::unbounded_channel();
    let schedule = tokio::spawn(run_with_clock(
        vec![cfg],
        fetcher,
        store.clone(),
        Arc::new(Finished(done)),
        rx,
        true,
        frozen,
    ));
    let source = tokio::time::timeout(std::time::Duration::from_secs(30), finished.recv())
        .await
        .expect("the scheduled crawl finished within 30 s")
        .expect("a report");
    assert_eq!(source, "feed");
    tx.send(true).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(30), schedule)
        .await
        .expect("the schedule stopped within 30 s")
        .unwrap();
}

#[tokio::test]
async fn the_schedule_prunes_pages_no_crawl_used_for_30_days() {
    let server = feed_server().await;
    let dir = tempfile::tempdir().unwrap();
    // Last pruned two days ago: due.
    let store = store_with_kept_pages(dir.path(), Some(frozen() - Duration::days(2)));
    one_scheduled_crawl(&server, &store).await;
    assert!(
        store.cached_response(OLD).unwrap().is_none(),
        "the page unused for 40 days is pruned"
    );
    assert!(store.cached_response(RECENT).unwrap().is_some());
    assert_eq!(store.http_cache_pruned_at().unwrap(), Some(frozen()));
    // The crawl itself ran: its feed's session is stored.
    assert_eq!(store.source_sessions("feed").unwrap().len(), 1);
}

#[tokio::test]
async fn the_schedule_prunes_at_most_once_a_day() {
    let server = feed_server().await;
    let dir = tempfile::tempdir().unwrap();
    // Pruned an hour ago (before the 40-day-old page was that old): not due.
    let an_hour_ago = frozen() - Duration::hours(1);
    let store = store_with_kept_pages(dir.path(), Some(an_hour_ago));
    one_scheduled_crawl(&server, &store).await;
    assert!(
        store.cached_response(OLD).unwrap().is_some(),
        "not pruned again within the day"
    );
    assert_eq!(store.http_cache_pruned_at().unwrap(), Some(an_hour_ago));
}
