//! Unit tests of the Eventbrite readers.

use super::*;

fn ctx() -> SourceContext {
    SourceContext {
        source_id: "vrp".into(),
        timezone: chrono_tz::Europe::London,
        now: DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default(),
        probe: Default::default(),
    }
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("test URL")
}

#[test]
fn api_urls_join_without_trailing_slash() {
    let api = url("https://www.eventbriteapi.com/v3");
    assert_eq!(
        api_events_url(&api, "98765432101", &PageCursor::First).as_str(),
        "https://www.eventbriteapi.com/v3/organizers/98765432101/events/?status=live,started,canceled&only_public=true&order_by=start_asc&expand=venue,ticket_availability"
    );
    let slash = url("https://www.eventbriteapi.com/v3/");
    assert_eq!(
        api_events_url(&slash, "1", &PageCursor::Page(3)).as_str(),
        "https://www.eventbriteapi.com/v3/organizers/1/events/?status=live,started,canceled&only_public=true&order_by=start_asc&expand=venue,ticket_availability&page=3"
    );
    assert_eq!(
        api_events_url(&api, "1", &PageCursor::Continuation("a+b=".into())).as_str(),
        "https://www.eventbriteapi.com/v3/organizers/1/events/?status=live,started,canceled&only_public=true&order_by=start_asc&expand=venue,ticket_availability&continuation=a%2Bb%3D"
    );
    assert_eq!(
        api_ticket_classes_url(&api, "812345670011", &PageCursor::First).as_str(),
        "https://www.eventbriteapi.com/v3/events/812345670011/ticket_classes/"
    );
    assert_eq!(
        showmore_url(&url("https://www.eventbrite.co.uk"), "98765432101", 2).as_str(),
        "https://www.eventbrite.co.uk/org/98765432101/showmore/?type=future&page_size=50&page=2"
    );
}

#[test]
fn event_page_url_rebases_onto_configured_site() {
    let base = url("http://127.0.0.1:8080/");
    assert_eq!(
        event_page_url(
            &base,
            "https://www.eventbrite.co.uk/e/x-tickets-812345670011?aff=a"
        )
        .map(|u| u.to_string()),
        Some("http://127.0.0.1:8080/e/x-tickets-812345670011".into())
    );
    assert_eq!(event_page_url(&base, "https://evil.example/o/x-1"), None);
}

#[test]
fn local_time_is_converted_not_read_as_utc() {
    let t = RawTime {
        timezone: Some("Europe/London".into()),
        local: Some("2027-06-15T10:00:00".into()),
        utc: None,
    };
    assert_eq!(
        to_utc(&t, chrono_tz::UTC).map(|d| d.to_rfc3339()),
        Ok("2027-06-15T09:00:00+00:00".into())
    );
    // a time skipped by the clocks going forward moves an hour on
    let gap = RawTime {
        timezone: None,
        local: Some("2027-03-28T01:30:00".into()),
        utc: None,
    };
    assert_eq!(
        to_utc(&gap, chrono_tz::Europe::London).map(|d| d.to_rfc3339()),
        Ok("2027-03-28T01:30:00+00:00".into())
    );
}

#[test]
fn sold_out_with_waitlist_from_ticket_availability() {
    let body = br#"{"pagination":{"has_more_items":false},"events":[{"id":"812345670099","name":{"text":"X"},
        "url":"https://www.eventbrite.co.uk/e/x-tickets-812345670099?aff=ebapi",
        "start":{"timezone":"Europe/London","local":"2027-01-20T10:00:00","utc":"2027-01-20T10:00:00Z"},
        "end":{"timezone":"Europe/London","local":"2027-01-20T11:00:00","utc":"2027-01-20T11:00:00Z"},
        "status":"live","listed":true,"ticket_availability":{"is_sold_out":true,"waitlist_available":true}}]}"#;
    let page = parse_api_events(body, &url("https://api.test/v3/x"), &ctx()).expect("parses");
    let e = &page.entries[0];
    assert_eq!(e.status, Status::Full);
    assert_eq!(
        e.availability,
        Availability {
            spaces_left: Some(0),
            capacity: None,
            waitlist: true,
            unpublished: false,
        }
    );
    assert_eq!(
        e.url,
        "https://www.eventbrite.co.uk/e/x-tickets-812345670099"
    );
    assert_eq!(page.next, None);
}

#[test]
fn next_cursor_rules() {
    let u = url("https://api.test/v3/o/?page=4");
    let p = |v: &str| next_cursor(serde_json::from_str::<Value>(v).ok().as_ref(), &u);
    assert_eq!(p(r#"{"has_more_items":false,"continuation":"x"}"#), None);
    assert_eq!(
        p(r#"{"has_more_items":true,"continuation":"x"}"#),
        Some(PageCursor::Continuation("x".into()))
    );
    assert_eq!(
        p(r#"{"has_more_items":true,"page_number":2}"#),
        Some(PageCursor::Page(3))
    );
    assert_eq!(p(r#"{"has_more_items":true}"#), Some(PageCursor::Page(5)));
    let c = url("https://api.test/v3/o/?continuation=x");
    let v: Value =
        serde_json::from_str(r#"{"has_more_items":true,"continuation":"x"}"#).unwrap_or_default();
    assert_eq!(
        next_cursor(Some(&v), &c),
        None,
        "a repeated continuation would loop"
    );
    let v: Value = serde_json::from_str(r#"{"has_more_items":true}"#).unwrap_or_default();
    assert_eq!(
        next_cursor(Some(&v), &c),
        None,
        "no way to tell the next page"
    );
}

#[test]
fn balanced_object_ignores_braces_in_strings() {
    let s = r#"{"a":"};{\"}","b":[{"c":1}]}; more = {};"#;
    let n = balanced_object_len(s).unwrap_or(0);
    assert_eq!(&s[..n], r#"{"a":"};{\"}","b":[{"c":1}]}"#);
    assert_eq!(balanced_object_len(r#"{"a":"}"#), None);
    assert_eq!(balanced_object_len("nope"), None);
    assert_eq!(balanced_object_len("}}"), None);
}

#[test]
fn api_error_kinds() {
    assert_eq!(parse_api_error(401, b"").kind, ApiErrorKind::Auth);
    assert_eq!(
        parse_api_error(
            400,
            br#"{"error":"INVALID_AUTH","error_description":"bad"}"#
        )
        .kind,
        ApiErrorKind::Auth
    );
    assert_eq!(
        parse_api_error(503, b"Service Unavailable").kind,
        ApiErrorKind::Other
    );
    assert_eq!(
        parse_api_error(503, b"Service  Unavailable\n").description,
        "Service Unavailable"
    );
    assert_eq!(
        parse_api_error(500, b"").to_string(),
        "the Eventbrite API request failed (HTTP 500: no explanation in the response)"
    );
}

#[test]
fn trailing_digits_of_paths() {
    assert_eq!(
        trailing_digits("/e/x-tickets-812345670011/"),
        "812345670011"
    );
    assert_eq!(trailing_digits("/e/x"), "");
    assert_eq!(trailing_digits(""), "");
}
