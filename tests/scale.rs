//! At scale: a generated booking site of 2,000 events (`scaled_replica`) on
//! loopback, crawled by the library as `events crawl` does, is stored in full
//! (every session with its UTC start and end, status and places), an unchanged
//! second crawl downloads no detail page again, and after the site changes the
//! changed events' places are what the site now says.

mod common;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::London;
use events::crawl::{self, CrawlReport, Outcome, Quiet};
use events::fetch::{FetchConfig, Fetcher};
use events::model::{SessionKey, Status, StoredSession, Uid};
use events::scaled_replica::{Places, ScaledConfig, ScaledReplica, ScaledSite};
use events::store::Store;
use std::collections::HashMap;

const EVENTS: usize = 2_000;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 3, 12, 0, 0).unwrap()
}

async fn replica(seed: u64) -> ScaledReplica {
    ScaledReplica::start(ScaledConfig {
        events: EVENTS,
        seed,
        first_day: NaiveDate::from_ymd_opt(2027, 1, 4).unwrap(),
    })
    .await
    .expect("the replica starts")
}

/// A store and the WSP source pointing at the replica, at 1,000 requests a second.
struct Env {
    _sources: tempfile::TempDir,
    _data: tempfile::TempDir,
    source: events::config::SourceConfig,
    store: Store,
}

impl Env {
    fn new(replica: &ScaledReplica) -> Env {
        let sources = tempfile::tempdir().unwrap();
        common::write_wsp_source(sources.path(), &replica.base_url(), 1000);
        let source = events::config::load_dir(sources.path())
            .expect("the source file loads")
            .remove(0);
        let data = tempfile::tempdir().unwrap();
        let store = Store::open(data.path()).expect("the store opens");
        Env {
            _sources: sources,
            _data: data,
            source,
            store,
        }
    }

    /// One crawl, as `events crawl` makes it (a new fetcher each time).
    async fn crawl(&self, at: DateTime<Utc>) -> CrawlReport {
        let fetcher = Fetcher::new(FetchConfig::default(), Some(self.store.clone()))
            .expect("the fetcher starts");
        let report = crawl::crawl_source(&self.source, &fetcher, &self.store, at, &Quiet).await;
        assert!(
            matches!(report.outcome, Outcome::Merged(_)),
            "{}",
            report.line()
        );
        report
    }

    fn stored(&self) -> HashMap<String, StoredSession> {
        self.store
            .source_sessions("wsp")
            .expect("the store reads")
            .into_iter()
            .map(|s| (s.uid.0.clone(), s))
            .collect()
    }
}

fn utc(local: NaiveDateTime) -> DateTime<Utc> {
    London
        .from_local_datetime(&local)
        .single()
        .expect("the replica's times exist once in UK local time")
        .with_timezone(&Utc)
}

/// (status, spaces left, capacity, waiting list) a page's wording stands for.
fn expected_places(p: Places) -> (Status, Option<u32>, Option<u32>, bool) {
    match p {
        Places::Left(n) => (Status::Scheduled, Some(n), None, false),
        Places::LeftOf(n, cap) => (Status::Scheduled, Some(n), Some(cap), false),
        Places::Full(waitlist) => (Status::Full, Some(0), None, waitlist),
        Places::Closed => (Status::Closed, None, None, false),
        Places::Cancelled => (Status::Cancelled, None, None, false),
    }
}

/// Every way the store differs from the site at `version` (empty when it holds
/// every session exactly, and nothing else).
fn differences(
    site: &ScaledSite,
    version: u32,
    stored: &HashMap<String, StoredSession>,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut expected = 0;
    for (e, s) in site.sessions(version) {
        expected += 1;
        let uid = Uid::derive("wsp", &e.id.to_string(), &SessionKey::nth(s.row));
        let Some(got) = stored.get(uid.as_str()) else {
            out.push(format!("{} missing", uid.as_str()));
            continue;
        };
        let g = &got.session;
        let want = expected_places(e.places);
        let have = (
            g.status,
            g.availability.spaces_left,
            g.availability.capacity,
            g.availability.waitlist,
        );
        let checks = [
            ("start", g.start == utc(s.start)),
            ("end", g.end == utc(s.end)),
            ("places", have == want),
            ("title", g.title == e.title),
            ("category", g.category.as_deref() == Some(e.category)),
            ("online", g.online == s.online),
            ("timezone", g.timezone == "Europe/London"),
        ];
        for (what, ok) in checks {
            if !ok {
                out.push(format!(
                    "{}: {what} differs: stored {g:?}, site {e:?} {s:?}",
                    uid.as_str()
                ));
            }
        }
    }
    if stored.len() != expected {
        out.push(format!(
            "{} sessions stored, the site has {expected}",
            stored.len()
        ));
    }
    out
}

fn assert_same(site: &ScaledSite, version: u32, stored: &HashMap<String, StoredSession>) {
    let diff = differences(site, version, stored);
    assert!(
        diff.is_empty(),
        "{} differences, the first ones:\n{}",
        diff.len(),
        diff.iter().take(10).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_session_of_2000_events_is_stored() {
    let replica = replica(11).await;
    let env = Env::new(&replica);
    env.crawl(now()).await;
    let site = replica.site();
    // The generated site has what the test is about: several pages, events of
    // several sessions, and sessions on both sides of the clock change.
    assert!(site.pages() > 200);
    let all: Vec<_> = site.sessions(0).collect();
    assert!(all.len() > EVENTS);
    let offsets: std::collections::BTreeSet<i64> = all
        .iter()
        .map(|(_, s)| (s.start - utc(s.start).naive_utc()).num_hours())
        .collect();
    assert_eq!(offsets.into_iter().collect::<Vec<_>>(), vec![0, 1]);
    assert_same(site, 0, &env.stored());
    let stats = replica.stats();
    assert_eq!(stats.detail_bodies, EVENTS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_recrawl_fetches_no_detail_page_and_a_change_is_picked_up() {
    let replica = replica(12).await;
    let env = Env::new(&replica);
    env.crawl(now()).await;
    let first = replica.stats();

    let report = env.crawl(now() + Duration::hours(1)).await;
    let second = replica.stats();
    assert_eq!(
        second.detail_bodies, first.detail_bodies,
        "detail pages downloaded again"
    );
    assert_eq!(
        second.listing_bodies, first.listing_bodies,
        "listing pages downloaded again"
    );
    assert!(second.not_modified - first.not_modified >= replica.site().pages() as u64);
    match report.outcome {
        Outcome::Merged(m) => assert_eq!((m.new, m.changed, m.withdrawn), (0, 0, 0)),
        _ => unreachable!("crawl() checked it merged"),
    }

    replica.bump(1);
    let changed = replica.site().changed_events(1);
    assert!(!changed.is_empty());
    env.crawl(now() + Duration::hours(2)).await;
    let third = replica.stats();
    // Only the events whose listing entry changed are fetched again.
    assert_eq!(
        third.detail_bodies - second.detail_bodies,
        changed.len() as u64
    );
    assert_same(replica.site(), 1, &env.stored());
}
