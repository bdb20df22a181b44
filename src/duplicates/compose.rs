//! The one entry a group of listings shows, and whose word on places and
//! status it takes.
//!
//! When members disagree (one lists the session as cancelled, another as
//! running), the authority's word stands: a booking system sells the places
//! and is the one to know, and a website copy is more often stale than
//! ahead. The disagreement is not hidden: the description says which
//! listing says otherwise. Owns composing; grouping is `super`'s.

use super::{Role, Roles};
use crate::model::{Session, Status, StoredSession};
use chrono::{DateTime, Utc};

/// Which member's places and status the entry shows: the first seen that
/// is a booking system, else the first seen; members withdrawn from their
/// source count only when all are. `members` are in first-seen order.
pub(super) fn authority(members: &[StoredSession], roles: &Roles) -> usize {
    let live = |m: &&StoredSession| m.session.status != Status::Withdrawn;
    let position = |p: &dyn Fn(&StoredSession) -> bool| {
        members
            .iter()
            .enumerate()
            .find(|(_, m)| live(m) && p(m))
            .map(|(i, _)| i)
    };
    position(&|m| roles.books(&m.session.source))
        .or_else(|| position(&|_| true))
        .unwrap_or(0)
}

/// The entry of a group: the representative's identity, title and times;
/// the authority's places, status and booking link; what the
/// representative lacks from the others; a description that names every
/// other listing; and a sequence that goes up whenever a member's does or
/// a member joins.
pub(super) fn entry(members: &[StoredSession], authority: usize, roles: &Roles) -> StoredSession {
    let rep = &members[0];
    let auth = &members[authority].session;
    let mut s = rep.session.clone();
    s.status = auth.status;
    s.availability = auth.availability;
    if !auth.url.is_empty() {
        s.url.clone_from(&auth.url);
    }
    fill_gaps(&mut s, members);
    s.description = Some(description(&s, members, authority, roles)).filter(|d| !d.is_empty());
    let times = |f: fn(&StoredSession) -> DateTime<Utc>| members.iter().map(f);
    StoredSession {
        uid: rep.uid.clone(),
        session: s,
        first_seen: times(|m| m.first_seen).min().unwrap_or(rep.first_seen),
        last_seen: times(|m| m.last_seen).max().unwrap_or(rep.last_seen),
        last_changed: times(|m| m.last_changed).max().unwrap_or(rep.last_changed),
        sequence: members
            .iter()
            .map(|m| m.sequence)
            .fold(0u32, u32::saturating_add)
            .saturating_add(members.len() as u32 - 1),
    }
}

/// What the representative does not say, from the first member that does.
fn fill_gaps(s: &mut Session, members: &[StoredSession]) {
    let first = |f: &dyn Fn(&Session) -> Option<String>| members.iter().find_map(|m| f(&m.session));
    if s.category.is_none() {
        s.category = first(&|m| m.category.clone());
    }
    if s.level.is_none() {
        s.level = first(&|m| m.level.clone());
    }
    if s.venue.is_none() {
        s.venue = first(&|m| m.venue.clone());
    }
    if s.prerequisites.is_none() {
        s.prerequisites = first(&|m| m.prerequisites.clone());
    }
    if s.description.is_none() {
        s.description = first(&|m| m.description.clone());
    }
    if s.url.is_empty() {
        s.url = first(&|m| Some(m.url.clone()).filter(|u| !u.is_empty())).unwrap_or_default();
    }
}

/// The representative's description (or the first a member gives), then a
/// line for each member that disagrees on whether it runs, then "Also
/// listed by …" for each other listing not withdrawn from its source.
fn description(s: &Session, members: &[StoredSession], authority: usize, roles: &Roles) -> String {
    let live = || {
        members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.session.status != Status::Withdrawn)
    };
    let cancelled = s.status == Status::Cancelled;
    let disagree: Vec<String> = live()
        .filter(|(_, m)| (m.session.status == Status::Cancelled) != cancelled)
        .map(|(_, m)| {
            let name = roles.of(&m.session.source).name;
            if cancelled {
                format!("{name} still lists this session.")
            } else {
                format!("{name} lists this session as cancelled.")
            }
        })
        .collect();
    let also: Vec<String> = live()
        .filter(|(i, _)| *i != authority)
        .map(|(_, m)| also_listed(&roles.of(&m.session.source), &m.session.url))
        .collect();
    let parts = [
        s.description.clone().unwrap_or_default(),
        disagree.join("\n"),
        also.join("\n"),
    ];
    parts
        .iter()
        .map(|p| p.trim_end())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n")
}

fn also_listed(role: &Role, url: &str) -> String {
    if url.is_empty() {
        format!("Also listed by {}.", role.name)
    } else {
        format!("Also listed by {}: {url}", role.name)
    }
}
