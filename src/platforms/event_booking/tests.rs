//! Unit tests of the event-booking readers.

use super::*;
use chrono::TimeZone;

fn ctx() -> SourceContext {
    SourceContext {
        source_id: "wsp".into(),
        timezone: chrono_tz::Europe::London,
        now: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        probe: Default::default(),
    }
}
fn u(s: &str) -> Url {
    Url::parse(s).unwrap()
}

#[test]
fn urls() {
    let base = u("https://walsall.event-booking.org.uk");
    let cfg = EventBookingConfig::default();
    assert_eq!(
        listing_url(&base, &cfg, None).as_str(),
        "https://walsall.event-booking.org.uk/events-list"
    );
    assert_eq!(
        listing_url(&base, &cfg, Some(497)).as_str(),
        "https://walsall.event-booking.org.uk/events-list?c=497"
    );
    assert_eq!(
        elearning_url(&base, &cfg).unwrap().as_str(),
        "https://walsall.event-booking.org.uk/elearning-list"
    );
    assert_eq!(
        event_id_from_url(&u("https://x.org/events/1234")).as_deref(),
        Some("1234")
    );
    assert_eq!(
        event_id_from_url(&u("https://x.org/events/1234/book")).as_deref(),
        Some("1234")
    );
    assert_eq!(
        event_id_from_url(&u("https://x.org/events-list?c=497")),
        None
    );
    assert_eq!(event_id_from_url(&u("https://x.org/events/abc")), None);
    assert_eq!(
        detail_url(&u("https://x.org/lms/events/12/book?x=1#y"))
            .unwrap()
            .as_str(),
        "https://x.org/lms/events/12"
    );
    assert!(is_booking_url(&u("https://x.org/events/12/book")));
    assert!(!is_booking_url(&u("https://x.org/events/12")));
}

#[test]
fn text_lines_split_blocks_and_hide_scripts() {
    let doc = Html::parse_document(
        "<div><p>a <b>b</b></p>c<br>d<script>var x='e';</script><ul><li>f\n f</li><li>g</li></ul></div>",
    );
    assert_eq!(
        text_lines(doc.root_element(), &[]),
        vec!["a b", "c", "d", "f f", "g"]
    );
}

#[test]
fn next_link_stays_on_host_and_is_found_by_text() {
    let cfg = EventBookingConfig::default();
    let page = u("https://x.org/events-list");
    let html = r#"<a href="https://evil.example/events-list?page=2">Next</a><a href="?page=2">Next &raquo;</a>"#;
    let p = parse_listing(html, &page, &cfg, &ctx()).unwrap();
    assert_eq!(p.next.unwrap().as_str(), "https://x.org/events-list?page=2");
    let p = parse_listing(
        r#"<a href="https://evil.example/?page=2">Next</a>"#,
        &page,
        &cfg,
        &ctx(),
    )
    .unwrap();
    assert_eq!(p.next, None);
    let p = parse_listing(
        r#"<a href="">Next</a><a href="/events-list">›</a>"#,
        &page,
        &cfg,
        &ctx(),
    )
    .unwrap();
    assert_eq!(p.next, None, "a link to the page itself is not a next page");
}

#[test]
fn entries_found_without_matching_selector() {
    let cfg = EventBookingConfig::default();
    let page = u("https://x.org/events-list");
    let html = r#"<table><tr><td><a href="/events/7">Course A</a></td><td>Tue 9th Mar 2027</td><td>10am - 1pm</td><td>Online (Zoom)</td><td>Only 2 places left</td></tr>
        <tr><td><a href="/events/8">Course B</a></td><td>09/03/2027</td><td>10:00 - 11:00</td><td>Booking closed</td></tr></table>"#;
    let p = parse_listing(html, &page, &cfg, &ctx()).unwrap();
    assert_eq!(p.entries.len(), 2);
    let a = p.entries[0].session.as_ref().unwrap();
    assert_eq!(a.title, "Course A");
    assert!(a.online);
    assert_eq!(a.availability.spaces_left, Some(2));
    assert_eq!(a.start.to_rfc3339(), "2027-03-09T10:00:00+00:00");
    assert_eq!(
        p.entries[1].session.as_ref().unwrap().status,
        Status::Closed
    );
}

#[test]
fn detail_without_table_uses_fields() {
    let cfg = EventBookingConfig::default();
    let page = u("https://x.org/events/9");
    let html = "<h1>Briefing</h1><dl><dt>Date</dt><dd>Tue 9th Mar 2027</dd><dt>Time</dt><dd>10am - 1pm</dd><dt>Venue</dt><dd>Virtual - MS Teams</dd><dt>Places</dt><dd>5</dd></dl>";
    let s = parse_detail(html, &page, &cfg, &ctx()).unwrap();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].availability.spaces_left, Some(5));
    assert!(s[0].online);
    assert_eq!(s[0].key, SessionKey::nth(1));
}

#[test]
fn detail_errors_without_id_or_title() {
    let cfg = EventBookingConfig::default();
    assert!(parse_detail("<h1>x</h1>", &u("https://x.org/about"), &cfg, &ctx()).is_err());
    assert!(parse_detail("<p>x</p>", &u("https://x.org/events/1"), &cfg, &ctx()).is_err());
}

#[test]
fn pages_nested_deeper_than_a_browser_allows_are_refused() {
    let cfg = EventBookingConfig::default();
    let deep = format!(
        "{}<h1>x</h1><a href=\"/events/5\">x</a>",
        "<div>".repeat(MAX_DEPTH + 10)
    );
    assert!(too_deep(&Html::parse_document(&deep)).is_some());
    assert!(parse_detail(&deep, &u("https://x.org/events/5"), &cfg, &ctx()).is_err());
    let p = parse_listing(&deep, &u("https://x.org/events-list"), &cfg, &ctx()).unwrap();
    assert!(p.entries.is_empty());
    let shallow = format!("{}<h1>x</h1>", "<div>".repeat(MAX_DEPTH - 10));
    assert_eq!(too_deep(&Html::parse_document(&shallow)), None);
}

#[test]
fn brackets_and_labels() {
    assert_eq!(
        strip_brackets(" [You MUST complete Level 1 first] "),
        "You MUST complete Level 1 first"
    );
    assert_eq!(strip_brackets("None"), "None");
    let re = Regex::new(r"(?i)^\s*category\b").unwrap();
    assert_eq!(strip_label("Category: Child Neglect", &re), "Child Neglect");
    assert_eq!(strip_label("Child Neglect", &re), "Child Neglect");
}
