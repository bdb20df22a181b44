//! Servers on loopback: `events::server` run in the test's own process.

use events::server::{self, AppState, Limits};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Longest a server may take to stop once told to (a guard against a hang,
/// not a measurement).
pub const STOP_GUARD: Duration = Duration::from_secs(30);

/// `events::server` serving a state on a free loopback port in this process.
///
/// [`Served::stop`] stops it and waits; dropping it only tells it to stop
/// (its task ends on its own, and nothing waits for it).
pub struct Served {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, with no trailing slash.
    pub base: String,
    /// What it serves (a clone: the caches and counters are shared).
    pub state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    dir: Option<tempfile::TempDir>,
}

impl Served {
    /// Serves `state` under the default limits.
    pub async fn start(state: AppState) -> Served {
        Served::with_limits(state, Limits::default()).await
    }

    /// Serves `state` under `limits` (`server::serve_with_limits`).
    pub async fn with_limits(state: AppState, limits: Limits) -> Served {
        let listener = server::bind("127.0.0.1:0".parse().unwrap())
            .await
            .expect("binding a loopback port");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve_with_limits(
            listener,
            state.clone(),
            limits,
            async move {
                let _ = rx.await;
            },
        ));
        Served {
            addr,
            base: format!("http://{addr}"),
            state,
            stop: Some(tx),
            task: Some(task),
            dir: None,
        }
    }

    /// Keeps `dir` (typically the store's) until this is dropped.
    pub fn keeping(mut self, dir: tempfile::TempDir) -> Served {
        self.dir = Some(dir);
        self
    }

    /// `path` (with its leading `/` and any query) on this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Tells it to stop, waits until it has (at most [`STOP_GUARD`]) and
    /// asserts that it stopped without an error.
    pub async fn stop(self) {
        self.shut_down()
            .await
            .expect("the server stops without an error");
    }

    /// Tells it to stop and waits until it has (at most [`STOP_GUARD`]);
    /// returns what the server returned.
    pub async fn shut_down(mut self) -> std::io::Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let task = self.task.take().expect("stopped once");
        tokio::time::timeout(STOP_GUARD, task)
            .await
            .expect("the server stops on the shutdown signal")
            .expect("the server's task ends without a panic")
    }
}
