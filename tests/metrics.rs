//! `/metrics` of a real `events serve` on loopback, after it crawled a replica
//! of the WSP site (as a whole source, as one held to `max_pages = 1` and as
//! one to 1 KiB bodies)
//! and answered requests, some with hostile paths and query strings; read by
//! an independent parser, the Prometheus project's own Python client
//! (`tests/python/metrics.py`). Its crawl counts, request counts by route and
//! status, network counters and feed cache figures are checked against what
//! the test and the replica saw, and no label carries what a client sent.
//!
//! The parser is Python's `prometheus_client` (tests/python/requirements.txt):
//! without python3 or the package the test says so and does not run, unless
//! `CI` is set, where that fails (`.ci/run` installs them).

mod common;

use common::tools::{on_path, required};
use events::replica::{Replica, Site};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const NOW: &str = "2026-12-01T09:00:00Z";

/// Longest the test waits for the server to start or its crawls to end (a
/// guard, not a measurement).
const GUARD: Duration = Duration::from_secs(60);

/// In every hostile path and query string: must never reach a label.
const MARKER: &str = "zzmarker";

/// Every `route` label value the server may write.
const ROUTES: [&str; 10] = [
    "/",
    "/calendar.ics",
    "/calendar/{source}.ics",
    "/calendar/category/{category}.ics",
    "/changes.atom",
    "/api/sessions",
    "/api/sources",
    "/healthz",
    "/metrics",
    "other",
];

const OUTCOMES: [&str; 5] = ["merged", "partial", "refused", "failed", "skipped"];

/// The samples of an exposition as the Python client parsed them, or `None`
/// when the package is missing (outside CI).
fn parse_with_python(py: &Path, text: &str) -> Option<Vec<Sample>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, text).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/metrics.py");
    let out = std::process::Command::new(py)
        .arg(script)
        .arg(&file)
        .stdin(Stdio::null())
        .output()
        .expect("python3 runs");
    if out.status.code() == Some(3) {
        required(
            None::<()>,
            "Python's prometheus_client (pip install -r tests/python/requirements.txt)",
        )?;
    }
    assert!(
        out.status.success(),
        "the Prometheus parser refused /metrics: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("the parser printed JSON");
    let mut samples = Vec::new();
    for fam in v["families"].as_array().expect("families") {
        for s in fam["samples"].as_array().expect("samples") {
            samples.push(Sample {
                family_type: fam["type"].as_str().unwrap().to_string(),
                name: s["name"].as_str().unwrap().to_string(),
                labels: serde_json::from_value(s["labels"].clone()).unwrap(),
                value: s["value"].as_f64().unwrap(),
            });
        }
    }
    Some(samples)
}

#[derive(Debug)]
struct Sample {
    family_type: String,
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// The value of the one sample `name` with exactly `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let found: Vec<f64> = samples
        .iter()
        .filter(|s| s.name == name && s.labels == want)
        .map(|s| s.value)
        .collect();
    assert!(found.len() <= 1, "{name} {labels:?} appears twice");
    found.first().copied()
}

/// The sum of every sample `name`, whatever its labels.
fn total(samples: &[Sample], name: &str) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .map(|s| s.value)
        .sum()
}

/// The value of `name{labels}` in raw exposition text, for waiting only.
fn raw_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
}

/// `events serve` on the store, killed when dropped; with its address
/// (`http://127.0.0.1:PORT`).
struct Serve {
    child: tokio::process::Child,
    base: String,
}

async fn start_serve(sources: &Path, data: &Path) -> Serve {
    let (child, url) = common::servers::serve(sources, data, NOW, &[]).await;
    Serve {
        child,
        base: url.trim_end_matches('/').to_string(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_crawls_and_requests_with_bounded_labels() {
    let Some(py) = required(on_path("python3"), "python3") else {
        return;
    };
    let site = Replica::start(Site::Wsp).await.unwrap();
    let sources = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    common::write_wsp_source(sources.path(), &site.base_url(), 50);
    std::fs::write(
        sources.path().join("tight.toml"),
        format!(
            "id = \"tight\"\nname = \"Held to one page\"\nkind = \"event-booking\"\nbase_url = \"{}\"\nrequests_per_second = 50\n\n[limits]\nmax_pages = 1\n",
            site.base_url()
        ),
    )
    .unwrap();
    std::fs::write(
        sources.path().join("small.toml"),
        format!(
            "id = \"small\"\nname = \"Held to small pages\"\nkind = \"event-booking\"\nbase_url = \"{}\"\nrequests_per_second = 50\n\n[limits]\nmax_body_bytes = \"1 KiB\"\n",
            site.base_url()
        ),
    )
    .unwrap();
    let started = chrono::Utc::now().timestamp();
    let mut serve = start_serve(sources.path(), data.path()).await;
    let http = reqwest::Client::new();
    // (route, status) → requests the test made and saw answered so.
    let mut made: BTreeMap<(&str, u16), u64> = BTreeMap::new();

    // Wait (bounded) until both sources' first crawls are recorded.
    let mut waited = Duration::ZERO;
    loop {
        let r = http
            .get(format!("{}/metrics", serve.base))
            .send()
            .await
            .unwrap();
        *made.entry(("/metrics", r.status().as_u16())).or_default() += 1;
        let text = r.text().await.unwrap();
        let done = |id: &str| {
            OUTCOMES
                .iter()
                .filter_map(|o| {
                    raw_value(
                        &text,
                        &format!("events_crawls_total{{source=\"{id}\",outcome=\"{o}\"}}"),
                    )
                })
                .sum::<f64>()
                >= 1.0
        };
        if done("wsp") && done("tight") && done("small") {
            break;
        }
        assert!(waited < GUARD, "the crawls were not recorded:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }

    // Requests, some hostile: the route is the template, never the path or query.
    let m = MARKER;
    let requests: Vec<(&str, &str, String)> = vec![
        ("GET", "/calendar.ics", "/calendar.ics".into()),
        ("GET", "/calendar.ics", "/calendar.ics".into()),
        (
            "GET",
            "/calendar.ics",
            format!("/calendar.ics?search={m}%22%7D%0A%23%20TYPE%20x"),
        ),
        ("GET", "/calendar.ics", format!("/calendar.ics?days={m}")),
        ("POST", "/calendar.ics", format!("/calendar.ics?{m}=1")),
        ("GET", "/calendar/{source}.ics", "/calendar/wsp.ics".into()),
        (
            "GET",
            "/calendar/{source}.ics",
            format!("/calendar/{m}%22%7D.ics"),
        ),
        (
            "GET",
            "/calendar/category/{category}.ics",
            format!("/calendar/category/{m}.ics"),
        ),
        ("GET", "/api/sessions", format!("/api/sessions?source={m}")),
        ("GET", "/api/sources", "/api/sources".into()),
        ("GET", "/changes.atom", format!("/changes.atom?kind={m}")),
        ("GET", "/", format!("/?category={m}%0A")),
        // The page and an API part twice each: rendered, then from the cache.
        ("GET", "/", "/?source=wsp".into()),
        ("GET", "/", "/?source=wsp".into()),
        ("GET", "/api/sessions", "/api/sessions?limit=5".into()),
        ("GET", "/api/sessions", "/api/sessions?limit=5".into()),
        ("GET", "/healthz", "/healthz".into()),
        ("GET", "other", format!("/{m}/x?{m}={m}")),
        ("GET", "other", format!("/api/{m}")),
    ];
    for (method, route, target) in &requests {
        let url = format!("{}{target}", serve.base);
        let r = match *method {
            "POST" => http.post(&url).send().await,
            _ => http.get(&url).send().await,
        }
        .unwrap();
        *made.entry((route, r.status().as_u16())).or_default() += 1;
        let _ = r.bytes().await.unwrap();
    }
    let statuses: std::collections::BTreeSet<u16> = made.keys().map(|(_, s)| *s).collect();
    assert!(
        statuses.is_superset(&[200, 400, 404, 405].into()),
        "the requests meant to be refused were answered {made:?}"
    );

    let r = http
        .get(format!("{}/metrics", serve.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()[reqwest::header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = r.text().await.unwrap();
    let finished = chrono::Utc::now().timestamp();
    let _ = serve.child.kill().await;
    let Some(samples) = parse_with_python(&py, &text) else {
        return;
    };

    // Crawls by source and outcome.
    let crawls = |id: &str, outcome: &str| {
        value(
            &samples,
            "events_crawls_total",
            &[("source", id), ("outcome", outcome)],
        )
    };
    assert_eq!(crawls("wsp", "merged"), Some(1.0), "{text}");
    assert_eq!(crawls("tight", "partial"), Some(1.0), "{text}");
    // Its listing page is over 1 KiB, so its crawl fails.
    assert_eq!(crawls("small", "failed"), Some(1.0), "{text}");
    for o in ["partial", "refused", "failed", "skipped"] {
        assert_eq!(crawls("wsp", o), Some(0.0), "wsp {o}");
    }
    assert_eq!(
        value(
            &samples,
            "events_crawl_limit_hits_total",
            &[("source", "tight"), ("setting", "max_pages")]
        ),
        Some(1.0)
    );
    let oversized = value(
        &samples,
        "events_crawl_limit_hits_total",
        &[("source", "small"), ("setting", "max_body_bytes")],
    )
    .expect("small's pages over max_body_bytes are counted");
    assert!(oversized >= 1.0, "{text}");
    assert_eq!(
        total(&samples, "events_crawl_limit_hits_total"),
        1.0 + oversized
    );
    // Failures by kind: the one over its body limit, the one at max_pages.
    let errors = |id: &str, kind: &str| {
        value(
            &samples,
            "events_crawl_errors_total",
            &[("source", id), ("kind", kind)],
        )
    };
    assert_eq!(errors("small", "body-limit"), Some(1.0), "{text}");
    assert_eq!(errors("tight", "limit"), Some(1.0), "{text}");
    assert_eq!(total(&samples, "events_crawl_errors_total"), 2.0);
    assert_eq!(
        value(
            &samples,
            "events_crawl_duration_seconds_count",
            &[("source", "wsp")]
        ),
        Some(1.0)
    );
    // The crawls' network counters are what the replica answered.
    assert_eq!(
        total(&samples, "events_crawl_requests_total"),
        site.requests() as f64
    );
    assert_eq!(
        total(&samples, "events_crawl_not_modified_total"),
        site.not_modified() as f64
    );
    assert!(total(&samples, "events_crawl_downloaded_bytes_total") > 0.0);
    // From the store's health.
    assert_eq!(
        value(&samples, "events_source_sessions", &[("source", "wsp")]),
        Some(12.0)
    );
    let last = value(
        &samples,
        "events_source_last_success_timestamp_seconds",
        &[("source", "wsp")],
    )
    .expect("wsp's last success");
    assert!(
        (started as f64..=finished as f64).contains(&last),
        "last success {last} not within the test's run ({started}..{finished})"
    );

    // Requests by route and status: exactly what the test made and saw.
    let mut counted: BTreeMap<(String, u16), u64> = BTreeMap::new();
    for s in samples
        .iter()
        .filter(|s| s.name == "events_http_requests_total")
    {
        let key = (
            s.labels["route"].clone(),
            s.labels["status"].parse().unwrap(),
        );
        counted.insert(key, s.value as u64);
    }
    let made: BTreeMap<(String, u16), u64> = made
        .into_iter()
        .map(|((r, s), n)| ((r.to_string(), s), n))
        .collect();
    assert_eq!(counted, made, "{text}");

    // The feed cache: one of the two plain calendars was a hit, every miss rendered.
    let hits = total(&samples, "events_feed_cache_hits_total");
    let misses = total(&samples, "events_feed_cache_misses_total");
    assert!(hits >= 1.0, "{text}");
    assert!(misses >= 1.0, "{text}");
    assert_eq!(total(&samples, "events_feed_renders_total"), misses);
    assert!(total(&samples, "events_feed_cache_bytes") > 0.0);
    // The same cache by view: the feed's series are the counts above; the
    // page and the API part asked for twice each missed, then hit (the
    // other requests of those routes asked once each, so never hit).
    let by_view = |name: &str, view: &str| {
        value(&samples, name, &[("view", view)]).unwrap_or_else(|| panic!("{name} {view}"))
    };
    assert_eq!(by_view("events_view_cache_hits_total", "feed"), hits);
    assert_eq!(by_view("events_view_cache_misses_total", "feed"), misses);
    for view in ["page", "sessions"] {
        assert!(
            by_view("events_view_cache_misses_total", view) >= 1.0,
            "{view}: {text}"
        );
        assert_eq!(
            by_view("events_view_cache_hits_total", view),
            1.0,
            "{view}: {text}"
        );
    }

    // Bounded labels: fixed sets and configured ids, nothing a client sent.
    for s in &samples {
        for (k, v) in &s.labels {
            assert!(
                !v.to_lowercase().contains(MARKER) && !v.contains('?') && !v.contains('\n'),
                "{} has label {k}={v:?}",
                s.name
            );
            match k.as_str() {
                "route" => assert!(ROUTES.contains(&v.as_str()), "route {v:?}"),
                "outcome" => assert!(OUTCOMES.contains(&v.as_str()), "outcome {v:?}"),
                "source" => assert!(
                    ["wsp", "tight", "small"].contains(&v.as_str()),
                    "source {v:?}"
                ),
                "status" => assert!(v.parse::<u16>().is_ok(), "status {v:?}"),
                "kind" => assert!(
                    events::errors::ErrorKind::ALL
                        .iter()
                        .any(|k| k.as_str() == v.as_str()),
                    "kind {v:?}"
                ),
                "setting" => assert!(
                    events::metrics::LIMIT_SETTINGS.contains(&v.as_str()),
                    "setting {v:?}"
                ),
                "view" => assert!(
                    ["feed", "page", "sessions"].contains(&v.as_str()),
                    "view {v:?}"
                ),
                "le" => assert_eq!(s.family_type, "histogram"),
                other => panic!("unexpected label {other} on {}", s.name),
            }
        }
    }
}
