//! The iCalendar reader against feeds shaped like real producers' exports
//! (`tests/fixtures/ical/producers/`, whose README names each producer and
//! quirk), with a frozen clock: each quirk's truth, and the same occurrences
//! as Python's icalendar with recurring-ical-events read
//! (`tests/python/occurrences.py`), plus hostile feeds that must stay within
//! their bounds.

mod common;

use events::model::{Session, Status};
use events::platforms::ical::{parse_feed, parse_feed_within, MAX_OCCURRENCES, UNTITLED};
use events::platforms::SourceContext;
use std::path::{Path, PathBuf};
use std::process::Command;
use url::Url;

fn ctx() -> SourceContext {
    common::reader_context("partner-feed")
}

fn feed_url() -> Url {
    Url::parse("https://calendar.partner.example/training.ics").unwrap()
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ical/producers")
}

fn read(name: &str) -> Vec<Session> {
    let body = std::fs::read_to_string(dir().join(name)).unwrap();
    parse_feed(&body, &feed_url(), &ctx()).unwrap().sessions
}

/// (start, end, title) of a session, as the comparison script prints it.
type Row = (String, String, String);

/// The rows of `sessions`, sorted.
fn rows(sessions: &[Session]) -> Vec<Row> {
    let mut v: Vec<_> = sessions
        .iter()
        .map(|s| {
            (
                s.start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                s.end.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                s.title.clone(),
            )
        })
        .collect();
    v.sort();
    v
}

fn row(start: &str, end: &str, title: &str) -> Row {
    (start.into(), end.into(), title.into())
}

/// Each producer's feed and what it means (times in UTC).
fn truth() -> Vec<(&'static str, Vec<Row>)> {
    vec![
        // A: Lotus Notes `TZID:Eastern`, read from its own observances.
        (
            "lotus_notes_eastern_vtimezone.ics",
            vec![
                row(
                    "2027-01-12T15:00:00Z",
                    "2027-01-12T16:30:00Z",
                    "Trauma-informed practice briefing",
                ),
                row(
                    "2027-07-06T14:00:00Z",
                    "2027-07-06T15:30:00Z",
                    "Summer safeguarding clinic",
                ),
                row(
                    "2027-07-13T14:00:00Z",
                    "2027-07-13T15:30:00Z",
                    "Summer safeguarding clinic",
                ),
            ],
        ),
        // A: Outlook 2003, southern hemisphere.
        (
            "outlook2003_canberra_melbourne_sydney.ics",
            vec![
                row(
                    "2027-02-09T22:30:00Z",
                    "2027-02-10T01:30:00Z",
                    "Child protection conference skills",
                ),
                row(
                    "2027-06-15T23:30:00Z",
                    "2027-06-16T02:30:00Z",
                    "Child protection conference skills (winter)",
                ),
            ],
        ),
        // A: Exchange's `Customized Time Zone`; the series crosses the March clock change.
        (
            "exchange_customized_time_zone.ics",
            vec![
                row(
                    "2027-03-18T09:30:00Z",
                    "2027-03-18T12:30:00Z",
                    "Multi-agency risk assessment (MARAC) training",
                ),
                row(
                    "2027-03-25T09:30:00Z",
                    "2027-03-25T12:30:00Z",
                    "Multi-agency risk assessment (MARAC) training",
                ),
                row(
                    "2027-04-01T08:30:00Z",
                    "2027-04-01T11:30:00Z",
                    "Multi-agency risk assessment (MARAC) training",
                ),
            ],
        ),
        // B: the 12th moved to the 13th, once.
        (
            "exchange_allday_recurrence_id_zoned.ics",
            vec![
                row(
                    "2027-01-05T00:00:00Z",
                    "2027-01-06T00:00:00Z",
                    "Safeguarding duty day",
                ),
                row(
                    "2027-01-13T00:00:00Z",
                    "2027-01-14T00:00:00Z",
                    "Safeguarding duty day",
                ),
                row(
                    "2027-01-19T00:00:00Z",
                    "2027-01-20T00:00:00Z",
                    "Safeguarding duty day",
                ),
            ],
        ),
        // D: two VCALENDARs in one body.
        (
            "outlook2003_several_vcalendars.ics",
            vec![
                row(
                    "2027-02-04T10:00:00Z",
                    "2027-02-04T12:00:00Z",
                    "Domestic abuse awareness",
                ),
                row(
                    "2027-05-20T12:30:00Z",
                    "2027-05-20T15:30:00Z",
                    "Exploitation and county lines",
                ),
            ],
        ),
        // E: no SUMMARY.
        (
            "google_untitled_event_no_summary.ics",
            vec![
                row("2027-03-02T10:00:00Z", "2027-03-02T11:00:00Z", UNTITLED),
                row(
                    "2027-03-03T10:00:00Z",
                    "2027-03-03T11:00:00Z",
                    "Prevent awareness",
                ),
            ],
        ),
        // F: `RANGE=THISANDFUTURE` moves the 16th and every later one.
        (
            "booking_system_range_thisandfuture.ics",
            vec![
                row(
                    "2027-02-02T10:00:00Z",
                    "2027-02-02T12:00:00Z",
                    "Neglect toolkit drop-in",
                ),
                row(
                    "2027-02-09T10:00:00Z",
                    "2027-02-09T12:00:00Z",
                    "Neglect toolkit drop-in",
                ),
                row(
                    "2027-02-16T14:00:00Z",
                    "2027-02-16T15:30:00Z",
                    "Neglect toolkit drop-in (afternoons)",
                ),
                row(
                    "2027-02-23T14:00:00Z",
                    "2027-02-23T15:30:00Z",
                    "Neglect toolkit drop-in (afternoons)",
                ),
                row(
                    "2027-03-02T14:00:00Z",
                    "2027-03-02T15:30:00Z",
                    "Neglect toolkit drop-in (afternoons)",
                ),
                row(
                    "2027-03-09T14:00:00Z",
                    "2027-03-09T15:30:00Z",
                    "Neglect toolkit drop-in (afternoons)",
                ),
            ],
        ),
        // G: no UIDs (floating times in the source's zone: BST in April).
        (
            "data_ical_no_uid.ics",
            vec![
                row(
                    "2027-04-08T08:00:00Z",
                    "2027-04-08T09:30:00Z",
                    "Working Together 2023 update",
                ),
                row(
                    "2027-04-15T08:00:00Z",
                    "2027-04-15T09:30:00Z",
                    "Working Together 2023 update",
                ),
            ],
        ),
        (
            "the_events_calendar_4_6_no_uid.ics",
            vec![row(
                "2027-05-12T08:30:00Z",
                "2027-05-12T11:30:00Z",
                "Self-neglect and hoarding",
            )],
        ),
        // H: floating times in X-WR-TIMEZONE, not the source's zone.
        (
            "tvcountdown_x_wr_timezone_floating.ics",
            vec![
                row(
                    "2027-01-16T01:00:00Z",
                    "2027-01-16T02:00:00Z",
                    "Safeguarding in sport (webinar)",
                ),
                row(
                    "2027-07-17T00:00:00Z",
                    "2027-07-17T01:00:00Z",
                    "Safeguarding in sport (summer webinar)",
                ),
            ],
        ),
        // H: a UTC-start series recurs at its London wall-clock time.
        (
            "google_utc_start_series_x_wr_timezone.ics",
            vec![
                row(
                    "2027-03-10T09:30:00Z",
                    "2027-03-10T11:30:00Z",
                    "Early help assessment workshop",
                ),
                row(
                    "2027-03-17T09:30:00Z",
                    "2027-03-17T11:30:00Z",
                    "Early help assessment workshop",
                ),
                row(
                    "2027-03-24T09:30:00Z",
                    "2027-03-24T11:30:00Z",
                    "Early help assessment workshop",
                ),
                row(
                    "2027-03-31T08:30:00Z",
                    "2027-03-31T10:30:00Z",
                    "Early help assessment workshop",
                ),
            ],
        ),
    ]
}

/// More producers' exports with no quirk of their own to name, checked only
/// against Python's reading: Zimbra's long `TZID`, Thunderbird's prefixed
/// `TZID` with a monthly rule, Nextcloud's `EXDATE` list and cancelled
/// override, Meetup's `URL`s, Trumba's `RDATE` list, Confluence's local
/// `UNTIL` and a week-long all-day event.
const SAMPLE: &[&str] = &[
    "zimbra_gmt_dublin_edinburgh_lisbon_london.ics",
    "thunderbird_mozilla_prefixed_tzid.ics",
    "nextcloud_sabre_exdate_list_and_cancelled_override.ics",
    "meetup_utc_times_with_url.ics",
    "trumba_rdate_list.ics",
    "confluence_local_until_and_dates.ics",
];

#[test]
fn each_producer_is_read_as_it_meant() {
    for (name, want) in truth() {
        let (sessions, warnings) = common::capture_warnings(|| read(name));
        assert_eq!(rows(&sessions), want, "{name}");
        assert!(!warnings.contains("WARN"), "{name} warned: {warnings}");
    }
}

#[test]
fn python_icalendar_reads_every_producer_alike() {
    let Some(py) = python_with_recurring_ical_events() else {
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/occurrences.py");
    let c = ctx();
    let (from, to) = (
        c.now - chrono::Duration::days(events::platforms::ical::PAST_DAYS),
        c.now + chrono::Duration::days(events::platforms::ical::AHEAD_DAYS),
    );
    let names = truth()
        .into_iter()
        .map(|(n, _)| n)
        .chain(SAMPLE.iter().copied());
    for name in names {
        let out = Command::new(&py)
            .arg(&script)
            .arg(dir().join(name))
            .arg(c.timezone.name())
            .arg(from.to_rfc3339())
            .arg(to.to_rfc3339())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Vec<Row> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            rows(&read(name)),
            theirs,
            "{name}: ours vs Python's icalendar"
        );
    }
}

/// python3 with icalendar and recurring-ical-events, or `None` with a message
/// (under `CI`, a missing tool fails).
fn python_with_recurring_ical_events() -> Option<String> {
    let ok = Command::new("python3")
        .args(["-c", "import icalendar, recurring_ical_events"])
        .output()
        .is_ok_and(|o| o.status.success());
    match (ok, std::env::var_os("CI").is_some()) {
        (true, _) => Some("python3".into()),
        (false, true) => panic!("python3 with recurring-ical-events is missing, and CI is set: pip install -r tests/python/requirements.txt"),
        (false, false) => {
            println!("ical_producers: python3 with recurring-ical-events is missing: the comparison is not run");
            None
        }
    }
}

#[test]
fn all_day_override_keeps_the_key_of_the_day_it_moved() {
    let s = read("exchange_allday_recurrence_id_zoned.ics");
    let keys: Vec<&str> = s.iter().map(|x| x.key.0.as_str()).collect();
    assert_eq!(keys, ["20270105", "20270112", "20270119"]);
    assert!(s.iter().all(|x| x.all_day));
}

#[test]
fn one_unreadable_line_skips_one_event_not_the_feed() {
    let (sessions, warnings) =
        common::capture_warnings(|| read("exchange_tzid_quote_swallows_colon.ics"));
    assert_eq!(
        rows(&sessions),
        vec![
            row(
                "2027-01-21T08:00:00Z",
                "2027-01-21T09:00:00Z",
                "Supervision skills for managers"
            ),
            row(
                "2027-01-28T08:00:00Z",
                "2027-01-28T09:00:00Z",
                "Supervision skills for managers"
            ),
        ]
    );
    assert_eq!(warnings.matches("WARN").count(), 1, "{warnings}");
    assert!(
        warnings.contains("11111111111111111111111111111111"),
        "names the UID: {warnings}"
    );
    assert!(
        warnings.contains("line 23 (DTSTART)"),
        "names the line: {warnings}"
    );
}

#[test]
fn feeds_without_uids_get_the_same_fallback_uids_every_crawl() {
    let first = read("data_ical_no_uid.ics");
    let again = read("data_ical_no_uid.ics");
    let ids = |s: &[Session]| s.iter().map(|x| x.event_id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first), ids(&again));
    assert!(
        ids(&first).iter().all(|u| u.starts_with("nouid-")),
        "{:?}",
        ids(&first)
    );
    assert_ne!(first[0].event_id, first[1].event_id);
}

#[test]
fn feeds_say_nothing_of_places_and_an_event_without_url_has_no_link() {
    let s = read("lotus_notes_eastern_vtimezone.ics");
    assert!(s
        .iter()
        .all(|x| x.availability == events::model::Availability::unpublished()));
    assert!(s.iter().all(|x| x.url.is_empty()));
    let tec = read("the_events_calendar_4_6_no_uid.ics");
    assert_eq!(
        tec[0].url,
        "https://www.walsallsafeguarding.example/event/self-neglect/"
    );
    assert_eq!(tec[0].status, Status::Scheduled);
}

#[test]
fn nul_bytes_and_junk_after_the_calendar_are_tolerated() {
    // NUL padding (a fixed-size buffer written out whole) is nothing at all.
    let (s, warnings) = common::capture_warnings(|| read("nul_bytes_after_end_vcalendar.ics"));
    assert_eq!(s.len(), 1);
    assert!(!warnings.contains("WARN"), "{warnings}");
    // Other junk after the calendar is counted in one warning, never echoed.
    let body = std::fs::read_to_string(dir().join("nul_bytes_after_end_vcalendar.ics")).unwrap()
        + "\u{1b}[31mjunk\0 after\r\n<html>";
    let (feed, warnings) =
        common::capture_warnings(|| parse_feed(&body, &feed_url(), &ctx()).unwrap());
    assert_eq!(feed.sessions.len(), 1);
    assert!(
        warnings.contains("lines outside any VCALENDAR ignored"),
        "{warnings}"
    );
    assert!(
        !warnings.contains('\0') && !warnings.contains('\u{1b}'),
        "log text is safe: {warnings:?}"
    );
}

#[test]
fn a_nesting_bomb_is_skipped_and_the_events_kept() {
    // 2,000 nested components in 32 KB overflowed the stack before.
    let good = std::fs::read_to_string(dir().join("google_untitled_event_no_summary.ics")).unwrap();
    let bomb = good.replace(
        "END:VCALENDAR\r\n",
        &("BEGIN:X\r\n".repeat(2_000) + &"END:X\r\n".repeat(2_000) + "END:VCALENDAR\r\n"),
    );
    assert!(bomb.len() > 32_000);
    let (feed, warnings) =
        common::capture_warnings(|| parse_feed(&bomb, &feed_url(), &ctx()).unwrap());
    assert_eq!(feed.sessions.len(), 2);
    assert!(warnings.contains("nested deeper than"), "{warnings}");
}

#[test]
fn a_secondly_rule_from_1900_stops_at_the_occurrence_cap() {
    let (feed, warnings) = common::capture_warnings(|| {
        let body = std::fs::read_to_string(dir().join("hostile_secondly_from_1900.ics")).unwrap();
        parse_feed(&body, &feed_url(), &ctx()).unwrap()
    });
    assert_eq!(feed.sessions.len(), MAX_OCCURRENCES);
    let first = feed.sessions[0].start;
    assert!(first >= ctx().now - chrono::Duration::days(30), "{first}");
    assert!(
        warnings.contains("only the first 1000 occurrences"),
        "{warnings}"
    );
}

#[test]
fn a_rule_that_cannot_reach_the_window_is_skipped_naming_its_uid() {
    // COUNT keeps the rule from being moved forward: it must walk from 1900.
    let body = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:far-back\r\nDTSTART:19000101T000000Z\r\nRRULE:FREQ=SECONDLY;COUNT=900000000\r\nSUMMARY:s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let (feed, warnings) =
        common::capture_warnings(|| parse_feed(body, &feed_url(), &ctx()).unwrap());
    assert!(feed.sessions.is_empty());
    assert!(
        warnings.contains("far-back") && warnings.contains("does not reach the window"),
        "{warnings}"
    );
}

#[test]
fn many_minutely_events_stop_at_max_sessions_as_they_are_read() {
    // 10,000 events repeating every minute: reading stops at the limit
    // instead of making 10 million sessions.
    let mut body = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
    for i in 0..10_000 {
        body.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:m{i}\r\nDTSTART:20261202T000000Z\r\nRRULE:FREQ=MINUTELY\r\nSUMMARY:m\r\nEND:VEVENT\r\n"
        ));
    }
    body.push_str("END:VCALENDAR\r\n");
    let before = peak_rss_kib();
    let feed = parse_feed_within(&body, &feed_url(), &ctx(), 5_000).unwrap();
    assert!(feed.stopped_at_limit);
    assert_eq!(feed.sessions.len(), 5_000);
    // The process's own high-water mark: far under the 5 GB this once asked for.
    let after = peak_rss_kib();
    assert!(
        after < before.max(256 * 1024) + 256 * 1024,
        "peak RSS {after} KiB"
    );
}

/// This process's peak resident size (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn a_rule_with_text_no_rule_has_is_refused_not_a_panic() {
    // Found by the `ical_feed` fuzz target: non-ASCII bytes in a VTIMEZONE's
    // BYDAY made the `rrule` crate panic.
    let bytes = std::fs::read(dir().join("hostile_rrule_byday_not_ascii.ics")).unwrap();
    let body = String::from_utf8_lossy(&bytes);
    let (feed, warnings) = common::capture_warnings(|| parse_feed(&body, &feed_url(), &ctx()));
    assert!(feed.is_ok(), "{feed:?}");
    assert!(
        warnings.contains("holds characters no rule has"),
        "{warnings}"
    );
}
