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
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

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
    use hyper_util::rt::{TokioIo, TokioTimer};
    let app = router_with_timeout(state, limits.request_timeout);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_header_size(limits.max_header_bytes)
        .max_headers(limits.max_headers);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let clients = Arc::new(Clients::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut saturated = false;
    loop {
        // A place first, then the connection: while all are taken, new
        // connections wait in the listen queue.
        let permit = match slots.clone().try_acquire_owned() {
            Ok(p) => {
                saturated = false;
                p
            }
            Err(_) => {
                if !saturated {
                    saturated = true;
                    tracing::warn!(
                        limit = limits.max_connections,
                        "all connections are in use; new ones wait until one closes"
                    );
                }
                tokio::select! {
                    p = slots.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let key = ClientKey::of(peer.ip());
        if !clients.admit(key, slots.available_permits(), &limits) {
            clients.warn_over_limit(key, &limits);
            // Closed at once: its place goes back to the others.
            drop(stream);
            drop(permit);
            continue;
        }
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        let clients = clients.clone();
        tokio::spawn(async move {
            // A client that times out or hangs up mid-request is its own
            // business; nothing to report.
            let _ = conn.await;
            clients.release(key);
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
