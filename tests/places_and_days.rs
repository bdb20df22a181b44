//! What each output says of places a source never published, and of all-day
//! sessions: the `events` binary crawls a partnership's calendar feed (kind
//! `ical`) and its listing page with schema.org JSON-LD (kind `schema-org`),
//! served on loopback, with the clock frozen; then the terminal table, the
//! JSON, the calendar, and the server's page and API are read, with and
//! without "only with places".

mod common;

use common::servers::Served;
use common::web;
use events::model::{SessionKey, Uid};
use events::server::{self, AppState};
use events::store::Store;
use serde_json::Value;
use std::path::Path;
use wiremock::{MockServer, ResponseTemplate};

const NOW: &str = "2027-03-01T09:00:00Z";

/// A calendar feed, as a CMS events plugin writes it: no word on places.
/// 1 March 2027 is a Monday; every date is GMT.
const FEED: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Partnership//Events//EN\r\n\
BEGIN:VEVENT\r\nUID:timed@partnership.test\r\nDTSTAMP:20270101T000000Z\r\n\
DTSTART:20270302T100000Z\r\nDTEND:20270302T120000Z\r\nSUMMARY:Timed Briefing\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:one-day@partnership.test\r\nDTSTAMP:20270101T000000Z\r\n\
DTSTART;VALUE=DATE:20270303\r\nDTEND;VALUE=DATE:20270304\r\nSUMMARY:One Day Conference\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:three-days@partnership.test\r\nDTSTAMP:20270101T000000Z\r\n\
DTSTART;VALUE=DATE:20270310\r\nDTEND;VALUE=DATE:20270313\r\nSUMMARY:Three Day Course\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n";

/// The site's listing with its events given whole in JSON-LD: one with a
/// count of places, one that says nothing of places, one a date without times.
const LISTING: &str = r#"<!doctype html><html><head><title>Events</title>
<script type="application/ld+json">[
 {"@context":"https://schema.org","@type":"Event","name":"Counted Workshop",
  "url":"/event/counted/","startDate":"2027-03-04T10:00:00+00:00","endDate":"2027-03-04T12:00:00+00:00",
  "remainingAttendeeCapacity":5,
  "offers":{"@type":"Offer","availability":"https://schema.org/InStock"}},
 {"@context":"https://schema.org","@type":"Event","name":"Quiet Seminar",
  "url":"/event/quiet/","startDate":"2027-03-05T10:00:00+00:00","endDate":"2027-03-05T12:00:00+00:00"},
 {"@context":"https://schema.org","@type":"Event","name":"Awareness Day",
  "url":"/event/awareness/","startDate":"2027-03-08","endDate":"2027-03-08"}
]</script></head><body><h1>Events</h1></body></html>"#;

async fn site() -> MockServer {
    web::site(
        [
            ("/robots.txt", "", "text/plain"),
            ("/feed.ics", FEED, "text/calendar"),
            ("/events/", LISTING, "text/html; charset=utf-8"),
        ]
        .map(|(p, body, kind)| {
            (
                p,
                ResponseTemplate::new(200)
                    .insert_header("content-type", kind)
                    .set_body_string(body),
            )
        }),
    )
    .await
}

fn write_sources(dir: &Path, base: &str) {
    std::fs::write(
        dir.join("calendar.toml"),
        format!("id = \"calendar\"\nname = \"Calendar\"\nkind = \"ical\"\nurl = \"{base}/feed.ics\"\nrequests_per_second = 50\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("pages.toml"),
        format!("id = \"pages\"\nname = \"Pages\"\nkind = \"schema-org\"\nbase_url = \"{base}\"\nlisting = \"/events/\"\nrequests_per_second = 50\n"),
    )
    .unwrap();
}

fn ical_uid(uid: &str) -> String {
    Uid::derive("calendar", uid, &SessionKey::nth(1)).0
}

fn by_title<'a>(list: &'a [Value], title: &str) -> &'a Value {
    list.iter()
        .find(|s| s["title"] == title)
        .unwrap_or_else(|| panic!("{title} not in {list:#?}"))
}

fn titles(list: &[Value]) -> Vec<&str> {
    list.iter().filter_map(|s| s["title"].as_str()).collect()
}

/// The table row that names `title`.
fn row<'a>(table: &'a str, title: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.contains(title))
        .unwrap_or_else(|| panic!("{title} not in\n{table}"))
}

/// The unfolded lines of the VEVENT whose SUMMARY starts with `title`.
fn vevent(ics: &str, title: &str) -> Vec<String> {
    let unfolded = ics.replace("\r\n ", "").replace("\r\n", "\n");
    unfolded
        .split("BEGIN:VEVENT")
        .skip(1)
        .map(|b| {
            b.lines()
                .take_while(|l| *l != "END:VEVENT")
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .find(|lines| {
            lines
                .iter()
                .any(|l| l.starts_with(&format!("SUMMARY:{title}")))
        })
        .unwrap_or_else(|| panic!("no VEVENT {title} in {ics}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn places_not_published_and_all_day_sessions_in_every_output() {
    let site = site().await;
    let sources = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    write_sources(sources.path(), &site.uri());
    let run = |args: &'static [&'static str]| {
        let (s, d) = (sources.path().to_path_buf(), data.path().to_path_buf());
        async move { common::events(&s, &d, NOW, None, args).await }
    };
    let crawl = run(&["crawl"]).await;
    let out = common::stdout(&crawl);
    assert!(
        crawl.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&crawl.stderr)
    );
    assert!(out.contains("calendar: 3 sessions found"), "{out}");
    assert!(out.contains("pages: 3 sessions found"), "{out}");

    // The terminal table.
    let table = common::stdout(&run(&["upcoming"]).await);
    for quiet in ["Timed Briefing", "Quiet Seminar", "One Day Conference"] {
        assert!(
            row(&table, quiet).ends_with("places not published"),
            "{table}"
        );
    }
    assert!(
        row(&table, "Counted Workshop").ends_with("5 places"),
        "{table}"
    );
    assert!(!table.contains("places available"), "{table}");
    assert!(
        row(&table, "Timed Briefing").contains("10:00-12:00"),
        "{table}"
    );
    let one_day = row(&table, "One Day Conference");
    assert!(one_day.starts_with("Wed 03 Mar 2027  all day "), "{table}");
    assert!(!one_day.contains("00:00"), "{table}");
    assert!(
        row(&table, "Three Day Course").starts_with("Wed 10 Mar 2027  all day to Fri 12 Mar "),
        "{table}"
    );
    assert!(
        row(&table, "Awareness Day").starts_with("Mon 08 Mar 2027  all day "),
        "{table}"
    );
    // Only sessions a source said have places left.
    let available = common::stdout(&run(&["upcoming", "--available"]).await);
    assert_eq!(available.lines().count(), 2, "{available}");
    assert!(available.contains("Counted Workshop"), "{available}");

    // The JSON.
    let list = common::json_list(&run(&["upcoming", "--json"]).await);
    assert_eq!(list.len(), 6);
    let timed = by_title(&list, "Timed Briefing");
    assert_eq!(timed["uid"], ical_uid("timed@partnership.test"));
    assert_eq!(timed["availability"], "not-published");
    assert_eq!(timed["places"], "places not published");
    assert_eq!(timed["spaces_left"], Value::Null);
    assert_eq!(timed["all_day"], false);
    assert_eq!(
        by_title(&list, "Quiet Seminar")["availability"],
        "not-published"
    );
    let counted = by_title(&list, "Counted Workshop");
    assert_eq!(counted["availability"], "number");
    assert_eq!(counted["spaces_left"], 5);
    let three = by_title(&list, "Three Day Course");
    assert_eq!(three["all_day"], true);
    assert_eq!(three["start"], "2027-03-10T00:00:00Z");
    assert_eq!(three["end"], "2027-03-13T00:00:00Z");
    assert_eq!(by_title(&list, "Awareness Day")["all_day"], true);
    let only = common::json_list(&run(&["upcoming", "--available", "--json"]).await);
    assert_eq!(titles(&only), ["Counted Workshop"]);

    // The calendar.
    let ics = common::stdout(&run(&["ics"]).await);
    let timed = vevent(&ics, "Timed Briefing");
    assert!(
        timed.contains(&"SUMMARY:Timed Briefing (places not published)".to_string()),
        "{timed:?}"
    );
    assert!(
        timed.iter().any(|l| l.starts_with(
            "DESCRIPTION:The booking site does not publish how many places are left."
        )),
        "{timed:?}"
    );
    assert!(!ics.contains("places available"), "{ics}");
    assert!(!ics.contains("Places available"), "{ics}");
    let quiet = vevent(&ics, "Quiet Seminar");
    assert!(
        quiet.contains(&"SUMMARY:Quiet Seminar (places not published)".to_string()),
        "{quiet:?}"
    );

    // The server: the page and the API, with and without the filter.
    let store = Store::open(data.path()).unwrap();
    let config = events::config::load_dir(sources.path()).unwrap();
    let now = common::utc(NOW);
    let state = AppState::new(store, config, server::fixed_clock(now));
    let served = Served::start(state).await;
    let base = served.base.clone();
    let get = |p: &str| {
        let url = format!("{base}{p}");
        async move {
            let r = reqwest::get(&url).await.unwrap();
            assert!(r.status().is_success(), "{url}: {}", r.status());
            r.text().await.unwrap()
        }
    };
    let page = get("/").await;
    // Every session but the counted one: three from the feed, two from the pages.
    assert_eq!(page.matches("places not published").count(), 5, "{page}");
    assert!(!page.contains("places available"), "{page}");
    assert!(page.contains("Wednesday 3 March 2027, all day"), "{page}");
    assert!(
        page.contains("Wednesday 10 – Friday 12 March 2027, all day"),
        "{page}"
    );
    assert!(page.contains("Monday 8 March 2027, all day"), "{page}");
    assert!(page.contains(r#"datetime="2027-03-03""#), "{page}");
    // No midnight shown as a time (`+00:00` offsets in `datetime` aside).
    assert!(!page.contains(", 00:00"), "{page}");
    assert!(!page.contains("00:00 GMT"), "{page}");
    assert!(
        page.contains("Tuesday 2 March 2027, 10:00–12:00 GMT"),
        "{page}"
    );
    let page = get("/?available=1").await;
    assert!(page.contains("Counted Workshop"), "{page}");
    for left_out in ["Timed Briefing", "Quiet Seminar", "One Day Conference"] {
        assert!(!page.contains(left_out), "{left_out} in {page}");
    }
    let api: Vec<Value> = serde_json::from_str(&get("/api/sessions").await).unwrap();
    assert_eq!(api.len(), 6);
    assert_eq!(by_title(&api, "One Day Conference")["all_day"], true);
    assert_eq!(
        by_title(&api, "One Day Conference")["availability"],
        "not-published"
    );
    let api: Vec<Value> = serde_json::from_str(&get("/api/sessions?available=1").await).unwrap();
    assert_eq!(titles(&api), ["Counted Workshop"]);
    served.stop().await;
}
