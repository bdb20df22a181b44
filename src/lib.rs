//! events: gathers safeguarding training sessions from their booking sites into an
//! embedded store and serves one subscribable calendar with places left.
//!
//! Data flows one way: `config` → `crawl` (using `fetch`) → `adapters` → `store`
//! → `feed` / `server` / `cli`.

pub mod adapters;
pub mod config;
pub mod feed;
pub mod model;
pub mod query;
pub mod fetch;
pub mod store;
pub mod cli;
pub mod crawl;
pub mod present;
pub mod schedule;
pub mod page;
pub mod server;
pub mod replica;
