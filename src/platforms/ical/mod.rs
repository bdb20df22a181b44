//! `kind = "ical"`: an existing calendar feed (a CMS events plugin's export, a
//! shared Outlook calendar), one session per occurrence.
//!
//! This folder is the whole platform: its settings and walk (this file: one
//! conditional GET of the feed) and its reader: `lines` (content lines and
//! components), `zones` (TZIDs and `VTIMEZONE`s), `recur` (expanding
//! repeating events) and `parse` (events into sessions). Merging, limits and
//! health belong to the generic crawl.

mod lines;
mod parse;
mod recur;
mod zones;

pub use parse::*;

use super::{Configured, Kind, Platform};
use crate::source::{ConfigError, KindFields};
use crate::source::{Gathered, WalkError, Walker};
use serde::Deserialize;
use std::sync::Arc;
use url::Url;

/// The registry's entry for this platform.
pub const PLATFORM: Platform = Platform {
    kind: "ical",
    configure,
};

/// Settings of an `ical` source: one calendar feed.
#[derive(Debug, Clone, PartialEq)]
pub struct IcalConfig {
    /// The feed's address (http or https).
    pub url: Url,
}

/// The fields an `ical` source file may set besides the common ones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    url: Option<String>,
}

fn configure(fields: &KindFields<'_>) -> Result<Configured, ConfigError> {
    let f: Fields = fields.read()?;
    let url = fields.required("url", f.url, "the feed's address")?;
    let url = crate::source::settings::parse_url(&url).map_err(|m| fields.error("url", m))?;
    Ok(Configured {
        // The site is the feed's own host unless the file says otherwise.
        default_base_url: Some(url.clone()),
        kind: Arc::new(IcalConfig { url }),
    })
}

impl Kind for IcalConfig {
    fn walk<'a>(&'a self, w: &'a Walker<'a>) -> super::WalkFuture<'a> {
        Box::pin(walk(self, w))
    }
}

/// Fetches the feed and reads every occurrence in the reader's window.
async fn walk(ic: &IcalConfig, w: &Walker<'_>) -> Result<Gathered, WalkError> {
    let page = w.get(&ic.url).await?;
    let max = w.source.limits.max_sessions;
    let (url, ctx) = (ic.url.clone(), w.ctx.clone());
    // Read on a blocking thread: a large feed takes a while to expand, and
    // the async workers must stay free to answer requests.
    let feed = w
        .blocking(move || parse_feed_within(&page.text(), &url, &ctx, max))
        .await??;
    tracing::debug!(source = %w.source.id, calendar = ?feed.name, sessions = feed.sessions.len(), "feed read");
    w.ctx.probe.read(&ic.url, "feed", None, &feed.sessions);
    if feed.sessions.is_empty() {
        let miss = super::FieldMiss::new(
            "events",
            Some("url"),
            ic.url.as_str(),
            "the feed held no event in the reader's window",
        );
        w.ctx.probe.missed(&ic.url, miss.required());
    }
    Ok(Gathered {
        sessions: feed.sessions,
        courses: None,
        limit: feed
            .stopped_at_limit
            .then(|| w.limit_hit("max_sessions", max, "sessions")),
    })
}
