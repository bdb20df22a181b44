//! Reads and validates `sources/*.toml` into typed `SourceConfig`s.
//!
//! Nothing else in the program parses TOML. Every rejection names the file, the
//! line and the field, so a person editing a source file can fix it at once.

use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// A source file that cannot be used, with where it went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the sources directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read source file {file}: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("{file}:{line}: field `{field}`: {message}")]
    Field {
        file: PathBuf,
        line: usize,
        field: String,
        message: String,
    },
    #[error("{file}:{line}: {message}")]
    Syntax {
        file: PathBuf,
        line: usize,
        message: String,
    },
    #[error("no source files (*.toml) in {0}; add one (see README, \"Source files\")")]
    Empty(PathBuf),
}

/// One source to crawl.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// `[a-z0-9-]+`, unique; part of every UID.
    pub id: String,
    pub name: String,
    pub base_url: Url,
    pub timezone: Tz,
    pub requests_per_second: f64,
    pub poll_interval: Duration,
    /// Fraction of last crawl's session count under which a crawl is suspicious.
    pub min_fraction: f64,
    /// How far one crawl may go; reaching a limit is a crawl error.
    pub limits: Limits,
    pub kind: SourceKind,
    /// The file it came from, for messages.
    pub file: PathBuf,
}

#[derive(Debug, Clone)]
pub enum SourceKind {
    EventBooking(EventBookingConfig),
    Eventbrite(EventbriteConfig),
    /// An existing iCalendar feed (`ical`).
    Ical(IcalConfig),
    /// Event pages marked up with schema.org JSON-LD (`schema-org`).
    SchemaOrg(SchemaOrgConfig),
}

impl SourceKind {
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::EventBooking(_) => "event-booking",
            SourceKind::Eventbrite(_) => "eventbrite",
            SourceKind::Ical(_) => "ical",
            SourceKind::SchemaOrg(_) => "schema-org",
        }
    }
}

/// How far one crawl of a source may go. Each guards against a site that never
/// ends (a pager looping through fresh URLs, a runaway API); none is a quiet
/// cap: a crawl that reaches one stops, keeps what it read, withdraws nothing
/// and reports the limit as its error. Defaults are sized so that a booking
/// site of 10,000 events crawls completely.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Listing (or catalogue, or "show more") pages followed per walk; at 8
    /// events a page the default covers 40,000 events.
    pub max_pages: usize,
    /// Eventbrite API calls per crawl (a token may make 2,000 an hour).
    pub max_api_calls: usize,
    /// Largest response body read, e.g. `"5 MiB"`.
    pub max_body_bytes: bytesize::ByteSize,
    /// Sessions one crawl may return.
    pub max_sessions: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pages: 5_000,
            max_api_calls: 500,
            max_body_bytes: bytesize::ByteSize::mib(5),
            max_sessions: 50_000,
        }
    }
}

/// Settings of an `event-booking` (hosted learning-management platform) source.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EventBookingConfig {
    /// Path of the listing, e.g. `/events-list`.
    pub listing: String,
    /// Path of the eLearning catalogue, e.g. `/elearning-list`; empty to skip.
    pub elearning: String,
    /// Category ids (`?c=497`); empty means the unfiltered listing.
    pub categories: Vec<u32>,
    /// CSS selectors, for when the live markup differs from the defaults.
    pub selectors: Selectors,
    /// Label texts (case-insensitive regexes) of the detail page's fields.
    pub labels: Labels,
}

impl Default for EventBookingConfig {
    fn default() -> Self {
        Self {
            listing: "/events-list".into(),
            elearning: "/elearning-list".into(),
            categories: Vec::new(),
            selectors: Selectors::default(),
            labels: Labels::default(),
        }
    }
}

/// CSS selectors used by the event-booking adapter. Defaults follow the reference
/// structure; every one can be overridden in the source file's `[selectors]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Selectors {
    /// One element per event in the listing.
    pub listing_entry: String,
    /// The link to the detail page, inside an entry.
    pub entry_link: String,
    /// The pager's "Next" link (also found by its text when this matches nothing).
    pub next_page: String,
    /// The detail page's title.
    pub detail_title: String,
    /// The detail page's sessions table.
    pub sessions_table: String,
    /// The detail page's description.
    pub description: String,
    /// One element per eLearning course.
    pub elearning_entry: String,
}

impl Default for Selectors {
    fn default() -> Self {
        Self {
            listing_entry: ".event-item, .event, article, li.event-list-item".into(),
            entry_link: "a[href*='/events/']".into(),
            next_page: "a[rel='next'], .pagination a.next, li.next a".into(),
            detail_title: "h1".into(),
            sessions_table: "table".into(),
            description: ".description, .event-description, #description".into(),
            elearning_entry: ".course, .elearning-item, article, li.course".into(),
        }
    }
}

/// Label patterns (case-insensitive regexes) of the detail page's definition list.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Labels {
    pub category: String,
    pub level: String,
    pub prerequisites: String,
    pub places: String,
}

impl Default for Labels {
    fn default() -> Self {
        Self {
            category: r"^\s*(category|theme|priority)\b".into(),
            level: r"^\s*level\b".into(),
            prerequisites: r"^\s*(pre-?requisites?|requirements?|before attending)\b".into(),
            places: r"^\s*(places|availability|spaces)\b".into(),
        }
    }
}

/// Settings of an `eventbrite` source.
#[derive(Debug, Clone, PartialEq)]
pub struct EventbriteConfig {
    /// Digits; `None` while the source file does not say yet.
    pub organizer_id: Option<String>,
    pub api_url: Url,
    /// Name of the environment variable holding a private API token.
    pub token_env: String,
}

/// Settings of an `ical` source: one calendar feed.
#[derive(Debug, Clone, PartialEq)]
pub struct IcalConfig {
    /// The feed's address (http or https).
    pub url: Url,
}

/// Settings of a `schema-org` source: a listing of event pages carrying
/// schema.org `Event` JSON-LD.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaOrgConfig {
    /// Path of the page listing the events, e.g. `/events/`.
    pub listing: String,
    /// A pattern the paths of event links must match, used when the listing's
    /// JSON-LD names no events (checked to be a valid regex).
    pub event_path: Option<String>,
}

/// The raw shape of a source file; unknown fields are refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    id: String,
    name: String,
    kind: String,
    base_url: Option<String>,
    timezone: Option<String>,
    requests_per_second: Option<f64>,
    poll_interval: Option<String>,
    min_fraction: Option<f64>,
    limits: Option<Limits>,
    // event-booking
    listing: Option<String>,
    elearning: Option<String>,
    categories: Option<Vec<u32>>,
    selectors: Option<Selectors>,
    labels: Option<Labels>,
    // eventbrite
    organizer_id: Option<toml::Value>,
    organizer_url: Option<String>,
    api_url: Option<String>,
    token_env: Option<String>,
    // ical
    url: Option<String>,
    // schema-org
    event_path: Option<String>,
}

const EVENT_BOOKING_ONLY: &[&str] = &["listing", "elearning", "categories", "selectors", "labels"];
const EVENTBRITE_ONLY: &[&str] = &["organizer_id", "organizer_url", "api_url", "token_env"];
const ICAL_ONLY: &[&str] = &["url"];
const SCHEMA_ORG_ONLY: &[&str] = &["event_path"];
/// Fields of `event-booking` that `schema-org` does not take (it has `listing`).
const EVENT_BOOKING_ONLY_NOT_LISTING: &[&str] = &["elearning", "categories", "selectors", "labels"];

/// Loads every `*.toml` in `dir`, sorted by file name; ids must be unique.
pub fn load_dir(dir: &Path) -> Result<Vec<SourceConfig>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ConfigError::Dir {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ConfigError::Empty(dir.to_path_buf()));
    }
    let mut out: Vec<SourceConfig> = Vec::new();
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
            file: file.clone(),
            source,
        })?;
        let cfg = parse_source(&file, &text)?;
        if let Some(first) = seen.get(&cfg.id) {
            return Err(field_err(
                &file,
                &text,
                "id",
                format!("`{}` is already used by {}", cfg.id, first.display()),
            ));
        }
        seen.insert(cfg.id.clone(), file.clone());
        out.push(cfg);
    }
    Ok(out)
}

/// Parses one source file's text; `file` is only used in messages.
pub fn parse_source(file: &Path, text: &str) -> Result<SourceConfig, ConfigError> {
    let raw: RawSource = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of_offset(text, s.start)).unwrap_or(1);
        let message = e.message().trim().to_string();
        // Name the field when serde says which one, else the key on the line
        // the error points at (a wrong type says only what it expected).
        let at_key = || key_on_line(text, line);
        match field_in_message(&message).or_else(at_key) {
            Some(field) => ConfigError::Field {
                file: file.to_path_buf(),
                line,
                field,
                message,
            },
            None => ConfigError::Syntax {
                file: file.to_path_buf(),
                line,
                message,
            },
        }
    })?;
    let err = |field: &str, message: String| field_err(file, text, field, message);

    if raw.id.is_empty()
        || !raw
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(err(
            "id",
            format!(
                "`{}` must be lowercase letters, digits and `-` only",
                raw.id
            ),
        ));
    }
    if raw.name.trim().is_empty() {
        return Err(err("name", "must not be empty".into()));
    }
    let timezone: Tz = match &raw.timezone {
        None => chrono_tz::Europe::London,
        Some(tz) => tz.parse().map_err(|_| {
            err(
                "timezone",
                format!("`{tz}` is not an IANA time zone name such as Europe/London"),
            )
        })?,
    };
    let poll_interval = match &raw.poll_interval {
        None => Duration::from_secs(30 * 60),
        Some(s) => {
            let d = humantime::parse_duration(s).map_err(|e| {
                err(
                    "poll_interval",
                    format!("`{s}` is not a duration such as `30m` or `2h` ({e})"),
                )
            })?;
            if d < Duration::from_secs(60) {
                return Err(err(
                    "poll_interval",
                    format!("`{s}` is too short: poll at most once a minute"),
                ));
            }
            d
        }
    };
    let min_fraction = raw.min_fraction.unwrap_or(0.5);
    if !(0.0..=1.0).contains(&min_fraction) {
        return Err(err(
            "min_fraction",
            format!("{min_fraction} must be between 0 and 1"),
        ));
    }

    let present = |name: &str| -> bool {
        match name {
            "listing" => raw.listing.is_some(),
            "elearning" => raw.elearning.is_some(),
            "categories" => raw.categories.is_some(),
            "selectors" => raw.selectors.is_some(),
            "labels" => raw.labels.is_some(),
            "organizer_id" => raw.organizer_id.is_some(),
            "organizer_url" => raw.organizer_url.is_some(),
            "api_url" => raw.api_url.is_some(),
            "token_env" => raw.token_env.is_some(),
            "url" => raw.url.is_some(),
            "event_path" => raw.event_path.is_some(),
            _ => false,
        }
    };
    let refuse_foreign = |foreign: &[&str], kind: &str| -> Result<(), ConfigError> {
        for f in foreign {
            if present(f) {
                return Err(err(f, format!("is not a field of a `{kind}` source")));
            }
        }
        Ok(())
    };

    let (kind, default_base) = match raw.kind.as_str() {
        "event-booking" => {
            refuse_foreign(EVENTBRITE_ONLY, "event-booking")?;
            refuse_foreign(ICAL_ONLY, "event-booking")?;
            refuse_foreign(SCHEMA_ORG_ONLY, "event-booking")?;
            let d = EventBookingConfig::default();
            let listing = raw.listing.clone().unwrap_or(d.listing);
            if !listing.starts_with('/') {
                return Err(err(
                    "listing",
                    format!("`{listing}` must be a path starting with `/`"),
                ));
            }
            let elearning = raw.elearning.clone().unwrap_or(d.elearning);
            if !(elearning.is_empty() || elearning.starts_with('/')) {
                return Err(err(
                    "elearning",
                    format!("`{elearning}` must be a path starting with `/`, or empty"),
                ));
            }
            let selectors = raw.selectors.clone().unwrap_or_default();
            for (name, sel) in [
                ("listing_entry", &selectors.listing_entry),
                ("entry_link", &selectors.entry_link),
                ("next_page", &selectors.next_page),
                ("detail_title", &selectors.detail_title),
                ("sessions_table", &selectors.sessions_table),
                ("description", &selectors.description),
                ("elearning_entry", &selectors.elearning_entry),
            ] {
                if scraper::Selector::parse(sel).is_err() {
                    return Err(err(name, format!("`{sel}` is not a valid CSS selector")));
                }
            }
            let labels = raw.labels.clone().unwrap_or_default();
            for (name, pat) in [
                ("category", &labels.category),
                ("level", &labels.level),
                ("prerequisites", &labels.prerequisites),
                ("places", &labels.places),
            ] {
                if let Err(e) = regex::Regex::new(pat) {
                    return Err(err(name, format!("`{pat}` is not a valid pattern: {e}")));
                }
            }
            (
                SourceKind::EventBooking(EventBookingConfig {
                    listing,
                    elearning,
                    categories: raw.categories.clone().unwrap_or_default(),
                    selectors,
                    labels,
                }),
                None,
            )
        }
        "eventbrite" => {
            refuse_foreign(EVENT_BOOKING_ONLY, "eventbrite")?;
            refuse_foreign(ICAL_ONLY, "eventbrite")?;
            refuse_foreign(SCHEMA_ORG_ONLY, "eventbrite")?;
            let organizer_id = match (&raw.organizer_id, &raw.organizer_url) {
                (Some(v), _) => {
                    let s = match v {
                        toml::Value::String(s) => s.trim().to_string(),
                        toml::Value::Integer(i) => i.to_string(),
                        _ => {
                            return Err(err(
                                "organizer_id",
                                "must be the organiser's digits, as a string or a number".into(),
                            ))
                        }
                    };
                    if s.is_empty() {
                        None
                    } else if s.bytes().all(|b| b.is_ascii_digit()) {
                        Some(s)
                    } else {
                        return Err(err(
                            "organizer_id",
                            format!("`{s}` must be digits only (the end of the organiser page's address)"),
                        ));
                    }
                }
                (None, Some(u)) if !u.trim().is_empty() => {
                    Some(organizer_id_from_url(u).ok_or_else(|| {
                        err(
                            "organizer_url",
                            format!(
                                "`{u}` does not end in the organiser's digits (…/o/name-12345678)"
                            ),
                        )
                    })?)
                }
                _ => None,
            };
            let api_url = parse_url(
                raw.api_url
                    .as_deref()
                    .unwrap_or("https://www.eventbriteapi.com/v3"),
            )
            .map_err(|m| err("api_url", m))?;
            let token_env = raw
                .token_env
                .clone()
                .unwrap_or_else(|| "EVENTBRITE_TOKEN".into());
            (
                SourceKind::Eventbrite(EventbriteConfig {
                    organizer_id,
                    api_url,
                    token_env,
                }),
                Some("https://www.eventbrite.co.uk".to_string()),
            )
        }
        "ical" => {
            refuse_foreign(EVENT_BOOKING_ONLY, "ical")?;
            refuse_foreign(EVENTBRITE_ONLY, "ical")?;
            refuse_foreign(SCHEMA_ORG_ONLY, "ical")?;
            let url = match &raw.url {
                Some(u) => parse_url(u).map_err(|m| err("url", m))?,
                None => {
                    return Err(err(
                        "url",
                        "is required for an `ical` source (the feed's address)".into(),
                    ))
                }
            };
            // The site is the feed's own host unless the file says otherwise.
            let base = url.to_string();
            (SourceKind::Ical(IcalConfig { url }), Some(base))
        }
        "schema-org" => {
            refuse_foreign(EVENT_BOOKING_ONLY_NOT_LISTING, "schema-org")?;
            refuse_foreign(EVENTBRITE_ONLY, "schema-org")?;
            refuse_foreign(ICAL_ONLY, "schema-org")?;
            let Some(listing) = raw.listing.clone() else {
                return Err(err(
                    "listing",
                    "is required for a `schema-org` source (the path of the page listing events)"
                        .into(),
                ));
            };
            if !listing.starts_with('/') {
                return Err(err(
                    "listing",
                    format!("`{listing}` must be a path starting with `/`"),
                ));
            }
            if let Some(pat) = &raw.event_path {
                if let Err(e) = regex::Regex::new(pat) {
                    return Err(err(
                        "event_path",
                        format!("`{pat}` is not a valid pattern: {e}"),
                    ));
                }
            }
            (
                SourceKind::SchemaOrg(SchemaOrgConfig {
                    listing,
                    event_path: raw.event_path.clone(),
                }),
                None,
            )
        }
        other => {
            return Err(err(
                "kind",
                format!(
                    "`{other}` is not a known kind (event-booking, eventbrite, ical, schema-org)"
                ),
            ))
        }
    };
    let base_url = match (&raw.base_url, default_base) {
        (Some(u), _) => parse_url(u).map_err(|m| err("base_url", m))?,
        (None, Some(d)) => parse_url(&d).map_err(|m| err("base_url", m))?,
        (None, None) => return Err(err("base_url", "is required for this kind".into())),
    };

    let requests_per_second = raw.requests_per_second.unwrap_or(1.0);
    // Politeness cap for other people's servers; a replica on loopback may go faster.
    let cap = if is_loopback(&base_url) { 1000.0 } else { 10.0 };
    if !(requests_per_second.is_finite() && requests_per_second > 0.0 && requests_per_second <= cap)
    {
        return Err(err(
            "requests_per_second",
            format!("{requests_per_second} must be above 0 and at most {cap}"),
        ));
    }

    let limits = raw.limits.unwrap_or_default();
    for (name, zero) in [
        ("max_pages", limits.max_pages == 0),
        ("max_api_calls", limits.max_api_calls == 0),
        ("max_body_bytes", limits.max_body_bytes.as_u64() < 1024),
        ("max_sessions", limits.max_sessions == 0),
    ] {
        if zero {
            return Err(err(
                name,
                "is too small: a crawl could read nothing (max_body_bytes must be at least 1 KiB)"
                    .into(),
            ));
        }
    }

    Ok(SourceConfig {
        id: raw.id,
        name: raw.name.trim().to_string(),
        base_url,
        timezone,
        requests_per_second,
        poll_interval,
        min_fraction,
        limits,
        kind,
        file: file.to_path_buf(),
    })
}

/// The trailing digits of an organiser page address (`…/o/some-name-12345678`).
pub fn organizer_id_from_url(u: &str) -> Option<String> {
    let path = Url::parse(u.trim())
        .ok()?
        .path()
        .trim_end_matches('/')
        .to_string();
    let digits: String = path
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!digits.is_empty()).then_some(digits)
}

fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

fn parse_url(s: &str) -> Result<Url, String> {
    let u = Url::parse(s.trim()).map_err(|e| format!("`{s}` is not a valid URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(format!("`{s}` must be an http or https URL with a host"));
    }
    Ok(u)
}

fn field_err(file: &Path, text: &str, field: &str, message: String) -> ConfigError {
    ConfigError::Field {
        file: file.to_path_buf(),
        line: line_of_field(text, field),
        field: field.to_string(),
        message,
    }
}

/// 1-based line where `field = …` is set, or 1 when it is absent (a missing field).
fn line_of_field(text: &str, field: &str) -> usize {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(field)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
        .unwrap_or(1)
}

fn line_of_offset(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The key of a `key = value` line (1-based), when the line is one.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let key = l.split_once('=')?.0.trim();
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    bare.then(|| key.to_string())
}

/// Pulls the field name out of serde's "unknown field `x`" / "missing field `x`".
fn field_in_message(message: &str) -> Option<String> {
    for marker in ["unknown field `", "missing field `", "duplicate key `"] {
        if let Some(rest) = message.split(marker).nth(1) {
            return rest.split('`').next().map(str::to_string);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SourceConfig, ConfigError> {
        parse_source(Path::new("sources/x.toml"), text)
    }

    #[test]
    fn defaults_fill_in() {
        let c = parse(
            "id = \"wsp\"\nname = \"WSP\"\nkind = \"event-booking\"\nbase_url = \"https://walsall.event-booking.org.uk\"\n",
        )
        .unwrap();
        assert_eq!(c.timezone, chrono_tz::Europe::London);
        assert_eq!(c.requests_per_second, 1.0);
        assert_eq!(c.poll_interval, Duration::from_secs(1800));
        match c.kind {
            SourceKind::EventBooking(e) => {
                assert_eq!(e.listing, "/events-list");
                assert!(e.categories.is_empty());
            }
            _ => panic!("wrong kind"),
        }
    }

    #[test]
    fn unknown_field_names_file_line_and_field() {
        let e = parse("id = \"wsp\"\nname = \"WSP\"\nkind = \"event-booking\"\nbase_url = \"https://x.org\"\ncolour = \"red\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("sources/x.toml:5: field `colour`"), "{e}");
    }

    #[test]
    fn bad_url_names_line() {
        let e = parse(
            "id = \"wsp\"\nname = \"WSP\"\nkind = \"event-booking\"\nbase_url = \"not a url\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("sources/x.toml:4: field `base_url`"), "{e}");
        let e = parse(
            "id = \"wsp\"\nname = \"WSP\"\nkind = \"event-booking\"\nbase_url = \"ftp://x.org\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("http or https"), "{e}");
    }

    #[test]
    fn foreign_field_refused() {
        let e = parse("id = \"v\"\nname = \"V\"\nkind = \"eventbrite\"\ncategories = [1]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":4: field `categories`"), "{e}");
    }

    #[test]
    fn organizer_id_from_url_or_missing() {
        let c = parse("id = \"vrp\"\nname = \"VRP\"\nkind = \"eventbrite\"\norganizer_url = \"https://www.eventbrite.co.uk/o/west-midlands-vrp-12345678901/\"\n").unwrap();
        match c.kind {
            SourceKind::Eventbrite(e) => {
                assert_eq!(e.organizer_id.as_deref(), Some("12345678901"));
                assert_eq!(e.token_env, "EVENTBRITE_TOKEN");
            }
            _ => panic!("wrong kind"),
        }
        let c = parse("id = \"vrp\"\nname = \"VRP\"\nkind = \"eventbrite\"\norganizer_id = \"\"\n")
            .unwrap();
        assert!(matches!(
            c.kind,
            SourceKind::Eventbrite(EventbriteConfig {
                organizer_id: None,
                ..
            })
        ));
    }

    #[test]
    fn duplicate_ids_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let body = "id = \"wsp\"\nname = \"WSP\"\nkind = \"event-booking\"\nbase_url = \"https://x.org\"\n";
        std::fs::write(dir.path().join("a.toml"), body).unwrap();
        std::fs::write(dir.path().join("b.toml"), body).unwrap();
        let e = load_dir(dir.path()).unwrap_err().to_string();
        assert!(e.contains("b.toml:1: field `id`"), "{e}");
        assert!(e.contains("already used"), "{e}");
    }

    #[test]
    fn ical_and_schema_org_kinds() {
        let c = parse("id = \"site\"\nname = \"Site\"\nkind = \"ical\"\nurl = \"https://site.example/events/?ical=1\"\n").unwrap();
        assert_eq!(c.base_url.as_str(), "https://site.example/events/?ical=1");
        assert!(matches!(c.kind, SourceKind::Ical(ref i) if i.url.query() == Some("ical=1")));
        let e = parse("id = \"site\"\nname = \"Site\"\nkind = \"ical\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("field `url`"), "{e}");
        let e = parse("id = \"site\"\nname = \"Site\"\nkind = \"ical\"\nurl = \"https://s.example/x.ics\"\nlisting = \"/events/\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":5: field `listing`"), "{e}");

        let c = parse("id = \"site\"\nname = \"Site\"\nkind = \"schema-org\"\nbase_url = \"https://site.example\"\nlisting = \"/events/\"\nevent_path = '^/event/'\n").unwrap();
        assert!(
            matches!(c.kind, SourceKind::SchemaOrg(ref s) if s.listing == "/events/" && s.event_path.as_deref() == Some("^/event/"))
        );
        let e = parse("id = \"site\"\nname = \"Site\"\nkind = \"schema-org\"\nbase_url = \"https://site.example\"\nlisting = \"/events/\"\nevent_path = '(['\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":6: field `event_path`"), "{e}");
        let e = parse("id = \"site\"\nname = \"Site\"\nkind = \"schema-org\"\nbase_url = \"https://site.example\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("field `listing`"), "{e}");
        let e = parse("id = \"w\"\nname = \"W\"\nkind = \"event-booking\"\nbase_url = \"https://x.org\"\nurl = \"https://x.org/a.ics\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":5: field `url`"), "{e}");
    }

    #[test]
    fn shipped_examples_parse_and_are_not_crawled_by_default() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sources/examples");
        for name in ["ical.toml.example", "schema-org.toml.example"] {
            let file = dir.join(name);
            let text = std::fs::read_to_string(&file).unwrap();
            parse_source(&file, &text).unwrap_or_else(|e| panic!("{e}"));
        }
        // load_dir reads only `*.toml` directly in the directory.
        let ids: Vec<String> = load_dir(&dir.join(".."))
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert!(!ids.iter().any(|i| i.starts_with("example-")), "{ids:?}");
    }
}
