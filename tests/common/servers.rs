//! Servers on loopback: `events::server` run in the test's own process, and
//! the `events` binary's `serve` (or `demo`) run as a child, with the address
//! it prints; the text of an answer; a port nothing listens on.

use events::server::{self, AppState, Limits};
use std::net::SocketAddr;
use std::path::Path;
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

/// Sends `request` and returns the text of the answer's body, whatever its
/// status.
pub async fn body_text(request: reqwest::RequestBuilder) -> String {
    request
        .send()
        .await
        .expect("an answer")
        .text()
        .await
        .expect("a body")
}

/// How long `events serve` may take to print its address.
pub const SERVE_START: Duration = Duration::from_secs(60);

/// The address in a `Serving on http://127.0.0.1:PORT/ …` line:
/// `http://127.0.0.1:PORT`, with no trailing slash.
pub fn address_in(line: &str) -> String {
    line.strip_prefix("Serving on ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .trim_end_matches('/')
        .to_string()
}

/// Waits (at most `within`) for `child` to print its `Serving on …` line and
/// returns that line; the rest of its output is read and dropped, so the
/// pipe never fills. `child`'s stdout must be piped.
pub async fn serving_line(child: &mut tokio::process::Child, within: Duration) -> String {
    use tokio::io::AsyncBufReadExt;
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let line = tokio::time::timeout(within, async {
        while let Some(l) = lines.next_line().await.unwrap() {
            if l.starts_with("Serving on ") {
                return l;
            }
        }
        panic!("the child ended without serving");
    })
    .await
    .expect("the child says where it serves in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    line
}

/// The same as [`serving_line`] for a child run with `std::process`, read
/// on a thread: the line, or why it did not come within `within` (for the
/// caller to say what it knows about the child).
pub fn serving_line_blocking(
    child: &mut std::process::Child,
    within: Duration,
) -> Result<String, std::sync::mpsc::RecvTimeoutError> {
    use std::io::BufRead;
    let stdout = child.stdout.take().expect("the child's stdout is piped");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("Serving on ") {
                let _ = tx.send(line);
            }
        }
    });
    rx.recv_timeout(within)
}

/// `events serve --listen 127.0.0.1:0` (and `args`) on the store, killed
/// when the returned child is dropped; with the address it serves at
/// (`http://127.0.0.1:PORT/`).
pub async fn serve(
    sources: &Path,
    data: &Path,
    now: &str,
    args: &[&str],
) -> (tokio::process::Child, String) {
    let mut all = vec!["serve", "--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let mut child = super::events_command(sources, data, now, None, &all)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("starting `events serve`");
    let line = serving_line(&mut child, SERVE_START).await;
    let url = format!("{}/", address_in(&line));
    (child, url)
}

/// A loopback port nothing listens on (it was free a moment ago): for a
/// site or server that cannot be reached.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}
