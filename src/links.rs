//! Which of a session's links may leave the program: the one rule every
//! writer (the feed's `URL` and "Book:" line, the page, the Atom feed, the
//! JSON) and the crawl apply before a scraped address is stored or shown.
//!
//! A link may be emitted only when it is
//! - an absolute `http` or `https` address with a host and no user name or
//!   password in it (so never `javascript:`, `data:`, a relative or
//!   protocol-relative `//host/x` reference, nor `https://good@evil/`); and
//! - on its source's site: its host is the host of the source's `base_url`,
//!   or a subdomain of it, or, when that host starts with `www.`, the domain
//!   without `www.` or a subdomain of that (`www.x.org` → `x.org`,
//!   `events.x.org`). The port does not matter. Sibling hosts
//!   (`other.event-booking.org.uk` for `walsall.event-booking.org.uk`) are
//!   other sites.
//!
//! A link that is the source's own feed (an `ical` source's `base_url`, which
//! its reader gives a session that names no page of its own) is no page to
//! book on: it is dropped too, without a warning, as it says nothing wrong.
//!
//! The one exception, an off-site link from a field that names a booking
//! page: an `eventbrite` source's sessions link to their ticket page on one
//! of Eventbrite's own domains ([`EVENTBRITE_DOMAINS`]), whatever its
//! `base_url`. No other kind reads a ticket link that is allowed to leave
//! its site.
//!
//! Where a session's source has no source file (the store still holds it but
//! the source was removed), its site is unknown: only the first rule applies.
//! The crawl has applied both to everything stored since this rule exists
//! ([`admit`]), so that gap only concerns records stored before it.
//!
//! Owns the rule and its wording; not where links come from (the platforms'
//! readers) nor how each writer escapes what it writes.

use crate::changes::Change;
use crate::model::{Session, StoredSession};
use crate::source::SourceConfig;
use std::collections::HashMap;
use url::{Host, Url};

/// Eventbrite's public domains: an `eventbrite` source's ticket links may be
/// on any of them or their subdomains (`www.eventbrite.co.uk`).
pub const EVENTBRITE_DOMAINS: &[&str] = &[
    "eventbrite.com",
    "eventbrite.co.uk",
    "eventbrite.ie",
    "eventbrite.ca",
    "eventbrite.com.au",
    "eventbrite.co.nz",
    "eventbrite.de",
    "eventbrite.fr",
    "eventbrite.es",
    "eventbrite.it",
    "eventbrite.nl",
    "eventbrite.be",
    "eventbrite.ch",
    "eventbrite.at",
    "eventbrite.se",
    "eventbrite.dk",
    "eventbrite.fi",
    "eventbrite.pt",
    "eventbrite.com.br",
    "eventbrite.com.mx",
    "eventbrite.com.ar",
    "eventbrite.sg",
    "eventbrite.hk",
];

/// Most refused links one crawl names in the log; the rest are counted in
/// one further warning, so a site of 10,000 bad links logs a few lines.
pub const MAX_LINK_WARNINGS: usize = 5;

/// `raw` as an address that may be written anywhere, if it is one: absolute
/// `http(s)` with a host and no credentials. Knows nothing of sites (see
/// [`LinkPolicy::link`]); the writers apply it last, whatever the store holds.
#[must_use]
pub fn web_link(raw: &str) -> Option<Url> {
    let u = Url::parse(raw.trim()).ok()?;
    let ok = matches!(u.scheme(), "http" | "https")
        && u.host_str().is_some_and(|h| !h.is_empty())
        && u.username().is_empty()
        && u.password().is_none();
    ok.then_some(u)
}

/// One source's site, as the rule reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Site {
    /// The host links must be on (or under), `www.` dropped.
    host: Host<String>,
    /// Further domains its links may be on (the kind's booking platform).
    booking_domains: &'static [&'static str],
    /// The source's own feed, when `base_url` is one: never a link.
    feed: Option<Url>,
}

impl Site {
    fn of(cfg: &SourceConfig) -> Option<Site> {
        let host = match cfg.base_url.host()?.to_owned() {
            Host::Domain(d) => {
                let d = d.to_ascii_lowercase();
                Host::Domain(d.strip_prefix("www.").map(str::to_string).unwrap_or(d))
            }
            ip => ip,
        };
        Some(Site {
            host,
            booking_domains: booking_domains(cfg.kind_name),
            feed: (cfg.kind_name == "ical").then(|| cfg.base_url.clone()),
        })
    }

    fn holds(&self, u: &Url) -> bool {
        let Some(h) = u.host() else { return false };
        match (&self.host, h) {
            (Host::Domain(site), Host::Domain(d)) => {
                let d = d.to_ascii_lowercase();
                under(&d, site) || self.booking_domains.iter().any(|b| under(&d, b))
            }
            (Host::Ipv4(a), Host::Ipv4(b)) => *a == b,
            (Host::Ipv6(a), Host::Ipv6(b)) => *a == b,
            (_, Host::Domain(d)) => {
                let d = d.to_ascii_lowercase();
                self.booking_domains.iter().any(|b| under(&d, b))
            }
            _ => false,
        }
    }
}

/// `host` is `domain` or a subdomain of it.
fn under(host: &str, domain: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// The booking platform a kind's sessions link to off their site.
fn booking_domains(kind: &str) -> &'static [&'static str] {
    match kind {
        "eventbrite" => EVENTBRITE_DOMAINS,
        _ => &[],
    }
}

/// Why a link may not be emitted, in words for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not an absolute http(s) address with a host and no credentials.
    #[error("not an http(s) address")]
    NotWeb,
    /// On another site than its source's.
    #[error("not on the source's site")]
    OffSite,
    /// The source's own feed, not a page about the session.
    #[error("the source's own feed")]
    Feed,
}

/// Every configured source's site: the rule for their sessions' links.
#[derive(Debug, Clone, Default)]
pub struct LinkPolicy {
    sites: HashMap<String, Site>,
}

impl LinkPolicy {
    /// The policy for these sources (empty: only [`web_link`] applies).
    #[must_use]
    pub fn new(sources: &[SourceConfig]) -> Self {
        LinkPolicy {
            sites: sources
                .iter()
                .filter_map(|c| Some((c.id.clone(), Site::of(c)?)))
                .collect(),
        }
    }

    /// Whether source `source`'s link `raw` may be emitted.
    pub fn check(&self, source: &str, raw: &str) -> Result<Url, Refusal> {
        let u = web_link(raw).ok_or(Refusal::NotWeb)?;
        match self.sites.get(source) {
            Some(site) if !site.holds(&u) => Err(Refusal::OffSite),
            Some(site) if site.feed.as_ref() == Some(&u) => Err(Refusal::Feed),
            _ => Ok(u),
        }
    }

    /// `raw` as it may be written, or `None` when it may not be.
    #[must_use]
    pub fn link(&self, source: &str, raw: &str) -> Option<Url> {
        self.check(source, raw).ok()
    }

    /// The sessions with every link that may not be emitted emptied (a
    /// session with no link gets no "Book" link anywhere).
    #[must_use]
    pub fn scrub_stored(&self, mut sessions: Vec<StoredSession>) -> Vec<StoredSession> {
        for s in &mut sessions {
            if !s.session.url.is_empty() && self.check(&s.session.source, &s.session.url).is_err() {
                s.session.url.clear();
            }
        }
        sessions
    }

    /// The change with its link emptied when it may not be emitted.
    #[must_use]
    pub fn scrub_change(&self, mut c: Change) -> Change {
        match self.link(&c.source, &c.url) {
            Some(u) => c.url = u.into(),
            None => c.url.clear(),
        }
        c
    }
}

/// A crawl's sessions before they are merged: every link that may not be
/// emitted is dropped (the session keeps no link rather than another one),
/// each named in a warning with its source, up to [`MAX_LINK_WARNINGS`] a
/// crawl and then counted. Returns how many were dropped.
pub fn admit(cfg: &SourceConfig, sessions: &mut [Session]) -> usize {
    let policy = LinkPolicy::new(std::slice::from_ref(cfg));
    let mut dropped = 0;
    for s in sessions.iter_mut().filter(|s| !s.url.is_empty()) {
        if let Err(why) = policy.check(&cfg.id, &s.url) {
            if why == Refusal::Feed {
                // The reader's stand-in for "no link": nothing to report.
                s.url.clear();
                continue;
            }
            if dropped < MAX_LINK_WARNINGS {
                tracing::warn!(
                    source = %cfg.id,
                    url = %s.url.escape_debug(),
                    event = %s.event_id.escape_debug(),
                    "a session's link was dropped: {why}"
                );
            }
            dropped += 1;
            s.url.clear();
        }
    }
    if dropped > MAX_LINK_WARNINGS {
        tracing::warn!(
            source = %cfg.id,
            dropped,
            "{} more sessions' links were dropped (not http(s), or not on the source's site)",
            dropped - MAX_LINK_WARNINGS
        );
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn source(kind: &str, base: &str) -> SourceConfig {
        let extra = match kind {
            "eventbrite" => "organizer_id = \"1\"\n",
            "schema-org" => "listing = \"/events/\"\n",
            _ => "",
        };
        crate::config::parse_source(
            Path::new("s.toml"),
            &format!("id = \"s\"\nname = \"S\"\nkind = \"{kind}\"\nbase_url = \"{base}\"\n{extra}"),
        )
        .unwrap()
    }

    #[test]
    fn only_web_addresses() {
        for bad in [
            "javascript:alert(1)",
            " JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "//evil.test/x",
            "/events/1",
            "ftp://x.org/a",
            "mailto:a@x.org",
            "https://x.org@evil.test/",
            "https://user:pw@x.org/",
            "",
            "http://",
        ] {
            assert_eq!(web_link(bad), None, "{bad}");
        }
        assert_eq!(
            web_link(" https://x.org/a b ").unwrap().as_str(),
            "https://x.org/a%20b"
        );
    }

    #[test]
    fn links_stay_on_the_sources_site() {
        let p = LinkPolicy::new(&[source("schema-org", "https://www.site.example")]);
        for ok in [
            "https://www.site.example/event/1",
            "http://site.example/event/1",
            "https://events.site.example:8443/e",
            "https://WWW.SITE.EXAMPLE/x",
        ] {
            assert!(p.link("s", ok).is_some(), "{ok}");
        }
        for (bad, why) in [
            ("https://evil.test/phish", Refusal::OffSite),
            ("https://notsite.example/", Refusal::OffSite),
            ("https://site.example.evil.test/", Refusal::OffSite),
            ("https://www.eventbrite.co.uk/e/1", Refusal::OffSite),
            ("//evil.test/x", Refusal::NotWeb),
            ("javascript:alert(1)", Refusal::NotWeb),
        ] {
            assert_eq!(p.check("s", bad), Err(why), "{bad}");
        }
        // A sibling on a shared platform is another site.
        let w = LinkPolicy::new(&[source(
            "event-booking",
            "https://walsall.event-booking.org.uk",
        )]);
        assert!(w
            .link("s", "https://walsall.event-booking.org.uk/events/1")
            .is_some());
        assert!(w
            .link("s", "https://other.event-booking.org.uk/events/1")
            .is_none());
        assert!(w.link("s", "https://event-booking.org.uk/").is_none());
        // Unknown sources: only the scheme rule.
        assert!(w.link("gone", "https://anything.example/").is_some());
        assert!(w.link("gone", "javascript:alert(1)").is_none());
    }

    #[test]
    fn eventbrite_ticket_pages_are_allowed_off_site() {
        let p = LinkPolicy::new(&[source("eventbrite", "http://127.0.0.1:9")]);
        assert!(p.link("s", "https://www.eventbrite.co.uk/e/x-1").is_some());
        assert!(p.link("s", "https://www.eventbrite.com/e/1").is_some());
        assert!(p.link("s", "http://127.0.0.1:4000/e/1").is_some());
        assert!(p.link("s", "http://127.0.0.2/e/1").is_none());
        assert!(p.link("s", "https://eventbrite.co.uk.evil.test/").is_none());
        assert!(p.link("s", "https://evil.test/e/1").is_none());
    }

    #[test]
    fn an_ical_sources_own_feed_is_no_link() {
        let feed = "https://www.site.example/events/?ical=1";
        let cfg = crate::config::parse_source(
            Path::new("s.toml"),
            &format!("id = \"s\"\nname = \"S\"\nkind = \"ical\"\nurl = \"{feed}\"\n"),
        )
        .unwrap();
        let p = LinkPolicy::new(std::slice::from_ref(&cfg));
        assert_eq!(p.check("s", feed), Err(Refusal::Feed));
        assert!(p.link("s", "https://www.site.example/event/a/").is_some());
        // Another source whose base_url is its site keeps links to it.
        let site = LinkPolicy::new(&[source("schema-org", "https://www.site.example/")]);
        assert!(site.link("s", "https://www.site.example/").is_some());
    }

    #[test]
    fn admit_drops_and_counts() {
        let cfg = source("schema-org", "https://site.example");
        let start = chrono::Utc::now();
        let s = |url: &str| Session {
            source: "s".into(),
            event_id: "1".into(),
            key: crate::model::SessionKey::nth(1),
            title: "T".into(),
            category: None,
            level: None,
            prerequisites: None,
            description: None,
            start,
            end: start,
            timezone: "Europe/London".into(),
            venue: None,
            online: false,
            status: crate::model::Status::Scheduled,
            availability: crate::model::Availability::unknown(),
            url: url.into(),
            all_day: false,
        };
        let mut v = vec![
            s("javascript:alert(1)"),
            s("https://site.example/e/1"),
            s("//evil.test/x"),
            s(""),
        ];
        assert_eq!(admit(&cfg, &mut v), 2);
        let urls: Vec<&str> = v.iter().map(|s| s.url.as_str()).collect();
        assert_eq!(urls, ["", "https://site.example/e/1", "", ""]);
    }
}
