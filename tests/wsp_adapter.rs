//! The `event-booking` adapter against the WSP fixtures in `tests/fixtures/wsp/`
//! (their truth table is that directory's README.md), with a frozen clock.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use events::config;
use events::model::{Availability, Course, Session, SessionKey, Status};
use events::platforms::event_booking::EventBookingConfig;
use events::platforms::event_booking::{
    detail_url, event_id_from_url, is_booking_url, listing_url, parse_detail, parse_elearning,
    parse_listing, ListingPage,
};
use events::platforms::SourceContext;
use std::path::{Path, PathBuf};
use url::Url;

const BASE: &str = "https://walsall.event-booking.org.uk";

fn ctx() -> SourceContext {
    SourceContext {
        source_id: "wsp".into(),
        timezone: chrono_tz::Europe::London,
        now: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        probe: Default::default(),
    }
}

fn cfg() -> EventBookingConfig {
    EventBookingConfig::default()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wsp")
}

fn fixture(name: &str) -> String {
    let p = fixtures().join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn url(path: &str) -> Url {
    Url::parse(&format!("{BASE}{path}")).unwrap()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn listing(file: &str, path: &str) -> ListingPage {
    parse_listing(&fixture(file), &url(path), &cfg(), &ctx()).unwrap()
}

/// Sessions of `/events/<id>` from the first crawl (`dir = ""`) or `second/`.
fn detail(dir: &str, id: u32) -> Vec<Session> {
    let html = fixture(&format!("{dir}events_{id}.html"));
    parse_detail(&html, &url(&format!("/events/{id}")), &cfg(), &ctx()).unwrap()
}

/// One row of the README's truth table.
struct Expect {
    id: &'static str,
    key: usize,
    title: &'static str,
    category: Option<&'static str>,
    level: Option<&'static str>,
    prerequisites: Option<&'static str>,
    start: &'static str,
    end: &'static str,
    venue: &'static str,
    online: bool,
    status: Status,
    spaces: Option<u32>,
    capacity: Option<u32>,
    waitlist: bool,
}

const NEGLECT: &str = "Understanding Neglect Level 2";
const L1_FIRST: &str = "You MUST complete Level 1 first";
const GCP2: &str =
    "“Graded Care Profile 2 (GCP2)” Level 3 – Practitioners & Managers; Assessing Neglect";
const COUNCIL_HOUSE: &str = "Walsall Council House, Lichfield Street, Walsall, WS1 1TP";

fn truth() -> Vec<Expect> {
    use Status::*;
    let neglect = |id, start, end, venue, online, status, spaces, waitlist| Expect {
        id,
        key: 1,
        title: NEGLECT,
        category: Some("Child Neglect"),
        level: Some("Level 2"),
        prerequisites: Some(L1_FIRST),
        start,
        end,
        venue,
        online,
        status,
        spaces,
        capacity: None,
        waitlist,
    };
    let gcp2 = |key, start, end, venue, online| Expect {
        id: "1005",
        key,
        title: GCP2,
        category: Some("Child Neglect"),
        level: Some("Level 3"),
        prerequisites: Some("You MUST complete Level 1 and Level 2 first"),
        start,
        end,
        venue,
        online,
        status: Scheduled,
        spaces: Some(12),
        capacity: Some(20),
        waitlist: false,
    };
    vec![
        neglect(
            "1001",
            "2027-04-09T08:30:00Z",
            "2027-04-09T11:30:00Z",
            "Virtual - MS Teams",
            true,
            Scheduled,
            Some(12),
            false,
        ),
        neglect(
            "1002",
            "2027-04-23T08:30:00Z",
            "2027-04-23T11:30:00Z",
            COUNCIL_HOUSE,
            false,
            Scheduled,
            Some(2),
            false,
        ),
        neglect(
            "1003",
            "2027-05-06T09:00:00Z",
            "2027-05-06T12:00:00Z",
            "Online (Zoom)",
            true,
            Scheduled,
            Some(1),
            false,
        ),
        neglect(
            "1004",
            "2027-05-13T08:30:00Z",
            "2027-05-13T11:30:00Z",
            "Blakenall Village Centre, Thames Road, Blakenall, Walsall, WS3 1LZ",
            false,
            Full,
            Some(0),
            true,
        ),
        gcp2(
            1,
            "2027-01-12T09:30:00Z",
            "2027-01-12T16:30:00Z",
            COUNCIL_HOUSE,
            false,
        ),
        gcp2(
            2,
            "2027-01-19T09:30:00Z",
            "2027-01-19T16:30:00Z",
            COUNCIL_HOUSE,
            false,
        ),
        gcp2(
            3,
            "2027-01-26T09:30:00Z",
            "2027-01-26T12:30:00Z",
            "Virtual - MS Teams",
            true,
        ),
        Expect {
            id: "1006",
            key: 1,
            title: "Child Sexual Abuse: Recognising, Responding & Recording",
            category: Some("Child Sexual Abuse"),
            level: None,
            prerequisites: None,
            start: "2027-07-14T08:30:00Z",
            end: "2027-07-14T15:30:00Z",
            venue: "Saddlers Centre, Park Street, Walsall, WS1 1YS",
            online: false,
            status: Scheduled,
            spaces: Some(8),
            capacity: None,
            waitlist: false,
        },
        Expect {
            id: "1007",
            key: 1,
            title: "Self-Neglect & Hoarding: Café Conversation",
            category: Some("Self-Neglect and Hoarding"),
            level: Some("Level 1"),
            prerequisites: None,
            start: "2026-11-18T12:00:00Z",
            end: "2026-11-18T13:30:00Z",
            venue: "Online (Zoom)",
            online: true,
            status: Closed,
            spaces: None,
            capacity: None,
            waitlist: false,
        },
        Expect {
            id: "1008",
            key: 1,
            title: "All-Age Exploitation; County Lines, Cuckooing & \"Mate Crime\"",
            category: Some("All-Age Exploitation"),
            level: Some("Level 2"),
            prerequisites: None,
            start: "2027-03-09T10:00:00Z",
            end: "2027-03-09T13:00:00Z",
            venue: "Virtual - MS Teams",
            online: true,
            status: Cancelled,
            spaces: None,
            capacity: None,
            waitlist: false,
        },
        Expect {
            id: "1009",
            key: 1,
            title: "Think Family: Parental Mental Health, Substance Misuse & Domestic Abuse",
            category: Some("Think Family"),
            level: None,
            prerequisites: None,
            start: "2027-09-16T08:30:00Z",
            end: "2027-09-16T11:00:00Z",
            venue: "Online (Zoom)",
            online: true,
            status: Scheduled,
            spaces: Some(15),
            capacity: None,
            waitlist: false,
        },
        Expect {
            id: "1010",
            key: 1,
            title: "Online Safety <script>alert('xss')</script> for Practitioners",
            category: Some("All-Age Exploitation"),
            level: None,
            prerequisites: None,
            start: "2027-10-20T13:00:00Z",
            end: "2027-10-20T14:30:00Z",
            venue: "Virtual - MS Teams",
            online: true,
            status: Scheduled,
            spaces: Some(30),
            capacity: None,
            waitlist: false,
        },
    ]
}

/// Checks every field a session shares between the listing and the detail page.
fn assert_shared(s: &Session, e: &Expect, what: &str) {
    let at = format!("{what} {}#{}", e.id, e.key);
    assert_eq!(s.source, "wsp", "{at}");
    assert_eq!(s.event_id, e.id, "{at}");
    assert_eq!(s.key, SessionKey::nth(e.key), "{at}");
    assert_eq!(s.title, e.title, "{at}");
    assert_eq!(s.category.as_deref(), e.category, "{at}");
    assert_eq!(s.start, utc(e.start), "{at} start");
    assert_eq!(s.end, utc(e.end), "{at} end");
    assert_eq!(s.timezone, "Europe/London", "{at}");
    assert_eq!(s.venue.as_deref(), Some(e.venue), "{at}");
    assert_eq!(s.online, e.online, "{at}");
    assert_eq!(s.status, e.status, "{at}");
    assert_eq!(
        s.availability,
        Availability {
            spaces_left: e.spaces,
            capacity: e.capacity,
            waitlist: e.waitlist,
            unpublished: false,
        },
        "{at}"
    );
    assert_eq!(s.url, format!("{BASE}/events/{}", e.id), "{at}");
    assert_eq!(
        s.uid().as_str(),
        format!("wsp-{}-{}@events.safeguarding-training", e.id, e.key),
        "{at}"
    );
}

#[test]
fn every_detail_page_matches_the_truth_table() {
    let truth = truth();
    let mut seen = 0;
    for id in 1001..=1010u32 {
        let sessions = detail("", id);
        let expected: Vec<&Expect> = truth.iter().filter(|e| e.id == id.to_string()).collect();
        assert_eq!(sessions.len(), expected.len(), "event {id}");
        for (s, e) in sessions.iter().zip(&expected) {
            assert_shared(s, e, "detail");
            assert_eq!(s.level.as_deref(), e.level, "{id} level");
            assert_eq!(
                s.prerequisites.as_deref(),
                e.prerequisites,
                "{id} prerequisites"
            );
            assert!(s.description.is_some(), "{id} description");
            seen += 1;
        }
    }
    assert_eq!(seen, truth.len());
}

#[test]
fn summer_times_are_bst_and_winter_times_are_gmt() {
    // July, 09:30 BST = 08:30 UTC
    let july = &detail("", 1006)[0];
    assert_eq!(july.start, utc("2027-07-14T08:30:00Z"));
    // January, 09:30 GMT = 09:30 UTC
    let january = &detail("", 1005)[0];
    assert_eq!(january.start, utc("2027-01-12T09:30:00Z"));
    // November (GMT), in the recent past relative to the frozen clock: still returned
    let past = &detail("", 1007)[0];
    assert_eq!(past.start, utc("2026-11-18T12:00:00Z"));
    assert!(past.end < ctx().now);
}

#[test]
fn descriptions_are_read_but_never_taken_for_availability() {
    let s = &detail("", 1001)[0];
    assert_eq!(
        s.description.as_deref(),
        Some(
            "This course builds on Level 1 and helps practitioners recognise and respond to neglect.\n\
             Places are allocated on a first come, first served basis; if the course is fully booked you can join the waiting list."
        )
    );
    // "fully booked … waiting list" in the description, "cancelled" in a script and
    // the footer do not change the status
    assert_eq!(s.status, Status::Scheduled);
    assert!(!s.availability.waitlist);
    let gcp2 = &detail("", 1005)[0];
    assert_eq!(
        gcp2.description.as_deref(),
        Some(
            "The Graded Care Profile 2 (GCP2) is an assessment tool that helps practitioners measure the quality of care a child receives.\n\
             You will need a licence to use GCP2 after the course; we’ll explain how on Day 3."
        )
    );
}

#[test]
fn one_course_on_four_dates_is_four_events() {
    let all: Vec<Session> = (1001..=1004).flat_map(|id| detail("", id)).collect();
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|s| s.title == NEGLECT));
    let mut uids: Vec<String> = all.iter().map(|s| s.uid().0).collect();
    uids.sort();
    uids.dedup();
    assert_eq!(uids.len(), 4);
}

#[test]
fn three_day_course_is_one_event_with_three_sessions_and_the_tbc_row_is_skipped() {
    let (sessions, logs) = common::capture_warnings(|| detail("", 1005));
    let keys: Vec<&str> = sessions.iter().map(|s| s.key.0.as_str()).collect();
    assert_eq!(keys, ["1", "2", "3"]);
    assert!(sessions.iter().all(|s| s.event_id == "1005"));
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains(&format!("{BASE}/events/1005")), "{logs}");
    assert!(logs.contains("TBC"), "{logs}");
}

#[test]
fn listing_page_one() {
    let page = listing("events-list.html", "/events-list");
    let ids: Vec<&str> = page.entries.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["1001", "1002", "1003", "1004", "1005"]);
    assert_eq!(page.next, Some(url("/events-list?page=2")));
    let truth = truth();
    for entry in &page.entries {
        let e = truth
            .iter()
            .find(|e| e.id == entry.event_id && e.key == 1)
            .unwrap();
        // 1003's link is the relative `events/1003?ref=list`: canonical URL has no query
        assert_eq!(entry.url, url(&format!("/events/{}", e.id)));
        assert_eq!(entry.title, e.title);
        assert_eq!(entry.category.as_deref(), e.category);
        assert!(!entry.fingerprint.is_empty());
        let s = entry
            .session
            .as_ref()
            .expect("listing gives a fallback session");
        assert_shared(s, e, "listing");
        assert_eq!(s.level, None);
        assert_eq!(s.prerequisites, None);
        assert_eq!(s.description, None);
    }
}

#[test]
fn listing_page_two_is_the_last() {
    let page = listing("events-list_page-2.html", "/events-list?page=2");
    let ids: Vec<&str> = page.entries.iter().map(|e| e.event_id.as_str()).collect();
    // the "Featured" aside repeats 1006 but is not an entry of its own
    assert_eq!(ids, ["1006", "1007", "1008", "1009", "1010"]);
    assert_eq!(page.next, None);
    let truth = truth();
    for entry in &page.entries {
        let e = truth.iter().find(|e| e.id == entry.event_id).unwrap();
        assert_shared(entry.session.as_ref().unwrap(), e, "listing p2");
    }
}

#[test]
fn category_listing_and_an_empty_one() {
    let mut cfg = cfg();
    cfg.categories = vec![497];
    let base = Url::parse(BASE).unwrap();
    assert_eq!(
        listing_url(&base, &cfg, Some(497)),
        url("/events-list?c=497")
    );
    assert_eq!(listing_url(&base, &cfg, None), url("/events-list"));
    let page = listing("events-list_c-497.html", "/events-list?c=497");
    let ids: Vec<&str> = page.entries.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["1001", "1002", "1003", "1004", "1005"]);
    assert!(page
        .entries
        .iter()
        .all(|e| e.category.as_deref() == Some("Child Neglect")));
    assert_eq!(page.next, None);
    let empty = listing("events-list_c-999.html", "/events-list?c=999");
    assert!(empty.entries.is_empty());
    assert_eq!(empty.next, None);
}

#[test]
fn urls_of_events() {
    assert_eq!(
        event_id_from_url(&url("/events/1001")).as_deref(),
        Some("1001")
    );
    assert_eq!(
        event_id_from_url(&url("/events/1001/book")).as_deref(),
        Some("1001")
    );
    assert_eq!(event_id_from_url(&url("/events-list?c=497")), None);
    assert_eq!(
        detail_url(&url("/events/1003?ref=list")),
        Some(url("/events/1003"))
    );
    assert!(is_booking_url(&url("/events/1001/book")));
    // a session's URL is the detail page even when parsed from a URL with a query
    let html = fixture("events_1003.html");
    let s = parse_detail(&html, &url("/events/1003?ref=list#top"), &cfg(), &ctx()).unwrap();
    assert_eq!(s[0].url, format!("{BASE}/events/1003"));
}

#[test]
fn robots_txt_disallows_booking_links() {
    let robot = texting_robots::Robot::new("events", fixture("robots.txt").as_bytes()).unwrap();
    assert!(!robot.allowed(&format!("{BASE}/events/1001/book")));
    assert!(robot.allowed(&format!("{BASE}/events/1001")));
    assert!(robot.allowed(&format!("{BASE}/events-list?page=2")));
    assert!(robot.allowed(&format!("{BASE}/elearning-list")));
}

fn course(id: &str, title: &str, category: &str, description: &str) -> Course {
    Course {
        source: "wsp".into(),
        id: id.into(),
        title: title.into(),
        category: Some(category.into()),
        description: Some(description.into()),
        url: format!("{BASE}/elearning/{id}"),
    }
}

#[test]
fn elearning_courses_over_two_pages() {
    let (one, next) = parse_elearning(
        &fixture("elearning-list.html"),
        &url("/elearning-list"),
        &cfg(),
        &ctx(),
    )
    .unwrap();
    assert_eq!(next, Some(url("/elearning-list?page=2")));
    assert_eq!(
        one,
        vec![
            course(
                "201",
                "Understanding Neglect Level 1",
                "Child Neglect",
                "An introduction to recognising neglect. Takes about 90 minutes; required before Level 2."
            ),
            course(
                "202",
                "Child Sexual Abuse – Awareness",
                "Child Sexual Abuse",
                "Recognising the signs of child sexual abuse."
            ),
            course(
                "203",
                "Self-Neglect & Hoarding: An Introduction",
                "Self-Neglect and Hoarding",
                "Understanding self-neglect and hoarding in adults, and the “clutter image rating”."
            ),
        ]
    );
    let (two, next) = parse_elearning(
        &fixture("elearning-list_page-2.html"),
        &url("/elearning-list?page=2"),
        &cfg(),
        &ctx(),
    )
    .unwrap();
    assert_eq!(next, None);
    assert_eq!(
        two,
        vec![
            course(
                "204",
                "All-Age Exploitation Awareness",
                "All-Age Exploitation",
                "County lines, cuckooing and criminal exploitation of children and adults."
            ),
            course(
                "205",
                "Graded Care Profile 2 (GCP2) – Level 1 eLearning",
                "Child Neglect",
                "Prepares you for the GCP2 Level 3 course."
            ),
        ]
    );
}

#[test]
fn second_crawl_moves_cancels_loses_and_changes_places() {
    // moved: same event, same key (so same UID), new time
    let first = &detail("", 1002)[0];
    let moved = &detail("second/", 1002)[0];
    assert_eq!(moved.uid(), first.uid());
    assert_eq!(moved.start, utc("2027-04-23T12:30:00Z"));
    assert_eq!(moved.end, utc("2027-04-23T15:30:00Z"));
    assert_eq!(moved.status, Status::Scheduled);
    assert_eq!(moved.availability, Availability::spaces(2));
    assert!(moved.shown_fields_differ(first));

    // cancelled: same time, status Cancelled, places no longer known
    let before = &detail("", 1003)[0];
    let cancelled = &detail("second/", 1003)[0];
    assert_eq!(cancelled.uid(), before.uid());
    assert_eq!(cancelled.start, before.start);
    assert_eq!(cancelled.status, Status::Cancelled);
    // No number; the page spoke of places (it is cancelled), so not "not published".
    assert_eq!(cancelled.availability, Availability::default());

    // the listings agree, 1009 is gone and 1011 is new
    let p1 = listing("second/events-list.html", "/events-list");
    let p2 = listing("second/events-list_page-2.html", "/events-list?page=2");
    let ids: Vec<&str> = p1
        .entries
        .iter()
        .chain(&p2.entries)
        .map(|e| e.event_id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["1001", "1002", "1003", "1004", "1005", "1011", "1006", "1007", "1008", "1010"]
    );
    assert_eq!(p1.next, Some(url("/events-list?page=2")));
    let entry = |p: &ListingPage, id: &str| p.entries.iter().find(|e| e.event_id == id).cloned();
    let s1002 = entry(&p1, "1002").unwrap().session.unwrap();
    assert_eq!(s1002.start, utc("2027-04-23T12:30:00Z"));
    assert_eq!(
        entry(&p1, "1003").unwrap().session.unwrap().status,
        Status::Cancelled
    );
    let c497 = listing("second/events-list_c-497.html", "/events-list?c=497");
    assert_eq!(c497.entries.len(), 5);
    assert_eq!(
        entry(&c497, "1003").unwrap().session.unwrap().status,
        Status::Cancelled
    );

    // fingerprints tell changed entries from unchanged ones
    let old = listing("events-list.html", "/events-list");
    for id in ["1001", "1005"] {
        assert_eq!(
            entry(&old, id).unwrap().fingerprint,
            entry(&p1, id).unwrap().fingerprint
        );
    }
    for id in ["1002", "1003", "1004"] {
        assert_ne!(
            entry(&old, id).unwrap().fingerprint,
            entry(&p1, id).unwrap().fingerprint
        );
    }

    // places: 1004 freed (full → 3), 1006 filling (8 → 2), 1010 full (30 → 0)
    let freed = &detail("second/", 1004)[0];
    assert_eq!(detail("", 1004)[0].status, Status::Full);
    assert_eq!(freed.status, Status::Scheduled);
    assert_eq!(freed.availability, Availability::spaces(3));
    assert_eq!(
        entry(&p1, "1004").unwrap().session.unwrap().availability,
        Availability::spaces(3)
    );
    let filling = &detail("second/", 1006)[0];
    assert_eq!(filling.status, Status::Scheduled);
    assert_eq!(filling.availability, Availability::spaces(2));
    let full = &detail("second/", 1010)[0];
    assert_eq!(full.status, Status::Full);
    assert_eq!(full.availability.spaces_left, Some(0));
    assert!(!full.availability.waitlist);
    let s1010 = entry(&p2, "1010").unwrap().session.unwrap();
    assert_eq!(s1010.status, Status::Full);

    // 1009's detail page is declared missing (404) on the second crawl
    let removed = fixture("second/removed.txt");
    assert!(removed.lines().any(|l| l.trim() == "events_1009.html"));
    assert!(!fixtures().join("second/events_1009.html").exists());
}

#[test]
fn shipped_source_file_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sources/wsp.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let src = config::parse_source(&path, &text).unwrap();
    assert_eq!(src.id, "wsp");
    assert_eq!(src.name, "Walsall Safeguarding Partnership");
    assert_eq!(src.base_url.as_str(), format!("{BASE}/"));
    assert_eq!(src.timezone, chrono_tz::Europe::London);
    assert_eq!(src.requests_per_second, 1.0);
    assert_eq!(src.poll_interval, std::time::Duration::from_secs(30 * 60));
    let eb = src.settings::<EventBookingConfig>().expect("event-booking");
    assert_eq!(eb, &EventBookingConfig::default());
    // commented defaults, uncommented, are the defaults
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.contains(" = ")
                    || rest.starts_with("[selectors]")
                    || rest.starts_with("[labels]")
                    || rest.starts_with("[limits]") =>
            {
                rest.to_string()
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let src = config::parse_source(&path, &uncommented).unwrap();
    assert_eq!(src.limits, config::Limits::default());
    let eb = src.settings::<EventBookingConfig>().expect("event-booking");
    assert_eq!(eb.categories, vec![497]);
    assert_eq!(eb.selectors, EventBookingConfig::default().selectors);
    assert_eq!(eb.labels, EventBookingConfig::default().labels);
}

/// A deterministic stream of awkward characters (no `rand`: reproducible).
fn junk(len_bytes: usize) -> String {
    let pieces = [
        "<",
        ">",
        "</",
        "/>",
        "<div>",
        "</div>",
        "<table>",
        "<tr>",
        "<td>",
        "<th>Date</th>",
        "<a href=\"/events/",
        "\">",
        "<dl><dt>Places</dt><dd>",
        "&amp;",
        "&#x0;",
        "&",
        "\"",
        "'",
        "é",
        "–",
        "\u{a0}",
        "😀",
        "\u{fffd}",
        "9",
        "12",
        ":",
        "30",
        "am",
        " - ",
        "April",
        "2027",
        "/",
        "TBC",
        "cancelled",
        "places left",
        "\n",
        " ",
        "<script>",
        "</script>",
        "<h1>",
        "Next",
        "?page=",
        "<!--",
        "-->",
        "<![CDATA[",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut out = String::with_capacity(len_bytes + 16);
    while out.len() < len_bytes {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.push_str(pieces[(state % pieces.len() as u64) as usize]);
    }
    out
}

#[test]
fn garbage_never_panics() {
    let cfg = cfg();
    let ctx = ctx();
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let full = fixture("events_1005.html");
    let cut = full
        .char_indices()
        .nth(full.chars().count() / 2)
        .map_or(0, |(i, _)| i);
    let deep = |levels: usize| {
        format!(
            "{}<h1>t</h1><a href=\"/events/5\">x</a> Friday 9 April 2027 09:30 - 12:30{}",
            "<div><table><tr><td>".repeat(levels / 4),
            "</div>".repeat(10)
        )
    };
    let inputs = [
        String::new(),
        String::from_utf8_lossy(&bytes).into_owned(),
        full[..cut].to_string(),
        "<html><body><h1>".to_string(),
        "<table><tr><th>Date</th><th>Start</th></tr><tr><td>31/02/2027</td><td>25:00</td></tr>"
            .to_string(),
        deep(400),
        deep(3000),
        junk(1 << 20),
    ];
    for input in &inputs {
        let _ = parse_listing(input, &url("/events-list"), &cfg, &ctx);
        let _ = parse_detail(input, &url("/events/1005"), &cfg, &ctx);
        let _ = parse_elearning(input, &url("/elearning-list"), &cfg, &ctx);
    }
    // a page that cannot be a detail page is an error, not a panic
    assert!(parse_detail("", &url("/events/1005"), &cfg, &ctx).is_err());
    assert!(parse_listing("", &url("/events-list"), &cfg, &ctx)
        .unwrap()
        .entries
        .is_empty());
}
