//! One session, one entry: the `events` binary crawls the booking replica
//! (`wsp`, event-booking) alone, then with a partnership website's events
//! feed (`site`, ical) that re-lists its dates with titles worded otherwise,
//! then both in their second state. Fixtures: tests/fixtures/wsp and
//! tests/fixtures/duplicates (truth tables in their READMEs).
//!
//! Over the three crawls the merged calendar lists each session once, keeps
//! the booking listing's UID (seen first), takes places from the booking
//! site, never sends `CANCELLED` for a session that still happens, and shows
//! a group's change once; the website's own view stays its own.

mod common;

use common::servers::{body_text, Served};
use common::web;
use events::model::{SessionKey, Uid};
use events::replica::{Replica, Site};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use wiremock::MockServer;

const FEED_PATH: &str = "/events/";

fn wsp(id: &str) -> String {
    Uid::derive("wsp", id, &SessionKey::nth(1)).0
}

/// The website's UID for its post `post` (its feed's UID is the event id).
fn site(post: &str, website: &Value) -> String {
    website
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["event_id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{post}-"))
        })
        .unwrap_or_else(|| panic!("post {post} in the website's own view"))["uid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Serves the website's feed in `state` (1 or 2) at `FEED_PATH`.
async fn serve_feed(server: &MockServer, state: u8) {
    let name = match state {
        1 => "website-relists-booking-dates.ics",
        _ => "website-relists-booking-dates.second.ics",
    };
    let body = common::fixture_text("duplicates", name).replace("{SITE}", &server.uri());
    server.reset().await;
    web::mount(server, FEED_PATH, web::text(200, body)).await;
}

fn write_site_source(dir: &Path, server: &MockServer) {
    let url = web::url(server, &format!("{FEED_PATH}?ical=1"));
    std::fs::write(
        dir.join("site.toml"),
        format!("id = \"site\"\nname = \"WSP website\"\nkind = \"ical\"\nurl = \"{url}\"\nrequests_per_second = 50\n"),
    )
    .unwrap();
}

struct Env {
    sources: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl Env {
    async fn run(&self, now: &str, args: &[&str]) -> std::process::Output {
        let out = common::events(self.sources.path(), self.data.path(), now, None, args).await;
        assert!(
            out.status.success(),
            "events {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    async fn json(&self, now: &str, args: &[&str]) -> Value {
        serde_json::from_slice(&self.run(now, args).await.stdout).expect("JSON")
    }

    /// Every upcoming entry of a view, by UID.
    async fn entries(&self, now: &str, extra: &[&str]) -> BTreeMap<String, Value> {
        let mut args = vec!["upcoming", "--json"];
        args.extend(extra);
        let list = self.json(now, &args).await;
        let mut out = BTreeMap::new();
        for s in list.as_array().unwrap() {
            let uid = s["uid"].as_str().unwrap().to_string();
            assert!(
                out.insert(uid.clone(), s.clone()).is_none(),
                "{uid} listed twice"
            );
        }
        out
    }

    /// The merged feed's VEVENTs: UID → (DTSTART, STATUS).
    async fn feed(&self, now: &str) -> BTreeMap<String, (String, String)> {
        let ics = common::stdout(&self.run(now, &["ics"]).await);
        let cal = common::parse_one_calendar(&ics);
        let mut out = BTreeMap::new();
        for e in &cal.events {
            let prop = |name: &str| {
                e.properties
                    .iter()
                    .find(|p| p.name == name)
                    .and_then(|p| p.value.clone())
                    .unwrap_or_default()
            };
            let uid = prop("UID");
            let was = out.insert(uid.clone(), (prop("DTSTART"), prop("STATUS")));
            assert!(was.is_none(), "two VEVENTs with UID {uid}");
        }
        out
    }
}

fn uids_of(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["uid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_website_relisting_the_booking_sites_dates_is_merged_over_three_crawls() {
    let booking = Replica::start(Site::Wsp).await.unwrap();
    let website = MockServer::start().await;
    serve_feed(&website, 1).await;
    let env = Env {
        sources: tempfile::tempdir().unwrap(),
        data: tempfile::tempdir().unwrap(),
    };
    common::write_wsp_source(env.sources.path(), &booking.base_url(), 50);

    // 1. The booking site alone: it is seen first.
    let t1 = "2026-12-01T09:00:00Z";
    env.run(t1, &["crawl"]).await;

    // 2. The website's feed is added.
    let t2 = "2026-12-01T10:00:00Z";
    write_site_source(env.sources.path(), &website);
    env.run(t2, &["crawl"]).await;
    let own = env
        .json(t2, &["upcoming", "--json", "--source", "site"])
        .await;
    assert_eq!(
        own.as_array().unwrap().len(),
        10,
        "the website's own view is all its ten listings"
    );
    let merged = env.entries(t2, &[]).await;
    let sequence_at_t2 = |id: &str| merged[&wsp(id)]["sequence"].as_u64().unwrap();
    let (seq_1002, seq_1004) = (sequence_at_t2("1002"), sequence_at_t2("1004"));
    let groups = env.json(t2, &["duplicates", "--json"]).await;
    check_second_crawl(&merged, &groups, &own);
    // `upcoming` shows a merged session on one row naming both listings.
    let table = common::stdout(&env.run(t2, &["upcoming"]).await);
    assert_eq!(table.matches("wsp+site").count(), 5, "{table}");
    assert!(
        !table.contains("UNDERSTANDING NEGLECT - LEVEL 2"),
        "one row: {table}"
    );
    let feed2 = env.feed(t2).await;
    folded(
        &feed2,
        &own,
        &["20101", "20102", "20103", "20104", "20108"],
        "20106",
    );

    // 3. Both change: the booking site's second state, the website's too.
    let t3 = "2026-12-01T11:00:00Z";
    booking.second_crawl();
    serve_feed(&website, 2).await;
    env.run(t3, &["crawl"]).await;
    let merged = env.entries(t3, &[]).await;
    check_third_crawl(&merged, &own);
    // Google updates an event only on a higher SEQUENCE: 1002 left its
    // group by moving (alone, its own sequence is no higher than the
    // group's was), 1004's places were freed.
    for (id, before) in [("1002", seq_1002), ("1004", seq_1004)] {
        let now = merged[&wsp(id)]["sequence"].as_u64().unwrap();
        assert!(now > before, "{id}: SEQUENCE {before} then {now}");
    }
    let feed3 = env.feed(t3).await;
    never_cancels_what_still_happens(&feed2, &feed3, &merged);
    folded(
        &feed3,
        &own,
        &["20101", "20103", "20104", "20106", "20108"],
        "20102",
    );
    one_card_with_every_link(&env, t3, &website).await;
    served_views_agree(&env, t3, &own).await;
    changes_once_per_group(
        &env.json(t3, &["changes", "--json", "--since", "1d"]).await,
        &own,
    );
    // The website's own feed keeps its own UIDs, unmerged.
    let own_now = env.entries(t3, &["--source", "site"]).await;
    assert!(own_now.contains_key(&site("20104", &own)));
    assert!(own_now
        .values()
        .all(|s| s["also_listed"] == serde_json::json!([])));
}

/// The website's listings `merged` are one VEVENT with their booking entry
/// (their own UID is not in `feed`); `apart` stands as its own.
fn folded(feed: &BTreeMap<String, (String, String)>, own: &Value, merged: &[&str], apart: &str) {
    for post in merged {
        assert!(
            !feed.contains_key(&site(post, own)),
            "{post} is folded into its booking entry"
        );
    }
    assert!(feed.contains_key(&site(apart, own)), "{apart} stands apart");
}

/// After the website's first crawl: the re-listed dates are one entry each
/// under the booking UID, with the booking site's places; the others stay.
fn check_second_crawl(merged: &BTreeMap<String, Value>, groups: &Value, own: &Value) {
    for (id, post) in [
        ("1001", "20101"),
        ("1002", "20102"),
        ("1003", "20103"),
        ("1004", "20104"),
        ("1008", "20108"),
    ] {
        let e = &merged[&wsp(id)];
        assert_eq!(e["source"], "wsp", "{id}");
        assert_eq!(
            uids_of(&e["also_listed"]),
            BTreeSet::from([site(post, own)]),
            "{id}"
        );
        assert!(
            !merged.contains_key(&site(post, own)),
            "{post} is not listed twice"
        );
        let d = e["description"].as_str().unwrap();
        assert!(
            d.contains("Also listed by WSP website: http://"),
            "{id}: {d}"
        );
    }
    assert_eq!(
        merged[&wsp("1004")]["status"],
        "full",
        "places from the booking site"
    );
    assert_eq!(merged[&wsp("1001")]["spaces_left"], 12);
    // The booking site cancelled 1008; the website still lists it.
    let e1008 = &merged[&wsp("1008")];
    assert_eq!(e1008["status"], "cancelled");
    assert!(e1008["description"]
        .as_str()
        .unwrap()
        .contains("WSP website still lists this session."));
    for post in ["20106", "20201", "20202", "20203", "20204"] {
        let e = &merged[&site(post, own)];
        assert_eq!(
            e["also_listed"],
            serde_json::json!([]),
            "{post} stands alone"
        );
    }
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 5, "{groups:#?}");
    for g in groups {
        assert_eq!(g["reason"], "same times and title");
        let members = g["members"].as_array().unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(
            members[0]["source"], "wsp",
            "the booking listing was seen first"
        );
        assert_eq!(g["uid"], members[0]["uid"]);
        for m in members {
            for key in ["source", "uid", "title", "start", "url"] {
                assert!(m[key].is_string(), "{key} in {m}");
            }
        }
    }
}

/// After both changed: 1002 moved out of its group, 1004's freed places
/// show, 20106 joined 1006, both cancelled 1003.
fn check_third_crawl(merged: &BTreeMap<String, Value>, own: &Value) {
    let moved = &merged[&wsp("1002")];
    assert_eq!(moved["start"], "2027-04-23T12:30:00Z");
    assert_eq!(
        moved["also_listed"],
        serde_json::json!([]),
        "1002 left its group"
    );
    let stale = &merged[&site("20102", own)];
    assert_eq!(
        stale["start"], "2027-04-23T08:30:00Z",
        "the website's copy stays where it was, under its own UID"
    );
    let freed = &merged[&wsp("1004")];
    assert_eq!(
        (freed["status"].as_str(), freed["spaces_left"].as_u64()),
        (Some("scheduled"), Some(3))
    );
    assert_eq!(
        uids_of(&merged[&wsp("1006")]["also_listed"]),
        BTreeSet::from([site("20106", own)])
    );
    assert!(!merged.contains_key(&site("20106", own)));
    assert_eq!(merged[&wsp("1003")]["status"], "cancelled");
}

/// No VEVENT of the second feed is `CANCELLED` in the third unless the
/// session is off in the merged view.
fn never_cancels_what_still_happens(
    before: &BTreeMap<String, (String, String)>,
    after: &BTreeMap<String, (String, String)>,
    merged: &BTreeMap<String, Value>,
) {
    for (uid, (_, status)) in after {
        if status == "CANCELLED" && before.get(uid).is_some_and(|(_, s)| s != "CANCELLED") {
            let e = &merged[uid];
            assert!(
                e["status"] == "cancelled" || e["status"] == "withdrawn",
                "{uid} is sent as cancelled but still happens: {e}"
            );
        }
    }
    // 1003 is the only one newly cancelled, by both of its listings.
    let newly: Vec<&String> = after
        .iter()
        .filter(|(u, (_, s))| {
            s == "CANCELLED" && before.get(*u).is_some_and(|(_, b)| b != "CANCELLED")
        })
        .map(|(u, _)| u)
        .collect();
    assert!(newly.contains(&&wsp("1003")), "{newly:?}");
}

/// Each change to a merged session is shown once, under the entry's UID.
fn changes_once_per_group(changes: &Value, own: &Value) {
    let list = changes.as_array().unwrap();
    let mut seen = BTreeSet::new();
    for c in list {
        let key = (
            c["uid"].as_str().unwrap().to_string(),
            c["kind"].as_str().unwrap().to_string(),
        );
        assert!(seen.insert(key.clone()), "{key:?} shown twice in {list:#?}");
    }
    let has = |uid: &str, kind: &str| seen.contains(&(uid.to_string(), kind.to_string()));
    assert!(has(&wsp("1004"), "places-freed"));
    assert!(
        has(&wsp("1003"), "cancelled"),
        "both listings cancelled; shown once"
    );
    assert!(!has(&site("20103", own), "cancelled"));
    assert!(has(&wsp("1002"), "moved"));
    for post in ["20101", "20103", "20104", "20106", "20108"] {
        let uid = site(post, own);
        assert!(
            list.iter().all(|c| c["uid"] != uid.as_str()),
            "{post} is merged; its changes are its entry's"
        );
    }
}

/// The exported page shows 1004 on one card, with the booking link and a
/// link to the website's listing.
async fn one_card_with_every_link(env: &Env, now: &str, website: &MockServer) {
    let out = tempfile::tempdir().unwrap();
    env.run(now, &["export", out.path().to_str().unwrap()])
        .await;
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    let uid = wsp("1004");
    // A session's card, not a line of the recent changes.
    let marker = format!("class=\"session\" data-uid=\"{uid}\"");
    assert_eq!(html.matches(&marker).count(), 1, "one card for {uid}");
    let at = html.find(&marker).unwrap();
    let end = html[at..].find("</li>").map_or(html.len(), |e| at + e);
    let card = &html[at..end];
    assert!(card.contains("/events/1004\""), "the booking link: {card}");
    let copy = format!("{}/event/training-20104/", website.uri());
    assert!(
        card.contains(&format!("href=\"{copy}\"")),
        "the website's listing: {card}"
    );
    assert!(card.contains("Also listed by WSP website"), "{card}");
}

/// The server's `/api/sessions` carries `also_listed` as `upcoming --json`
/// does, and `/calendar/site.ics` is the website's own feed, unmerged.
async fn served_views_agree(env: &Env, now: &str, own: &Value) {
    let store = events::store::Store::open(env.data.path()).unwrap();
    let sources = events::config::load_dir(env.sources.path()).unwrap();
    let clock = events::server::fixed_clock(common::utc(now));
    let served = Served::start(events::server::AppState::new(store, sources, clock)).await;
    let client = reqwest::Client::new();
    let api: Value =
        serde_json::from_str(&body_text(client.get(served.url("/api/sessions"))).await).unwrap();
    let e = api
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uid"] == wsp("1004").as_str())
        .expect("1004 in /api/sessions");
    assert_eq!(
        uids_of(&e["also_listed"]),
        BTreeSet::from([site("20104", own)])
    );
    let feed = body_text(client.get(served.url("/calendar/site.ics"))).await;
    let uids = common::uids(&common::parse_one_calendar(&feed));
    assert!(
        uids.contains(&site("20104", own)),
        "the website's own feed keeps its UID"
    );
    assert!(
        !uids.iter().any(|u| u.starts_with("wsp-")),
        "and holds nothing of the booking site"
    );
    let _ = served.shut_down().await;
}
