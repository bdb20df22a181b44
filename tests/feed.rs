//! The iCalendar feed, checked from the outside: parsed back with the independent
//! `ical` crate (and with ical.js when its node_modules are installed), and
//! inspected byte by byte for the rules calendar clients depend on.

mod common;
mod reference;

use chrono::{DateTime, TimeZone, Utc};
use common::sessions::{self, SessionBuilder};
use events::feed::{self, FeedOptions};
use events::model::{Availability, Session, Status, StoredSession};
use ical::parser::ical::component::{IcalCalendar, IcalEvent};
use ical::property::Property;
use std::collections::BTreeSet;
use std::io::BufReader;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn session(event_id: &str, title: &str, start: DateTime<Utc>) -> Session {
    sessions::session("wsp", event_id, start)
        .titled(title)
        .at_level("Level 2")
        .described("A half-day course; bring a pen, please.")
        .at_venue("Civic Centre, Room 2")
        .with_spaces(3)
        .booked_at(format!("https://booking.example.org/events/{event_id}"))
}

fn stored(session: Session, sequence: u32) -> StoredSession {
    StoredSession {
        uid: session.uid(),
        first_seen: at(2026, 1, 5, 10, 0),
        last_seen: at(2026, 6, 1, 10, 0),
        last_changed: at(2026, 3, 2, 14, 15),
        sequence,
        session,
    }
}

/// A mix of statuses, availabilities, seasons and zones.
fn sample() -> Vec<StoredSession> {
    let july = session(
        "101",
        "Understanding Neglect Level 2",
        at(2027, 7, 15, 8, 30),
    );
    let mut january = session(
        "102",
        "Understanding Neglect Level 2",
        at(2028, 1, 13, 9, 30),
    );
    january.status = Status::Full;
    january.availability = Availability {
        waitlist: true,
        ..Availability::spaces(0)
    };
    let mut one = session("103", "Graded Care Profile 2", at(2027, 9, 1, 9, 0));
    one.availability = Availability::spaces(1);
    one.prerequisites = Some("You MUST complete Level 1 first".into());
    let mut unknown = session("104", "Neglect Awareness", at(2027, 9, 2, 13, 0));
    unknown.availability = Availability::available();
    unknown.online = true;
    unknown.venue = Some("Virtual - MS Teams".into());
    let mut closed = session("105", "Closed Course", at(2027, 9, 3, 9, 0));
    closed.status = Status::Closed;
    let mut cancelled = session("106", "Cancelled Course", at(2027, 9, 4, 9, 0));
    cancelled.status = Status::Cancelled;
    let mut withdrawn = session("107", "Withdrawn Course", at(2027, 9, 5, 9, 0));
    withdrawn.status = Status::Withdrawn;
    let mut sydney = session("108", "Sydney Session", at(2027, 12, 1, 22, 0));
    sydney.timezone = "Australia/Sydney".into();
    vec![
        stored(july, 0),
        stored(january, 2),
        stored(one, 1),
        stored(unknown, 0),
        stored(closed, 0),
        stored(cancelled, 3),
        stored(withdrawn, 4),
        stored(sydney, 0),
    ]
}

fn opts() -> FeedOptions {
    FeedOptions {
        name: "Safeguarding training, Child Neglect".into(),
        description: Some("Sessions with places; updated hourly".into()),
        refresh: Duration::from_secs(3600),
    }
}

fn parse(feed: &str) -> IcalCalendar {
    let mut cals: Vec<IcalCalendar> = ical::IcalParser::new(BufReader::new(feed.as_bytes()))
        .collect::<Result<_, _>>()
        .expect("the ical crate parses the feed");
    assert_eq!(cals.len(), 1, "exactly one VCALENDAR");
    cals.remove(0)
}

fn prop<'a>(props: &'a [Property], name: &str) -> &'a Property {
    let found: Vec<_> = props.iter().filter(|p| p.name == name).collect();
    assert_eq!(found.len(), 1, "exactly one {name} in {props:?}");
    found[0]
}

fn value<'a>(props: &'a [Property], name: &str) -> &'a str {
    prop(props, name).value.as_deref().unwrap_or("")
}

fn param<'a>(p: &'a Property, name: &str) -> Option<&'a str> {
    p.params
        .as_ref()?
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

/// RFC 5545 TEXT unescaping (the `ical` crate leaves values escaped).
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') | Some('N') => out.push('\n'),
                Some(c) => out.push(c),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn event_by_uid<'a>(cal: &'a IcalCalendar, uid: &str) -> &'a IcalEvent {
    cal.events
        .iter()
        .find(|e| value(&e.properties, "UID") == uid)
        .unwrap_or_else(|| panic!("no VEVENT with UID {uid}"))
}

/// Content lines with folds undone.
fn unfolded_lines(feed: &str) -> Vec<String> {
    feed.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn parses_and_round_trips_every_event() {
    let sessions = sample();
    let out = feed::render(&sessions, &opts());
    let cal = parse(&out);
    assert_eq!(cal.events.len(), sessions.len());
    for st in &sessions {
        let ev = event_by_uid(&cal, st.uid.as_str());
        let p = &ev.properties;
        assert_eq!(unescape(value(p, "SUMMARY")), feed::summary(&st.session));
        assert_eq!(value(p, "SEQUENCE"), st.sequence.to_string());
        let want_status = if st.session.status.is_off() {
            "CANCELLED"
        } else {
            "CONFIRMED"
        };
        assert_eq!(value(p, "STATUS"), want_status);
        assert_eq!(value(p, "DTSTAMP"), "20260302T141500Z");
        let tz: chrono_tz::Tz = st.session.timezone.parse().unwrap();
        for (name, instant) in [("DTSTART", st.session.start), ("DTEND", st.session.end)] {
            let dt = prop(p, name);
            assert_eq!(param(dt, "TZID"), Some(st.session.timezone.as_str()));
            let local = instant
                .with_timezone(&tz)
                .format("%Y%m%dT%H%M%S")
                .to_string();
            assert_eq!(dt.value.as_deref(), Some(local.as_str()));
        }
        assert_eq!(value(p, "TRANSP"), "TRANSPARENT");
        assert_eq!(value(p, "URL"), st.session.url);
        assert_eq!(value(p, "CATEGORIES"), "Child Neglect");
    }
}

#[test]
fn summaries_show_availability() {
    let out = feed::render(&sample(), &opts());
    let cal = parse(&out);
    let summaries: BTreeSet<String> = cal
        .events
        .iter()
        .map(|e| unescape(value(&e.properties, "SUMMARY")))
        .collect();
    for want in [
        "Understanding Neglect Level 2 (3 places)",
        "Understanding Neglect Level 2 (FULL – waiting list)",
        "Graded Care Profile 2 (1 place)",
        "Neglect Awareness (places available)",
        "Closed Course (CLOSED)",
        "Cancelled Course (CANCELLED)",
        "Withdrawn Course (WITHDRAWN)",
    ] {
        assert!(summaries.contains(want), "{want:?} not in {summaries:?}");
    }
}

#[test]
fn description_location_and_links() {
    let sessions = sample();
    let cal = parse(&feed::render(&sessions, &opts()));
    let gcp = event_by_uid(&cal, sessions[2].uid.as_str());
    let desc = unescape(value(&gcp.properties, "DESCRIPTION"));
    assert!(desc.starts_with("1 place left."), "{desc}");
    assert!(desc.contains("Prerequisites: You MUST complete Level 1 first"));
    assert!(desc.contains("Category: Child Neglect"));
    assert!(desc.contains("Level: Level 2"));
    assert!(desc.contains("A half-day course; bring a pen, please."));
    assert!(
        desc.ends_with("Book: https://booking.example.org/events/103"),
        "{desc}"
    );
    // Commas and semicolons are escaped on the wire.
    assert!(
        value(&gcp.properties, "DESCRIPTION").contains("half-day course\\; bring a pen\\, please.")
    );
    assert_eq!(value(&gcp.properties, "LOCATION"), "Civic Centre\\, Room 2");
    let online = event_by_uid(&cal, sessions[3].uid.as_str());
    assert_eq!(value(&online.properties, "LOCATION"), "Virtual - MS Teams");
}

#[test]
fn calendar_properties() {
    let out = feed::render(&sample(), &opts());
    let cal = parse(&out);
    let p = &cal.properties;
    assert_eq!(value(p, "VERSION"), "2.0");
    assert!(!value(p, "PRODID").is_empty());
    assert_eq!(value(p, "CALSCALE"), "GREGORIAN");
    // No METHOD: METHOD:PUBLISH would need an ORGANIZER in every VEVENT.
    assert!(p.iter().all(|x| x.name != "METHOD"));
    assert!(cal
        .events
        .iter()
        .all(|e| e.properties.iter().all(|x| x.name != "ORGANIZER")));
    // RFC 7986 NAME and DESCRIPTION beside the X-WR- forms, saying the same.
    for name in ["NAME", "X-WR-CALNAME"] {
        assert_eq!(
            unescape(value(p, name)),
            "Safeguarding training, Child Neglect"
        );
    }
    for name in ["DESCRIPTION", "X-WR-CALDESC"] {
        assert_eq!(
            unescape(value(p, name)),
            "Sessions with places; updated hourly"
        );
    }
    assert_eq!(value(p, "X-WR-TIMEZONE"), "Europe/London");
    assert_eq!(value(p, "X-PUBLISHED-TTL"), "PT1H");
    let refresh = prop(p, "REFRESH-INTERVAL");
    assert_eq!(refresh.value.as_deref(), Some("PT1H"));
    assert_eq!(param(refresh, "VALUE"), Some("DURATION"));
    let lines = unfolded_lines(&out);
    assert!(lines.contains(&"REFRESH-INTERVAL;VALUE=DURATION:PT1H".to_string()));
    assert!(lines.contains(&"X-PUBLISHED-TTL:PT1H".to_string()));
    assert_eq!(
        lines.iter().filter(|l| *l == "TRANSP:TRANSPARENT").count(),
        sample().len()
    );
}

#[test]
fn vtimezone_for_every_tzid_before_the_events() {
    let out = feed::render(&sample(), &opts());
    let cal = parse(&out);
    let used: BTreeSet<&str> = cal
        .events
        .iter()
        .flat_map(|e| e.properties.iter())
        .filter_map(|p| param(p, "TZID"))
        .collect();
    let defined: BTreeSet<&str> = cal
        .timezones
        .iter()
        .map(|tz| value(&tz.properties, "TZID"))
        .collect();
    assert_eq!(used, BTreeSet::from(["Australia/Sydney", "Europe/London"]));
    assert_eq!(used, defined);
    for tz in &cal.timezones {
        assert!(!tz.transitions.is_empty());
    }
    let first_tz = out.find("BEGIN:VTIMEZONE").unwrap();
    let first_event = out.find("BEGIN:VEVENT").unwrap();
    assert!(first_tz < first_event);
    // London's rules, as Outlook expects them.
    let lines = unfolded_lines(&out);
    for want in [
        "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
        "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
        "TZOFFSETFROM:+0000",
        "TZOFFSETTO:+0100",
        "TZNAME:BST",
        "TZNAME:GMT",
    ] {
        assert!(lines.iter().any(|l| l == want), "no {want}");
    }
}

#[test]
fn london_summer_and_winter_local_times() {
    let out = feed::render(&sample(), &opts());
    let lines = unfolded_lines(&out);
    // 08:30 UTC in July is 09:30 BST; 09:30 UTC in January is 09:30 GMT.
    assert!(lines.contains(&"DTSTART;TZID=Europe/London:20270715T093000".to_string()));
    assert!(lines.contains(&"DTEND;TZID=Europe/London:20270715T123000".to_string()));
    assert!(lines.contains(&"DTSTART;TZID=Europe/London:20280113T093000".to_string()));
    // 22:00 UTC on 1 December is 09:00 AEDT the next day.
    assert!(lines.contains(&"DTSTART;TZID=Australia/Sydney:20271202T090000".to_string()));
}

#[test]
fn repeated_hour_goes_out_in_utc() {
    // 2027-10-31 01:30 London happens at 00:30Z (BST) and again at 01:30Z (GMT);
    // clients disagree on which a local 01:30 means.
    let first = session("210", "First", at(2027, 10, 31, 0, 30));
    let second = session("211", "Second", at(2027, 10, 31, 1, 30));
    let out = feed::render(&[stored(first, 0), stored(second, 0)], &opts());
    let lines = unfolded_lines(&out);
    assert!(lines.contains(&"DTSTART:20271031T003000Z".to_string()));
    assert!(lines.contains(&"DTSTART:20271031T013000Z".to_string()));
    // Their ends (03:30Z/04:30Z) are not ambiguous, but an event keeps one form.
    assert!(lines.contains(&"DTEND:20271031T033000Z".to_string()));
}

#[test]
fn unknown_zone_falls_back_to_utc() {
    let mut s = session("200", "Somewhere", at(2027, 7, 15, 8, 30));
    s.timezone = "Mars/Olympus_Mons".into();
    let out = feed::render(&[stored(s, 0)], &opts());
    let lines = unfolded_lines(&out);
    assert!(lines.contains(&"DTSTART:20270715T083000Z".to_string()));
    assert!(lines.contains(&"DTEND:20270715T113000Z".to_string()));
    assert!(!out.contains("TZID"));
    assert!(!out.contains("VTIMEZONE"));
}

#[test]
fn lines_are_at_most_75_octets_and_end_in_crlf() {
    let mut sessions = sample();
    sessions.push(stored(
        session(
            "300",
            &"A very long title that goes on and on ".repeat(8),
            at(2027, 8, 1, 9, 0),
        ),
        0,
    ));
    let out = feed::render(&sessions, &opts());
    let bytes = out.as_bytes();
    assert!(out.ends_with("END:VCALENDAR\r\n"));
    assert!(out.starts_with("BEGIN:VCALENDAR\r\n"));
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert_eq!(bytes[i - 1], b'\r', "bare LF at byte {i}");
        }
        if b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at byte {i}");
        }
    }
    for line in out.trim_end_matches("\r\n").split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        assert!(!line.is_empty());
    }
}

#[test]
fn long_non_ascii_title_folds_between_characters() {
    let title: String = "é“”😀".chars().cycle().take(200).collect();
    let s = session("400", &title, at(2027, 8, 1, 9, 0));
    let want_summary = feed::summary(&s);
    let out = feed::render(&[stored(s, 0)], &opts());
    let bytes = out.as_bytes();
    let mut folded = Vec::new();
    let mut start = 0;
    for i in 0..bytes.len().saturating_sub(1) {
        if &bytes[i..i + 2] == b"\r\n" {
            folded.push(&bytes[start..i]);
            start = i + 2;
        }
    }
    let summary_lines: Vec<&[u8]> = {
        let at = folded
            .iter()
            .position(|l| l.starts_with(b"SUMMARY:"))
            .unwrap();
        let mut v = vec![folded[at]];
        v.extend(folded[at + 1..].iter().take_while(|l| l.starts_with(b" ")));
        v
    };
    assert!(
        summary_lines.len() > 5,
        "a 200-character title needs folding"
    );
    let mut joined = Vec::new();
    for (i, line) in summary_lines.iter().enumerate() {
        assert!(line.len() <= 75);
        // Each physical line is valid UTF-8 by itself: no character was split.
        String::from_utf8(line.to_vec()).expect("a fold split a UTF-8 character");
        joined.extend_from_slice(if i == 0 { line } else { &line[1..] });
    }
    let joined = String::from_utf8(joined).unwrap();
    assert_eq!(joined, format!("SUMMARY:{want_summary}"));
    let cal = parse(&out);
    assert_eq!(
        unescape(value(&cal.events[0].properties, "SUMMARY")),
        want_summary
    );
}

#[test]
fn injected_line_breaks_stay_inside_their_property() {
    let evil = "Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged\nSUMMARY:pwned\rX";
    let mut s = session("500", evil, at(2027, 8, 1, 9, 0));
    s.description = Some(evil.into());
    s.venue = Some(evil.into());
    s.prerequisites = Some(evil.into());
    s.category = Some(evil.into());
    s.url = format!("https://example.org/x{evil}");
    let mut sessions = sample();
    sessions.push(stored(s.clone(), 0));
    let out = feed::render(&sessions, &opts());
    let cal = parse(&out);
    assert_eq!(cal.events.len(), sessions.len());
    assert_eq!(out.matches("BEGIN:VEVENT\r\n").count(), sessions.len());
    assert_eq!(out.matches("\r\nEND:VEVENT\r\n").count(), sessions.len());
    let lines = unfolded_lines(&out);
    assert!(!lines
        .iter()
        .any(|l| l == "UID:forged" || l == "SUMMARY:pwned"));
    let ev = event_by_uid(&cal, s.uid().as_str());
    let summary = unescape(value(&ev.properties, "SUMMARY"));
    // A ZERO WIDTH JOINER follows the colon of each BEGIN: and END: (see below).
    assert_eq!(
        summary,
        "Evil END:\u{200D}VEVENT BEGIN:\u{200D}VEVENT UID:forged SUMMARY:pwned X (3 places)"
    );
    let desc = unescape(value(&ev.properties, "DESCRIPTION"));
    assert!(desc
        .contains("Evil\nEND:\u{200D}VEVENT\nBEGIN:\u{200D}VEVENT\nUID:forged\nSUMMARY:pwned\nX"));
    // Control characters other than tab are dropped.
    let mut c = session("501", "Bell\u{7}Tab\tNul\u{0}", at(2027, 8, 1, 9, 0));
    c.description = Some("a\u{1b}[31mb\tc".into());
    let out = feed::render(&[stored(c, 0)], &opts());
    assert!(!out
        .bytes()
        .any(|b| b < 0x20 && b != b'\t' && b != b'\r' && b != b'\n'));
    assert!(unfolded_lines(&out).iter().any(|l| l.contains("a[31mb\tc")));
}

/// Some JavaScript parsers find events with an unanchored
/// `BEGIN:VEVENT…END:VEVENT` pattern over the whole text; scraped text holding
/// those words must not make them see a phantom event (or lose a real one).
#[test]
fn delimiters_inside_text_make_no_phantom_event() {
    let mut s = session(
        "520",
        "Weekend:VEVENT training END:VEVENT",
        at(2027, 8, 2, 9, 0),
    );
    s.description =
        Some("Part one.\nEND:VEVENT\nBEGIN:VEVENT\nSUMMARY:phantom\nend:vcalendar".into());
    s.venue = Some("Room END:VEVENT".into());
    s.category = Some("BEGIN:VTODO".into());
    s.url = "https://example.org/END:VEVENT/BEGIN:VEVENT".into();
    let mut sessions = sample();
    sessions.push(stored(s.clone(), 0));
    for out in [
        feed::render(&sessions, &opts()),
        reference::render_with_crate(&sessions, &opts()),
    ] {
        let flat = out.replace("\r\n ", "");
        // What an unanchored, case-insensitive scan finds, anywhere in the text.
        let lower = flat.to_lowercase();
        assert_eq!(lower.matches("begin:vevent").count(), sessions.len());
        assert_eq!(lower.matches("end:vevent").count(), sessions.len());
        assert_eq!(lower.matches("end:vcalendar").count(), 1);
        assert_eq!(lower.matches("begin:vtodo").count(), 0);
        // An RFC 5545 parser still reads the words, with an invisible joiner.
        let cal = parse(&out);
        assert_eq!(cal.events.len(), sessions.len());
        let ev = event_by_uid(&cal, s.uid().as_str());
        let desc = unescape(value(&ev.properties, "DESCRIPTION"));
        assert!(
            desc.contains("SUMMARY:phantom\nend:\u{200D}vcalendar"),
            "{desc}"
        );
        assert_eq!(
            value(&ev.properties, "URL"),
            "https://example.org/END%3AVEVENT/BEGIN%3AVEVENT"
        );
    }
}

#[test]
fn byte_identical_and_order_independent() {
    let sessions = sample();
    let a = feed::render(&sessions, &opts());
    let b = feed::render(&sessions, &opts());
    assert_eq!(a, b);
    let mut reversed = sessions.clone();
    reversed.reverse();
    assert_eq!(feed::render(&reversed, &opts()), a);
    let mut rotated = sessions.clone();
    rotated.rotate_left(3);
    rotated.swap(0, 4);
    assert_eq!(feed::render(&rotated, &opts()), a);
    // Events come out sorted by start.
    let cal = parse(&a);
    let starts: Vec<String> = cal
        .events
        .iter()
        .map(|e| {
            let uid = value(&e.properties, "UID");
            sessions
                .iter()
                .find(|s| s.uid.as_str() == uid)
                .unwrap()
                .session
                .start
                .to_rfc3339()
        })
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
}

#[test]
fn cancelled_and_withdrawn_are_cancelled() {
    let sessions = sample();
    let cal = parse(&feed::render(&sessions, &opts()));
    for st in &sessions {
        let ev = event_by_uid(&cal, st.uid.as_str());
        let status = value(&ev.properties, "STATUS");
        match st.session.status {
            Status::Cancelled | Status::Withdrawn => assert_eq!(status, "CANCELLED"),
            Status::Scheduled | Status::Full | Status::Closed => {
                assert_eq!(status, "CONFIRMED")
            }
        }
    }
}

#[test]
fn empty_feed_is_still_a_calendar() {
    let out = feed::render::<StoredSession>(&[], &opts());
    let cal = parse(&out);
    assert!(cal.events.is_empty());
    assert!(cal.timezones.is_empty());
    assert_eq!(value(&cal.properties, "X-WR-TIMEZONE"), "Europe/London");
}

/// Runs tests/icaljs/validate.mjs (ical.js, as in Thunderbird and Nextcloud) on a
/// feed, when `npm install` has been run in tests/icaljs; CI does that first.
#[test]
fn icaljs_parses_feed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/icaljs");
    if !dir.join("node_modules").exists() {
        println!(
            "icaljs_parses_feed: not run: {} has no node_modules (run `npm ci` there)",
            dir.display()
        );
        return;
    }
    let mut sessions = sample();
    let title: String = "é“”😀 ".chars().cycle().take(200).collect();
    sessions.push(stored(session("600", &title, at(2027, 10, 31, 0, 30)), 0));
    // The night clocks go back, 01:30 happens twice; ical.js reads a local
    // 01:30 as the second one, RFC 5545 as the first, so both go out in UTC.
    sessions.push(stored(
        session("601", "Second 01:30", at(2027, 10, 31, 1, 30)),
        0,
    ));
    let mut evil = session(
        "602",
        "Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT",
        at(2027, 8, 1, 9, 0),
    );
    evil.venue = Some("Hall\nEND:VCALENDAR".into());
    sessions.push(stored(evil, 0));
    let out = feed::render(&sessions, &opts());

    let expected: serde_json::Map<String, serde_json::Value> = sessions
        .iter()
        .map(|s| {
            (
                s.uid.to_string(),
                serde_json::json!({
                    "start": s.session.start.to_rfc3339(),
                    "end": s.session.end.to_rfc3339(),
                }),
            )
        })
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let ics = tmp.path().join("feed.ics");
    let json = tmp.path().join("expected.json");
    std::fs::write(&ics, &out).unwrap();
    std::fs::write(&json, serde_json::to_string(&expected).unwrap()).unwrap();

    let run = Command::new("node")
        .arg(dir.join("validate.mjs"))
        .arg(&ics)
        .arg(&json)
        .output()
        .expect("node runs (node_modules is installed, so node should be too)");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "ical.js rejected the feed:\n{stdout}{stderr}"
    );
    assert!(
        stdout.starts_with(&format!("ok: {} events, 2 timezones", sessions.len())),
        "unexpected output: {stdout}{stderr}"
    );
}

/// The hand-written writer (the hot path) and the `icalendar` crate's model must
/// say the same thing: parsed by an independent parser, every event has the same
/// properties with the same values and parameters, and so has the calendar.
#[test]
fn hand_written_writer_matches_the_icalendar_crate() {
    let mut sessions = sample();
    let mut nasty = session(
        "109",
        "Commas, semi;colons \\ back\\slash\r\nand a\u{7} bell – “quotes” 😀",
        at(2027, 10, 31, 1, 30),
    );
    nasty.description = Some("Line one\r\nLine two\rthree\u{2028}four\tEND:VEVENT".into());
    nasty.category = Some("Drugs, Alcohol; and more".into());
    nasty.venue = Some("Room 1,\nCivic Centre\r\n".into());
    nasty.url = "https://x.example/a b\r\nc".into();
    nasty.timezone = "Not/AZone".into();
    sessions.push(stored(nasty, 7));
    let mut long = session(
        "110",
        &"Très long intitulé ".repeat(40),
        at(2027, 3, 28, 0, 30),
    );
    long.category = None;
    long.venue = None;
    sessions.push(stored(long, 0));

    let ours = feed::render(&sessions, &opts());
    let theirs = reference::render_with_crate(&sessions, &opts());
    let (a, b) = (parse(&ours), parse(&theirs));
    let props = |ps: &[Property]| -> Vec<(String, Option<String>, String)> {
        let mut v: Vec<_> = ps
            .iter()
            .map(|p| (p.name.clone(), p.value.clone(), format!("{:?}", p.params)))
            .collect();
        v.sort();
        v
    };
    assert_eq!(props(&a.properties), props(&b.properties));
    assert_eq!(a.events.len(), sessions.len());
    assert_eq!(a.events.len(), b.events.len());
    for (x, y) in a.events.iter().zip(&b.events) {
        assert_eq!(props(&x.properties), props(&y.properties));
    }
    assert_eq!(a.timezones.len(), b.timezones.len());
    // Nothing is lost either way: the same content lines, in the same order.
    assert_eq!(unfolded_lines(&ours), unfolded_lines(&theirs));
}

#[test]
fn all_day_sessions_are_written_as_dates_by_both_writers() {
    // 15 March 2027, a whole day in London (GMT): midnight to midnight.
    let mut s = session("day", "Awareness Day", at(2027, 3, 15, 0, 0));
    s.end = at(2027, 3, 16, 0, 0);
    s.all_day = true;
    let list = vec![stored(s, 0)];
    let ours = feed::render(&list, &opts());
    let theirs = reference::render_with_crate(&list, &opts());
    for text in [&ours, &theirs] {
        let cal = parse(text);
        let ev = &cal.events[0];
        let start = prop(&ev.properties, "DTSTART");
        assert_eq!(start.value.as_deref(), Some("20270315"), "{text}");
        assert_eq!(param(start, "VALUE"), Some("DATE"), "{text}");
        let end = prop(&ev.properties, "DTEND");
        assert_eq!(end.value.as_deref(), Some("20270316"), "{text}");
        assert_eq!(param(end, "VALUE"), Some("DATE"), "{text}");
    }
}

/// Feeds built from kept VEVENT blocks are the same bytes as a fresh render:
/// on first use, from the blocks, for any subset (other VTIMEZONEs), for a
/// session changed within the generation, and when the budget keeps only some.
#[test]
fn rendering_from_kept_blocks_gives_the_same_bytes() {
    let all = sample();
    let blocks = feed::EventBlocks::new(feed::DEFAULT_EVENT_BLOCK_BYTES);
    let same = |list: &[StoredSession], generation: u64| {
        assert_eq!(
            feed::render_with_blocks(list, &opts(), &blocks, generation),
            feed::render(list, &opts())
        );
    };
    same(&all, 1);
    let first = blocks.stats();
    assert_eq!((first.blocks, first.hits, first.misses), (8, 0, 8));
    assert!(first.bytes <= blocks.budget());
    same(&all, 1);
    assert_eq!(blocks.stats().hits, 8, "the second feed took every block");
    // A subset without the Sydney session: one VTIMEZONE fewer, from blocks.
    same(&all[..5], 1);
    same(&all[3..], 1);
    assert_eq!(blocks.stats().misses, 8);
    // The same session, rewritten by the store: its old block is not used.
    let mut changed = all.clone();
    changed[0].session.title = "Renamed".into();
    changed[0].last_seen = at(2026, 6, 2, 10, 0);
    same(&changed, 1);
    assert_eq!(blocks.stats().misses, 9);
    // A new generation starts empty.
    same(&all, 2);
    assert_eq!(
        (
            blocks.stats().hits,
            blocks.stats().misses,
            blocks.stats().blocks
        ),
        (0, 8, 8)
    );
}

#[test]
fn a_full_block_budget_keeps_some_and_counts_the_rest() {
    let all = sample();
    // Room for about three VEVENTs of these.
    let blocks = feed::EventBlocks::new(3 * (700 + feed::EVENT_BLOCK_OVERHEAD));
    for _ in 0..3 {
        assert_eq!(
            feed::render_with_blocks(&all, &opts(), &blocks, 7),
            feed::render(&all, &opts())
        );
    }
    let s = blocks.stats();
    assert!(s.blocks > 0 && s.blocks < all.len(), "{s:?}");
    assert!(s.bytes <= blocks.budget(), "{s:?}");
    assert_eq!(s.hits, 2 * s.blocks as u64, "{s:?}");
    assert_eq!(s.over_budget, 3 * (all.len() - s.blocks) as u64, "{s:?}");
    // Nothing fits a budget of zero, and the feed is still whole.
    let none = feed::EventBlocks::new(0);
    assert_eq!(
        feed::render_with_blocks(&all, &opts(), &none, 1),
        feed::render(&all, &opts())
    );
    assert_eq!(none.stats().blocks, 0);
    assert_eq!(none.stats().over_budget, all.len() as u64);
}
