//! The sled store's merge rules on a real store in a temporary directory.

use chrono::{DateTime, Duration, TimeZone, Utc};
use events::model::{Availability, Course, Session, SessionKey, Status};
use events::store::{CachedResponse, CrawlStats, Refusal, Store, StoreError};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn session(event: &str, key: usize, day: u32) -> Session {
    let start = Utc.with_ymd_and_hms(2027, 1, day, 9, 30, 0).unwrap();
    Session {
        source: "wsp".into(),
        event_id: event.into(),
        key: SessionKey::nth(key),
        title: format!("Course {event}"),
        category: Some("Child Neglect".into()),
        level: None,
        prerequisites: None,
        description: None,
        start,
        end: start + Duration::hours(3),
        timezone: "Europe/London".into(),
        venue: Some("Virtual - MS Teams".into()),
        online: true,
        status: Status::Scheduled,
        availability: Availability::spaces(10),
        url: format!("https://example.org/events/{event}"),
        all_day: false,
    }
}

fn apply(
    store: &Store,
    sessions: Vec<Session>,
    at: DateTime<Utc>,
) -> Result<events::store::MergeReport, Refusal> {
    store
        .apply_crawl("wsp", sessions, None, at, 0.5, CrawlStats::default())
        .unwrap()
}

#[test]
fn merge_tracks_new_changed_unchanged_and_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let first = vec![
        session("1", 1, 10),
        session("2", 1, 11),
        session("3", 1, 12),
        session("4", 1, 13),
    ];
    let r = apply(&store, first.clone(), now()).unwrap();
    assert_eq!((r.found, r.new, r.changed, r.withdrawn), (4, 4, 0, 0));
    let g1 = store.generation();

    let later = now() + Duration::hours(1);
    let mut moved = session("1", 1, 10);
    moved.start += Duration::hours(1);
    moved.end += Duration::hours(1);
    let mut cancelled = session("2", 1, 11);
    cancelled.status = Status::Cancelled;
    let unchanged = session("3", 1, 12);
    let r = apply(&store, vec![moved.clone(), cancelled, unchanged], later).unwrap();
    assert_eq!(
        (r.found, r.new, r.changed, r.unchanged, r.withdrawn),
        (3, 0, 2, 1, 1)
    );
    assert!(store.generation() > g1);

    let all = store.source_sessions("wsp").unwrap();
    let by_event = |id: &str| {
        all.iter()
            .find(|s| s.session.event_id == id)
            .unwrap()
            .clone()
    };
    let one = by_event("1");
    assert_eq!(one.uid, first[0].uid(), "UID kept when the time moves");
    assert_eq!(one.sequence, 1);
    assert_eq!(one.session.start, moved.start);
    assert_eq!(one.first_seen, now());
    assert_eq!(one.last_changed, later);
    assert_eq!(by_event("2").session.status, Status::Cancelled);
    assert_eq!(by_event("2").sequence, 1);
    assert_eq!(by_event("3").sequence, 0);
    assert_eq!(by_event("3").last_changed, now());
    // Unchanged and seen within the day: not rewritten (see TOUCH_EVERY).
    assert_eq!(by_event("3").last_seen, now());
    assert_eq!(by_event("4").session.status, Status::Withdrawn);
    assert_eq!(by_event("4").sequence, 1);

    // A withdrawn session that comes back is live again, one sequence on.
    let r = apply(
        &store,
        vec![
            session("1", 1, 10),
            session("4", 1, 13),
            session("3", 1, 12),
        ],
        later + Duration::hours(1),
    )
    .unwrap();
    assert_eq!(r.withdrawn, 1, "2 vanished this time");
    let four = store
        .source_sessions("wsp")
        .unwrap()
        .into_iter()
        .find(|s| s.session.event_id == "4")
        .unwrap();
    assert_eq!(four.session.status, Status::Scheduled);
    assert_eq!(four.sequence, 2);
}

#[test]
fn past_sessions_that_drop_off_are_not_withdrawn() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    apply(
        &store,
        vec![session("1", 1, 10), session("2", 1, 11)],
        now(),
    )
    .unwrap();
    let after_first = Utc.with_ymd_and_hms(2027, 1, 10, 20, 0, 0).unwrap();
    let r = apply(&store, vec![session("2", 1, 11)], after_first).unwrap();
    assert_eq!(r.withdrawn, 0);
    let one = store
        .source_sessions("wsp")
        .unwrap()
        .into_iter()
        .find(|s| s.session.event_id == "1")
        .unwrap();
    assert_eq!(one.session.status, Status::Scheduled);
}

#[test]
fn a_suspicious_crawl_changes_nothing_but_health() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let four = vec![
        session("1", 1, 10),
        session("2", 1, 11),
        session("3", 1, 12),
        session("4", 1, 13),
    ];
    apply(&store, four, now()).unwrap();
    let before = store.sessions().unwrap();
    let gen = store.generation();

    let refused = apply(
        &store,
        vec![session("1", 1, 10)],
        now() + Duration::hours(1),
    )
    .unwrap_err();
    assert_eq!(
        refused,
        Refusal::TooFew {
            found: 1,
            previous: 4,
            min_fraction: 0.5
        }
    );
    let refused = apply(&store, vec![], now() + Duration::hours(2)).unwrap_err();
    assert_eq!(refused, Refusal::Empty { previous: 4 });

    assert_eq!(store.sessions().unwrap(), before);
    assert_eq!(store.generation(), gen);
    let h = store.health("wsp").unwrap();
    assert_eq!(h.consecutive_failures, 2);
    assert!(h.last_error.unwrap().contains("no sessions"));
    assert_eq!(h.last_success, Some(now()));
    assert_eq!(
        h.sessions_found, 4,
        "the baseline stays the last good crawl"
    );
}

#[test]
fn duplicates_in_one_crawl_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let r = apply(
        &store,
        vec![
            session("1", 1, 10),
            session("1", 1, 10),
            session("1", 2, 11),
        ],
        now(),
    )
    .unwrap();
    assert_eq!((r.found, r.new), (2, 2));
}

#[test]
fn courses_are_replaced_per_source_and_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        let course = |id: &str| Course {
            source: "wsp".into(),
            id: id.into(),
            title: format!("Course {id}"),
            category: None,
            description: None,
            url: format!("https://example.org/elearning/{id}"),
        };
        store
            .apply_crawl(
                "wsp",
                vec![session("1", 1, 10)],
                Some(vec![course("a"), course("b")]),
                now(),
                0.5,
                CrawlStats::default(),
            )
            .unwrap()
            .unwrap();
        store
            .apply_crawl(
                "wsp",
                vec![session("1", 1, 10)],
                Some(vec![course("b")]),
                now(),
                0.5,
                CrawlStats::default(),
            )
            .unwrap()
            .unwrap();
        // A crawl whose catalogue failed (None) keeps the stored one.
        store
            .apply_crawl(
                "wsp",
                vec![session("1", 1, 10)],
                None,
                now(),
                0.5,
                CrawlStats {
                    requests: 3,
                    bytes: 100,
                    not_modified: 2,
                },
            )
            .unwrap()
            .unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    let ids: Vec<String> = store.courses().unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, vec!["b"]);
    assert_eq!(store.sessions().unwrap().len(), 1);
    let h = store.health("wsp").unwrap();
    assert_eq!((h.requests, h.bytes, h.not_modified), (3, 100, 2));
}

#[test]
fn opening_twice_names_the_lock_and_a_missing_store_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let _held = Store::open(dir.path()).unwrap();
    match Store::open(dir.path()) {
        Err(e @ StoreError::Locked { .. }) => assert!(e.to_string().contains("in use")),
        Err(e) => panic!("unexpected error: {e}"),
        Ok(_) => panic!("a second open should fail"),
    }
    let missing = dir.path().join("nothing-here");
    let e = Store::open_existing(&missing).err().expect("missing store");
    assert!(e.to_string().contains("run `events crawl` first"), "{e}");
}

#[test]
fn a_store_from_a_newer_version_is_refused_not_damaged() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        apply(&store, vec![session("1", 1, 10)], now()).unwrap();
    }
    {
        let db = sled::open(dir.path()).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &99u64.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let e = Store::open(dir.path()).err().expect("refused");
    assert!(matches!(e, StoreError::TooNew { found: 99, .. }), "{e}");
    assert!(e.to_string().contains("upgrade events"), "{e}");
}

fn kept(fetched: DateTime<Utc>, seen: Option<DateTime<Utc>>, body: &str) -> CachedResponse {
    CachedResponse {
        etag: Some("\"x\"".into()),
        last_modified: None,
        fetched,
        seen,
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn pruning_removes_only_pages_no_crawl_has_used_for_a_month() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let month = Duration::days(30);
    let t = now();
    // An event that vanished six weeks ago: never fetched or re-read since.
    store
        .put_cached_response(
            "https://x.org/events/1",
            &kept(t - Duration::days(60), Some(t - Duration::days(42)), "gone"),
        )
        .unwrap();
    // Fetched long ago, but re-read by every crawl (unchanged listing entry).
    store
        .put_cached_response(
            "https://x.org/events/2",
            &kept(
                t - Duration::days(90),
                Some(t - Duration::hours(5)),
                "reread",
            ),
        )
        .unwrap();
    // Fetched yesterday; written before `seen` was kept.
    store
        .put_cached_response(
            "https://x.org/events/3",
            &kept(t - Duration::days(1), None, "fresh"),
        )
        .unwrap();
    // Old and unreadable: removed too (it can only cost one fetch).
    store
        .put_cached_response(
            "https://x.org/events/4",
            &kept(t - Duration::days(31), None, "old"),
        )
        .unwrap();

    let p = store.prune_http_cache(t, month).unwrap();
    assert_eq!(p.entries, 2);
    assert!(p.bytes > 0);
    assert!(store
        .cached_response("https://x.org/events/1")
        .unwrap()
        .is_none());
    assert!(store
        .cached_response("https://x.org/events/4")
        .unwrap()
        .is_none());
    assert_eq!(
        store
            .cached_response("https://x.org/events/2")
            .unwrap()
            .unwrap()
            .body,
        b"reread"
    );
    assert_eq!(
        store
            .cached_response("https://x.org/events/3")
            .unwrap()
            .unwrap()
            .body,
        b"fresh"
    );
    // Nothing left to prune.
    assert_eq!(store.prune_http_cache(t, month).unwrap().entries, 0);
}

#[test]
fn touching_a_kept_page_writes_at_most_once_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t = now();
    let url = "https://x.org/events/9";
    store
        .put_cached_response(
            url,
            &kept(t - Duration::days(40), Some(t - Duration::days(40)), "b"),
        )
        .unwrap();
    store.touch_cached_response(url, t).unwrap();
    assert_eq!(store.cached_response(url).unwrap().unwrap().seen, Some(t));
    // Within the day: the stored time stays (no write).
    store
        .touch_cached_response(url, t + Duration::hours(3))
        .unwrap();
    assert_eq!(store.cached_response(url).unwrap().unwrap().seen, Some(t));
    assert_eq!(
        store
            .prune_http_cache(t + Duration::days(10), Duration::days(30))
            .unwrap()
            .entries,
        0
    );
}

/// A poll that finds nothing new writes nothing but the source's health: no
/// session of 1,000 is rewritten and the feed's generation does not move. What
/// the store still grows by is sled's log of those health records (a few
/// hundred bytes a poll, see bench/RESULTS.md), not the sessions.
#[test]
fn unchanged_polls_do_not_grow_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let site: Vec<Session> = (0..300)
        .map(|i| session(&i.to_string(), 1, 1 + (i % 28) as u32))
        .collect();
    apply(&store, site.clone(), now()).unwrap();
    store.flush().unwrap();
    let generation = store.generation();
    let size = |store: &Store| {
        store.flush().unwrap();
        store.size_on_disk().unwrap()
    };
    let poll = |k: i64| {
        let r = apply(&store, site.clone(), now() + Duration::minutes(k)).unwrap();
        assert_eq!(r.unchanged, 300);
    };
    // sled's first log segments fill quickly; measure once it has settled.
    (1..=100).for_each(poll);
    let before = size(&store);
    let polls = 200;
    (101..=100 + polls).for_each(poll);
    let after = size(&store);
    assert_eq!(store.generation(), generation, "no session was rewritten");
    let per_poll = after.saturating_sub(before) / polls as u64;
    assert!(
        per_poll < 1024,
        "the store grew from {before} to {after} bytes over {polls} unchanged polls"
    );
}
