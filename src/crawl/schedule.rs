//! Crawls on each source's `poll_interval`, with jitter, one crawl per source at
//! a time, until told to stop (used by `events watch` and `events serve`), and
//! prunes the kept pages after a crawl, at most once a day (`store::PRUNE_EVERY`), as
//! `events crawl` does: these processes run for months.
//!
//! Stopping abandons a crawl in flight: the store only changes in `apply_crawl`'s
//! single transaction, so an abandoned crawl leaves the previous state intact.

use crate::crawl::{self, Observer};
use crate::fetch::Fetcher;
use crate::source::SourceConfig;
use crate::store::Store;
use chrono::{DateTime, Utc};
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The log target of each crawl's one-line summary in `watch` and `serve`,
/// shown at the default log level (`EVENTS_LOG` unset).
pub const CRAWL_LOG: &str = "events::crawl_summary";

/// Stops the scheduler when set to `true`.
pub type StopSignal = watch::Receiver<bool>;

/// Where the schedule reads the time: `Utc::now` in service, a fixed time in
/// tests. Crawls read sessions' times against it, and kept pages are pruned
/// by it (the fetcher stamps them with the system clock, so in service it
/// must be that clock).
pub type Clock = fn() -> DateTime<Utc>;

/// Runs every source's loop until `stop` turns true.
///
/// With `crawl_first`, a source is crawled at once only when its last
/// successful crawl (in the store) is older than its `poll_interval`, or there
/// is none; otherwise its first crawl comes when that interval has passed, so
/// restarting `serve` does not poll every site again. Without it (a caller that
/// has just crawled), every source waits a full interval first.
pub async fn run(
    sources: Vec<SourceConfig>,
    fetcher: Arc<Fetcher>,
    store: Store,
    observer: Arc<dyn Observer>,
    stop: StopSignal,
    crawl_first: bool,
) {
    run_with_clock(
        sources,
        fetcher,
        store,
        observer,
        stop,
        crawl_first,
        Utc::now,
    )
    .await;
}

/// [`run`], reading the time from `clock`.
pub async fn run_with_clock(
    sources: Vec<SourceConfig>,
    fetcher: Arc<Fetcher>,
    store: Store,
    observer: Arc<dyn Observer>,
    stop: StopSignal,
    crawl_first: bool,
    clock: Clock,
) {
    let mut set = tokio::task::JoinSet::new();
    for cfg in sources {
        let fetcher = fetcher.clone();
        let store = store.clone();
        let observer = observer.clone();
        let mut stop = stop.clone();
        set.spawn(async move {
            let mut first = true;
            // Crawl at the top of the loop (at once, or once `first_wait` has passed).
            let due_now = crawl_first;
            if crawl_first {
                let last = store.health(&cfg.id).ok().and_then(|h| h.last_success);
                if let Some(wait) = first_wait(last, cfg.poll_interval, clock()) {
                    tracing::info!(
                        target: CRAWL_LOG,
                        "{}: crawled successfully {} ago; next crawl in {}",
                        cfg.id,
                        humantime::format_duration(round_secs(cfg.poll_interval.saturating_sub(wait))),
                        humantime::format_duration(round_secs(wait))
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stopped(&mut stop) => return,
                    }
                }
            }
            loop {
                if !first || due_now {
                    let work = async {
                        observer.started(&cfg.id);
                        let report =
                            crawl::crawl_source(&cfg, &fetcher, &store, clock(), observer.as_ref())
                                .await;
                        // Whichever source's crawl ends first on a new day
                        // prunes, before the crawl is reported as finished.
                        prune_kept_pages(&fetcher, clock());
                        observer.finished(&report);
                    };
                    tokio::select! {
                        _ = work => {}
                        _ = stopped(&mut stop) => {
                            tracing::info!(source = %cfg.id, "stopping: abandoned the crawl in progress; the store keeps its previous state");
                            return;
                        }
                    }
                }
                first = false;
                let wait = jittered(cfg.poll_interval);
                tracing::info!(source = %cfg.id, next_in = ?wait, "next crawl scheduled");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopped(&mut stop) => return,
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
}

/// Prunes the kept pages no crawl has used for the fetcher's `cache_max_age`,
/// when the last prune is at least `store::PRUNE_EVERY` old at `now`, and logs what
/// it removed (or why it could not: pruning is housekeeping, never a crawl's
/// failure).
pub fn prune_kept_pages(fetcher: &Fetcher, now: DateTime<Utc>) {
    match fetcher.prune_cache(now) {
        Ok(Some(p)) if p.entries > 0 => tracing::info!(
            entries = p.entries,
            bytes = p.bytes,
            "pruned kept pages no crawl has used for a month"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not prune the kept pages"),
    }
}

/// How long to wait before a source's first crawl, given its last successful
/// crawl: `None` (crawl now) when there is none or it is at least `interval`
/// old, else the rest of the interval. A last success in the future (a clock
/// set back) counts as just now.
pub fn first_wait(
    last_success: Option<DateTime<Utc>>,
    interval: Duration,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let age = (now - last_success?).to_std().unwrap_or(Duration::ZERO);
    interval.checked_sub(age).filter(|w| !w.is_zero())
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

async fn stopped(stop: &mut StopSignal) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            // The sender is gone: nobody can stop us any more, so wait forever.
            std::future::pending::<()>().await;
        }
    }
}

/// The interval ±10%, so sources (and several installs) don't poll in lockstep.
pub fn jittered(interval: Duration) -> Duration {
    let f = rand::thread_rng().gen_range(0.9..1.1);
    interval.mul_f64(f)
}

/// A stop signal that turns true on Ctrl-C or SIGTERM.
pub fn on_signals() -> (watch::Sender<bool>, StopSignal) {
    let (tx, rx) = watch::channel(false);
    let tx2 = tx.clone();
    // The handlers are installed before this returns: a signal that comes
    // at once (a supervisor stopping a server it has just seen start) stops
    // it cleanly instead of killing it with the store unflushed.
    let signal = wait_for_signal();
    tokio::spawn(async move {
        signal.await;
        tracing::info!("stop requested");
        let _ = tx2.send(true);
    });
    (tx, rx)
}

#[cfg(unix)]
fn wait_for_signal() -> impl std::future::Future<Output = ()> + Send {
    use tokio::signal::unix::{signal, Signal, SignalKind};
    async fn next(s: Option<Signal>) {
        match s {
            Some(mut s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    let term = signal(SignalKind::terminate()).ok();
    let interrupt = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            _ = next(term) => {}
            _ = next(interrupt) => {}
        }
    }
}

#[cfg(not(unix))]
fn wait_for_signal() -> impl std::future::Future<Output = ()> + Send {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn first_crawl_waits_out_the_interval_since_the_last_success() {
        let now = Utc.with_ymd_and_hms(2027, 1, 1, 12, 0, 0).unwrap();
        let half_hour = Duration::from_secs(1800);
        assert_eq!(first_wait(None, half_hour, now), None);
        let ten_minutes_ago = now - chrono::Duration::minutes(10);
        assert_eq!(
            first_wait(Some(ten_minutes_ago), half_hour, now),
            Some(Duration::from_secs(1200))
        );
        let an_hour_ago = now - chrono::Duration::hours(1);
        assert_eq!(first_wait(Some(an_hour_ago), half_hour, now), None);
        let exactly = now - chrono::Duration::minutes(30);
        assert_eq!(first_wait(Some(exactly), half_hour, now), None);
        let ahead = now + chrono::Duration::minutes(5);
        assert_eq!(first_wait(Some(ahead), half_hour, now), Some(half_hour));
    }
}
