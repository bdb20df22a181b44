//! Each source as people and programs are told about it: which sources are
//! listed, under what name, kind and time zone, with their crawl health, and
//! the one JSON object of `events sources --json` and `/api/sources`. The
//! command line's table, the page's "Where this comes from" and the API all
//! read the same [`SourceStatus`] list from [`source_statuses`].
//!
//! The rule for a source the store knows of (its health, or its sessions) but
//! no source file configures any more: listed after the configured ones,
//! sorted by id, named by its id in capitals (as the calendar's name calls
//! it), with no kind (`null` in JSON) and its times shown in
//! [`UNCONFIGURED_ZONE`]. A configured source's times are shown in its own
//! `timezone`.
//!
//! Does not own how health is recorded (`store`), how it is worded on the page
//! (`page`) or in the terminal (`cli`), nor the source files (`config`).

use crate::config::SourceConfig;
use crate::errors::ErrorKind;
use crate::model::StoredSession;
use crate::store::{SourceHealth, Store, StoreError};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};

/// The zone a source's times are shown in when no source file says it: the
/// sources this program was written for are all in England.
pub const UNCONFIGURED_ZONE: Tz = chrono_tz::Europe::London;

/// One source and how its crawls are going.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceStatus {
    /// The source id, as in its sessions' UIDs.
    pub id: String,
    /// The configured name, or the id in capitals when no source file
    /// configures it any more.
    pub name: String,
    /// `event-booking`, `eventbrite`, `ical`, `schema-org`; `None` when no
    /// source file configures it any more.
    pub kind: Option<String>,
    /// The zone its crawl times are shown in: its configured one, else
    /// [`UNCONFIGURED_ZONE`].
    pub timezone: Tz,
    /// What the store knows of its crawls (all empty when never crawled).
    pub health: SourceHealth,
}

impl SourceStatus {
    /// True when a source file configures it.
    pub fn configured(&self) -> bool {
        self.kind.is_some()
    }

    /// True when its last crawl succeeded (see `SourceHealth::healthy`).
    pub fn healthy(&self) -> bool {
        self.health.healthy()
    }
}

/// The JSON object: `id`, `name`, `kind` (`null` when not configured),
/// `timezone` (an IANA name), `healthy`, then the health's `last_attempt`,
/// `last_success` (RFC 3339 or `null`), `last_error` (`null` when none),
/// `error_kind` (`last_error`'s kind, e.g. `timeout`; `null` with it),
/// `consecutive_failures`, `sessions_found`, `requests`, `bytes` and
/// `not_modified`. Written out field by field, so a field added to the
/// store's health does not reach the API unnoticed.
impl Serialize for SourceStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Shape<'a> {
            id: &'a str,
            name: &'a str,
            kind: Option<&'a str>,
            timezone: &'a str,
            healthy: bool,
            last_attempt: Option<DateTime<Utc>>,
            last_success: Option<DateTime<Utc>>,
            last_error: Option<&'a str>,
            error_kind: Option<ErrorKind>,
            consecutive_failures: u32,
            sessions_found: usize,
            requests: u64,
            bytes: u64,
            not_modified: u64,
        }
        let h = &self.health;
        Shape {
            id: &self.id,
            name: &self.name,
            kind: self.kind.as_deref(),
            timezone: self.timezone.name(),
            healthy: self.healthy(),
            last_attempt: h.last_attempt,
            last_success: h.last_success,
            last_error: h.last_error.as_deref(),
            error_kind: h.last_error_kind,
            consecutive_failures: h.consecutive_failures,
            sessions_found: h.sessions_found,
            requests: h.requests,
            bytes: h.bytes,
            not_modified: h.not_modified,
        }
        .serialize(serializer)
    }
}

/// Reads back what `Serialize` wrote (a server's `/api/sources`); `healthy`
/// is worked out again from the health, and a zone this build does not
/// know is shown in UTC.
impl<'de> Deserialize<'de> for SourceStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Shape {
            id: String,
            name: String,
            kind: Option<String>,
            timezone: String,
            last_attempt: Option<DateTime<Utc>>,
            last_success: Option<DateTime<Utc>>,
            last_error: Option<String>,
            #[serde(default)]
            error_kind: Option<ErrorKind>,
            consecutive_failures: u32,
            sessions_found: usize,
            requests: u64,
            bytes: u64,
            not_modified: u64,
        }
        let s = Shape::deserialize(deserializer)?;
        Ok(SourceStatus {
            id: s.id,
            name: s.name,
            kind: s.kind,
            timezone: s.timezone.parse().unwrap_or(chrono_tz::UTC),
            health: SourceHealth {
                last_attempt: s.last_attempt,
                last_success: s.last_success,
                last_error: s.last_error,
                last_error_kind: s.error_kind,
                consecutive_failures: s.consecutive_failures,
                sessions_found: s.sessions_found,
                requests: s.requests,
                bytes: s.bytes,
                not_modified: s.not_modified,
            },
        })
    }
}

/// Every source worth listing: the configured ones in their order, then any
/// others the store still knows of (by their health or their sessions),
/// sorted by id, under the rule in this module's documentation.
pub fn source_statuses(
    sources: &[SourceConfig],
    store: &Store,
    sessions: &[StoredSession],
) -> Result<Vec<SourceStatus>, StoreError> {
    Ok(statuses(
        sources,
        store.all_health()?,
        sessions.iter().map(|s| s.session.source.as_str()),
    ))
}

/// The same from the ids of the sources that have sessions, however the
/// caller knows them (the server keeps them with its snapshot).
pub fn statuses_of<'a>(
    sources: &[SourceConfig],
    store: &Store,
    session_sources: impl Iterator<Item = &'a str>,
) -> Result<Vec<SourceStatus>, StoreError> {
    Ok(statuses(sources, store.all_health()?, session_sources))
}

fn statuses<'a>(
    sources: &[SourceConfig],
    mut health: BTreeMap<String, SourceHealth>,
    session_sources: impl Iterator<Item = &'a str>,
) -> Vec<SourceStatus> {
    let mut out: Vec<SourceStatus> = sources
        .iter()
        .map(|c| SourceStatus {
            id: c.id.clone(),
            name: c.name.clone(),
            kind: Some(c.kind_name.to_string()),
            timezone: c.timezone,
            health: health.remove(&c.id).unwrap_or_default(),
        })
        .collect();
    let mut others: BTreeSet<String> = health.keys().cloned().collect();
    for id in session_sources {
        if !others.contains(id) {
            others.insert(id.to_string());
        }
    }
    for id in others {
        if out.iter().any(|s| s.id == id) {
            continue;
        }
        out.push(SourceStatus {
            name: id.to_uppercase(),
            kind: None,
            timezone: UNCONFIGURED_ZONE,
            health: health.remove(&id).unwrap_or_default(),
            id,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use std::path::Path;

    fn config(id: &str, zone: &str) -> SourceConfig {
        crate::config::parse_source(
            Path::new("x.toml"),
            &format!(
                "id = \"{id}\"\nname = \"The {id} site\"\nkind = \"event-booking\"\nbase_url = \"https://{id}.example\"\ntimezone = \"{zone}\"\n"
            ),
        )
        .unwrap()
    }

    #[test]
    fn configured_first_then_the_store_s_others_by_one_rule() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let mut health = BTreeMap::new();
        health.insert(
            "old".to_string(),
            SourceHealth {
                last_attempt: Some(t),
                last_success: Some(t),
                sessions_found: 4,
                ..SourceHealth::default()
            },
        );
        health.insert(
            "wsp".to_string(),
            SourceHealth {
                last_attempt: Some(t),
                last_error: Some("the listing answered 503".into()),
                consecutive_failures: 2,
                ..SourceHealth::default()
            },
        );
        let list = statuses(
            &[
                config("wsp", "Europe/London"),
                config("ny", "America/New_York"),
            ],
            health,
            ["gone", "wsp", "gone"].into_iter(),
        );
        let ids: Vec<&str> = list.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["wsp", "ny", "gone", "old"]);
        assert_eq!(list[0].name, "The wsp site");
        assert_eq!(list[0].kind.as_deref(), Some("event-booking"));
        assert!(!list[0].healthy());
        assert_eq!(list[0].health.consecutive_failures, 2);
        assert_eq!(list[1].timezone, chrono_tz::America::New_York);
        assert_eq!(list[1].health, SourceHealth::default(), "never crawled");
        assert_eq!(list[3].name, "OLD");
        assert_eq!(list[3].kind, None);
        assert!(!list[3].configured());
        assert_eq!(list[3].timezone, UNCONFIGURED_ZONE);
        assert!(list[3].healthy());
        assert_eq!(list[2].name, "GONE");
        assert_eq!(list[2].health, SourceHealth::default());

        let v = serde_json::to_value(&list).unwrap();
        assert_eq!(v[0]["kind"], "event-booking");
        assert_eq!(v[0]["healthy"], false);
        assert_eq!(v[0]["last_error"], "the listing answered 503");
        assert_eq!(v[1]["timezone"], "America/New_York");
        assert_eq!(v[3]["kind"], serde_json::Value::Null);
        assert_eq!(v[3]["timezone"], "Europe/London");
        assert_eq!(v[3]["last_success"], "2026-12-01T09:00:00Z");
        // The fields in the order written, whatever a JSON map would sort.
        let text = serde_json::to_string(&list[3]).unwrap();
        let mut at = 0;
        for key in [
            "id",
            "name",
            "kind",
            "timezone",
            "healthy",
            "last_attempt",
            "last_success",
            "last_error",
            "error_kind",
            "consecutive_failures",
            "sessions_found",
            "requests",
            "bytes",
            "not_modified",
        ] {
            let found = text[at..].find(&format!("\"{key}\":"));
            assert!(found.is_some(), "{key} after byte {at} of {text}");
            at += found.unwrap_or(0);
        }
        assert_eq!(v[3].as_object().map(|o| o.len()), Some(14));
    }
}
