//! The source interface: what every kind of source is to the rest of the
//! program and what it is given. A source's settings (`settings`), the
//! registry's entry and a kind's trait (`kind`), the walker a kind's walk
//! reads the site through (`walker`), the paging every walk shares
//! (`pager`), typed crawl errors (`error`) and the probe `events check`
//! listens with (`probe`).
//!
//! It sits below both the platforms, which implement it, and the crawl and
//! `config`, which use it; the registry (`platforms::PLATFORMS`) sits above
//! it, so neither side imports the other.

pub mod error;
pub mod kind;
pub mod pager;
pub mod probe;
pub mod settings;
pub mod walker;

pub use error::{CrawlError, ParseError};
pub use kind::{Configured, Kind, Platform, WalkFuture};
pub use pager::{EventPages, Known, ListingPage, Pager};
pub use probe::{FieldMiss, PageProbe, Probe};
pub use settings::{ConfigError, KindFields, Limits, SourceConfig};
pub use walker::{Gathered, LimitHit, SourceContext, WalkError, Walker};
