//! Reading an iCalendar feed into `Session`s: the events of every `VCALENDAR`
//! in the body (read by `lines`), their times in the zones of `zones`, their
//! occurrences from `recur`, overrides (`RECURRENCE-ID`, also with
//! `RANGE=THISANDFUTURE`) applied, and the session keys that keep UIDs stable
//! when an event or one occurrence moves.
//!
//! The unit of failure is one event: an event with an unreadable line, an
//! unknown zone or a rule that cannot reach the window is left out with a
//! warning naming the feed, its UID and the line; the feed fails only when it
//! is not iCalendar at all. Nothing here reads a clock or does I/O.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use url::Url;

use super::lines::{self, Component, Prop};
use super::recur::{self, Budget, Series};
use super::when::When;
use super::zones::{self, Zone};
use crate::model::{Availability, Session, SessionKey, Status};
use crate::platforms::text;
use crate::source::{ParseError, SourceContext};

pub use super::recur::MAX_OCCURRENCES;
pub use super::zones::zone_of_tzid;

/// Occurrences that started more than this many days before "now" are left out.
pub const PAST_DAYS: i64 = 30;
/// Occurrences starting more than this many days after "now" are left out.
pub const AHEAD_DAYS: i64 = 400;
/// The title of an event with no `SUMMARY` (Google writes none for untitled events).
pub const UNTITLED: &str = "(untitled)";

/// What one feed gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcalFeed {
    /// The calendar's `X-WR-CALNAME`, if it has one.
    pub name: Option<String>,
    /// One session per event occurrence in the window, in feed order.
    pub sessions: Vec<Session>,
    /// True when reading stopped at the `max_sessions` it was given.
    pub stopped_at_limit: bool,
    /// The first calendar's `PRODID`: which program wrote the feed.
    pub producer: Option<String>,
    /// The UID of every event read, in feed order, inside the window or not
    /// (one made from its start and title for an event without one): what
    /// tells a paged export's next page from one already read.
    pub uids: Vec<String>,
}

/// Parses a whole feed with no limit on sessions but the per-event one.
pub fn parse_feed(body: &str, feed_url: &Url, ctx: &SourceContext) -> Result<IcalFeed, ParseError> {
    parse_feed_within(body, feed_url, ctx, usize::MAX)
}

/// Parses a whole feed, stopping once `max_sessions` sessions are read. Fails
/// only when the body is not an iCalendar feed at all.
pub fn parse_feed_within(
    body: &str,
    feed_url: &Url,
    ctx: &SourceContext,
    max_sessions: usize,
) -> Result<IcalFeed, ParseError> {
    let stream = lines::read_stream(body);
    if stream.calendars.is_empty() {
        return Err(ParseError::new(
            feed_url,
            "not an iCalendar feed (no BEGIN:VCALENDAR … END:VCALENDAR in it)",
        ));
    }
    warn_about_stream(&stream, feed_url);
    let name = stream.calendars.iter().find_map(|c| {
        c.prop("X-WR-CALNAME")
            .map(|p| lines::unescape(&p.value).trim().to_string())
            .filter(|s| !s.is_empty())
    });
    let producer = stream.calendars.iter().find_map(|c| {
        c.prop("PRODID")
            .map(|p| lines::unescape(&p.value).trim().to_string())
    });
    let mut reader = Reader {
        feed_url,
        ctx,
        window: (
            ctx.now - Duration::days(PAST_DAYS),
            ctx.now + Duration::days(AHEAD_DAYS),
        ),
        budget: Budget::default(),
        fallback_uids: HashSet::new(),
        sessions: Vec::new(),
        uids: Vec::new(),
        max_sessions,
        stopped: false,
    };
    for cal in &stream.calendars {
        reader.calendar(cal);
        if reader.stopped {
            break;
        }
    }
    if reader.budget.refused > 0 {
        tracing::warn!(
            feed = %feed_url,
            skipped = reader.budget.refused,
            "repeating events skipped: the feed's rules took {} steps, the most one feed may take",
            recur::FEED_STEPS
        );
    }
    Ok(IcalFeed {
        name,
        sessions: reader.sessions,
        stopped_at_limit: reader.stopped,
        producer,
        uids: reader.uids,
    })
}

fn warn_about_stream(s: &lines::Stream, feed_url: &Url) {
    if s.stray_lines > 0 {
        tracing::warn!(feed = %feed_url, lines = s.stray_lines, "lines outside any VCALENDAR ignored");
    }
    if let Some(first) = s.too_deep.first() {
        tracing::warn!(
            feed = %feed_url,
            line = first,
            count = s.too_deep.len(),
            "components nested deeper than {} skipped",
            lines::MAX_DEPTH
        );
    }
}

/// Properties an event is read from: a line among them that cannot be read
/// skips the event; other unreadable lines are ignored. `""` is a line whose
/// name itself cannot be read, which could be any of them.
const READ: &[&str] = &[
    "",
    "UID",
    "DTSTART",
    "DTEND",
    "DURATION",
    "RRULE",
    "RDATE",
    "EXDATE",
    "RECURRENCE-ID",
    "SUMMARY",
    "STATUS",
    "URL",
    "LOCATION",
    "DESCRIPTION",
    "CATEGORIES",
];

struct Reader<'a> {
    feed_url: &'a Url,
    ctx: &'a SourceContext,
    window: (DateTime<Utc>, DateTime<Utc>),
    budget: Budget,
    fallback_uids: HashSet<String>,
    sessions: Vec<Session>,
    uids: Vec<String>,
    max_sessions: usize,
    stopped: bool,
}

/// One calendar's zones: its `VTIMEZONE`s by `TZID`, and the zone of its
/// floating times (`X-WR-TIMEZONE`, else the source's).
struct CalZones {
    by_tzid: BTreeMap<String, Result<Zone, String>>,
    floating: Zone,
    /// The zone floating times are shown in.
    shown: Tz,
    /// Set when `X-WR-TIMEZONE` names a zone: UTC-start series recur in it.
    wr_timezone: Option<Zone>,
}

impl CalZones {
    fn zone(&self, tzid: Option<&str>) -> Result<Zone, String> {
        let Some(id) = tzid else {
            return Ok(self.floating.clone());
        };
        match self.by_tzid.get(id.trim()) {
            Some(Ok(z)) => Ok(z.clone()),
            Some(Err(e)) => Err(format!("its VTIMEZONE `{id}` is unreadable ({e})")),
            None => zone_of_tzid(id)
                .map(Zone::Iana)
                .ok_or_else(|| format!("unknown TZID `{id}` (no VTIMEZONE for it)")),
        }
    }

    /// Every value of a date or date-time property (`EXDATE`/`RDATE` may list several).
    fn values(&self, p: &Prop) -> Result<Vec<When>, String> {
        let is_date = p
            .param("VALUE")
            .is_some_and(|v| v.eq_ignore_ascii_case("DATE"));
        let zone = self.zone(p.param("TZID"))?;
        p.value
            .split(',')
            .map(|v| v.split('/').next().unwrap_or(v).trim())
            .filter(|v| !v.is_empty())
            .map(|v| read_when(v, is_date, &zone))
            .collect()
    }

    fn one(&self, p: &Prop) -> Result<When, String> {
        self.values(p)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("empty {} (line {})", p.name, p.line))
    }
}

fn read_when(v: &str, is_date: bool, zone: &Zone) -> Result<When, String> {
    if is_date || v.len() == 8 {
        return NaiveDate::parse_from_str(v, "%Y%m%d")
            .map(When::Date)
            .map_err(|_| format!("`{v}` is not a date"));
    }
    if let Some(utc) = v.strip_suffix(['Z', 'z']) {
        return NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S")
            .map(|n| When::Time {
                utc: Utc.from_utc_datetime(&n),
                wall: n,
                zone: Zone::Iana(chrono_tz::UTC),
            })
            .map_err(|_| format!("`{v}` is not a date-time"));
    }
    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
        .map(|n| When::Time {
            utc: zone.instant(n),
            wall: n,
            zone: zone.clone(),
        })
        .map_err(|_| format!("`{v}` is not a date-time"))
}

/// The fields of one VEVENT (a master or an override), times resolved.
#[derive(Clone)]
struct Fields {
    start: When,
    /// End minus start.
    length: Duration,
    title: Option<String>,
    description: Option<String>,
    location: Option<String>,
    category: Option<String>,
    url: Option<String>,
    cancelled: bool,
}

/// A `RECURRENCE-ID` override: the occurrence it replaces and what it says.
struct Override<'c> {
    rid: When,
    this_and_future: bool,
    event: &'c Component,
}

impl<'a> Reader<'a> {
    fn warn(&self, uid: &str, why: &str) {
        tracing::warn!(feed = %self.feed_url, uid = %uid, "event skipped: {why}");
    }

    fn calendar(&mut self, cal: &Component) {
        let zones = self.zones(cal);
        // Each UID's master and overrides, in feed order.
        let mut order: Vec<String> = Vec::new();
        let mut groups: BTreeMap<String, (Option<&Component>, Vec<&Component>)> = BTreeMap::new();
        for ev in cal.children("VEVENT") {
            let Some(uid) = self.uid_of(ev) else { continue };
            let entry = groups.entry(uid.clone()).or_insert_with(|| {
                order.push(uid.clone());
                (None, Vec::new())
            });
            if ev.prop("RECURRENCE-ID").is_some() {
                entry.1.push(ev);
            } else if entry.0.is_none() {
                entry.0 = Some(ev);
            } else {
                tracing::warn!(feed = %self.feed_url, uid = %uid, line = ev.line, "second VEVENT with the same UID and no RECURRENCE-ID skipped");
            }
        }
        self.uids.extend(order.iter().cloned());
        for uid in &order {
            let (master, overrides) = &groups[uid];
            let made = self.event_sessions(uid, *master, overrides, &zones);
            for s in made {
                if self.sessions.len() >= self.max_sessions {
                    self.stopped = true;
                    return;
                }
                self.sessions.push(s);
            }
        }
    }

    fn zones(&self, cal: &Component) -> CalZones {
        let wr = cal
            .prop("X-WR-TIMEZONE")
            .map(|p| p.value.trim().to_string());
        let wr_zone = wr.as_deref().and_then(zone_of_tzid);
        if let (Some(name), None) = (&wr, wr_zone) {
            tracing::warn!(feed = %self.feed_url, zone = %name, "X-WR-TIMEZONE not recognised; floating times are read in the source's time zone");
        }
        let shown = wr_zone.unwrap_or(self.ctx.timezone);
        let until_year = chrono::Datelike::year(&self.window.1) + 1;
        let mut by_tzid = BTreeMap::new();
        for vtz in cal.children("VTIMEZONE") {
            let Some(tzid) = vtz.prop("TZID").map(|p| p.value.trim().to_string()) else {
                continue;
            };
            let named = zone_of_tzid(&tzid).or_else(|| {
                vtz.prop("X-LIC-LOCATION")
                    .and_then(|p| zone_of_tzid(&p.value))
            });
            let zone = match named {
                Some(tz) => Ok(Zone::Iana(tz)),
                None => zones::custom_zone(vtz, until_year).map(|z| Zone::Custom(Arc::new(z))),
            };
            if let Err(e) = &zone {
                tracing::warn!(feed = %self.feed_url, tzid = %tzid, "VTIMEZONE unreadable ({e}); events using it are skipped");
            }
            by_tzid.insert(tzid, zone);
        }
        CalZones {
            by_tzid,
            floating: Zone::Iana(shown),
            shown,
            wr_timezone: wr_zone.map(Zone::Iana),
        }
    }

    /// The event's UID, or one made from its start and title that stays the
    /// same across crawls (`nouid-` and 16 hex digits of their SHA-256).
    fn uid_of(&mut self, ev: &Component) -> Option<String> {
        if let Some(uid) = ev
            .prop("UID")
            .map(|p| p.value.trim().to_string())
            .filter(|u| !u.is_empty())
        {
            return Some(uid);
        }
        let mut h = Sha256::new();
        for name in ["DTSTART", "RECURRENCE-ID", "SUMMARY"] {
            if let Some(p) = ev.prop(name) {
                h.update(p.param("TZID").unwrap_or("").as_bytes());
                h.update(b"\x1f");
                h.update(p.value.trim().as_bytes());
            }
            h.update(b"\x1e");
        }
        let hex: String = h
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut uid = format!("nouid-{hex}");
        let mut n = 1;
        while !self.fallback_uids.insert(uid.clone()) {
            n += 1;
            uid = format!("nouid-{hex}-{n}");
        }
        Some(uid)
    }

    /// Why this component cannot be read at all, if it cannot.
    fn unreadable(&self, ev: &Component) -> Option<String> {
        if !ev.closed {
            return Some(format!("the VEVENT at line {} has no END:VEVENT", ev.line));
        }
        for bad in &ev.bad_lines {
            if READ.contains(&bad.name.as_str()) {
                return Some(format!(
                    "line {} ({}) is unreadable: {}",
                    bad.line, bad.name, bad.why
                ));
            }
            tracing::warn!(feed = %self.feed_url, line = bad.line, "unreadable line ignored: {}", bad.why);
        }
        None
    }

    fn fields(&self, ev: &Component, z: &CalZones) -> Result<Fields, String> {
        if let Some(why) = self.unreadable(ev) {
            return Err(why);
        }
        read_fields(ev, z)
    }

    /// The sessions of one UID: a single event, or the occurrences of a
    /// recurring one in the window with its overrides applied.
    fn event_sessions(
        &mut self,
        uid: &str,
        master: Option<&Component>,
        overrides: &[&Component],
        z: &CalZones,
    ) -> Vec<Session> {
        let overrides = self.read_overrides(uid, overrides, z);
        let Some(master) = master else {
            // Overrides of an event the feed does not carry: each stands alone.
            return overrides
                .iter()
                .filter_map(|o| match self.fields(o.event, z) {
                    Ok(f) => Some((o, f)),
                    Err(e) => {
                        self.warn(uid, &e);
                        None
                    }
                })
                .filter(|(_, f)| self.in_window(f, z))
                .map(|(o, f)| self.session(uid, occurrence_key(&o.rid), &f, None, z))
                .collect();
        };
        let fields = match self.fields(master, z) {
            Ok(f) => f,
            Err(e) => {
                self.warn(uid, &e);
                return Vec::new();
            }
        };
        let recurring = master.prop("RRULE").is_some() || master.prop("RDATE").is_some();
        if !recurring && overrides.is_empty() {
            return if self.in_window(&fields, z) {
                vec![self.session(uid, SessionKey::nth(1), &fields, None, z)]
            } else {
                Vec::new()
            };
        }
        let series_zone = series_zone(&fields.start, z);
        let starts = match self.series_starts(uid, master, &fields, &series_zone, z) {
            Some(s) => s,
            None => return Vec::new(),
        };
        let series = Series {
            start: fields.start.clone(),
            zone: &series_zone,
            rule: None,
            rdates: Vec::new(),
            exdates: Vec::new(),
        };
        let single = !recurring;
        self.apply_overrides(uid, &fields, starts, &overrides, &series, single, z)
    }

    fn read_overrides<'c>(
        &self,
        uid: &str,
        overrides: &[&'c Component],
        z: &CalZones,
    ) -> Vec<Override<'c>> {
        let mut out = Vec::new();
        for ov in overrides {
            let Some(p) = ov.prop("RECURRENCE-ID") else {
                continue;
            };
            match z.one(p) {
                Ok(rid) => out.push(Override {
                    rid,
                    this_and_future: p
                        .param("RANGE")
                        .is_some_and(|r| r.eq_ignore_ascii_case("THISANDFUTURE")),
                    event: ov,
                }),
                Err(e) => self.warn(
                    uid,
                    &format!("unreadable RECURRENCE-ID on line {}: {e}", p.line),
                ),
            }
        }
        out
    }

    /// The original starts of the master's occurrences in the window, or
    /// `None` (with a warning) when the event is to be skipped.
    fn series_starts(
        &mut self,
        uid: &str,
        master: &Component,
        fields: &Fields,
        zone: &Zone,
        z: &CalZones,
    ) -> Option<Vec<When>> {
        let dates = |name: &str| -> Result<Vec<When>, String> {
            let mut v = Vec::new();
            for p in master.props(name) {
                v.extend(z.values(p)?);
            }
            Ok(v)
        };
        let (rdates, exdates) = match (dates("RDATE"), dates("EXDATE")) {
            (Ok(r), Ok(x)) => (r, x),
            (Err(e), _) | (_, Err(e)) => {
                self.warn(uid, &e);
                return None;
            }
        };
        let series = Series {
            start: in_zone(&fields.start, zone),
            zone,
            rule: master.prop("RRULE").map(|p| p.value.as_str()),
            rdates,
            exdates,
        };
        // Occurrences are matched to overrides in the window widened by the
        // longest move an override makes; plain starts are checked again later.
        match recur::expand(&series, self.window, &mut self.budget) {
            Ok(e) => {
                if e.capped {
                    tracing::warn!(feed = %self.feed_url, uid = %uid, "only the first {} occurrences of a repeating event read", MAX_OCCURRENCES);
                }
                Some(e.starts)
            }
            Err(recur::ExpandError::FeedSpent) => None,
            Err(recur::ExpandError::TooManySteps(why)) => {
                self.warn(uid, &why);
                None
            }
            Err(recur::ExpandError::Unreadable(why)) => {
                tracing::warn!(feed = %self.feed_url, uid = %uid, "recurrence unreadable ({why}); only the first date is kept");
                Some(vec![fields.start.clone()])
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_overrides(
        &self,
        uid: &str,
        master: &Fields,
        starts: Vec<When>,
        overrides: &[Override<'_>],
        series: &Series<'_>,
        single: bool,
        z: &CalZones,
    ) -> Vec<Session> {
        let mut used = vec![false; overrides.len()];
        let mut out = Vec::new();
        let read = |o: &Override<'_>| match self.fields(o.event, z) {
            Ok(f) => Some(f),
            Err(e) => {
                self.warn(uid, &format!("override on line {}: {e}", o.event.line));
                None
            }
        };
        for original in starts {
            let key = if single {
                SessionKey::nth(1)
            } else {
                occurrence_key(&original)
            };
            let exact = overrides
                .iter()
                .position(|o| !o.this_and_future && series.matches(&o.rid, &original))
                .or_else(|| {
                    overrides
                        .iter()
                        .position(|o| o.this_and_future && series.matches(&o.rid, &original))
                });
            let f = match exact {
                Some(i) => {
                    used[i] = true;
                    match read(&overrides[i]) {
                        Some(f) => f,
                        None => continue,
                    }
                }
                None => match self.future_override(&original, overrides, series) {
                    Some(o) => match read(o) {
                        Some(f) => shifted_by(&f, &o.rid, &original),
                        None => continue,
                    },
                    None => master.starting(original.clone()),
                },
            };
            if self.in_window(&f, z) {
                out.push(self.session(uid, key, &f, Some(master), z));
            }
        }
        // Overrides of occurrences the rule did not make in the window (moved
        // into it from outside, or of a date the rule does not make).
        for (o, _) in overrides
            .iter()
            .zip(&used)
            .filter(|(o, u)| !**u && !o.this_and_future)
        {
            if let Some(f) = read(o) {
                if self.in_window(&f, z) {
                    out.push(self.session(uid, occurrence_key(&o.rid), &f, Some(master), z));
                }
            }
        }
        out
    }

    /// The latest `RANGE=THISANDFUTURE` override at or before `original`.
    fn future_override<'o, 'c>(
        &self,
        original: &When,
        overrides: &'o [Override<'c>],
        series: &Series<'_>,
    ) -> Option<&'o Override<'c>> {
        let at = original.instant(series.zone);
        overrides
            .iter()
            .filter(|o| o.this_and_future && o.rid.instant(series.zone) <= at)
            .max_by_key(|o| o.rid.instant(series.zone))
    }

    fn in_window(&self, f: &Fields, z: &CalZones) -> bool {
        let s = f.start.instant(&z.floating);
        s >= self.window.0 && s <= self.window.1
    }

    fn session(
        &self,
        uid: &str,
        key: SessionKey,
        f: &Fields,
        master: Option<&Fields>,
        z: &CalZones,
    ) -> Session {
        session(uid, key, f, master, z, self.ctx)
    }
}

/// The zone a series recurs in: a date series in the floating zone, a
/// UTC-start series in `X-WR-TIMEZONE` when the calendar names one (as
/// Google writes them), otherwise the zone its start was written in.
fn series_zone(start: &When, z: &CalZones) -> Zone {
    match start {
        When::Date(_) => z.floating.clone(),
        When::Time {
            zone: Zone::Iana(tz),
            ..
        } if *tz == chrono_tz::UTC => z.wr_timezone.clone().unwrap_or(Zone::Iana(chrono_tz::UTC)),
        When::Time { zone, .. } => zone.clone(),
    }
}

/// `w` with its wall-clock time read in `zone` (a UTC start recurring in
/// `X-WR-TIMEZONE`); dates and times already in `zone` are unchanged.
fn in_zone(w: &When, zone: &Zone) -> When {
    match w {
        When::Time {
            utc,
            zone: Zone::Iana(chrono_tz::UTC),
            ..
        } => When::Time {
            utc: *utc,
            wall: zone.wall_clock(*utc),
            zone: zone.clone(),
        },
        _ => w.clone(),
    }
}

/// An occurrence under a `THISANDFUTURE` override: moved as the override
/// moved its own occurrence, with the override's length and fields.
fn shifted_by(ov: &Fields, rid: &When, original: &When) -> Fields {
    let delta = ov.start.wall() - rid.wall();
    let start = match (&ov.start, original) {
        (When::Time { zone, .. }, When::Time { .. }) => {
            let wall = original.wall() + delta;
            When::Time {
                utc: zone.instant(wall),
                wall,
                zone: zone.clone(),
            }
        }
        _ => original.shifted(delta),
    };
    ov.starting(start)
}

fn read_fields(ev: &Component, z: &CalZones) -> Result<Fields, String> {
    let start = z.one(ev.prop("DTSTART").ok_or("no DTSTART")?)?;
    let length = match (ev.prop("DTEND"), ev.prop("DURATION")) {
        (Some(end), _) => {
            let end = z.one(end)?;
            end.instant(&z.floating) - start.instant(&z.floating)
        }
        (None, Some(d)) => parse_duration(&d.value)
            .ok_or_else(|| format!("`{}` is not a duration", d.value.trim()))?,
        (None, None) => match start {
            When::Date(_) => Duration::days(1),
            When::Time { .. } => Duration::zero(),
        },
    };
    let url = ev
        .prop("URL")
        .map(|p| p.value.trim().to_string())
        .filter(|u| Url::parse(u).is_ok_and(|u| matches!(u.scheme(), "http" | "https")));
    Ok(Fields {
        start,
        length: length.max(Duration::zero()),
        title: text_of(ev, "SUMMARY").map(|t| text::normalise_ws(&t)),
        description: text_of(ev, "DESCRIPTION"),
        location: text_of(ev, "LOCATION"),
        category: ev.prop("CATEGORIES").and_then(|p| {
            lines::split_list(&p.value)
                .into_iter()
                .map(|c| decode_entities(c.trim()))
                .find(|c| !c.is_empty())
        }),
        url,
        cancelled: ev
            .prop("STATUS")
            .is_some_and(|s| s.value.trim().eq_ignore_ascii_case("CANCELLED")),
    })
}

/// A TEXT property's value, unescaped and with whitespace tidied; `None` if empty.
fn text_of(c: &Component, name: &str) -> Option<String> {
    let raw = lines::unescape(&c.prop(name)?.value);
    let s = decode_entities(raw.trim());
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
            '0'..='9' if num.len() < 9 => num.push(c),
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
fn occurrence_key(original: &When) -> SessionKey {
    match original {
        When::Date(d) => SessionKey::new(d.format("%Y%m%d").to_string()),
        When::Time { utc, .. } => SessionKey::new(utc.format("%Y%m%dT%H%M%SZ").to_string()),
    }
}

impl Fields {
    /// The same event at another start (one occurrence of it).
    fn starting(&self, start: When) -> Fields {
        Fields {
            start,
            ..self.clone()
        }
    }
}

fn session(
    uid: &str,
    key: SessionKey,
    f: &Fields,
    master: Option<&Fields>,
    z: &CalZones,
    ctx: &SourceContext,
) -> Session {
    // An override says only what differs in some feeds: fill from the master.
    let pick = |o: &Option<String>, m: fn(&Fields) -> &Option<String>| {
        o.clone().or_else(|| master.and_then(|x| m(x).clone()))
    };
    let location = pick(&f.location, |m| &m.location);
    let venue = location.as_deref().and_then(text::parse_venue);
    let (start, all_day, shown) = match &f.start {
        When::Date(_) => (f.start.instant(&z.floating), true, z.shown),
        When::Time { utc, zone, .. } => (*utc, false, zone.shown_in(z.shown)),
    };
    Session {
        source: ctx.source_id.clone(),
        event_id: uid.to_string(),
        key,
        title: pick(&f.title, |m| &m.title).unwrap_or_else(|| UNTITLED.to_string()),
        category: pick(&f.category, |m| &m.category),
        level: None,
        prerequisites: None,
        description: pick(&f.description, |m| &m.description),
        start,
        end: start + f.length,
        timezone: shown.name().to_string(),
        online: venue.as_ref().is_some_and(|v| v.online),
        venue: venue.map(|v| v.text),
        status: if f.cancelled || master.is_some_and(|m| m.cancelled) {
            Status::Cancelled
        } else {
            Status::Scheduled
        },
        // Feeds carry no places: say so, never "available".
        availability: Availability::unpublished(),
        // No URL: no link (the feed file is not a booking page).
        url: pick(&f.url, |m| &m.url).unwrap_or_default(),
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
        assert_eq!(parse_duration("PT99999999999999999999H"), None);
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
}
