//! What must hold for any input, whatever its bytes: one oracle per parser,
//! shared by the property tests (`tests/properties.rs`) and the fuzz targets
//! (`fuzz/fuzz_targets/*.rs`, which include this file by path).
//!
//! Each check takes untrusted input, runs the real code on it and panics only
//! when an invariant is broken (a panic inside the code under test is a crash
//! too). Refusals must name where the input came from.
#![allow(dead_code)] // each user calls its own subset

use chrono::{DateTime, Duration, TimeZone, Utc};
use events::config;
use events::feed::{self, FeedOptions};
use events::model::{Availability, Session, SessionKey, Status, StoredSession};
use events::platforms::event_booking::EventBookingConfig;
use events::platforms::event_booking::{
    is_booking_url, parse_detail, parse_elearning, parse_listing,
};
use events::platforms::eventbrite::{
    parse_api_error, parse_api_events, parse_event_page, parse_showmore, parse_ticket_classes,
};
use events::platforms::schema_org::{parse_event_page_within, parse_listing_within, Budget};
use events::platforms::{text, SourceContext};
use events::query::{Cursor, Filter, FilterError, Part, MAX_CATEGORIES, MAX_QUERY_BYTES};
use events::remote::next_link;
use std::path::Path;
use url::Url;

/// The booking site every booking-page check reads as.
pub const BOOKING_BASE: &str = "https://walsall.event-booking.org.uk";
/// The Eventbrite site and API every Eventbrite check reads as.
pub const EVENTBRITE_BASE: &str = "https://www.eventbrite.co.uk";
/// A partnership website every schema.org check reads as.
pub const SITE_BASE: &str = "https://www.partnership.example";
/// The file name a backup check reads as; every refusal must name it.
pub const BACKUP_FILE: &str = "backups/hostile.backup";
/// The file name a settings check reads as; every refusal must name it.
pub const SETTINGS_FILE: &str = "events.toml";
/// The file name a source-file check reads as; every refusal must name it.
pub const SOURCE_FILE: &str = "sources/hostile.toml";

/// The crawl context of every check: a fixed clock, WSP's zone.
pub fn ctx() -> SourceContext {
    SourceContext {
        source_id: "wsp".into(),
        timezone: chrono_tz::Europe::London,
        now: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        probe: Default::default(),
    }
}

fn url(base: &str, path: &str) -> Url {
    Url::parse(&format!("{base}{path}")).unwrap()
}

fn names_its_source(err: &impl std::fmt::Display, page: &Url) {
    let msg = err.to_string();
    assert!(
        msg.starts_with(page.as_str()),
        "the error does not name the page it came from: {msg}"
    );
}

/// A session the booking adapter returns: on the site, not the booking form,
/// and ending after it starts.
fn sane_booking_session(s: &Session, page: &Url) {
    let u = Url::parse(&s.url).expect("a session's URL parses");
    assert_eq!(u.origin(), page.origin(), "session URL on another host");
    assert!(!is_booking_url(&u), "a booking link became a session URL");
    assert!(s.end > s.start, "session ends before it starts");
    assert_eq!(s.source, "wsp");
}

/// The booking site's listing page parser.
pub fn booking_listing(html: &str) {
    let page = url(BOOKING_BASE, "/events-list?page=2");
    let out = parse_listing(html, &page, &EventBookingConfig::default(), &ctx())
        .expect("page content never makes the listing parser fail");
    for e in &out.entries {
        assert_eq!(e.url.origin(), page.origin(), "entry on another host");
        assert!(!is_booking_url(&e.url), "a booking link became an entry");
        assert!(!e.event_id.is_empty());
        if let Some(s) = &e.session {
            sane_booking_session(s, &page);
        }
    }
    if let Some(next) = &out.next {
        assert_eq!(next.origin(), page.origin(), "next page on another host");
        assert_ne!(next, &page, "next page is the page itself");
    }
}

/// The booking site's detail page parser.
pub fn booking_detail(html: &str) {
    let page = url(BOOKING_BASE, "/events/1001");
    match parse_detail(html, &page, &EventBookingConfig::default(), &ctx()) {
        Ok(sessions) => {
            for s in &sessions {
                sane_booking_session(s, &page);
                assert_eq!(s.event_id, "1001");
            }
        }
        Err(e) => names_its_source(&e, &page),
    }
}

/// The booking site's eLearning catalogue parser.
pub fn booking_elearning(html: &str) {
    let page = url(BOOKING_BASE, "/elearning-list");
    let (courses, next) = parse_elearning(html, &page, &EventBookingConfig::default(), &ctx())
        .expect("page content never makes the eLearning parser fail");
    for c in &courses {
        assert!(!c.title.trim().is_empty(), "a course without a title");
    }
    if let Some(next) = next {
        assert_eq!(next.origin(), page.origin(), "next page on another host");
    }
}

/// The date, time, places and venue parsers of `platforms::text`.
pub fn text_parsers(s: &str) {
    let n = text::normalise_ws(s);
    assert_eq!(text::normalise_ws(&n), n, "normalise_ws is not idempotent");
    assert_eq!(n.trim(), n, "normalise_ws left whitespace at an end");
    if let Ok(r) = text::parse_time_range(s) {
        // an end before the start is for callers to refuse; both must be real times
        let _ = (r.start, r.end);
    }
    let _ = text::parse_time(s);
    if let Ok(d) = text::parse_date(s) {
        // any date read converts (or is refused) without a panic
        if let Ok(t) = text::parse_time(s) {
            let _ = text::local_to_utc(d, t, chrono_tz::Europe::London);
        }
    }
    if let Some((status, a)) = text::parse_availability(s) {
        if status == Status::Full {
            assert_eq!(a.spaces_left, Some(0), "full but places left: {s:?}");
        }
        if let (Some(left), Some(cap)) = (a.spaces_left, a.capacity) {
            let _ = (left, cap);
        }
    }
    if let Some(v) = text::parse_venue(s) {
        assert!(!v.text.is_empty());
        assert!(text::looks_like_venue(s) || !v.online);
    }
}

/// The Eventbrite API's organiser event list parser.
pub fn eventbrite_api_events(body: &[u8]) {
    let api = url(
        "https://www.eventbriteapi.com",
        "/v3/organizers/1/events/?status=live",
    );
    match parse_api_events(body, &api, &ctx()) {
        Ok(p) => {
            for r in &p.entries {
                assert!(!r.event_id.is_empty());
                assert!(r.end >= r.start, "event ends before it starts");
            }
        }
        Err(e) => names_its_source(&e, &api),
    }
}

/// The Eventbrite API's ticket-classes parser, and its error-body reader.
pub fn eventbrite_ticket_classes(body: &[u8]) {
    let classes = url(
        "https://www.eventbriteapi.com",
        "/v3/events/1/ticket_classes/",
    );
    if let Err(e) = parse_ticket_classes(body, &classes) {
        names_its_source(&e, &classes);
    }
    let err = parse_api_error(403, body);
    assert!(!err.description.is_empty(), "an API error with no words");
}

/// The public site's show-more list parser.
pub fn eventbrite_showmore(body: &[u8]) {
    let more = url(EVENTBRITE_BASE, "/org/1/showmore/?type=future&page=1");
    match parse_showmore(body, &more, &ctx()) {
        Ok(p) => {
            for r in &p.events {
                assert!(r.end >= r.start, "event ends before it starts");
            }
        }
        Err(e) => names_its_source(&e, &more),
    }
}

/// The public site's event page parser (JSON-LD and `__SERVER_DATA__`).
pub fn eventbrite_event_page(html: &str) {
    let page = url(EVENTBRITE_BASE, "/e/course-tickets-1");
    match parse_event_page(html, &page) {
        Ok(f) => {
            if let Some(a) = f.availability {
                assert!(!a.waitlist);
            }
        }
        Err(e) => names_its_source(&e, &page),
    }
}

/// Every Eventbrite parser on the same bytes.
pub fn eventbrite(body: &[u8]) {
    eventbrite_api_events(body);
    eventbrite_ticket_classes(body);
    eventbrite_showmore(body);
    eventbrite_event_page(&String::from_utf8_lossy(body));
}

/// The schema.org listing reader, within a small budget: a refusal names the
/// page; what it reads keeps to the budget and to the source.
pub fn schema_org_listing(html: &str) {
    let page = url(SITE_BASE, "/events/");
    let budget = Budget {
        sessions: 20,
        event_urls: 20,
    };
    match parse_listing_within(html, &page, None, &ctx(), budget) {
        Ok(l) => {
            assert!(l.sessions.len() <= budget.sessions, "{}", l.sessions.len());
            assert!(
                l.event_urls.len() <= budget.event_urls,
                "{}",
                l.event_urls.len()
            );
            assert!(l.sessions.iter().all(|s| s.source == "wsp"));
            // A `next` back to the page itself is possible; the walk's pager
            // stops at a page already read.
        }
        Err(e) => names_its_source(&e, &page),
    }
}

/// The schema.org event page reader, within a small budget.
pub fn schema_org_event_page(html: &str) {
    let page = url(SITE_BASE, "/event/neglect/");
    match parse_event_page_within(html, &page, &ctx(), 20) {
        Ok(p) => {
            assert!(p.sessions.len() <= 20, "{}", p.sessions.len());
            assert!(p.sessions.iter().all(|s| s.source == "wsp"));
        }
        Err(e) => names_its_source(&e, &page),
    }
}

/// The backup file reader (`events restore` checks a file with it before
/// writing anything): any bytes are either a whole backup or refused in one
/// sentence naming the file.
pub fn backup_file(bytes: &[u8]) {
    let path = Path::new(BACKUP_FILE);
    match events::backup::verify_from(path, bytes) {
        Ok((_, summary)) => assert!(summary.sessions <= summary.records),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(BACKUP_FILE),
                "the refusal does not name the file: {msg}"
            );
            assert!(!msg.contains('\n'), "one sentence: {msg}");
        }
    }
}

/// The settings file (`events.toml`): a refusal names the file; accepted
/// settings are within their limits.
pub fn settings_file(text: &str) {
    match events::site::Site::parse(Path::new(SETTINGS_FILE), text) {
        Ok(site) => {
            let chars = |s: &Option<String>| s.as_ref().map_or(0, |s| s.chars().count());
            assert!(chars(&site.title) <= events::site::MAX_TITLE_CHARS);
            assert!(chars(&site.description) <= events::site::MAX_DESCRIPTION_CHARS);
            if let Some(u) = &site.public_url {
                assert!(u.starts_with("http://") || u.starts_with("https://"), "{u}");
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(SETTINGS_FILE),
                "the refusal does not name the file: {msg}"
            );
        }
    }
}

/// The source-file loader: a refusal names the file; an accepted file holds
/// only what the loader promises.
pub fn source_file(text: &str) {
    match config::parse_source(Path::new(SOURCE_FILE), text) {
        Ok(c) => {
            assert!(!c.id.is_empty());
            assert!(c
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            assert!(matches!(c.base_url.scheme(), "http" | "https"));
            assert!(c.requests_per_second.is_finite() && c.requests_per_second > 0.0);
            assert!(c.min_fraction.is_finite());
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(SOURCE_FILE),
                "the refusal does not name the file: {msg}"
            );
        }
    }
}

/// The query-string filter codec of `serve` (`Filter::from_query`): a refusal
/// is one sentence; a filter holds only values the limits allow, and reads
/// back the same from the query string `Filter::to_query` writes for it.
pub fn query_string(q: &str) {
    match Filter::from_query(q) {
        Ok(f) => {
            filter_round_trip(&f);
            assert!(f.categories.len() <= MAX_CATEGORIES);
            if let Some(s) = &f.source {
                assert!(s
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
            }
            if let Some(s) = &f.search {
                assert!(!s.chars().any(char::is_control), "control character kept");
                assert_eq!(s.trim(), s);
            }
            if let Some(d) = f.days {
                assert!(d >= 1);
            }
        }
        Err(e) => {
            let m = e.to_string();
            assert!(
                m.ends_with('.') && !m.contains('\n'),
                "not one sentence: {m:?}"
            );
        }
    }
}

/// A filter the codec accepted (from a query string, or from the command
/// line through `Filter::checked`) is written once and read back unchanged;
/// the only refusal is a written form over `MAX_QUERY_BYTES` (text outside
/// ASCII grows when written as `%XX`). Writing is also stable: the filter
/// read back writes the same query string.
pub fn filter_round_trip(f: &Filter) {
    assert_eq!(f.clone().checked().as_ref(), Ok(f), "checked changed it");
    let written = f.to_query();
    match Filter::from_query(&written) {
        Ok(back) => {
            assert_eq!(&back, f, "{written}");
            assert_eq!(back.to_query(), written);
        }
        Err(e) => {
            assert_eq!(e, FilterError::QueryTooLong, "{written}");
            assert!(written.len() > MAX_QUERY_BYTES);
        }
    }
}

/// The `after=` cursor of paged views (`Cursor::from_param`): a refusal is
/// `BadAfter`, one sentence. A cursor read keeps everything after the
/// value's first `_` as its UID, and is written (`to_param`) as a value that
/// reads back as the same cursor and is written the same again. It also
/// comes back through the next part's query string (`Part::next_params`,
/// then `Part::from_query`, which trims values) when its UID has no
/// surrounding whitespace, as no stored UID has.
pub fn cursor_param(v: &str) {
    let c = match Cursor::from_param(v) {
        Ok(c) => c,
        Err(e) => {
            assert_eq!(e, FilterError::BadAfter, "{v:?}");
            let m = e.to_string();
            assert!(
                m.ends_with('.') && !m.contains('\n'),
                "not one sentence: {m:?}"
            );
            return;
        }
    };
    assert_eq!(v.split_once('_').map(|(_, uid)| uid), Some(c.uid.as_str()));
    assert!(!c.uid.is_empty(), "{v:?}");
    let written = c.to_param();
    let back = Cursor::from_param(&written).unwrap_or_else(|e| {
        panic!("{v:?} reads as {c:?}, written {written:?}, which is refused: {e}")
    });
    assert_eq!(back, c, "{v:?} written {written:?}");
    assert_eq!(back.to_param(), written);
    if c.uid.trim() == c.uid {
        let part = Part {
            after: Some(c.clone()),
            limit: 7,
        };
        let q = part.next_params(&c, 100);
        let read = Part::from_query(&q, 100, 100)
            .unwrap_or_else(|e| panic!("{v:?}: the next part's query {q:?} is refused: {e}"));
        assert_eq!(read, part, "{q:?}");
    }
}

/// The `Link` header reader of `--server` clients (`remote::next_link`):
/// any text is read without panicking. A target found is a slice of the
/// header that stands between a `<` and a `>`, holds no `>`, and is followed
/// by `rel` and `next`. And the input as a target (less its `>`; commas
/// stay) is found in headers built around it: alone with
/// `rel="next"`, after a link that is not `next`, with `rel` and `next` in
/// any case and other parameters; never when its `rel` is only like `next`.
pub fn link_header(h: &str) {
    if let Some(t) = next_link(h) {
        let (base, at) = (h.as_ptr() as usize, t.as_ptr() as usize);
        assert!(
            base <= at && at + t.len() <= base + h.len(),
            "{t:?} is not a part of {h:?}"
        );
        let (before, after) = (&h[..at - base], &h[at - base + t.len()..]);
        assert!(before.ends_with('<'), "{t:?} in {h:?}");
        assert!(after.starts_with('>'), "{t:?} in {h:?}");
        assert!(!t.contains('>'), "{t:?}");
        let params = after.to_ascii_lowercase();
        assert!(
            params.contains("rel") && params.contains("next"),
            "{t:?} found in {h:?}, with no rel or next after it"
        );
    }
    // Any target without a `>`, commas too, is found in either place.
    let target: String = h.chars().filter(|c| *c != '>').collect();
    let found = |header: String| next_link(&header).map(str::to_string);
    assert_eq!(
        found(format!("<{target}>; rel=\"next\"")).as_deref(),
        Some(target.as_str())
    );
    assert_eq!(
        found(format!(
            "<https://x.example/a>; rel=\"prev last\", <{target}>; title=\"x\"; REL = \"Last NEXT\""
        ))
        .as_deref(),
        Some(target.as_str())
    );
    assert_eq!(found(format!("<{target}>; rel=\"nextish\"")), None);
    assert_eq!(found(format!("<{target}>; title=\"next\"")), None);
}

// ---------------------------------------------------------------------------
// The feed writer round trip

/// The text fields of one session, as a hostile source might give them.
#[derive(Debug, Clone, Default)]
pub struct SessionText {
    pub title: String,
    pub description: String,
    pub venue: String,
    pub category: String,
    pub prerequisites: String,
    pub event_id: String,
    /// Hours after the base time the session starts at (any value).
    pub start_hours: i32,
    /// Minutes it lasts (may be negative: an end before the start).
    pub minutes: i32,
    /// Picks the status, the places, online or not and the zone.
    pub flags: u8,
}

/// Splits fuzz input into sessions: fields separated by 0xFF bytes, six to a
/// session, the first byte of each group's title choosing times and flags.
pub fn sessions_from_bytes(data: &[u8]) -> Vec<SessionText> {
    let fields: Vec<String> = data
        .split(|&b| b == 0xff)
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    fields
        .chunks(6)
        .take(16)
        .enumerate()
        .map(|(i, c)| {
            let get = |n: usize| c.get(n).cloned().unwrap_or_default();
            let seed = c.iter().map(String::len).sum::<usize>() as i32;
            SessionText {
                title: get(0),
                description: get(1),
                venue: get(2),
                category: get(3),
                prerequisites: get(4),
                event_id: get(5),
                start_hours: seed.wrapping_mul(37) % 200_000 - 100_000 + i as i32,
                minutes: seed % 600 - 60,
                flags: (seed as u8).wrapping_add(i as u8),
            }
        })
        .collect()
}

fn stored(t: &SessionText, n: usize) -> StoredSession {
    let base = Utc.with_ymd_and_hms(2027, 1, 1, 9, 0, 0).unwrap();
    let start = base + Duration::hours(i64::from(t.start_hours));
    let status = [
        Status::Scheduled,
        Status::Full,
        Status::Closed,
        Status::Cancelled,
        Status::Withdrawn,
    ][usize::from(t.flags % 5)];
    let zone =
        ["Europe/London", "UTC", "Not/A_Zone", "America/New_York"][usize::from(t.flags / 5 % 4)];
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let session = Session {
        source: "wsp".into(),
        // distinct sessions, whatever the ids: the index makes the key unique
        event_id: t.event_id.clone(),
        key: SessionKey::nth(n + 1),
        title: t.title.clone(),
        category: opt(&t.category),
        level: None,
        prerequisites: opt(&t.prerequisites),
        description: opt(&t.description),
        start,
        end: start + Duration::minutes(i64::from(t.minutes)),
        timezone: zone.into(),
        venue: opt(&t.venue),
        online: t.flags & 0x40 != 0,
        status,
        availability: Availability {
            spaces_left: (t.flags & 0x80 != 0).then_some(u32::from(t.flags % 7)),
            capacity: None,
            waitlist: t.flags & 0x20 != 0,
            unpublished: false,
        },
        url: format!("{BOOKING_BASE}/events/{}", t.title.len()),
        all_day: false,
    };
    StoredSession {
        uid: session.uid(),
        first_seen: base,
        last_seen: base,
        last_changed: base,
        sequence: u32::from(t.flags),
        session,
    }
}

/// Scraped text as the feed is meant to carry it: every line break (CR, LF,
/// CRLF, NEL, LS, PS) one `\n`, other control characters but tab dropped.
fn scrubbed(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
            }
            '\n' | '\u{85}' | '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// LOCATION as promised: the venue on one line, its lines joined by commas;
/// "Online" for an online session with no venue.
fn expected_location(s: &Session) -> Option<String> {
    let venue = s
        .venue
        .as_deref()
        .map(|v| {
            scrubbed(v)
                .split('\n')
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .map(|l| l.trim_end_matches(',').to_string())
                .filter(|l| !l.is_empty())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .filter(|v| !v.is_empty());
    match venue {
        Some(v) => Some(v),
        None if s.online => Some("Online".into()),
        None => None,
    }
}

/// RFC 5545 §3.3.11 TEXT unescaping; a backslash before anything else is an
/// error in the writer.
fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(c @ ('\\' | ';' | ',')) => out.push(c),
            other => panic!("bad escape \\{other:?} in {v:?}"),
        }
    }
    out
}

/// Text without any whitespace: what survives the `ical` crate's trimming of
/// physical lines whatever the folding.
/// Text as read back with the feed's one deliberate change undone: the
/// zero-width joiner it puts after a `BEGIN:`/`END:` inside text.
fn plain(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let tail: String = out
            .chars()
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let tail = tail.to_ascii_uppercase();
        let after_delimiter = tail.ends_with("BEGIN:") || tail.ends_with("END:");
        if !(c == '\u{200d}' && after_delimiter) {
            out.push(c);
        }
    }
    out
}

/// Whitespace dropped, and the zero-width joiner the feed puts after a
/// `BEGIN:`/`END:` inside text (so careless parsers do not split there).
fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{200d}')
        .collect()
}

/// One VEVENT's texts as read back.
#[derive(Debug, Default)]
struct ReadBack {
    uid: String,
    summary: String,
    description: String,
    location: Option<String>,
}

/// A strict reading of the feed's bytes: every physical line at most 75
/// octets and ended by CRLF, unfolded exactly as RFC 5545 §3.1 says.
fn strict_events(feed: &str) -> Vec<ReadBack> {
    assert!(feed.ends_with("\r\n"), "the feed does not end with CRLF");
    let mut logical: Vec<String> = Vec::new();
    for line in feed[..feed.len() - 2].split("\r\n") {
        assert!(
            line.len() <= 75,
            "a line of {} octets: {line:?}",
            line.len()
        );
        assert!(
            !line.contains('\r') && !line.contains('\n'),
            "a bare CR or LF inside a line: {line:?}"
        );
        match line.strip_prefix([' ', '\t']) {
            Some(rest) => logical
                .last_mut()
                .expect("a continuation line first")
                .push_str(rest),
            None => logical.push(line.to_string()),
        }
    }
    let mut events = Vec::new();
    let mut current: Option<ReadBack> = None;
    for l in &logical {
        match l.as_str() {
            "BEGIN:VEVENT" => {
                assert!(current.is_none(), "nested VEVENT");
                current = Some(ReadBack::default());
            }
            "END:VEVENT" => events.push(current.take().expect("END:VEVENT without BEGIN")),
            _ => {
                if let Some(ev) = current.as_mut() {
                    let (name, value) = l.split_once(':').expect("a property with a value");
                    match name {
                        "UID" => ev.uid = unescape(value),
                        "SUMMARY" => ev.summary = unescape(value),
                        "DESCRIPTION" => ev.description = unescape(value),
                        "LOCATION" => ev.location = Some(unescape(value)),
                        _ => {}
                    }
                }
            }
        }
    }
    assert!(current.is_none(), "a VEVENT left open");
    events
}

/// Renders `texts` as a feed, reads it back with the independent `ical` crate
/// and with a strict RFC 5545 reading, and checks one VEVENT per session with
/// the summary, description and location text it was given.
///
/// The `ical` crate trims whitespace at the ends of physical lines and drops
/// leading colons from a value, so against it texts are compared without
/// whitespace and leading colons; the strict reading
/// compares them exactly.
pub fn feed_round_trip(texts: &[SessionText]) {
    let stored: Vec<StoredSession> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| stored(t, i))
        .collect();
    let out = feed::render(&stored, &FeedOptions::default());

    let mut parser = ical::IcalParser::new(out.as_bytes());
    let cal = parser
        .next()
        .expect("one calendar")
        .unwrap_or_else(|e| panic!("the ical crate refuses the feed: {e}"));
    assert!(parser.next().is_none(), "one VCALENDAR expected");
    assert_eq!(cal.events.len(), stored.len(), "one VEVENT per session");
    let strict = strict_events(&out);
    assert_eq!(
        strict.len(),
        stored.len(),
        "one VEVENT per session (strict)"
    );

    for st in &stored {
        let s = &st.session;
        let uid = st.uid.as_str();
        let ev = cal
            .events
            .iter()
            .find(|e| {
                e.properties
                    .iter()
                    .any(|p| p.name == "UID" && p.value.as_deref() == Some(uid))
            })
            .unwrap_or_else(|| panic!("no VEVENT with UID {uid}"));
        let prop = |name: &str| {
            ev.properties
                .iter()
                .find(|p| p.name == name)
                .map(|p| unescape(p.value.as_deref().unwrap_or("")))
        };
        let summary = feed::summary(s);
        let loose = |v: &str| squash(v.trim_start_matches(':'));
        assert_eq!(
            loose(&prop("SUMMARY").unwrap_or_default()),
            loose(&summary),
            "SUMMARY (ical crate)"
        );
        let location = expected_location(s);
        assert_eq!(
            prop("LOCATION").map(|l| loose(&l)),
            location.as_deref().map(loose),
            "LOCATION (ical crate)"
        );
        let description = prop("DESCRIPTION").unwrap_or_default();
        for part in [&s.description, &s.prerequisites, &s.category] {
            if let Some(p) = part.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
                assert!(
                    squash(&description).contains(&squash(&scrubbed(p))),
                    "DESCRIPTION (ical crate) lost {p:?}: {description:?}"
                );
            }
        }

        let ev = strict
            .iter()
            .find(|e| e.uid == uid)
            .unwrap_or_else(|| panic!("no VEVENT with UID {uid} (strict)"));
        assert_eq!(plain(&ev.summary), plain(&summary), "SUMMARY");
        assert_eq!(
            ev.location.as_deref().map(plain),
            location.as_deref().map(plain),
            "LOCATION"
        );
        if let Some(d) = s
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
        {
            assert!(
                plain(&ev.description).contains(&scrubbed(d)),
                "DESCRIPTION lost {d:?}: {:?}",
                ev.description
            );
        }
    }
}

/// The instant a test or fuzz run reads as now.
pub fn now() -> DateTime<Utc> {
    ctx().now
}

/// The keys merging matches scraped listings on (`duplicates::course_key`,
/// `duplicates::link_key`): any text is read without panicking; a course
/// key is words of letters and digits, one space apart, and reading it
/// again gives it back or (past the notes one title may set aside) a
/// shorter start of it; a link key exists only for an `http(s)` address
/// with a host and a path.
pub fn duplicate_keys(text: &str) {
    use events::duplicates::{course_key, link_key};
    if let Some(k) = course_key(text) {
        assert!(
            !k.is_empty() && !k.starts_with(' ') && !k.ends_with(' '),
            "{k:?}"
        );
        assert!(!k.contains("  "), "{k:?}");
        assert!(k.chars().all(|c| c == ' ' || c.is_alphanumeric()), "{k:?}");
        let again = course_key(&k).unwrap_or_default();
        assert!(
            k.starts_with(&again) && !again.is_empty(),
            "{k:?} then {again:?}, from {text:?}"
        );
    }
    if let Some(k) = link_key(text) {
        let lower = text.to_ascii_lowercase();
        assert!(
            lower.starts_with("http://") || lower.starts_with("https://"),
            "{text:?}"
        );
        assert!(k.contains('/') && k.contains('?'), "{k:?}");
    }
}
