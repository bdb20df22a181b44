//! The walk of an `ical` source: one conditional GET of the feed, handed to
//! the pure parser in `adapters::ical`.
//!
//! Owns only the order of requests for this kind (there is one); parsing
//! lives in the adapter, limits, merging and health in `crawl`.

use super::{Gathered, Observed, WalkError};
use crate::adapters::{ical, SourceContext};
use crate::config::{IcalConfig, SourceConfig};

/// Fetches the feed and reads every occurrence in the adapter's window.
pub(super) async fn walk(
    cfg: &SourceConfig,
    ic: &IcalConfig,
    http: &Observed<'_>,
    ctx: &SourceContext,
) -> Result<Gathered, WalkError> {
    let page = http.get(&ic.url).await?;
    let feed =
        ical::parse_feed(&page.text(), &ic.url, ctx).map_err(|e| WalkError::Fail(e.to_string()))?;
    tracing::debug!(source = %cfg.id, calendar = ?feed.name, sessions = feed.sessions.len(), "feed read");
    Ok(Gathered {
        sessions: feed.sessions,
        courses: None,
        limit: None,
    })
}
