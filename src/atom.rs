//! The Atom 1.0 feed of changes (`/changes.atom`): one entry per change,
//! newest first, written with the `atom_syndication` crate.
//!
//! Owns the feed's and each entry's ids, titles, links, categories and
//! content, and making text from the sites safe for XML: the writer escapes
//! markup, and characters XML 1.0 cannot carry at all (most control
//! characters) are dropped here. A pure function of its input, so the same
//! changes give the same bytes (and so the same ETag).
//!
//! Does not own which changes a view holds or how many (the server selects
//! them, at most `MAX_ENTRIES`), nor the wording of a change's title
//! (`changes`).

use crate::changes::Change;
use crate::present::change::ChangeWords;
use atom_syndication::{Category, Content, Entry, Feed, FixedDateTime, Link, Person, Text};
use chrono::{DateTime, SecondsFormat, Utc};
use maud::html;

/// Most entries one feed holds: the newest changes of the view. A reader that
/// polls at least every few days misses none in an ordinary week.
pub const MAX_ENTRIES: usize = 100;

/// The tag URI authority and date every id starts with.
const TAG: &str = "tag:events.safeguarding-training,2026:";

/// What the feed says about itself.
#[derive(Debug, Clone)]
pub struct AtomOptions<'a> {
    /// The feed's title, e.g. "Safeguarding training changes — Child Neglect".
    pub title: String,
    /// The origin links are built on (`https://host[:port]`, no trailing
    /// slash), from the server's configured public URL or a trusted proxy;
    /// empty for links relative to the host's root (`/changes.atom`).
    pub base_url: &'a str,
    /// The view's query string for `/changes.atom` (no `?`; empty for all).
    pub feed_query: &'a str,
    /// The same view's query string for the page (no `?`; empty for all).
    pub page_query: &'a str,
    /// The feed's `updated`: its newest entry's time, or when the store last
    /// changed when it has none (never the current time, so that the same
    /// store gives the same bytes).
    pub updated: DateTime<Utc>,
}

/// A stable id for a change: the same change always has the same id, two
/// different changes never do (UID, kind and time to the millisecond).
pub fn entry_id(c: &Change) -> String {
    format!(
        "{TAG}change:{}:{}:{}",
        c.uid.as_str(),
        c.kind.as_str(),
        c.at.format("%Y%m%dT%H%M%S%.3fZ")
    )
}

/// The feed's id: one per view.
pub fn feed_id(feed_query: &str) -> String {
    if feed_query.is_empty() {
        format!("{TAG}changes")
    } else {
        format!("{TAG}changes?{feed_query}")
    }
}

/// The whole feed, as XML.
pub fn render(changes: &[Change], opts: &AtomOptions) -> String {
    let mut feed = Feed::default();
    feed.set_title(Text::plain(xml_safe(&opts.title)));
    feed.set_id(feed_id(opts.feed_query));
    feed.set_updated(fixed(opts.updated));
    let mut author = Person::default();
    author.set_name("Safeguarding training calendar");
    feed.set_authors(vec![author]);
    feed.set_subtitle(Some(Text::plain(
        "Sessions that are new, have places again, are filling up, are full, moved, cancelled, withdrawn or back on, as the booking sites showed them.",
    )));
    let link = |rel: &str, href: String, mime: &str| {
        let mut l = Link::default();
        l.set_rel(rel);
        l.set_href(xml_safe(&href));
        l.set_mime_type(Some(mime.to_string()));
        l
    };
    let with_q = |path: &str, q: &str| {
        if q.is_empty() {
            format!("{}{path}", opts.base_url)
        } else {
            format!("{}{path}?{q}", opts.base_url)
        }
    };
    feed.set_links(vec![
        link(
            "self",
            with_q("/changes.atom", opts.feed_query),
            "application/atom+xml",
        ),
        link("alternate", with_q("/", opts.page_query), "text/html"),
    ]);
    feed.set_entries(changes.iter().map(entry).collect::<Vec<_>>());
    feed.to_string()
}

fn entry(c: &Change) -> Entry {
    let mut e = Entry::default();
    e.set_id(entry_id(c));
    e.set_title(Text::plain(xml_safe(&c.title_line())));
    e.set_updated(fixed(c.at));
    e.set_published(Some(fixed(c.at)));
    let mut cat = Category::default();
    cat.set_term(c.kind.as_str());
    cat.set_label(Some(c.kind.label().to_string()));
    e.set_categories(vec![cat]);
    let href = safe_href(&c.url);
    if let Some(h) = &href {
        let mut l = Link::default();
        l.set_rel("alternate");
        l.set_href(xml_safe(h));
        l.set_mime_type(Some("text/html".to_string()));
        e.set_links(vec![l]);
    }
    let place = match (&c.venue, c.online) {
        (Some(v), _) => v.clone(),
        (None, true) => "Online".to_string(),
        (None, false) => "Venue not given".to_string(),
    };
    // maud escapes every value for HTML; the Atom writer then escapes the
    // whole for XML.
    let body = html! {
        p { strong { (c.kind.label()) } ": " (c.title) }
        ul {
            li { "When: " (c.when()) }
            @if let Some(was) = c.was_when() { li { "Was: " (was) } }
            li { "Where: " (place) }
            li { "Places: " (c.places()) }
            @if let Some(cat) = &c.category { li { "Category: " (cat) } }
            li { "Source: " (c.source) }
            li { "Seen: " (c.at.to_rfc3339_opts(SecondsFormat::Secs, true)) }
        }
        @if let Some(h) = &href {
            p { a href=(h) { "Book or see the details" } }
        }
    };
    let mut content = Content::default();
    content.set_content_type(Some("html".to_string()));
    content.set_value(Some(xml_safe(&body.into_string())));
    e.set_content(Some(content));
    e
}

fn fixed(t: DateTime<Utc>) -> FixedDateTime {
    t.fixed_offset()
}

/// Only what `links::web_link` allows is written: a scraped `javascript:`
/// URL must never become something a click runs (the server has also kept
/// each link to its source's site).
fn safe_href(u: &str) -> Option<String> {
    crate::links::web_link(u).map(String::from)
}

/// Drops the characters XML 1.0 cannot hold even escaped: C0 controls other
/// than tab, line feed and carriage return, and U+FFFE / U+FFFF.
pub fn xml_safe(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= '\u{20}' && c != '\u{fffe}' && c != '\u{ffff}')
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::changes::ChangeKind;
    use crate::model::{Availability, Session, SessionKey, Status};
    use chrono::TimeZone;

    fn change(title: &str, url: &str) -> Change {
        let start = Utc.with_ymd_and_hms(2027, 5, 13, 8, 30, 0).unwrap();
        let s = Session {
            source: "wsp".into(),
            event_id: "1004".into(),
            key: SessionKey::nth(1),
            title: title.into(),
            category: Some("Child <Neglect>".into()),
            level: None,
            prerequisites: None,
            description: None,
            start,
            end: start + chrono::TimeDelta::hours(3),
            timezone: "Europe/London".into(),
            venue: None,
            online: true,
            status: Status::Scheduled,
            availability: Availability::spaces(3),
            url: url.into(),
            all_day: false,
        };
        let at = Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap();
        Change::new(ChangeKind::PlacesFreed, at, None, &s)
    }

    fn opts() -> AtomOptions<'static> {
        AtomOptions {
            title: "Changes".into(),
            base_url: "http://h",
            feed_query: "kind=full",
            page_query: "",
            updated: Utc.with_ymd_and_hms(2026, 12, 1, 11, 0, 0).unwrap(),
        }
    }

    #[test]
    fn markup_and_controls_never_reach_the_xml() {
        let c = change(
            "<script>alert(1)</script> & \u{1}\u{1b}[31mx\u{fffe}",
            "javascript:alert(1)",
        );
        let xml = render(&[c], &opts());
        assert!(!xml.contains("<script>"), "{xml}");
        assert!(!xml.contains("javascript:"), "{xml}");
        assert!(
            !xml.chars().any(
                |ch| (ch.is_control() && !matches!(ch, '\n' | '\r' | '\t')) || ch == '\u{fffe}'
            ),
            "{xml:?}"
        );
        assert!(
            xml.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp;"),
            "{xml}"
        );
        // The content's HTML is escaped once by maud and once more for XML.
        assert!(xml.contains("Child &amp;lt;Neglect&amp;gt;"), "{xml}");
        assert!(xml.contains(r#"<category term="places-freed" label="Places freed"/>"#));
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = change("A", "https://x.test/1");
        assert_eq!(
            entry_id(&a),
            "tag:events.safeguarding-training,2026:change:wsp-1004-1@events.safeguarding-training:places-freed:20261201T110000.000Z"
        );
        let mut b = a.clone();
        b.kind = ChangeKind::Filling;
        assert_ne!(entry_id(&a), entry_id(&b));
        let mut later = a.clone();
        later.at += chrono::TimeDelta::milliseconds(1);
        assert_ne!(entry_id(&a), entry_id(&later));
        assert_eq!(
            render(std::slice::from_ref(&a), &opts()),
            render(&[a], &opts())
        );
        assert_eq!(feed_id(""), "tag:events.safeguarding-training,2026:changes");
    }
}
