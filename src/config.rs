//! Reads and validates `sources/*.toml` into typed `SourceConfig`s.
//!
//! Nothing else in the program parses a source file. The fields every source
//! has are read here, once; the rest of the file goes to its kind's platform
//! (`platforms::PLATFORMS`, the registry) through `KindFields`. Every
//! rejection names the file, the line and the field, so a person editing a
//! source file can fix it at once. The shapes and the error wording are
//! `source::settings`' (re-exported here).

pub use crate::source::settings::*;

use crate::platforms;
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The fields every source file has; the rest belong to its kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    id: String,
    name: String,
    kind: String,
    base_url: Option<String>,
    timezone: Option<String>,
    requests_per_second: Option<f64>,
    poll_interval: Option<String>,
    min_fraction: Option<f64>,
    limits: Option<Limits>,
    merge: Option<bool>,
}

/// Loads every `*.toml` in `dir`, sorted by file name; ids must be unique.
pub fn load_dir(dir: &Path) -> Result<Vec<SourceConfig>, ConfigError> {
    let entries = std::fs::read_dir(dir).map_err(|cause| ConfigError::Dir {
        dir: dir.to_path_buf(),
        cause,
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
        let text = std::fs::read_to_string(&file).map_err(|cause| ConfigError::Read {
            file: file.clone(),
            cause,
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
    let mut table = parse_table(file, text)?;
    let err = |field: &str, message: String| field_err(file, text, field, message);
    let raw = read_common(&mut table, &err)?;
    check_id_and_name(&raw, &err)?;
    let timezone = timezone_of(raw.timezone.as_deref(), &err)?;
    let poll_interval = poll_interval_of(raw.poll_interval.as_deref(), &err)?;
    let min_fraction = raw.min_fraction.unwrap_or(0.5);
    if !(0.0..=1.0).contains(&min_fraction) {
        return Err(err(
            "min_fraction",
            format!("{min_fraction} must be between 0 and 1"),
        ));
    }
    let Some(platform) = platforms::platform(&raw.kind) else {
        let known: Vec<&str> = platforms::PLATFORMS.iter().map(|p| p.kind).collect();
        return Err(err(
            "kind",
            format!("`{}` is not a known kind ({})", raw.kind, known.join(", ")),
        ));
    };
    let configured = (platform.configure)(&KindFields {
        kind: platform.kind,
        table,
        file,
        text,
    })?;
    let base_url = match (&raw.base_url, configured.default_base_url) {
        (Some(u), _) => parse_url(u).map_err(|m| err("base_url", m))?,
        (None, Some(d)) => d,
        (None, None) => return Err(err("base_url", "is required for this kind".into())),
    };
    let requests_per_second = rate_of(raw.requests_per_second, &base_url, &err)?;
    let limits = raw.limits.unwrap_or_default();
    check_limits(&limits, &err)?;
    Ok(SourceConfig {
        id: raw.id,
        name: raw.name.trim().to_string(),
        base_url,
        timezone,
        requests_per_second,
        poll_interval,
        min_fraction,
        limits,
        merge: raw.merge.unwrap_or(true),
        kind_name: platform.kind,
        kind: configured.kind,
        file: file.to_path_buf(),
    })
}

/// A one-sentence error about a field of the file being read.
type FieldErr<'a> = dyn Fn(&str, String) -> ConfigError + 'a;

/// Takes the common fields out of `table` (the rest is the kind's) and reads them.
fn read_common(table: &mut toml::Table, err: &FieldErr<'_>) -> Result<Common, ConfigError> {
    let mut common = toml::Table::new();
    for name in COMMON_FIELDS {
        if let Some(v) = table.remove(*name) {
            common.insert((*name).to_string(), v);
        }
    }
    toml::Value::Table(common)
        .try_into()
        .map_err(|e: toml::de::Error| {
            let (message, path) = split_key_path(e.to_string().trim());
            let field = field_in_message(&message)
                .or(path)
                .unwrap_or_else(|| "id".into());
            err(&field, message)
        })
}

fn check_id_and_name(raw: &Common, err: &FieldErr<'_>) -> Result<(), ConfigError> {
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
    Ok(())
}

fn timezone_of(tz: Option<&str>, err: &FieldErr<'_>) -> Result<Tz, ConfigError> {
    match tz {
        None => Ok(chrono_tz::Europe::London),
        Some(tz) => tz.parse().map_err(|_| {
            err(
                "timezone",
                format!("`{tz}` is not an IANA time zone name such as Europe/London"),
            )
        }),
    }
}

fn poll_interval_of(s: Option<&str>, err: &FieldErr<'_>) -> Result<Duration, ConfigError> {
    let Some(s) = s else {
        return Ok(Duration::from_secs(30 * 60));
    };
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
    Ok(d)
}

/// Requests a second, held to the politeness cap for other people's
/// servers; a replica on loopback may go faster.
fn rate_of(rate: Option<f64>, base_url: &url::Url, err: &FieldErr<'_>) -> Result<f64, ConfigError> {
    let rate = rate.unwrap_or(1.0);
    let cap = if is_loopback(base_url) { 1000.0 } else { 10.0 };
    if !(rate.is_finite() && rate > 0.0 && rate <= cap) {
        return Err(err(
            "requests_per_second",
            format!("{rate} must be above 0 and at most {cap}"),
        ));
    }
    Ok(rate)
}

/// No limit so small that a crawl could read nothing.
fn check_limits(limits: &Limits, err: &FieldErr<'_>) -> Result<(), ConfigError> {
    for (name, zero) in [
        ("max_pages", limits.max_pages == 0),
        ("max_api_calls", limits.max_api_calls == 0),
        ("max_body_bytes", limits.max_body_bytes.as_u64() < 1024),
        ("max_sessions", limits.max_sessions == 0),
        ("max_event_pages", limits.max_event_pages == 0),
        (
            "max_crawl_time",
            limits.max_crawl_time < Duration::from_secs(1),
        ),
    ] {
        if zero {
            return Err(err(
                name,
                "is too small: a crawl could read nothing (max_body_bytes must be at least 1 KiB, max_crawl_time at least 1s)"
                    .into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::event_booking::EventBookingConfig;
    use crate::platforms::eventbrite::EventbriteConfig;
    use crate::platforms::ical::IcalConfig;
    use crate::platforms::schema_org::SchemaOrgConfig;

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
        let e = c.settings::<EventBookingConfig>().expect("event-booking");
        assert_eq!(e.listing, "/events-list");
        assert!(e.categories.is_empty());
    }

    #[test]
    fn a_listing_must_be_a_path_on_the_site() {
        for kind in ["schema-org", "event-booking"] {
            for bad in ["events/", "//other.example/events", "https://x.org/events"] {
                let e = parse(&format!(
                    "id = \"s\"\nname = \"S\"\nkind = \"{kind}\"\nbase_url = \"https://x.org\"\nlisting = \"{bad}\"\n"
                ))
                .unwrap_err()
                .to_string();
                assert!(
                    e.contains("must be a path on the site"),
                    "{kind} {bad}: {e}"
                );
                assert!(e.contains("listing"), "{e}");
            }
        }
        let missing = parse(
            "id = \"s\"\nname = \"S\"\nkind = \"schema-org\"\nbase_url = \"https://x.org\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            missing.contains(
                "is required for a `schema-org` source (the path of the page listing events)"
            ),
            "{missing}"
        );
    }

    #[test]
    fn crawl_limits_read_from_the_limits_table() {
        let base =
            "id = \"s\"\nname = \"S\"\nkind = \"event-booking\"\nbase_url = \"https://x.org\"\n";
        let c = parse(base).unwrap();
        assert_eq!(c.limits.max_event_pages, 50_000);
        assert_eq!(c.limits.max_crawl_time, Duration::from_secs(7200));
        let c = parse(&format!(
            "{base}[limits]\nmax_event_pages = 20\nmax_crawl_time = \"90m\"\n"
        ))
        .unwrap();
        assert_eq!(c.limits.max_event_pages, 20);
        assert_eq!(c.limits.max_crawl_time, Duration::from_secs(5400));
        let e = parse(&format!("{base}[limits]\nmax_crawl_time = \"lots\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("`lots` is not a duration"), "{e}");
        for (field, value) in [("max_event_pages", "0"), ("max_crawl_time", "\"0s\"")] {
            let e = parse(&format!("{base}[limits]\n{field} = {value}\n"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(field) && e.contains("too small"), "{e}");
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
    fn misspelt_field_suggests_the_nearest_known_one() {
        let e = parse("id = \"cal\"\nname = \"Cal\"\nkind = \"ical\"\nurl = \"https://x.org/a.ics\"\ntimezon = \"Europe/London\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("sources/x.toml:5: field `timezon`"), "{e}");
        assert!(e.ends_with("; did you mean `timezone`?"), "{e}");
    }

    #[test]
    fn a_field_like_none_known_gets_no_suggestion() {
        let e = parse("id = \"cal\"\nname = \"Cal\"\nkind = \"ical\"\nurl = \"https://x.org/a.ics\"\nfavourite_colour = \"red\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`favourite_colour` is not a field"), "{e}");
        assert!(!e.contains("did you mean"), "{e}");
    }

    #[test]
    fn unterminated_quote_says_so_with_file_and_line() {
        let e = parse("id = \"wsp\"\nname = \"Walsall\nkind = \"event-booking\"\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "sources/x.toml:2: the quoted value of `name` is not closed; add the closing quote at the end of the value"
        );
    }

    #[test]
    fn unquoted_text_and_trailing_junk_are_worded() {
        let e = parse("id = wsp\n").unwrap_err().to_string();
        assert_eq!(
            e,
            "sources/x.toml:1: the value of `id` is not a value TOML knows; put text in quotes, e.g. `name = \"Walsall\"`"
        );
        let e = parse("id = \"wsp\" extra\n").unwrap_err().to_string();
        assert!(
            e.starts_with("sources/x.toml:1: there is more after the value of `id` on this line"),
            "{e}"
        );
        let e = parse("[limits\n").unwrap_err().to_string();
        assert!(
            e.starts_with("sources/x.toml:1: a table header is not closed"),
            "{e}"
        );
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
        let e = c.settings::<EventbriteConfig>().expect("eventbrite");
        assert_eq!(e.organizer_id.as_deref(), Some("12345678901"));
        assert_eq!(e.token_env, "EVENTBRITE_TOKEN");
        let c = parse("id = \"vrp\"\nname = \"VRP\"\nkind = \"eventbrite\"\norganizer_id = \"\"\n")
            .unwrap();
        assert_eq!(
            c.settings::<EventbriteConfig>()
                .map(|e| e.organizer_id.clone()),
            Some(None)
        );
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
        let i = c.settings::<IcalConfig>().expect("ical");
        assert_eq!(i.url.query(), Some("ical=1"));
        let e = parse("id = \"site\"\nname = \"Site\"\nkind = \"ical\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("field `url`"), "{e}");
        let e = parse("id = \"site\"\nname = \"Site\"\nkind = \"ical\"\nurl = \"https://s.example/x.ics\"\nlisting = \"/events/\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":5: field `listing`"), "{e}");

        let c = parse("id = \"site\"\nname = \"Site\"\nkind = \"schema-org\"\nbase_url = \"https://site.example\"\nlisting = \"/events/\"\nevent_path = '^/event/'\n").unwrap();
        let s = c.settings::<SchemaOrgConfig>().expect("schema-org");
        assert_eq!(s.listing, "/events/");
        assert_eq!(s.event_path.as_ref().map(|r| r.as_str()), Some("^/event/"));
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
