//! The `events` binary: parses arguments, sets up logging, runs the command and
//! turns any failure into one sentence and an exit code (never a backtrace).

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};
use events::cli::{self, Cli};
use std::io::IsTerminal;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

fn main() {
    events::memory::tame_allocator();
    let matches = Cli::command().get_matches();
    let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    cli.data_given = matches
        .value_source("data")
        .is_some_and(|s| s != ValueSource::DefaultValue);
    // By default: warnings, and each crawl's one-line summary from `watch`
    // and `serve` (see `crawl::schedule::CRAWL_LOG`).
    let filter = EnvFilter::try_from_env("EVENTS_LOG").unwrap_or_else(|_| {
        EnvFilter::new(format!("warn,{}=info", events::crawl::schedule::CRAWL_LOG))
    });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // Colour codes only for a person at a terminal, not in a log file.
                .with_ansi(std::io::stderr().is_terminal())
                .with_target(false)
                .with_filter(filter),
        )
        // Counted whatever EVENTS_LOG shows, for the per-source error counts.
        .with(events::crawl::CountWarnings.with_filter(LevelFilter::WARN))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(cli::run(cli)) {
        Ok(()) => 0,
        Err(exit) => {
            if let Some(e) = exit.error {
                // `{:#}` prints the whole context chain on one line.
                eprintln!("error: {e:#}");
            }
            exit.code
        }
    };
    if let Some(kib) = events::memory::peak_resident_kib() {
        tracing::debug!(target: "events::memory", peak_kib = kib, "peak resident memory (VmHWM)");
    }
    std::process::exit(code);
}
