//! Expanding a recurring event (`RRULE`, `RDATE`, `EXDATE`) into the original
//! starts of its occurrences in a window, with the `rrule` crate, within fixed
//! bounds.
//!
//! Rules are expanded in wall-clock time and each occurrence is then read in
//! the series' zone, so a feed's own `VTIMEZONE` works as well as an IANA
//! zone, and a weekly 09:30 stays 09:30 across a clock change. The `rrule`
//! crate iterates from `DTSTART`, so a rule that starts in 1900 and repeats
//! every second would take billions of steps to reach the window: simple
//! rules (no `COUNT`, no `BYMONTH`-like parts) are moved forward to just
//! before the window first, and any rule that still needs more than
//! [`MAX_STEPS`] steps is refused, as is every rule once the feed has spent
//! [`FEED_STEPS`].
//!
//! Owns expansion only; which zone a series is in and what an occurrence
//! becomes belong to `parse`.

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use std::str::FromStr;

use super::when::When;
use super::zones::{until_as_wall_clock, Zone};

/// Steps one rule may take (occurrences the crate yields, in or before the
/// window) before it is refused as unable to reach the window.
pub const MAX_STEPS: usize = 100_000;
/// Steps every rule of one feed may take together.
pub const FEED_STEPS: usize = 2_000_000;
/// At most this many occurrences of one recurring event are read.
pub const MAX_OCCURRENCES: usize = 1000;

/// What one feed may still spend on expansion.
#[derive(Debug)]
pub struct Budget {
    /// Steps left for the rest of the feed.
    pub steps: usize,
    /// Repeating events refused once no steps were left.
    pub refused: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            steps: FEED_STEPS,
            refused: 0,
        }
    }
}

/// A recurring event's times, resolved.
pub struct Series<'a> {
    /// The master's `DTSTART`.
    pub start: When,
    /// The zone its wall-clock times recur in.
    pub zone: &'a Zone,
    /// The `RRULE`'s value, if any.
    pub rule: Option<&'a str>,
    /// `RDATE`s.
    pub rdates: Vec<When>,
    /// `EXDATE`s.
    pub exdates: Vec<When>,
}

/// Why a series could not be expanded.
#[derive(Debug)]
pub enum ExpandError {
    /// The rule cannot be read (only its first date can be used).
    Unreadable(String),
    /// The rule needs more steps than it may take to reach the window (the
    /// event is skipped).
    TooManySteps(String),
    /// The feed has spent its [`FEED_STEPS`] (the event is skipped, and the
    /// feed warns once for all of them).
    FeedSpent,
}

/// The original starts found, and whether [`MAX_OCCURRENCES`] cut them short.
pub struct Expanded {
    /// Starts in the window, in order.
    pub starts: Vec<When>,
    /// True when more occurrences fell in the window than were read.
    pub capped: bool,
}

/// The original starts of a series' occurrences starting in `window`.
pub fn expand(
    s: &Series<'_>,
    window: (DateTime<Utc>, DateTime<Utc>),
    budget: &mut Budget,
) -> Result<Expanded, ExpandError> {
    let all_day = matches!(s.start, When::Date(_));
    let mut starts = Vec::new();
    let mut capped = false;
    if let Some(rule) = s.rule {
        capped = expand_rule(s, rule, all_day, window, budget, &mut starts)?;
    } else {
        starts.push(s.start.clone());
    }
    starts.extend(s.rdates.iter().map(|r| s.same_kind(r)));
    starts.retain(|w| {
        let t = w.instant(s.zone);
        t >= window.0 && t <= window.1 && !s.exdates.iter().any(|x| s.matches(x, w))
    });
    starts.sort_by_key(|w| w.instant(s.zone));
    starts.dedup_by_key(|w| w.instant(s.zone));
    if starts.len() > MAX_OCCURRENCES {
        starts.truncate(MAX_OCCURRENCES);
        capped = true;
    }
    Ok(Expanded { starts, capped })
}

impl Series<'_> {
    /// An `RDATE` as a value of the series' own kind (a date for a date series).
    fn same_kind(&self, r: &When) -> When {
        match (&self.start, r) {
            (When::Date(_), When::Time { wall, .. }) => When::Date(wall.date()),
            _ => r.clone(),
        }
    }

    /// Whether an `EXDATE` (or `RECURRENCE-ID`) names the occurrence `occ`:
    /// by date in a date series, by instant otherwise (a date names every
    /// occurrence on that day in the series' zone).
    pub fn matches(&self, x: &When, occ: &When) -> bool {
        match (x, occ) {
            (When::Date(d), When::Date(o)) => d == o,
            (When::Time { wall, .. }, When::Date(o)) => wall.date() == *o,
            (When::Date(d), When::Time { utc, .. }) => self.zone.wall_clock(*utc).date() == *d,
            (When::Time { utc: a, .. }, When::Time { utc: b, .. }) => a == b,
        }
    }
}

/// Expands the `RRULE` into `out`; true when it stopped at [`MAX_OCCURRENCES`].
fn expand_rule(
    s: &Series<'_>,
    rule: &str,
    all_day: bool,
    window: (DateTime<Utc>, DateTime<Utc>),
    budget: &mut Budget,
    out: &mut Vec<When>,
) -> Result<bool, ExpandError> {
    let wall_start = s.start.wall();
    let rule = until_as_wall_clock(rule, s.zone, all_day).map_err(ExpandError::Unreadable)?;
    // Hours of slack cover a wall clock that a clock change moves.
    let earliest = s.zone.wall_clock(window.0) - Duration::hours(3);
    let dtstart = fast_forward(&rule, wall_start, earliest);
    if until_of(&rule).is_some_and(|u| u < earliest) {
        return Ok(false);
    }
    let fake = Utc
        .from_utc_datetime(&dtstart)
        .with_timezone(&rrule::Tz::UTC);
    let set = rrule::RRule::<rrule::Unvalidated>::from_str(&rule)
        .map_err(|e| ExpandError::Unreadable(format!("RRULE `{rule}`: {e}")))?
        .build(fake)
        .map_err(|e| ExpandError::Unreadable(format!("RRULE `{rule}`: {e}")))?;
    let mut steps = 0usize;
    for t in set.into_iter() {
        steps += 1;
        if steps > MAX_STEPS {
            return Err(ExpandError::TooManySteps(format!(
                "RRULE `{rule}` does not reach the window within {MAX_STEPS} steps"
            )));
        }
        if budget.steps == 0 {
            budget.refused += 1;
            return Err(ExpandError::FeedSpent);
        }
        budget.steps -= 1;
        let wall = t.naive_utc();
        let occ = if all_day {
            When::Date(wall.date())
        } else {
            When::Time {
                utc: s.zone.instant(wall),
                wall,
                zone: s.zone.clone(),
            }
        };
        let at = occ.instant(s.zone);
        if at > window.1 {
            break;
        }
        if at >= window.0 {
            if out.len() >= MAX_OCCURRENCES {
                return Ok(true);
            }
            out.push(occ);
        }
    }
    Ok(false)
}

/// `DTSTART` moved forward by whole periods to just before `earliest`, for
/// rules whose occurrences repeat exactly every period (no `COUNT`, and only
/// `BYDAY` without ordinals, `BYHOUR`, `BYMINUTE`, `BYSECOND` besides
/// `FREQ`, `INTERVAL`, `UNTIL` and `WKST`); anything else starts where it is.
fn fast_forward(rule: &str, start: NaiveDateTime, earliest: NaiveDateTime) -> NaiveDateTime {
    let mut period_secs: Option<i64> = None;
    let mut interval = 1i64;
    for part in rule.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        match k.to_ascii_uppercase().as_str() {
            "FREQ" => {
                period_secs = match v.to_ascii_uppercase().as_str() {
                    "SECONDLY" => Some(1),
                    "MINUTELY" => Some(60),
                    "HOURLY" => Some(3600),
                    "DAILY" => Some(86_400),
                    "WEEKLY" => Some(604_800),
                    _ => None,
                }
            }
            "INTERVAL" => interval = v.parse().unwrap_or(1).max(1),
            "UNTIL" | "WKST" | "BYHOUR" | "BYMINUTE" | "BYSECOND" => {}
            "BYDAY" if v.bytes().all(|b| b.is_ascii_alphabetic() || b == b',') => {}
            _ => return start,
        }
    }
    let Some(p) = period_secs else { return start };
    let step = p.saturating_mul(interval);
    let behind = (earliest - start).num_seconds();
    if behind <= step {
        return start;
    }
    let periods = behind / step - 1;
    start + Duration::seconds(periods.saturating_mul(step))
}

/// The rule's `UNTIL` as a wall-clock time (it was made so by `until_as_wall_clock`).
fn until_of(rule: &str) -> Option<NaiveDateTime> {
    rule.split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.eq_ignore_ascii_case("UNTIL"))
        .and_then(|(_, v)| {
            NaiveDateTime::parse_from_str(v.trim_end_matches('Z'), "%Y%m%dT%H%M%S").ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%S").unwrap()
    }

    #[test]
    fn simple_rules_jump_to_the_window() {
        let ff = fast_forward("FREQ=SECONDLY", t("19000101T000000"), t("20261101T000000"));
        assert!(ff <= t("20261101T000000") && ff > t("20261031T235900"));
        let weekly = fast_forward(
            "FREQ=WEEKLY;BYDAY=MO,WE",
            t("20000103T093000"),
            t("20261101T000000"),
        );
        assert_eq!((weekly - t("20000103T093000")).num_seconds() % 604_800, 0);
        assert_eq!(
            fast_forward(
                "FREQ=DAILY;COUNT=5",
                t("20000103T093000"),
                t("20261101T000000")
            ),
            t("20000103T093000")
        );
    }

    #[test]
    fn until_read_into_the_zone() {
        let london = Zone::Iana(chrono_tz::Europe::London);
        assert_eq!(
            until_as_wall_clock("FREQ=WEEKLY;UNTIL=20270701T083000Z", &london, false).unwrap(),
            "FREQ=WEEKLY;UNTIL=20270701T093000Z"
        );
        assert_eq!(
            until_as_wall_clock("FREQ=WEEKLY;UNTIL=20270331;BYDAY=WE", &london, false).unwrap(),
            "FREQ=WEEKLY;UNTIL=20270331T235959Z;BYDAY=WE"
        );
    }
}
