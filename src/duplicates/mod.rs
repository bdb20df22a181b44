//! One session, one entry: which stored sessions are the same session listed
//! by several sources, and the one entry the merged calendar shows for each
//! such group.
//!
//! The rule. Two sessions of different sources are one session when they
//! start at the same instant and either link to the same booking page, or
//! end at the same instant and name the same course (see [`course_key`]).
//! Sessions of one source are never merged, nor different starts. A group
//! that would hold two sessions of one source (after setting aside ones
//! withdrawn from it) is ambiguous: it is joined by booking links alone, and
//! what still holds a source twice is not merged at all. A false merge
//! hides a real session, which is worse than showing a duplicate. A source
//! with `merge = false` takes no part.
//!
//! The entry. Its UID is the UID of the member seen first (its
//! representative). Its places and status are those of the member that
//! publishes places (a booking system, first seen first), else of the first
//! seen, leaving aside members withdrawn from their source (see
//! `compose`). Its description names every other listing.
//!
//! Owns grouping, composing and which member's changes the merged view
//! shows. Knows nothing of the store, the feed or HTML: it reads stored
//! sessions and gives entries; `views` decides where the merged view is
//! used (everywhere but a single source's view).

mod compose;
mod title;

pub use title::course_key;

use crate::changes::ChangeKind;
use crate::model::{Status, StoredSession, Uid};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What the merging needs to know of one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// The name people know it by, as the description names it.
    pub name: String,
    /// A booking system, which publishes the places it sells (event-booking,
    /// Eventbrite), as opposed to a website listing or a calendar feed.
    pub books: bool,
    /// Its sessions may be merged with other sources' (`merge = false`
    /// opts out).
    pub merge: bool,
}

/// Each source's [`Role`], by source id. A source no longer configured
/// (its sessions still stored) takes part under its id, as a listing.
#[derive(Debug, Clone, Default)]
pub struct Roles(HashMap<String, Role>);

impl Roles {
    /// The roles of the sources given.
    pub fn new(roles: impl IntoIterator<Item = (String, Role)>) -> Roles {
        Roles(roles.into_iter().collect())
    }

    /// Whether `source` takes part in merging (one not configured does).
    fn merges(&self, source: &str) -> bool {
        self.0.get(source).is_none_or(|r| r.merge)
    }

    /// Whether `source` is a booking system.
    fn books(&self, source: &str) -> bool {
        self.0.get(source).is_some_and(|r| r.books)
    }

    fn of(&self, source: &str) -> Role {
        self.0.get(source).cloned().unwrap_or_else(|| Role {
            name: source.to_string(),
            books: false,
            merge: true,
        })
    }
}

/// Why a group's members are one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reason {
    /// Every member links to the same booking page.
    #[serde(rename = "same booking link")]
    SameBookingLink,
    /// Every member ends at the same instant and names the same course.
    #[serde(rename = "same times and title")]
    SameTimesAndTitle,
    /// Each member shares the booking link or the times and title of another.
    #[serde(rename = "same booking link or same times and title")]
    LinkOrTitle,
}

impl Reason {
    /// The words `events duplicates` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SameBookingLink => "same booking link",
            Reason::SameTimesAndTitle => "same times and title",
            Reason::LinkOrTitle => "same booking link or same times and title",
        }
    }
}

/// One other listing of a merged session (`also_listed` in the JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    /// The listing's source id.
    pub source: String,
    /// The listing's own UID (the one its source's own feed uses).
    pub uid: String,
    /// Its page, empty when it has none that may be shown.
    pub url: String,
}

/// One session listed by several sources.
#[derive(Debug, Clone)]
pub struct Group {
    /// Why its members are one session.
    pub reason: Reason,
    /// The listings, the representative (seen first) first.
    pub members: Vec<StoredSession>,
    /// Which member's places and status the entry shows.
    pub authority: usize,
}

impl Group {
    /// The entry's UID: the representative's.
    pub fn uid(&self) -> &Uid {
        &self.members[0].uid
    }
}

/// The sessions as the merged calendar shows them.
#[derive(Debug, Default)]
pub struct Merged {
    /// One entry per session: each session listed once as it is, and one
    /// composed entry per group; in no particular order.
    pub entries: Vec<StoredSession>,
    /// The groups, by their entry's UID.
    pub groups: BTreeMap<Uid, Group>,
    /// Each grouped listing's UID → its group's entry UID.
    member_of: std::sync::OnceLock<HashMap<Uid, Uid>>,
}

impl Merged {
    /// The other listings of the entry `uid` (none for a session listed
    /// once), leaving out listings withdrawn from their source.
    pub fn also_listed(&self, uid: &Uid) -> Vec<Listing> {
        let Some(g) = self.groups.get(uid) else {
            return Vec::new();
        };
        g.members[1..]
            .iter()
            .filter(|m| m.session.status != Status::Withdrawn)
            .map(|m| Listing {
                source: m.session.source.clone(),
                uid: m.uid.to_string(),
                url: m.session.url.clone(),
            })
            .collect()
    }

    /// The listings of source `source` that the merged view folds into
    /// groups.
    pub fn members_of_source<'a>(
        &'a self,
        source: &'a str,
    ) -> impl Iterator<Item = &'a StoredSession> {
        self.groups
            .values()
            .flat_map(|g| &g.members)
            .filter(move |m| m.session.source == source)
    }

    /// Under which entry the merged view shows a change of `kind` to the
    /// listing `uid`, or `None` when it shows it under none: a group's
    /// times and title are its representative's, and its places and status
    /// its authority's, so only their changes are the entry's. A change to
    /// a listing in no group is its own entry's.
    pub fn change_shown_as(&self, uid: &Uid, kind: ChangeKind) -> Option<Uid> {
        // Built on the first question: the calendar itself never asks.
        let member_of = self.member_of.get_or_init(|| {
            let mut by_member = HashMap::new();
            for (entry, g) in &self.groups {
                for m in &g.members {
                    by_member.insert(m.uid.clone(), entry.clone());
                }
            }
            by_member
        });
        let Some(entry) = member_of.get(uid) else {
            return Some(uid.clone());
        };
        let g = &self.groups[entry];
        let whose = match kind {
            ChangeKind::New | ChangeKind::Moved => &g.members[0],
            _ => &g.members[g.authority],
        };
        (whose.uid == *uid).then(|| entry.clone())
    }
}

/// The merged view of `sessions`: the groups found among them, each
/// composed into one entry, and every other session as it is.
pub fn merge(sessions: Vec<StoredSession>, roles: &Roles) -> Merged {
    let found = find_groups(&sessions, roles);
    if found.is_empty() {
        return Merged {
            entries: sessions,
            ..Merged::default()
        };
    }
    // One pass hands each session to its group or to the entries as it is.
    let mut group_of: Vec<Option<usize>> = vec![None; sessions.len()];
    for (g, (indices, _)) in found.iter().enumerate() {
        for &i in indices {
            group_of[i] = Some(g);
        }
    }
    let mut members: Vec<Vec<StoredSession>> = found
        .iter()
        .map(|(i, _)| Vec::with_capacity(i.len()))
        .collect();
    let mut merged = Merged {
        entries: Vec::with_capacity(sessions.len()),
        ..Merged::default()
    };
    for (i, s) in sessions.into_iter().enumerate() {
        match group_of[i] {
            Some(g) => members[g].push(s),
            None => merged.entries.push(s),
        }
    }
    for (mut members, (_, reason)) in members.into_iter().zip(found) {
        members.sort_by(|a, b| (a.first_seen, &a.uid).cmp(&(b.first_seen, &b.uid)));
        let authority = compose::authority(&members, roles);
        merged
            .entries
            .push(compose::entry(&members, authority, roles));
        let group = Group {
            reason,
            members,
            authority,
        };
        merged.groups.insert(group.uid().clone(), group);
    }
    merged
}

/// The groups among `sessions`, as indices into it, with why.
fn find_groups(sessions: &[StoredSession], roles: &Roles) -> Vec<(Vec<usize>, Reason)> {
    // Sorted by start rather than hashed: one allocation, and the sessions
    // of one start come out side by side.
    let mut by_start: Vec<usize> = (0..sessions.len())
        .filter(|&i| roles.merges(&sessions[i].session.source))
        .collect();
    by_start.sort_unstable_by_key(|&i| sessions[i].session.start);
    let mut out = Vec::new();
    let mut courses = Courses::default();
    for at_start in
        by_start.chunk_by(|&a, &b| sessions[a].session.start == sessions[b].session.start)
    {
        let first = &sessions[at_start[0]].session.source;
        if at_start
            .iter()
            .all(|&i| sessions[i].session.source == *first)
        {
            continue;
        }
        out.extend(groups_at_one_start(sessions, at_start, &mut courses));
    }
    out
}

/// Each distinct title's course, as a number: a course runs on many dates,
/// so its title is read once, and keys compare as numbers.
#[derive(Default)]
struct Courses<'a> {
    by_title: HashMap<&'a str, Option<u32>>,
    keys: HashMap<String, u32>,
}

impl<'a> Courses<'a> {
    fn of(&mut self, title: &'a str) -> Option<u32> {
        if let Some(id) = self.by_title.get(title) {
            return *id;
        }
        let next = self.keys.len() as u32;
        let id = course_key(title).map(|k| *self.keys.entry(k).or_insert(next));
        self.by_title.insert(title, id);
        id
    }
}

/// The groups among sessions that start at one instant (`at_start`,
/// indices into `sessions`), ambiguous ones left out.
fn groups_at_one_start<'a>(
    sessions: &'a [StoredSession],
    at_start: &[usize],
    courses: &mut Courses<'a>,
) -> Vec<(Vec<usize>, Reason)> {
    let listings: Vec<Listed<'_>> = at_start
        .iter()
        .map(|&i| Listed::of(&sessions[i], courses))
        .collect();
    let mut allowed: Vec<bool> = vec![true; listings.len()];
    let mut found = components(&listings, &allowed, Keys::Both);
    // A source twice in a group: its withdrawn listings step aside, once.
    let mut again = false;
    for c in &found {
        let mut per_source: HashMap<&str, usize> = HashMap::new();
        for &j in c {
            *per_source.entry(listings[j].source).or_default() += 1;
        }
        for &j in c {
            if per_source[listings[j].source] > 1 && listings[j].withdrawn {
                allowed[j] = false;
                again = true;
            }
        }
    }
    if again {
        found = components(&listings, &allowed, Keys::Both);
    }
    // Still a source twice (two rooms at one time, a copy that could be
    // either): only booking links, which tell them apart, may join them.
    let mut groups = Vec::new();
    for c in found {
        if one_listing_per_source(&listings, &c) {
            groups.push(c);
            continue;
        }
        let mut within = vec![false; listings.len()];
        for &j in &c {
            within[j] = true;
        }
        let by_link = components(&listings, &within, Keys::LinkOnly);
        groups.extend(
            by_link
                .into_iter()
                .filter(|c| one_listing_per_source(&listings, c)),
        );
    }
    groups
        .into_iter()
        .map(|c| {
            let reason = reason_of(&c, &listings);
            (c.into_iter().map(|j| at_start[j]).collect(), reason)
        })
        .collect()
}

/// What a listing is matched on.
struct Listed<'a> {
    source: &'a str,
    withdrawn: bool,
    /// Its booking page, as [`link_key`] gives it.
    link: Option<String>,
    /// Its end and course (see [`course_key`], [`Courses`]).
    title: Option<(DateTime<Utc>, u32)>,
}

impl<'a> Listed<'a> {
    fn of(s: &'a StoredSession, courses: &mut Courses<'a>) -> Listed<'a> {
        Listed {
            source: &s.session.source,
            withdrawn: s.session.status == Status::Withdrawn,
            link: link_key(&s.session.url),
            title: courses.of(&s.session.title).map(|k| (s.session.end, k)),
        }
    }
}

/// The groups of two or more `allowed` listings joined by a shared link or
/// (with [`Keys::Both`]) shared times and title, across sources (positions
/// in `listings`).
/// Which keys may join listings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// A booking link, or times and title.
    Both,
    /// A booking link only.
    LinkOnly,
}

fn components(listings: &[Listed<'_>], allowed: &[bool], keys: Keys) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..listings.len()).collect();
    let mut order: Vec<usize> = (0..listings.len()).filter(|&j| allowed[j]).collect();
    // Listings sharing a key end up side by side once sorted by it.
    order.sort_unstable_by(|&a, &b| listings[a].link.cmp(&listings[b].link));
    for same in order.chunk_by(|&a, &b| listings[a].link == listings[b].link) {
        if listings[same[0]].link.is_some() && identifies(same, listings) {
            join_across_sources(&mut parent, same, listings);
        }
    }
    order.sort_unstable_by(|&a, &b| listings[a].title.cmp(&listings[b].title));
    for same in order.chunk_by(|&a, &b| listings[a].title == listings[b].title) {
        if keys == Keys::Both && listings[same[0]].title.is_some() {
            join_across_sources(&mut parent, same, listings);
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for j in (0..listings.len()).filter(|&j| allowed[j]) {
        let root = find(&mut parent, j);
        groups.entry(root).or_default().push(j);
    }
    groups.into_values().filter(|g| g.len() > 1).collect()
}

/// Joins listings that share a key, when more than one source shares it:
/// two of one source alone are two sessions.
fn join_across_sources(parent: &mut [usize], same: &[usize], listings: &[Listed<'_>]) {
    if same
        .iter()
        .any(|&j| listings[j].source != listings[same[0]].source)
    {
        for w in same.windows(2) {
            union(parent, w[0], w[1]);
        }
    }
}

/// A booking link shared at one start identifies a session only when no
/// source gives it to two of its sessions there (a listing page every
/// session links to is no booking page).
fn identifies(same: &[usize], listings: &[Listed<'_>]) -> bool {
    one_listing_per_source(listings, same)
}

fn find(parent: &mut [usize], j: usize) -> usize {
    let mut root = j;
    while parent[root] != root {
        root = parent[root];
    }
    parent[j] = root;
    root
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    parent[ra.max(rb)] = ra.min(rb);
}

/// No source twice among `c`: linear, as a source may put thousands of
/// sessions at one instant.
fn one_listing_per_source(listings: &[Listed<'_>], c: &[usize]) -> bool {
    let mut seen = std::collections::HashSet::with_capacity(c.len());
    c.iter().all(|&j| seen.insert(listings[j].source))
}

fn reason_of(c: &[usize], listings: &[Listed<'_>]) -> Reason {
    let first = &listings[c[0]];
    let all_link = first.link.is_some() && c.iter().all(|&j| listings[j].link == first.link);
    let all_title = first.title.is_some() && c.iter().all(|&j| listings[j].title == first.title);
    match (all_link, all_title) {
        (true, _) => Reason::SameBookingLink,
        (false, true) => Reason::SameTimesAndTitle,
        (false, false) => Reason::LinkOrTitle,
    }
}

/// A booking page as two listings of it would both write it: host
/// lower-cased and without `www.`, path without a trailing slash, the
/// query's parameters sorted and tracking ones (`utm_*`, `aff`, `ref`) left
/// out; scheme, port and fragment ignored. `None` for no `http(s)` link, or
/// a site's home page, which books nothing. Read by hand rather than by a
/// URL parser: it runs for every listing of a shared start, and the links
/// were checked as web addresses when they were read (`links`).
pub fn link_key(url: &str) -> Option<String> {
    let starts = |p: &str| {
        url.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    };
    let rest = if starts("https://") {
        &url[8..]
    } else if starts("http://") {
        &url[7..]
    } else {
        return None;
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = before_query
        .find('/')
        .map_or((before_query, ""), |i| before_query.split_at(i));
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let path = path.trim_end_matches('/');
    if host.is_empty() || path.is_empty() {
        return None;
    }
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| {
            let name = p.split('=').next().unwrap_or_default();
            !(name.starts_with("utm_") || name == "aff" || name == "ref")
        })
        .collect();
    params.sort_unstable();
    Some(format!("{host}{path}?{}", params.join("&")))
}

#[cfg(test)]
mod tests;
