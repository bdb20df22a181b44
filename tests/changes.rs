//! What changed, end to end: the `events` binary crawls the WSP replica twice
//! (tests/fixtures/wsp/README.md lists the second crawl's changes), then
//! `events changes --json` and `/changes.atom` (read by the independent
//! `feed-rs` parser, served from the store reopened after the binary exited)
//! must list exactly those changes with their kinds, and nothing for the first
//! crawl. The store's own rules (partial crawls, the first crawl of a source,
//! keeping and pruning, reopening) are checked on a real sled store.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::servers::Served;
use common::sessions::{self, SessionBuilder};
use events::changes::{ChangeKind, KEEP_CHANGES};
use events::model::{Session, Status};
use events::replica::{Replica, Site};
use events::server::{self, AppState};
use events::store::{CrawlStats, Store};
use reqwest::{header, StatusCode};
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Output;

const FIRST: &str = "2026-12-01T09:00:00Z";
const SECOND: &str = "2026-12-01T11:00:00Z";
const THIRD: &str = "2026-12-01T12:00:00Z";

fn uid(id: u32) -> String {
    format!("wsp-{id}-1@events.safeguarding-training")
}

/// The second crawl's changes, as the fixtures' README lists them.
fn expected() -> BTreeSet<(String, String)> {
    [
        (1002, "moved"),
        (1003, "cancelled"),
        (1004, "places-freed"),
        (1006, "filling"),
        (1010, "full"),
        (1009, "withdrawn"),
        (1011, "new"),
    ]
    .into_iter()
    .map(|(id, k)| (uid(id), k.to_string()))
    .collect()
}

struct Env {
    sources: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl Env {
    async fn run(&self, now: &str, args: &[&str]) -> Output {
        common::events(self.sources.path(), self.data.path(), now, None, args).await
    }

    async fn changes(&self, now: &str, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["changes", "--json"];
        all.extend_from_slice(args);
        common::json_list(&self.run(now, &all).await)
    }
}

fn pairs(list: &[Value]) -> BTreeSet<(String, String)> {
    list.iter()
        .map(|c| {
            (
                c["uid"].as_str().unwrap().to_string(),
                c["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn uids(list: &[Value]) -> BTreeSet<String> {
    list.iter()
        .map(|c| c["uid"].as_str().unwrap().to_string())
        .collect()
}

fn find(list: &[Value], id: u32) -> &Value {
    list.iter()
        .find(|c| c["uid"] == uid(id))
        .unwrap_or_else(|| panic!("{id} not in {list:#?}"))
}

async fn get(client: &reqwest::Client, url: &str) -> reqwest::Response {
    client.get(url).send().await.expect("the server answers")
}

/// Parses an Atom document with feed-rs and returns its entries.
fn parse_atom(body: &str) -> feed_rs::model::Feed {
    let feed = feed_rs::parser::parse(body.as_bytes()).expect("feed-rs parses the Atom feed");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    feed
}

fn kinds_of(feed: &feed_rs::model::Feed) -> BTreeSet<(String, String)> {
    feed.entries
        .iter()
        .map(|e| {
            assert_eq!(e.categories.len(), 1, "one kind per entry");
            let link = &e.links[0].href;
            let id: u32 = link.rsplit('/').next().unwrap().parse().unwrap();
            (uid(id), e.categories[0].term.clone())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_crawls_of_the_replica_list_exactly_their_changes() {
    let site = Replica::start(Site::Wsp).await.unwrap();
    let env = Env {
        sources: tempfile::tempdir().unwrap(),
        data: tempfile::tempdir().unwrap(),
    };
    common::write_wsp_source(env.sources.path(), &site.base_url(), 50);

    // The first crawl makes twelve sessions known, and tells of none.
    let first = env.run(FIRST, &["crawl"]).await;
    assert!(first.status.success(), "{first:?}");
    assert!(env.changes(FIRST, &["--since", "90d"]).await.is_empty());
    let table = common::stdout(&env.run(FIRST, &["changes"]).await);
    assert_eq!(table.trim(), "No changes in the last 7 days match.");

    site.second_crawl();
    let second = env.run(SECOND, &["crawl"]).await;
    assert!(second.status.success(), "{second:?}");

    let list = env.changes(SECOND, &[]).await;
    assert_eq!(pairs(&list), expected(), "{list:#?}");
    assert_eq!(list.len(), 7, "one change per session: {list:#?}");
    for c in &list {
        assert_eq!(c["at"], SECOND);
        assert_eq!(c["source"], "wsp");
        let keys: BTreeSet<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            BTreeSet::from([
                "uid",
                "source",
                "title",
                "start",
                "end",
                "all_day",
                "kind",
                "at",
                "status",
                "spaces_left",
                "places",
                "timezone",
                "url"
            ])
        );
    }
    let moved = find(&list, 1002);
    assert_eq!(moved["start"], "2027-04-23T12:30:00Z");
    assert_eq!(moved["end"], "2027-04-23T15:30:00Z");
    let freed = find(&list, 1004);
    assert_eq!(freed["title"], "Understanding Neglect Level 2");
    assert_eq!(freed["status"], "scheduled");
    assert_eq!(freed["spaces_left"], 3);
    assert_eq!(freed["url"], format!("{}events/1004", site.base_url()));
    assert_eq!(find(&list, 1006)["spaces_left"], 2);
    let full = find(&list, 1010);
    assert_eq!(full["status"], "full");
    assert_eq!(
        full["title"],
        "Online Safety <script>alert('xss')</script> for Practitioners"
    );
    assert_eq!(find(&list, 1003)["status"], "cancelled");
    assert_eq!(find(&list, 1009)["status"], "withdrawn");

    // The filters of `upcoming`, and kinds comma-separated or repeated.
    let freed_or_filling = env
        .changes(SECOND, &["--kind", "places-freed,filling"])
        .await;
    assert_eq!(
        uids(&freed_or_filling),
        BTreeSet::from([uid(1004), uid(1006)])
    );
    let full_or_moved = env
        .changes(SECOND, &["--kind", "full", "--kind", "moved"])
        .await;
    assert_eq!(uids(&full_or_moved), BTreeSet::from([uid(1002), uid(1010)]));
    let bookable = env.changes(SECOND, &["--available"]).await;
    assert_eq!(
        uids(&bookable),
        BTreeSet::from([uid(1002), uid(1004), uid(1006), uid(1011)])
    );
    let neglect = BTreeSet::from([uid(1002), uid(1003), uid(1004)]);
    assert_eq!(
        uids(&env.changes(SECOND, &["--q", "neglect level 2"]).await),
        neglect
    );
    assert_eq!(
        uids(&env.changes(SECOND, &["--search", "neglect level 2"]).await),
        neglect
    );
    assert_eq!(
        uids(&env.changes(SECOND, &["--category", "child neglect"]).await),
        BTreeSet::from([uid(1002), uid(1003), uid(1004), uid(1011)])
    );
    assert_eq!(env.changes(SECOND, &["--source", "wsp"]).await.len(), 7);
    // A source no file configures and the store never saw is a usage error.
    let other = env
        .run(SECOND, &["changes", "--json", "--source", "vrp"])
        .await;
    assert_eq!(other.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&other.stderr)
            .contains("there is no source `vrp`; the sources are wsp"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );
    // Seen two hours ago: outside the last hour.
    assert!(env
        .changes("2026-12-01T13:00:00Z", &["--since", "1h"])
        .await
        .is_empty());
    let bad = env.run(SECOND, &["changes", "--kind", "freed"]).await;
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("places-freed"));

    // The table: one row per change, site text made safe for a terminal.
    let table = common::stdout(&env.run(SECOND, &["changes"]).await);
    assert_eq!(table.lines().count(), 8, "{table}");
    assert!(
        table.contains("places-freed") && table.contains("withdrawn"),
        "{table}"
    );
    assert!(!table.chars().any(|c| c.is_control() && c != '\n'));

    // An unchanged crawl tells of nothing more.
    let third = env.run(THIRD, &["crawl"]).await;
    assert!(third.status.success(), "{third:?}");
    assert_eq!(env.changes(THIRD, &[]).await.len(), 7);

    // Restart: the store, reopened by a server after the binary exited, still
    // holds the changes, and /changes.atom lists them.
    let store = Store::open(env.data.path()).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let state = AppState::new(store, Vec::new(), server::fixed_clock(now));
    let served = Served::start(state).await;
    let base = served.base.clone();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();

    let r = get(&client, &format!("{base}/changes.atom")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "application/atom+xml; charset=utf-8"
    );
    let etag = r.headers()[header::ETAG].to_str().unwrap().to_string();
    let last_modified = r.headers()[header::LAST_MODIFIED]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(last_modified, "Tue, 01 Dec 2026 11:00:00 GMT");
    let body = r.text().await.unwrap();
    assert!(
        !body.contains("<script>"),
        "markup from the site is escaped"
    );
    let feed = parse_atom(&body);
    assert_eq!(kinds_of(&feed), expected());
    assert_eq!(feed.entries.len(), 7);
    assert_eq!(
        feed.updated,
        Some(Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap())
    );
    let ids: BTreeSet<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 7, "entry ids are distinct");
    assert!(ids.iter().all(|id| id.starts_with("tag:")));
    let entry = |id: u32| {
        feed.entries
            .iter()
            .find(|e| e.links[0].href.ends_with(&format!("/events/{id}")))
            .unwrap()
    };
    let freed = entry(1004);
    assert_eq!(
        freed.title.as_ref().unwrap().content,
        "Places freed: Understanding Neglect Level 2, Thu 13 May, 3 places"
    );
    assert_eq!(
        freed.links[0].href,
        format!("{}events/1004", site.base_url())
    );
    let content = freed.content.as_ref().unwrap().body.as_deref().unwrap();
    assert!(
        content.contains("Thursday 13 May 2027, 09:30–12:30 BST"),
        "{content}"
    );
    assert_eq!(
        entry(1002).title.as_ref().unwrap().content,
        "Moved: Understanding Neglect Level 2, now Fri 23 Apr 13:30"
    );
    assert_eq!(
        entry(1010).title.as_ref().unwrap().content,
        "Full: Online Safety <script>alert('xss')</script> for Practitioners, Wed 20 Oct"
    );
    assert_eq!(
        entry(1006).title.as_ref().unwrap().content,
        "Filling up: Child Sexual Abuse: Recognising, Responding & Recording, Wed 14 Jul, 2 places"
    );
    assert!(freed.updated == Some(Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap()));

    // Conditional requests, as calendar clients make them.
    let r = client
        .get(format!("{base}/changes.atom"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    let r = client
        .get(format!("{base}/changes.atom"))
        .header(header::IF_MODIFIED_SINCE, &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);

    // The calendar's filters plus kind, comma-separated or repeated.
    let atom = |q: &'static str| {
        let client = client.clone();
        let url = format!("{base}/changes.atom?{q}");
        async move {
            let r = get(&client, &url).await;
            assert_eq!(r.status(), StatusCode::OK, "{url}");
            parse_atom(&r.text().await.unwrap())
        }
    };
    let f = atom("kind=places-freed,filling").await;
    assert_eq!(
        kinds_of(&f),
        BTreeSet::from([
            (uid(1004), "places-freed".into()),
            (uid(1006), "filling".into())
        ])
    );
    let f = atom("kind=full&kind=moved").await;
    assert_eq!(
        kinds_of(&f),
        BTreeSet::from([(uid(1010), "full".into()), (uid(1002), "moved".into())])
    );
    assert_eq!(atom("available=1").await.entries.len(), 4);
    assert_eq!(atom("q=neglect+level+2").await.entries.len(), 3);
    assert_eq!(atom("category=child-neglect").await.entries.len(), 4);
    assert_eq!(atom("source=wsp&kind=withdrawn").await.entries.len(), 1);
    assert!(atom("source=vrp").await.entries.is_empty());
    for bad in ["kind=freed", "kind=full,nope", "q=a&q=b", "available=maybe"] {
        let r = get(&client, &format!("{base}/changes.atom?{bad}")).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
    }

    // The page links the feed and lists the week's changes.
    let page = get(&client, &format!("{base}/"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"type="application/atom+xml""#));
    assert!(page.contains(">Get changes by feed reader</a>"));
    assert!(page.contains("What changed this week"));
    assert_eq!(page.matches("data-kind=").count(), 7, "{page}");
    assert!(page.contains(r#"data-kind="places-freed""#));

    served.stop().await;
}

fn at(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap()
}

fn session(source: &str, id: &str, spaces: u32) -> Session {
    let start = Utc.with_ymd_and_hms(2027, 3, 4, 10, 0, 0).unwrap();
    sessions::session(source, id, start)
        .held_online(true)
        .with_spaces(spaces)
}

fn kinds(store: &Store) -> Vec<(String, ChangeKind)> {
    store
        .changes_since(DateTime::<Utc>::UNIX_EPOCH)
        .map(|c| {
            let c = c.unwrap();
            (c.title, c.kind)
        })
        .collect()
}

#[test]
fn a_partial_crawl_records_what_it_applied_and_withdraws_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let stats = CrawlStats::default();
    let crawl = vec![session("wsp", "1", 10), session("wsp", "2", 10)];
    sessions::merge_crawl(&store, "wsp", crawl, at(1, 9));
    assert!(kinds(&store).is_empty(), "the first crawl is not news");

    // A crawl that stopped at a limit saw session 1 full and not session 2.
    let mut full = session("wsp", "1", 0);
    full.status = Status::Full;
    let r = store
        .apply_partial_crawl("wsp", vec![full], at(1, 10), stats, "limit reached")
        .unwrap()
        .unwrap();
    assert_eq!(r.recorded, 1);
    assert_eq!(kinds(&store), [("Course 1".to_string(), ChangeKind::Full)]);

    // A complete crawl then withdraws 2 and frees places on 1, newest first.
    let r = store
        .apply_crawl(
            "wsp",
            vec![session("wsp", "1", 4)],
            None,
            at(1, 11),
            0.0,
            stats,
        )
        .unwrap()
        .unwrap();
    assert_eq!((r.withdrawn, r.recorded), (1, 2));
    let all = kinds(&store);
    assert_eq!(all.len(), 3);
    assert_eq!(all[2], ("Course 1".to_string(), ChangeKind::Full));
    let newest: BTreeSet<_> = all[..2].iter().cloned().collect();
    assert_eq!(
        newest,
        BTreeSet::from([
            ("Course 1".to_string(), ChangeKind::PlacesFreed),
            ("Course 2".to_string(), ChangeKind::Withdrawn)
        ])
    );
    // Back on the site: reinstated.
    store
        .apply_crawl(
            "wsp",
            vec![session("wsp", "1", 4), session("wsp", "2", 10)],
            None,
            at(1, 12),
            0.0,
            stats,
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        kinds(&store)[0],
        ("Course 2".to_string(), ChangeKind::Reinstated)
    );
}

#[test]
fn a_new_source_is_not_news_but_its_later_sessions_are() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    sessions::merge_crawl(&store, "wsp", vec![session("wsp", "1", 10)], at(1, 9));
    // Another source's first crawl, with the store already holding data.
    let r = sessions::merge_crawl(&store, "vrp", vec![session("vrp", "7", 10)], at(1, 10));
    assert_eq!((r.new, r.recorded), (1, 0));
    assert!(kinds(&store).is_empty());
    let r = sessions::merge_crawl(
        &store,
        "vrp",
        vec![session("vrp", "7", 10), session("vrp", "8", 10)],
        at(1, 11),
    );
    assert_eq!((r.new, r.recorded), (1, 1));
    assert_eq!(kinds(&store), [("Course 8".to_string(), ChangeKind::New)]);
}

#[test]
fn changes_are_kept_the_named_time_across_reopening_then_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let seen = at(1, 9);
    {
        let store = Store::open(dir.path()).unwrap();
        sessions::merge_crawl(&store, "wsp", vec![session("wsp", "1", 10)], at(1, 8));
        sessions::merge_crawl(&store, "wsp", vec![session("wsp", "1", 2)], seen);
        assert_eq!(store.change_count(), 1);
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        kinds(&store),
        [("Course 1".to_string(), ChangeKind::Filling)]
    );
    assert_eq!(store.last_change_at().unwrap(), Some(seen));
    // A crawl just inside the keeping time keeps it...
    sessions::merge_crawl(
        &store,
        "wsp",
        vec![session("wsp", "1", 2)],
        seen + KEEP_CHANGES,
    );
    assert_eq!(store.change_count(), 1);
    // ...and the first one after it prunes it, in the same merge that
    // records a new change.
    let later = seen + KEEP_CHANGES + Duration::minutes(1);
    sessions::merge_crawl(&store, "wsp", vec![session("wsp", "1", 0)], later);
    assert_eq!(kinds(&store), [("Course 1".to_string(), ChangeKind::Full)]);
    assert_eq!(store.change_count(), 1);
}
