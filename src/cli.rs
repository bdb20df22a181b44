//! The `events` command line: clap definitions and what each command prints.
//!
//! Wires config, fetcher, crawl, store, feed and server together. Errors reach
//! `main` as one sentence with an exit code; nothing here parses pages.

use crate::answers::{ChangesQuery, SessionsQuery};
use crate::backup;
use crate::config::{self, SourceConfig};
use crate::crawl::schedule::{self, CRAWL_LOG};
use crate::crawl::{self, CrawlReport};
use crate::fetch::{FetchConfig, Fetcher};
use crate::model::Course;
use crate::present::change::ChangeJson;
use crate::present::duplicates::GroupJson;
use crate::present::{self, SessionJson};
use crate::query::Filter;
use crate::remote::{Remote, Serving};
use crate::replica::{self, Replica, Site};
use crate::server;
use crate::site::{self, Site as Settings};
use crate::source_status::SourceStatus;
use crate::store::Store;
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The parsed command line: the options every command takes, and the command.
#[derive(Debug, Parser)]
#[command(
    name = "events",
    version,
    about = "Safeguarding training sessions from their booking sites, in one calendar with places left"
)]
pub struct Cli {
    /// Directory of source files (*.toml).
    #[arg(long, global = true, env = "EVENTS_SOURCES", default_value = "sources")]
    pub sources: PathBuf,
    /// Directory of the store.
    #[arg(long, global = true, env = "EVENTS_DATA", default_value = "data")]
    pub data: PathBuf,
    /// True when `--data` (or `EVENTS_DATA`) was given rather than defaulted:
    /// `demo` keeps its store there only then, never in a real `data`.
    #[arg(skip)]
    pub data_given: bool,
    /// A URL or email the crawler's User-Agent names, so site owners can
    /// reach us (default: `contact` in the settings file).
    #[arg(long, global = true, env = "EVENTS_CONTACT")]
    pub contact: Option<String>,
    /// The settings file: the site's title, description, public_url and
    /// contact (default: events.toml beside the sources directory, if there).
    #[arg(long, global = true, env = "EVENTS_CONFIG")]
    pub config: Option<PathBuf>,
    /// What the settings file says; read by `run` before any command.
    #[arg(skip)]
    pub site: Settings,
    /// Ask the events server at this address (e.g.
    /// https://training.example.org) instead of reading a store: for
    /// `upcoming`, `changes`, `sources`, `courses` and `ics`.
    #[arg(long, global = true, env = "EVENTS_SERVER")]
    pub server: Option<String>,
    /// Pretend it is this instant (RFC 3339), for reproducible runs.
    #[arg(long, global = true, env = "EVENTS_NOW", hide = true)]
    pub now: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How `serve` (and `demo`) serve.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (loopback by default); a host name
    /// such as `localhost` is looked up once, at start.
    #[arg(long, default_value = server::DEFAULT_LISTEN, value_parser = parse_listen)]
    pub listen: SocketAddr,
    /// Memory for rendered feeds (kept gzipped), e.g. `16MiB`; least recently
    /// used feeds go first, the whole calendar and per-source and per-category
    /// feeds last.
    #[arg(long, env = "EVENTS_FEED_CACHE", default_value = "16MiB")]
    pub feed_cache: bytesize::ByteSize,
    /// Memory for each session's rendered event, e.g. `12MiB`, so an unusual
    /// filter is mostly put together rather than rendered; once full, further
    /// sessions are rendered each time (and a warning is logged).
    #[arg(long, env = "EVENTS_EVENT_BLOCKS", default_value = "12MiB")]
    pub event_blocks: bytesize::ByteSize,
    /// The address people reach this server at, e.g.
    /// `https://training.example.org` (origin only): the page's subscribe
    /// links and the changes feed's links are built on it. Without it (and
    /// without --trust-proxy) those links are relative, never taken from a
    /// request's Host header.
    #[arg(long, env = "EVENTS_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<server::PublicOrigin>,
    /// Build absolute links from the Forwarded (or X-Forwarded-Proto and
    /// X-Forwarded-Host) headers of the reverse proxy in front of this
    /// server. Only when no client can reach the server but through that
    /// proxy; --public-url wins over it.
    #[arg(long, env = "EVENTS_TRUST_PROXY")]
    pub trust_proxy: bool,
}

impl ServeArgs {
    /// Where absolute links point: `--public-url`, else the settings
    /// file's `public_url`, else the trusted proxy's headers, else nowhere
    /// (relative links).
    pub fn origin(&self, site: &Settings) -> server::PublicOrigin {
        match (&self.public_url, &site.public_url, self.trust_proxy) {
            (Some(o), _, _) => o.clone(),
            (None, Some(url), _) => server::PublicOrigin::Configured(url.clone()),
            (None, None, true) => server::PublicOrigin::TrustedProxy,
            (None, None, false) => server::PublicOrigin::Relative,
        }
    }
}

/// Reads a `--listen` address: `HOST:PORT`, the host an IP address or a
/// name, looked up now (`localhost` is the loopback address; where a name has
/// an IPv4 and an IPv6 address, the IPv4 one).
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let advice = format!(
        "give HOST:PORT, e.g. {} or localhost:8080",
        server::DEFAULT_LISTEN
    );
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(format!("`{s}` has no port; {advice}"));
    };
    let port: u16 = port
        .parse()
        .map_err(|_| format!("`{port}` is not a port number (0 to 65535); {advice}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        return Err(format!("`{s}` has no host; {advice}"));
    }
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map_err(|e| {
            format!(
                "cannot find the address of `{host}` ({}); {advice}",
                config::io_words(&e)
            )
        })?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("`{host}` has no address; {advice}"))
}

fn parse_public_url(s: &str) -> Result<server::PublicOrigin, String> {
    server::PublicOrigin::configured(s).map_err(|e| e.to_string())
}

/// The commands of `events`; each variant's comment is its `--help` summary.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Poll every source once and update the store.
    Crawl,
    /// List sessions from now on, soonest first (withdrawn ones marked WITHDRAWN).
    Upcoming {
        /// Which sessions to list.
        #[command(flatten)]
        filter: FilterArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List what crawls changed, newest first: sessions new, with places
    /// freed, filling, full, moved, cancelled, withdrawn or reinstated.
    Changes(ChangesArgs),
    /// Print the merged iCalendar feed.
    Ics {
        /// Which sessions the feed holds.
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// List the sessions several sources list, merged into one entry each,
    /// with their listings and why they matched.
    Duplicates {
        /// Print JSON instead of a listing.
        #[arg(long)]
        json: bool,
    },
    /// List the undated eLearning courses.
    Courses {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show each source's health: last crawl, errors, requests.
    Sources {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Crawl every source now and then on its poll_interval, until Ctrl-C.
    Watch,
    /// Crawl on schedule and serve the page, the feeds and the JSON API.
    Serve {
        /// Where to listen and how much to cache.
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Write the calendar, a calendar per source and per category, the JSON and
    /// a static copy of the page into DIR, as `serve` would serve them.
    Export {
        /// Where to write (made if missing); publish it with any static web host.
        dir: PathBuf,
    },
    /// Write a consistent copy of the store to FILE (also while `serve`
    /// runs on the same data directory); `restore` reads it back.
    Backup {
        /// The backup file to write (replaced once complete).
        file: PathBuf,
    },
    /// Make a store in the (new or empty) --data directory from a backup FILE.
    Restore {
        /// A file `events backup` wrote.
        file: PathBuf,
    },
    /// Everything offline: a replica of both sites on loopback, crawled and served.
    Demo {
        /// Where to listen and how much to cache.
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Walk one source without writing the store: what every page yielded,
    /// what the readers missed and which setting to change; --save keeps the
    /// pages as fixtures.
    Check(crate::check::CheckArgs),
    /// Serve a generated booking site of N events until stopped (for `bench/run`).
    #[command(hide = true)]
    Replica(ReplicaArgs),
}

/// `events replica`: a generated `event-booking` site on loopback.
#[derive(Debug, Clone, Args)]
pub struct ReplicaArgs {
    /// How many events the site lists.
    #[arg(long, default_value_t = 1000)]
    pub events: usize,
    /// The same seed gives the same site.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to listen; its base URL is printed on stdout.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}

/// `events changes`: which changes, and how to print them.
#[derive(Debug, Clone, Args)]
pub struct ChangesArgs {
    /// How far back, e.g. `7d`, `36h`, `2w` (changes are kept 90 days).
    #[arg(long, default_value = "7d", value_parser = humantime::parse_duration)]
    pub since: Duration,
    /// Only these kinds, comma-separated or repeated: new, places-freed,
    /// filling, full, moved, cancelled, withdrawn, reinstated.
    #[arg(long, value_delimiter = ',')]
    pub kind: Vec<crate::changes::ChangeKind>,
    /// The filters of `upcoming`, applied to each changed session.
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The filters of `upcoming`, `changes` and `ics`: a view's filters as flags,
/// held to the limits of `serve`'s query strings.
#[derive(Debug, Clone, Args)]
pub struct FilterArgs {
    /// Only sessions starting within N days.
    #[arg(long)]
    pub days: Option<u32>,
    /// Only this source id.
    #[arg(long)]
    pub source: Option<String>,
    /// Only sessions whose category contains this text (repeatable).
    #[arg(long)]
    pub category: Vec<String>,
    /// Only sessions mentioning all these words.
    #[arg(long, visible_alias = "q")]
    pub search: Option<String>,
    /// Only sessions with places left.
    #[arg(long)]
    pub available: bool,
}

impl FilterArgs {
    /// The view these flags ask for, held to the rules and limits of a query
    /// string of `serve` (`Filter::checked`): what the server refuses, the
    /// command line refuses with the same sentence (a usage error, exit 2).
    pub fn to_filter(&self) -> Result<Filter, Exit> {
        Filter {
            source: self.source.clone(),
            categories: self.category.clone(),
            search: self.search.clone(),
            available: self.available,
            online: None,
            days: self.days,
        }
        .checked()
        .map_err(|e| Exit {
            code: 2,
            error: Some(e.into()),
        })
    }
}

/// A failure with its exit code: 2 for usage or configuration, 1 otherwise.
#[derive(Debug)]
pub struct Exit {
    /// The process's exit code.
    pub code: i32,
    /// What to print on stderr; `None` when the command has already said what
    /// went wrong (a failed crawl's report line).
    pub error: Option<anyhow::Error>,
}

impl From<anyhow::Error> for Exit {
    fn from(e: anyhow::Error) -> Self {
        let code = if e.downcast_ref::<config::ConfigError>().is_some() {
            2
        } else {
            1
        };
        Exit {
            code,
            error: Some(e),
        }
    }
}

/// Runs the command: what it prints goes to stdout (progress and notes to
/// stderr); a failure comes back as an [`Exit`] for `main` to report.
pub async fn run(mut cli: Cli) -> Result<(), Exit> {
    let now = clock(&cli)?;
    cli.site = load_site(&cli)?;
    if cli.contact.is_none() {
        cli.contact = cli.site.contact.clone();
    }
    let cli = &cli;
    match &cli.command {
        Command::Crawl => crawl(cli, now).await,
        Command::Upcoming { filter, json } => upcoming(cli, now, filter, *json).await,
        Command::Changes(args) => changes(cli, now, args).await,
        Command::Ics { filter } => ics(cli, now, filter).await,
        Command::Sources { json } => sources(cli, now, *json).await,
        Command::Watch => watch(cli).await,
        Command::Export { dir } => export(cli, now, dir).await,
        Command::Backup { file } => backup(cli, now, file).await,
        Command::Restore { file } => restore(cli, file),
        Command::Serve { serve: args } => serve(cli, args).await,
        Command::Demo { serve } => demo(cli, now, serve).await,
        Command::Replica(r) => replica(now, r).await,
        Command::Courses { json } => courses(cli, now, *json).await,
        Command::Duplicates { json } => duplicates(cli, now, *json).await,
        Command::Check(args) => check(cli, now, args).await,
    }
}

/// `events crawl`: every source once; exit 1 when any failed.
async fn crawl(cli: &Cli, now: DateTime<Utc>) -> Result<(), Exit> {
    let sources = load_sources(&cli.sources)?;
    let store = open_store(&cli.data, true)?;
    let reports = crawl_once(cli, &sources, &store, now).await?;
    for r in &reports {
        println!("{}", present::terminal_safe(&r.line()));
    }
    if reports.iter().any(CrawlReport::failed) {
        return Err(Exit {
            code: 1,
            error: None,
        });
    }
    Ok(())
}

/// `events watch`: crawls on schedule until stopped.
async fn watch(cli: &Cli) -> Result<(), Exit> {
    let sources = load_sources(&cli.sources)?;
    let store = open_store(&cli.data, true)?;
    let fetcher =
        Fetcher::new(fetch_config(cli), Some(store.clone())).context("starting the HTTP client")?;
    let (_tx, stop) = schedule::on_signals();
    eprintln!("watching {} source(s); Ctrl-C to stop", sources.len());
    schedule::run(
        sources,
        fetcher,
        store.clone(),
        Arc::new(LogLines),
        stop,
        true,
    )
    .await;
    store.flush().context("flushing the store")?;
    Ok(())
}

/// `events serve`: crawls on schedule and serves until stopped.
async fn serve(cli: &Cli, args: &ServeArgs) -> Result<(), Exit> {
    let sources = load_sources(&cli.sources)?;
    let store = open_store(&cli.data, true)?;
    let listener = bind(args).await?;
    serve_until_stopped(cli, sources, store, args, listener).await
}

/// The replicas `events demo` crawls, one of each kind of site.
struct DemoSites {
    wsp: Replica,
    vrp: Replica,
    calendar: Replica,
    pages: Replica,
}

impl DemoSites {
    async fn start() -> Result<DemoSites> {
        Ok(DemoSites {
            wsp: Replica::start(Site::Wsp)
                .await
                .context("starting the WSP replica")?,
            vrp: Replica::start(Site::Eventbrite)
                .await
                .context("starting the Eventbrite replica")?,
            calendar: Replica::start(Site::Ical)
                .await
                .context("starting the partnership website's calendar replica")?,
            pages: Replica::start(Site::SchemaOrg)
                .await
                .context("starting the partnership website's event pages replica")?,
        })
    }

    /// A source file for each replica, written into `dir`.
    fn write_sources(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).context("making the demo's sources")?;
        let files = [
            ("wsp.toml", format!(
                "id = \"wsp\"\nname = \"Walsall Safeguarding Partnership (replica)\"\nkind = \"event-booking\"\nbase_url = \"{}\"\nrequests_per_second = 20\n",
                self.wsp.base_url()
            )),
            ("vrp.toml", format!(
                "id = \"vrp\"\nname = \"West Midlands Violence Reduction Partnership (replica)\"\nkind = \"eventbrite\"\nbase_url = \"{}\"\napi_url = \"{}\"\norganizer_id = \"{}\"\ntoken_env = \"EVENTS_DEMO_TOKEN\"\nrequests_per_second = 20\n",
                self.vrp.base_url(),
                self.vrp.api_url(),
                replica::EVENTBRITE_ORGANIZER
            )),
            ("site-calendar.toml", format!(
                "id = \"site-calendar\"\nname = \"Partnership website calendar (replica)\"\nkind = \"ical\"\nurl = \"{}\"\nrequests_per_second = 20\n",
                self.calendar.base_url().join(replica::ICAL_FEED_PATH).context("the feed's address")?
            )),
            ("site-events.toml", format!(
                "id = \"site-events\"\nname = \"Partnership website events (replica)\"\nkind = \"schema-org\"\nbase_url = \"{}\"\nlisting = \"/events/\"\nevent_path = \"^/event/[^/]+/?$\"\nrequests_per_second = 20\n",
                self.pages.base_url()
            )),
        ];
        for (name, text) in files {
            std::fs::write(dir.join(name), text).context("writing the demo's sources")?;
        }
        Ok(())
    }
}

/// `events demo`: the replicas of every kind of site, crawled and served.
async fn demo(cli: &Cli, now: DateTime<Utc>, serve: &ServeArgs) -> Result<(), Exit> {
    // Bound first, so a taken port is said before anything is crawled.
    let listener = bind(serve).await?;
    let sites = DemoSites::start().await?;
    let dir = tempfile::tempdir().context("making a directory for the demo")?;
    let sources_dir = dir.path().join("sources");
    sites.write_sources(&sources_dir)?;
    let sources = load_sources(&sources_dir)?;
    // Kept where --data says when it is given; else thrown away at exit.
    let data = if cli.data_given {
        cli.data.clone()
    } else {
        dir.path().join("data")
    };
    let store = open_store(&data, true)?;
    eprintln!(
        "demo: replicas of the WSP site at {}, of Eventbrite at {}, and of a partnership website's calendar at {} and event pages at {}",
        sites.wsp.base_url(),
        sites.vrp.base_url(),
        sites.calendar.base_url(),
        sites.pages.base_url()
    );
    for r in crawl_once(cli, &sources, &store, now).await? {
        eprintln!("demo: {}", present::terminal_safe(&r.line()));
    }
    serve_until_stopped(cli, sources, store, serve, listener).await
}

/// `events replica`: a generated booking site, served until stopped.
async fn replica(now: DateTime<Utc>, r: &ReplicaArgs) -> Result<(), Exit> {
    // The first sessions are tomorrow (UK), so none is past when crawled.
    let first_day =
        now.with_timezone(&chrono_tz::Europe::London).date_naive() + chrono::Duration::days(1);
    let cfg = crate::scaled_replica::ScaledConfig {
        events: r.events,
        seed: r.seed,
        first_day,
    };
    crate::scaled_replica::serve_until_stopped(cfg, r.listen)
        .await
        .context("serving the generated replica")?;
    Ok(())
}

/// Where the read commands get their answers: the store itself, or a
/// running server's API (`--server`, or the local `serve` that holds the
/// store). Both answer with the same shapes (`answers`), so every command
/// prints the same bytes either way.
enum Reader {
    /// A free store, read through the same state `serve` answers from.
    Local(Box<server::AppState>),
    /// A running server.
    Remote(Remote),
}

/// What a read command needs of a local store.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// An existing store; broken source files are passed over (the store
    /// names its sources).
    Existing,
    /// The store made if missing, and the source files read strictly
    /// (`events sources` lists what is configured).
    Configured,
}

impl Reader {
    /// The server `--server` names, else the local `serve` holding the
    /// data directory, else the store.
    fn open(cli: &Cli, now: DateTime<Utc>, need: Need) -> Result<Reader, Exit> {
        if let Some(url) = &cli.server {
            return Ok(Reader::Remote(Remote::new(url).map_err(usage)?));
        }
        if let Some(s) = Serving::of(&cli.data) {
            return Ok(Reader::Remote(
                Remote::new(&s.url).map_err(anyhow::Error::from)?,
            ));
        }
        let (sources, store) = match need {
            Need::Existing => (
                load_sources(&cli.sources).unwrap_or_default(),
                open_store(&cli.data, false)?,
            ),
            Need::Configured => (load_sources(&cli.sources)?, open_store(&cli.data, true)?),
        };
        let state = server::AppState::new(store, sources, server::fixed_clock(now))
            .with_site(cli.site.clone());
        Ok(Reader::Local(Box::new(state)))
    }

    async fn sources(&self) -> Result<Vec<SourceStatus>, Exit> {
        match self {
            Reader::Local(st) => Ok(st.sources_answer().context("reading source health")?),
            Reader::Remote(r) => Ok(r.sources().await.map_err(anyhow::Error::from)?),
        }
    }

    async fn sessions(&self, q: &SessionsQuery) -> Result<Vec<SessionJson>, Exit> {
        match self {
            Reader::Local(st) => Ok(st.sessions_answer(q).context("reading the store")?),
            Reader::Remote(r) => Ok(r.sessions(q).await.map_err(anyhow::Error::from)?),
        }
    }

    async fn changes(&self, q: &ChangesQuery) -> Result<Vec<ChangeJson>, Exit> {
        match self {
            Reader::Local(st) => Ok(st.changes_answer(q).context("reading the store")?),
            Reader::Remote(r) => Ok(r.changes(q).await.map_err(anyhow::Error::from)?),
        }
    }

    async fn duplicates(&self) -> Result<Vec<GroupJson>, Exit> {
        match self {
            Reader::Local(st) => Ok(st.duplicates_answer().context("reading the store")?),
            Reader::Remote(r) => Ok(r.duplicates().await.map_err(anyhow::Error::from)?),
        }
    }

    async fn courses(&self) -> Result<Vec<Course>, Exit> {
        match self {
            Reader::Local(st) => Ok(st.courses_answer().context("reading the store")?),
            Reader::Remote(r) => Ok(r.courses().await.map_err(anyhow::Error::from)?),
        }
    }

    /// Writes the feed of `filter` to `out`: rendered a piece at a time from
    /// a local store, or the server's answer.
    async fn write_feed(&self, filter: &Filter, out: &mut dyn std::io::Write) -> Result<(), Exit> {
        let written = match self {
            Reader::Local(st) => st
                .write_feed(filter.clone(), out)
                .context("reading the store")?,
            Reader::Remote(r) => {
                let body = r
                    .feed(&filter.to_query())
                    .await
                    .map_err(anyhow::Error::from)?;
                out.write_all(&body).and_then(|()| out.flush())
            }
        };
        Ok(written.context("writing the feed to standard output")?)
    }
}

/// A usage error (exit 2) from any error.
fn usage(e: impl Into<anyhow::Error>) -> Exit {
    Exit {
        code: 2,
        error: Some(e.into()),
    }
}

/// Prints `v` as the read commands' `--json` does.
fn print_json<T: serde::Serialize>(v: &T) -> Result<(), Exit> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).context("writing JSON")?
    );
    Ok(())
}

/// `events upcoming`.
async fn upcoming(
    cli: &Cli,
    now: DateTime<Utc>,
    filter: &FilterArgs,
    json: bool,
) -> Result<(), Exit> {
    let f = filter.to_filter()?;
    let reader = Reader::open(cli, now, Need::Existing)?;
    let known = reader.sources().await?;
    check_source(&f, &known)?;
    let q = SessionsQuery {
        filter: f,
        withdrawn: true,
    };
    let list = reader.sessions(&q).await?;
    if json {
        if list.is_empty() && none_succeeded(&known) {
            eprintln!("{NO_CRAWL_YET}");
        }
        print_json(&list)?;
    } else if list.is_empty() && none_succeeded(&known) {
        println!("{NO_CRAWL_YET}");
    } else if list.is_empty() {
        println!("No upcoming sessions match.");
    } else {
        print!("{}", present::table(&list));
    }
    Ok(())
}

/// `events changes`.
async fn changes(cli: &Cli, now: DateTime<Utc>, args: &ChangesArgs) -> Result<(), Exit> {
    let f = args.filter.to_filter()?;
    let reader = Reader::open(cli, now, Need::Existing)?;
    check_source(&f, &reader.sources().await?)?;
    let mut kinds = args.kind.clone();
    kinds.sort();
    kinds.dedup();
    let q = ChangesQuery {
        filter: f,
        kinds,
        since: args.since,
    };
    let list = reader.changes(&q).await?;
    if args.json {
        print_json(&list)?;
    } else if list.is_empty() {
        println!(
            "No changes in the last {} match.",
            crate::present::change::since_words(args.since)
        );
    } else {
        print!("{}", crate::present::change::table(&list));
    }
    Ok(())
}

/// `events ics`: the bytes `/calendar.ics` serves for the same filters.
async fn ics(cli: &Cli, now: DateTime<Utc>, filter: &FilterArgs) -> Result<(), Exit> {
    let f = filter.to_filter()?;
    let reader = Reader::open(cli, now, Need::Existing)?;
    check_source(&f, &reader.sources().await?)?;
    reader.write_feed(&f, &mut std::io::stdout().lock()).await
}

/// `events sources`.
async fn sources(cli: &Cli, now: DateTime<Utc>, json: bool) -> Result<(), Exit> {
    let list = Reader::open(cli, now, Need::Configured)?.sources().await?;
    if json {
        print_json(&list)?;
    } else {
        print!("{}", sources_table(&list, now));
    }
    Ok(())
}

/// `events duplicates`.
async fn duplicates(cli: &Cli, now: DateTime<Utc>, json: bool) -> Result<(), Exit> {
    let groups = Reader::open(cli, now, Need::Existing)?.duplicates().await?;
    if json {
        print_json(&groups)?;
    } else if groups.is_empty() {
        println!("No upcoming session is listed by more than one source.");
    } else {
        // The default zone of every source; the JSON has the instants.
        let zone = chrono_tz::Europe::London;
        print!("{}", crate::present::duplicates::table(&groups, zone));
    }
    Ok(())
}

/// `events courses`.
async fn courses(cli: &Cli, now: DateTime<Utc>, json: bool) -> Result<(), Exit> {
    let courses = Reader::open(cli, now, Need::Existing)?.courses().await?;
    if json {
        print_json(&courses)?;
    } else if courses.is_empty() {
        println!("No eLearning courses in the store; run `events crawl` first.");
    } else {
        let mut rows = vec![["TITLE", "CATEGORY", "SOURCE", "URL"].map(String::from)];
        for c in &courses {
            rows.push([
                present::clip(&c.title, 60),
                present::clip(c.category.as_deref().unwrap_or("-"), 30),
                c.source.clone(),
                c.url.clone(),
            ]);
        }
        print!("{}", present::columns(&rows));
    }
    Ok(())
}

/// `events export`: from the store, or, while a local `serve` holds it,
/// from a backup that server takes, restored into a scratch directory.
async fn export(cli: &Cli, now: DateTime<Utc>, dir: &Path) -> Result<(), Exit> {
    let sources = load_sources(&cli.sources)?;
    let scratch = tempfile::tempdir().context("making a scratch directory")?;
    let store = match Serving::of(&cli.data) {
        Some(serving) => {
            let file = scratch.path().join("store.backup");
            Remote::new(&serving.url)
                .map_err(anyhow::Error::from)?
                .backup(&serving.token, &file)
                .await
                .map_err(anyhow::Error::from)?;
            let data = scratch.path().join("data");
            backup::restore(&file, &data).context("copying the served store")?;
            open_store(&data, false)?
        }
        None => open_store(&cli.data, false)?,
    };
    let state =
        server::AppState::new(store, sources, server::fixed_clock(now)).with_site(cli.site.clone());
    let files = crate::export::export(&state, dir)
        .with_context(|| format!("exporting to {}", dir.display()))?;
    eprintln!("wrote {} files to {}", files.len(), dir.display());
    Ok(())
}

/// Runs `events check` for the command line: a usage error is exit 2, a
/// check that read no session or missed something required exit 1.
async fn check(cli: &Cli, now: DateTime<Utc>, args: &crate::check::CheckArgs) -> Result<(), Exit> {
    let sources = load_sources(&cli.sources)?;
    let fetch = fetch_config(cli);
    let pages = usize::try_from(args.pages).unwrap_or(usize::MAX);
    let mut report = match crate::check::run(&sources, &args.source, fetch, now, pages).await {
        Ok(r) => r,
        Err(
            e @ (crate::check::CheckError::UnknownSource { .. }
            | crate::check::CheckError::NoSources { .. }),
        ) => {
            return Err(Exit {
                code: 2,
                error: Some(e.into()),
            })
        }
        Err(e) => return Err(anyhow::Error::from(e).into()),
    };
    if let Some(dir) = &args.save {
        crate::check::save::save(&mut report.0, &report.1, dir)?;
    }
    let report = report.0;
    if args.json {
        let text = serde_json::to_string_pretty(&report).map_err(anyhow::Error::from)?;
        println!("{text}");
    } else {
        print!("{}", crate::check::render::text(&report));
    }
    if report.summary.ok {
        Ok(())
    } else {
        Err(Exit {
            code: 1,
            error: None,
        })
    }
}

/// `events backup FILE`: from the store, or from the local `serve` that
/// holds it (which takes the copy between two merges).
async fn backup(cli: &Cli, now: DateTime<Utc>, file: &Path) -> Result<(), Exit> {
    let summary = match Serving::of(&cli.data) {
        Some(serving) => {
            let dir = match file.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let tmp = tempfile::NamedTempFile::new_in(&dir)
                .with_context(|| format!("writing the backup beside {}", file.display()))?;
            Remote::new(&serving.url)
                .map_err(anyhow::Error::from)?
                .backup(&serving.token, tmp.path())
                .await
                .map_err(anyhow::Error::from)?;
            let (_, summary) = backup::verify(tmp.path()).map_err(anyhow::Error::from)?;
            tmp.persist(file)
                .with_context(|| format!("writing the backup {}", file.display()))?;
            summary
        }
        None => {
            let store = open_store(&cli.data, false)?;
            backup::write_file(&store, now, file).map_err(anyhow::Error::from)?
        }
    };
    eprintln!(
        "backed up {} sessions and {} changes ({} records) to {}",
        summary.sessions,
        summary.changes,
        summary.records,
        file.display()
    );
    Ok(())
}

/// `events restore FILE` into `--data`.
fn restore(cli: &Cli, file: &Path) -> Result<(), Exit> {
    let summary = backup::restore(file, &cli.data).map_err(anyhow::Error::from)?;
    eprintln!(
        "restored {} sessions and {} changes ({} records) into {}",
        summary.sessions,
        summary.changes,
        summary.records,
        cli.data.display()
    );
    Ok(())
}

/// The table of `events sources`: one row per source, times in the source's
/// zone, then each source's last error on a line of its own.
fn sources_table(list: &[SourceStatus], now: DateTime<Utc>) -> String {
    let mut rows = vec![[
        "SOURCE",
        "KIND",
        "STATE",
        "LAST SUCCESS",
        "LAST ATTEMPT",
        "FAILS",
        "FOUND",
        "REQUESTS",
        "BYTES",
        "304s",
    ]
    .map(String::from)
    .to_vec()];
    let mut errors = Vec::new();
    for s in list {
        let h = &s.health;
        let ago = |t: Option<DateTime<Utc>>| match t {
            None => "never".to_string(),
            Some(t) => present::ago(t, now, s.timezone),
        };
        rows.push(vec![
            s.id.clone(),
            s.kind.clone().unwrap_or_else(|| "(no source file)".into()),
            if s.healthy() {
                "ok".into()
            } else if h.last_attempt.is_none() {
                "not crawled".into()
            } else {
                "FAILING".into()
            },
            ago(h.last_success),
            ago(h.last_attempt),
            h.consecutive_failures.to_string(),
            h.sessions_found.to_string(),
            h.requests.to_string(),
            h.bytes.to_string(),
            h.not_modified.to_string(),
        ]);
        if let Some(e) = &h.last_error {
            // Error messages quote what the sites answered.
            errors.push(present::terminal_safe(&format!("{}: {e}", s.id)));
        }
    }
    let mut out = present::columns(&rows);
    for e in errors {
        out.push_str(&format!("\n{e}"));
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Binds the `--listen` address; a taken or foreign one is one sentence.
async fn bind(args: &ServeArgs) -> Result<tokio::net::TcpListener, Exit> {
    Ok(server::bind(args.listen)
        .await
        .map_err(anyhow::Error::from)?)
}

/// Crawls on schedule in the background and serves on `listener` until
/// Ctrl-C / SIGTERM.
async fn serve_until_stopped(
    cli: &Cli,
    sources: Vec<SourceConfig>,
    store: Store,
    args: &ServeArgs,
    listener: tokio::net::TcpListener,
) -> Result<(), Exit> {
    let addr = listener
        .local_addr()
        .context("reading the listening address")?;
    let fetcher =
        Fetcher::new(fetch_config(cli), Some(store.clone())).context("starting the HTTP client")?;
    let (_tx, stop) = schedule::on_signals();
    let metrics = Arc::new(crate::metrics::Metrics::new(
        sources.iter().map(|s| s.id.as_str()),
    ));
    let scheduler = tokio::spawn(schedule::run(
        sources.clone(),
        fetcher,
        store.clone(),
        metrics.observer(Arc::new(LogLines)),
        stop.clone(),
        // The demo has just crawled; `serve` crawls at once.
        !cli_demo(cli),
    ));
    // Read commands run beside this server ask it (see `remote::Serving`).
    let serving = Serving::new(addr);
    let _announced = serving
        .announce(store.dir())
        .map_err(|e| tracing::warn!(error = %e, "could not leave this server's address in the data directory; read commands there will say the store is in use"))
        .ok();
    let state = served_state(cli, args, addr, &store, sources, &serving)?.with_metrics(metrics);
    println!("Serving on http://{addr}/ (calendar: http://{addr}/calendar.ics). Ctrl-C to stop.");
    let mut stop_srv = stop.clone();
    // Behind a proxy every connection comes from it: no per-client limit.
    let limits = if args.trust_proxy {
        server::Limits::default().behind_proxy()
    } else {
        server::Limits::default()
    };
    server::serve_with_limits(listener, state, limits, async move {
        while !*stop_srv.borrow() {
            if stop_srv.changed().await.is_err() {
                break;
            }
        }
    })
    .await
    .context("serving")?;
    stop_crawls_and_flush(scheduler, &store).await
}

/// What the server serves: the store and sources, with the clock, the
/// site's settings, the cache budgets, the links' origin and the backup
/// token `serve` was started with.
fn served_state(
    cli: &Cli,
    args: &ServeArgs,
    addr: std::net::SocketAddr,
    store: &Store,
    sources: Vec<SourceConfig>,
    serving: &Serving,
) -> Result<server::AppState, Exit> {
    let feed_cache = usize::try_from(args.feed_cache.as_u64()).unwrap_or(usize::MAX);
    let event_blocks = usize::try_from(args.event_blocks.as_u64()).unwrap_or(usize::MAX);
    // The demo is reached only at its own address.
    let origin = match (cli_demo(cli), args.origin(&cli.site)) {
        (true, server::PublicOrigin::Relative) if !addr.ip().is_unspecified() => {
            server::PublicOrigin::configured(&format!("http://{addr}")).unwrap_or_default()
        }
        (_, o) => o,
    };
    let clock = match &cli.now {
        // A frozen clock for reproducible runs, as the read commands take it.
        Some(_) => server::fixed_clock(clock(cli)?),
        None => server::system_clock(),
    };
    Ok(server::AppState::new(store.clone(), sources, clock)
        .with_backup_token(&serving.token)
        .with_site(cli.site.clone())
        .with_feed_cache_bytes(feed_cache)
        .with_event_block_bytes(event_blocks)
        .with_public_origin(origin))
}

/// After the server stops: the crawls in flight are abandoned, and one
/// whose task is stuck in reading on an async worker is not waited for past
/// STOP_GRACE (the store only changes in a merge's transaction, and exit
/// does not wait for blocking threads); then the store is flushed.
async fn stop_crawls_and_flush(
    scheduler: tokio::task::JoinHandle<()>,
    store: &Store,
) -> Result<(), Exit> {
    if tokio::time::timeout(STOP_GRACE, scheduler).await.is_err() {
        tracing::warn!(
            "the crawls in progress did not stop within {} s; leaving them",
            STOP_GRACE.as_secs()
        );
    }
    store.flush().context("flushing the store")?;
    Ok(())
}

/// How long `serve` waits, once told to stop, for its crawls to let go.
const STOP_GRACE: Duration = Duration::from_secs(3);

fn cli_demo(cli: &Cli) -> bool {
    matches!(cli.command, Command::Demo { .. })
}

/// Crawls every source once, with a progress display on stderr, and returns
/// each source's report.
async fn crawl_once(
    cli: &Cli,
    sources: &[SourceConfig],
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<CrawlReport>> {
    let fetcher =
        Fetcher::new(fetch_config(cli), Some(store.clone())).context("starting the HTTP client")?;
    let progress = Arc::new(Progress::new(sources));
    let reports = crawl::crawl_all(sources, &fetcher, store, now, progress.clone()).await;
    progress.clear();
    Ok(reports)
}

fn fetch_config(cli: &Cli) -> FetchConfig {
    match &cli.contact {
        Some(c) => FetchConfig::with_contact(c),
        None => FetchConfig::default(),
    }
}

/// For long-running commands: one log line per finished crawl, a warning when
/// it failed.
pub struct LogLines;

impl crawl::Observer for LogLines {
    fn finished(&self, report: &CrawlReport) {
        // Site text can reach an error message: no escape sequences in logs.
        let line = present::terminal_safe(&report.line());
        if report.failed() {
            tracing::warn!(target: CRAWL_LOG, "{line}");
        } else {
            tracing::info!(target: CRAWL_LOG, "{line}");
        }
    }
}

/// A spinner per source on a terminal; plain lines on stderr otherwise.
struct Progress {
    bars: Option<(MultiProgress, HashMap<String, ProgressBar>)>,
    pages: Mutex<HashMap<String, u64>>,
}

impl Progress {
    fn new(sources: &[SourceConfig]) -> Self {
        let bars = std::io::stderr().is_terminal().then(|| {
            let multi = MultiProgress::new();
            let style = ProgressStyle::with_template("{spinner} {prefix:>8} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            let map = sources
                .iter()
                .map(|s| {
                    let bar = multi.add(ProgressBar::new_spinner());
                    bar.set_style(style.clone());
                    bar.set_prefix(s.id.clone());
                    bar.enable_steady_tick(Duration::from_millis(120));
                    (s.id.clone(), bar)
                })
                .collect();
            (multi, map)
        });
        Progress {
            bars,
            pages: Mutex::new(HashMap::new()),
        }
    }

    fn clear(&self) {
        if let Some((multi, _)) = &self.bars {
            let _ = multi.clear();
        }
    }
}

impl crawl::Observer for Progress {
    fn started(&self, source: &str) {
        if self.bars.is_none() {
            eprintln!("{source}: crawling");
        }
    }

    fn page(&self, source: &str, url: &url::Url) {
        let n = {
            let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
            let n = pages.entry(source.to_string()).or_default();
            *n += 1;
            *n
        };
        if let Some((_, bars)) = &self.bars {
            if let Some(bar) = bars.get(source) {
                bar.set_message(format!("{n} requests — {}", url.path()));
            }
        }
    }

    fn finished(&self, report: &CrawlReport) {
        match &self.bars {
            Some((_, bars)) => {
                if let Some(bar) = bars.get(&report.source) {
                    bar.finish_and_clear();
                }
            }
            None => eprintln!("{}: done", report.source),
        }
    }
}

/// What `upcoming` prints when no crawl of any source has succeeded: the
/// empty list says nothing of the sites, only of the crawls.
pub const NO_CRAWL_YET: &str =
    "No crawl has succeeded yet, so there are no sessions to list; run `events sources` to see why.";

/// Refuses a `--source` that names no known source, listing the known ones
/// (a usage error, exit 2): an empty list would hide the typo.
fn check_source(f: &Filter, known: &[SourceStatus]) -> Result<(), Exit> {
    let Some(id) = &f.source else {
        return Ok(());
    };
    if known.iter().any(|s| &s.id == id) {
        return Ok(());
    }
    let message = if known.is_empty() {
        format!("there is no source `{id}`, and none is configured or crawled yet; add a source file (see README, \"Source files\")")
    } else {
        let ids: Vec<&str> = known.iter().map(|s| s.id.as_str()).collect();
        format!(
            "there is no source `{id}`; the sources are {} (see `events sources`)",
            ids.join(", ")
        )
    };
    Err(Exit {
        code: 2,
        error: Some(anyhow::anyhow!(message)),
    })
}

/// True when no source has had a successful crawl.
fn none_succeeded(known: &[SourceStatus]) -> bool {
    known.iter().all(|s| s.health.last_success.is_none())
}

fn clock(cli: &Cli) -> Result<DateTime<Utc>, Exit> {
    match &cli.now {
        None => Ok(Utc::now()),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| Exit {
                code: 2,
                error: Some(anyhow::anyhow!(
                    "EVENTS_NOW `{s}` is not an RFC 3339 instant ({e})"
                )),
            }),
    }
}

/// Loads every source file (`*.toml`) in `dir`, as each command does
/// ([`config::load_dir`]).
pub fn load_sources(dir: &Path) -> Result<Vec<SourceConfig>> {
    Ok(config::load_dir(dir)?)
}

/// The settings file `--config` names, else `events.toml` beside the
/// sources directory when there is one.
pub fn load_site(cli: &Cli) -> Result<Settings> {
    let path = match &cli.config {
        Some(p) => p.clone(),
        None => site::default_path(&cli.sources),
    };
    Ok(Settings::load(&path, cli.config.is_some())?)
}

/// Opens the store in `dir`; made there if missing when `create`, otherwise a
/// missing store is an error (commands that only read it).
fn open_store(dir: &Path, create: bool) -> Result<Store> {
    let s = if create {
        Store::open(dir)
    } else {
        Store::open_existing(dir)
    };
    Ok(s?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_a_host_name_and_refuses_a_bad_one_in_a_sentence() {
        let a = parse_listen("localhost:8080").unwrap();
        assert!(a.ip().is_loopback(), "{a}");
        assert_eq!(a.port(), 8080);
        assert_eq!(
            parse_listen("[::1]:80").unwrap(),
            "[::1]:80".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            parse_listen("localhost:http").unwrap_err(),
            "`http` is not a port number (0 to 65535); give HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080"
        );
        assert_eq!(
            parse_listen(":8080").unwrap_err(),
            "`:8080` has no host; give HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080"
        );
    }
}
