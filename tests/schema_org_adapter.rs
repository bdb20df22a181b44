//! The schema.org JSON-LD adapter against the fixtures in
//! `tests/fixtures/schema-org/` (their truth table is in that directory's
//! README), with a frozen clock: listings, event pages field by field, and
//! garbage that must give errors or warnings, never panics.

mod common;

use common::utc;

use events::model::{Session, Status};
use events::platforms::schema_org::{parse_event_page, parse_listing};
use events::platforms::SourceContext;
use regex::Regex;
use url::Url;

const SITE: &str = "https://www.walsallsafeguarding.example";

fn ctx() -> SourceContext {
    common::reader_context("wsp-site")
}

fn fixture(name: &str) -> String {
    common::fixture_text("schema-org", name)
}

fn url(path: &str) -> Url {
    Url::parse(SITE).unwrap().join(path).unwrap()
}

fn event_path() -> Regex {
    Regex::new(r"^/event/[^/]+/?$").unwrap()
}

fn page(slug: &str) -> Vec<Session> {
    let u = url(&format!("/event/{slug}/"));
    parse_event_page(&fixture(&format!("event_{slug}.html")), &u, &ctx()).unwrap()
}

#[test]
fn listing_one_names_pages_embeds_one_event_and_links_page_two() {
    let l = parse_listing(
        &fixture("events.html"),
        &url("/events/"),
        Some(&event_path()),
        &ctx(),
    )
    .unwrap();
    let urls: Vec<&str> = l.event_urls.iter().map(Url::as_str).collect();
    assert_eq!(
        urls,
        [
            "https://www.walsallsafeguarding.example/event/working-together/",
            "https://www.walsallsafeguarding.example/event/neglect-level-2/",
        ]
    );
    assert_eq!(l.next.as_ref().map(Url::path), Some("/events/page/2/"));
    assert_eq!(l.sessions.len(), 1);
    let s = &l.sessions[0];
    assert_eq!(s.title, "Safer Recruitment – Full Day");
    assert_eq!(s.event_id, "/event/safer-recruitment/");
    assert!(s.all_day);
    assert_eq!(s.start, utc("2027-03-03T00:00:00Z"));
    assert_eq!(s.end, utc("2027-03-04T00:00:00Z"));
    assert_eq!(s.status, Status::Scheduled);
    assert_eq!(s.availability.spaces_left, None);
    assert_eq!(
        s.venue.as_deref(),
        Some("Walsall Town Hall, Leicester Street, Walsall, WS1 1TP")
    );
    assert!(!s.online);
}

#[test]
fn listing_two_falls_back_to_matching_same_site_links() {
    let l = parse_listing(
        &fixture("events_page_2.html"),
        &url("/events/page/2/"),
        Some(&event_path()),
        &ctx(),
    )
    .unwrap();
    let paths: Vec<&str> = l.event_urls.iter().map(Url::path).collect();
    assert_eq!(
        paths,
        [
            "/event/prevent-awareness/",
            "/event/online-safety-webinar/",
            "/event/risk-course/"
        ]
    );
    assert!(l.next.is_none());
    assert!(l.sessions.is_empty());
    // Without a pattern, a listing with no JSON-LD names nothing.
    let bare = parse_listing(
        &fixture("events_page_2.html"),
        &url("/events/page/2/"),
        None,
        &ctx(),
    )
    .unwrap();
    assert!(bare.event_urls.is_empty());
}

#[test]
fn graph_subtype_offset_dates_and_places_left() {
    let s = page("working-together");
    assert_eq!(s.len(), 1);
    let s = &s[0];
    assert_eq!(s.title, "Working Together to Safeguard Children");
    assert_eq!(s.key.0, "1");
    assert_eq!(s.start, utc("2027-01-20T09:30:00Z"));
    assert_eq!(s.end, utc("2027-01-20T12:30:00Z"));
    assert_eq!(s.status, Status::Scheduled);
    assert_eq!(s.availability.spaces_left, Some(14));
    assert_eq!(s.availability.capacity, Some(30));
    assert_eq!(
        s.venue.as_deref(),
        Some("Walsall Council House, Lichfield Street, Walsall, WS1 1TW")
    );
    assert_eq!(
        s.description.as_deref(),
        Some("What the 2023 guidance asks of each agency.")
    );
    assert_eq!(s.url, format!("{SITE}/event/working-together/"));
    assert!(!s.all_day);
}

#[test]
fn array_local_dates_and_sold_out() {
    let s = &page("neglect-level-2")[0];
    // 10:00 local in June is BST: 09:00Z.
    assert_eq!(s.start, utc("2027-06-15T09:00:00Z"));
    assert_eq!(s.end, utc("2027-06-15T15:00:00Z"));
    assert_eq!(s.status, Status::Full);
    assert_eq!(s.availability.spaces_left, Some(0));
    assert_eq!(s.venue.as_deref(), Some("Goscote Centre"));
}

#[test]
fn cancelled_postponed_and_online() {
    let c = &page("prevent-awareness")[0];
    assert_eq!(c.status, Status::Cancelled);
    assert!(c.online);
    assert_eq!(c.venue.as_deref(), Some("Online"));
    assert_eq!(c.start, utc("2027-02-10T14:00:00Z"));

    let p = &page("online-safety-webinar")[0];
    assert_eq!(p.status, Status::Cancelled);
    assert!(p.description.as_deref().is_some_and(
        |d| d.starts_with("Postponed:") && d.ends_with("Keeping children safe online.")
    ));
    assert_eq!(p.availability.spaces_left, Some(40));
    assert!(p.online);
    assert_eq!(p.start, utc("2027-04-07T13:00:00Z"));
}

#[test]
fn rescheduled_sub_events_are_sessions_of_one_event() {
    let s = page("risk-course");
    assert_eq!(s.len(), 2);
    for (i, (start, end)) in [
        ("2027-05-11T08:00:00Z", "2027-05-11T15:00:00Z"),
        ("2027-05-12T08:00:00Z", "2027-05-12T15:00:00Z"),
    ]
    .into_iter()
    .enumerate()
    {
        let x = &s[i];
        assert_eq!(x.event_id, "/event/risk-course/");
        assert_eq!(x.key.0, (i + 1).to_string());
        assert_eq!(x.start, utc(start));
        assert_eq!(x.end, utc(end));
        assert_eq!(x.status, Status::Scheduled, "rescheduled: the new dates");
        assert_eq!(
            x.availability.spaces_left,
            Some(8),
            "inherited from the event"
        );
        assert_eq!(
            x.venue.as_deref(),
            Some("Walsall College, Littleton Street West, Walsall, WS2 8ES")
        );
    }
    assert_eq!(s[0].title, "Multi-agency Risk Assessment: day 1");
    assert_ne!(s[0].uid(), s[1].uid());
}

#[test]
fn garbage_is_an_error_or_a_warning_never_a_panic() {
    let u = url("/event/x/");
    assert!(parse_event_page("", &u, &ctx()).is_err());
    assert!(parse_event_page("<html>no data</html>", &u, &ctx()).is_err());
    let (r, warnings) = common::capture_warnings(|| {
        parse_event_page(
            r#"<script type="application/ld+json">{not json</script><script type="application/ld+json">{"@type":"Event","name":"X","startDate":"soon"}</script>"#,
            &u,
            &ctx(),
        )
    });
    assert_eq!(r.unwrap(), Vec::<Session>::new());
    assert!(
        warnings.contains("unreadable JSON-LD") && warnings.contains("startDate `soon`"),
        "{warnings}"
    );
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let html = format!(r#"<script type="application/ld+json">{deep}</script>"#);
    assert!(parse_event_page(&html, &u, &ctx()).is_err());
}

/// The page's JSON-LD block is not JSON as written (the fixture holds its fault).
fn assert_not_strict_json(html: &str) {
    let block = html
        .split("ld+json\">")
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("a JSON-LD block");
    assert!(
        serde_json::from_str::<serde_json::Value>(block).is_err(),
        "the fixture must hold the fault"
    );
}

/// WordPress events plugins' `\'` (PHP's addslashes) inside JSON-LD strings is
/// read as an apostrophe, and the event kept, with no warning.
#[test]
fn php_escaped_quotes_from_wordpress_are_read() {
    let u = url("/event/thresholds-briefing/");
    let html = fixture("wordpress/php-escaped-quotes.html");
    assert_not_strict_json(&html);
    let (r, warnings) = common::capture_warnings(|| parse_event_page(&html, &u, &ctx()));
    let s = r.unwrap();
    assert_eq!(warnings, "", "no warning for a block read leniently");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].title, "Children's Social Care: Thresholds Briefing");
    assert_eq!(s[0].start, utc("2027-03-09T10:00:00Z"));
    assert_eq!(s[0].end, utc("2027-03-09T12:00:00Z"));
    assert_eq!(
        s[0].venue.as_deref(),
        Some("St Matthew's Hall, Lichfield Street, Walsall, WS1 1SX")
    );
    assert!(
        s[0].description
            .as_deref()
            .unwrap()
            .contains("partnership's threshold"),
        "{:?}",
        s[0].description
    );
}

/// Trailing commas before `}` and `]` (a plugin template printing a comma
/// after every property) are dropped, and the event kept, with no warning.
#[test]
fn trailing_commas_from_wordpress_are_read() {
    let u = url("/event/domestic-abuse-awareness/");
    let html = fixture("wordpress/trailing-commas.html");
    assert_not_strict_json(&html);
    let (r, warnings) = common::capture_warnings(|| parse_event_page(&html, &u, &ctx()));
    let s = r.unwrap();
    assert_eq!(warnings, "", "no warning for a block read leniently");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].title, "Domestic Abuse Awareness");
    assert_eq!(s[0].start, utc("2027-04-14T08:30:00Z"));
    assert_eq!(s[0].end, utc("2027-04-14T12:00:00Z"));
    assert_eq!(
        s[0].venue.as_deref(),
        Some("Walsall Council House, Lichfield Street, Walsall, WS1 1TW")
    );
    assert_eq!(s[0].event_id, "/event/domestic-abuse-awareness/");
}

/// Leniency goes no further than those two faults: single-quoted JSON-LD and
/// JSON-LD with comments are still skipped with a warning.
#[test]
fn looser_json_ld_is_still_refused() {
    let u = url("/event/x/");
    for block in [
        "{'@type': 'Event', 'name': 'Single quotes', 'startDate': '2027-01-01'}",
        "{\"@type\": \"Event\", /* note */ \"name\": \"Comment\", \"startDate\": \"2027-01-01\"}",
    ] {
        let html = format!(r#"<script type="application/ld+json">{block}</script>"#);
        let (r, warnings) = common::capture_warnings(|| parse_event_page(&html, &u, &ctx()));
        assert!(r.is_err(), "{block} was read");
        assert!(warnings.contains("unreadable JSON-LD"), "{warnings}");
    }
}
