//! Listening: binding the socket (`bind`, its failures put as `ServeError`'s
//! sentences) and the accept loop (`serve`, `serve_with_limits`), which
//! waits for a free place, admits or closes each connection by its
//! client's count, drives hyper's HTTP/1 connection under the header limits,
//! and on shutdown stops accepting and finishes the requests in flight.
//!
//! Does not own the limits' values or the per-client count (`limits`), or
//! what a request is answered (`routes` and the handlers).

use super::limits::{ClientKey, Clients, Limits};
use super::routes::router_with_timeout;
use crate::views::AppState;
use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Where `events serve` listens unless told otherwise: loopback only, so a
/// laptop does not publish the server to its network by accident.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Pause after the listener fails to accept (e.g. out of file descriptors)
/// before trying again, so the error does not spin the CPU.
const ACCEPT_ERROR_PAUSE: std::time::Duration = std::time::Duration::from_secs(1);

/// Why `bind` failed, in words that say what to do.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Something else already listens on the port.
    #[error("{addr} is already in use; pass --listen with another port")]
    InUse {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The system refused, usually a port below 1024 without the privilege.
    #[error("not allowed to listen on {addr}; pass --listen with a port above 1023")]
    Denied {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// The IP address belongs to no interface of this machine.
    #[error("{addr} is not an address of this machine; pass --listen with one that is, e.g. {DEFAULT_LISTEN}")]
    NotAvailable {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Any other failure to bind.
    #[error("cannot listen on {addr}: {source}")]
    Io {
        /// The address asked for.
        addr: SocketAddr,
        /// The system's error.
        source: std::io::Error,
    },
}

/// Binds the listening socket, turning the usual failures into clear messages.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => ServeError::InUse { addr },
        std::io::ErrorKind::PermissionDenied => ServeError::Denied { addr },
        std::io::ErrorKind::AddrNotAvailable => ServeError::NotAvailable { addr },
        _ => ServeError::Io { addr, source: e },
    })
}

/// Serves with the default `Limits` until `shutdown` completes, then finishes
/// the requests in flight.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_limits(listener, state, Limits::default(), shutdown).await
}

/// Serves HTTP/1.1 under `limits` until `shutdown` completes, then stops
/// accepting, closes idle connections and finishes the requests in flight.
///
/// hyper's HTTP/1 connection is driven directly (not `axum::serve`) because
/// only there can the header read timeout and the header size be set.
/// Cleartext HTTP/2 is not offered: no browser or calendar client speaks it
/// without TLS, and its version sniffing would wait on a silent client with
/// no timeout.
pub async fn serve_with_limits(
    listener: TcpListener,
    state: AppState,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router_with_timeout(state, limits.request_timeout);
    let http = http1_under(&limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let clients = Arc::new(Clients::default());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut saturated = false;
    loop {
        // A place first, then the connection: while all are taken, new
        // connections wait in the listen queue.
        let Some(permit) = wait_for_place(&slots, &limits, &mut saturated, &mut shutdown).await
        else {
            break;
        };
        let (stream, peer) = match next_connection(&listener, &mut shutdown).await {
            Next::Connection(stream, peer) => (stream, peer),
            Next::Retry => continue,
            Next::Stop => break,
        };
        let key = ClientKey::of(peer.ip());
        if !clients.admit(key, slots.available_permits(), &limits) {
            clients.warn_over_limit(key, &limits);
            // Closed at once: its place goes back to the others.
            drop(stream);
            drop(permit);
            continue;
        }
        let served = Served {
            key,
            clients: clients.clone(),
            permit,
        };
        spawn_connection(&http, &graceful, app.clone(), stream, served);
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// hyper's HTTP/1 connection settings under `limits`: the header read
/// timeout, the request head's size and its number of fields.
fn http1_under(limits: &Limits) -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_header_size(limits.max_header_bytes)
        .max_headers(limits.max_headers);
    http
}

/// A free place for the next connection. While there is none, waits for one
/// (warning once each time all become taken), or gives `None` when
/// `shutdown` completes first.
async fn wait_for_place<F: Future<Output = ()>>(
    slots: &Arc<Semaphore>,
    limits: &Limits,
    saturated: &mut bool,
    shutdown: &mut Pin<&mut F>,
) -> Option<OwnedSemaphorePermit> {
    if let Ok(p) = slots.clone().try_acquire_owned() {
        *saturated = false;
        return Some(p);
    }
    if !*saturated {
        *saturated = true;
        tracing::warn!(
            limit = limits.max_connections,
            "all connections are in use; new ones wait until one closes"
        );
    }
    tokio::select! {
        p = slots.clone().acquire_owned() => p.ok(),
        () = shutdown.as_mut() => None,
    }
}

/// What waiting for the next connection gave.
enum Next {
    /// A connection and its peer's address.
    Connection(TcpStream, SocketAddr),
    /// Accepting failed (logged, then paused for `ACCEPT_ERROR_PAUSE`).
    Retry,
    /// `shutdown` completed.
    Stop,
}

/// The next connection from `listener`, unless `shutdown` completes first.
async fn next_connection<F: Future<Output = ()>>(
    listener: &TcpListener,
    shutdown: &mut Pin<&mut F>,
) -> Next {
    tokio::select! {
        r = listener.accept() => match r {
            Ok((stream, peer)) => Next::Connection(stream, peer),
            Err(e) => {
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                Next::Retry
            }
        },
        () = shutdown.as_mut() => Next::Stop,
    }
}

/// What an admitted connection holds until it ends: its count against its
/// client, and its place.
struct Served {
    key: ClientKey,
    clients: Arc<Clients>,
    permit: OwnedSemaphorePermit,
}

/// Serves one admitted connection on a task of its own, watched by
/// `graceful`; when it ends, its client's count and its place are given
/// back.
fn spawn_connection(
    http: &http1::Builder,
    graceful: &GracefulShutdown,
    app: Router,
    stream: TcpStream,
    served: Served,
) {
    let _ = stream.set_nodelay(true);
    let service = TowerToHyperService::new(app);
    let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
    tokio::spawn(async move {
        // A client that times out or hangs up mid-request is its own
        // business; nothing to report.
        let _ = conn.await;
        served.clients.release(served.key);
        drop(served.permit);
    });
}
