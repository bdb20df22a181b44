//! The sled store's merge rules on a real store in a temporary directory.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::sessions::{self, SessionBuilder};
use events::model::{Course, Session, Status};
use events::store::{CachedResponse, CrawlStats, Refusal, Store, StoreError};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn session(event: &str, key: usize, day: u32) -> Session {
    let start = Utc.with_ymd_and_hms(2027, 1, day, 9, 30, 0).unwrap();
    sessions::session("wsp", event, start)
        .nth(key)
        .at_venue("Virtual - MS Teams")
        .held_online(true)
        .booked_at(format!("https://example.org/events/{event}"))
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

/// A poll that finds nothing new writes nothing at all: no session of 1,000
/// is rewritten, the feed's generation does not move, and the source's health
/// (last attempt, request counters) stays in memory until a field people act
/// on changes, a day has passed, or the store is flushed (see `SourceHealth`).
/// So 1,000 polls a minute apart (under a day, within `TOUCH_EVERY`) leave the
/// store exactly the size it was.
#[test]
fn unchanged_polls_do_not_grow_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let site: Vec<Session> = (0..1000)
        .map(|i| session(&i.to_string(), 1, 1 + (i % 28) as u32))
        .collect();
    let stats = |k: i64| CrawlStats {
        requests: 10 + k as u64,
        bytes: 1000,
        not_modified: 10,
    };
    let last = now() + Duration::minutes(1020);
    {
        let store = Store::open(dir.path()).unwrap();
        let poll = |k: i64| {
            let r = store
                .apply_crawl(
                    "wsp",
                    site.clone(),
                    None,
                    now() + Duration::minutes(k),
                    0.5,
                    stats(k),
                )
                .unwrap()
                .unwrap();
            assert_eq!(r.unchanged, 1000);
        };
        apply(&store, site.clone(), now()).unwrap();
        let generation = store.generation();
        // Warm-up: the first flush writes sled's own tables once.
        (1..=20).for_each(poll);
        store.flush().unwrap();
        let before = store.size_on_disk().unwrap();
        (21..=1020).for_each(poll);
        // Nothing to flush: the polls wrote nothing.
        let after = store.size_on_disk().unwrap();
        assert_eq!(store.generation(), generation, "no session was rewritten");
        assert_eq!(after, before, "the store grew over 1,000 unchanged polls");
        // This process knows the last poll...
        let h = store.health("wsp").unwrap();
        assert_eq!(h.last_attempt, Some(last));
        assert_eq!(h.last_success, Some(last));
        assert_eq!(h.requests, 1030);
        assert_eq!(store.all_health().unwrap()["wsp"], h);
        // ...which the store holds once flushed (one record, once).
        assert_ne!(store.stored_health("wsp").unwrap(), Some(h.clone()));
        store.flush().unwrap();
        assert_eq!(store.stored_health("wsp").unwrap(), Some(h));
    }
    // And a restarted process knows it too (the scheduler waits by it).
    let store = Store::open(dir.path()).unwrap();
    let h = store.health("wsp").unwrap();
    assert_eq!((h.last_success, h.requests), (Some(last), 1030));
}

/// What a process killed mid-way would leave: the stored record is behind by
/// at most a day, and is written at once when something people act on changes.
#[test]
fn health_is_written_when_it_matters() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let site = vec![session("1", 1, 10), session("2", 1, 11)];
    apply(&store, site.clone(), now()).unwrap();
    let stored = || store.stored_health("wsp").unwrap().unwrap();
    assert_eq!(stored().last_success, Some(now()));

    // Unchanged polls within the day: the stored record stays as it was.
    let t1 = now() + Duration::hours(2);
    apply(&store, site.clone(), t1).unwrap();
    assert_eq!(stored().last_success, Some(now()));
    assert_eq!(store.health("wsp").unwrap().last_success, Some(t1));

    // An identical note is not written, so it does not count as news.
    store.set_note("wsp", "detail:1", "a").unwrap();
    let t2 = t1 + Duration::minutes(30);
    apply(&store, site.clone(), t2).unwrap();
    assert_eq!(stored().last_success, Some(t2), "the first note counted");
    store.set_note("wsp", "detail:1", "a").unwrap();
    apply(&store, site.clone(), t2 + Duration::minutes(30)).unwrap();
    assert_eq!(
        stored().last_success,
        Some(t2),
        "the same note again did not"
    );
    assert_eq!(store.note("wsp", "detail:1").unwrap().as_deref(), Some("a"));

    // A failure is written at once, and so is the recovery.
    let t3 = t2 + Duration::hours(1);
    store
        .record_failure(
            "wsp",
            t3,
            events::errors::ErrorKind::Network,
            "the site is down",
            CrawlStats::default(),
        )
        .unwrap();
    assert_eq!(stored().consecutive_failures, 1);
    assert_eq!(stored().last_error.as_deref(), Some("the site is down"));
    let t4 = t3 + Duration::hours(1);
    apply(&store, site.clone(), t4).unwrap();
    assert_eq!(
        (stored().consecutive_failures, stored().last_success),
        (0, Some(t4))
    );

    // A day on, the times are written even though nothing else changed (as
    // are the sessions' `last_seen`, by the same daily rule).
    let t5 = t4 + Duration::hours(23);
    apply(&store, site.clone(), t5).unwrap();
    assert_eq!(stored().last_success, Some(t5), "the sessions' day is up");
    let t6 = t5 + Duration::hours(23);
    apply(&store, site.clone(), t6).unwrap();
    assert_eq!(stored().last_success, Some(t5));
    let t7 = t5 + Duration::hours(24);
    apply(&store, site.clone(), t7).unwrap();
    assert_eq!(stored().last_success, Some(t7));
}

/// A source that sends its unchanged eLearning catalogue on every crawl does
/// not have it rewritten, nor the feeds' generation moved.
#[test]
fn an_unchanged_catalogue_is_not_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let course = |id: &str, title: &str| Course {
        source: "wsp".into(),
        id: id.into(),
        title: title.into(),
        category: None,
        description: None,
        url: format!("https://example.org/elearning/{id}"),
    };
    let crawl = |courses: Vec<Course>, at: DateTime<Utc>| {
        store
            .apply_crawl(
                "wsp",
                vec![session("1", 1, 10)],
                Some(courses),
                at,
                0.5,
                CrawlStats::default(),
            )
            .unwrap()
            .unwrap();
    };
    crawl(vec![course("a", "A"), course("b", "B")], now());
    let generation = store.generation();
    crawl(
        vec![course("b", "B"), course("a", "A")],
        now() + Duration::minutes(5),
    );
    assert_eq!(
        store.generation(),
        generation,
        "same catalogue, other order"
    );
    crawl(
        vec![course("a", "A"), course("b", "B2")],
        now() + Duration::minutes(10),
    );
    assert!(store.generation() > generation);
    let titles: Vec<String> = store
        .courses()
        .unwrap()
        .into_iter()
        .map(|c| c.title)
        .collect();
    assert_eq!(titles, vec!["A", "B2"]);
}

/// Older builds kept the time of the last prune of kept pages as a note of a
/// pseudo-source `*`, which then showed as a source everywhere sources are
/// listed. Opening such a store moves the time to where it belongs; only
/// sources are listed as sources.
#[test]
fn a_store_with_the_old_prune_note_lists_no_star_source() {
    let dir = tempfile::tempdir().unwrap();
    let t = now();
    {
        let store = Store::open(dir.path()).unwrap();
        apply(&store, vec![session("1", 1, 5)], t).unwrap();
        // What older builds wrote after pruning.
        store
            .set_note("*", "http-cache-pruned", &t.to_rfc3339())
            .unwrap();
        store.flush().unwrap();
        assert!(store.all_health().unwrap().contains_key("*"));
    }
    let store = Store::open(dir.path()).unwrap();
    let ids: Vec<String> = store.all_health().unwrap().into_keys().collect();
    assert_eq!(ids, ["wsp"]);
    assert_eq!(store.note("*", "http-cache-pruned").unwrap(), None);
    // The time is kept: the next prune is still a day after it.
    assert_eq!(store.http_cache_pruned_at().unwrap(), Some(t));
    let month = Duration::days(30);
    assert_eq!(
        store
            .prune_http_cache_due(t + Duration::hours(23), month)
            .unwrap(),
        None
    );
    assert!(store
        .prune_http_cache_due(t + Duration::hours(25), month)
        .unwrap()
        .is_some());
    // Pruning now names no source either, in this process or the next.
    store.flush().unwrap();
    assert_eq!(store.all_health().unwrap().len(), 1);
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    let ids: Vec<String> = store.all_health().unwrap().into_keys().collect();
    assert_eq!(ids, ["wsp"]);
}

/// Kept pages are pruned at most once a day; a clock set back prunes again.
#[test]
fn pruning_kept_pages_is_due_once_a_day() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let t = now();
    let month = Duration::days(30);
    let old = "https://x.org/events/old";
    assert!(store.prune_http_cache_due(t, month).unwrap().is_some());
    store
        .put_cached_response(old, &kept(t - Duration::days(40), None, "old"))
        .unwrap();
    assert_eq!(store.prune_http_cache_due(t, month).unwrap(), None);
    assert!(store.cached_response(old).unwrap().is_some());
    let next_day = t + Duration::days(1);
    let p = store
        .prune_http_cache_due(next_day, month)
        .unwrap()
        .unwrap();
    assert_eq!(p.entries, 1);
    assert!(store.cached_response(old).unwrap().is_none());
    // A last prune in the future (the clock went back) does not stop pruning.
    assert!(store
        .prune_http_cache_due(t - Duration::days(5), month)
        .unwrap()
        .is_some());
    assert_eq!(
        store.http_cache_pruned_at().unwrap(),
        Some(t - Duration::days(5))
    );
}

/// The generation is kept in memory beside sled: it follows a merge, is
/// read back when the store is opened again, and follows records loaded
/// into a store (a restore), as the health version does.
#[test]
fn the_generation_follows_merges_reopening_and_loading() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let store = Store::open(&a).unwrap();
    assert_eq!(store.generation(), 0);
    apply(&store, vec![session("1", 1, 10)], now()).unwrap();
    let first = store.generation();
    assert!(first > 0);
    apply(&store, vec![session("1", 1, 10)], now()).unwrap();
    assert_eq!(
        store.generation(),
        first,
        "an unchanged crawl moves nothing"
    );
    apply(
        &store,
        vec![session("1", 1, 10), session("2", 1, 11)],
        now(),
    )
    .unwrap();
    let second = store.generation();
    assert!(second > first);
    let mut records = Vec::new();
    store
        .dump(|part, k, v| -> Result<(), StoreError> {
            records.push((part, k.to_vec(), v.to_vec()));
            Ok(())
        })
        .unwrap();
    drop(store);
    assert_eq!(Store::open(&a).unwrap().generation(), second);

    let copy = Store::open(&dir.path().join("b")).unwrap();
    let health = copy.health_version();
    for (part, k, v) in records {
        copy.load(part, &[(k, v)]).unwrap();
    }
    assert_eq!(copy.generation(), second);
    assert!(copy.health_version() > health);
    assert!(copy.health("wsp").unwrap().last_success.is_some());
}

/// The sources the store holds sessions of are found by seeking from one
/// source's keys to the next: ids that share a beginning (`site`,
/// `site-2`) are told apart, and a source with only courses has none.
#[test]
fn the_sources_with_sessions_are_found_without_reading_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert!(store.session_source_ids().unwrap().is_empty());
    let start = Utc.with_ymd_and_hms(2027, 1, 12, 9, 30, 0).unwrap();
    for (source, events) in [("site-2", 3), ("site", 2), ("wsp", 1), ("a", 1)] {
        let list = (0..events)
            .map(|n| sessions::session(source, &format!("{n}"), start))
            .collect();
        common::sessions::merge_crawl(&store, source, list, now());
    }
    let course = Course {
        source: "courses-only".into(),
        id: "1".into(),
        title: "An eLearning course".into(),
        category: None,
        description: None,
        url: "https://example.org/elearning/1".into(),
    };
    store
        .apply_crawl(
            "courses-only",
            Vec::new(),
            Some(vec![course]),
            now(),
            0.5,
            CrawlStats::default(),
        )
        .unwrap()
        .unwrap();
    let ids: Vec<String> = store.session_source_ids().unwrap().into_iter().collect();
    assert_eq!(ids, ["a", "site", "site-2", "wsp"]);
}
