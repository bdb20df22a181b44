//! Hostile input: pages, JSON and source files no honest site sends. Each case
//! must give a logged warning or a one-sentence error naming where the input
//! came from, never a panic; and a crawl of hostile pages after a good one
//! loses no stored session.

mod checks;
mod common;

use events::config;
use events::platforms::event_booking::EventBookingConfig;
use events::platforms::event_booking::{parse_detail, parse_elearning, parse_listing};
use events::platforms::eventbrite::{
    parse_api_events, parse_event_page, parse_showmore, parse_ticket_classes,
};
use events::present::terminal_safe;
use std::path::Path;
use url::Url;

const BOOKING: &str = "https://walsall.event-booking.org.uk";

fn page(path: &str) -> Url {
    Url::parse(&format!("{BOOKING}{path}")).unwrap()
}

fn cfg() -> EventBookingConfig {
    EventBookingConfig::default()
}

/// A detail page of the fixtures' shape with one sessions-table row.
fn detail_page(title: &str, date: &str, start: &str, end: &str) -> String {
    format!(
        "<html><body><h1>{title}</h1><dl><dt>Places</dt><dd>Places available: 3</dd></dl>\
         <table class=\"sessions\"><tr><th>Date</th><th>Start</th><th>End</th><th>Venue</th></tr>\
         <tr><td>{date}</td><td>{start}</td><td>{end}</td><td>Virtual - MS Teams</td></tr></table>\
         <div class=\"description\"><p>{title}</p></div></body></html>"
    )
}

/// Runs a booking detail parse and returns its sessions and warnings.
fn detail(html: &str) -> (Vec<events::model::Session>, String) {
    let u = page("/events/1001");
    let (out, logs) = common::capture_warnings(|| parse_detail(html, &u, &cfg(), &checks::ctx()));
    (out.expect("a page with a title parses"), logs)
}

fn assert_names(text: &str, what: &str) {
    assert!(text.contains(what), "{what:?} not named in: {text}");
}

// ---------------------------------------------------------------------------
// Booking site pages

#[test]
fn an_empty_page_is_a_warning_or_an_error_naming_it() {
    let listing = page("/events-list");
    let (out, logs) =
        common::capture_warnings(|| parse_listing("", &listing, &cfg(), &checks::ctx()));
    assert!(out.unwrap().entries.is_empty());
    assert_names(&logs, listing.as_str());

    let d = page("/events/1001");
    let err = parse_detail("", &d, &cfg(), &checks::ctx()).unwrap_err();
    assert!(err.to_string().starts_with(d.as_str()), "{err}");

    let (courses, next) =
        parse_elearning("", &page("/elearning-list"), &cfg(), &checks::ctx()).unwrap();
    assert!(courses.is_empty() && next.is_none());
}

#[test]
fn five_mib_of_one_tag_reads_without_a_panic() {
    let html = "<br>".repeat(5 * 1024 * 1024 / 4);
    let listing = page("/events-list");
    let (out, logs) =
        common::capture_warnings(|| parse_listing(&html, &listing, &cfg(), &checks::ctx()));
    assert!(out.unwrap().entries.is_empty());
    assert_names(&logs, listing.as_str());

    let d = page("/events/1001");
    let err = parse_detail(&html, &d, &cfg(), &checks::ctx()).unwrap_err();
    assert!(err.to_string().starts_with(d.as_str()), "{err}");
}

/// 5 MiB of one unclosed tag (a million nested `<div>`s) would take the HTML
/// parser minutes (html5ever walks its stack of open elements for every start
/// tag); pages are screened for nesting in one linear pass before they are
/// parsed (`platforms::parse_html`), so it is refused at once, naming the page.
#[test]
fn five_mib_of_one_nested_tag_is_refused_naming_the_page() {
    let html = "<div>".repeat(5 * 1024 * 1024 / 5);
    let listing = page("/events-list");
    let (out, logs) =
        common::capture_warnings(|| parse_listing(&html, &listing, &cfg(), &checks::ctx()));
    assert!(out.unwrap().entries.is_empty());
    assert_names(&logs, "nested too deeply");
}

#[test]
fn deep_nesting_around_a_real_entry_is_refused_naming_the_page() {
    let entry =
        "<div class=\"event\"><a href=\"/events/1001\">Course</a> 9 April 2027 09:30 - 12:30</div>";
    let html = format!(
        "{}{entry}{}",
        "<span>".repeat(20_000),
        "</span>".repeat(20_000)
    );
    let el = page("/elearning-list");
    let (out, logs) =
        common::capture_warnings(|| parse_elearning(&html, &el, &cfg(), &checks::ctx()));
    assert!(out.unwrap().0.is_empty());
    assert_names(&logs, el.as_str());
    checks::booking_listing(&html);
}

#[test]
fn invalid_utf8_and_windows_1252_text_read_without_a_panic() {
    // What the fetcher hands the parsers: bytes decoded lossily.
    let mut bytes = detail_page(
        "Neglect \u{2013} Level 2",
        "Friday 9 April 2027",
        "09:30",
        "12:30",
    )
    .into_bytes();
    // Windows-1252: an en dash (0x96) and é (0xE9); plus bytes never valid in UTF-8.
    bytes.extend_from_slice(b"<p>Caf\xe9 \x96 \xff\xfe\xc0\x80</p>");
    let html = String::from_utf8_lossy(&bytes);
    let (sessions, _) = detail(&html);
    assert_eq!(sessions.len(), 1, "the readable session is kept");
    assert_eq!(sessions[0].title, "Neglect \u{2013} Level 2");
    checks::booking_listing(&html);
    checks::eventbrite(&bytes);
}

#[test]
fn impossible_dates_and_times_are_row_warnings_naming_the_page() {
    for (date, start, end, why) in [
        ("31/02/2027", "09:30", "12:30", "date unreadable"),
        ("Friday 9 April 2027", "25:00", "26:00", "times unreadable"),
        (
            "Friday 9 April 2027",
            "16:30",
            "09:30",
            "ends before it starts",
        ),
        // the clocks go forward over 01:30 on 28 March 2027
        (
            "Sunday 28 March 2027",
            "01:30",
            "02:30",
            "does not exist locally",
        ),
    ] {
        let (sessions, logs) = detail(&detail_page("Course", date, start, end));
        assert!(sessions.is_empty(), "{date} {start}-{end} was read");
        assert_names(&logs, why);
        assert_names(&logs, page("/events/1001").as_str());
    }
}

#[test]
fn a_ten_thousand_character_title_is_kept_whole_and_folded_in_the_feed() {
    let title = "Safeguarding ".repeat(800)[..10_000].to_string();
    let (sessions, logs) = detail(&detail_page(
        &title,
        "Friday 9 April 2027",
        "09:30",
        "12:30",
    ));
    assert!(logs.is_empty(), "{logs}");
    assert_eq!(sessions[0].title.trim(), title.trim());
    checks::feed_round_trip(&[checks::SessionText {
        title,
        ..Default::default()
    }]);
}

#[test]
fn control_characters_bidi_marks_and_emoji_stay_out_of_terminals_and_feeds() {
    let title =
        "Neglect\u{1b}[2J\u{1b}]0;pwned\u{7}\u{202e}2 leveL\u{202c} \u{1f600}\u{0}\r\nBEGIN:VEVENT";
    let html = detail_page(title, "Friday 9 April 2027", "09:30", "12:30");
    let (sessions, _) = detail(&html);
    assert_eq!(sessions.len(), 1);
    let shown = terminal_safe(&sessions[0].title);
    assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
    assert!(!shown.contains('\u{202e}'), "{shown:?}");
    assert!(shown.contains('\u{1f600}'), "emoji are text: {shown:?}");
    checks::feed_round_trip(&[checks::SessionText {
        title: sessions[0].title.clone(),
        description: title.into(),
        venue: title.into(),
        ..Default::default()
    }]);
}

// ---------------------------------------------------------------------------
// Eventbrite JSON and pages

fn api() -> Url {
    Url::parse("https://www.eventbriteapi.com/v3/organizers/1/events/").unwrap()
}

#[test]
fn json_of_the_wrong_shape_is_an_error_naming_the_address() {
    let api = api();
    for body in [
        &b""[..],
        b"null",
        b"[]",
        b"{\"events\": \"none\"}",
        b"{\"events\": [",
        b"\xff\xfe{}",
        b"<html><body>403 Forbidden</body></html>",
    ] {
        let err = parse_api_events(body, &api, &checks::ctx()).unwrap_err();
        assert!(err.to_string().starts_with(api.as_str()), "{err}");
        let err = parse_ticket_classes(body, &api).unwrap_err();
        assert!(err.to_string().starts_with(api.as_str()), "{err}");
        let err = parse_showmore(body, &api, &checks::ctx()).unwrap_err();
        assert!(err.to_string().starts_with(api.as_str()), "{err}");
    }
}

#[test]
fn events_with_wrong_types_or_missing_fields_are_skipped_with_a_warning() {
    let api = api();
    let body = br#"{"events": [
        7,
        {"id": 12, "name": {"text": "Number id"}},
        {"id": "13", "name": "not an object", "start": {"utc": "2027-04-09T08:30:00Z"}},
        {"id": "14", "name": {"text": "No times"}},
        {"id": "15", "name": {"text": "Bad times"}, "start": {"utc": "2027-02-31T25:00:00Z", "local": "x", "timezone": "Mars/Olympus"}, "end": {"utc": true}},
        {"id": "16", "name": {"text": "Ends first"}, "start": {"utc": "2027-04-09T12:00:00Z", "local": "2027-04-09T13:00:00", "timezone": "Europe/London"}, "end": {"utc": "2027-04-09T08:00:00Z", "local": "2027-04-09T09:00:00", "timezone": "Europe/London"}}
    ], "pagination": {"has_more_items": "yes", "page_number": -1}}"#;
    let (out, logs) = common::capture_warnings(|| parse_api_events(body, &api, &checks::ctx()));
    let page = out.expect("a list with bad entries still parses");
    for r in &page.entries {
        assert!(r.end >= r.start, "{r:?}");
    }
    assert!(page.entries.len() < 6, "malformed entries were kept");
    assert_names(&logs, "skipping Eventbrite event");
    assert_names(&logs, api.as_str());

    let classes = br#"{"ticket_classes": [1, {"quantity_total": "ten", "quantity_sold": -3}, {"quantity_total": 4294967296, "quantity_sold": 1}]}"#;
    let (out, logs) = common::capture_warnings(|| parse_ticket_classes(classes, &api));
    assert!(out.is_ok());
    assert_names(&logs, api.as_str());
}

#[test]
fn an_event_page_of_junk_is_an_error_naming_it() {
    let u = Url::parse("https://www.eventbrite.co.uk/e/x-tickets-1").unwrap();
    for html in [
        String::new(),
        "<div>".repeat(1 << 20),
        "<script type=\"application/ld+json\">{\"@type\": [1, {}], \"eventStatus\": 7</script>\
         <script>window.__SERVER_DATA__ = {\"a\": [[[[[[[[[[[[{\"b\": \"</script>"
            .to_string(),
    ] {
        let (out, logs) = common::capture_warnings(|| parse_event_page(&html, &u));
        match out {
            Err(e) => assert!(e.to_string().starts_with(u.as_str()), "{e}"),
            Ok(_) => assert_names(&logs, u.as_str()),
        }
    }
}

// ---------------------------------------------------------------------------
// Source files

#[test]
fn a_source_file_with_every_field_wrong_is_refused_naming_file_line_and_field() {
    let file = Path::new("sources/broken.toml");
    let good = "id = \"wsp\"\nname = \"WSP\"\nkind = \"event-booking\"\nbase_url = \"https://walsall.event-booking.org.uk\"\n";
    let everything_wrong =
        "id = \"W S P\"\nname = 7\nkind = \"ftp\"\nbase_url = \"file:///etc/passwd\"\n\
        timezone = \"Mars/Olympus\"\nrequests_per_second = -1\npoll_interval = \"soon\"\n\
        min_fraction = 7.5\nmystery = true\n[limits]\nmax_body_bytes = \"lots\"\n";
    let err = config::parse_source(file, everything_wrong)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("sources/broken.toml:"), "{err}");
    // Each wrong field on its own, in an otherwise good file, is named.
    for (line, field) in [
        ("id = \"W S P\"", "id"),
        ("name = 7", "name"),
        ("kind = \"ftp\"", "kind"),
        ("base_url = \"file:///etc/passwd\"", "base_url"),
        ("timezone = \"Mars/Olympus\"", "timezone"),
        ("requests_per_second = -1", "requests_per_second"),
        ("poll_interval = \"soon\"", "poll_interval"),
        ("min_fraction = 7.5", "min_fraction"),
        ("mystery = true", "mystery"),
        ("max_body_bytes = \"lots\"", "max_body_bytes"),
    ] {
        let mut text = String::new();
        for l in good.lines() {
            let key = l.split(" = ").next().unwrap();
            if !line.starts_with(&format!("{key} =")) {
                text.push_str(l);
                text.push('\n');
            }
        }
        if field == "max_body_bytes" {
            text.push_str("[limits]\n");
        }
        text.push_str(line);
        text.push('\n');
        let err = config::parse_source(file, &text)
            .err()
            .unwrap_or_else(|| panic!("{line} was accepted"))
            .to_string();
        assert!(err.starts_with("sources/broken.toml:"), "{err}");
        assert!(err.contains(field), "{field} not named in: {err}");
        assert!(!err.trim_end().contains('\n'), "not one line: {err}");
    }
    // Bytes that are not TOML at all.
    let err = config::parse_source(file, "\u{0}\u{202e}[[[\u{1f600}").unwrap_err();
    assert!(err.to_string().starts_with("sources/broken.toml:"), "{err}");
}

/// The oracles the newer fuzz targets run (schema.org pages, backup files,
/// settings files, paging cursors, `Link` headers) hold on real inputs too, so a broken oracle fails here
/// before it fails a fuzz run.
#[test]
fn the_newer_fuzz_oracles_hold_on_real_inputs() {
    let fixture = |name: &str| common::fixture_text("schema-org", name);
    checks::schema_org_listing(&fixture("events.html"));
    checks::schema_org_listing(&fixture("events_page_2.html"));
    for page in [
        "event_neglect-level-2.html",
        "event_prevent-awareness.html",
        "event_working-together.html",
    ] {
        checks::schema_org_event_page(&fixture(page));
    }
    checks::schema_org_event_page("<html><body>no JSON-LD</body></html>");

    // A real backup, then the same cut short and flipped.
    let dir = tempfile::tempdir().unwrap();
    let store = events::store::Store::open(&dir.path().join("data")).unwrap();
    let mut bytes = Vec::new();
    events::backup::write(&store, checks::now(), &mut bytes).unwrap();
    let whole = events::backup::verify_from(Path::new(checks::BACKUP_FILE), &bytes[..]);
    assert!(whole.is_ok(), "{whole:?}");
    checks::backup_file(&bytes);
    checks::backup_file(&bytes[..bytes.len() / 2]);
    checks::backup_file(b"EVENTS-BACKUP 1\n{}");

    checks::settings_file("title = \"Walsall training\"\npublic_url = \"https://x.example\"\n");
    checks::settings_file("titel = 1\n");
    checks::settings_file("title = \"unclosed\n");

    // Cursors: the server's own, and a short time at the longest value read
    // (once read, and written back a byte too long to read again).
    checks::cursor_param("20270705T083000Z_wsp-1001-1@events_x");
    checks::cursor_param(&format!("20270705T83000Z_{}", "u".repeat(496)));
    checks::cursor_param("20270705T083000Z_ padded ");
    // Link headers: the server's own, another API's list, and broken ones.
    checks::link_header("</api/sessions?after=20270105T093000Z_a&limit=5>; rel=\"next\"");
    checks::link_header("<https://x.example/?p=1>; rel=prev, <https://x.example/?p=3>; rel=next");
    checks::link_header("<<>>; rel=next, <;>;>; rel=\"next\"");
    checks::link_header("");
    // Merging's keys: titles as sources word them, odd ones, and links.
    for text in [
        "WSP - Understanding Neglect L2 (Online)",
        "understanding  neglect lvl 2 via Teams",
        "(Online)",
        "VRP:",
        "'''  '",
        "lvl two via via Teams (Zoom) [MS Teams] - f2f",
        "Level Three&&&L3 — Children’s voices",
        "https://www.wsp.example/events/1/?aff=ebapi&b=2&a=1#x",
        "HTTP://user@Host:81/x?utm_source=a",
        "https://",
        // Found by fuzzing: an apostrophe inside `l'7` hid the level.
        "o unct\"l'7 & vl -#-4WB v1;&",
    ] {
        checks::duplicate_keys(text);
    }
}
