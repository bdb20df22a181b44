//! `events check`'s words: the terminal report and the sentences of its
//! summary (the JSON is the report itself, serialised).

use super::{CheckReport, Finding, PageReport};
use crate::present::terminal_safe;
use std::fmt::Write as _;
use std::path::Path;

/// What happened to one key over the pages of one role, in one sentence:
/// "`selectors.description` matched nothing on 5 of 5 detail pages".
pub fn finding_sentence(f: &Finding) -> String {
    let pages = format!(
        "{} of {} {} page{}",
        f.missed_on,
        f.of,
        f.role,
        plural(f.of)
    );
    match f.key.as_deref() {
        Some("page_url") => format!("{pages} may hold only the first of the site's events"),
        Some(k) if k.starts_with("selectors.") => format!("`{k}` matched nothing on {pages}"),
        Some(k) => format!("`{k}` found nothing on {pages}"),
        None => format!("the {} could not be read on {pages}", f.field),
    }
}

/// What to change, and where: the override key and its file.
pub fn advice(f: &Finding, file: &Path) -> String {
    let file = file.display();
    match f.key.as_deref().and_then(|k| k.split_once('.')) {
        Some(("selectors", name)) => format!(
            "set `{name}` under `[selectors]` in {file} to a CSS selector that finds the {} on the site",
            f.field
        ),
        Some(("labels", name)) => format!(
            "set `{name}` under `[labels]` in {file} to a pattern that matches the site's label for the {}",
            f.field
        ),
        Some((table, name)) => format!("check `{name}` under `[{table}]` in {file}"),
        None => match f.key.as_deref() {
            Some("page_url") => format!(
                "if the site lists more events than the feed holds, set `page_url` in {file} to where the export's later pages are (The Events Calendar: \"/events/list/page/{{page}}/?ical=1\")"
            ),
            Some(k) => format!("check `{k}` in {file}"),
            None => "no setting changes how it is read: save the page with --save and report its wording".into(),
        },
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// The terminal report: each page, then the summary. Everything that came
/// from a site is already clipped and terminal-safe; it is made safe again
/// here, since this is what reaches the terminal.
pub fn text(r: &CheckReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Checking {} ({}, {}), times in {}; nothing is written to the store.",
        r.source, r.kind, r.file, r.timezone
    );
    for p in &r.pages {
        page(&mut out, p);
    }
    summary(&mut out, r);
    out
}

fn page(out: &mut String, p: &PageReport) {
    let status = p
        .status
        .map_or_else(|| "no answer".to_string(), |s| format!("HTTP {s}"));
    let _ = writeln!(
        out,
        "\n{} {} ({status}, {} bytes)",
        p.role,
        terminal_safe(&p.url),
        p.bytes
    );
    if let Some(e) = &p.error {
        let _ = writeln!(out, "  error: {}", terminal_safe(e));
    }
    if let Some(n) = p.entries {
        let _ = writeln!(out, "  {n} entr{}", if n == 1 { "y" } else { "ies" });
    }
    for s in &p.sessions {
        let _ = writeln!(out, "  session: {}", terminal_safe(&s.title));
        let _ = writeln!(
            out,
            "    {} – {} ({} – {})",
            s.start_local, s.end_local, s.start_utc, s.end_utc
        );
        let _ = writeln!(
            out,
            "    {}, {}, {}",
            s.places,
            s.status,
            terminal_safe(s.location.as_deref().unwrap_or("no location"))
        );
        let _ = writeln!(out, "    {}", terminal_safe(&s.url));
    }
    for m in &p.misses {
        let by = match &m.key {
            Some(k) => format!("`{k}` (`{}`)", terminal_safe(&m.pattern)),
            None => "no setting".to_string(),
        };
        let _ = writeln!(
            out,
            "  not found: {}{} by {by}; looked at: {}",
            m.field,
            if m.required { " (required)" } else { "" },
            terminal_safe(&m.looked_at)
        );
    }
    if let Some(f) = &p.saved_as {
        let _ = writeln!(out, "  saved as {}", terminal_safe(f));
    }
}

fn summary(out: &mut String, r: &CheckReport) {
    let s = &r.summary;
    let _ = writeln!(
        out,
        "\nSummary: {} page{} read, {} failed, {} session{}.",
        s.pages_read,
        plural(s.pages_read),
        s.pages_failed,
        s.sessions,
        plural(s.sessions)
    );
    if let Some(why) = &s.stopped {
        let _ = writeln!(out, "The walk {}.", terminal_safe(why));
    }
    let never: Vec<&Finding> = s.findings.iter().filter(|f| f.never_found).collect();
    let some: Vec<&Finding> = s.findings.iter().filter(|f| !f.never_found).collect();
    if never.is_empty() {
        let _ = writeln!(out, "Every field was found on at least one page.");
    } else {
        let _ = writeln!(out, "Never found on any page:");
        for f in never {
            finding(out, f);
        }
    }
    if !some.is_empty() {
        let _ = writeln!(out, "Missed on some pages:");
        for f in some {
            finding(out, f);
        }
    }
    let _ = writeln!(
        out,
        "{}",
        if s.ok {
            "OK: sessions were read and nothing required is missing."
        } else if s.sessions == 0 {
            "NOT OK: no session was read."
        } else {
            "NOT OK: something required is missing (marked `required`)."
        }
    );
}

fn finding(out: &mut String, f: &Finding) {
    let _ = writeln!(
        out,
        "  - {}{}; {}.",
        f.sentence,
        if f.required { " (required)" } else { "" },
        f.advice
    );
}
