//! The interface between a kind of source and the rest of the program: the
//! registry's entry (`Platform`), what a platform makes of a source file
//! (`Configured`, a `Kind`) and a walk's future. What a walk and its readers
//! are given is `walker`'s; what they fail with, `error`'s.

use crate::source::settings::{ConfigError, KindFields};
use crate::source::walker::{Gathered, WalkError, Walker};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// One entry of the registry.
pub struct Platform {
    /// The `kind = "…"` of its source files.
    pub kind: &'static str,
    /// Reads the kind's own fields of a source file (everything but the
    /// common ones), checking and compiling them once.
    pub configure: fn(&KindFields<'_>) -> Result<Configured, ConfigError>,
}

/// What a platform made of a source file's own fields.
pub struct Configured {
    /// The kind's settings, which also walk the source.
    pub kind: Arc<dyn Kind>,
    /// The `base_url` when the file gives none (`None`: the file must).
    pub default_base_url: Option<url::Url>,
}

/// The future of one walk.
pub type WalkFuture<'a> = Pin<Box<dyn Future<Output = Result<Gathered, WalkError>> + Send + 'a>>;

/// A kind's settings for one source, and how to walk it.
pub trait Kind: std::fmt::Debug + Send + Sync + std::any::Any {
    /// Reads the source once through `w` (which counts requests, keeps
    /// politeness and knows what the store holds) and returns what was found;
    /// the crawl merges it.
    fn walk<'a>(&'a self, w: &'a Walker<'a>) -> WalkFuture<'a>;

    /// A booking system, which publishes the places it sells, as opposed to
    /// a website listing or a calendar feed: when one session is listed by
    /// several sources, the merged entry takes its places and status from a
    /// booking system's listing first.
    fn is_booking_system(&self) -> bool {
        false
    }
}
