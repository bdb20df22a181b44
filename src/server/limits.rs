//! The limits clients are held to: `Limits` and the constants it defaults
//! to (connections in all and per client address, places kept for clients
//! that hold none, a request head's size and read time, a request's time),
//! and `Clients`, the count of connections each client holds, which admits
//! or refuses a new one and names an over-limit client in the log at most
//! once per `CLIENT_WARNING_INTERVAL`.
//!
//! Does not own the accept loop that applies them (`listen`), the methods
//! served or the answer to a request that took too long (`routes`), or a
//! query string's limits (`query`).

use std::sync::{Mutex, MutexGuard};

/// Connections served at once. Further ones are not accepted until one
/// closes: they wait in the kernel's listen queue (a warning is logged), so a
/// burst is served late rather than refused, while memory and file
/// descriptors stay bounded. Idle and slow connections give their place up
/// after `HEADER_READ_TIMEOUT`.
pub const MAX_CONNECTIONS: usize = 512;

/// Connections one client address may hold at once (an IPv6 client: one
/// /64, which one machine usually has whole): a quarter of
/// `MAX_CONNECTIONS`. A further one is closed as soon as it is accepted, and
/// the address is named in a warning at most once per
/// `CLIENT_WARNING_INTERVAL`. Room for an office behind one address and for
/// a load test of 64 connections that reconnect (the server counts a closed
/// connection until it notices the close); a single client can no longer
/// hold every place. Off behind a trusted proxy (`serve --trust-proxy`),
/// where every connection comes from the proxy.
pub const MAX_CONNECTIONS_PER_CLIENT: usize = 128;

/// Places kept for clients that hold none: once fewer than this many are
/// free, a client that already holds a connection is not given another (it
/// is closed, as over `MAX_CONNECTIONS_PER_CLIENT`), so many clients together
/// cannot shut a new one out either. At most a quarter of the places.
pub const RESERVED_FOR_NEW_CLIENTS: usize = 64;

/// How often one client address over its limit is named in the log.
pub const CLIENT_WARNING_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// Most client addresses remembered as already warned about; when more are
/// over their limit at once, the memory is cleared (so some are named again
/// sooner) rather than grown.
const MAX_WARNED_CLIENTS: usize = 4096;

/// Time a client has to send a request's headers, counted from when the
/// server starts waiting for them (also between keep-alive requests); then
/// the connection is closed. Slow-header clients (slowloris) cannot hold a
/// connection longer than this.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Time a request may take from its headers to its response; then it is
/// answered 503 and a warning is logged.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Largest request head (request line and headers) in bytes; larger ones are
/// answered 431 and the connection is closed. Real clients send well under
/// 2 KiB.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Most header fields in one request; more are answered 431.
pub const MAX_HEADERS: usize = 64;

/// The limits a server holds its clients to; `Limits::default()` is the
/// documented constants, tests may tighten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See `MAX_CONNECTIONS`.
    pub max_connections: usize,
    /// See `HEADER_READ_TIMEOUT`.
    pub header_read_timeout: std::time::Duration,
    /// See `REQUEST_TIMEOUT`.
    pub request_timeout: std::time::Duration,
    /// See `MAX_HEADER_BYTES`.
    pub max_header_bytes: usize,
    /// See `MAX_HEADERS`.
    pub max_headers: usize,
    /// See `MAX_CONNECTIONS_PER_CLIENT`.
    pub max_connections_per_client: usize,
    /// See `RESERVED_FOR_NEW_CLIENTS`.
    pub reserved_for_new_clients: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: MAX_CONNECTIONS,
            header_read_timeout: HEADER_READ_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            max_header_bytes: MAX_HEADER_BYTES,
            max_headers: MAX_HEADERS,
            max_connections_per_client: MAX_CONNECTIONS_PER_CLIENT,
            reserved_for_new_clients: RESERVED_FOR_NEW_CLIENTS,
        }
    }
}

impl Limits {
    /// The same limits with no per-client limit or reservation: behind a
    /// trusted reverse proxy every connection comes from the proxy.
    #[must_use]
    pub fn behind_proxy(self) -> Self {
        Limits {
            max_connections_per_client: self.max_connections,
            reserved_for_new_clients: 0,
            ..self
        }
    }
}

/// Who a connection counts against: its IPv4 address, or the /64 of its
/// IPv6 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct ClientKey(std::net::IpAddr);

impl ClientKey {
    pub(super) fn of(ip: std::net::IpAddr) -> Self {
        use std::net::IpAddr;
        match ip {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    let mut seg = v6.segments();
                    seg[4..].fill(0);
                    ClientKey(IpAddr::V6(seg.into()))
                }
            },
        }
    }
}

/// The connections each client holds, and when each over-limit client was
/// last named in the log. Both bounded: an address is held only while it has
/// a connection (at most `max_connections` of them), and the warned ones at
/// most `MAX_WARNED_CLIENTS`.
#[derive(Default)]
pub(super) struct Clients {
    held: Mutex<std::collections::HashMap<ClientKey, usize>>,
    warned: Mutex<std::collections::HashMap<ClientKey, std::time::Instant>>,
}

impl Clients {
    /// Counts a new connection of `key` unless it is over its limit, with
    /// `free` places left besides its own.
    pub(super) fn admit(&self, key: ClientKey, free: usize, limits: &Limits) -> bool {
        let reserve = limits
            .reserved_for_new_clients
            .min(limits.max_connections / 4);
        let mut held = lock(&self.held);
        let n = held.get(&key).copied().unwrap_or(0);
        if n >= limits.max_connections_per_client || (n > 0 && free < reserve) {
            return false;
        }
        held.insert(key, n + 1);
        true
    }

    pub(super) fn release(&self, key: ClientKey) {
        let mut held = lock(&self.held);
        if let Some(n) = held.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                held.remove(&key);
            }
        }
    }

    /// Names `key` in a warning, at most once per `CLIENT_WARNING_INTERVAL`.
    pub(super) fn warn_over_limit(&self, key: ClientKey, limits: &Limits) {
        let now = std::time::Instant::now();
        let mut warned = lock(&self.warned);
        if warned
            .get(&key)
            .is_some_and(|t| now.duration_since(*t) < CLIENT_WARNING_INTERVAL)
        {
            return;
        }
        if warned.len() >= MAX_WARNED_CLIENTS {
            warned.retain(|_, t| now.duration_since(*t) < CLIENT_WARNING_INTERVAL);
            if warned.len() >= MAX_WARNED_CLIENTS {
                warned.clear();
            }
        }
        warned.insert(key, now);
        tracing::warn!(
            client = %key.0,
            limit = limits.max_connections_per_client,
            "a client holds as many connections as it may (or the last places are kept for new clients); its further ones are closed (said once a minute per client)"
        );
    }
}

/// Locks `m`, even when a panic elsewhere poisoned it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
