//! How the merged groups read (`events duplicates`, `/api/duplicates`):
//! each group with its members and why they matched, as JSON and as a
//! terminal listing, so an operator can audit the merging.
//!
//! Does not own which sessions are grouped (`duplicates`).

use crate::duplicates::{Group, Reason};
use crate::links::LinkPolicy;
use crate::present;
use chrono::SecondsFormat;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The JSON shape of one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupJson {
    /// The merged entry's UID: its first-seen member's.
    pub uid: String,
    /// Why the members are one session.
    pub reason: Reason,
    /// Every listing, the first seen first.
    pub members: Vec<MemberJson>,
}

/// The JSON shape of one listing in a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberJson {
    /// Its source id.
    pub source: String,
    /// Its own UID.
    pub uid: String,
    /// Its title as its source words it.
    pub title: String,
    /// When it starts: RFC 3339 in UTC.
    pub start: String,
    /// Its page, empty when it has none that may be shown.
    pub url: String,
}

impl GroupJson {
    /// The JSON of `g`, with only the links that may be shown.
    pub fn of(g: &Group, links: &LinkPolicy) -> GroupJson {
        let members = g
            .members
            .iter()
            .map(|m| MemberJson {
                source: m.session.source.clone(),
                uid: m.uid.to_string(),
                title: m.session.title.clone(),
                start: m.session.start.to_rfc3339_opts(SecondsFormat::Secs, true),
                url: links
                    .link(&m.session.source, &m.session.url)
                    .map(String::from)
                    .unwrap_or_default(),
            })
            .collect();
        GroupJson {
            uid: g.uid().to_string(),
            reason: g.reason,
            members,
        }
    }
}

/// The groups as `events duplicates` prints them: a heading per group (its
/// UID and why), then a row per member.
pub fn table(groups: &[GroupJson], zone: Tz) -> String {
    let mut out = String::new();
    for g in groups {
        out.push_str(&format!(
            "{} ({})\n",
            present::terminal_safe(&g.uid),
            g.reason.as_str()
        ));
        let mut rows: Vec<[String; 4]> = Vec::new();
        for m in &g.members {
            let start = match present::utc(&m.start) {
                Some(t) => t
                    .with_timezone(&zone)
                    .format("%a %d %b %Y %H:%M")
                    .to_string(),
                None => m.start.clone(),
            };
            rows.push([
                format!("  {}", m.source),
                start,
                present::clip(&m.title, 48),
                m.url.clone(),
            ]);
        }
        out.push_str(&present::columns(&rows));
        out.push('\n');
    }
    out
}
