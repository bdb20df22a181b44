//! Reading an iCalendar feed into `Session`s: the `icalendar` crate's parser,
//! `TZID`s (IANA names, the feed's own `VTIMEZONE`s, common Windows names),
//! recurring events (`RRULE`, `RDATE`, `EXDATE`, `RECURRENCE-ID` overrides)
//! expanded with the `rrule` crate over a window around "now", and the session
//! keys that keep UIDs stable when an event or one occurrence moves.
//!
//! Nothing here reads a clock or does I/O; a bad event is a logged warning
//! naming the feed and the event, never a panic.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::parser::{Component, Property};
use std::collections::BTreeMap;
use std::str::FromStr;
use url::Url;

use crate::model::{Availability, Session, SessionKey, Status};
use crate::platforms::{text, ParseError, SourceContext};

/// Occurrences that started more than this many days before "now" are left out.
pub const PAST_DAYS: i64 = 30;
/// Occurrences starting more than this many days after "now" are left out.
pub const AHEAD_DAYS: i64 = 400;
/// At most this many occurrences of one recurring event are read.
pub const MAX_OCCURRENCES: u16 = 1000;

/// What one feed gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcalFeed {
    /// The calendar's `X-WR-CALNAME`, if it has one.
    pub name: Option<String>,
    /// One session per event occurrence in the window, in feed order.
    pub sessions: Vec<Session>,
}

/// A `DTSTART`/`DTEND`/`RECURRENCE-ID`/`EXDATE` value, resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum When {
    /// A date (`VALUE=DATE`): a whole day in the source's zone.
    Date(NaiveDate),
    /// An instant, and the zone it was written in (for recurrence rules).
    Time(DateTime<Utc>, Tz),
}

impl When {
    fn instant(self, tz: Tz) -> DateTime<Utc> {
        match self {
            When::Date(d) => local(d.and_hms_opt(0, 0, 0).unwrap_or_default(), tz),
            When::Time(t, _) => t,
        }
    }
}

/// A local wall-clock time in `tz` as an instant: the earlier of a repeated
/// hour, and an hour later for a time skipped when clocks go forward.
fn local(naive: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => tz
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&naive)),
    }
}

/// Windows time zone names seen in Outlook and Exchange exports, with the IANA
/// zone each stands for.
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
    ("Eastern Standard Time", "America/New_York"),
    ("Central Standard Time", "America/Chicago"),
    ("Mountain Standard Time", "America/Denver"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
];

/// The IANA zone of a `TZID`: the name itself, a Windows name, or the last
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

/// `TZID` → zone for each of the feed's `VTIMEZONE`s whose `TZID` is not an
/// IANA name itself: its `X-LIC-LOCATION`, else a Windows name, else a zone
/// with the same standard and daylight offsets (Europe/London for +0000/+0100).
fn feed_zones(cal: &[Component<'_>], feed: &Url) -> BTreeMap<String, Tz> {
    let mut out = BTreeMap::new();
    for vtz in cal.iter().filter(|c| c.name == "VTIMEZONE") {
        let Some(tzid) = prop(vtz, "TZID").map(|p| p.val.as_str().to_string()) else {
            continue;
        };
        let by_name = zone_of_tzid(&tzid)
            .or_else(|| prop(vtz, "X-LIC-LOCATION").and_then(|p| zone_of_tzid(p.val.as_str())));
        let zone = by_name.or_else(|| zone_by_offsets(vtz));
        match zone {
            Some(tz) => {
                out.insert(tzid, tz);
            }
            None => tracing::warn!(
                feed = %feed,
                tzid = %tzid,
                "VTIMEZONE not recognised; its times are read in the source's time zone"
            ),
        }
    }
    out
}

/// A zone from a `VTIMEZONE`'s `STANDARD`/`DAYLIGHT` `TZOFFSETTO`s, for the
/// few pairs a UK partnership's feed would hold.
fn zone_by_offsets(vtz: &Component<'_>) -> Option<Tz> {
    let offset = |name: &str| {
        vtz.components
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| prop(c, "TZOFFSETTO"))
            .map(|p| p.val.as_str().trim().to_string())
    };
    match (offset("STANDARD").as_deref(), offset("DAYLIGHT").as_deref()) {
        (Some("+0000"), Some("+0100")) => Some(chrono_tz::Europe::London),
        (Some("+0100"), Some("+0200")) => Some(chrono_tz::Europe::Paris),
        (Some("+0000"), None) => Some(chrono_tz::UTC),
        _ => None,
    }
}

fn prop<'a>(c: &'a Component<'_>, name: &str) -> Option<&'a Property<'a>> {
    c.properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn props<'a>(c: &'a Component<'_>, name: &'a str) -> impl Iterator<Item = &'a Property<'a>> {
    c.properties
        .iter()
        .filter(move |p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'a>(p: &'a Property<'_>, key: &str) -> Option<&'a str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str())
}

/// A TEXT property's value, unescaped and with whitespace tidied; `None` if empty.
fn text_of(c: &Component<'_>, name: &str) -> Option<String> {
    let p = prop(c, name)?;
    let raw = p.val.clone().unescape_text();
    let s = decode_entities(raw.as_str().trim());
    (!s.is_empty()).then_some(s)
}

/// CMS exports sometimes leave HTML entities in plain text (`&#8211;`):
/// decode them, leaving text without any as it is.
fn decode_entities(s: &str) -> String {
    if s.contains('&') && !s.contains('<') {
        let frag = scraper::Html::parse_fragment(s);
        frag.root_element()
            .text()
            .collect::<String>()
            .trim()
            .to_string()
    } else {
        s.to_string()
    }
}

/// Reads dates and times with the feed's zones and the source's fallback zone.
struct Zones<'a> {
    feed: &'a BTreeMap<String, Tz>,
    fallback: Tz,
}

impl Zones<'_> {
    fn zone(&self, tzid: Option<&str>) -> Result<Tz, String> {
        match tzid {
            None => Ok(self.fallback),
            Some(id) => self
                .feed
                .get(id)
                .copied()
                .or_else(|| zone_of_tzid(id))
                .ok_or_else(|| format!("unknown TZID `{id}`")),
        }
    }

    /// Every value of a property (`EXDATE` and `RDATE` may list several).
    fn values(&self, p: &Property<'_>) -> Result<Vec<When>, String> {
        let tz = self.zone(param(p, "TZID"))?;
        let is_date = param(p, "VALUE").is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
        p.val
            .as_str()
            .split(',')
            .map(|v| v.split('/').next().unwrap_or(v).trim())
            .filter(|v| !v.is_empty())
            .map(|v| read_when(v, is_date, tz))
            .collect()
    }

    fn one(&self, p: &Property<'_>) -> Result<When, String> {
        self.values(p)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("empty {}", p.name.as_str()))
    }
}

fn read_when(v: &str, is_date: bool, tz: Tz) -> Result<When, String> {
    if is_date || v.len() == 8 {
        return NaiveDate::parse_from_str(v, "%Y%m%d")
            .map(When::Date)
            .map_err(|_| format!("`{v}` is not a date"));
    }
    if let Some(utc) = v.strip_suffix('Z').or_else(|| v.strip_suffix('z')) {
        return NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
            .map(|n| When::Time(Utc.from_utc_datetime(&n), chrono_tz::UTC))
            .map_err(|_| format!("`{v}` is not a date-time"));
    }
    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
        .map(|n| When::Time(local(n, tz), tz))
        .map_err(|_| format!("`{v}` is not a date-time"))
}

/// The fields of one VEVENT (a master or an override), times resolved.
struct Fields {
    start: When,
    /// End minus start.
    length: Duration,
    title: String,
    description: Option<String>,
    location: Option<String>,
    category: Option<String>,
    url: Option<String>,
    cancelled: bool,
}

fn read_fields(ev: &Component<'_>, zones: &Zones<'_>) -> Result<Fields, String> {
    let start = zones.one(prop(ev, "DTSTART").ok_or("no DTSTART")?)?;
    let length = match (prop(ev, "DTEND"), prop(ev, "DURATION")) {
        (Some(end), _) => {
            let end = zones.one(end)?;
            end.instant(zones.fallback) - start.instant(zones.fallback)
        }
        (None, Some(d)) => parse_duration(d.val.as_str())
            .ok_or_else(|| format!("`{}` is not a duration", d.val.as_str()))?,
        (None, None) => match start {
            When::Date(_) => Duration::days(1),
            When::Time(..) => Duration::zero(),
        },
    };
    let title = text_of(ev, "SUMMARY").ok_or("no SUMMARY")?;
    let url = prop(ev, "URL")
        .map(|p| p.val.as_str().trim().to_string())
        .filter(|u| Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https")));
    Ok(Fields {
        start,
        length: length.max(Duration::zero()),
        title: text::normalise_ws(&title),
        description: text_of(ev, "DESCRIPTION"),
        location: text_of(ev, "LOCATION"),
        category: text_of(ev, "CATEGORIES")
            .and_then(|c| c.split(',').next().map(|s| s.trim().to_string()))
            .filter(|c| !c.is_empty()),
        url,
        cancelled: prop(ev, "STATUS")
            .is_some_and(|s| s.val.as_str().trim().eq_ignore_ascii_case("CANCELLED")),
    })
}

/// An RFC 5545 duration such as `PT2H30M`, `P1D` or `P1W`.
fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let s = s.strip_prefix('P')?;
    let mut total = Duration::zero();
    let mut num = String::new();
    let mut in_time = false;
    for c in s.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => num.push(c),
            _ => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                total += match (c, in_time) {
                    ('W', false) => Duration::weeks(n),
                    ('D', false) => Duration::days(n),
                    ('H', true) => Duration::hours(n),
                    ('M', true) => Duration::minutes(n),
                    ('S', true) => Duration::seconds(n),
                    _ => return None,
                };
            }
        }
    }
    (num.is_empty() && (neg || total >= Duration::zero())).then_some(if neg {
        -total
    } else {
        total
    })
}

/// The session key of an occurrence: its original start, so the UID survives
/// the occurrence being moved (`20270113T093000Z`, or `20270113` for a day).
fn occurrence_key(original: When) -> SessionKey {
    match original {
        When::Date(d) => SessionKey::new(d.format("%Y%m%d").to_string()),
        When::Time(t, _) => SessionKey::new(t.format("%Y%m%dT%H%M%SZ").to_string()),
    }
}

/// Parses a whole feed. Fails only when the body is not an iCalendar feed at
/// all; an event that cannot be read is left out with a warning naming it.
pub fn parse_feed(body: &str, feed_url: &Url, ctx: &SourceContext) -> Result<IcalFeed, ParseError> {
    let unfolded = icalendar::parser::unfold(body);
    if !unfolded.trim_start().starts_with("BEGIN:VCALENDAR") {
        return Err(ParseError::new(
            feed_url,
            "not an iCalendar feed (no BEGIN:VCALENDAR at the start)",
        ));
    }
    let cal = icalendar::parser::read_calendar(&unfolded).map_err(|e| {
        let first = e.lines().take(4).collect::<Vec<_>>().join(" ");
        ParseError::new(feed_url, format!("unreadable iCalendar feed: {first}"))
    })?;
    let name = cal
        .properties
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case("X-WR-CALNAME"))
        .map(|p| p.val.clone().unescape_text().as_str().trim().to_string())
        .filter(|s| !s.is_empty());
    let feed_zones = feed_zones(&cal.components, feed_url);
    let zones = Zones {
        feed: &feed_zones,
        fallback: ctx.timezone,
    };

    // Group each UID's master and its overrides, in feed order.
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, (Option<&Component<'_>>, Vec<&Component<'_>>)> =
        BTreeMap::new();
    for ev in cal.components.iter().filter(|c| c.name == "VEVENT") {
        let Some(uid) = prop(ev, "UID")
            .map(|p| p.val.as_str().trim().to_string())
            .filter(|u| !u.is_empty())
        else {
            tracing::warn!(feed = %feed_url, summary = ?text_of(ev, "SUMMARY"), "VEVENT without a UID skipped");
            continue;
        };
        let entry = groups.entry(uid.clone()).or_insert_with(|| {
            order.push(uid.clone());
            (None, Vec::new())
        });
        if prop(ev, "RECURRENCE-ID").is_some() {
            entry.1.push(ev);
        } else if entry.0.is_none() {
            entry.0 = Some(ev);
        } else {
            tracing::warn!(feed = %feed_url, uid = %uid, "second VEVENT with the same UID and no RECURRENCE-ID skipped");
        }
    }

    let window = (
        ctx.now - Duration::days(PAST_DAYS),
        ctx.now + Duration::days(AHEAD_DAYS),
    );
    let mut sessions = Vec::new();
    for uid in &order {
        let (master, overrides) = &groups[uid];
        let made = event_sessions(uid, *master, overrides, &zones, window, feed_url, ctx);
        sessions.extend(made);
    }
    Ok(IcalFeed { name, sessions })
}

/// The sessions of one UID: a single event, or the occurrences of a recurring
/// one in the window with its overrides applied.
fn event_sessions(
    uid: &str,
    master: Option<&Component<'_>>,
    overrides: &[&Component<'_>],
    zones: &Zones<'_>,
    window: (DateTime<Utc>, DateTime<Utc>),
    feed_url: &Url,
    ctx: &SourceContext,
) -> Vec<Session> {
    let warn = |why: &str| {
        tracing::warn!(feed = %feed_url, uid = %uid, "event skipped: {why}");
    };
    let in_window = |f: &Fields| {
        let s = f.start.instant(zones.fallback);
        s >= window.0 && s <= window.1
    };
    // Overrides by the original start they replace.
    let mut moved: BTreeMap<DateTime<Utc>, (When, &Component<'_>)> = BTreeMap::new();
    for ov in overrides {
        let rid = prop(ov, "RECURRENCE-ID").map(|p| zones.one(p));
        match rid {
            Some(Ok(r)) => {
                moved.insert(r.instant(zones.fallback), (r, ov));
            }
            Some(Err(e)) => warn(&format!("unreadable RECURRENCE-ID: {e}")),
            None => {}
        }
    }
    let mut out = Vec::new();
    let Some(master) = master else {
        // Overrides of an event the feed does not carry: each stands alone.
        for (r, ov) in moved.values() {
            match read_fields(ov, zones) {
                Ok(f) if in_window(&f) => {
                    out.push(session(uid, occurrence_key(*r), &f, None, feed_url, ctx))
                }
                Ok(_) => {}
                Err(e) => warn(&e),
            }
        }
        return out;
    };
    let fields = match read_fields(master, zones) {
        Ok(f) => f,
        Err(e) => {
            warn(&e);
            return out;
        }
    };
    let recurring = prop(master, "RRULE").is_some() || prop(master, "RDATE").is_some();
    if !recurring {
        if in_window(&fields) {
            out.push(session(
                uid,
                SessionKey::nth(1),
                &fields,
                None,
                feed_url,
                ctx,
            ));
        }
        return out;
    }
    let starts = match occurrences(master, &fields, zones, window) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(feed = %feed_url, uid = %uid, "recurrence unreadable ({e}); only the first date is kept");
            vec![fields.start]
        }
    };
    for original in starts {
        let key = occurrence_key(original);
        match moved.remove(&original.instant(zones.fallback)) {
            Some((_, ov)) => match read_fields(ov, zones) {
                Ok(f) if in_window(&f) => {
                    out.push(session(uid, key, &f, Some(&fields), feed_url, ctx))
                }
                Ok(_) => {}
                Err(e) => warn(&format!("override of {key}: {e}")),
            },
            None => {
                let f = fields.starting(original);
                if in_window(&f) {
                    out.push(session(uid, key, &f, None, feed_url, ctx));
                }
            }
        }
    }
    // Overrides of occurrences outside the generated ones (moved into the
    // window from outside it, or of a date the rule does not make).
    for (r, ov) in moved.into_values() {
        match read_fields(ov, zones) {
            Ok(f) if in_window(&f) => out.push(session(
                uid,
                occurrence_key(r),
                &f,
                Some(&fields),
                feed_url,
                ctx,
            )),
            Ok(_) => {}
            Err(e) => warn(&e),
        }
    }
    out
}

impl Fields {
    /// The same event at another start (one occurrence of it).
    fn starting(&self, start: When) -> Fields {
        Fields {
            start,
            length: self.length,
            title: self.title.clone(),
            description: self.description.clone(),
            location: self.location.clone(),
            category: self.category.clone(),
            url: self.url.clone(),
            cancelled: self.cancelled,
        }
    }
}

/// The original starts of a recurring event's occurrences that may fall in the
/// window, `EXDATE`s removed and `RDATE`s added, expanded by the `rrule` crate.
fn occurrences(
    master: &Component<'_>,
    fields: &Fields,
    zones: &Zones<'_>,
    window: (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<When>, String> {
    // Dates recur in the source's zone; times in the zone they were written in.
    let (tz, all_day) = match fields.start {
        When::Date(_) => (zones.fallback, true),
        When::Time(_, tz) => (tz, false),
    };
    let rtz = rrule::Tz::Tz(tz);
    let dtstart = fields.start.instant(zones.fallback).with_timezone(&rtz);
    let mut set = match prop(master, "RRULE") {
        Some(r) => {
            let rule = utc_until(r.val.as_str(), tz)?;
            rrule::RRule::<rrule::Unvalidated>::from_str(&rule)
                .map_err(|e| format!("RRULE `{}`: {e}", r.val.as_str()))?
                .build(dtstart)
                .map_err(|e| format!("RRULE `{}`: {e}", r.val.as_str()))?
        }
        None => rrule::RRuleSet::new(dtstart).rdate(dtstart),
    };
    for p in props(master, "RDATE") {
        for w in zones.values(p)? {
            set = set.rdate(w.instant(zones.fallback).with_timezone(&rtz));
        }
    }
    for p in props(master, "EXDATE") {
        for w in zones.values(p)? {
            set = set.exdate(w.instant(zones.fallback).with_timezone(&rtz));
        }
    }
    // Occurrences that started before the window but are still going on are
    // not wanted either (the window is on starts), so no slack is needed.
    let found = set
        .after(window.0.with_timezone(&rtz))
        .before(window.1.with_timezone(&rtz))
        .all(MAX_OCCURRENCES);
    Ok(found
        .dates
        .into_iter()
        .map(|d| {
            let utc = d.with_timezone(&Utc);
            if all_day {
                When::Date(utc.with_timezone(&tz).date_naive())
            } else {
                When::Time(utc, tz)
            }
        })
        .collect())
}

/// The `rrule` crate wants a zoned `DTSTART`'s `UNTIL` in UTC, as RFC 5545
/// says; feeds also write it as a date or a local time, read here in `tz`.
fn utc_until(rule: &str, tz: Tz) -> Result<String, String> {
    let parts: Result<Vec<String>, String> = rule
        .trim()
        .trim_start_matches("RRULE:")
        .split(';')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("UNTIL") && !v.ends_with(['Z', 'z']) => {
                let until = match read_when(v, false, tz)? {
                    // The whole of the last day counts.
                    When::Date(d) => local(d.and_hms_opt(23, 59, 59).unwrap_or_default(), tz),
                    When::Time(t, _) => t,
                };
                Ok(format!("UNTIL={}", until.format("%Y%m%dT%H%M%SZ")))
            }
            _ => Ok(p.to_string()),
        })
        .collect();
    Ok(parts?.join(";"))
}

fn session(
    uid: &str,
    key: SessionKey,
    f: &Fields,
    master: Option<&Fields>,
    feed_url: &Url,
    ctx: &SourceContext,
) -> Session {
    // An override says only what differs in some feeds: fill from the master.
    let pick = |o: &Option<String>, m: fn(&Fields) -> &Option<String>| {
        o.clone().or_else(|| master.and_then(|x| m(x).clone()))
    };
    let location = pick(&f.location, |m| &m.location);
    let venue = location.as_deref().and_then(text::parse_venue);
    let (start, all_day, zone) = match f.start {
        When::Date(_) => (f.start.instant(ctx.timezone), true, ctx.timezone),
        When::Time(t, tz) => (
            t,
            false,
            if tz == chrono_tz::UTC {
                ctx.timezone
            } else {
                tz
            },
        ),
    };
    Session {
        source: ctx.source_id.clone(),
        event_id: uid.to_string(),
        key,
        title: f.title.clone(),
        category: pick(&f.category, |m| &m.category),
        level: None,
        prerequisites: None,
        description: pick(&f.description, |m| &m.description),
        start,
        end: start + f.length,
        timezone: zone.name().to_string(),
        online: venue.as_ref().is_some_and(|v| v.online),
        venue: venue.map(|v| v.text),
        status: if f.cancelled || master.is_some_and(|m| m.cancelled) {
            Status::Cancelled
        } else {
            Status::Scheduled
        },
        availability: Availability::unknown(),
        url: pick(&f.url, |m| &m.url).unwrap_or_else(|| feed_url.to_string()),
        all_day,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT2H30M"), Some(Duration::minutes(150)));
        assert_eq!(parse_duration("P1D"), Some(Duration::days(1)));
        assert_eq!(parse_duration("P1W"), Some(Duration::weeks(1)));
        assert_eq!(parse_duration("P1DT1H"), Some(Duration::hours(25)));
        assert_eq!(parse_duration("2 hours"), None);
        assert_eq!(parse_duration("PT5X"), None);
    }

    #[test]
    fn windows_and_prefixed_tzids() {
        assert_eq!(
            zone_of_tzid("GMT Standard Time"),
            Some(chrono_tz::Europe::London)
        );
        assert_eq!(
            zone_of_tzid("/mozilla.org/20050126_1/Europe/London"),
            Some(chrono_tz::Europe::London)
        );
        assert_eq!(zone_of_tzid("Mars/Olympus"), None);
    }

    #[test]
    fn until_made_utc() {
        let r = utc_until(
            "FREQ=WEEKLY;UNTIL=20270331;BYDAY=WE",
            chrono_tz::Europe::London,
        )
        .unwrap();
        assert_eq!(r, "FREQ=WEEKLY;UNTIL=20270331T225959Z;BYDAY=WE");
        let r = utc_until(
            "FREQ=WEEKLY;UNTIL=20270131T120000Z",
            chrono_tz::Europe::London,
        )
        .unwrap();
        assert_eq!(r, "FREQ=WEEKLY;UNTIL=20270131T120000Z");
    }
}
