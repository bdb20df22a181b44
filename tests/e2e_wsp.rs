//! End to end: the `events` binary crawls a replica of the WSP booking site on
//! loopback (the fixtures of tests/fixtures/wsp), then `upcoming --json` and `ics`
//! are checked against the fixtures' truth (tests/fixtures/wsp/README.md).

mod common;

use events::replica::{Replica, Site};
use serde_json::Value;
use std::process::Output;

const NOW: &str = "2026-12-01T09:00:00Z";
const LATER: &str = "2026-12-01T10:00:00Z";

struct Env {
    sources: tempfile::TempDir,
    data: tempfile::TempDir,
}

impl Env {
    fn new(base: &url::Url) -> Env {
        let sources = tempfile::tempdir().unwrap();
        common::write_wsp_source(sources.path(), base, 50);
        Env {
            sources,
            data: tempfile::tempdir().unwrap(),
        }
    }

    async fn run(&self, now: &str, args: &[&str]) -> Output {
        common::events(self.sources.path(), self.data.path(), now, None, args).await
    }
}

fn find<'a>(list: &'a [Value], uid: &str) -> &'a Value {
    list.iter()
        .find(|s| s["uid"] == uid)
        .unwrap_or_else(|| panic!("{uid} not in {list:#?}"))
}

fn uid(id: u32, key: u32) -> String {
    format!("wsp-{id}-{key}@events.safeguarding-training")
}

/// The events of a feed, parsed by the independent `ical` crate.
fn parse_ics(text: &str) -> Vec<ical::parser::ical::component::IcalEvent> {
    let cal = common::parse_one_calendar(text);
    let tzids: Vec<String> = cal
        .timezones
        .iter()
        .filter_map(|t| {
            t.properties
                .iter()
                .find(|p| p.name == "TZID")
                .and_then(|p| p.value.clone())
        })
        .collect();
    for e in &cal.events {
        for p in &e.properties {
            for (name, values) in p.params.iter().flatten() {
                if name == "TZID" {
                    assert!(tzids.contains(&values[0]), "no VTIMEZONE for {}", values[0]);
                }
            }
        }
    }
    cal.events
}

fn prop(e: &ical::parser::ical::component::IcalEvent, name: &str) -> Option<String> {
    e.properties
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.clone())
}

fn event<'a>(
    events: &'a [ical::parser::ical::component::IcalEvent],
    uid: &str,
) -> &'a ical::parser::ical::component::IcalEvent {
    events
        .iter()
        .find(|e| prop(e, "UID").as_deref() == Some(uid))
        .unwrap_or_else(|| panic!("{uid} not in feed"))
}

#[tokio::test(flavor = "multi_thread")]
async fn crawl_list_and_feed_then_a_second_crawl() {
    let site = Replica::start(Site::Wsp).await.unwrap();
    let env = Env::new(&site.base_url());

    let crawl = env.run(NOW, &["crawl"]).await;
    let out = common::stdout(&crawl);
    assert!(
        crawl.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&crawl.stderr)
    );
    assert!(
        out.contains("wsp: 12 sessions found, 12 new, 0 changed, 0 withdrawn, 1 error"),
        "{out}"
    );
    assert!(
        String::from_utf8_lossy(&crawl.stderr).contains("TBC"),
        "the skipped TBC row is warned about"
    );
    // Booking links are never requested.
    assert!(
        site.log().iter().all(|p| !p.contains("/book")),
        "{:?}",
        site.log()
    );
    assert_eq!(site.log()[0], "/robots.txt");

    let list = common::json_list(&env.run(NOW, &["upcoming", "--json"]).await);
    // 1007 is in the past: not upcoming.
    assert_eq!(list.len(), 11);
    let starts: Vec<&str> = list.iter().map(|s| s["start"].as_str().unwrap()).collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "soonest first");

    let s = find(&list, &uid(1006, 1));
    assert_eq!(
        s["title"],
        "Child Sexual Abuse: Recognising, Responding & Recording"
    );
    assert_eq!(
        s["start"], "2027-07-14T08:30:00Z",
        "a July 09:30 is 08:30 UTC"
    );
    assert_eq!(s["end"], "2027-07-14T15:30:00Z");
    assert_eq!(s["spaces_left"], 8);
    assert_eq!(s["status"], "scheduled");
    assert_eq!(s["online"], false);
    assert_eq!(s["source"], "wsp");
    assert_eq!(s["sequence"], 0);

    let gmt = find(&list, &uid(1005, 1));
    assert_eq!(
        gmt["start"], "2027-01-12T09:30:00Z",
        "a January 09:30 is 09:30 UTC"
    );
    assert_eq!(gmt["spaces_left"], 12);
    assert_eq!(gmt["capacity"], 20);
    assert_eq!(
        gmt["prerequisites"],
        "You MUST complete Level 1 and Level 2 first"
    );
    // The three-day course is three sessions.
    assert_eq!(find(&list, &uid(1005, 2))["start"], "2027-01-19T09:30:00Z");
    assert_eq!(find(&list, &uid(1005, 3))["location"], "Virtual - MS Teams");
    assert_eq!(find(&list, &uid(1005, 3))["online"], true);
    assert!(
        list.iter().all(|s| s["uid"] != uid(1005, 4)),
        "the TBC row is skipped"
    );

    let full = find(&list, &uid(1004, 1));
    assert_eq!(full["status"], "full");
    assert_eq!(full["waitlist"], true);
    assert_eq!(find(&list, &uid(1008, 1))["status"], "cancelled");
    assert_eq!(find(&list, &uid(1002, 1))["spaces_left"], 2);
    assert_eq!(find(&list, &uid(1003, 1))["spaces_left"], 1);
    assert_eq!(
        find(&list, &uid(1001, 1))["url"],
        format!("{}events/1001", site.base_url())
    );

    let available = common::json_list(&env.run(NOW, &["upcoming", "--json", "--available"]).await);
    assert!(available
        .iter()
        .all(|s| s["status"] == "scheduled" && s["spaces_left"] != 0));
    assert!(available.iter().all(|s| s["uid"] != uid(1004, 1)));
    let neglect = common::json_list(
        &env.run(
            NOW,
            &["upcoming", "--json", "--search", "understanding neglect"],
        )
        .await,
    );
    assert_eq!(neglect.len(), 4);

    let table = common::stdout(&env.run(NOW, &["upcoming"]).await);
    assert!(
        table.contains("FULL") && table.contains("CANCELLED") && table.contains("12 places"),
        "{table}"
    );

    let ics = common::stdout(&env.run(NOW, &["ics"]).await);
    assert_eq!(
        ics,
        common::stdout(&env.run(NOW, &["ics"]).await),
        "the same store gives the same bytes"
    );
    let events = parse_ics(&ics);
    assert_eq!(events.len(), 12, "11 upcoming and 1 of the last 30 days");
    // A session of the last 30 days stays in the feed, here one whose booking closed.
    let closed = event(&events, &uid(1007, 1));
    assert!(prop(closed, "SUMMARY").unwrap().ends_with("(CLOSED)"));
    assert_eq!(prop(closed, "DTSTART").as_deref(), Some("20261118T120000"));
    let july = event(&events, &uid(1006, 1));
    assert_eq!(prop(july, "DTSTART").as_deref(), Some("20270714T093000"));
    assert_eq!(prop(july, "TRANSP").as_deref(), Some("TRANSPARENT"));
    assert!(prop(july, "SUMMARY").unwrap().ends_with("(8 places)"));
    assert!(prop(event(&events, &uid(1004, 1)), "SUMMARY")
        .unwrap()
        .contains("FULL"));
    assert_eq!(
        prop(event(&events, &uid(1008, 1)), "STATUS").as_deref(),
        Some("CANCELLED")
    );
    assert!(!ics.contains("METHOD:") && ics.contains("X-PUBLISHED-TTL:PT1H\r\n"));

    // An unchanged poll: robots.txt and listings come back 304, detail pages are
    // not asked for.
    let before = (site.requests(), site.not_modified());
    let again = env.run(LATER, &["crawl"]).await;
    assert!(again.status.success());
    assert!(
        common::stdout(&again).contains("12 sessions found, 0 new, 0 changed, 0 withdrawn"),
        "{}",
        common::stdout(&again)
    );
    let made = site.requests() - before.0;
    let not_modified = site.not_modified() - before.1;
    let asked = &site.log()[before.0 as usize..];
    assert_eq!(asked[0], "/robots.txt", "robots.txt read again first");
    assert_eq!(
        not_modified, made,
        "everything, robots.txt included, was a 304: {asked:?}"
    );
    let health = common::stdout(&env.run(LATER, &["sources", "--json"]).await);
    let health: Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health[0]["not_modified"], not_modified);
    assert_eq!(health[0]["healthy"], true);

    // The organiser moves 1002, cancels 1003, removes 1009, adds 1011, and
    // places change on 1004, 1006 and 1010.
    site.second_crawl();
    let second = env.run("2026-12-01T11:00:00Z", &["crawl"]).await;
    let out = common::stdout(&second);
    assert!(second.status.success(), "{out}");
    assert!(
        out.contains("12 sessions found, 1 new, 5 changed, 1 withdrawn"),
        "{out}"
    );
    let list = common::json_list(
        &env.run("2026-12-01T11:00:00Z", &["upcoming", "--json"])
            .await,
    );
    let moved = find(&list, &uid(1002, 1));
    assert_eq!(moved["start"], "2027-04-23T12:30:00Z");
    assert_eq!(moved["sequence"], 1);
    let cancelled = find(&list, &uid(1003, 1));
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["sequence"], 1);
    // A withdrawn session is listed as such, not left out as if it never existed.
    let withdrawn = find(&list, &uid(1009, 1));
    assert_eq!(withdrawn["status"], "withdrawn");
    assert_eq!(withdrawn["places"], "WITHDRAWN");
    let table = common::stdout(&env.run("2026-12-01T11:00:00Z", &["upcoming"]).await);
    assert!(table.lines().any(|l| l.ends_with("WITHDRAWN")), "{table}");
    // It has no places, so `--available` leaves it out.
    let available = common::json_list(
        &env.run(
            "2026-12-01T11:00:00Z",
            &["upcoming", "--available", "--json"],
        )
        .await,
    );
    assert!(!available.is_empty());
    assert!(available.iter().all(|s| s["uid"] != uid(1009, 1)));
    assert_eq!(find(&list, &uid(1001, 1))["sequence"], 0);

    let events = parse_ics(&common::stdout(
        &env.run("2026-12-01T11:00:00Z", &["ics"]).await,
    ));
    let gone = event(&events, &uid(1009, 1));
    assert_eq!(prop(gone, "STATUS").as_deref(), Some("CANCELLED"));
    assert_eq!(prop(gone, "SEQUENCE").as_deref(), Some("1"));
    let moved = event(&events, &uid(1002, 1));
    assert_eq!(prop(moved, "DTSTART").as_deref(), Some("20270423T133000"));
    assert_eq!(prop(moved, "SEQUENCE").as_deref(), Some("1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_outage_keeps_the_calendar_and_exits_1() {
    let site = Replica::start(Site::Wsp).await.unwrap();
    let env = Env::new(&site.base_url());
    assert!(env.run(NOW, &["crawl"]).await.status.success());
    let ics_before = common::stdout(&env.run(NOW, &["ics"]).await);

    // The site now answers with a page that holds no events (an outage page).
    drop(site);
    let outage = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_string(
            "<html><body><h1>Down for maintenance</h1><p>Please come back later.</p></body></html>",
        ))
        .mount(&outage)
        .await;
    let env2 = Env {
        sources: Env::new(&url::Url::parse(&outage.uri()).unwrap()).sources,
        data: env.data,
    };
    let crawl = env2.run(LATER, &["crawl"]).await;
    assert_eq!(crawl.status.code(), Some(1));
    let out = common::stdout(&crawl);
    assert!(
        out.contains("wsp: FAILED") && out.contains("kept the previous data"),
        "{out}"
    );
    assert_eq!(common::stdout(&env2.run(NOW, &["ics"]).await), ics_before);
    let health: Value = serde_json::from_str(&common::stdout(
        &env2.run(LATER, &["sources", "--json"]).await,
    ))
    .unwrap();
    assert_eq!(health[0]["healthy"], false);
    assert_eq!(health[0]["consecutive_failures"], 1);
    assert_eq!(
        health[0]["error_kind"], "refused",
        "the outage guard's kind"
    );

    // A site that cannot be reached at all is a failure too, with the same guarantee.
    let dead = format!("http://127.0.0.1:{}", common::servers::closed_port());
    let env3 = Env {
        sources: Env::new(&url::Url::parse(&dead).unwrap()).sources,
        data: env2.data,
    };
    let crawl = env3.run(LATER, &["crawl"]).await;
    assert_eq!(crawl.status.code(), Some(1));
    assert_eq!(common::stdout(&env3.run(NOW, &["ics"]).await), ics_before);
    let health: Value = serde_json::from_str(&common::stdout(
        &env3.run(LATER, &["sources", "--json"]).await,
    ))
    .unwrap();
    assert_eq!(health[0]["error_kind"], "network", "{health}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_ends_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.toml"),
        "id = \"Bad Id\"\nname = \"x\"\nkind = \"event-booking\"\nbase_url = \"https://x.org\"\n",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let o = common::events(dir.path(), data.path(), NOW, None, &["crawl"]).await;
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.toml:1: field `id`"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );

    let o = common::events(
        dir.path(),
        &data.path().join("none"),
        NOW,
        None,
        &["upcoming"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("run `events crawl` first"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// A crawl that reaches a limit says so (in the crawl line, the exit code,
/// `sources` and `/api/sources`), keeps what it read and withdraws nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_limit_reached_is_an_error_and_withdraws_nothing() {
    let replica = Replica::start(Site::Wsp).await.unwrap();
    let env = Env::new(&replica.base_url());
    let first = env.run(NOW, &["crawl"]).await;
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    let before = common::json_list(&env.run(NOW, &["upcoming", "--json"]).await);
    assert!(
        before.iter().any(|s| s["uid"] == uid(1010, 1)),
        "page 2 was read"
    );

    // Now only one listing page may be read: page 2's events are not seen.
    let file = env.sources.path().join("wsp.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\n[limits]\nmax_pages = 1\n")).unwrap();
    let second = env.run(LATER, &["crawl"]).await;
    let line = common::stdout(&second);
    assert_eq!(
        second.status.code(),
        Some(1),
        "a limit is an error: {second:?}"
    );
    assert!(line.contains("INCOMPLETE"), "{line}");
    assert!(line.contains("0 withdrawn"), "{line}");
    assert!(line.contains("limits.max_pages"), "{line}");

    let after = common::json_list(&env.run(LATER, &["upcoming", "--json"]).await);
    assert_eq!(
        after.len(),
        before.len(),
        "nothing withdrawn or lost: {after:#?}"
    );
    assert_eq!(find(&after, &uid(1010, 1))["status"], "scheduled");

    let sources = env.run(LATER, &["sources", "--json"]).await;
    let health = common::stdout(&sources);
    assert!(health.contains("limits.max_pages"), "{health}");
}

/// Detail pages count against `limits.max_event_pages`: with 3, a crawl of
/// the ten-event site asks for three detail pages, stores what it read, and
/// reports the limit (exit 1) in the crawl line and `sources`.
#[tokio::test(flavor = "multi_thread")]
async fn detail_pages_count_against_max_event_pages() {
    let replica = Replica::start(Site::Wsp).await.unwrap();
    let env = Env::new(&replica.base_url());
    let file = env.sources.path().join("wsp.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, format!("{text}\n[limits]\nmax_event_pages = 3\n")).unwrap();
    let crawl = env.run(NOW, &["crawl"]).await;
    let line = common::stdout(&crawl);
    assert_eq!(crawl.status.code(), Some(1), "{crawl:?}");
    assert!(line.contains("INCOMPLETE"), "{line}");
    assert!(line.contains("stopped at 3 detail pages"), "{line}");
    assert!(line.contains("limits.max_event_pages"), "{line}");
    let details = replica
        .log()
        .iter()
        .filter(|p| p.starts_with("/events/") && !p.contains("list"))
        .count();
    assert_eq!(details, 3, "{:?}", replica.log());
    let stored = common::json_list(&env.run(NOW, &["upcoming", "--json"]).await);
    assert!(!stored.is_empty(), "what was read is stored");
    let health = common::stdout(&env.run(NOW, &["sources"]).await);
    assert!(health.contains("limits.max_event_pages"), "{health}");
}
