//! Which part of a view one answer holds: at most `limit` sessions, those
//! after a cursor (the last session the previous part listed). Every view
//! lists in one order, by start and then UID, so paging by the last key
//! shown (not by an offset) lists a session that is there all along exactly
//! once, whatever a crawl merges between two parts.
//!
//! Owns the cursor and the limit, their query-string form and their limits.
//! Not which sessions match (the filter) nor taking the part from a list
//! (`present::part_of`).

use super::{query_pairs, FilterError};
use crate::model::StoredSession;
use chrono::{DateTime, NaiveDateTime, Utc};

/// Sessions the page lists in one part; "Later sessions" leads to the next.
pub const PAGE_PART: usize = 100;

/// Sessions `/api/sessions` lists in one part when no `limit` is given.
pub const DEFAULT_API_LIMIT: usize = 200;

/// The largest `limit` `/api/sessions` accepts.
pub const MAX_API_LIMIT: usize = 1000;

/// Longest cursor read, in bytes (a start and a UID).
const MAX_CURSOR_BYTES: usize = 512;

/// How a cursor's start is written: UTC, to the second, as in iCalendar.
const CURSOR_TIME: &str = "%Y%m%dT%H%M%SZ";

/// Where a part starts: after the session with this start and UID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor {
    /// The start of the last session listed.
    pub start: DateTime<Utc>,
    /// Its UID.
    pub uid: String,
}

impl Cursor {
    /// The cursor just after `s`.
    pub fn after(s: &StoredSession) -> Cursor {
        Cursor {
            start: s.session.start,
            uid: s.uid.0.clone(),
        }
    }

    /// True when `s` comes after the cursor in the order views list in.
    pub fn is_before(&self, s: &StoredSession) -> bool {
        (self.start, self.uid.as_str()) < (s.session.start, s.uid.as_str())
    }

    /// The value of `after=`: `20270105T093000Z_<uid>`.
    pub fn to_param(&self) -> String {
        format!("{}_{}", self.start.format(CURSOR_TIME), self.uid)
    }

    /// Reads the value of `after=`, only as `to_param` writes it: chrono's
    /// parser alone also takes shorter times such as `20270705T83000Z`,
    /// whose written form is longer, so a cursor near `MAX_CURSOR_BYTES`
    /// would be written as one this refuses.
    pub fn from_param(v: &str) -> Result<Cursor, FilterError> {
        if v.len() > MAX_CURSOR_BYTES || v.contains('\0') {
            return Err(FilterError::BadAfter);
        }
        let (time, uid) = v.split_once('_').ok_or(FilterError::BadAfter)?;
        let start = NaiveDateTime::parse_from_str(time, CURSOR_TIME)
            .map_err(|_| FilterError::BadAfter)?
            .and_utc();
        if uid.is_empty() || start.format(CURSOR_TIME).to_string() != time {
            return Err(FilterError::BadAfter);
        }
        Ok(Cursor {
            start,
            uid: uid.to_string(),
        })
    }
}

/// One part of a view: the sessions after `after` (from the first without
/// it), at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Part {
    /// Where the part starts; `None` for the first.
    pub after: Option<Cursor>,
    /// Most sessions in the part.
    pub limit: usize,
}

impl Part {
    /// The first part, of `limit` sessions.
    pub fn first(limit: usize) -> Part {
        Part { after: None, limit }
    }

    /// Every session at once: what the command line lists.
    pub fn whole() -> Part {
        Part::first(usize::MAX)
    }

    /// Reads `after` and `limit` from a view's query string (other
    /// parameters are the filter's). Without `limit` the part holds
    /// `default`; with it, from 1 to `max` (a `max` of `default` takes no
    /// `limit` at all but that).
    pub fn from_query(raw: &str, default: usize, max: usize) -> Result<Part, FilterError> {
        let mut part = Part::first(default);
        let (mut after_seen, mut limit_seen) = (false, false);
        for (k, v) in query_pairs(raw)? {
            let v = v.trim();
            match k.as_str() {
                "after" if after_seen => return Err(FilterError::Repeated("after")),
                "limit" if limit_seen => return Err(FilterError::Repeated("limit")),
                "after" => {
                    after_seen = true;
                    if !v.is_empty() {
                        part.after = Some(Cursor::from_param(v)?);
                    }
                }
                "limit" => {
                    limit_seen = true;
                    if !v.is_empty() {
                        part.limit = v
                            .parse::<usize>()
                            .ok()
                            .filter(|n| (1..=max).contains(n))
                            .ok_or(FilterError::BadLimit(max))?;
                    }
                }
                _ => {}
            }
        }
        Ok(part)
    }

    /// The query parameters of the part after this one, which starts after
    /// `next`: `after`, and `limit` unless it is `default`.
    pub fn next_params(&self, next: &Cursor, default: usize) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("after", &next.to_param());
        if self.limit != default {
            q.append_pair("limit", &self.limit.to_string());
        }
        q.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_cursor_reads_back_as_written() {
        let c = Cursor {
            start: Utc.with_ymd_and_hms(2027, 7, 5, 8, 30, 0).unwrap(),
            uid: "wsp-1001-1@events_x".into(),
        };
        assert_eq!(c.to_param(), "20270705T083000Z_wsp-1001-1@events_x");
        assert_eq!(Cursor::from_param(&c.to_param()), Ok(c));
        for bad in [
            "",
            "_x",
            "20270705T083000Z_",
            "2027-07-05_x",
            "nonsense",
            "20270705T83000Z_x",
            "2027075T083000Z_x",
            " 20270705T083000Z_x",
            "+20270705T083000Z_x",
        ] {
            assert_eq!(Cursor::from_param(bad), Err(FilterError::BadAfter), "{bad}");
        }
        assert_eq!(
            Cursor::from_param(&format!("20270705T083000Z_{}", "u".repeat(600))),
            Err(FilterError::BadAfter)
        );
    }

    #[test]
    fn parts_are_read_from_the_query_and_held_to_their_limits() {
        let p =
            Part::from_query("source=wsp&limit=50&after=20270705T083000Z_a", 200, 1000).unwrap();
        assert_eq!(p.limit, 50);
        assert_eq!(p.after.as_ref().map(|c| c.uid.as_str()), Some("a"));
        assert_eq!(Part::from_query("", 200, 1000).unwrap(), Part::first(200));
        assert_eq!(
            Part::from_query("limit=&after=", 200, 1000).unwrap(),
            Part::first(200)
        );
        for (bad, e) in [
            ("limit=0", FilterError::BadLimit(1000)),
            ("limit=1001", FilterError::BadLimit(1000)),
            ("limit=ten", FilterError::BadLimit(1000)),
            ("limit=1&limit=2", FilterError::Repeated("limit")),
            (
                "after=20270705T083000Z_a&after=20270705T083000Z_a",
                FilterError::Repeated("after"),
            ),
        ] {
            assert_eq!(Part::from_query(bad, 200, 1000), Err(e), "{bad}");
        }
        let next = Cursor::from_param("20270705T083000Z_a b").unwrap();
        assert_eq!(
            Part::first(200).next_params(&next, 200),
            "after=20270705T083000Z_a+b"
        );
        assert_eq!(
            Part::first(5).next_params(&next, 200),
            "after=20270705T083000Z_a+b&limit=5"
        );
    }
}
