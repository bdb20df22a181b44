//! `kind = "schema-org"`: a site whose event pages carry schema.org `Event`
//! JSON-LD (the markup search engines read), as most CMS events plugins write.
//!
//! This folder is the whole platform: its settings (this file), its walk
//! (`walk.rs`: the listing and its `rel="next"` pages, then the event pages)
//! and its reader (`parse.rs`), which Eventbrite's public path shares.

mod parse;
mod walk;

pub use parse::*;

use super::{Configured, Kind, Platform};
use crate::source::{ConfigError, KindFields};
use regex::Regex;
use serde::Deserialize;
use std::sync::Arc;

/// The registry's entry for this platform.
pub const PLATFORM: Platform = Platform {
    kind: "schema-org",
    configure,
};

/// Settings of a `schema-org` source: a listing of event pages carrying
/// schema.org `Event` JSON-LD.
#[derive(Debug, Clone)]
pub struct SchemaOrgConfig {
    /// Path of the page listing the events, e.g. `/events/`.
    pub listing: String,
    /// A pattern the paths of event links must match, used when the listing's
    /// JSON-LD names no events; compiled when the source file is loaded.
    pub event_path: Option<Regex>,
}

impl PartialEq for SchemaOrgConfig {
    fn eq(&self, other: &Self) -> bool {
        self.listing == other.listing
            && self.event_path.as_ref().map(Regex::as_str)
                == other.event_path.as_ref().map(Regex::as_str)
    }
}

/// The fields a `schema-org` source file may set besides the common ones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    listing: Option<String>,
    event_path: Option<String>,
}

fn configure(fields: &KindFields<'_>) -> Result<Configured, ConfigError> {
    let f: Fields = fields.read()?;
    let holds = "the path of the page listing events";
    let listing = fields.required("listing", f.listing, holds)?;
    fields.site_path("listing", &listing)?;
    let event_path = match f.event_path {
        None => None,
        Some(pat) => Some(Regex::new(&pat).map_err(|e| {
            fields.error("event_path", format!("`{pat}` is not a valid pattern: {e}"))
        })?),
    };
    Ok(Configured {
        kind: Arc::new(SchemaOrgConfig {
            listing,
            event_path,
        }),
        default_base_url: None,
    })
}

impl Kind for SchemaOrgConfig {
    fn walk<'a>(&'a self, w: &'a crate::source::Walker<'a>) -> super::WalkFuture<'a> {
        Box::pin(walk::walk(self, w))
    }
}
