//! events: gathers safeguarding training sessions from their booking sites into an
//! embedded store and serves one subscribable calendar with places left.
//!
//! Data flows one way. From the bottom up (a module uses only those below
//! it; `tests/layers.rs` holds the code to this):
//!
//! - `model`, `errors`, `terminal`, `query`: sessions, error words, text made
//!   safe for a terminal, a view's filters;
//! - `changes` (what changed, as data), `duplicates` (which listings of
//!   several sources are one session, and the entry it shows; data) and
//!   `store` (sled, with change tracking, health and backups' parts);
//!   `fetch` (HTTP with politeness);
//! - `source`: the interface every kind of source meets: a source's
//!   settings, the `Kind` trait, the `Walker`, typed crawl errors;
//! - `platforms` (one folder per kind, implementing `source`), then `config`
//!   (the sources directory, through the registry), `links` and `crawl`
//!   (each kind's walk, merged into the store);
//! - `feed` (iCalendar), `present` (JSON shapes, words, tables), `page`
//!   (HTML), `atom`, `source_status`, `answers` (the read commands'
//!   questions), `backup`, `site` (`events.toml`);
//! - `views`: every view of the store, rendered and cached, which `server`
//!   answers HTTP from and `export` writes to files;
//! - `server`, `export`, `remote` (a server asked over HTTP), `check`
//!   (`events check`), `metrics`;
//! - `cli`, and `main` on top.

#![warn(missing_docs)]

pub mod answers;
pub mod atom;
pub mod backup;
pub mod changes;
pub mod check;
pub mod cli;
pub mod config;
pub mod crawl;
pub mod duplicates;
pub mod errors;
pub mod export;
pub mod feed;
pub mod feed_cache;
pub mod fetch;
pub mod links;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod page;
pub mod platforms;
pub mod present;
pub mod query;
pub mod remote;
pub mod replica;
pub mod scaled_replica;
pub mod server;
pub mod site;
pub mod source;
pub mod source_status;
pub mod store;
pub mod terminal;
pub mod views;
