//! The Eventbrite adapter against the fixtures in `tests/fixtures/eventbrite/`
//! (their truth table is in that directory's README), with a frozen clock.
//!
//! Covers both access paths field by field, proves they give the same sessions,
//! and feeds the parsers garbage to show they fail with errors, never panics.

mod common;

use common::utc;

use events::config::parse_source;
use events::model::{Availability, Session, SessionKey, Status};
use events::platforms::eventbrite::EventbriteConfig;
use events::platforms::eventbrite::{
    api_events_url, api_ticket_classes_url, apply_page_facts, apply_ticket_totals, event_page_url,
    parse_api_error, parse_api_events, parse_event_page, parse_showmore, parse_ticket_classes,
    showmore_url, ApiErrorKind, EventRecord, PageCursor, PageFacts, TicketTotals, MAX_BODY_BYTES,
};
use events::platforms::SourceContext;
use std::path::{Path, PathBuf};
use url::Url;

const ORG: &str = "98765432101";
const CONTINUATION: &str = "eyJwYWdlIjogMiwgInNpemUiOiAzfQ";

fn ctx() -> SourceContext {
    common::reader_context("vrp")
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eventbrite")
}

fn fixture(name: &str) -> Vec<u8> {
    common::fixture_bytes("eventbrite", name)
}

fn api() -> Url {
    Url::parse("https://www.eventbriteapi.com/v3").unwrap()
}

fn site() -> Url {
    Url::parse("https://www.eventbrite.co.uk").unwrap()
}

fn ids(events: &[EventRecord]) -> Vec<&str> {
    events.iter().map(|e| e.event_id.as_str()).collect()
}

fn find<'a>(events: &'a [EventRecord], id: &str) -> &'a EventRecord {
    events
        .iter()
        .find(|e| e.event_id == id)
        .unwrap_or_else(|| panic!("event {id} missing"))
}

// ---------------------------------------------------------------------------
// The source file

#[test]
fn vrp_source_file_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sources/vrp.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let cfg = parse_source(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.id, "vrp");
    assert_eq!(cfg.name, "West Midlands Violence Reduction Partnership");
    assert_eq!(cfg.base_url.as_str(), "https://www.eventbrite.co.uk/");
    assert_eq!(cfg.timezone, chrono_tz::Europe::London);
    assert_eq!(cfg.requests_per_second, 1.0);
    assert_eq!(cfg.poll_interval, std::time::Duration::from_secs(30 * 60));
    let eb = cfg
        .settings::<EventbriteConfig>()
        .expect("vrp.toml is an eventbrite source");
    assert_eq!(
        eb.organizer_id, None,
        "left empty until someone looks it up"
    );
    assert_eq!(eb.api_url.as_str(), "https://www.eventbriteapi.com/v3");
    assert_eq!(eb.token_env, "EVENTBRITE_TOKEN");
    assert!(text.contains("/o/"), "the file says how to find the id");
}

// ---------------------------------------------------------------------------
// URLs (these are the request lines of the README's URL → file mapping)

#[test]
fn request_urls_match_the_fixture_mapping() {
    assert_eq!(
        api_events_url(&api(), ORG, &PageCursor::First).as_str(),
        "https://www.eventbriteapi.com/v3/organizers/98765432101/events/?status=live,started,canceled&only_public=true&order_by=start_asc&expand=venue,ticket_availability"
    );
    assert_eq!(
        api_events_url(&api(), ORG, &PageCursor::Continuation(CONTINUATION.into())).as_str(),
        format!("https://www.eventbriteapi.com/v3/organizers/98765432101/events/?status=live,started,canceled&only_public=true&order_by=start_asc&expand=venue,ticket_availability&continuation={CONTINUATION}")
    );
    assert_eq!(
        api_events_url(&api(), ORG, &PageCursor::Page(3)).as_str(),
        "https://www.eventbriteapi.com/v3/organizers/98765432101/events/?status=live,started,canceled&only_public=true&order_by=start_asc&expand=venue,ticket_availability&page=3"
    );
    assert_eq!(
        api_ticket_classes_url(&api(), "812345670011", &PageCursor::First).as_str(),
        "https://www.eventbriteapi.com/v3/events/812345670011/ticket_classes/"
    );
    assert_eq!(
        showmore_url(&site(), ORG, 1).as_str(),
        "https://www.eventbrite.co.uk/org/98765432101/showmore/?type=future&page_size=50&page=1"
    );
}

// ---------------------------------------------------------------------------
// Token path

fn api_page(n: u32) -> (Url, Vec<u8>) {
    let cursor = match n {
        1 => PageCursor::First,
        2 => PageCursor::Continuation(CONTINUATION.into()),
        n => PageCursor::Page(n),
    };
    (
        api_events_url(&api(), ORG, &cursor),
        fixture(&format!("api_events_page{n}.json")),
    )
}

#[test]
fn api_pages_follow_continuation_then_page_number() {
    let (u, b) = api_page(1);
    let p1 = parse_api_events(&b, &u, &ctx()).unwrap();
    assert_eq!(
        ids(&p1.entries),
        ["812345670011", "812345670022", "812345670044"]
    );
    assert_eq!(p1.next, Some(PageCursor::Continuation(CONTINUATION.into())));

    let (u, b) = api_page(2);
    let (p2, log) = common::capture_warnings(|| parse_api_events(&b, &u, &ctx()).unwrap());
    // 812345670066 has no end and 812345670077 is malformed: both skipped, named
    assert_eq!(ids(&p2.entries), ["812345670055"]);
    assert_eq!(
        p2.next,
        Some(PageCursor::Page(3)),
        "no continuation: page number"
    );
    assert!(log.contains("812345670066"), "{log}");
    assert!(log.contains("no end time"), "{log}");
    assert!(log.contains("812345670077"), "{log}");
    assert!(log.contains("Trauma Informed Practice"), "{log}");

    let (u, b) = api_page(3);
    let p3 = parse_api_events(&b, &u, &ctx()).unwrap();
    assert_eq!(ids(&p3.entries), ["812345670033", "812345670088"]);
    assert_eq!(p3.next, None);
}

#[test]
fn the_api_is_asked_for_public_and_cancelled_events_never_drafts() {
    let u = api_events_url(&api(), ORG, &PageCursor::First);
    let pairs: Vec<(String, String)> = u.query_pairs().into_owned().collect();
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {k} in {u}"))
    };
    let statuses: Vec<&str> = get("status").split(',').collect();
    assert!(
        statuses.contains(&"live") && statuses.contains(&"canceled"),
        "{u}"
    );
    assert!(
        !statuses.contains(&"draft") && !statuses.contains(&"all"),
        "{u}"
    );
    assert_eq!(get("only_public"), "true");
}

/// The titles of the fixture's events that are not public (README truth table).
const PRIVATE_TITLES: [&str; 3] = [
    "Partnership Board Away Day",
    "Case Review Panel Members Only",
    "Draft Course Not Yet Announced",
];

#[test]
fn unlisted_invite_only_and_draft_api_events_are_left_out() {
    let (u, b) = api_page(3);
    let (page, log) = common::capture_logs(tracing::Level::INFO, || {
        parse_api_events(&b, &u, &ctx()).unwrap()
    });
    assert_eq!(ids(&page.entries), ["812345670033", "812345670088"]);
    for (id, why) in [
        ("812345670111", "not listed"),
        ("812345670122", "invite only"),
        ("812345670133", "status `draft` is not public"),
    ] {
        assert!(
            log.lines().any(|l| l.contains(id) && l.contains(why)),
            "{id} ({why}) not named in {log}"
        );
    }
    for title in PRIVATE_TITLES {
        assert!(!log.contains(title), "a private title was logged: {log}");
    }
    // Nothing is wrong with such an answer: no warning (warnings count as errors).
    let (_, warnings) = common::capture_warnings(|| parse_api_events(&b, &u, &ctx()).unwrap());
    assert_eq!(warnings, "");
}

#[test]
fn publication_rules_per_access_path() {
    let entry = |extra: &str| {
        format!(
            r#"{{"id":"812345670201","name":{{"text":"T"}},
            "start":{{"utc":"2027-01-20T10:00:00Z"}},"end":{{"utc":"2027-01-20T12:00:00Z"}}{extra}}}"#
        )
    };
    let api_ids = |extra: &str| {
        let body = format!(r#"{{"events":[{}]}}"#, entry(extra));
        parse_api_events(body.as_bytes(), &any_url(), &ctx())
            .unwrap()
            .entries
    };
    let public_ids = |extra: &str| {
        let body = format!(
            r#"{{"success":true,"data":{{"has_next_page":false,"events":[{}]}}}}"#,
            entry(extra)
        );
        parse_showmore(body.as_bytes(), &any_url(), &ctx())
            .unwrap()
            .events
    };
    // The API must give a public status; `listed` must not be false.
    for kept in [
        "live",
        "started",
        "ended",
        "completed",
        "canceled",
        " Cancelled ",
    ] {
        let e = api_ids(&format!(
            r#","status":"{kept}","listed":true,"shareable":true"#
        ));
        assert_eq!(e.len(), 1, "{kept}");
        let cancelled = kept.trim().to_ascii_lowercase().starts_with("cancel");
        assert_eq!(e[0].status == Status::Cancelled, cancelled, "{kept}");
    }
    // `shareable` only hides sharing buttons; `listed` and `invite_only` are
    // public when they are not said otherwise.
    for kept in [
        r#","status":"live","listed":true,"shareable":false"#,
        r#","status":"live","listed":true,"invite_only":false,"shareable":false"#,
        r#","status":"live""#,
        r#","status":"live","listed":null,"invite_only":null"#,
    ] {
        assert_eq!(api_ids(kept).len(), 1, "{kept}");
    }
    for left_out in [
        r#","status":"draft","listed":true"#,
        r#","status":"live","listed":false"#,
        r#","status":"live","listed":true,"invite_only":true"#,
        r#","status":"live","invite_only":true,"shareable":true"#,
        r#","status":"live","listed":"yes""#,
        r#","status":"live","invite_only":"no""#,
        r#","listed":true"#,
        r#","status":7,"listed":true"#,
        r#","status":"unknown","listed":true"#,
    ] {
        assert!(api_ids(left_out).is_empty(), "{left_out}");
    }
    // The public list says none of these, and is trusted for that; but not
    // against itself.
    assert_eq!(public_ids("").len(), 1);
    assert_eq!(public_ids(r#","shareable":false"#).len(), 1);
    assert!(public_ids(r#","listed":false"#).is_empty());
    assert!(public_ids(r#","invite_only":true"#).is_empty());
    assert!(public_ids(r#","status":"draft""#).is_empty());
}

/// An event created through the API: Eventbrite sets `shareable: false` by
/// default, yet the event is listed and public. Both paths keep it.
#[test]
fn an_event_created_through_the_api_is_public_on_both_paths() {
    let u = api_events_url(&api(), ORG, &PageCursor::First);
    let (page, log) = common::capture_logs(tracing::Level::INFO, || {
        parse_api_events(&fixture("api_events_created_through_api.json"), &u, &ctx()).unwrap()
    });
    assert_eq!(ids(&page.entries), ["812345670144"], "{log}");
    let api = &page.entries[0];
    assert_eq!(api.title, "Working Together to Safeguard Children Briefing");
    assert_eq!(api.start, utc("2027-10-06T09:00:00Z"));
    assert_eq!(api.status, Status::Scheduled);
    assert!(!log.contains("left out"), "{log}");

    let u = showmore_url(&site(), ORG, 1);
    let public = parse_showmore(&fixture("showmore_shareable_false.json"), &u, &ctx()).unwrap();
    assert_eq!(ids(&public.events), ["812345670144"]);
    assert_eq!(public.events[0].title, api.title);
    assert_eq!(public.events[0].start, api.start);
}

fn all_api_records() -> Vec<EventRecord> {
    (1..=3)
        .flat_map(|n| {
            let (u, b) = api_page(n);
            parse_api_events(&b, &u, &ctx()).unwrap().entries
        })
        .collect()
}

#[test]
fn api_events_field_by_field() {
    let all = all_api_records();

    let aces = find(&all, "812345670011");
    assert_eq!(
        aces.title,
        "An Introduction to Adverse Childhood Experiences (ACEs)"
    );
    assert_eq!(aces.start, utc("2027-01-20T10:00:00Z"), "GMT: London = UTC");
    assert_eq!(aces.end, utc("2027-01-20T12:30:00Z"));
    assert!(!aces.online);
    assert_eq!(
        aces.venue.as_deref(),
        Some("Birmingham Council House, Victoria Square, Birmingham B1 1BB")
    );
    assert_eq!(
        aces.url,
        "https://www.eventbrite.co.uk/e/an-introduction-to-adverse-childhood-experiences-aces-tickets-812345670011",
        "?aff=ebapi stripped"
    );
    assert_eq!(
        aces.description.as_deref(),
        Some("What adverse childhood experiences are, how they affect children and adults, and what professionals can do.")
    );
    assert_eq!(aces.status, Status::Scheduled);
    assert_eq!(
        aces.availability,
        Availability::default(),
        "no count until ticket classes"
    );

    let webinar = find(&all, "812345670022");
    assert!(webinar.online);
    assert_eq!(webinar.venue.as_deref(), Some("Online"));
    assert_eq!(webinar.status, Status::Full, "is_sold_out");
    assert_eq!(webinar.availability.spaces_left, Some(0));
    assert!(!webinar.availability.waitlist);

    let briefing = find(&all, "812345670044");
    assert_eq!(briefing.title, "Serious Violence Duty Briefing");
    assert_eq!(briefing.status, Status::Cancelled);

    let trauma = find(&all, "812345670033");
    assert_eq!(
        trauma.start,
        utc("2027-06-15T09:00:00Z"),
        "BST: 10:00 London"
    );
    assert_eq!(trauma.end, utc("2027-06-15T15:00:00Z"));
    assert_eq!(
        trauma.venue.as_deref(),
        Some("Aston University Conference Centre, Aston Triangle, Birmingham B4 7ET")
    );

    let walsall = find(&all, "812345670088");
    assert_eq!(walsall.start, utc("2027-11-03T09:30:00Z"));
    assert_eq!(
        walsall.end,
        utc("2027-11-03T16:30:00Z"),
        "no `utc`: converted from local + timezone"
    );

    let s = aces.clone().into_session(&ctx());
    assert_eq!(s.source, "vrp");
    assert_eq!(s.event_id, "812345670011");
    assert_eq!(s.key, SessionKey::nth(1));
    assert_eq!(s.timezone, "Europe/London");
    assert_eq!(
        s.uid().as_str(),
        "vrp-812345670011-1@events.safeguarding-training"
    );
}

#[test]
fn ticket_classes_sum_places_and_skip_hidden() {
    let u = api_ticket_classes_url(&api(), "812345670011", &PageCursor::First);
    let p = parse_ticket_classes(&fixture("api_ticket_classes_812345670011.json"), &u).unwrap();
    assert_eq!(
        p.totals,
        TicketTotals {
            counted: 2,
            spaces_left: Some(12),
            capacity: Some(50)
        }
    );
    assert_eq!(p.next, None);

    let u = api_ticket_classes_url(&api(), "812345670088", &PageCursor::First);
    let p = parse_ticket_classes(&fixture("api_ticket_classes_812345670088.json"), &u).unwrap();
    assert_eq!(p.totals.counted, 1, "the hidden class is not bookable");
    assert_eq!(p.totals.spaces_left, Some(25));
    assert_eq!(p.totals.capacity, Some(30));

    // a class that oversold never gives negative places
    let body = br#"{"ticket_classes":[{"quantity_total":10,"quantity_sold":12},{"quantity_total":5,"quantity_sold":1}]}"#;
    let p = parse_ticket_classes(body, &u).unwrap();
    assert_eq!(p.totals.spaces_left, Some(4));
    assert_eq!(p.totals.capacity, Some(15));

    // a class without numbers makes the sum unknown rather than wrong
    let body = br#"{"ticket_classes":[{"quantity_total":10,"quantity_sold":2},{"name":"?"}]}"#;
    assert_eq!(
        parse_ticket_classes(body, &u).unwrap().totals.spaces_left,
        None
    );

    // totals of two pages add up
    let a = TicketTotals {
        counted: 1,
        spaces_left: Some(3),
        capacity: Some(10),
    };
    assert_eq!(a.merge(TicketTotals::default()), a);
    assert_eq!(a.merge(a).spaces_left, Some(6));
}

#[test]
fn refused_ticket_classes_fall_back_to_ticket_availability() {
    let e = parse_api_error(403, &fixture("api_ticket_classes_812345670033_403.json"));
    assert_eq!(e.kind, ApiErrorKind::Forbidden);
    assert_eq!(e.code.as_deref(), Some("NOT_AUTHORIZED"));
    let mut trauma = find(&all_api_records(), "812345670033").clone();
    let before = trauma.clone();
    apply_ticket_totals(&mut trauma, &TicketTotals::default());
    assert_eq!(trauma, before, "nothing counted, nothing changed");
    assert_eq!(trauma.status, Status::Scheduled);
    // No count: the session says "places not published" (see `into_session`).
    assert_eq!(trauma.availability, Availability::default());
    assert!(trauma.clone().into_session(&ctx()).availability.unpublished);
}

#[test]
fn api_errors_are_classified_and_described() {
    let e = parse_api_error(401, &fixture("api_error_401.json"));
    assert_eq!(e.kind, ApiErrorKind::Auth);
    assert_eq!(e.status, 401);
    assert_eq!(e.code.as_deref(), Some("NO_AUTH"));
    assert_eq!(
        e.to_string(),
        "the Eventbrite API refused the token (HTTP 401 NO_AUTH: An OAuth token is required for all requests)"
    );

    let e = parse_api_error(429, &fixture("api_error_429.json"));
    assert_eq!(e.kind, ApiErrorKind::RateLimited);
    assert_eq!(e.code.as_deref(), Some("HIT_RATE_LIMIT"));

    let e = parse_api_error(403, &fixture("cdn_403.html"));
    assert_eq!(e.kind, ApiErrorKind::Forbidden);
    assert_eq!(e.code, None);
    assert_eq!(
        e.description,
        "Access Denied You don't have permission to access \"http://www.eventbriteapi.com/v3/organizers/98765432101/events/\" on this server."
    );
    let shown = e.to_string();
    assert!(
        shown
            .starts_with("the Eventbrite API does not allow this request (HTTP 403: Access Denied"),
        "{shown}"
    );
    assert!(
        !shown.contains('<') && !shown.contains("font-family"),
        "{shown}"
    );

    let e = parse_api_error(404, br#"{"status_code":404,"error":"NOT_FOUND","error_description":"The organizer you requested does not exist."}"#);
    assert_eq!(e.kind, ApiErrorKind::NotFound);
    let e = parse_api_error(400, br#"{"status_code":400,"error":"BAD_PAGE","error_description":"The page number you provided is invalid."}"#);
    assert_eq!(e.kind, ApiErrorKind::Other);
    assert_eq!(e.description, "The page number you provided is invalid.");
}

// ---------------------------------------------------------------------------
// Public path

fn showmore_page(n: u32) -> (Url, Vec<u8>) {
    (
        showmore_url(&site(), ORG, n),
        fixture(&format!("showmore_page{n}.json")),
    )
}

#[test]
fn showmore_pages() {
    let (u, b) = showmore_page(1);
    let (p1, log) = common::capture_warnings(|| parse_showmore(&b, &u, &ctx()).unwrap());
    assert_eq!(
        ids(&p1.events),
        [
            "812345670011",
            "812345670022",
            "812345670044",
            "812345670055"
        ]
    );
    assert!(p1.has_next_page, "fewer than 50 returned, but more to come");
    assert!(
        log.contains("812345670066") && log.contains("no end time"),
        "{log}"
    );

    let (u, b) = showmore_page(2);
    let p2 = parse_showmore(&b, &u, &ctx()).unwrap();
    assert_eq!(ids(&p2.events), ["812345670033", "812345670088"]);
    assert!(!p2.has_next_page);

    let webinar = find(&p1.events, "812345670022");
    assert_eq!(webinar.venue.as_deref(), Some("Online"));
    assert_eq!(
        webinar.url,
        "https://www.eventbrite.co.uk/e/exploitation-webinar-tickets-812345670022"
    );
    assert_eq!(webinar.status, Status::Scheduled, "the list does not say");
    let trauma = find(&p2.events, "812345670033");
    assert_eq!(trauma.start, utc("2027-06-15T09:00:00Z"));
}

fn page_facts(id: &str, record_url: &str) -> PageFacts {
    let u = event_page_url(&site(), record_url).expect("event page URL");
    assert!(u.path().ends_with(id), "{u}");
    let html = String::from_utf8(fixture(&format!("event_{id}.html"))).unwrap();
    parse_event_page(&html, &u).unwrap_or_else(|e| panic!("{e}"))
}

fn page_url_of(id: &str) -> String {
    let (u, b) = showmore_page(1);
    let mut all = parse_showmore(&b, &u, &ctx()).unwrap().events;
    let (u, b) = showmore_page(2);
    all.extend(parse_showmore(&b, &u, &ctx()).unwrap().events);
    find(&all, id).url.clone()
}

#[test]
fn event_pages_field_by_field() {
    // JSON-LD array + server data whose strings hold `};` and braces
    let f = page_facts("812345670011", &page_url_of("812345670011"));
    assert_eq!(
        f,
        PageFacts {
            status: None,
            availability: Some(Availability {
                spaces_left: Some(12),
                capacity: Some(50),
                waitlist: false,
                unpublished: false,
            }),
            sold_out: false,
            postponed: false,
        }
    );
    // @graph, SoldOut
    let f = page_facts("812345670022", &page_url_of("812345670022"));
    assert!(f.sold_out);
    assert_eq!(f.availability.and_then(|a| a.spaces_left), Some(0));
    // EventCancelled (the API agrees)
    let f = page_facts("812345670044", &page_url_of("812345670044"));
    assert_eq!(f.status, Some(Status::Cancelled));
    assert_eq!(f.availability.and_then(|a| a.spaces_left), Some(48));
    // EventCancelled (the API still says live)
    let f = page_facts("812345670055", &page_url_of("812345670055"));
    assert_eq!(f.status, Some(Status::Cancelled));
    // JSON-LD only: InStock, numbers unknown
    let f = page_facts("812345670033", &page_url_of("812345670033"));
    assert_eq!(f, PageFacts::default());
    // offers array, LimitedAvailability; hidden class not on the page
    let f = page_facts("812345670088", &page_url_of("812345670088"));
    assert_eq!(f.availability.and_then(|a| a.spaces_left), Some(25));
    assert_eq!(f.availability.and_then(|a| a.capacity), Some(30));
    assert!(!f.sold_out);
}

// ---------------------------------------------------------------------------
// Both paths agree

/// What the crawler does with a token: list pages, then ticket classes per event,
/// falling back to `ticket_availability` when they are refused.
fn token_path() -> Vec<Session> {
    let mut out = Vec::new();
    for mut record in all_api_records() {
        let ok = dir().join(format!("api_ticket_classes_{}.json", record.event_id));
        let refused = dir().join(format!("api_ticket_classes_{}_403.json", record.event_id));
        let u = api_ticket_classes_url(&api(), &record.event_id, &PageCursor::First);
        if ok.exists() {
            let page = parse_ticket_classes(&std::fs::read(ok).unwrap(), &u).unwrap();
            assert_eq!(page.next, None);
            apply_ticket_totals(&mut record, &page.totals);
        } else {
            let e = parse_api_error(403, &std::fs::read(refused).unwrap());
            assert_eq!(e.kind, ApiErrorKind::Forbidden);
        }
        out.push(record.into_session(&ctx()));
    }
    out
}

/// What the crawler does without a token: showmore pages, then each event page.
fn public_path() -> Vec<Session> {
    let mut out = Vec::new();
    for n in 1..=2 {
        let (u, b) = showmore_page(n);
        for mut record in parse_showmore(&b, &u, &ctx()).unwrap().events {
            let facts = page_facts(&record.event_id, &record.url.clone());
            apply_page_facts(&mut record, &facts);
            out.push(record.into_session(&ctx()));
        }
    }
    out
}

/// The README's truth table: id, start, end, online, status, spaces, capacity.
#[allow(clippy::type_complexity)]
const TRUTH: &[(&str, &str, &str, bool, Status, Option<u32>, Option<u32>)] = &[
    (
        "812345670011",
        "2027-01-20T10:00:00Z",
        "2027-01-20T12:30:00Z",
        false,
        Status::Scheduled,
        Some(12),
        Some(50),
    ),
    (
        "812345670022",
        "2027-02-03T13:00:00Z",
        "2027-02-03T14:30:00Z",
        true,
        Status::Full,
        Some(0),
        Some(100),
    ),
    (
        "812345670044",
        "2027-03-10T10:00:00Z",
        "2027-03-10T11:00:00Z",
        true,
        Status::Cancelled,
        Some(48),
        Some(60),
    ),
    (
        "812345670055",
        "2027-04-14T13:00:00Z",
        "2027-04-14T14:30:00Z",
        true,
        Status::Cancelled,
        Some(65),
        Some(100),
    ),
    (
        "812345670033",
        "2027-06-15T09:00:00Z",
        "2027-06-15T15:00:00Z",
        false,
        Status::Scheduled,
        None,
        None,
    ),
    (
        "812345670088",
        "2027-11-03T09:30:00Z",
        "2027-11-03T16:30:00Z",
        false,
        Status::Scheduled,
        Some(25),
        Some(30),
    ),
];

#[test]
fn public_path_matches_truth_table() {
    let sessions = public_path();
    assert_eq!(sessions.len(), TRUTH.len());
    for (s, (id, start, end, online, status, spaces, capacity)) in sessions.iter().zip(TRUTH) {
        assert_eq!(s.event_id, *id);
        assert_eq!(s.start, utc(start), "{id}");
        assert_eq!(s.end, utc(end), "{id}");
        assert_eq!(s.online, *online, "{id}");
        assert_eq!(s.status, *status, "{id}");
        assert_eq!(s.availability.spaces_left, *spaces, "{id}");
        assert_eq!(s.availability.capacity, *capacity, "{id}");
        assert!(!s.availability.waitlist, "{id}");
        assert!(!s.url.contains('?'), "{id}");
    }
}

#[test]
fn both_paths_give_the_same_sessions() {
    let token = token_path();
    let public = public_path();
    assert_eq!(token.len(), public.len());
    for (t, p) in token.iter().zip(&public) {
        assert_eq!(t.uid(), p.uid());
        if t.event_id == "812345670055" {
            // The documented discrepancy: the API keeps `live` for an event the
            // website shows as cancelled. Everything else still agrees.
            assert_eq!(t.status, Status::Scheduled);
            assert_eq!(p.status, Status::Cancelled);
            let mut t = t.clone();
            t.status = Status::Cancelled;
            assert_eq!(&t, p);
        } else {
            assert_eq!(t, p, "{}", t.event_id);
        }
    }
}

#[test]
fn page_facts_fix_the_token_path_discrepancy() {
    let mut record = find(&all_api_records(), "812345670055").clone();
    assert_eq!(record.status, Status::Scheduled);
    let facts = page_facts("812345670055", &record.url.clone());
    apply_page_facts(&mut record, &facts);
    assert_eq!(record.status, Status::Cancelled);
}

#[test]
fn page_facts_merge_rules() {
    let mut r = find(&all_api_records(), "812345670011").clone();
    apply_page_facts(
        &mut r,
        &PageFacts {
            status: None,
            availability: None,
            sold_out: true,
            postponed: false,
        },
    );
    assert_eq!(r.status, Status::Full);
    assert_eq!(r.availability.spaces_left, Some(0));

    // cancelled is never turned into full
    let mut r = find(&all_api_records(), "812345670044").clone();
    apply_page_facts(
        &mut r,
        &PageFacts {
            status: None,
            availability: Some(Availability::spaces(0)),
            sold_out: true,
            postponed: false,
        },
    );
    assert_eq!(r.status, Status::Cancelled);
}

#[test]
fn a_postponed_event_page_reads_as_for_schema_org_sources() {
    // The one schema.org reading: postponed is cancelled, and says so first.
    let u = Url::parse("https://www.eventbrite.co.uk/e/postponed-tickets-812345679999").unwrap();
    let html = r#"<html><head><script type="application/ld+json">
        {"@context":"https://schema.org","@type":"EducationEvent","name":"Postponed course",
         "startDate":"2027-06-15T10:00:00+01:00","eventStatus":"https://schema.org/EventPostponed",
         "offers":[{"@type":"Offer","availability":"https://schema.org/InStock"}]}
        </script></head><body></body></html>"#;
    let facts = parse_event_page(html, &u).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(facts.status, Some(Status::Cancelled));
    assert!(facts.postponed);
    assert!(!facts.sold_out);
    let mut r = find(&all_api_records(), "812345670011").clone();
    let before = r.description.clone();
    apply_page_facts(&mut r, &facts);
    assert_eq!(r.status, Status::Cancelled);
    let d = r.description.clone().unwrap();
    assert!(
        d.starts_with(events::platforms::schema_org::POSTPONED_NOTE),
        "{d}"
    );
    if let Some(b) = before {
        assert!(d.ends_with(&b), "{d}");
    }
    // Read twice, said once.
    apply_page_facts(&mut r, &facts);
    assert_eq!(r.description.as_deref(), Some(d.as_str()));
}

// ---------------------------------------------------------------------------
// Robustness: errors or warnings, never panics

fn any_url() -> Url {
    Url::parse("https://www.eventbriteapi.com/v3/organizers/1/events/").unwrap()
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let page1 = fixture("api_events_page1.json");
    let inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"{\"events\": 3}".to_vec(),
        b"\xff\xfe\x00garbage".to_vec(),
        page1[..page1.len() / 2].to_vec(),
        fixture("cdn_403.html"),
        "[".repeat(100_000).into_bytes(),
    ];
    for input in &inputs {
        assert!(parse_api_events(input, &any_url(), &ctx()).is_err());
        assert!(parse_showmore(input, &any_url(), &ctx()).is_err());
        assert!(parse_ticket_classes(input, &any_url()).is_err());
        let _ = parse_api_error(500, input);
        let _ = parse_event_page(&String::from_utf8_lossy(input), &any_url());
    }
    let e = parse_api_events(&fixture("cdn_403.html"), &any_url(), &ctx()).unwrap_err();
    assert!(
        e.message.contains("HTML") && e.message.contains("Access Denied"),
        "{e}"
    );
    // a 200 whose body is really an API error
    let e = parse_api_events(&fixture("api_error_429.json"), &any_url(), &ctx()).unwrap_err();
    assert!(e.message.contains("HIT_RATE_LIMIT"), "{e}");
}

#[test]
fn huge_input_is_refused() {
    let mut big = b"{\"events\":[".to_vec();
    big.resize(MAX_BODY_BYTES + 10, b' ');
    let e = parse_api_events(&big, &any_url(), &ctx()).unwrap_err();
    assert!(e.message.contains("too large"), "{e}");
    let html = " ".repeat(MAX_BODY_BYTES + 1);
    assert!(parse_event_page(&html, &any_url()).is_err());
    // a big error body is only skimmed
    let e = parse_api_error(502, &vec![b'x'; MAX_BODY_BYTES + 1]);
    assert_eq!(e.kind, ApiErrorKind::Other);
}

#[test]
fn odd_entries_are_skipped_others_kept() {
    let body = br#"{"pagination":{"has_more_items":false},"events":[
        null, 7, "x", {"status":"live","listed":true},
        {"id":"abc","name":{"text":"Bad id"},"status":"live","listed":true},
        {"id":"812345670101","name":{"text":"No times"},"status":"live","listed":true},
        {"id":"812345670102","name":{"text":"Backwards"},"status":"live","listed":true,
         "start":{"utc":"2027-01-20T12:00:00Z"},"end":{"utc":"2027-01-20T10:00:00Z"}},
        {"id":"812345670103","name":{"text":"Bad zone"},"status":"live","listed":true,
         "start":{"timezone":"Mars/Olympus","local":"2027-01-20T10:00:00"},"end":{"utc":"2027-01-20T12:00:00Z"}},
        {"id":812345670104,"name":"  Plain   name  ","url":"javascript:alert(1)","status":"live","listed":true,
         "start":{"utc":"2027-01-20T10:00:00Z"},"end":{"utc":"2027-01-20T12:00:00Z"},
         "venue":{"name":"Hall","address":{"address_1":"1 High St","city":"Walsall"}}}
    ]}"#;
    let (page, log) =
        common::capture_warnings(|| parse_api_events(body, &any_url(), &ctx()).unwrap());
    assert_eq!(ids(&page.entries), ["812345670104"]);
    let kept = &page.entries[0];
    assert_eq!(kept.title, "Plain name");
    assert_eq!(kept.url, "https://www.eventbrite.com/e/812345670104");
    assert_eq!(kept.venue.as_deref(), Some("Hall, 1 High St, Walsall"));
    for named in ["Bad id", "No times", "Backwards", "Bad zone"] {
        assert!(log.contains(named), "{named} not named in {log}");
    }
}

#[test]
fn odd_event_pages() {
    let u = Url::parse("https://www.eventbrite.co.uk/e/x-tickets-812345670011").unwrap();
    // not an event page at all
    let e = parse_event_page("<html><body><p>Log in</p></body></html>", &u).unwrap_err();
    assert!(e.message.contains("JSON-LD"), "{e}");
    // markers present but no Event node and no ticket classes
    let e = parse_event_page(
        r#"<script type="application/ld+json">{"@type":"Organization"}</script>"#,
        &u,
    )
    .unwrap_err();
    assert!(e.message.contains("JSON-LD Event"), "{e}");
    // an unterminated __SERVER_DATA__ is ignored; JSON-LD still answers
    let html = r#"<script type="application/ld+json">{"@type":["Event"],"eventStatus":"EventCancelled","offers":{"@type":"AggregateOffer","offers":[{"availability":"http://schema.org/SoldOut"}]}}</script>
        <script>window.__SERVER_DATA__ = {"event_listing_response": {"tickets": {"#;
    let f = parse_event_page(html, &u).unwrap();
    assert_eq!(f.status, Some(Status::Cancelled));
    assert!(f.sold_out);
    assert_eq!(f.availability, None);
    // broken JSON-LD plus a deep, unbalanced assignment
    let html = format!(
        "<script type=\"application/ld+json\">{{nope</script><script>window.__SERVER_DATA__ = {}</script>",
        "{".repeat(200_000)
    );
    assert!(parse_event_page(&html, &u).is_err());
    // the page's Event is chosen by id when several are embedded
    let html = r#"<script type="application/ld+json">[
        {"@type":"Event","url":"https://www.eventbrite.co.uk/e/other-tickets-999999999999","eventStatus":"https://schema.org/EventCancelled"},
        {"@type":"EducationEvent","url":"https://www.eventbrite.co.uk/e/x-tickets-812345670011?aff=x","eventStatus":"https://schema.org/EventScheduled"}]</script>"#;
    assert_eq!(parse_event_page(html, &u).unwrap().status, None);
}

#[test]
fn showmore_refusals() {
    let e = parse_showmore(
        br#"{"success":false,"error":"organizer not found"}"#,
        &any_url(),
        &ctx(),
    )
    .unwrap_err();
    assert!(e.message.contains("organizer not found"), "{e}");
    let p = parse_showmore(
        br#"{"success":true,"data":{"events":[],"has_next_page":true}}"#,
        &any_url(),
        &ctx(),
    )
    .unwrap();
    assert!(!p.has_next_page, "an empty page cannot promise more");
}

#[test]
fn deeply_nested_html_does_not_overflow() {
    // html5ever itself is slow (quadratic) on deep nesting, so this stays modest;
    // the point is that our own walks do not recurse. The error body is cut to a
    // short head, and a page without the markers is refused before any parse.
    let deep = format!(
        "{}Too deep{}",
        "<div>".repeat(20_000),
        "</div>".repeat(20_000)
    );
    let e = parse_api_error(403, deep.as_bytes());
    assert_eq!(e.kind, ApiErrorKind::Forbidden);
    assert!(!e.description.contains('<'), "{e}");
    let u = Url::parse("https://www.eventbrite.co.uk/e/x-tickets-812345670011").unwrap();
    assert!(parse_event_page(&deep, &u).is_err());
    let marked = format!(
        "{}<script>window.__SERVER_DATA__ = {{}};</script>{}",
        "<div>".repeat(1_500),
        "</div>".repeat(1_500)
    );
    assert!(parse_event_page(&marked, &u).is_err());
}
