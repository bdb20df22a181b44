//! The page and `/api/sessions` come in parts: following "Later sessions"
//! (`<a rel="next">`) or the `Link: rel="next"` header reaches every session
//! of the view exactly once, even when a crawl merges between two parts; a
//! part answers 304 to its ETag; and every rendered view stays within the
//! cache's byte budget however many variants are asked for. Real server on
//! loopback, real store, clock frozen.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::servers::Served;
use common::sessions::{merge_crawl, session, SessionBuilder};
use events::model::Session;
use events::server::AppState;
use events::store::Store;
use reqwest::{header, Client, StatusCode};
use std::collections::BTreeMap;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

/// `n` sessions of `source`, two to a start time (so the UID decides their
/// order), in two categories, from tomorrow on.
fn sessions(source: &str, n: usize, first_id: usize) -> Vec<Session> {
    (0..n)
        .map(|i| {
            let id = first_id + i;
            let start = now() + Duration::days(1) + Duration::hours((id / 2) as i64 * 5);
            let category = if id.is_multiple_of(3) {
                "Prevent"
            } else {
                "Child Neglect"
            };
            session(source, &id.to_string(), start).in_category(category)
        })
        .collect()
}

/// A store of 150 `wsp` and 100 `vrp` sessions, served with the clock frozen.
async fn serve() -> (Served, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    merge_crawl(
        &store,
        "wsp",
        sessions("wsp", 150, 0),
        now() - Duration::hours(1),
    );
    merge_crawl(
        &store,
        "vrp",
        sessions("vrp", 100, 1000),
        now() - Duration::hours(1),
    );
    let state = AppState::new(store.clone(), Vec::new(), events::views::fixed_clock(now()));
    (Served::start(state).await.keeping(dir), store)
}

/// The `rel="next"` target of a response's `Link` header.
fn next_link(r: &reqwest::Response) -> Option<String> {
    let v = r.headers().get(header::LINK)?.to_str().ok()?;
    let (target, rel) = v.strip_prefix('<')?.split_once('>')?;
    rel.contains(r#"rel="next""#).then(|| target.to_string())
}

/// Every UID in a list of sessions, and how many times.
fn counted(uids: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for u in uids {
        *m.entry(u).or_insert(0) += 1;
    }
    m
}

#[tokio::test]
async fn paging_the_api_lists_every_session_once_across_a_merge() {
    let (srv, store) = serve().await;
    let client = Client::new();
    let before: Vec<String> = {
        let r = client
            .get(srv.url("/api/sessions?limit=1000"))
            .send()
            .await
            .unwrap();
        assert!(next_link(&r).is_none(), "one part of 1,000 holds all 250");
        let v: Vec<serde_json::Value> = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        v.iter()
            .map(|s| s["uid"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(before.len(), 250);

    // Without a limit, a part holds the default, and says how many there are.
    let r = client.get(srv.url("/api/sessions")).send().await.unwrap();
    assert_eq!(r.headers()["x-total-count"], "250");
    assert!(next_link(&r).is_some());
    let v: Vec<serde_json::Value> = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(v.len(), events::query::part::DEFAULT_API_LIMIT);

    // Parts of 40; after the second, a crawl adds sessions before and after
    // the cursor and changes the places of others.
    let mut url = srv.url("/api/sessions?limit=40");
    let mut seen = Vec::new();
    let mut parts = 0;
    loop {
        let r = client.get(&url).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let next = next_link(&r);
        let v: Vec<serde_json::Value> = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert!(v.len() <= 40);
        seen.extend(v.iter().map(|s| s["uid"].as_str().unwrap().to_string()));
        parts += 1;
        if parts == 2 {
            let mut wsp = sessions("wsp", 150, 0);
            for s in wsp.iter_mut().step_by(7) {
                *s = s.clone().with_spaces(1);
            }
            wsp.push(session("wsp", "early", now() + Duration::hours(2)));
            wsp.push(session("wsp", "late", now() + Duration::days(400)));
            merge_crawl(&store, "wsp", wsp, now());
        }
        match next {
            Some(n) => url = srv.url(&n),
            None => break,
        }
    }
    let seen = counted(seen);
    for uid in &before {
        assert_eq!(seen.get(uid), Some(&1), "{uid} listed once");
    }
    assert!(seen.values().all(|&n| n == 1), "nothing listed twice");
    // Added after the cursor passed its place: not listed; added ahead: listed.
    assert!(!seen.keys().any(|u| u.contains("-early-")));
    assert!(seen.keys().any(|u| u.contains("-late-")));
    assert_eq!(parts, 7, "251 sessions in parts of 40");

    for bad in ["limit=0", "limit=100000", "after=yesterday"] {
        let r = client
            .get(srv.url(&format!("/api/sessions?{bad}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{bad}");
        let text = r.text().await.unwrap();
        assert!(
            text.ends_with(".\n") || text.ends_with('.'),
            "{bad}: {text}"
        );
    }
    srv.stop().await;
}

/// The UIDs a page lists and its "Later sessions" link.
fn page_part(html: &str) -> (Vec<String>, Option<String>) {
    // The session cards only, not the "What changed" list.
    let uids = html
        .split(r#"<li class="session"#)
        .skip(1)
        .filter_map(|card| card.split(r#"data-uid=""#).nth(1))
        .map(|rest| rest.split('"').next().unwrap().to_string())
        .collect();
    let next = html
        .split(r#"<a rel="next" href=""#)
        .nth(1)
        .map(|rest| rest.split('"').next().unwrap().replace("&amp;", "&"));
    (uids, next)
}

#[tokio::test]
async fn paging_the_page_lists_every_session_of_a_filtered_view_once_across_a_merge() {
    let (srv, store) = serve().await;
    let client = Client::new();
    let all: Vec<String> = {
        let r = client
            .get(srv.url("/api/sessions?category=child-neglect&limit=1000"))
            .send()
            .await
            .unwrap();
        let v: Vec<serde_json::Value> = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        v.iter()
            .map(|s| s["uid"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(all.len() > events::query::part::PAGE_PART, "{}", all.len());

    let mut url = srv.url("/?category=child-neglect");
    let mut seen = Vec::new();
    let mut parts = 0;
    loop {
        let html = client.get(&url).send().await.unwrap().text().await.unwrap();
        if parts == 0 {
            let total = format!("{} sessions to come", all.len());
            assert!(html.contains(&total), "the total is the view's");
        }
        let (uids, next) = page_part(&html);
        assert!(uids.len() <= events::query::part::PAGE_PART);
        seen.extend(uids);
        parts += 1;
        if parts == 1 {
            // A crawl lands between two parts: places change, and a session
            // is added ahead of the cursor.
            let mut vrp = sessions("vrp", 100, 1000);
            for s in vrp.iter_mut().step_by(5) {
                *s = s.clone().with_spaces(2);
            }
            vrp.push(session("vrp", "added", now() + Duration::days(600)));
            merge_crawl(&store, "vrp", vrp, now());
        }
        match next {
            Some(n) => {
                assert!(
                    n.contains("category=Child+Neglect"),
                    "the filter carries through: {n}"
                );
                url = srv.url(&n);
            }
            None => break,
        }
    }
    let added = seen.iter().filter(|u| u.contains("-added-")).count();
    assert_eq!(
        added, 1,
        "the session added ahead of the cursor is listed once"
    );
    seen.retain(|u| !u.contains("-added-"));
    assert_eq!(seen, all, "every other session once, in order");
    srv.stop().await;
}

#[tokio::test]
async fn a_cached_page_and_api_part_answer_304_to_their_etag() {
    let (srv, _store) = serve().await;
    let client = Client::new();
    for path in ["/", "/?category=prevent", "/api/sessions?limit=10"] {
        let r = client
            .get(srv.url(path))
            .header(header::ACCEPT_ENCODING, "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        let etag = r.headers()[header::ETAG].clone();
        let again = client
            .get(srv.url(path))
            .header(header::ACCEPT_ENCODING, "gzip")
            .header(header::IF_NONE_MATCH, etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
    }
    srv.stop().await;
}

#[tokio::test]
async fn the_view_cache_stays_within_its_budget_under_hundreds_of_variants() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    merge_crawl(
        &store,
        "wsp",
        sessions("wsp", 150, 0),
        now() - Duration::hours(1),
    );
    let budget = 256 * 1024;
    let state = AppState::new(store, Vec::new(), events::views::fixed_clock(now()))
        .with_feed_cache_bytes(budget);
    let srv = Served::start(state.clone()).await.keeping(dir);
    let client = Client::new();
    for d in 1..=120u32 {
        for path in [
            format!("/?days={d}"),
            format!("/api/sessions?days={d}&limit=20"),
            format!("/calendar.ics?days={d}"),
        ] {
            let r = client.get(srv.url(&path)).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert!(state.feed_cache_bytes() <= budget, "after {path}");
        }
    }
    assert!(state.feed_cache_bytes() > 0, "the cache holds views");
    let metrics = client
        .get(srv.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let gauge: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("events_feed_cache_bytes "))
        .expect("the cache's bytes are a metric")
        .trim()
        .parse()
        .unwrap();
    assert!(gauge > 0.0 && gauge <= budget as f64, "{gauge}");
    srv.stop().await;
}
