//! The answers to the read questions (which sessions, which changes, which
//! courses), as the JSON shapes the API serves and the CLI prints.
//!
//! The server's `/api/*` routes and the CLI reading a free store call these
//! same functions, and the CLI asking a server reads the same shapes back,
//! so `events upcoming` prints the same bytes whichever way it got them.
//! Owns the questions' query strings (`to_query` / `from_query`) too. Knows
//! the store, the filter and the links rule; not HTTP, not the terminal.

use crate::changes::{self, ChangeKind};
use crate::links::LinkPolicy;
use crate::model::{Course, StoredSession};
use crate::present::change::ChangeJson;
use crate::present::{self, SessionJson};
use crate::query::{query_pairs, Filter, FilterError};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// The longest `kind` value read, in characters (the longest kind is 12).
pub const MAX_KIND_CHARS: usize = 32;

/// The longest `since` value read, in characters.
const MAX_SINCE_CHARS: usize = 40;

/// A question of the read API that cannot be answered as asked, in one
/// sentence for the person who asked it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The view's filters are malformed.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// A `kind`, `since` or `withdrawn` value is malformed.
    #[error("{0}")]
    Bad(String),
}

/// Which sessions: a view's filter, and whether withdrawn ones are listed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionsQuery {
    /// The view's filters.
    pub filter: Filter,
    /// List sessions withdrawn from their source too (`events upcoming`
    /// does, so an operator sees what vanished); the page and the API's
    /// default leave them out.
    pub withdrawn: bool,
}

impl SessionsQuery {
    /// Reads `/api/sessions`'s query string: the filter's parameters and
    /// `withdrawn=1|0`.
    pub fn from_query(raw: &str) -> Result<Self, QueryError> {
        let filter = Filter::from_query(raw)?;
        let mut withdrawn = false;
        for (k, v) in query_pairs(raw)? {
            if k == "withdrawn" {
                withdrawn = match v.trim() {
                    "1" | "true" | "yes" => true,
                    "" | "0" | "false" | "no" => false,
                    _ => return Err(QueryError::Bad("`withdrawn` must be 1 or 0.".into())),
                };
            }
        }
        Ok(SessionsQuery { filter, withdrawn })
    }

    /// The query string `from_query` reads back as this question.
    pub fn to_query(&self) -> String {
        join(
            self.filter.to_query(),
            self.withdrawn.then_some("withdrawn=1"),
        )
    }
}

/// Which changes: a view's filter, the kinds (all when empty), and how far back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesQuery {
    /// The view's filters, applied to each changed session.
    pub filter: Filter,
    /// Only these kinds; every kind when empty.
    pub kinds: Vec<ChangeKind>,
    /// How far back (at most `changes::KEEP_CHANGES`).
    pub since: Duration,
}

impl Default for ChangesQuery {
    fn default() -> Self {
        ChangesQuery {
            filter: Filter::default(),
            kinds: Vec::new(),
            since: Duration::from_secs(7 * 86_400),
        }
    }
}

impl ChangesQuery {
    /// Reads `/api/changes`'s query string: the filter's parameters, `kind`
    /// (repeatable or comma-separated) and `since` (e.g. `7d`, `36h`;
    /// default 7 days).
    pub fn from_query(raw: &str) -> Result<Self, QueryError> {
        let filter = Filter::from_query(raw)?;
        let kinds = parse_kinds(raw)?;
        let mut q = ChangesQuery {
            filter,
            kinds,
            ..ChangesQuery::default()
        };
        for (k, v) in query_pairs(raw)? {
            if k == "since" && !v.trim().is_empty() {
                q.since = parse_since(v.trim())?;
            }
        }
        Ok(q)
    }

    /// The query string `from_query` reads back as this question.
    pub fn to_query(&self) -> String {
        let since = format!("since={}s", self.since.as_secs());
        join(changes_query(&self.filter, &self.kinds), Some(&since))
    }
}

fn parse_since(v: &str) -> Result<Duration, QueryError> {
    let bad = || {
        QueryError::Bad(format!(
            "`since` must be a duration such as 7d or 36h, at most {} days.",
            changes::KEEP_CHANGES.num_days()
        ))
    };
    if v.chars().count() > MAX_SINCE_CHARS {
        return Err(bad());
    }
    humantime::parse_duration(v).map_err(|_| bad())
}

fn join(a: String, b: Option<&str>) -> String {
    match (a.is_empty(), b) {
        (_, None) => a,
        (true, Some(b)) => b.to_string(),
        (false, Some(b)) => format!("{a}&{b}"),
    }
}

/// The `kind` parameters of a query string: each a change kind or a
/// comma-separated list of them, sorted, each once.
pub fn parse_kinds(raw: &str) -> Result<Vec<ChangeKind>, QueryError> {
    let mut kinds = Vec::new();
    for (k, v) in query_pairs(raw)? {
        if k != "kind" {
            continue;
        }
        for part in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part.chars().count() > MAX_KIND_CHARS {
                return Err(QueryError::Bad(format!(
                    "A `kind` is longer than {MAX_KIND_CHARS} characters; use one of {}.",
                    ChangeKind::names()
                )));
            }
            let kind: ChangeKind = part.parse().map_err(|e| QueryError::Bad(format!("{e}.")))?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }
    kinds.sort();
    Ok(kinds)
}

/// The query string of a changes view: the filter's, then its kinds.
pub fn changes_query(filter: &Filter, kinds: &[ChangeKind]) -> String {
    let k: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    let kinds = (!k.is_empty()).then(|| format!("kind={}", k.join(",")));
    join(filter.to_query(), kinds.as_deref())
}

/// The sessions a question selects from `listing` (the view's sessions,
/// sorted), soonest first, each in its JSON shape as `json` writes it. The
/// filter's categories are as the store spells them.
pub fn sessions(
    listing: &[StoredSession],
    q: &SessionsQuery,
    now: DateTime<Utc>,
    json: impl Fn(&StoredSession) -> SessionJson,
) -> Vec<SessionJson> {
    let list = if q.withdrawn {
        present::upcoming_with_withdrawn(listing, &q.filter, now)
    } else {
        present::upcoming(listing, &q.filter, now)
    };
    list.iter().map(json).collect()
}

/// The changes a question selects, newest first, in their JSON shape:
/// those the view shows (`shown`, which may also say under which UID), with
/// only the links that may be shown. The filter's categories are as the
/// store spells them.
pub fn changes(
    store: &Store,
    links: &LinkPolicy,
    q: &ChangesQuery,
    now: DateTime<Utc>,
    shown: impl Fn(changes::Change) -> Option<changes::Change>,
) -> Result<Vec<ChangeJson>, StoreError> {
    let back = chrono::TimeDelta::from_std(q.since)
        .unwrap_or(changes::KEEP_CHANGES)
        .min(changes::KEEP_CHANGES);
    let mut kept: Vec<changes::Change> = Vec::new();
    for c in store.changes_since(now - back) {
        kept.extend(shown(c?));
    }
    Ok(changes::select(kept, &q.filter, &q.kinds, now)
        .map(|c| (&links.scrub_change(c)).into())
        .collect())
}

/// The undated eLearning courses, by title, with only the links that may be
/// shown.
pub fn courses(store: &Store, links: &LinkPolicy) -> Result<Vec<Course>, StoreError> {
    let mut courses = store.courses()?;
    courses.sort_by_key(|c| c.title.to_lowercase());
    for c in &mut courses {
        c.url = links
            .link(&c.source, &c.url)
            .map(String::from)
            .unwrap_or_default();
    }
    Ok(courses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_read_back_as_asked() {
        let s = SessionsQuery {
            filter: Filter {
                source: Some("wsp".into()),
                categories: vec!["Child Neglect".into()],
                available: true,
                ..Filter::default()
            },
            withdrawn: true,
        };
        assert_eq!(SessionsQuery::from_query(&s.to_query()).unwrap(), s);
        let c = ChangesQuery {
            filter: Filter {
                search: Some("neglect level".into()),
                ..Filter::default()
            },
            kinds: vec![ChangeKind::New, ChangeKind::Full],
            since: Duration::from_secs(36 * 3600),
        };
        assert_eq!(ChangesQuery::from_query(&c.to_query()).unwrap(), c);
        assert_eq!(
            ChangesQuery::from_query("since=forever")
                .unwrap_err()
                .to_string(),
            "`since` must be a duration such as 7d or 36h, at most 90 days."
        );
    }
}
