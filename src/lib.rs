//! events: gathers safeguarding training sessions from their booking sites into an
//! embedded store and serves one subscribable calendar with places left.
//!
//! Data flows one way: `config` (common fields, then each kind's own through
//! `platforms`) → `crawl` (the kind's walk through `fetch`, the platform's
//! readers) → `store` → `feed` / `server` / `cli`.

#![warn(missing_docs)]

pub mod answers;
pub mod atom;
pub mod backup;
pub mod changes;
pub mod check;
pub mod cli;
pub mod config;
pub mod crawl;
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
pub mod source_status;
pub mod store;
pub mod views;
