//! The served feed, read by the parsers calendar clients are built on: libical
//! (Evolution, Cyrus; a small C program, `tests/libical/dump.c`), ical.js
//! (Thunderbird, Nextcloud; `tests/icaljs/dump.mjs`) and Python's `icalendar`
//! and `vobject` (`tests/python/dump.py`). Each prints what it understood in
//! one JSON shape, and every one must read the same calendar name and
//! description (RFC 7986 `NAME`/`DESCRIPTION` and the `X-WR-` forms alike,
//! with no stray backslash) and the same events, with the same instants.
//! libical's RFC 5546 restriction check must report no error, and a naive
//! `BEGIN:VEVENT…END:VEVENT` scan must count the real events, no phantom one.
//!
//! A reader whose tools are missing is skipped with a message, except when
//! `CI` is set, where that fails (`.ci/run` installs them all).

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::servers::{body_text, Served};
use common::sessions::{self, SessionBuilder};
use common::tools::{on_path, required, run_bounded};
use events::config::{parse_source, SourceConfig};
use events::feed;
use events::model::{Availability, Session, Status};
use events::present::FEED_DESCRIPTION;
use events::server::{self, AppState};
use events::store::Store;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Longest one reader (or the C compiler) may run.
const TOOL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap()
}

fn source(id: &str, kind: &str) -> SourceConfig {
    let extra = if kind == "eventbrite" {
        "organizer_id = \"12345\"\n"
    } else {
        "base_url = \"https://booking.example.org\"\n"
    };
    parse_source(
        Path::new(&format!("{id}.toml")),
        &format!("id = \"{id}\"\nname = \"{id} partnership\"\nkind = \"{kind}\"\n{extra}"),
    )
    .unwrap()
}

fn session(source: &str, id: &str, title: &str, start: DateTime<Utc>) -> Session {
    sessions::session(source, id, start)
        .titled(title)
        .requiring("You MUST complete Level 1 first")
        .described("Bring a pen, please; and a notebook.")
        .at_venue("Civic Centre,\nRoom 2")
        .with_spaces(4)
        .booked_at(format!("https://booking.example.org/events/{id}"))
}

/// Sessions in both seasons, cancelled and full, with hostile text.
fn wsp_sessions() -> Vec<Session> {
    let summer = session(
        "wsp",
        "1",
        "Understanding Neglect, Level 2",
        Utc.with_ymd_and_hms(2027, 7, 15, 8, 30, 0).unwrap(),
    );
    let mut winter = session(
        "wsp",
        "2",
        "Graded Care Profile 2 — “GCP2”",
        Utc.with_ymd_and_hms(2027, 11, 3, 9, 30, 0).unwrap(),
    );
    winter.status = Status::Full;
    winter.availability = Availability::spaces(0);
    let mut evil = session(
        "wsp",
        "3",
        "Weekend:VEVENT END:VEVENT",
        Utc.with_ymd_and_hms(2027, 5, 6, 9, 0, 0).unwrap(),
    );
    evil.description = Some("One.\nEND:VEVENT\nBEGIN:VEVENT\nUID:phantom\nSUMMARY:phantom".into());
    evil.status = Status::Cancelled;
    vec![summer, winter, evil]
}

fn vrp_sessions() -> Vec<Session> {
    let mut s = session(
        "vrp",
        "812345670033",
        "Trauma Informed Practice",
        Utc.with_ymd_and_hms(2027, 6, 15, 9, 0, 0).unwrap(),
    );
    s.availability = Availability::unpublished();
    s.online = true;
    s.venue = None;
    vec![s]
}

/// A partnership website's feed re-listing the summer session, worded
/// otherwise: merged into the booking site's entry, whose description then
/// names this listing.
fn website_sessions() -> Vec<Session> {
    let copy = sessions::session(
        "site",
        "90101",
        Utc.with_ymd_and_hms(2027, 7, 15, 8, 30, 0).unwrap(),
    )
    .titled("WSP - Understanding Neglect L2 (Online)")
    .booked_at("https://www.site.example/event/neglect-l2/");
    vec![copy]
}

fn website_source() -> SourceConfig {
    parse_source(
        Path::new("site.toml"),
        "id = \"site\"\nname = \"Site; \\\"calendar\\\"\"\nkind = \"ical\"\nurl = \"https://www.site.example/events/?ical=1\"\n",
    )
    .unwrap()
}

/// The store filled as crawls fill it, served on loopback; returns the feed.
async fn served_feed() -> (String, Vec<Session>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    let crawled = now() - Duration::hours(1);
    for (id, sessions) in [("wsp", wsp_sessions()), ("vrp", vrp_sessions())] {
        sessions::merge_crawl(&store, id, sessions, crawled);
    }
    // Seen after the booking site: its listing is folded into wsp's entry.
    sessions::merge_crawl(
        &store,
        "site",
        website_sessions(),
        crawled + Duration::minutes(5),
    );
    let sources = vec![
        source("wsp", "event-booking"),
        source("vrp", "eventbrite"),
        website_source(),
    ];
    let state = AppState::new(store.clone(), sources, server::fixed_clock(now()));
    let served = Served::start(state).await;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let body = body_text(client.get(served.url("/calendar.ics"))).await;
    let _ = served.shut_down().await;
    let mut all = wsp_sessions();
    all.extend(vrp_sessions());
    (body, all)
}

fn json(status: std::process::ExitStatus, out: &str, err: &str, what: &str) -> Value {
    assert!(
        status.success(),
        "{what} could not read the feed ({status}):\n{out}{err}"
    );
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{what} printed no JSON ({e}):\n{out}"))
}

/// libical: compiles `tests/libical/dump.c` against Debian's libical-dev.
fn libical(manifest: &Path, feed: &Path, work: &Path) -> Option<Value> {
    let cc = required(on_path("cc"), "a C compiler (cc)")?;
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "libical"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string());
    let flags = required(flags, "libical (Debian's libical-dev, with pkg-config)")?;
    let bin = work.join("libical-dump");
    let mut build = Command::new(cc);
    build
        .arg(manifest.join("tests/libical/dump.c"))
        .arg("-o")
        .arg(&bin)
        .args(flags.split_whitespace());
    let (status, out, err) = run_bounded(build, "cc tests/libical/dump.c", TOOL_TIMEOUT);
    assert!(
        status.success(),
        "tests/libical/dump.c does not build:\n{out}{err}"
    );
    let mut cmd = Command::new(&bin);
    cmd.arg(feed);
    let (status, out, err) = run_bounded(cmd, "libical", TOOL_TIMEOUT);
    Some(json(status, &out, &err, "libical"))
}

fn icaljs(manifest: &Path, feed: &Path) -> Option<Value> {
    let dir = manifest.join("tests/icaljs");
    required(
        dir.join("node_modules/ical.js").is_dir().then_some(()),
        "tests/icaljs/node_modules (run `npm ci` there)",
    )?;
    let node = required(on_path("node"), "node")?;
    let mut cmd = Command::new(node);
    cmd.arg(dir.join("dump.mjs")).arg(feed);
    let (status, out, err) = run_bounded(cmd, "ical.js", TOOL_TIMEOUT);
    Some(json(status, &out, &err, "ical.js"))
}

fn python(manifest: &Path, feed: &Path, package: &str) -> Option<Value> {
    let py = required(on_path("python3"), "python3")?;
    let mut cmd = Command::new(py);
    cmd.arg(manifest.join("tests/python/dump.py"))
        .arg(package)
        .arg(feed);
    let (status, out, err) = run_bounded(cmd, package, TOOL_TIMEOUT);
    if status.code() == Some(3) {
        required(
            None::<()>,
            &format!("Python's {package} (pip install -r tests/python/requirements.txt)"),
        )?;
    }
    Some(json(status, &out, &err, package))
}

#[tokio::test]
async fn every_parser_reads_the_same_calendar() {
    let (body, sessions) = served_feed().await;
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let work = tempfile::tempdir().unwrap();
    let feed_path = work.path().join("calendar.ics");
    std::fs::write(&feed_path, &body).unwrap();

    let mut read: Vec<(&str, Value)> = Vec::new();
    if let Some(v) = libical(manifest, &feed_path, work.path()) {
        read.push(("libical", v));
    }
    if let Some(v) = icaljs(manifest, &feed_path) {
        read.push(("ical.js", v));
    }
    for package in ["icalendar", "vobject"] {
        if let Some(v) = python(manifest, &feed_path, package) {
            read.push((package, v));
        }
    }
    if read.is_empty() {
        println!("calendar_clients: not run: no reader is installed");
        return;
    }

    // The name's words made plain for every client (the `;` dropped).
    let name = "Site \"calendar\" & vrp partnership & wsp partnership training";
    let mut want_events: Vec<Value> = sessions
        .iter()
        .map(|s| {
            serde_json::json!({
                "uid": s.uid().to_string(),
                "summary": feed::summary(s),
                "status": if s.status.is_off() { "CANCELLED" } else { "CONFIRMED" },
                "start": s.start.timestamp(),
                "end": s.end.timestamp(),
            })
        })
        .collect();
    want_events.sort_by_key(|e| e["uid"].as_str().unwrap().to_string());
    let (first_reader, first) = &read[0];
    for (reader, v) in &read {
        for key in ["name", "x_wr_calname"] {
            assert_eq!(v[key], name, "{reader}: {key}");
        }
        for key in ["description", "x_wr_caldesc"] {
            assert_eq!(v[key], FEED_DESCRIPTION, "{reader}: {key}");
        }
        let mut events: Vec<Value> = v["events"].as_array().unwrap().clone();
        events.sort_by_key(|e| e["uid"].as_str().unwrap().to_string());
        let core: Vec<Value> = events
            .iter()
            .map(|e| {
                serde_json::json!({
                    "uid": e["uid"], "summary": e["summary"], "status": e["status"],
                    "start": e["start"], "end": e["end"],
                })
            })
            .collect();
        assert_eq!(core, want_events, "{reader}: the events");
        // Descriptions and locations: as every other reader read them.
        let mut theirs: Vec<Value> = first["events"].as_array().unwrap().clone();
        theirs.sort_by_key(|e| e["uid"].as_str().unwrap().to_string());
        for (a, b) in events.iter().zip(&theirs) {
            for key in ["description", "location"] {
                assert_eq!(a[key], b[key], "{reader} and {first_reader}: {key}");
            }
        }
        println!(
            "calendar_clients: {reader} read {} events alike",
            events.len()
        );
    }
    for (reader, v) in &read {
        if *reader == "libical" {
            assert_eq!(
                v["errors"],
                serde_json::json!([]),
                "libical's restriction check"
            );
        }
        if *reader == "ical.js" {
            assert_eq!(v["naive_events"], sessions.len(), "a naive BEGIN…END scan");
        }
    }
    // The merged entry's description names the website's listing, alike
    // in every reader, and the website's own listing is no event.
    for (reader, v) in &read {
        let events = v["events"].as_array().unwrap();
        let summer = events
            .iter()
            .find(|e| e["uid"] == "wsp-1-1@events.safeguarding-training")
            .unwrap();
        assert!(
            summer["description"].as_str().unwrap().contains(
                "Also listed by Site; \"calendar\": https://www.site.example/event/neglect-l2/"
            ),
            "{reader}: {}",
            summer["description"]
        );
        assert!(events
            .iter()
            .all(|e| !e["uid"].as_str().unwrap().starts_with("site-")));
    }
    // The hostile description is one event's text, read whole.
    let evil = read[0].1["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["uid"] == "wsp-3-1@events.safeguarding-training")
        .unwrap()
        .clone();
    assert!(evil["description"]
        .as_str()
        .unwrap()
        .contains("END:\u{200D}VEVENT\nBEGIN:\u{200D}VEVENT\nUID:phantom"));
}
