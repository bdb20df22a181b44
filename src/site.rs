//! The site's own settings: the optional `events.toml` beside `sources/` (or
//! the file `--config` names). It holds what the deployment is called, what
//! it says of itself, the address people reach it at, and whom to contact:
//!
//! ```toml
//! title = "Walsall Safeguarding Partnership training"
//! description = "Multi-agency safeguarding courses in Walsall, with the places left."
//! public_url = "https://training.example.org"
//! contact = "training@example.org"
//! ```
//!
//! Owns reading and checking the file, and the public address's shape (an
//! origin). Knows nothing of how the page, the feeds or the crawler use these
//! values: `present`, `page`, `server` and `cli` read them from [`Site`].

use crate::config::{field_err, nearest, parse_table, ConfigError};
use std::path::{Path, PathBuf};

/// The settings file's name, looked for in the directory that holds `sources/`.
pub const SITE_FILE: &str = "events.toml";

/// The longest title kept: a calendar app shows a line, not a paragraph.
pub const MAX_TITLE_CHARS: usize = 120;

/// The longest description kept.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// The fields `events.toml` may hold.
const FIELDS: &[&str] = &["title", "description", "public_url", "contact"];

/// What `events.toml` says; every field is optional, and a missing file is
/// the same as an empty one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Site {
    /// The page's heading and the calendar's `NAME` / `X-WR-CALNAME`.
    pub title: Option<String>,
    /// Shown under the heading and as the calendar's `DESCRIPTION`.
    pub description: Option<String>,
    /// The origin people reach the server (or the exported copy) at,
    /// `https://host[:port]` with no trailing slash.
    pub public_url: Option<String>,
    /// An email address or URL: shown on the page and named in the
    /// crawler's User-Agent.
    pub contact: Option<String>,
}

/// Why a public URL is refused, in one sentence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicUrlError {
    /// Not an absolute http(s) URL with a host.
    #[error("the public URL must be an http or https address with a host, e.g. https://training.example.org")]
    NotWeb,
    /// It has a path, query, fragment or credentials.
    #[error("the public URL must be the site's origin only (scheme, host and port, e.g. https://training.example.org); serving under a path is not supported")]
    NotOrigin,
}

/// `url` as an origin, `https://host[:port]`: the one shape links are built on.
pub fn origin(url: &str) -> Result<String, PublicUrlError> {
    let u = url::Url::parse(url.trim()).map_err(|_| PublicUrlError::NotWeb)?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none_or(str::is_empty) {
        return Err(PublicUrlError::NotWeb);
    }
    if u.path() != "/"
        || u.query().is_some()
        || u.fragment().is_some()
        || !u.username().is_empty()
        || u.password().is_some()
    {
        return Err(PublicUrlError::NotOrigin);
    }
    Ok(u.origin().ascii_serialization())
}

/// Where `events.toml` is looked for when `--config` is not given: beside
/// the sources directory (`./events.toml` for the default `sources`).
pub fn default_path(sources: &Path) -> PathBuf {
    match sources.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.join(SITE_FILE),
        _ => PathBuf::from(SITE_FILE),
    }
}

impl Site {
    /// Reads the settings at `path`. A missing file is no settings, unless
    /// `required` (it was named by `--config`).
    pub fn load(path: &Path, required: bool) -> Result<Site, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Site::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(Site::default()),
            Err(cause) => Err(ConfigError::Settings {
                file: path.to_path_buf(),
                cause,
            }),
        }
    }

    /// The settings in `text`, read from `file` (named in errors).
    pub fn parse(file: &Path, text: &str) -> Result<Site, ConfigError> {
        let table = parse_table(file, text)?;
        let known: Vec<String> = FIELDS.iter().map(|f| f.to_string()).collect();
        let err = |field: &str, message: String| field_err(file, text, field, message);
        if let Some(unknown) = table.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            let hint = match nearest(unknown, &known) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("the known ones are {}", FIELDS.join(", ")),
            };
            return Err(err(
                unknown,
                format!("`{unknown}` is not a setting of {SITE_FILE}; {hint}"),
            ));
        }
        let text_of = |field: &str, max: usize| -> Result<Option<String>, ConfigError> {
            let Some(v) = table.get(field) else {
                return Ok(None);
            };
            let s = v
                .as_str()
                .ok_or_else(|| err(field, "must be text in quotes".into()))?;
            let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
            if s.is_empty() {
                return Err(err(field, "must not be empty; leave it out instead".into()));
            }
            if s.chars().count() > max {
                return Err(err(field, format!("is longer than {max} characters")));
            }
            Ok(Some(s))
        };
        let public_url = match text_of("public_url", 2000)? {
            None => None,
            Some(u) => Some(origin(&u).map_err(|e| err("public_url", e.to_string()))?),
        };
        Ok(Site {
            title: text_of("title", MAX_TITLE_CHARS)?,
            description: text_of("description", MAX_DESCRIPTION_CHARS)?,
            public_url,
            contact: text_of("contact", 200)?,
        })
    }

    /// The contact as a link target: `mailto:` for an email address, the
    /// address itself for an http(s) URL, `None` for anything else.
    pub fn contact_href(&self) -> Option<String> {
        let c = self.contact.as_deref()?;
        if c.starts_with("https://") || c.starts_with("http://") {
            return url::Url::parse(c).ok().map(String::from);
        }
        let email = c.strip_prefix("mailto:").unwrap_or(c);
        let plausible = email.split_once('@').is_some_and(|(user, host)| {
            !user.is_empty() && host.contains('.') && !email.contains(char::is_whitespace)
        });
        plausible.then(|| format!("mailto:{email}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Site, String> {
        Site::parse(Path::new("events.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn every_setting_reads_back() {
        let site = parse(
            "title = \"Walsall  training\"\ndescription = \"Courses.\"\npublic_url = \"https://training.example.org/\"\ncontact = \"training@example.org\"\n",
        )
        .unwrap();
        assert_eq!(site.title.as_deref(), Some("Walsall training"));
        assert_eq!(site.description.as_deref(), Some("Courses."));
        assert_eq!(
            site.public_url.as_deref(),
            Some("https://training.example.org")
        );
        assert_eq!(
            site.contact_href().as_deref(),
            Some("mailto:training@example.org")
        );
        assert_eq!(parse("").unwrap(), Site::default());
    }

    #[test]
    fn mistakes_are_one_sentence_at_their_line() {
        assert_eq!(
            parse("title = \"x\"\ntitel = \"y\"\n").unwrap_err(),
            "events.toml:2: field `titel`: `titel` is not a setting of events.toml; did you mean `title`?"
        );
        assert_eq!(
            parse("colour = \"blue\"\n").unwrap_err(),
            "events.toml:1: field `colour`: `colour` is not a setting of events.toml; the known ones are title, description, public_url, contact"
        );
        assert_eq!(
            parse("public_url = \"https://x.example/training\"\n").unwrap_err(),
            "events.toml:1: field `public_url`: the public URL must be the site's origin only (scheme, host and port, e.g. https://training.example.org); serving under a path is not supported"
        );
        assert_eq!(
            parse("title = 3\n").unwrap_err(),
            "events.toml:1: field `title`: must be text in quotes"
        );
        assert_eq!(
            parse("title = \"unclosed\n").unwrap_err(),
            "events.toml:1: the quoted value of `title` is not closed; add the closing quote at the end of the value"
        );
    }

    #[test]
    fn a_missing_file_is_no_settings_unless_named() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(SITE_FILE);
        assert_eq!(Site::load(&path, false).unwrap(), Site::default());
        assert!(Site::load(&path, true)
            .unwrap_err()
            .to_string()
            .starts_with(&format!("cannot read the settings file {}", path.display())));
        assert_eq!(
            default_path(Path::new("sources")),
            PathBuf::from("events.toml")
        );
        assert_eq!(
            default_path(Path::new("/srv/events/sources")),
            PathBuf::from("/srv/events/events.toml")
        );
    }
}
