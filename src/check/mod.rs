//! `events check SOURCE`: a dry run of one source that shows what every page
//! yielded and what the readers could not find, named by the source-file key
//! that changes where they look; `--save` keeps the pages as fixtures.
//!
//! The walk is the crawl's own ([`crawl::dry_walk`]: the same fetcher,
//! robots.txt, politeness and limits), through the kind's `walk`, with a
//! [`Probe`] switched on and no store at all: nothing is read from or
//! written to the data directory. Printing is in `render`, saving in `save`.

pub mod render;
pub mod save;

use crate::config::SourceConfig;
use crate::crawl::{self, WalkError};
use crate::fetch::{FetchConfig, Fetcher};
use crate::model::Session;
use crate::platforms::{PageProbe, Probe};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use clap::Args;
use serde::Serialize;
use std::path::PathBuf;

/// How many listing pages, and how many detail pages, a check reads unless
/// `--pages` says otherwise.
pub const DEFAULT_PAGES: u64 = 5;

/// `events check`'s arguments.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The id of the source to check (see `events sources`).
    pub source: String,
    /// Read at most N listing pages and N detail pages (or N API calls).
    #[arg(long, default_value_t = DEFAULT_PAGES, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub pages: u64,
    /// Write each page fetched into DIR, with a README, as test fixtures.
    #[arg(long, value_name = "DIR")]
    pub save: Option<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Why a check could not start.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// No source file has this id.
    #[error("there is no source `{id}`; the sources are {known} (see `events sources`)")]
    UnknownSource {
        /// The id asked for.
        id: String,
        /// The ids configured, comma-separated.
        known: String,
    },
    /// No source file at all.
    #[error("there is no source `{id}`, and none is configured; add a source file (see README, \"Source files\")")]
    NoSources {
        /// The id asked for.
        id: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot start the HTTP client: {0}")]
    Client(String),
}

/// What a check of one source found: every page, then the summary.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// The source's id.
    pub source: String,
    /// Its `kind = "…"`.
    pub kind: &'static str,
    /// The source file overrides go in.
    pub file: String,
    /// The zone local times are shown in.
    pub timezone: String,
    /// The instant the check ran at (UTC).
    pub checked_at: DateTime<Utc>,
    /// Every page (or API call), in the order asked for.
    pub pages: Vec<PageReport>,
    /// Pages read, sessions, and what was missed across pages.
    pub summary: Summary,
}

/// One page as the check saw it.
#[derive(Debug, Clone, Serialize)]
pub struct PageReport {
    /// The address asked for.
    pub url: String,
    /// What the page is to its kind (`listing`, `detail`, `feed`, …), or
    /// `unread` when no reader was given it.
    pub role: String,
    /// The HTTP status (`null` when no answer came).
    pub status: Option<u16>,
    /// The body's length.
    pub bytes: usize,
    /// Why no body came, in one sentence.
    pub error: Option<String>,
    /// Entries the reader found, when the kind counts them.
    pub entries: Option<usize>,
    /// The sessions the reader produced, every field shown.
    pub sessions: Vec<SessionReport>,
    /// What the reader looked for and did not find.
    pub misses: Vec<MissReport>,
    /// Where `--save` wrote the body, when it did.
    pub saved_as: Option<String>,
}

/// A session as the check shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SessionReport {
    /// The session's title.
    pub title: String,
    /// Start in the source's zone (`2027-04-09 09:30 BST`).
    pub start_local: String,
    /// End in the source's zone.
    pub end_local: String,
    /// Start, RFC 3339 UTC.
    pub start_utc: String,
    /// End, RFC 3339 UTC.
    pub end_utc: String,
    /// Places as every output words them (`12 places`, `places not published`).
    pub places: String,
    /// `scheduled`, `full`, `closed`, `cancelled`.
    pub status: String,
    /// The venue, `Online`, or `null`.
    pub location: Option<String>,
    /// The booking page.
    pub url: String,
}

/// A field a reader did not find on one page.
#[derive(Debug, Clone, Serialize)]
pub struct MissReport {
    /// What was not found (`places`, `description`, `session date`).
    pub field: String,
    /// The source-file key to override, or `null` when no setting changes it.
    pub key: Option<String>,
    /// The selector or pattern in force.
    pub pattern: String,
    /// What it looked at instead (clipped, terminal-safe).
    pub looked_at: String,
    /// True when the miss cost an entry, a session or a session's places.
    pub required: bool,
}

/// The check's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Pages (and API calls) that answered with a body.
    pub pages_read: usize,
    /// Pages asked for that gave no body.
    pub pages_failed: usize,
    /// Sessions the walk read.
    pub sessions: usize,
    /// Each key (or unreadable field) that missed, with on how many pages.
    pub findings: Vec<Finding>,
    /// Why the walk stopped early or failed, when it did.
    pub stopped: Option<String>,
    /// At least one session and no required miss: exit 0.
    pub ok: bool,
}

/// One key (or field) that found nothing, over the pages of one role.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What was not found.
    pub field: String,
    /// The source-file key, or `null` when no setting changes it.
    pub key: Option<String>,
    /// The role of the pages it was looked for on.
    pub role: String,
    /// Pages it missed on.
    pub missed_on: usize,
    /// Pages of that role read.
    pub of: usize,
    /// It found nothing on any page of that role.
    pub never_found: bool,
    /// A miss of it cost an entry, a session or places.
    pub required: bool,
    /// What happened, in one sentence.
    pub sentence: String,
    /// What to change, and in which file.
    pub advice: String,
}

/// Checks source `id` of `sources`: walks it once with the crawl's fetcher
/// (built on `fetch`), at most `pages` listing and `pages` detail pages, and
/// reports every page. Also returns the probe's pages (with their bodies),
/// for `--save`.
pub async fn run(
    sources: &[SourceConfig],
    id: &str,
    fetch: FetchConfig,
    now: DateTime<Utc>,
    pages: usize,
) -> Result<(CheckReport, Vec<PageProbe>), CheckError> {
    let cfg = find(sources, id)?;
    let cfg = bounded(cfg, pages);
    let fetcher = Fetcher::new(fetch, None).map_err(|e| CheckError::Client(e.to_string()))?;
    let probe = Probe::on();
    let walked = crawl::dry_walk(&cfg, &fetcher, now, probe.clone()).await;
    let heard = probe.pages();
    let page_reports: Vec<PageReport> =
        heard.iter().map(|p| page_report(p, cfg.timezone)).collect();
    let (sessions, stopped) = match &walked {
        Ok(g) => (
            g.sessions.len(),
            g.limit.as_ref().map(|l| {
                format!(
                    "stopped at {} {} (--pages {pages}, or limits.{} in {})",
                    l.value,
                    l.what,
                    l.setting,
                    l.file.display()
                )
            }),
        ),
        Err(WalkError::Skip(m)) => (0, Some(format!("skipped: {m}"))),
        Err(WalkError::Fail(m)) => (
            0,
            Some(format!("failed: {}", crawl::plain_error(&m.to_string()))),
        ),
    };
    let summary = summarise(&cfg, &page_reports, sessions, stopped);
    let report = CheckReport {
        source: cfg.id.clone(),
        kind: cfg.kind_name,
        file: cfg.file.display().to_string(),
        timezone: cfg.timezone.name().to_string(),
        checked_at: now,
        pages: page_reports,
        summary,
    };
    Ok((report, heard))
}

/// The source with id `id`, or the sentence listing the known ones.
fn find<'a>(sources: &'a [SourceConfig], id: &str) -> Result<&'a SourceConfig, CheckError> {
    if let Some(s) = sources.iter().find(|s| s.id == id) {
        return Ok(s);
    }
    if sources.is_empty() {
        return Err(CheckError::NoSources { id: id.into() });
    }
    let ids: Vec<&str> = sources.iter().map(|s| s.id.as_str()).collect();
    Err(CheckError::UnknownSource {
        id: id.into(),
        known: ids.join(", "),
    })
}

/// `cfg` with its page limits lowered to `pages` (never raised).
fn bounded(cfg: &SourceConfig, pages: usize) -> SourceConfig {
    let mut c = cfg.clone();
    c.limits.max_pages = c.limits.max_pages.min(pages);
    c.limits.max_event_pages = c.limits.max_event_pages.min(pages);
    c.limits.max_api_calls = c.limits.max_api_calls.min(pages);
    c
}

fn page_report(p: &PageProbe, tz: Tz) -> PageReport {
    let role = if p.role.is_empty() { "unread" } else { p.role };
    PageReport {
        url: crate::present::terminal_safe(&p.url),
        role: role.into(),
        status: p.status,
        bytes: p.bytes,
        error: p.error.as_deref().map(crawl::plain_error),
        entries: p.entries,
        sessions: p.sessions.iter().map(|s| session_report(s, tz)).collect(),
        misses: p
            .misses
            .iter()
            .map(|m| MissReport {
                field: m.field.into(),
                key: m.key.map(String::from),
                pattern: crate::present::terminal_safe(&m.pattern),
                looked_at: m.looked_at.clone(),
                required: m.required,
            })
            .collect(),
        saved_as: None,
    }
}

fn session_report(s: &Session, source_tz: Tz) -> SessionReport {
    let tz: Tz = s.timezone.parse().unwrap_or(source_tz);
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string();
    let utc = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let safe = |t: &str| crate::present::clip(t, 200);
    SessionReport {
        title: safe(&s.title),
        start_local: local(s.start),
        end_local: local(s.end),
        start_utc: utc(s.start),
        end_utc: utc(s.end),
        places: crate::feed::places_label(s),
        status: s.status.as_str().into(),
        location: s.venue.as_deref().map(safe),
        url: safe(&s.url),
    }
}

/// Groups the pages' misses by key and field over the pages of each role.
fn summarise(
    cfg: &SourceConfig,
    pages: &[PageReport],
    sessions: usize,
    stopped: Option<String>,
) -> Summary {
    let mut findings: Vec<Finding> = Vec::new();
    for p in pages {
        for m in &p.misses {
            let at = findings
                .iter()
                .position(|f| f.key == m.key && f.field == m.field && f.role == p.role);
            let f = match at {
                Some(i) => &mut findings[i],
                None => {
                    let of = pages.iter().filter(|q| q.role == p.role).count();
                    findings.push(Finding {
                        field: m.field.clone(),
                        key: m.key.clone(),
                        role: p.role.clone(),
                        missed_on: 0,
                        of,
                        never_found: false,
                        required: false,
                        sentence: String::new(),
                        advice: String::new(),
                    });
                    findings.last_mut().expect("just pushed")
                }
            };
            // One count per page, however many rows of it missed.
            if !p.misses[..]
                .iter()
                .take_while(|x| !std::ptr::eq(*x, m))
                .any(|x| x.key == m.key && x.field == m.field)
            {
                f.missed_on += 1;
            }
            f.required |= m.required;
        }
    }
    for f in &mut findings {
        f.never_found = f.missed_on == f.of;
        f.sentence = render::finding_sentence(f);
        f.advice = render::advice(f, &cfg.file);
    }
    let ok = sessions > 0 && !findings.iter().any(|f| f.required);
    Summary {
        pages_read: pages.iter().filter(|p| p.error.is_none()).count(),
        pages_failed: pages.iter().filter(|p| p.error.is_some()).count(),
        sessions,
        findings,
        stopped,
        ok,
    }
}
