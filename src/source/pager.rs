//! The paging every kind's walk shares: the one [`Pager`] over a paged
//! listing (`limits.max_pages`, loops), the budget of event pages
//! ([`EventPages`], `limits.max_event_pages`), one page of a listing as a
//! reader gives it ([`ListingPage`]), and what the store already knows of the
//! source's events ([`Known`]), kept when an event's page cannot be read.
//!
//! Owns the counting and the stopping; a kind's walk says what a page is,
//! how to read it and where the listing goes on.

use crate::model::{Session, Status};
use crate::source::walker::{LimitHit, Walker};
use crate::store::StoreError;
use std::collections::HashMap;

/// One page of a paged listing as a reader gives it: its entries in page
/// order, and where the listing goes on (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingPage<T, Next = url::Url> {
    /// The page's entries, in the page's order.
    pub entries: Vec<T>,
    /// The next page (an address, or an API's cursor); `None` on the last.
    pub next: Option<Next>,
}

/// The one pager of every kind's paged listing: hands out the listing's
/// pages in turn, counts them against `limits.max_pages`, and stops at a
/// page already read, so a listing whose "next" leads back round is read
/// once. A walk asks for each page, reads it, and says where the listing goes
/// on; the pager owns when it ends.
///
/// ```ignore
/// let mut pages = w.pages(first);
/// while let Some(url) = pages.next_page() {
///     let page = w.get(&url).await?;
///     // … read the page's entries …
///     pages.go_on(next);
/// }
/// limit = pages.limit_hit(w, |url| format!("listing pages of {}", url.path()));
/// ```
#[derive(Debug)]
pub struct Pager {
    next: Option<url::Url>,
    visited: std::collections::HashSet<url::Url>,
    read: usize,
    max: usize,
    /// The page the limit stopped the listing before.
    stopped_before: Option<url::Url>,
}

impl Pager {
    /// A listing starting at `first`, at most `max` pages.
    pub fn new(first: url::Url, max: usize) -> Pager {
        Pager {
            next: Some(first),
            visited: std::collections::HashSet::new(),
            read: 0,
            max,
            stopped_before: None,
        }
    }

    /// The next page to read; `None` when the listing has ended (no next
    /// page, or one already read) or the limit is reached.
    pub fn next_page(&mut self) -> Option<url::Url> {
        let url = self.next.take()?;
        if self.visited.contains(&url) {
            return None;
        }
        if self.read == self.max {
            self.stopped_before = Some(url);
            return None;
        }
        self.read += 1;
        self.visited.insert(url.clone());
        Some(url)
    }

    /// Where the page just read says the listing goes on (`None`: it ends).
    pub fn go_on(&mut self, next: Option<url::Url>) {
        self.next = next;
    }

    /// Pages handed out so far.
    pub fn pages_read(&self) -> usize {
        self.read
    }

    /// The `max_pages` limit, when it ended the listing, reported as `what`
    /// of the page it stopped before.
    pub fn limit_hit(
        &self,
        w: &Walker<'_>,
        what: impl Fn(&url::Url) -> String,
    ) -> Option<LimitHit> {
        let url = self.stopped_before.as_ref()?;
        Some(w.limit_hit("max_pages", self.max, what(url)))
    }
}

/// A walk's budget of event (detail) pages, `limits.max_event_pages`: each
/// page read takes one, and once it is spent the walk keeps what the store
/// knows of the remaining events and reports the limit.
#[derive(Debug)]
pub struct EventPages {
    read: usize,
    max: usize,
    what: &'static str,
    refused: bool,
}

impl EventPages {
    /// A budget of `max` pages of `what` (e.g. "detail pages").
    pub fn new(max: usize, what: &'static str) -> EventPages {
        EventPages {
            read: 0,
            max,
            what,
            refused: false,
        }
    }

    /// Takes one page; `false` when the budget is spent.
    pub fn take(&mut self) -> bool {
        if self.read == self.max {
            self.refused = true;
            return false;
        }
        self.read += 1;
        true
    }

    /// The `max_event_pages` limit, once a page was refused.
    pub fn limit_hit(&self, w: &Walker<'_>) -> Option<LimitHit> {
        self.refused
            .then(|| w.limit_hit("max_event_pages", self.max, self.what))
    }
}

/// What the store holds of a source's events that are not withdrawn, by a
/// key (an event id, a page address): the fallback for an event whose page
/// cannot be read this crawl, so a failed request never empties an event.
#[derive(Debug, Default)]
pub struct Known {
    by_key: HashMap<String, Vec<Session>>,
}

impl Known {
    /// The stored sessions under `key`, none when the store knows nothing.
    pub fn of(&self, key: &str) -> &[Session] {
        self.by_key.get(key).map_or(&[], Vec::as_slice)
    }
}

impl Walker<'_> {
    /// A [`Pager`] over the listing starting at `first`, held to this
    /// source's `limits.max_pages`.
    pub fn pages(&self, first: url::Url) -> Pager {
        Pager::new(first, self.source.limits.max_pages)
    }

    /// The budget of event pages of this crawl, `limits.max_event_pages`,
    /// reported as `what` when spent.
    pub fn event_pages(&self, what: &'static str) -> EventPages {
        EventPages::new(self.source.limits.max_event_pages, what)
    }

    /// What the store knows of this source's events, not withdrawn, by `key`.
    pub fn known_by(&self, key: impl Fn(&Session) -> &str) -> Result<Known, StoreError> {
        let mut known = Known::default();
        for s in self.stored_sessions()? {
            if s.status != Status::Withdrawn {
                known.by_key.entry(key(&s).to_string()).or_default().push(s);
            }
        }
        Ok(known)
    }
}

#[cfg(test)]
mod tests {
    use super::{EventPages, Pager};
    use url::Url;

    fn u(path: &str) -> Url {
        Url::parse("https://wsp.example/")
            .unwrap()
            .join(path)
            .unwrap()
    }

    /// Reads a listing whose page `p` links to `links(p)`, as a walk does.
    fn walk(mut pager: Pager, links: impl Fn(&str) -> Option<&'static str>) -> Vec<String> {
        let mut read = Vec::new();
        while let Some(url) = pager.next_page() {
            read.push(url.path().to_string());
            pager.go_on(links(url.path()).map(u));
        }
        read
    }

    #[test]
    fn a_listing_is_read_to_its_end() {
        let read = walk(Pager::new(u("/p1"), 10), |p| match p {
            "/p1" => Some("/p2"),
            "/p2" => Some("/p3"),
            _ => None,
        });
        assert_eq!(read, ["/p1", "/p2", "/p3"]);
    }

    #[test]
    fn one_empty_page_is_the_whole_listing() {
        let mut pager = Pager::new(u("/events"), 10);
        assert_eq!(pager.next_page(), Some(u("/events")));
        pager.go_on(None);
        assert_eq!(pager.next_page(), None);
        assert_eq!(pager.pages_read(), 1);
        assert!(pager.stopped_before.is_none(), "no limit was reached");
    }

    #[test]
    fn a_next_link_leading_back_is_read_once() {
        let read = walk(Pager::new(u("/p1"), 10), |p| match p {
            "/p1" => Some("/p2"),
            _ => Some("/p1"),
        });
        assert_eq!(read, ["/p1", "/p2"]);
    }

    #[test]
    fn the_limit_stops_before_the_page_past_it() {
        let mut pager = Pager::new(u("/p1"), 2);
        let mut read = Vec::new();
        while let Some(url) = pager.next_page() {
            let n: usize = url.path()[2..].parse().unwrap();
            read.push(n);
            pager.go_on(Some(u(&format!("/p{}", n + 1))));
        }
        assert_eq!(read, [1, 2]);
        assert_eq!(pager.stopped_before, Some(u("/p3")));
        // A listing that ends exactly at the limit reached no limit.
        let mut exact = Pager::new(u("/p1"), 1);
        assert!(exact.next_page().is_some());
        exact.go_on(None);
        assert_eq!(exact.next_page(), None);
        assert!(exact.stopped_before.is_none());
    }

    #[test]
    fn the_event_page_budget_refuses_past_its_limit() {
        let mut budget = EventPages::new(2, "event pages");
        assert!(budget.take() && budget.take());
        assert!(!budget.refused, "a budget spent exactly reached no limit");
        assert!(!budget.take());
        assert!(budget.refused);
        let mut none = EventPages::new(0, "event pages");
        assert!(!none.take(), "a zero budget reads no page");
    }
}
