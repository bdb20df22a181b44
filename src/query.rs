//! Which sessions a view shows: the filters shared by `upcoming`, `ics`, the page
//! and the JSON API, and the one function that applies them.
//!
//! Knows the model only; not where sessions come from or how they are shown.

use crate::model::{Session, StoredSession};
use chrono::{DateTime, Duration, Utc};

/// A view's filters. The default shows everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Filter {
    /// Only this source id.
    pub source: Option<String>,
    /// Only sessions whose category contains one of these (case-insensitive); empty = all.
    pub categories: Vec<String>,
    /// Words that must all appear in title, category, description, venue or prerequisites.
    pub search: Option<String>,
    /// Only sessions with places that can be booked.
    pub available: bool,
    /// Only online (`Some(true)`) or in-person (`Some(false)`) sessions.
    pub online: Option<bool>,
    /// Only sessions starting within this many days from now.
    pub days: Option<u32>,
}

impl Filter {
    /// True when the stored session belongs to the view.
    pub fn matches(&self, s: &StoredSession, now: DateTime<Utc>) -> bool {
        self.matches_session(&s.session, now)
    }

    /// True when the session belongs to the view (also used for a change's
    /// snapshot of its session).
    pub fn matches_session(&self, x: &Session, now: DateTime<Utc>) -> bool {
        if let Some(src) = &self.source {
            if &x.source != src {
                return false;
            }
        }
        if !self.categories.is_empty() {
            let cat = x.category.as_deref().unwrap_or("").to_lowercase();
            let cat_slug = slug(&cat);
            if !self.categories.iter().any(|c| {
                let c = c.trim().to_lowercase();
                !c.is_empty() && (cat.contains(&c) || cat_slug == slug(&c))
            }) {
                return false;
            }
        }
        if let Some(q) = &self.search {
            let hay = [
                Some(x.title.as_str()),
                x.category.as_deref(),
                x.description.as_deref(),
                x.venue.as_deref(),
                x.prerequisites.as_deref(),
                x.level.as_deref(),
            ]
            .iter()
            .flatten()
            .map(|s| s.to_lowercase())
            .collect::<Vec<_>>()
            .join("\n");
            if !q
                .split_whitespace()
                .all(|w| hay.contains(&w.to_lowercase()))
            {
                return false;
            }
        }
        if self.available && !x.has_places() {
            return false;
        }
        if let Some(online) = self.online {
            if x.online != online {
                return false;
            }
        }
        if let Some(days) = self.days {
            if x.start > now + Duration::days(i64::from(days)) {
                return false;
            }
        }
        true
    }

    /// Words describing the filter for a calendar's name, e.g. "Child Neglect, with places".
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(s) = &self.source {
            parts.push(s.to_uppercase());
        }
        if !self.categories.is_empty() {
            parts.push(self.categories.join(", "));
        }
        if let Some(q) = &self.search {
            parts.push(format!("“{q}”"));
        }
        match self.online {
            Some(true) => parts.push("online".into()),
            Some(false) => parts.push("in person".into()),
            None => {}
        }
        if self.available {
            parts.push("with places".into());
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

/// `Child Neglect` → `child-neglect`: the form used in pretty URLs.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Child Neglect"), "child-neglect");
        assert_eq!(slug("Self-Neglect & Hoarding"), "self-neglect-hoarding");
        assert_eq!(slug("  All-Age Exploitation "), "all-age-exploitation");
    }
}
