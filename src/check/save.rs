//! `events check --save DIR`: each body fetched, written under DIR in the
//! layout of `tests/fixtures/<kind>/` (the request path without its leading
//! `/`, every other `/` as `_`, each query pair `k=v` as `_k-v`, and an
//! extension for what the body is), with a README listing each page's
//! address, the date, its status and what was read.

use super::{CheckReport, PageReport};
use crate::platforms::PageProbe;
use anyhow::{Context, Result};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

/// The longest file name written, before its extension.
const MAX_STEM: usize = 120;

/// Writes every body of `heard` into `dir` (made if missing) with a
/// `README.md`, and notes each page's file in `report`.
pub fn save(report: &mut CheckReport, heard: &[PageProbe], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("making {}", dir.display()))?;
    let mut used = HashSet::new();
    for (page, probe) in report.pages.iter_mut().zip(heard) {
        let Some(body) = &probe.body else { continue };
        let name = unique(file_name(&probe.url, body), &mut used);
        std::fs::write(dir.join(&name), body)
            .with_context(|| format!("writing {}", dir.join(&name).display()))?;
        page.saved_as = Some(name);
    }
    std::fs::write(dir.join("README.md"), readme(report))
        .with_context(|| format!("writing {}", dir.join("README.md").display()))?;
    Ok(())
}

/// The fixture name of the page at `url`: `/events-list?page=2` →
/// `events-list_page-2.html`, `/` → `index.html`.
pub fn file_name(url: &str, body: &[u8]) -> String {
    let Ok(u) = url::Url::parse(url) else {
        return format!("page.{}", extension(body));
    };
    let mut stem = u
        .path()
        .trim_start_matches('/')
        .trim_end_matches('/')
        .replace('/', "_");
    for (k, v) in u.query_pairs() {
        let _ = write!(stem, "_{k}-{v}");
    }
    let mut stem: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(MAX_STEM)
        .collect();
    stem = stem.trim_matches('.').to_string();
    if stem.is_empty() {
        stem = "index".into();
    }
    let ext = extension(body);
    if stem.ends_with(&format!(".{ext}")) {
        stem
    } else {
        format!("{stem}.{ext}")
    }
}

/// `json`, `ics`, `txt` (robots.txt-like plain text is never fetched as a
/// page) or `html`, from the body's first bytes.
fn extension(body: &[u8]) -> &'static str {
    let start = String::from_utf8_lossy(&body[..body.len().min(64)]);
    let t = start.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        "json"
    } else if t.to_ascii_uppercase().starts_with("BEGIN:VCALENDAR") {
        "ics"
    } else {
        "html"
    }
}

fn unique(name: String, used: &mut HashSet<String>) -> String {
    let mut candidate = name.clone();
    let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, ""));
    for n in 2.. {
        if used.insert(candidate.clone()) {
            break;
        }
        candidate = format!("{stem}_{n}.{ext}");
    }
    candidate
}

/// The README of the saved pages: where each came from and what was read.
fn readme(r: &CheckReport) -> String {
    let mut out = format!(
        "# `{}` (`{}`) pages saved by `events check`\n\nSaved on {} from the source file `{}`; times in `{}`.\nTests that read these pages should freeze the clock at **{}**.\n\n",
        r.source,
        r.kind,
        r.checked_at.format("%Y-%m-%d"),
        r.file,
        r.timezone,
        r.checked_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    out.push_str(
        "## URL → file\n\n| request | file | status | what was read |\n|---|---|---|---|\n",
    );
    for p in &r.pages {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            cell(&p.url),
            p.saved_as
                .as_deref()
                .map_or_else(|| "–".to_string(), |f| format!("`{f}`")),
            p.status
                .map_or_else(|| "no answer".into(), |s| s.to_string()),
            cell(&what_was_read(p)),
        );
    }
    let _ = write!(
        out,
        "\n## Summary\n\n{} pages read, {} sessions.\n",
        r.summary.pages_read, r.summary.sessions
    );
    for f in &r.summary.findings {
        let _ = writeln!(out, "- {}; {}.", cell(&f.sentence), cell(&f.advice));
    }
    out
}

fn what_was_read(p: &PageReport) -> String {
    let mut parts = vec![p.role.clone()];
    if let Some(n) = p.entries {
        parts.push(format!("{n} entries"));
    }
    parts.push(format!("{} sessions", p.sessions.len()));
    for s in &p.sessions {
        parts.push(format!("{} at {} ({})", s.title, s.start_utc, s.places));
    }
    for m in &p.misses {
        match &m.key {
            Some(k) => parts.push(format!("no {} (`{k}`)", m.field)),
            None => parts.push(format!("no {}", m.field)),
        }
    }
    parts.join("; ")
}

/// Text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    crate::present::terminal_safe(s).replace('|', "\\|")
}
