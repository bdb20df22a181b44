//! Which sessions a view shows: the filters shared by `upcoming`, `ics`, the page
//! and the JSON API, the one function that applies them, and the one codec
//! between a filter and a query string (`Filter::from_query`,
//! `Filter::to_query`) with the limits a filter is held to, whether it comes
//! from a URL or from the command line (`Filter::checked`).
//!
//! Which part of a view one answer holds (`part`: a cursor and a limit) is
//! read and written here too.
//!
//! Knows the model only; not where sessions come from or how they are shown,
//! nor HTTP (the server turns a [`FilterError`] into its `400`).

pub mod part;

pub use part::{Cursor, Part};

use crate::model::{Session, StoredSession};
use chrono::{DateTime, Duration, Utc};
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

/// Longest query string read, in bytes; a longer one is refused.
pub const MAX_QUERY_BYTES: usize = 4096;

/// Most `name=value` pairs one query string may hold; more are refused. A view
/// needs at most a handful plus `MAX_CATEGORIES`; the rest is room for the
/// parameters calendar clients and link trackers add.
pub const MAX_QUERY_PARAMS: usize = 64;

/// Most categories one view may name.
pub const MAX_CATEGORIES: usize = 20;

/// Longest single category or source id, in characters.
pub const MAX_VALUE_CHARS: usize = 100;

/// Longest search text, in characters (the page's form offers no more).
pub const MAX_Q_CHARS: usize = 200;

/// Longest `days` a view may ask for (ten years).
pub const MAX_DAYS: u32 = 3650;

/// Most distinct session categories one [`Matcher`] remembers its verdict
/// on (a store has a few dozen); past that, further ones are judged afresh
/// for each session, still at most `MAX_CATEGORIES` comparisons.
pub const MAX_REMEMBERED_CATEGORIES: usize = 1024;

/// Why a query string (or a filter built from command-line flags) is refused.
/// Its `Display` is one sentence, ending in a full stop, that the server sends
/// as its `400` and the command line prints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// Over `MAX_QUERY_BYTES`.
    #[error("The query string is longer than {MAX_QUERY_BYTES} bytes.")]
    QueryTooLong,
    /// Over `MAX_QUERY_PARAMS` pairs.
    #[error("The query string has more than {MAX_QUERY_PARAMS} parameters.")]
    TooManyParameters,
    /// A name or value that is not UTF-8 once `%XX` are decoded.
    #[error("The query string is not valid UTF-8 once decoded.")]
    NotUtf8,
    /// A NUL character in a name or value.
    #[error("The query string holds a NUL character.")]
    Nul,
    /// `source`, `q`, `available`, `online` or `days` given more than once.
    #[error("The `{0}` parameter may be given only once.")]
    Repeated(&'static str),
    /// A source id outside `[a-z0-9-]` or over `MAX_VALUE_CHARS`.
    #[error("`source` must be a source id such as wsp or vrp.")]
    BadSource,
    /// A category over `MAX_VALUE_CHARS`.
    #[error("A `category` is longer than {MAX_VALUE_CHARS} characters.")]
    CategoryTooLong,
    /// More than `MAX_CATEGORIES` categories.
    #[error("At most {MAX_CATEGORIES} `category` parameters may be given.")]
    TooManyCategories,
    /// A search over `MAX_Q_CHARS`.
    #[error("The search `q` is longer than {MAX_Q_CHARS} characters.")]
    SearchTooLong,
    /// `available` neither yes nor no.
    #[error("`available` must be 1 (only sessions with places) or 0.")]
    BadAvailable,
    /// `online` neither yes nor no.
    #[error("`online` must be 1 (online only) or 0 (in person only).")]
    BadOnline,
    /// `days` not a whole number from 1 to `MAX_DAYS`.
    #[error("`days` must be a whole number from 1 to {MAX_DAYS}.")]
    BadDays,
    /// `after` not a cursor this server wrote (`part::Cursor`).
    #[error("`after` must be the value of a \"Later sessions\" link, such as 20270105T093000Z_wsp-1001-1.")]
    BadAfter,
    /// `limit` not a whole number from 1 to the view's most.
    #[error("`limit` must be a whole number from 1 to {0}.")]
    BadLimit(usize),
}

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

/// A filter made ready to judge many sessions: its categories normalised
/// once (trimmed, lower case, slug) and its verdict on each session category
/// remembered, so that a category filter costs one hash lookup per session
/// whatever its size (up to `MAX_CATEGORIES` of `MAX_VALUE_CHARS`). Make one
/// per list judged ([`Filter::matcher`]); it is not shared between threads.
pub struct Matcher<'f> {
    filter: &'f Filter,
    /// The filter's non-empty categories, lower case, with their slugs.
    categories: Vec<(String, String)>,
    /// Verdicts by session category as stored (`""` for none), at most
    /// `MAX_REMEMBERED_CATEGORIES`.
    verdicts: RefCell<HashMap<String, bool>>,
}

impl Matcher<'_> {
    /// True when the stored session belongs to the view.
    pub fn matches(&self, s: &StoredSession, now: DateTime<Utc>) -> bool {
        self.matches_session(&s.session, now)
    }

    /// True when the session belongs to the view (also used for a change's
    /// snapshot of its session).
    pub fn matches_session(&self, x: &Session, now: DateTime<Utc>) -> bool {
        let f = self.filter;
        if let Some(src) = &f.source {
            if &x.source != src {
                return false;
            }
        }
        if !f.categories.is_empty() && !self.category_matches(x.category.as_deref().unwrap_or("")) {
            return false;
        }
        f.matches_rest(x, now)
    }

    /// A session category contains one of the filter's (case-insensitive), or
    /// has the same slug as one.
    fn category_matches(&self, cat: &str) -> bool {
        if let Some(v) = self.verdicts.borrow().get(cat) {
            return *v;
        }
        let lower = cat.to_lowercase();
        let cat_slug = slug(&lower);
        let v = self
            .categories
            .iter()
            .any(|(c, c_slug)| lower.contains(c.as_str()) || cat_slug == *c_slug);
        let mut verdicts = self.verdicts.borrow_mut();
        if verdicts.len() < MAX_REMEMBERED_CATEGORIES {
            verdicts.insert(cat.to_string(), v);
        }
        v
    }
}

impl Filter {
    /// The filter ready to judge many sessions (see [`Matcher`]).
    pub fn matcher(&self) -> Matcher<'_> {
        Matcher {
            filter: self,
            categories: self
                .categories
                .iter()
                .map(|c| c.trim().to_lowercase())
                .filter(|c| !c.is_empty())
                .map(|c| {
                    let s = slug(&c);
                    (c, s)
                })
                .collect(),
            verdicts: RefCell::new(HashMap::new()),
        }
    }

    /// True when the stored session belongs to the view. To judge a list,
    /// use one [`Filter::matcher`].
    pub fn matches(&self, s: &StoredSession, now: DateTime<Utc>) -> bool {
        self.matcher().matches(s, now)
    }

    /// True when the session belongs to the view (also used for a change's
    /// snapshot of its session). To judge a list, use one [`Filter::matcher`].
    pub fn matches_session(&self, x: &Session, now: DateTime<Utc>) -> bool {
        self.matcher().matches_session(x, now)
    }

    /// The filters other than source and category.
    fn matches_rest(&self, x: &Session, now: DateTime<Utc>) -> bool {
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
        if self.available && !x.places_remain() {
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

    /// Reads a view's query string (without the `?`): `source`, `category`
    /// (repeatable), `q`, `available=1|0`, `online=1|0`, `days=N`. Empty
    /// values mean "no filter" (an HTML form sends them) and values are
    /// trimmed; unknown parameters are ignored, because calendar clients and
    /// link trackers add their own. Anything else malformed, or over a limit
    /// (`MAX_QUERY_BYTES`, `MAX_QUERY_PARAMS`, `MAX_VALUE_CHARS`,
    /// `MAX_CATEGORIES`, `MAX_Q_CHARS`, `MAX_DAYS`), is refused with the first
    /// problem met.
    pub fn from_query(raw: &str) -> Result<Filter, FilterError> {
        if raw.len() > MAX_QUERY_BYTES {
            return Err(FilterError::QueryTooLong);
        }
        let mut f = Filter::default();
        let mut seen: BTreeSet<&'static str> = BTreeSet::new();
        for (k, v) in query_pairs(raw)? {
            let v = v.trim();
            // The parameters that name one value, and so may come only once.
            let key: &'static str = match k.as_str() {
                "source" => "source",
                "q" => "q",
                "available" => "available",
                "online" => "online",
                "days" => "days",
                "category" => {
                    if let Some(c) = category(v)? {
                        if f.categories.len() >= MAX_CATEGORIES {
                            return Err(FilterError::TooManyCategories);
                        }
                        f.categories.push(c);
                    }
                    continue;
                }
                _ => continue,
            };
            if !seen.insert(key) {
                return Err(FilterError::Repeated(key));
            }
            match key {
                "source" => f.source = source(v)?,
                "q" => f.search = search(v)?,
                "available" => {
                    f.available = parse_bool(v)
                        .ok_or(FilterError::BadAvailable)?
                        .unwrap_or(false)
                }
                "online" => f.online = parse_bool(v).ok_or(FilterError::BadOnline)?,
                "days" if !v.is_empty() => {
                    f.days = Some(days(v.parse().map_err(|_| FilterError::BadDays)?)?)
                }
                _ => {}
            }
        }
        Ok(f)
    }

    /// The filter as a query string without the leading `?` (empty for no
    /// filter), in the names [`Filter::from_query`] reads: `source`,
    /// `category` (repeated), `q`, `available=1`, `online=1|0`, `days`.
    ///
    /// Reading it back gives the same filter for every filter that
    /// `from_query` or [`Filter::checked`] gives, unless it is longer than
    /// `MAX_QUERY_BYTES` (text outside ASCII takes up to three times its
    /// bytes once written as `%XX`).
    pub fn to_query(&self) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(s) = &self.source {
            q.append_pair("source", s);
        }
        for c in &self.categories {
            q.append_pair("category", c);
        }
        if let Some(s) = &self.search {
            q.append_pair("q", s);
        }
        if self.available {
            q.append_pair("available", "1");
        }
        if let Some(o) = self.online {
            q.append_pair("online", if o { "1" } else { "0" });
        }
        if let Some(d) = self.days {
            q.append_pair("days", &d.to_string());
        }
        q.finish()
    }

    /// `path` followed by `?` and [`Filter::to_query`], or `path` alone for
    /// no filter: every link to a view is written by this.
    pub fn to_url(&self, path: &str) -> String {
        let q = self.to_query();
        if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{q}")
        }
    }

    /// The filter held to the rules and limits of [`Filter::from_query`],
    /// for one built another way (the command line's flags): values trimmed,
    /// empty ones dropped, the search's control characters and runs of
    /// whitespace made single spaces, and the same refusals with the same
    /// sentences.
    pub fn checked(self) -> Result<Filter, FilterError> {
        let no_nul = |v: &str| {
            if v.contains('\0') {
                Err(FilterError::Nul)
            } else {
                Ok(())
            }
        };
        let source = match &self.source {
            Some(v) => {
                no_nul(v)?;
                source(v.trim())?
            }
            None => None,
        };
        let mut categories = Vec::new();
        for v in &self.categories {
            no_nul(v)?;
            if let Some(c) = category(v.trim())? {
                if categories.len() >= MAX_CATEGORIES {
                    return Err(FilterError::TooManyCategories);
                }
                categories.push(c);
            }
        }
        let search = match &self.search {
            Some(v) => {
                no_nul(v)?;
                search(v.trim())?
            }
            None => None,
        };
        let days = self.days.map(days).transpose()?;
        Ok(Filter {
            source,
            categories,
            search,
            days,
            ..self
        })
    }
}

/// A trimmed `source` value: `None` when empty, else an id of `[a-z0-9-]`.
fn source(v: &str) -> Result<Option<String>, FilterError> {
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > MAX_VALUE_CHARS
        || !v
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(FilterError::BadSource);
    }
    Ok(Some(v.to_string()))
}

/// A trimmed `category` value: `None` when empty.
fn category(v: &str) -> Result<Option<String>, FilterError> {
    if v.is_empty() {
        return Ok(None);
    }
    if v.chars().count() > MAX_VALUE_CHARS {
        return Err(FilterError::CategoryTooLong);
    }
    Ok(Some(v.to_string()))
}

/// A trimmed search: control characters have no business in it and would end
/// up in the calendar's name, so they and runs of whitespace become one space;
/// `None` when nothing is left.
fn search(v: &str) -> Result<Option<String>, FilterError> {
    if v.chars().count() > MAX_Q_CHARS {
        return Err(FilterError::SearchTooLong);
    }
    let clean: String = v
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    Ok((!clean.is_empty()).then_some(clean))
}

fn days(d: u32) -> Result<u32, FilterError> {
    if (1..=MAX_DAYS).contains(&d) {
        Ok(d)
    } else {
        Err(FilterError::BadDays)
    }
}

/// `Some(Some(b))` for a yes/no, `Some(None)` for empty (no preference), `None`
/// when it is neither.
fn parse_bool(v: &str) -> Option<Option<bool>> {
    match v.to_ascii_lowercase().as_str() {
        "" | "any" => Some(None),
        "1" | "true" | "yes" | "on" => Some(Some(true)),
        "0" | "false" | "no" | "off" => Some(Some(false)),
        _ => None,
    }
}

/// A query string's `name=value` pairs in order, decoded (`+` is a space,
/// `%XX` a byte); empty pairs (`&&`) are skipped. Refused: more than
/// `MAX_QUERY_PARAMS` pairs, a name or value that is not UTF-8 once decoded,
/// or one holding a NUL. Also how the server reads its other parameters
/// (`kind`), so every query string is decoded one way.
pub fn query_pairs(raw: &str) -> Result<Vec<(String, String)>, FilterError> {
    let mut out = Vec::new();
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        if out.len() >= MAX_QUERY_PARAMS {
            return Err(FilterError::TooManyParameters);
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.push((query_part(k)?, query_part(v)?));
    }
    Ok(out)
}

fn query_part(s: &str) -> Result<String, FilterError> {
    let s = s.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&s)
        .decode_utf8()
        .map_err(|_| FilterError::NotUtf8)?;
    if decoded.contains('\0') {
        return Err(FilterError::Nul);
    }
    Ok(decoded.into_owned())
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
    fn filters_parse_and_refuse() {
        let f = Filter::from_query(
            "source=wsp&category=A&category=B&q=%20x%0Ay%20&available=1&online=0&utm_source=z",
        )
        .unwrap();
        assert_eq!(f.source.as_deref(), Some("wsp"));
        assert_eq!(f.categories, vec!["A", "B"]);
        assert_eq!(f.search.as_deref(), Some("x y"));
        assert!(f.available);
        assert_eq!(f.online, Some(false));
        assert_eq!(
            Filter::from_query("source=&online=&q=").unwrap(),
            Filter::default()
        );
        for (bad, why) in [
            ("online=maybe", FilterError::BadOnline),
            ("available=yes+please", FilterError::BadAvailable),
            ("source=WSP!", FilterError::BadSource),
            ("days=0", FilterError::BadDays),
            ("days=99999999999999999999", FilterError::BadDays),
            ("q=a&q=b", FilterError::Repeated("q")),
            ("source=wsp&source=wsp", FilterError::Repeated("source")),
            ("source=&source=", FilterError::Repeated("source")),
            ("q=%ff%fe", FilterError::NotUtf8),
            ("utm=%C3%28", FilterError::NotUtf8),
            ("q=a%00b", FilterError::Nul),
            ("x%00=1", FilterError::Nul),
        ] {
            assert_eq!(Filter::from_query(bad), Err(why), "{bad}");
        }
        let many = vec!["x=1"; MAX_QUERY_PARAMS + 1].join("&");
        assert_eq!(
            Filter::from_query(&many),
            Err(FilterError::TooManyParameters)
        );
        let most = vec!["x=1"; MAX_QUERY_PARAMS].join("&");
        assert!(Filter::from_query(&most).is_ok());
        assert_eq!(
            Filter::from_query("q=caf%C3%A9+au%20lait&&")
                .unwrap()
                .search
                .as_deref(),
            Some("café au lait")
        );
        let long = format!("q={}", "a".repeat(MAX_Q_CHARS + 1));
        assert_eq!(Filter::from_query(&long), Err(FilterError::SearchTooLong));
        let cats = vec!["category=c"; MAX_CATEGORIES + 1].join("&");
        assert_eq!(
            Filter::from_query(&cats),
            Err(FilterError::TooManyCategories)
        );
        let huge = format!("x={}", "a".repeat(MAX_QUERY_BYTES));
        assert_eq!(Filter::from_query(&huge), Err(FilterError::QueryTooLong));
    }

    #[test]
    fn refusals_are_one_sentence() {
        for e in [
            FilterError::Repeated("days"),
            FilterError::SearchTooLong,
            FilterError::BadDays,
        ] {
            let m = e.to_string();
            assert!(m.ends_with('.') && !m.contains('\n'), "{m}");
        }
        assert_eq!(
            FilterError::SearchTooLong.to_string(),
            "The search `q` is longer than 200 characters."
        );
    }

    #[test]
    fn written_filters_read_back_the_same() {
        let f = Filter {
            source: Some("wsp".into()),
            categories: vec!["Child Neglect".into(), "A&B".into(), "x+y=z".into()],
            search: Some("level 2 café".into()),
            available: true,
            online: Some(false),
            days: Some(30),
        };
        assert_eq!(
            f.to_query(),
            "source=wsp&category=Child+Neglect&category=A%26B&category=x%2By%3Dz\
             &q=level+2+caf%C3%A9&available=1&online=0&days=30"
        );
        assert_eq!(Filter::from_query(&f.to_query()), Ok(f.clone()));
        assert_eq!(f.clone().checked(), Ok(f.clone()));
        assert_eq!(Filter::default().to_query(), "");
        assert_eq!(Filter::default().to_url("/"), "/");
        let online = Filter {
            online: Some(true),
            ..Filter::default()
        };
        assert_eq!(online.to_url("/calendar.ics"), "/calendar.ics?online=1");
        assert_eq!(Filter::from_query(&online.to_query()), Ok(online));
    }

    #[test]
    fn checked_holds_flags_to_the_same_rules() {
        let f = Filter {
            source: Some(" wsp ".into()),
            categories: vec![" ".into(), " Child Neglect ".into()],
            search: Some(" neglect\u{1b}  level\t2 ".into()),
            ..Filter::default()
        }
        .checked()
        .unwrap();
        assert_eq!(f.source.as_deref(), Some("wsp"));
        assert_eq!(f.categories, vec!["Child Neglect"]);
        assert_eq!(f.search.as_deref(), Some("neglect level 2"));
        let refused = |f: Filter| f.checked().unwrap_err();
        assert_eq!(
            refused(Filter {
                search: Some("a".repeat(MAX_Q_CHARS + 1)),
                ..Filter::default()
            }),
            FilterError::SearchTooLong
        );
        assert_eq!(
            refused(Filter {
                source: Some("WSP".into()),
                ..Filter::default()
            }),
            FilterError::BadSource
        );
        assert_eq!(
            refused(Filter {
                categories: vec!["c".into(); MAX_CATEGORIES + 1],
                ..Filter::default()
            }),
            FilterError::TooManyCategories
        );
        assert_eq!(
            refused(Filter {
                days: Some(0),
                ..Filter::default()
            }),
            FilterError::BadDays
        );
        assert_eq!(
            refused(Filter {
                categories: vec!["a\0b".into()],
                ..Filter::default()
            }),
            FilterError::Nul
        );
    }

    /// The category test as it was written before `Matcher`: normalising the
    /// filter's categories for every session.
    fn plain_category_match(f: &Filter, cat: Option<&str>) -> bool {
        let cat = cat.unwrap_or("").to_lowercase();
        let cat_slug = slug(&cat);
        f.categories.iter().any(|c| {
            let c = c.trim().to_lowercase();
            !c.is_empty() && (cat.contains(&c) || cat_slug == slug(&c))
        })
    }

    #[test]
    fn matcher_agrees_with_the_plain_reading() {
        let start = Utc::now();
        let session = |cat: Option<&str>| Session {
            source: "wsp".into(),
            event_id: "1".into(),
            key: crate::model::SessionKey::nth(1),
            title: "T".into(),
            category: cat.map(str::to_string),
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
            url: String::new(),
            all_day: false,
        };
        let cats = [
            None,
            Some(""),
            Some("Child Neglect"),
            Some("child-neglect"),
            Some("Self-Neglect & Hoarding"),
            Some("İstanbul Straße"),
            Some("  Domestic   Abuse "),
            Some("Exploitation (CSE/CCE)"),
        ];
        let long: Vec<String> = (0..MAX_CATEGORIES)
            .map(|i| {
                format!("{i}")
                    .repeat(MAX_VALUE_CHARS)
                    .chars()
                    .take(MAX_VALUE_CHARS)
                    .collect()
            })
            .collect();
        let mut long_last = long.clone();
        long_last[MAX_CATEGORIES - 1] = "neglect".into();
        let filters: Vec<Vec<String>> = vec![
            vec!["Child Neglect".into()],
            vec!["child-neglect".into()],
            vec!["NEGLECT".into()],
            vec![" ".into(), "abuse".into()],
            vec!["self neglect hoarding".into()],
            vec!["i̇stanbul".into(), "STRASSE".into()],
            vec!["cse/cce".into()],
            vec![" ".into()],
            long,
            long_last,
        ];
        let (mut agreed, mut matched) = (0, 0);
        for cs in filters {
            let f = Filter {
                categories: cs,
                ..Filter::default()
            };
            let m = f.matcher();
            // Twice each: the second answer comes from what was remembered.
            for _ in 0..2 {
                for c in cats {
                    let s = session(c);
                    assert_eq!(
                        m.matches_session(&s, start),
                        plain_category_match(&f, c),
                        "{:?} against {c:?}",
                        f.categories
                    );
                    assert_eq!(f.matches_session(&s, start), m.matches_session(&s, start));
                    agreed += 1;
                    matched += usize::from(m.matches_session(&s, start));
                }
            }
        }
        assert_eq!(agreed, 10 * 2 * 8);
        // Both answers occur, so the comparison says something.
        assert!(matched > 10 && matched < agreed, "{matched}");
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Child Neglect"), "child-neglect");
        assert_eq!(slug("Self-Neglect & Hoarding"), "self-neglect-hoarding");
        assert_eq!(slug("  All-Age Exploitation "), "all-age-exploitation");
    }
}
