//! The iCalendar adapter against the fixtures in `tests/fixtures/ical/` (their
//! truth table is in that directory's README), with a frozen clock: field by
//! field, the second-crawl variant, and garbage that must give errors or
//! warnings, never panics.

mod common;

use common::utc;

use events::model::{Session, Status};
use events::platforms::ical::{parse_feed, zone_of_tzid};
use events::platforms::SourceContext;
use url::Url;

const UID_WEEKLY: &str = "10101-1799235000-1799245800@www.walsallsafeguarding.example";
const UID_DAY: &str = "10102-1805068800-1805155199@www.walsallsafeguarding.example";
const UID_TEAMS: &str = "040000008200E00074C5B7101A82E00800000000B0C3F2D1@walsall.example";
const UID_PREVENT: &str = "10104-1808125200-1808130600@www.walsallsafeguarding.example";

fn ctx() -> SourceContext {
    common::reader_context("wsp-site")
}

fn fixture(name: &str) -> String {
    common::fixture_text("ical", name)
}

fn feed_url() -> Url {
    Url::parse("https://www.walsallsafeguarding.example/events/?ical=1").unwrap()
}

fn find<'a>(s: &'a [Session], uid: &str, key: &str) -> &'a Session {
    s.iter()
        .find(|x| x.event_id == uid && x.key.0 == key)
        .unwrap_or_else(|| panic!("no session {uid} / {key} in {:#?}", keys(s)))
}

fn keys(s: &[Session]) -> Vec<(String, String)> {
    s.iter()
        .map(|x| (x.event_id.clone(), x.key.0.clone()))
        .collect()
}

/// (uid, key, start, end, status, all_day, online, venue, url) as the README's table says.
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Status,
    bool,
    bool,
    Option<&'static str>,
    &'static str,
);

const LEVEL1_URL: &str = "https://www.walsallsafeguarding.example/event/level-1-weekly/";
const COUNCIL_HOUSE: &str = "Walsall Council House, Lichfield Street, Walsall, WS1 1TW";

const TRUTH: [Row; 8] = [
    (
        UID_WEEKLY,
        "20270106T093000Z",
        "2027-01-06T09:30:00Z",
        "2027-01-06T12:30:00Z",
        Status::Scheduled,
        false,
        false,
        Some(COUNCIL_HOUSE),
        LEVEL1_URL,
    ),
    (
        UID_WEEKLY,
        "20270113T093000Z",
        "2027-01-13T09:30:00Z",
        "2027-01-13T12:30:00Z",
        Status::Scheduled,
        false,
        false,
        Some(COUNCIL_HOUSE),
        LEVEL1_URL,
    ),
    (
        UID_WEEKLY,
        "20270127T093000Z",
        "2027-01-28T13:30:00Z",
        "2027-01-28T16:30:00Z",
        Status::Scheduled,
        false,
        false,
        Some("Goscote Centre, Goscote Lane, Walsall, WS3 1SJ"),
        LEVEL1_URL,
    ),
    (
        UID_WEEKLY,
        "20270203T093000Z",
        "2027-02-03T09:30:00Z",
        "2027-02-03T12:30:00Z",
        Status::Cancelled,
        false,
        false,
        Some(COUNCIL_HOUSE),
        LEVEL1_URL,
    ),
    (
        UID_WEEKLY,
        "20270210T093000Z",
        "2027-02-10T09:30:00Z",
        "2027-02-10T12:30:00Z",
        Status::Scheduled,
        false,
        false,
        Some(COUNCIL_HOUSE),
        LEVEL1_URL,
    ),
    (
        UID_DAY,
        "1",
        "2027-03-15T00:00:00Z",
        "2027-03-16T00:00:00Z",
        Status::Scheduled,
        true,
        false,
        None,
        "https://www.walsallsafeguarding.example/event/adults-awareness-day/",
    ),
    (
        UID_TEAMS,
        "1",
        "2027-06-10T09:00:00Z",
        "2027-06-10T10:30:00Z",
        Status::Scheduled,
        false,
        true,
        Some("Online - Microsoft Teams"),
        "", // no URL: no link (the feed file is not a booking page)
    ),
    (
        UID_PREVENT,
        "1",
        "2027-04-20T09:00:00Z",
        "2027-04-20T10:30:00Z",
        Status::Cancelled,
        false,
        false,
        Some("Walsall Town Hall, Leicester Street, Walsall, WS1 1TP"),
        "https://www.walsallsafeguarding.example/event/prevent-awareness/",
    ),
];

#[test]
fn first_feed_matches_the_truth_table() {
    let (feed, warnings) = common::capture_warnings(|| {
        parse_feed(&fixture("events.ics"), &feed_url(), &ctx()).unwrap()
    });
    assert_eq!(
        feed.name.as_deref(),
        Some("Walsall Safeguarding Partnership")
    );
    assert_eq!(
        feed.sessions.len(),
        TRUTH.len(),
        "{:#?}",
        keys(&feed.sessions)
    );
    for (uid, key, start, end, status, all_day, online, venue, url) in TRUTH {
        let s = find(&feed.sessions, uid, key);
        assert_eq!(s.source, "wsp-site");
        assert_eq!(s.start, utc(start), "{uid} {key} start");
        assert_eq!(s.end, utc(end), "{uid} {key} end");
        assert_eq!(s.status, status, "{uid} {key} status");
        assert_eq!(s.all_day, all_day, "{uid} {key} all_day");
        assert_eq!(s.online, online, "{uid} {key} online");
        assert_eq!(s.venue.as_deref(), venue, "{uid} {key} venue");
        assert_eq!(s.url, url, "{uid} {key} url");
        assert_eq!(s.timezone, "Europe/London", "{uid} {key} zone");
        assert_eq!(s.availability.spaces_left, None, "places are not in a feed");
    }
    // Text: escapes undone, folded lines joined, entities decoded.
    let first = find(&feed.sessions, UID_WEEKLY, "20270106T093000Z");
    assert_eq!(first.title, "Safeguarding Children Level 1 – weekly course");
    assert_eq!(first.category.as_deref(), Some("Child Protection"));
    assert_eq!(
        first.description.as_deref(),
        Some("An introduction to safeguarding children for anyone who works with children, young people or their families.\n\nYou MUST book each week separately. Bring a pen.")
    );
    // The moved occurrence keeps the master's description (the override has none).
    let moved = find(&feed.sessions, UID_WEEKLY, "20270127T093000Z");
    assert_eq!(moved.description, first.description);
    // The EXDATE'd occurrence and the past event are not there at all.
    assert!(feed.sessions.iter().all(|s| s.key.0 != "20270120T093000Z"));
    assert!(feed.sessions.iter().all(|s| !s.title.contains("September")));
    // The one broken event is named in a warning, and nothing else warns.
    assert!(warnings.contains("10105-broken"), "{warnings}");
    assert_eq!(warnings.matches("WARN").count(), 1, "{warnings}");
}

#[test]
fn second_feed_moves_one_occurrence_and_drops_one_event() {
    let first = parse_feed(&fixture("events.ics"), &feed_url(), &ctx()).unwrap();
    let second = parse_feed(&fixture("second/events.ics"), &feed_url(), &ctx()).unwrap();
    let a = find(&first.sessions, UID_WEEKLY, "20270113T093000Z");
    let b = find(&second.sessions, UID_WEEKLY, "20270113T093000Z");
    assert_eq!(a.uid(), b.uid(), "a moved occurrence keeps its UID");
    assert_eq!(b.start, utc("2027-01-13T14:00:00Z"));
    assert_eq!(b.end, utc("2027-01-13T17:00:00Z"));
    assert!(second.sessions.iter().all(|s| s.event_id != UID_TEAMS));
    assert_eq!(second.sessions.len(), first.sessions.len() - 1);
}

#[test]
fn window_is_thirty_days_back_to_four_hundred_ahead() {
    let mut late = ctx();
    // On 25 February the 6 and 13 January occurrences are over 30 days past.
    late.now = utc("2027-02-25T09:00:00Z");
    let feed = parse_feed(&fixture("events.ics"), &feed_url(), &late).unwrap();
    let weekly: Vec<&str> = feed
        .sessions
        .iter()
        .filter(|s| s.event_id == UID_WEEKLY)
        .map(|s| s.key.0.as_str())
        .collect();
    assert_eq!(
        weekly,
        ["20270127T093000Z", "20270203T093000Z", "20270210T093000Z"]
    );
}

#[test]
fn unbounded_rules_and_floating_times() {
    let body = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:daily\r\nSUMMARY:Drop-in\r\nDTSTART:20261201T120000\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;UNTIL=20281231\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let feed = parse_feed(body, &feed_url(), &ctx()).unwrap();
    // Floating 12:00 is London time; the window ends 400 days after "now"
    // (2028-01-05T09:00Z), so 1 Dec 2026 to 4 Jan 2028: 400 days.
    assert_eq!(
        feed.sessions.first().map(|s| s.start),
        Some(utc("2026-12-01T12:00:00Z"))
    );
    assert_eq!(feed.sessions.len(), 400);
    let summer = feed
        .sessions
        .iter()
        .find(|s| s.key.0 == "20270701T110000Z")
        .expect("1 July 12:00 BST is 11:00Z");
    assert_eq!(summer.end - summer.start, chrono::Duration::hours(1));
}

#[test]
fn garbage_is_an_error_or_a_warning_never_a_panic() {
    for body in [
        "",
        "<html><body>Not found</body></html>",
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n",
        "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:y\r\nDTSTART:2027\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:y\r\nDTSTART:20270101T100000Z\r\nRRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:y\r\nDTSTART;TZID=Mars/Olympus:20270101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
    ] {
        match parse_feed(body, &feed_url(), &ctx()) {
            Ok(feed) => assert!(feed.sessions.len() <= 1, "{body:?}"),
            Err(e) => assert!(e.url.contains("ical=1"), "{e}"),
        }
    }
    assert!(parse_feed("", &feed_url(), &ctx()).is_err());
    assert_eq!(
        zone_of_tzid("GMT Standard Time"),
        Some(chrono_tz::Europe::London)
    );
}
