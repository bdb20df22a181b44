//! Time zones of an iCalendar feed: a `TZID` named for an IANA zone, a
//! Windows zone name (Outlook, Exchange), a prefixed name
//! (`/mozilla.org/…/Europe/London`), or else the feed's own `VTIMEZONE`,
//! whose `STANDARD`/`DAYLIGHT` observances (offsets, `DTSTART`, `RRULE`,
//! `RDATE`) give its transitions, as libical and ical.js compute them. That
//! works for any zone in any hemisphere (Lotus Notes' `Eastern`, Outlook 2003's
//! `Canberra, Melbourne, Sydney`, Exchange's `Customized Time Zone`).
//!
//! Owns turning a wall-clock time in a zone into an instant and back, and so
//! an `RRULE`'s `UNTIL` into the wall clock its rule is expanded in. Does not
//! own which zone a property is in (`parse`), what a time value is (`when`)
//! or recurrence (`recur`).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::str::FromStr;
use std::sync::Arc;

use super::lines::Component;

/// At most this many transitions are kept for one `VTIMEZONE`.
pub const MAX_TRANSITIONS: usize = 2_000;

/// Windows time zone names seen in Outlook and Exchange exports, with the
/// IANA zone each stands for (from CLDR's windowsZones, the common ones).
const WINDOWS_ZONES: &[(&str, &str)] = &[
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("UTC", "UTC"),
    ("Coordinated Universal Time", "UTC"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("India Standard Time", "Asia/Kolkata"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Eastern Standard Time", "America/New_York"),
    ("Central Standard Time", "America/Chicago"),
    ("Mountain Standard Time", "America/Denver"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("Cen. Australia Standard Time", "Australia/Adelaide"),
    ("W. Australia Standard Time", "Australia/Perth"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
];

/// The IANA zone a `TZID` names: the name itself, a Windows name, or the last
/// two segments of a prefixed name (`/mozilla.org/20050126_1/Europe/London`).
pub fn zone_of_tzid(tzid: &str) -> Option<Tz> {
    let tzid = tzid.trim().trim_matches('"');
    if let Ok(tz) = tzid.parse::<Tz>() {
        return Some(tz);
    }
    if let Some((_, iana)) = WINDOWS_ZONES
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(tzid))
    {
        return iana.parse().ok();
    }
    let parts: Vec<&str> = tzid.trim_matches('/').split('/').collect();
    if parts.len() > 2 {
        let tail = parts[parts.len() - 2..].join("/");
        if let Ok(tz) = tail.parse::<Tz>() {
            return Some(tz);
        }
    }
    None
}

/// A zone times can be read in.
#[derive(Debug, Clone)]
pub enum Zone {
    /// An IANA zone.
    Iana(Tz),
    /// A feed's own `VTIMEZONE`, by its transitions.
    Custom(Arc<CustomZone>),
}

/// A `VTIMEZONE` no name maps to, as the offsets it changes between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomZone {
    /// Its `TZID`.
    pub tzid: String,
    /// The offset (seconds east of UTC) before the first transition.
    initial: i32,
    /// (instant, offset from then on), sorted by instant.
    transitions: Vec<(DateTime<Utc>, i32)>,
}

impl CustomZone {
    fn offset_at(&self, t: DateTime<Utc>) -> i32 {
        match self.transitions.partition_point(|(at, _)| *at <= t) {
            0 => self.initial,
            n => self.transitions[n - 1].1,
        }
    }

    /// The offsets in force around `naive`, as candidates for reading it.
    fn candidates(&self, naive: NaiveDateTime) -> Vec<i32> {
        let guess = Utc.from_utc_datetime(&naive);
        let mut offsets: Vec<i32> = [
            self.offset_at(guess - Duration::days(1)),
            self.offset_at(guess),
            self.offset_at(guess + Duration::days(1)),
        ]
        .to_vec();
        offsets.dedup();
        offsets
    }
}

impl Zone {
    /// A wall-clock time in this zone as an instant: the earlier of a
    /// repeated hour, and for a time skipped when clocks go forward, the
    /// offset from before the change (so 01:30 on a spring-forward night in
    /// London is 02:30 BST), as Python's `zoneinfo` and ical.js read them.
    pub fn instant(&self, naive: NaiveDateTime) -> DateTime<Utc> {
        match self {
            Zone::Iana(tz) => match tz.from_local_datetime(&naive).earliest() {
                Some(t) => t.with_timezone(&Utc),
                None => tz
                    .from_local_datetime(&(naive + Duration::hours(1)))
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_else(|| Utc.from_utc_datetime(&naive)),
            },
            Zone::Custom(z) => {
                let cands = z.candidates(naive);
                let valid = cands
                    .iter()
                    .map(|o| Utc.from_utc_datetime(&naive) - Duration::seconds(i64::from(*o)))
                    .filter(|t| {
                        let o = z.offset_at(*t);
                        Utc.from_utc_datetime(&naive) - Duration::seconds(i64::from(o)) == *t
                    })
                    .min();
                // In a gap: read with the offset in force before it.
                valid.unwrap_or_else(|| {
                    let before = cands.first().copied().unwrap_or(z.initial);
                    Utc.from_utc_datetime(&naive) - Duration::seconds(i64::from(before))
                })
            }
        }
    }

    /// The wall-clock time of an instant in this zone.
    pub fn wall_clock(&self, t: DateTime<Utc>) -> NaiveDateTime {
        match self {
            Zone::Iana(tz) => t.with_timezone(tz).naive_local(),
            Zone::Custom(z) => (t + Duration::seconds(i64::from(z.offset_at(t)))).naive_utc(),
        }
    }

    /// The IANA zone to show times in: this one, or `fallback` for a feed's
    /// own zone (its instants are right; only the zone's name is unknown).
    pub fn shown_in(&self, fallback: Tz) -> Tz {
        match self {
            Zone::Iana(tz) if *tz != chrono_tz::UTC => *tz,
            _ => fallback,
        }
    }
}

/// Why a `VTIMEZONE` could not be read.
pub type ZoneError = String;

/// A `VTIMEZONE` read from its observances, for years up to `until_year`.
pub fn custom_zone(vtz: &Component, until_year: i32) -> Result<CustomZone, ZoneError> {
    let tzid = vtz
        .prop("TZID")
        .map(|p| p.value.trim().to_string())
        .unwrap_or_default();
    let mut onsets: Vec<(DateTime<Utc>, i32, i32)> = Vec::new();
    for obs in vtz
        .children
        .iter()
        .filter(|c| c.name == "STANDARD" || c.name == "DAYLIGHT")
    {
        onsets.extend(observance_onsets(obs, until_year)?);
        if onsets.len() > MAX_TRANSITIONS {
            return Err(format!("more than {MAX_TRANSITIONS} transitions"));
        }
    }
    if onsets.is_empty() {
        return Err("no STANDARD or DAYLIGHT observance".into());
    }
    onsets.sort_by_key(|(at, _, _)| *at);
    Ok(CustomZone {
        tzid,
        initial: onsets[0].1,
        transitions: onsets.into_iter().map(|(at, _, to)| (at, to)).collect(),
    })
}

/// (instant, offset before, offset after) of every onset of one observance.
fn observance_onsets(
    obs: &Component,
    until_year: i32,
) -> Result<Vec<(DateTime<Utc>, i32, i32)>, ZoneError> {
    let offset = |name: &str| -> Result<i32, ZoneError> {
        let p = obs
            .prop(name)
            .ok_or_else(|| format!("{} without {name}", obs.name))?;
        parse_offset(&p.value)
            .ok_or_else(|| format!("{name} `{}` is not an offset", p.value.trim()))
    };
    let (from, to) = (offset("TZOFFSETFROM")?, offset("TZOFFSETTO")?);
    let start = obs
        .prop("DTSTART")
        .and_then(|p| naive_time(&p.value))
        .ok_or_else(|| format!("{} without a readable DTSTART", obs.name))?;
    let mut locals = vec![start];
    for p in obs.props("RDATE") {
        locals.extend(p.value.split(',').filter_map(naive_time));
    }
    if let Some(rule) = obs.prop("RRULE") {
        locals.extend(yearly_onsets(start, &rule.value, until_year)?);
    }
    // An onset is written in the wall-clock time in force before it.
    Ok(locals
        .into_iter()
        .map(|l| {
            (
                Utc.from_utc_datetime(&l) - Duration::seconds(i64::from(from)),
                from,
                to,
            )
        })
        .collect())
}

/// The onsets an observance's `RRULE` gives, expanded in wall-clock time
/// from a year or two before what feeds use (Outlook writes `DTSTART:16010101…`).
fn yearly_onsets(
    start: NaiveDateTime,
    rule: &str,
    until_year: i32,
) -> Result<Vec<NaiveDateTime>, ZoneError> {
    let first_year = start.year().max(1970);
    let anchor = start
        .with_year(first_year)
        .or_else(|| start.with_day(28).and_then(|d| d.with_year(first_year)))
        .unwrap_or(start);
    let rule = until_as_wall_clock(rule, &Zone::Iana(chrono_tz::UTC), false)?;
    let fake = Utc
        .from_utc_datetime(&anchor)
        .with_timezone(&rrule::Tz::UTC);
    let set = rrule::RRule::<rrule::Unvalidated>::from_str(&rule)
        .map_err(|e| format!("RRULE `{rule}`: {e}"))?
        .build(fake)
        .map_err(|e| format!("RRULE `{rule}`: {e}"))?;
    let mut out = Vec::new();
    for t in set.into_iter() {
        if t.year() > until_year || out.len() > MAX_TRANSITIONS {
            break;
        }
        out.push(t.naive_utc());
    }
    Ok(out)
}

/// `+0100`, `-0500`, `+053000` as seconds east of UTC.
fn parse_offset(v: &str) -> Option<i32> {
    let v = v.trim();
    let (sign, digits) = match v.as_bytes().first()? {
        b'+' => (1, &v[1..]),
        b'-' => (-1, &v[1..]),
        _ => (1, v),
    };
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i32>().ok());
    let secs = n(0..2)? * 3600 + n(2..4)? * 60 + if digits.len() == 6 { n(4..6)? } else { 0 };
    (secs < 24 * 3600).then_some(sign * secs)
}

/// A floating `YYYYMMDDTHHMMSS` (or a date, at midnight).
fn naive_time(v: &str) -> Option<NaiveDateTime> {
    let v = v.trim().trim_end_matches(['Z', 'z']);
    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(v, "%Y%m%d")
                .ok()?
                .and_hms_opt(0, 0, 0)
        })
}

/// The rule with its `UNTIL` made a wall-clock time in `zone`, written as the
/// UTC time the `rrule` crate expects of a rule expanded in UTC: a UTC
/// `UNTIL` is read into the zone, a date is the end of that day, and a local
/// time stays as it is.
pub fn until_as_wall_clock(rule: &str, zone: &Zone, all_day: bool) -> Result<String, String> {
    // A rule is ASCII (RFC 5545 §3.3.10); the `rrule` crate 0.14 panics on
    // some other text (it slices `BYDAY` values by byte), so none reaches it.
    if !rule.is_ascii() {
        return Err(format!(
            "RRULE `{}` holds characters no rule has",
            rule.escape_default()
        ));
    }
    let parts: Result<Vec<String>, String> = rule
        .trim()
        .trim_start_matches("RRULE:")
        .split(';')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("UNTIL") => {
                let v = v.trim();
                let wall = if let Some(utc) = v.strip_suffix(['Z', 'z']) {
                    let t = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
                        .map_err(|_| format!("UNTIL `{v}` is not a date-time"))?;
                    zone.wall_clock(Utc.from_utc_datetime(&t))
                } else if v.len() == 8 {
                    chrono::NaiveDate::parse_from_str(v, "%Y%m%d")
                        .map_err(|_| format!("UNTIL `{v}` is not a date"))?
                        .and_hms_opt(23, 59, 59)
                        .unwrap_or_default()
                } else {
                    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
                        .map_err(|_| format!("UNTIL `{v}` is not a date-time"))?
                };
                // A date series' last day counts whole.
                let wall = if all_day {
                    wall.date().and_hms_opt(23, 59, 59).unwrap_or(wall)
                } else {
                    wall
                };
                Ok(format!("UNTIL={}Z", wall.format("%Y%m%dT%H%M%S")))
            }
            _ => Ok(p.to_string()),
        })
        .collect();
    Ok(parts?.join(";"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::ical::lines::read_stream;

    fn vtz(body: &str) -> Component {
        let s = read_stream(&format!("BEGIN:VCALENDAR\n{body}\nEND:VCALENDAR\n"));
        s.calendars[0].children[0].clone()
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("+0100"), Some(3600));
        assert_eq!(parse_offset("-0430"), Some(-16200));
        assert_eq!(parse_offset("+053000"), Some(19800));
        assert_eq!(parse_offset("0x10"), None);
    }

    #[test]
    fn a_southern_hemisphere_zone_from_its_observances() {
        let z = custom_zone(
            &vtz("BEGIN:VTIMEZONE\nTZID:Canberra, Melbourne, Sydney\nBEGIN:STANDARD\nDTSTART:16010401T030000\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4\nTZOFFSETFROM:+1100\nTZOFFSETTO:+1000\nEND:STANDARD\nBEGIN:DAYLIGHT\nDTSTART:16011007T020000\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=10\nTZOFFSETFROM:+1000\nTZOFFSETTO:+1100\nEND:DAYLIGHT\nEND:VTIMEZONE"),
            2030,
        )
        .unwrap();
        let z = Zone::Custom(Arc::new(z));
        let sydney = Zone::Iana(chrono_tz::Australia::Sydney);
        for t in [
            "2027-01-15T09:30:00",
            "2027-07-15T09:30:00",
            "2027-04-04T02:30:00",
            "2027-10-03T02:30:00",
        ] {
            let n = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").unwrap();
            assert_eq!(z.instant(n), sydney.instant(n), "{t}");
        }
    }
}
