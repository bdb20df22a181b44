//! Crawls on each source's `poll_interval`, with jitter, one crawl per source at
//! a time, until told to stop (used by `events watch` and `events serve`).
//!
//! Stopping abandons a crawl in flight: the store only changes in `apply_crawl`'s
//! single transaction, so an abandoned crawl leaves the previous state intact.

use crate::config::SourceConfig;
use crate::crawl::{self, Observer};
use crate::fetch::Fetcher;
use crate::store::Store;
use chrono::Utc;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Stops the scheduler when set to `true`.
pub type StopSignal = watch::Receiver<bool>;

/// Runs every source's loop until `stop` turns true. `first_delay` lets a caller
/// that has just crawled wait a full interval before the first scheduled crawl.
pub async fn run(
    sources: Vec<SourceConfig>,
    fetcher: Arc<Fetcher>,
    store: Store,
    observer: Arc<dyn Observer>,
    stop: StopSignal,
    crawl_first: bool,
) {
    let mut set = tokio::task::JoinSet::new();
    for cfg in sources {
        let fetcher = fetcher.clone();
        let store = store.clone();
        let observer = observer.clone();
        let mut stop = stop.clone();
        set.spawn(async move {
            let mut first = true;
            loop {
                if !first || crawl_first {
                    let work = async {
                        observer.started(&cfg.id);
                        let report =
                            crawl::crawl_source(&cfg, &fetcher, &store, Utc::now(), observer.as_ref())
                                .await;
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
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stop requested");
        let _ = tx2.send(true);
    });
    (tx, rx)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
