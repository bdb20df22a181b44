//! Time zones: the zone a session's times are written in (`zone_of`), whether a
//! local time names its instant unambiguously (`local_time`), and the VTIMEZONE
//! that describes a zone over the years a feed needs (`vtimezone`), generated
//! here from chrono-tz because the `icalendar` crate has no VTIMEZONE support.
//!
//! Owns: the rules of time zones as a feed states them (observances, RRULEs,
//! UTC offsets). Does not own: how an event's times are chosen or written
//! (`event`, `writer`), which zones and years a feed needs (`calendar`), or
//! folding the lines (`text`).

use super::text::escape_text;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc};
use chrono_tz::{OffsetComponents, OffsetName, Tz};
use std::collections::{BTreeMap, BTreeSet};

/// The zone a session's times are shown in, or `None` to write them in UTC
/// (`Z`): for a name chrono-tz does not know, and for UTC itself, which needs no
/// VTIMEZONE.
pub(super) fn zone_of(name: &str) -> Option<Tz> {
    let tz: Tz = name.trim().parse().ok()?;
    const UTC_NAMES: [&str; 8] = [
        "UTC",
        "Etc/UTC",
        "Etc/UCT",
        "UCT",
        "Etc/Universal",
        "Universal",
        "Etc/Zulu",
        "Zulu",
    ];
    (!UTC_NAMES.contains(&tz.name())).then_some(tz)
}

/// Local wall-clock time of `t` in `tz`, if writing it with a TZID names this
/// instant unambiguously. In the repeated hour when clocks go back, RFC 5545
/// §3.3.5 reads a local time as its first occurrence but ical.js (Thunderbird,
/// Nextcloud) takes the second, so either occurrence is written in UTC instead.
pub(super) fn local_time(t: DateTime<Utc>, tz: Tz) -> Option<NaiveDateTime> {
    let local = t.with_timezone(&tz).naive_local();
    (tz.from_local_datetime(&local).single()? == t).then_some(local)
}

/// The offset in effect at some instant, as a VTIMEZONE describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct OffsetState {
    /// Seconds east of UTC.
    total: i32,
    dst: bool,
    name: Option<String>,
}

/// The offset `tz` is at, at UTC instant `t` (unix seconds).
fn offset_state(tz: Tz, t: i64) -> OffsetState {
    let at = DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .naive_utc();
    let off = tz.offset_from_utc_datetime(&at);
    OffsetState {
        total: off.fix().local_minus_utc(),
        dst: !off.dst_offset().is_zero(),
        name: off.abbreviation().map(str::to_string),
    }
}

/// A change of offset: at UTC instant `at` (unix seconds), `from` gives way to `to`.
#[derive(Debug, Clone)]
struct Transition {
    at: i64,
    from: OffsetState,
    to: OffsetState,
}

impl Transition {
    /// The onset in local time as it was just before the change, which is how
    /// an observance's DTSTART is written (RFC 5545 §3.6.5).
    fn onset(&self) -> NaiveDateTime {
        DateTime::from_timestamp(self.at + i64::from(self.from.total), 0)
            .unwrap_or_default()
            .naive_utc()
    }
}

/// Every transition of `tz` in `[from, to)` (unix seconds), found by sampling
/// daily and bisecting to the second: chrono-tz does not expose its table.
fn transitions(tz: Tz, from: i64, to: i64) -> Vec<Transition> {
    const DAY: i64 = 86_400;
    let mut found = Vec::new();
    let mut t = from;
    let mut state = offset_state(tz, t);
    while t < to {
        let next = (t + DAY).min(to);
        let next_state = offset_state(tz, next);
        if next_state != state {
            let (mut lo, mut hi) = (t, next);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if offset_state(tz, mid) == state {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            found.push(Transition {
                at: hi,
                from: state,
                to: next_state.clone(),
            });
        }
        state = next_state;
        t = next;
    }
    found
}

/// One STANDARD or DAYLIGHT block of a VTIMEZONE.
#[derive(Debug, Clone)]
struct Observance {
    dtstart: NaiveDateTime,
    rrule: Option<String>,
    from: i32,
    to: OffsetState,
}

/// The VTIMEZONE for `tz`, as unfolded content lines, describing it correctly
/// for at least local years `y0..=y1`.
///
/// When the transitions recur on the same rule every year (e.g. last Sunday of
/// March at 01:00), each kind is one observance with an RRULE, which every
/// client (Outlook especially) reads well; otherwise each transition is its own
/// dated observance.
pub(super) fn vtimezone(tz: Tz, y0: i32, y1: i32) -> Vec<String> {
    // A year either side, so an observance is in effect from before the first
    // event and a transition just outside a year boundary is not missed.
    let (first_year, last_year) = (y0 - 1, y1 + 1);
    let year_start = |y: i32| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(0, |d| d.and_utc().timestamp())
    };
    let (from, to) = (year_start(first_year), year_start(last_year + 1));
    let found = transitions(tz, from, to);

    let observances = yearly_rules(&found, first_year, last_year).unwrap_or_else(|| {
        // The offset in effect at the start of the range, then each change.
        let initial = offset_state(tz, from);
        let start = DateTime::from_timestamp(from + i64::from(initial.total), 0)
            .unwrap_or_default()
            .naive_utc();
        std::iter::once(Observance {
            dtstart: start,
            rrule: None,
            from: initial.total,
            to: initial,
        })
        .chain(found.iter().map(|t| Observance {
            dtstart: t.onset(),
            rrule: None,
            from: t.from.total,
            to: t.to.clone(),
        }))
        .collect()
    });

    let mut lines = vec![
        "BEGIN:VTIMEZONE".to_string(),
        format!("TZID:{}", tz.name()),
        // Read by libical-based clients (Evolution) to map the zone to their own.
        format!("X-LIC-LOCATION:{}", tz.name()),
    ];
    for o in observances {
        let kind = if o.to.dst { "DAYLIGHT" } else { "STANDARD" };
        lines.push(format!("BEGIN:{kind}"));
        lines.push(format!("DTSTART:{}", o.dtstart.format("%Y%m%dT%H%M%S")));
        if let Some(rule) = o.rrule {
            lines.push(format!("RRULE:{rule}"));
        }
        lines.push(format!("TZOFFSETFROM:{}", utc_offset(o.from)));
        lines.push(format!("TZOFFSETTO:{}", utc_offset(o.to.total)));
        if let Some(name) = &o.to.name {
            lines.push(format!("TZNAME:{}", escape_text(name)));
        }
        lines.push(format!("END:{kind}"));
    }
    lines.push("END:VTIMEZONE".into());
    lines
}

/// One RRULE observance per kind of transition, if every kind happens exactly
/// once in each year of `first..=last`, always in the same month, on the same
/// weekday (the nth or the last of the month) and at the same local time.
fn yearly_rules(found: &[Transition], first: i32, last: i32) -> Option<Vec<Observance>> {
    // Kind of change: (to dst, from offset, to offset, to name).
    let mut kinds: BTreeMap<(bool, i32, i32, Option<String>), Vec<&Transition>> = BTreeMap::new();
    for t in found {
        let key = (t.to.dst, t.from.total, t.to.total, t.to.name.clone());
        kinds.entry(key).or_default().push(t);
    }
    if kinds.is_empty() {
        return None;
    }
    let all_years: BTreeSet<i32> = (first..=last).collect();
    let mut out = Vec::new();
    for group in kinds.values() {
        let onsets: Vec<NaiveDateTime> = group.iter().map(|t| t.onset()).collect();
        let years: BTreeSet<i32> = onsets.iter().map(|o| o.year()).collect();
        if years != all_years || onsets.len() != all_years.len() {
            return None;
        }
        let o0 = onsets[0];
        let same = onsets.iter().all(|o| {
            o.month() == o0.month() && o.weekday() == o0.weekday() && o.time() == o0.time()
        });
        if !same {
            return None;
        }
        let is_last = |o: &NaiveDateTime| o.day() + 7 > days_in_month(o.year(), o.month());
        let nth = |o: &NaiveDateTime| (o.day() as i32 - 1) / 7 + 1;
        let which = if onsets.iter().all(is_last) {
            -1
        } else if onsets.iter().all(|o| nth(o) == nth(&o0)) {
            nth(&o0)
        } else {
            return None;
        };
        let day = &o0.weekday().to_string()[..2].to_uppercase();
        out.push(Observance {
            dtstart: o0,
            rrule: Some(format!(
                "FREQ=YEARLY;BYMONTH={};BYDAY={which}{day}",
                o0.month()
            )),
            from: group[0].from.total,
            to: group[0].to.clone(),
        });
    }
    out.sort_by_key(|o| (o.dtstart, o.to.total));
    debug_assert!(out
        .iter()
        .all(|o| o.dtstart.second() == 0 || o.rrule.is_some()));
    Some(out)
}

/// How many days `month` of `year` has.
fn days_in_month(year: i32, month: u32) -> u32 {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day())
}

/// A UTC-OFFSET value: `+0100`, `-0330`, with seconds only when there are some.
fn utc_offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    let (h, m, s) = (a / 3600, a % 3600 / 60, a % 60);
    if s == 0 {
        format!("{sign}{h:02}{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn london_is_two_yearly_rules() {
        let lines = vtimezone(chrono_tz::Europe::London, 2027, 2027);
        let text = lines.join("\n");
        assert!(text.contains(
            "BEGIN:DAYLIGHT\nDTSTART:20260329T010000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\n\
             TZOFFSETFROM:+0000\nTZOFFSETTO:+0100\nTZNAME:BST\nEND:DAYLIGHT"
        ));
        assert!(text.contains(
            "BEGIN:STANDARD\nDTSTART:20261025T020000\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\n\
             TZOFFSETFROM:+0100\nTZOFFSETTO:+0000\nTZNAME:GMT\nEND:STANDARD"
        ));
    }

    #[test]
    fn southern_and_fixed_zones() {
        let sydney = vtimezone(chrono_tz::Australia::Sydney, 2027, 2028).join("\n");
        assert!(
            sydney.contains("RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=1SU"),
            "{sydney}"
        );
        assert!(
            sydney.contains("RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU"),
            "{sydney}"
        );
        let tokyo = vtimezone(chrono_tz::Asia::Tokyo, 2027, 2027).join("\n");
        assert!(
            tokyo.contains("TZOFFSETFROM:+0900\nTZOFFSETTO:+0900"),
            "{tokyo}"
        );
        assert_eq!(tokyo.matches("BEGIN:STANDARD").count(), 1);
        assert!(zone_of("Not/AZone").is_none());
        assert!(zone_of("UTC").is_none());
    }

    #[test]
    fn repeated_hour_is_written_in_utc() {
        let london = chrono_tz::Europe::London;
        // 2027-10-31: 01:30 BST is 00:30Z; 01:30 GMT is 01:30Z.
        let first = Utc.with_ymd_and_hms(2027, 10, 31, 0, 30, 0).unwrap();
        let second = Utc.with_ymd_and_hms(2027, 10, 31, 1, 30, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2027, 10, 31, 2, 0, 0).unwrap();
        assert!(local_time(first, london).is_none());
        assert!(local_time(second, london).is_none());
        assert!(local_time(after, london).is_some());
    }
}
