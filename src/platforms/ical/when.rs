//! A date or date-time value of a feed (`DTSTART`, `DTEND`, `RECURRENCE-ID`,
//! `EXDATE`, `RDATE`) once read in its zone: [`When`], a day or an instant
//! with the wall-clock time and zone it was written in.
//!
//! Owns what such a value is and how it moves; reading one from a property is
//! `parse`'s, and the zones themselves are `zones`'.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

use super::zones::Zone;

/// A `DTSTART`/`DTEND`/`RECURRENCE-ID`/`EXDATE`/`RDATE` value, resolved.
#[derive(Debug, Clone)]
pub(super) enum When {
    /// A date (`VALUE=DATE`): a whole day in the feed's floating zone.
    Date(NaiveDate),
    /// An instant, with the wall-clock time and zone it was written in.
    Time {
        /// The instant.
        utc: DateTime<Utc>,
        /// Its wall-clock time in `zone`.
        wall: NaiveDateTime,
        /// The zone it was written in (UTC for a `…Z` time).
        zone: Zone,
    },
}

impl When {
    /// The instant it starts; a date starts at midnight in `floating`.
    pub(super) fn instant(&self, floating: &Zone) -> DateTime<Utc> {
        match self {
            When::Date(d) => floating.instant(d.and_hms_opt(0, 0, 0).unwrap_or_default()),
            When::Time { utc, .. } => *utc,
        }
    }

    /// Its wall-clock time (midnight for a date).
    pub(super) fn wall(&self) -> NaiveDateTime {
        match self {
            When::Date(d) => d.and_hms_opt(0, 0, 0).unwrap_or_default(),
            When::Time { wall, .. } => *wall,
        }
    }

    /// The same moved by `delta` of wall-clock time (a date by whole days).
    pub(super) fn shifted(&self, delta: Duration) -> When {
        match self {
            When::Date(d) => When::Date(*d + Duration::days(delta.num_days())),
            When::Time { wall, zone, .. } => {
                let wall = *wall + delta;
                When::Time {
                    utc: zone.instant(wall),
                    wall,
                    zone: zone.clone(),
                }
            }
        }
    }
}
