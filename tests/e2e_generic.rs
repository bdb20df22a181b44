//! End to end: the `events` binary crawls replicas of a partnership website
//! (its events plugin's iCalendar feed, kind `ical`, and its event pages with
//! schema.org JSON-LD, kind `schema-org`) twice, with the site changed in
//! between: an occurrence moves (same UID, new time), an event vanishes
//! (withdrawn, cancelled in the calendar). Fixtures: tests/fixtures/ical and
//! tests/fixtures/schema-org (truth tables in their READMEs).

mod common;

use events::model::{SessionKey, Uid};
use events::replica::{Replica, Site, ICAL_FEED_PATH};
use serde_json::Value;
use std::path::Path;

const WEEKLY: &str = "10101-1799235000-1799245800@www.walsallsafeguarding.example";
const TEAMS: &str = "040000008200E00074C5B7101A82E00800000000B0C3F2D1@walsall.example";
const DAY: &str = "10102-1805068800-1805155199@www.walsallsafeguarding.example";

fn uid(source: &str, event: &str, key: &str) -> String {
    Uid::derive(source, event, &SessionKey::new(key)).0
}

fn write_sources(dir: &Path, feed: &url::Url, pages: &url::Url) {
    std::fs::write(
        dir.join("site-calendar.toml"),
        format!("id = \"site-calendar\"\nname = \"Site calendar\"\nkind = \"ical\"\nurl = \"{feed}\"\nrequests_per_second = 50\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("site-events.toml"),
        format!("id = \"site-events\"\nname = \"Site events\"\nkind = \"schema-org\"\nbase_url = \"{pages}\"\nlisting = \"/events/\"\nevent_path = '^/event/[^/]+/?$'\nrequests_per_second = 50\n"),
    )
    .unwrap();
}

fn find<'a>(list: &'a [Value], uid: &str) -> &'a Value {
    list.iter()
        .find(|s| s["uid"] == uid)
        .unwrap_or_else(|| panic!("{uid} not in {list:#?}"))
}

/// The unfolded lines of the VEVENT with this UID.
fn vevent(ics: &str, uid: &str) -> Vec<String> {
    let unfolded = ics.replace("\r\n ", "").replace("\r\n", "\n");
    let mut out = Vec::new();
    for block in unfolded.split("BEGIN:VEVENT").skip(1) {
        let lines: Vec<String> = block
            .lines()
            .take_while(|l| *l != "END:VEVENT")
            .map(str::to_string)
            .collect();
        if lines.iter().any(|l| l == &format!("UID:{uid}")) {
            out = lines;
        }
    }
    assert!(!out.is_empty(), "no VEVENT {uid}");
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn both_generic_kinds_crawled_twice_with_a_change_between() {
    let cal = Replica::start(Site::Ical).await.unwrap();
    let pages = Replica::start(Site::SchemaOrg).await.unwrap();
    let sources = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_sources(
        sources.path(),
        &cal.base_url().join(ICAL_FEED_PATH).unwrap(),
        &pages.base_url(),
    );
    let now = "2026-12-01T09:00:00Z";
    let run = |args: &'static [&'static str], now: &'static str| {
        let (s, d) = (sources.path().to_path_buf(), data.path().to_path_buf());
        async move { common::events(&s, &d, now, None, args).await }
    };

    let first = run(&["crawl"], now).await;
    let out = common::stdout(&first);
    assert!(
        first.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        out.contains("site-calendar: 8 sessions found, 8 new, 0 changed, 0 withdrawn, 1 error"),
        "{out}"
    );
    assert!(
        out.contains("site-events: 7 sessions found, 7 new, 0 changed, 0 withdrawn, 0 errors"),
        "{out}"
    );
    // Only the listing pages and the five event pages the listing does not embed.
    let log = pages.log();
    assert!(
        log.iter().all(|p| p != "/event/safer-recruitment/"),
        "an event embedded whole is not fetched: {log:?}"
    );
    assert!(log.iter().all(|p| p != "/about/"), "{log:?}");

    let list = common::json_list(&run(&["upcoming", "--json"], now).await);
    let moved_before = find(&list, &uid("site-calendar", WEEKLY, "20270113T093000Z"));
    assert_eq!(moved_before["start"], "2027-01-13T09:30:00Z");
    let together = find(&list, &uid("site-events", "/event/working-together/", "1"));
    assert_eq!(together["start"], "2027-01-20T09:30:00Z");
    assert_eq!(together["spaces_left"], 14);
    let full = find(&list, &uid("site-events", "/event/neglect-level-2/", "1"));
    assert_eq!(full["status"], "full");

    let ics = common::stdout(&run(&["ics"], now).await);
    let day = vevent(&ics, &uid("site-calendar", DAY, "1"));
    assert!(
        day.contains(&"DTSTART;VALUE=DATE:20270315".to_string()),
        "{day:?}"
    );
    assert!(
        day.contains(&"DTEND;VALUE=DATE:20270316".to_string()),
        "{day:?}"
    );

    // The site changes: one weekly occurrence moves, the Teams briefing leaves
    // the feed, one event page moves and another leaves the listing.
    cal.second_crawl();
    pages.second_crawl();
    let later = "2026-12-01T11:00:00Z";
    let second = run(&["crawl"], later).await;
    let out = common::stdout(&second);
    assert!(second.status.success(), "{out}");
    assert!(
        out.contains("site-calendar: 7 sessions found, 0 new, 1 changed, 1 withdrawn"),
        "{out}"
    );
    assert!(
        out.contains("site-events: 6 sessions found, 0 new, 1 changed, 1 withdrawn"),
        "{out}"
    );
    let list = common::json_list(&run(&["upcoming", "--json"], later).await);
    let moved = find(&list, &uid("site-calendar", WEEKLY, "20270113T093000Z"));
    assert_eq!(moved["start"], "2027-01-13T14:00:00Z");
    assert_eq!(moved["sequence"], 1);
    let together = find(&list, &uid("site-events", "/event/working-together/", "1"));
    assert_eq!(together["start"], "2027-01-27T09:30:00Z");
    for gone in [
        uid("site-calendar", TEAMS, "1"),
        uid("site-events", "/event/neglect-level-2/", "1"),
    ] {
        // Listed as withdrawn, not dropped.
        assert_eq!(find(&list, &gone)["status"], "withdrawn", "{gone}");
        let ics = common::stdout(&run(&["ics"], later).await);
        let ev = vevent(&ics, &gone);
        assert!(ev.contains(&"STATUS:CANCELLED".to_string()), "{ev:?}");
    }
}
