//! Benchmarks of the pipeline's hot paths: parsing the booking sites' pages,
//! merging a crawl into the sled store, rendering the iCalendar feed, and
//! serving the feed from the server's in-memory cache over loopback.
//!
//! Run with `cargo bench --bench pipeline`; results and their reading are in
//! `bench/RESULTS.md`. Every benchmark is bounded (20 samples, a few seconds)
//! so the whole run stays within a few minutes on a small machine.

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{
    criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use events::config::{parse_source, SourceConfig};
use events::feed::{self, FeedOptions};
use events::model::{Availability, Session, SessionKey, Status, StoredSession};
use events::platforms::event_booking::EventBookingConfig;
use events::platforms::event_booking::{parse_detail, parse_listing};
use events::platforms::eventbrite::{parse_showmore, showmore_url};
use events::platforms::SourceContext;
use events::present;
use events::query::Filter;
use events::server::{self, AppState};
use events::store::{CrawlStats, Store};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;
use url::Url;

/// The frozen clock of the fixtures and tests.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    let p = fixture(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn ctx(source_id: &str) -> SourceContext {
    SourceContext {
        source_id: source_id.into(),
        timezone: chrono_tz::Europe::London,
        now: now(),
        probe: Default::default(),
    }
}

/// `n` distinct sessions of source `wsp`, seven hours apart from `first`, with
/// a mix of statuses, availabilities and venues.
fn sessions(n: usize, first: DateTime<Utc>) -> Vec<Session> {
    sessions_every(n, first, Duration::hours(7))
}

/// The same, `step` apart.
fn sessions_every(n: usize, first: DateTime<Utc>, step: Duration) -> Vec<Session> {
    (0..n)
        .map(|i| {
            let start = first + step * i as i32;
            let event = format!("{}", 10_000 + i);
            let online = i % 3 == 0;
            let (status, availability) = match i % 10 {
                0 => (
                    Status::Full,
                    Availability {
                        waitlist: true,
                        ..Availability::spaces(0)
                    },
                ),
                1 => (Status::Closed, Availability::unknown()),
                2 => (Status::Cancelled, Availability::spaces(12)),
                3 => (Status::Scheduled, Availability::unknown()),
                _ => (
                    Status::Scheduled,
                    Availability {
                        spaces_left: Some((i % 17) as u32 + 1),
                        capacity: Some(20),
                        waitlist: false,
                        unpublished: false,
                    },
                ),
            };
            Session {
                source: "wsp".into(),
                event_id: event.clone(),
                key: SessionKey::nth(1 + i % 2),
                title: format!("Understanding Child Neglect Level {} ({i})", 1 + i % 3),
                category: Some(
                    ["Child Neglect", "Domestic Abuse", "Exploitation"][i % 3].to_string(),
                ),
                level: Some(format!("Level {}", 1 + i % 3)),
                prerequisites: (i % 4 == 0).then(|| "You MUST complete Level 1 first".to_string()),
                description: Some(format!(
                    "A half-day course on recognising and responding to neglect, session {i}; \
                     bring a pen, please. Places are limited and booking closes two days before."
                )),
                start,
                end: start + Duration::hours(3),
                timezone: "Europe/London".into(),
                venue: Some(if online {
                    "Virtual - MS Teams".to_string()
                } else {
                    "Walsall Council House, Lichfield Street, Walsall, WS1 1TP".to_string()
                }),
                online,
                status,
                availability,
                url: format!("https://walsall.event-booking.org.uk/events/{event}"),
                all_day: false,
            }
        })
        .collect()
}

/// The same sessions as the store would hold them.
fn stored(n: usize) -> Vec<StoredSession> {
    sessions(n, Utc.with_ymd_and_hms(2027, 1, 4, 9, 30, 0).unwrap())
        .into_iter()
        .enumerate()
        .map(|(i, session)| StoredSession {
            uid: session.uid(),
            first_seen: now() - Duration::days(60),
            last_seen: now(),
            last_changed: now() - Duration::days(i as i64 % 30),
            sequence: (i % 3) as u32,
            session,
        })
        .collect()
}

fn parsing(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    let cfg = EventBookingConfig::default();
    let wsp = ctx("wsp");

    let listing = String::from_utf8(read("wsp/events-list.html")).unwrap();
    let listing_url = Url::parse("http://127.0.0.1/events-list").unwrap();
    let entries = parse_listing(&listing, &listing_url, &cfg, &wsp)
        .unwrap()
        .entries
        .len();
    assert!(entries > 0, "the listing fixture has entries");
    g.bench_function("wsp_listing", |b| {
        b.iter(|| parse_listing(black_box(&listing), &listing_url, &cfg, &wsp).unwrap())
    });

    let detail = String::from_utf8(read("wsp/events_1005.html")).unwrap();
    let detail_url = Url::parse("http://127.0.0.1/events/1005").unwrap();
    assert!(!parse_detail(&detail, &detail_url, &cfg, &wsp)
        .unwrap()
        .is_empty());
    g.bench_function("wsp_detail_1005", |b| {
        b.iter(|| parse_detail(black_box(&detail), &detail_url, &cfg, &wsp).unwrap())
    });

    let vrp = ctx("vrp");
    let body = read("eventbrite/showmore_page1.json");
    let site = Url::parse("https://www.eventbrite.co.uk").unwrap();
    let url = showmore_url(&site, "98765432101", 1);
    assert!(!parse_showmore(&body, &url, &vrp).unwrap().events.is_empty());
    g.bench_function("eventbrite_showmore_page1", |b| {
        b.iter(|| parse_showmore(black_box(&body), &url, &vrp).unwrap())
    });
    g.finish();
}

fn merge(c: &mut Criterion) {
    const N: usize = 500;
    let crawl = sessions(N, now() + Duration::days(1));
    let apply = |store: &Store, s: Vec<Session>, at: DateTime<Utc>| {
        store
            .apply_crawl("wsp", s, None, at, 0.5, CrawlStats::default())
            .unwrap()
            .unwrap()
    };

    let mut g = c.benchmark_group("store");
    // Each iteration writes and flushes a sled store: milliseconds, so take
    // equal-sized samples rather than criterion's growing ones.
    g.sampling_mode(SamplingMode::Flat);
    g.throughput(Throughput::Elements(N as u64));

    g.bench_function("apply_crawl_500_first", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let store = Store::open(&dir.path().join("data")).unwrap();
                (dir, store, crawl.clone())
            },
            |(dir, store, s)| {
                let r = apply(&store, s, now());
                assert_eq!(r.new, N);
                // Dropped (closed, deleted) after the timing.
                (dir, store)
            },
            BatchSize::PerIteration,
        )
    });

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    apply(&store, crawl.clone(), now());
    let later = now() + Duration::hours(1);
    let r = apply(&store, crawl.clone(), later);
    assert_eq!((r.unchanged, r.changed, r.new), (N, 0, 0));
    g.bench_function("apply_crawl_500_unchanged", |b| {
        b.iter_batched(
            || crawl.clone(),
            |s| {
                let r = apply(&store, s, later);
                assert_eq!(r.unchanged, N);
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn render(c: &mut Criterion) {
    let mut g = c.benchmark_group("feed_render");
    let opts = FeedOptions::default();
    for n in [50usize, 500, 5000] {
        let all = stored(n);
        let body = feed::render(&all, &opts);
        assert_eq!(body.matches("BEGIN:VEVENT").count(), n);
        if n >= 5000 {
            g.sampling_mode(SamplingMode::Flat);
        }
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &all, |b, all| {
            b.iter(|| feed::render(black_box(all), &opts))
        });
    }
    g.finish();
}

fn wsp_source() -> SourceConfig {
    parse_source(
        Path::new("wsp.toml"),
        "id = \"wsp\"\nname = \"Walsall Safeguarding Partnership\"\nkind = \"event-booking\"\nbase_url = \"https://walsall.event-booking.org.uk\"\n",
    )
    .unwrap()
}

fn serving(c: &mut Criterion) {
    const N: usize = 500;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    // From ten days ago on, so every session is inside the feed's window.
    store
        .apply_crawl(
            "wsp",
            sessions(N, now() - Duration::days(10)),
            None,
            now() - Duration::hours(2),
            0.5,
            CrawlStats::default(),
        )
        .unwrap()
        .unwrap();
    let state = AppState::new(
        store.clone(),
        vec![wsp_source()],
        server::fixed_clock(now()),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, task) = rt.block_on(async {
        let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(server::serve(listener, state.clone(), async move {
            let _ = stopped.await;
        }));
        (addr, task)
    });
    let url = format!("http://{addr}/calendar.ics");
    // Plain bodies, so the client does not spend the time decompressing.
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let get = || async {
        let r = client.get(&url).send().await.unwrap();
        assert!(r.status().is_success());
        r.bytes().await.unwrap()
    };

    // What the cache saves: the same view rendered from the same snapshot.
    let all = store.sessions().unwrap();
    let filter = Filter::default();
    let direct = || {
        let list = present::feed_window(&all, &filter, now());
        let opts = present::feed_options(&[wsp_source()], &events::site::Site::default(), &filter);
        feed::render(&list, &opts)
    };
    let served = rt.block_on(get());
    let rendered = direct();
    assert_eq!(
        served,
        rendered.as_bytes(),
        "the server serves the same feed"
    );
    assert_eq!(rendered.matches("BEGIN:VEVENT").count(), N);
    assert_eq!(state.feed_renders(), 1);

    let mut g = c.benchmark_group("serve_500");
    g.bench_function("get_calendar_cached", |b| b.iter(|| rt.block_on(get())));
    g.bench_function("render_uncached", |b| b.iter(|| black_box(direct())));
    g.finish();
    assert_eq!(state.feed_renders(), 1, "every GET was a cache hit");

    let _ = stop.send(());
    rt.block_on(async {
        tokio::time::timeout(StdDuration::from_secs(10), task)
            .await
            .expect("the server stops")
            .unwrap()
            .unwrap();
    });
}

/// The sessions of the 10,000-event national replica (13,988), spread over
/// the next 390 days, as `serve` holds them.
const NATIONAL: usize = 13_988;

/// A feed whose filter nobody asked for before (`?days=400`: nearly the whole
/// calendar), at national scale: what a cache miss costs before and after
/// `feed::EventBlocks` and the XXH3 ETag, from one snapshot, and over loopback.
fn filtered(c: &mut Criterion) {
    let step = Duration::minutes(390 * 24 * 60 / NATIONAL as i64);
    let first = now() + Duration::hours(1);
    let all: Vec<StoredSession> = sessions_every(NATIONAL, first, step)
        .into_iter()
        .enumerate()
        .map(|(i, session)| StoredSession {
            uid: session.uid(),
            first_seen: now() - Duration::days(60),
            last_seen: now(),
            last_changed: now() - Duration::days(i as i64 % 30),
            sequence: (i % 3) as u32,
            session,
        })
        .collect();
    let filter = Filter {
        days: Some(400),
        ..Filter::default()
    };
    let sources = [wsp_source()];
    let list = present::feed_window(&all, &filter, now());
    assert_eq!(list.len(), NATIONAL);
    let opts = present::feed_options(&sources, &events::site::Site::default(), &filter);
    let plain = feed::render(&list, &opts);
    let blocks = feed::EventBlocks::new(64 * 1024 * 1024);
    assert_eq!(feed::render_with_blocks(&list, &opts, &blocks, 1), plain);
    let budget = feed::EventBlocks::new(feed::DEFAULT_EVENT_BLOCK_BYTES);
    assert_eq!(feed::render_with_blocks(&list, &opts, &budget, 1), plain);
    eprintln!(
        "feed_filtered: {} bytes, {} VEVENTs; all blocks: {:?}; default budget: {:?}",
        plain.len(),
        NATIONAL,
        blocks.stats(),
        budget.stats()
    );
    let gzip_fast = |b: &[u8]| {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(b.len() / 6),
            flate2::Compression::fast(),
        );
        enc.write_all(b).unwrap();
        enc.finish().unwrap()
    };
    let sha = |b: &[u8]| {
        use sha2::Digest;
        sha2::Sha256::digest(b)
    };

    let mut g = c.benchmark_group("feed_filtered");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("window", |b| {
        b.iter(|| present::feed_window(black_box(&all), &filter, now()).len())
    });
    g.bench_function("render", |b| {
        b.iter(|| feed::render(black_box(&list), &opts))
    });
    g.bench_function("render_all_blocks", |b| {
        b.iter(|| feed::render_with_blocks(black_box(&list), &opts, &blocks, 1))
    });
    // The first feed of a generation: every block rendered and kept.
    g.bench_function("render_cold_blocks", |b| {
        b.iter_batched(
            || feed::EventBlocks::new(feed::DEFAULT_EVENT_BLOCK_BYTES),
            |fresh| {
                let body = feed::render_with_blocks(black_box(&list), &opts, &fresh, 1);
                (fresh, body)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("render_default_budget", |b| {
        b.iter(|| feed::render_with_blocks(black_box(&list), &opts, &budget, 1))
    });
    g.bench_function("sha256", |b| b.iter(|| sha(black_box(plain.as_bytes()))));
    g.bench_function("xxh3_128", |b| {
        b.iter(|| feed::body_hash(black_box(plain.as_bytes())))
    });
    g.bench_function("gzip_fast", |b| {
        b.iter(|| gzip_fast(black_box(plain.as_bytes())).len())
    });
    // What a miss cost before: window, render, SHA-256, gzip.
    g.bench_function("miss_before", |b| {
        b.iter(|| {
            let list = present::feed_window(&all, &filter, now());
            let body = feed::render(&list, &opts);
            (sha(body.as_bytes()), gzip_fast(body.as_bytes()).len())
        })
    });
    // And now: the same with the blocks (default budget) and XXH3.
    g.bench_function("miss_after", |b| {
        b.iter(|| {
            let list = present::feed_window(&all, &filter, now());
            let body = feed::render_with_blocks(&list, &opts, &budget, 1);
            (
                feed::body_hash(body.as_bytes()),
                gzip_fast(body.as_bytes()).len(),
            )
        })
    });
    g.bench_function("miss_after_all_blocks", |b| {
        b.iter(|| {
            let list = present::feed_window(&all, &filter, now());
            let body = feed::render_with_blocks(&list, &opts, &blocks, 1);
            (
                feed::body_hash(body.as_bytes()),
                gzip_fast(body.as_bytes()).len(),
            )
        })
    });
    g.finish();
}

/// The cost of a category filter at its limits (`MAX_CATEGORIES` of
/// `MAX_VALUE_CHARS`, none matching) against one category, over 3,000
/// sessions: `present::upcoming` as `/api/sessions` and the page run it.
fn filter_cost(c: &mut Criterion) {
    use events::query::{MAX_CATEGORIES, MAX_VALUE_CHARS};
    let all = stored(3000);
    let long: Vec<String> = (0..MAX_CATEGORIES)
        .map(|i| {
            format!("category={}", format!("{i}").repeat(MAX_VALUE_CHARS))
                .chars()
                .take(MAX_VALUE_CHARS + 9)
                .collect()
        })
        .collect();
    let long = Filter::from_query(&long.join("&")).unwrap();
    let one = Filter::from_query("category=child-neglect").unwrap();
    let mut g = c.benchmark_group("filter_cost");
    g.bench_function("20_categories_of_100", |b| {
        b.iter(|| black_box(present::upcoming(&all, &long, now()).len()))
    });
    g.bench_function("one_category", |b| {
        b.iter(|| black_box(present::upcoming(&all, &one, now()).len()))
    });
    g.finish();
}

fn bounded() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(StdDuration::from_secs(1))
        .measurement_time(StdDuration::from_secs(3))
}

/// One session, one entry, at national scale: `duplicates::merge` over a
/// calendar no other source re-lists (the common case), and over one whose
/// every session a website re-lists with its title reworded; beside
/// rendering the feed of those sessions, what merging is weighed against.
fn merging(c: &mut Criterion) {
    use events::duplicates::{self, Role, Roles};
    let step = Duration::minutes(390 * 24 * 60 / NATIONAL as i64);
    let stored = |session: Session, seen: DateTime<Utc>| StoredSession {
        uid: session.uid(),
        first_seen: seen,
        last_seen: now(),
        last_changed: seen,
        sequence: 0,
        session,
    };
    let booking: Vec<StoredSession> = sessions_every(NATIONAL, now() + Duration::hours(1), step)
        .into_iter()
        .map(|s| stored(s, now() - Duration::days(60)))
        .collect();
    let mut twice = booking.clone();
    twice.extend(booking.iter().map(|b| {
        let mut s = b.session.clone();
        s.source = "site".into();
        s.title = format!("WSP - {} (Online)", s.title);
        s.url = format!("https://www.site.example/event/{}/", s.event_id);
        stored(s, now() - Duration::days(30))
    }));
    let roles = Roles::new([
        (
            "wsp".to_string(),
            Role {
                name: "WSP".into(),
                books: true,
                merge: true,
            },
        ),
        (
            "site".to_string(),
            Role {
                name: "WSP website".into(),
                books: false,
                merge: true,
            },
        ),
    ]);
    let merged = duplicates::merge(twice.clone(), &roles);
    assert_eq!(
        merged.groups.len(),
        NATIONAL,
        "every re-listed session is merged"
    );
    let filter = Filter::default();
    let sources = [wsp_source()];
    let opts = present::feed_options(&sources, &events::site::Site::default(), &filter);
    let list = present::feed_window(&booking, &filter, now());

    let mut g = c.benchmark_group("merging");
    g.sampling_mode(SamplingMode::Flat);
    g.bench_function("merge_none_shared", |b| {
        b.iter_batched(
            || booking.clone(),
            |v| duplicates::merge(v, &roles),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("merge_every_session_twice", |b| {
        b.iter_batched(
            || twice.clone(),
            |v| duplicates::merge(v, &roles),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("render_feed", |b| {
        b.iter(|| feed::render(black_box(&list), &opts))
    });
    g.finish();
}

criterion_group! {
    name = pipeline;
    config = bounded();
    targets = parsing, merge, render, serving, filtered, filter_cost, merging
}
criterion_main!(pipeline);
