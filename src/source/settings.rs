//! The settings of a source as the program holds them (`SourceConfig`,
//! its `Limits`), the kind-specific fields handed to a platform
//! (`KindFields`), and the one-sentence errors a settings file gets
//! (`ConfigError`, at its line, with the nearest known field suggested).
//!
//! Owns the shapes and the TOML error wording; reading a sources directory
//! and finding each file's kind in the registry is `config`'s.

use crate::source::Kind;
use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

pub use crate::errors::io_words;

/// A source file that cannot be used, with where it went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The sources directory cannot be listed. The cause is worded into the
    /// sentence, not chained as a source, so it is said once.
    #[error("{}", dir_words(.dir, .cause))]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// A source file cannot be read.
    #[error("cannot read the source file {file} ({}); {}", io_words(.cause), read_advice(.cause))]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// The settings file (`events.toml`) cannot be read.
    #[error("cannot read the settings file {file} ({}); {}", io_words(.cause), settings_advice(.cause))]
    Settings {
        /// The file.
        file: PathBuf,
        /// Why.
        cause: std::io::Error,
    },
    /// A field is missing, unknown or wrong.
    #[error("{file}:{line}: field `{field}`: {message}")]
    Field {
        /// The file.
        file: PathBuf,
        /// 1-based line of the field (1 when it is missing).
        line: usize,
        /// The field, dotted inside a table (`selectors.next_page`).
        field: String,
        /// What is wrong, in one sentence.
        message: String,
    },
    /// The file is not TOML.
    #[error("{file}:{line}: {message}")]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
        /// What the TOML reader said.
        message: String,
    },
    /// The directory has no source file.
    #[error("no source files (*.toml) in {0}; add one (see README, \"Source files\")")]
    Empty(PathBuf),
}

/// The sentence for a sources directory that cannot be listed: what is wrong
/// with it and what to do.
fn dir_words(dir: &Path, cause: &std::io::Error) -> String {
    let dir = dir.display();
    match cause.kind() {
        std::io::ErrorKind::NotFound => format!(
            "the sources directory {dir} does not exist; make it and add a source file (see README, \"Source files\"), or pass --sources DIR"
        ),
        std::io::ErrorKind::NotADirectory => format!(
            "the sources path {dir} is not a directory; pass --sources with the directory that holds the source files (*.toml)"
        ),
        std::io::ErrorKind::PermissionDenied => format!(
            "permission denied reading the sources directory {dir}; give the user running events read access to it, or pass another --sources directory"
        ),
        _ => format!(
            "cannot read the sources directory {dir} ({}); check it, or pass another --sources directory",
            io_words(cause)
        ),
    }
}

/// What to do about a source file that cannot be read.
fn settings_advice(cause: &std::io::Error) -> &'static str {
    match cause.kind() {
        std::io::ErrorKind::PermissionDenied => "give the user running events read access to it",
        std::io::ErrorKind::InvalidData => "save it as UTF-8 text",
        std::io::ErrorKind::NotFound => "check the --config path, or leave --config out",
        _ => "check it, or leave it out",
    }
}

fn read_advice(cause: &std::io::Error) -> &'static str {
    match cause.kind() {
        std::io::ErrorKind::PermissionDenied => {
            "give the user running events read access to it, or move it out of the sources directory"
        }
        std::io::ErrorKind::InvalidData => "save it as UTF-8 text",
        _ => "check it, or move it out of the sources directory",
    }
}

/// One source to crawl.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// `[a-z0-9-]+`, unique; part of every UID.
    pub id: String,
    /// The name people know it by.
    pub name: String,
    /// The site's address; requests stay on its host unless the kind says otherwise.
    pub base_url: Url,
    /// The zone the site prints local times in.
    pub timezone: Tz,
    /// Politeness: at most this many requests a second to each host.
    pub requests_per_second: f64,
    /// How often `serve` crawls it.
    pub poll_interval: Duration,
    /// Fraction of last crawl's session count under which a crawl is suspicious.
    pub min_fraction: f64,
    /// How far one crawl may go; reaching a limit is a crawl error.
    pub limits: Limits,
    /// Its sessions may be merged with the same sessions listed by other
    /// sources (`merge = false` opts out; see `duplicates`).
    pub merge: bool,
    /// The `kind = "…"` name, as the registry spells it.
    pub kind_name: &'static str,
    /// The kind's own settings, which also know how to walk the source.
    pub kind: Arc<dyn Kind>,
    /// The file it came from, for messages.
    pub file: PathBuf,
}

impl SourceConfig {
    /// The kind's own settings, when the source is of kind `T`.
    pub fn settings<T: Kind>(&self) -> Option<&T> {
        let any: &dyn std::any::Any = &*self.kind;
        any.downcast_ref()
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
    /// Sessions one crawl may return; counted as pages are read (a page's
    /// `subEvent`s too), so a crawl stops fetching once it has this many.
    pub max_sessions: usize,
    /// Event or detail pages (one per event) fetched or re-read per walk; the
    /// default covers a site of 50,000 events.
    pub max_event_pages: usize,
    /// The longest one crawl of the source may take, e.g. `"2h"`; a crawl
    /// still going then is stopped and reported as stopped at this limit.
    #[serde(deserialize_with = "duration_text")]
    pub max_crawl_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pages: 5_000,
            max_api_calls: 500,
            max_body_bytes: bytesize::ByteSize::mib(5),
            max_sessions: 50_000,
            max_event_pages: 50_000,
            max_crawl_time: Duration::from_secs(2 * 3600),
        }
    }
}

/// A duration written as text, e.g. `"90m"` or `"2h"`.
pub(crate) fn duration_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    humantime::parse_duration(&text).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{text}` is not a duration such as `30m` or `2h` ({e})"
        ))
    })
}

/// The names of `Common`'s fields, which every kind accepts.
pub const COMMON_FIELDS: &[&str] = &[
    "id",
    "name",
    "kind",
    "base_url",
    "timezone",
    "requests_per_second",
    "poll_interval",
    "min_fraction",
    "limits",
    "merge",
];

/// The fields of a source file that are its kind's own, handed to the kind's
/// `configure`, with what is needed to name the file and line of an error.
pub struct KindFields<'a> {
    pub(crate) kind: &'static str,
    pub(crate) table: toml::Table,
    pub(crate) file: &'a Path,
    pub(crate) text: &'a str,
}

impl KindFields<'_> {
    /// Reads the kind's fields into `T` (which should deny unknown fields):
    /// a field that is neither common nor `T`'s is refused, naming it.
    pub fn read<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::Value::Table(self.table.clone())
            .try_into()
            .map_err(|e: toml::de::Error| {
                let message = e.to_string().trim().to_string();
                let (message, path) = split_key_path(&message);
                let top_level = path.is_none();
                let field = field_in_message(&message)
                    .map(|f| match &path {
                        Some(p) => format!("{p}.{f}"),
                        None => f,
                    })
                    .or(path)
                    .unwrap_or_else(|| "kind".into());
                let message = if message.starts_with("unknown field") {
                    let last = field.rsplit('.').next().unwrap_or(&field);
                    // At the top level the common fields are known too.
                    let mut known = expected_fields(&message);
                    if top_level {
                        known.extend(COMMON_FIELDS.iter().map(|f| f.to_string()));
                    }
                    let hint = match nearest(last, &known) {
                        Some(near) => format!("; did you mean `{near}`?"),
                        None => String::new(),
                    };
                    format!(
                        "`{last}` is not a field of {} `{}` source ({message}){hint}",
                        article(self.kind),
                        self.kind
                    )
                } else {
                    message
                };
                self.error(&field, message)
            })
    }

    /// A one-sentence error about `field` (dotted inside a table), at its line.
    pub fn error(&self, field: &str, message: impl Into<String>) -> ConfigError {
        field_err(self.file, self.text, field, message.into())
    }

    /// `value` of a field this kind cannot do without, or the error that
    /// `field` is required, saying what it `holds`.
    pub fn required<T>(
        &self,
        field: &str,
        value: Option<T>,
        holds: &str,
    ) -> Result<T, ConfigError> {
        value.ok_or_else(|| {
            let (a, kind) = (article(self.kind), self.kind);
            self.error(
                field,
                format!("is required for {a} `{kind}` source ({holds})"),
            )
        })
    }

    /// Refuses a `field` whose `value` is not a path on the site: one
    /// starting with a single `/` (`//host/…` would name another site).
    pub fn site_path(&self, field: &str, value: &str) -> Result<(), ConfigError> {
        if value.starts_with('/') && !value.starts_with("//") {
            return Ok(());
        }
        let message = format!("`{value}` must be a path on the site, starting with a single `/`");
        Err(self.error(field, message))
    }
}

/// The fields serde's "unknown field `x`, expected `a`, `b`" lists as known.
pub(crate) fn expected_fields(message: &str) -> Vec<String> {
    let Some((_, list)) = message.split_once("expected") else {
        return Vec::new();
    };
    list.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The edit distance, at most, from a misspelt field to the one it suggests:
/// further than this, the suggestion would more likely mislead than help.
pub const MAX_SUGGESTION_DISTANCE: usize = 3;

/// The known name nearest to `word` (Damerau-Levenshtein), if near enough.
pub fn nearest<'a>(word: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(word, k), k))
        .filter(|(d, k)| *d <= MAX_SUGGESTION_DISTANCE.min(k.len().max(word.len()) / 2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

pub(crate) fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// Splits toml's "message\nin `a.b`" into the message and the key path.
pub(crate) fn split_key_path(message: &str) -> (String, Option<String>) {
    match message.rsplit_once("\nin `") {
        Some((m, rest)) => (
            m.trim().to_string(),
            rest.strip_suffix('`').map(str::to_string),
        ),
        None => (message.to_string(), None),
    }
}

pub(crate) fn is_loopback(u: &Url) -> bool {
    match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

/// An `http(s)` address with a host, or a one-sentence reason it is not one.
pub fn parse_url(s: &str) -> Result<Url, String> {
    let u = Url::parse(s.trim()).map_err(|e| format!("`{s}` is not a valid URL ({e})"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        return Err(format!("`{s}` must be an http or https URL with a host"));
    }
    Ok(u)
}

/// What the TOML reader found malformed, in plain words with what to do;
/// the reader's own words end the sentence in brackets when they are not
/// one of the usual mistakes.
/// `text` read as one TOML table, or the sentence for where it is not TOML
/// (or, for a value of the wrong shape the reader names, which field).
pub fn parse_table(file: &Path, text: &str) -> Result<toml::Table, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| line_of_offset(text, s.start)).unwrap_or(1);
        let message = e.message().trim().to_string();
        match field_in_message(&message) {
            Some(field) => ConfigError::Field {
                file: file.to_path_buf(),
                line,
                field,
                message,
            },
            None => ConfigError::Syntax {
                file: file.to_path_buf(),
                line,
                message: syntax_words(&message, text, line),
            },
        }
    })
}

fn syntax_words(message: &str, text: &str, line: usize) -> String {
    let line_text = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let of_key = key_on_line(text, line)
        .map(|k| format!(" of `{k}`"))
        .unwrap_or_default();
    let first = message.lines().next().unwrap_or(message);
    let what = first.strip_prefix("invalid ").unwrap_or("");
    match what {
        "basic string" | "literal string" | "string" if unclosed_quote(line_text) => format!(
            "the quoted value{of_key} is not closed; add the closing quote at the end of the value"
        ),
        "basic string" | "escape sequence" | "unicode 4-digit hex code" | "unicode 8-digit hex code" => format!(
            "the quoted value{of_key} has a backslash that starts no known escape; write a backslash as `\\\\`, or quote the value with `'` instead of `\"`"
        ),
        "multiline basic string" | "multiline literal string" => {
            "a value in triple quotes is not closed; add the closing quotes".into()
        }
        "string" => format!(
            "the value{of_key} is not a value TOML knows; put text in quotes, e.g. `name = \"Walsall\"`"
        ),
        "key" => "this line is not `key = value`; a key is letters, digits, `-` and `_`, and text values go in quotes".into(),
        "table header" => "a table header is not closed; write it as `[name]` on a line of its own".into(),
        "inline table" => format!(
            "the table in braces{of_key} is not closed, or its `key = value` pairs are not separated by commas"
        ),
        "array" => format!(
            "the list in square brackets{of_key} is not closed, or its items are not separated by commas"
        ),
        _ if first.starts_with("expected newline") => format!(
            "there is more after the value{of_key} on this line; put one `key = value` on each line (a comment starts with `#`)"
        ),
        _ if first.starts_with("unclosed table") => {
            "a table header is not closed; write it as `[name]` on a line of its own".into()
        }
        _ => format!(
            "this line is not valid TOML ({}); see README, \"Source files\"",
            message.replace('\n', "; ")
        ),
    }
}

/// True when `line` opens a quote it does not close (a `#` after the value
/// starts a comment, and `\"` inside double quotes is no closing quote).
fn unclosed_quote(line: &str) -> bool {
    let mut open: Option<char> = None;
    let mut escaped = false;
    for c in line.chars() {
        match open {
            None if c == '#' => return false,
            None if c == '"' || c == '\'' => open = Some(c),
            None => {}
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => open = None,
            Some(_) => {}
        }
    }
    open.is_some()
}

/// A one-sentence error about `field` of the TOML file `file`, at its line.
pub fn field_err(file: &Path, text: &str, field: &str, message: String) -> ConfigError {
    ConfigError::Field {
        file: file.to_path_buf(),
        line: line_of_field(text, field),
        field: field.to_string(),
        message,
    }
}

/// 1-based line where `field = …` is set, or 1 when it is absent (a missing
/// field). A dotted field (`selectors.next_page`) is looked for after its
/// table's `[selectors]` header, or written out dotted.
fn line_of_field(text: &str, field: &str) -> usize {
    let key_at = |l: &str, key: &str| {
        l.trim_start()
            .strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    };
    let lines: Vec<&str> = text.lines().collect();
    if let Some(i) = lines.iter().position(|l| key_at(l, field)) {
        return i + 1;
    }
    if let Some((table, key)) = field.rsplit_once('.') {
        let header = format!("[{table}]");
        if let Some(h) = lines.iter().position(|l| l.trim() == header) {
            let section = lines[h + 1..]
                .iter()
                .take_while(|l| !l.trim_start().starts_with('['));
            return section
                .clone()
                .position(|l| key_at(l, key))
                .map_or(h + 1, |i| h + 2 + i);
        }
        return line_of_field(text, table);
    }
    1
}

pub(crate) fn line_of_offset(text: &str, offset: usize) -> usize {
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
pub(crate) fn field_in_message(message: &str) -> Option<String> {
    for marker in ["unknown field `", "missing field `", "duplicate key `"] {
        if let Some(rest) = message.split(marker).nth(1) {
            return rest.split('`').next().map(str::to_string);
        }
    }
    None
}
