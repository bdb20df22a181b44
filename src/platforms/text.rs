//! Text parsing shared by the HTML readers: whitespace, dates, time ranges,
//! local-to-UTC conversion, availability phrases and venues.
//!
//! Everything here works on one already-extracted piece of text and returns a
//! value or an error; nothing here knows about HTML, URLs or a particular site,
//! and nothing here panics, whatever the input.

use crate::model::{Availability, Status};
use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use regex::{Captures, Regex};
use std::sync::LazyLock;

/// The venue shown for an event held online when the source names no platform.
pub const ONLINE_VENUE: &str = "Online";

/// Why a piece of text could not be read as the value asked for. A `String`
/// in a variant is the text read, whitespace normalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing in the text looks like a date.
    #[error("no date in {0:?}")]
    NoDate(String),
    /// Something shaped like a date names no real day, e.g. `31 April 2024`
    /// or `09/13/2024`.
    #[error("{0:?} is not a calendar date")]
    InvalidDate(String),
    /// The date and the weekday written with it disagree.
    #[error("{text:?}: the weekday says {stated} but the date is a {actual}")]
    WeekdayMismatch {
        /// The text read, whitespace normalised.
        text: String,
        /// The weekday the text names.
        stated: Weekday,
        /// The weekday the date falls on.
        actual: Weekday,
    },
    /// Nothing in the text reads as a start and an end time.
    #[error("no time range in {0:?}")]
    NoTimeRange(String),
    /// Nothing in the text reads as a time of day written with `:`, `.`,
    /// am/pm or noon.
    #[error("no time in {0:?}")]
    NoTime(String),
    /// The local time (first) is skipped in the zone (second) when the clocks
    /// go forward.
    #[error("{0} does not exist in {1} (the clocks go forward over it)")]
    NonexistentLocalTime(chrono::NaiveDateTime, Tz),
}

/// Collapses every run of whitespace (including non-breaking and other Unicode
/// spaces, tabs and newlines) to one ASCII space and trims the ends.
pub fn normalise_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.chars() {
        // zero-width characters are invisible on the page: drop them
        if matches!(c, '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{feff}') {
            continue;
        }
        if c.is_whitespace() {
            pending_space = true;
        } else {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(c);
        }
    }
    out
}

const MONTHS: &str = "january|february|march|april|may|june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec";
const WEEKDAYS: &str = "monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues|tue|wed|weds|thurs|thur|thu|fri|sat|sun";

/// `Tuesday 9 April 2024`, `Tue 9th Apr 2024`, `Thursday, 16 Sept 2027`, `9 April, 2024`.
static WORD_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:\b(?P<wd>{WEEKDAYS})\.?,?\s+)?\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m>{MONTHS})\.?,?\s+(?P<y>\d{{4}})\b"
    ))
    .expect("static regex")
});

/// `09/04/2024`, `9-4-2024`, `09.04.2024` (always day first: a UK site).
static NUMERIC_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?:\b(?P<wd>{WEEKDAYS})\.?,?\s+)?\b(?P<d>\d{{1,2}})[/.-](?P<m>\d{{1,2}})[/.-](?P<y>\d{{4}})\b"
    ))
    .expect("static regex")
});

fn month_number(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    let three = lower.get(..3)?;
    let n = match three {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    Some(n)
}

fn weekday_of(name: &str) -> Option<Weekday> {
    let lower = name.to_ascii_lowercase();
    let wd = match lower.get(..3)? {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    };
    Some(wd)
}

/// Finds the first date written anywhere in `s` (day first), e.g. in
/// `Date: Tue 9th Apr 2024, 09:30 - 16:30`.
///
/// A stated weekday that disagrees with the date is an error rather than a
/// guess at which of the two the organiser meant.
pub fn parse_date(s: &str) -> Result<NaiveDate, TextError> {
    let text = normalise_ws(s);
    let (caps, month) = if let Some(c) = WORD_DATE.captures(&text) {
        let m = month_number(&c["m"]);
        (c, m)
    } else if let Some(c) = NUMERIC_DATE.captures(&text) {
        let m = c["m"].parse::<u32>().ok();
        (c, m)
    } else {
        return Err(TextError::NoDate(text));
    };
    date_from_captures(&text, &caps, month)
}

fn date_from_captures(
    text: &str,
    caps: &Captures<'_>,
    month: Option<u32>,
) -> Result<NaiveDate, TextError> {
    let invalid = || TextError::InvalidDate(text.to_string());
    let day: u32 = caps["d"].parse().map_err(|_| invalid())?;
    let year: i32 = caps["y"].parse().map_err(|_| invalid())?;
    let month = month.ok_or_else(invalid)?;
    let date = NaiveDate::from_ymd_opt(year, month, day).ok_or_else(invalid)?;
    if let Some(stated) = caps.name("wd").and_then(|w| weekday_of(w.as_str())) {
        if stated != date.weekday() {
            return Err(TextError::WeekdayMismatch {
                text: text.to_string(),
                stated,
                actual: date.weekday(),
            });
        }
    }
    Ok(date)
}

/// One clock time: `09:30`, `9.30am`, `4:30 pm`, `10am`, `13:30`, `noon`.
const TIME: &str = r"(?:(?P<NAMEh>\d{1,2})(?:[:.](?P<NAMEm>\d{2}))?\s*(?P<NAMEap>[ap]\.?\s?m\b\.?)?|(?P<NAMEnoon>noon|midday))";

/// A range of two times separated by a hyphen, en/em dash, "to" or "until".
static TIME_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    let start = TIME.replace("NAME", "s");
    let end = TIME.replace("NAME", "e");
    Regex::new(&format!(
        r"(?i)(?:^|[^\d/.:])(?:{start})\s*(?:-|–|—|to\b|until\b|till\b)\s*(?:{end})(?:$|[^\d/.:])"
    ))
    .expect("static regex")
});

static SINGLE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    let t = TIME.replace("NAME", "s");
    Regex::new(&format!(r"(?i)(?:^|[^\d/.:])(?:{t})(?:$|[^\d/.:])")).expect("static regex")
});

/// Meridiem as written, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meridiem {
    Am,
    Pm,
}

/// A time as written before am/pm is resolved.
#[derive(Debug, Clone, Copy)]
struct RawTime {
    hour: u32,
    minute: u32,
    meridiem: Option<Meridiem>,
}

fn raw_time(caps: &Captures<'_>, prefix: &str) -> Option<RawTime> {
    if caps.name(&format!("{prefix}noon")).is_some() {
        return Some(RawTime {
            hour: 12,
            minute: 0,
            meridiem: Some(Meridiem::Pm),
        });
    }
    let hour: u32 = caps.name(&format!("{prefix}h"))?.as_str().parse().ok()?;
    let minute: u32 = match caps.name(&format!("{prefix}m")) {
        Some(m) => m.as_str().parse().ok()?,
        None => 0,
    };
    let meridiem = caps.name(&format!("{prefix}ap")).map(|m| {
        if m.as_str().to_ascii_lowercase().starts_with('a') {
            Meridiem::Am
        } else {
            Meridiem::Pm
        }
    });
    Some(RawTime {
        hour,
        minute,
        meridiem,
    })
}

fn resolve(t: RawTime, meridiem: Option<Meridiem>) -> Option<NaiveTime> {
    let hour = match meridiem {
        None => t.hour,
        Some(_) if !(1..=12).contains(&t.hour) => return None,
        Some(Meridiem::Am) => t.hour % 12,
        Some(Meridiem::Pm) => t.hour % 12 + 12,
    };
    NaiveTime::from_hms_opt(hour, t.minute, 0)
}

/// A start and end time of day, as printed (local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// When it starts.
    pub start: NaiveTime,
    /// When it ends; may be before `start` (see [`parse_time_range`]).
    pub end: NaiveTime,
}

/// Finds a time range anywhere in `s`: `09:30 - 16:30`, `9:30am - 4:30pm`,
/// `12:00 -13:30`, `9.30am–12pm`, `10am - 1pm`, `10 - 11:30am`.
///
/// When only the end says am/pm, the start takes the same meridiem if that
/// keeps it before the end (`10 - 11:30am`), else is read as written
/// (`11 - 1pm` → 11:00–13:00). The end may still be before the start: callers
/// decide what to do with such a range.
pub fn parse_time_range(s: &str) -> Result<TimeRange, TextError> {
    let text = normalise_ws(s);
    let no_range = || TextError::NoTimeRange(text.clone());
    // a bare "2024-2025" or a date is not a time range: require a ':' / '.' / am-pm
    // somewhere in the match, or hours that are plausible times
    for caps in TIME_RANGE.captures_iter(&text) {
        let (Some(s_raw), Some(e_raw)) = (raw_time(&caps, "s"), raw_time(&caps, "e")) else {
            continue;
        };
        let looks_like_time = [("s", &s_raw), ("e", &e_raw)].iter().any(|(p, t)| {
            t.meridiem.is_some()
                || caps.name(&format!("{p}m")).is_some()
                || caps.name(&format!("{p}noon")).is_some()
        });
        if !looks_like_time {
            continue;
        }
        let end = resolve(e_raw, e_raw.meridiem);
        let start = match (s_raw.meridiem, e_raw.meridiem, end) {
            (Some(m), _, _) => resolve(s_raw, Some(m)),
            (None, Some(m), Some(end)) if (1..=12).contains(&s_raw.hour) => {
                match resolve(s_raw, Some(m)) {
                    Some(st) if st <= end => Some(st),
                    _ => resolve(s_raw, None),
                }
            }
            _ => resolve(s_raw, None),
        };
        if let (Some(start), Some(end)) = (start, end) {
            return Ok(TimeRange { start, end });
        }
    }
    Err(no_range())
}

/// Reads one time of day (`09:30`, `4.30pm`, `10am`, `noon`), e.g. a table's
/// Start or End cell. A bare number without `:`/am/pm is refused (it could be
/// anything).
pub fn parse_time(s: &str) -> Result<NaiveTime, TextError> {
    let text = normalise_ws(s);
    for caps in SINGLE_TIME.captures_iter(&text) {
        let Some(raw) = raw_time(&caps, "s") else {
            continue;
        };
        let explicit =
            raw.meridiem.is_some() || caps.name("sm").is_some() || caps.name("snoon").is_some();
        if !explicit {
            continue;
        }
        if let Some(t) = resolve(raw, raw.meridiem) {
            return Ok(t);
        }
    }
    Err(TextError::NoTime(text))
}

/// Converts a local wall-clock time in `tz` to UTC.
///
/// An ambiguous time (the repeated hour when clocks go back) takes the earlier
/// instant; a time that does not exist (skipped when clocks go forward) is an
/// error rather than a guess.
pub fn local_to_utc(date: NaiveDate, time: NaiveTime, tz: Tz) -> Result<DateTime<Utc>, TextError> {
    let naive = date.and_time(time);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Ok(a.min(b).with_timezone(&Utc)),
        LocalResult::None => Err(TextError::NonexistentLocalTime(naive, tz)),
    }
}

static CANCELLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:has been|have been|is|was|now)\s+cancell?ed\b|^\s*cancell?ed\b|\bevent cancell?ed\b|\bcourse cancell?ed\b|\bcancell?ation\s+notice\b")
        .expect("static regex")
});
static CLOSED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:booking|bookings|registration|enrolment)s?\s+(?:is\s+|are\s+|has\s+|have\s+|now\s+)*closed\b|\bclosed\s+for\s+bookings?\b|\bno longer (?:taking|accepting) bookings\b")
        .expect("static regex")
});
static FULL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bfully\s+booked\b|\bsold\s+out\b|\bno\s+(?:places|spaces|seats)\s+(?:left|available|remaining)\b|^\s*full\b|\bevent\s+(?:is\s+)?full\b|\bcourse\s+(?:is\s+)?full\b")
        .expect("static regex")
});
static WAITLIST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\bwait(?:ing)?\s*-?\s*list\b").expect("static regex"));
static OF_CAPACITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?P<n>\d{1,6})\s*(?:/|of|out of)\s*(?P<c>\d{1,6})\s+(?:places|spaces|seats)\b",
    )
    .expect("static regex")
});
static COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:\b(?:places|spaces|seats)\s+(?:available|left|remaining)\s*:?\s*(?P<a>\d{1,6})\b|\b(?P<b>\d{1,6})\s+(?:places?|spaces?|seats?)\s*(?:left|available|remaining)\b|\b(?:places|spaces|seats)\s*:\s*(?P<c>\d{1,6})\b)",
    )
    .expect("static regex")
});
static AVAILABLE_NO_COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:places|spaces|seats)\s+(?:are\s+)?(?:still\s+)?available\b|\bbook\s+now\b",
    )
    .expect("static regex")
});

/// Reads an availability phrase anywhere in `s`:
///
/// | text | status | availability |
/// |---|---|---|
/// | `Places available: 12` | Scheduled | 12 left |
/// | `Only 2 places left`, `1 place left` | Scheduled | 2 / 1 left |
/// | `12 of 20 places available` | Scheduled | 12 left of 20 |
/// | `0 places left`, `Fully booked`, `Sold out` | Full | 0 left |
/// | `Fully booked - join the waiting list` | Full | 0 left, waiting list |
/// | `Places available` | Scheduled | available, no number |
/// | `Booking closed` | Closed | unknown |
/// | `This event has been cancelled` | Cancelled | unknown |
///
/// `None` when the text says nothing about availability.
pub fn parse_availability(s: &str) -> Option<(Status, Availability)> {
    let text = normalise_ws(s);
    if text.is_empty() {
        return None;
    }
    let waitlist = WAITLIST.is_match(&text);
    if CANCELLED.is_match(&text) {
        return Some((Status::Cancelled, Availability::unknown()));
    }
    if CLOSED.is_match(&text) {
        return Some((
            Status::Closed,
            Availability {
                waitlist,
                ..Availability::unknown()
            },
        ));
    }
    if FULL.is_match(&text) {
        return Some((
            Status::Full,
            Availability {
                spaces_left: Some(0),
                capacity: None,
                waitlist,
                unpublished: false,
            },
        ));
    }
    let counted = if let Some(c) = OF_CAPACITY.captures(&text) {
        let n = c["n"].parse::<u32>().ok();
        let cap = c["c"].parse::<u32>().ok();
        Some((n, cap))
    } else {
        COUNT.captures(&text).map(|c| {
            let n = ["a", "b", "c"]
                .iter()
                .find_map(|g| c.name(g))
                .and_then(|m| m.as_str().parse::<u32>().ok());
            (n, None)
        })
    };
    if let Some((Some(n), capacity)) = counted {
        let status = if n == 0 {
            Status::Full
        } else {
            Status::Scheduled
        };
        return Some((
            status,
            Availability {
                spaces_left: Some(n),
                capacity,
                waitlist,
                unpublished: false,
            },
        ));
    }
    if waitlist {
        // a waiting list is only offered once the places are gone
        return Some((
            Status::Full,
            Availability {
                spaces_left: Some(0),
                capacity: None,
                waitlist: true,
                unpublished: false,
            },
        ));
    }
    if AVAILABLE_NO_COUNT.is_match(&text) {
        return Some((Status::Scheduled, Availability::available()));
    }
    None
}

/// Where a session happens, as the page says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Venue {
    /// A postal address, or the platform as written ("Virtual - MS Teams").
    pub text: String,
    /// Held online rather than in a room.
    pub online: bool,
}

static VENUE_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:venue|location|where|address)\s*[:\-–]\s*").expect("static regex")
});
static ONLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:online|virtual(?:ly)?|ms\s*teams|microsoft\s+teams|teams|zoom|webinar|remote|e-?learning|google\s+meet|webex)\b")
        .expect("static regex")
});
/// A UK postcode, e.g. `WS1 1TP`, a sure sign of a postal address.
static POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b").expect("static regex")
});

/// Reads a venue line: strips a `Venue:`/`Location:` label and decides whether
/// it is online. A line naming a platform but also giving a postcode is a room
/// (e.g. "Teams Room, Civic Centre, WS1 1TP"). `None` for an empty line.
pub fn parse_venue(s: &str) -> Option<Venue> {
    let text = normalise_ws(s);
    let text = VENUE_LABEL.replace(&text, "").trim().to_string();
    if text.is_empty() {
        return None;
    }
    let online = ONLINE.is_match(&text) && !POSTCODE.is_match(&text);
    Some(Venue { text, online })
}

/// True when `s` reads like a venue even without a label: an online platform or
/// a UK postcode.
pub fn looks_like_venue(s: &str) -> bool {
    let text = normalise_ws(s);
    VENUE_LABEL.is_match(&text) || ONLINE.is_match(&text) || POSTCODE.is_match(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use chrono_tz::Europe::London;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn range(s: &str) -> (u32, u32, u32, u32) {
        let r = parse_time_range(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (
            r.start.hour(),
            r.start.minute(),
            r.end.hour(),
            r.end.minute(),
        )
    }

    #[test]
    fn whitespace_is_normalised() {
        assert_eq!(normalise_ws("  a\u{a0}\u{a0}b\n\t c \u{202f}"), "a b c");
        assert_eq!(normalise_ws("\u{200b}x"), "x");
        assert_eq!(normalise_ws(""), "");
    }

    #[test]
    fn dates_in_every_variant() {
        assert_eq!(parse_date("Tuesday 9 April 2024"), Ok(d(2024, 4, 9)));
        assert_eq!(parse_date("Tue 9th Apr 2024"), Ok(d(2024, 4, 9)));
        assert_eq!(parse_date("9 April 2024"), Ok(d(2024, 4, 9)));
        assert_eq!(parse_date("09/04/2024"), Ok(d(2024, 4, 9)));
        assert_eq!(parse_date("Thursday, 16 Sept 2027"), Ok(d(2027, 9, 16)));
        assert_eq!(
            parse_date("Thu\u{a0}16\u{a0}September\u{a0}2027"),
            Ok(d(2027, 9, 16))
        );
        assert_eq!(parse_date("9 April, 2024"), Ok(d(2024, 4, 9)));
        assert_eq!(
            parse_date("Date: Fri 23rd Apr. 2027, 9:30am"),
            Ok(d(2027, 4, 23))
        );
        assert_eq!(parse_date("1st of May 2027"), Ok(d(2027, 5, 1)));
        assert_eq!(parse_date("Tues 2nd Feb 2027"), Ok(d(2027, 2, 2)));
    }

    #[test]
    fn bad_dates_are_errors_not_guesses() {
        assert!(matches!(parse_date("TBC"), Err(TextError::NoDate(_))));
        assert!(matches!(parse_date(""), Err(TextError::NoDate(_))));
        assert!(matches!(
            parse_date("31/02/2027"),
            Err(TextError::InvalidDate(_))
        ));
        assert!(matches!(
            parse_date("31 Feb 2027"),
            Err(TextError::InvalidDate(_))
        ));
        assert!(matches!(
            parse_date("13/13/2027"),
            Err(TextError::InvalidDate(_))
        ));
        assert!(matches!(
            parse_date("Monday 9 April 2024"),
            Err(TextError::WeekdayMismatch { .. })
        ));
        // two-digit years are not read
        assert!(parse_date("09/04/24").is_err());
        assert!(parse_date("9 Smarch 2024").is_err());
    }

    #[test]
    fn time_ranges_in_every_variant() {
        assert_eq!(range("09:30 - 16:30"), (9, 30, 16, 30));
        assert_eq!(range("9:30am - 4:30pm"), (9, 30, 16, 30));
        assert_eq!(range("12:00 -13:30"), (12, 0, 13, 30));
        assert_eq!(range("9.30am–12pm"), (9, 30, 12, 0));
        assert_eq!(range("10am - 1pm"), (10, 0, 13, 0));
        assert_eq!(range("1:30pm\u{a0}-\u{a0}4:30pm"), (13, 30, 16, 30));
        assert_eq!(range("10 - 11:30am"), (10, 0, 11, 30));
        assert_eq!(range("11 - 1pm"), (11, 0, 13, 0));
        assert_eq!(range("9:30 to 12:30"), (9, 30, 12, 30));
        assert_eq!(range("Time: 09:30—noon"), (9, 30, 12, 0));
        assert_eq!(
            range("Fri 23rd Apr 2027, 9:30am - 12:30pm"),
            (9, 30, 12, 30)
        );
        assert_eq!(range("12am - 1am"), (0, 0, 1, 0));
        assert_eq!(range("9 A.M. - 5 P.M."), (9, 0, 17, 0));
    }

    #[test]
    fn non_time_ranges_are_refused() {
        assert!(parse_time_range("2024-2025").is_err());
        assert!(parse_time_range("09/04/2024").is_err());
        assert!(parse_time_range("25:00 - 26:00").is_err());
        assert!(parse_time_range("13pm - 14pm").is_err());
        assert!(parse_time_range("TBC").is_err());
        assert!(parse_time_range("Level 1 - 2").is_err());
    }

    #[test]
    fn single_times() {
        assert_eq!(parse_time("09:30"), Ok(t(9, 30)));
        assert_eq!(parse_time("4.30pm"), Ok(t(16, 30)));
        assert_eq!(parse_time("10am"), Ok(t(10, 0)));
        assert_eq!(parse_time("12 pm"), Ok(t(12, 0)));
        assert_eq!(parse_time("Noon"), Ok(t(12, 0)));
        assert!(parse_time("10").is_err());
        assert!(parse_time("24:00").is_err());
        assert!(parse_time("").is_err());
    }

    #[test]
    fn local_times_convert_with_dst() {
        // BST: UTC+1
        let u = local_to_utc(d(2027, 7, 14), t(9, 30), London).unwrap();
        assert_eq!(u.to_rfc3339(), "2027-07-14T08:30:00+00:00");
        // GMT: UTC+0
        let u = local_to_utc(d(2027, 1, 12), t(9, 30), London).unwrap();
        assert_eq!(u.to_rfc3339(), "2027-01-12T09:30:00+00:00");
        // clocks go back 31 Oct 2027 at 02:00 BST: 01:30 happens twice; the earlier is BST
        let u = local_to_utc(d(2027, 10, 31), t(1, 30), London).unwrap();
        assert_eq!(u.to_rfc3339(), "2027-10-31T00:30:00+00:00");
        // clocks go forward 28 Mar 2027 at 01:00 GMT: 01:30 does not exist
        assert!(matches!(
            local_to_utc(d(2027, 3, 28), t(1, 30), London),
            Err(TextError::NonexistentLocalTime(..))
        ));
    }

    fn avail(s: &str) -> (Status, Option<u32>, Option<u32>, bool) {
        let (st, a) = parse_availability(s).unwrap_or_else(|| panic!("{s}"));
        (st, a.spaces_left, a.capacity, a.waitlist)
    }

    #[test]
    fn availability_phrases() {
        use Status::*;
        assert_eq!(
            avail("Places available: 12"),
            (Scheduled, Some(12), None, false)
        );
        assert_eq!(
            avail("Only 2 places left"),
            (Scheduled, Some(2), None, false)
        );
        assert_eq!(avail("1 place left"), (Scheduled, Some(1), None, false));
        assert_eq!(
            avail("12 of 20 places available"),
            (Scheduled, Some(12), Some(20), false)
        );
        assert_eq!(avail("Spaces: 5"), (Scheduled, Some(5), None, false));
        assert_eq!(avail("0 places left"), (Full, Some(0), None, false));
        assert_eq!(
            avail("Fully booked - join the waiting list"),
            (Full, Some(0), None, true)
        );
        assert_eq!(avail("Sold out"), (Full, Some(0), None, false));
        assert_eq!(avail("Join the waiting list"), (Full, Some(0), None, true));
        assert_eq!(avail("Booking closed"), (Closed, None, None, false));
        assert_eq!(
            avail("Bookings are now closed"),
            (Closed, None, None, false)
        );
        assert_eq!(
            avail("This event has been cancelled"),
            (Cancelled, None, None, false)
        );
        assert_eq!(avail("CANCELLED"), (Cancelled, None, None, false));
        assert_eq!(avail("Places available"), (Scheduled, None, None, false));
        assert_eq!(
            avail("Places\u{a0}available:\u{a0}12"),
            (Scheduled, Some(12), None, false)
        );
    }

    #[test]
    fn non_availability_text_is_none() {
        assert_eq!(parse_availability(""), None);
        assert_eq!(parse_availability("Understanding Neglect Level 2"), None);
        assert_eq!(parse_availability("Tuesday 9 April 2024"), None);
        // "cancel" as a verb is not a cancellation
        assert_eq!(
            parse_availability("You can cancel your booking online"),
            None
        );
    }

    #[test]
    fn venues() {
        assert_eq!(
            parse_venue("Virtual - MS Teams"),
            Some(Venue {
                text: "Virtual - MS Teams".into(),
                online: true
            })
        );
        assert_eq!(
            parse_venue("Venue: Online (Zoom)"),
            Some(Venue {
                text: "Online (Zoom)".into(),
                online: true
            })
        );
        let v = parse_venue("Walsall Council House, Lichfield Street, Walsall, WS1 1TP").unwrap();
        assert!(!v.online);
        let v = parse_venue("Teams Room, Civic Centre, Darwall St, WS1 1TP").unwrap();
        assert!(!v.online, "a postcode makes it a room");
        assert_eq!(parse_venue("  \u{a0} "), None);
        assert!(looks_like_venue("Online (Zoom)"));
        assert!(looks_like_venue("Blakenall Village Centre, WS3 1HS"));
        assert!(!looks_like_venue("Only 2 places left"));
    }

    #[test]
    fn nothing_panics_on_odd_input() {
        let odd = [
            "\u{0}\u{ffff}é–—\u{a0}",
            "99999999999999999999 of 99999999999999999999999 places",
            "99/99/99999",
            "é9 April 2024é",
            "9:99am - 99:99pm",
            "Places available: 9999999999999",
            "-",
            "–",
        ];
        for s in odd {
            let _ = parse_date(s);
            let _ = parse_time_range(s);
            let _ = parse_time(s);
            let _ = parse_availability(s);
            let _ = parse_venue(s);
        }
    }
}
