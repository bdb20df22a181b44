//! `events serve` under abuse, over real HTTP on loopback and a real store:
//! slow-header clients are disconnected while others are served, oversized
//! request heads are refused, hostile query strings get a 400 in one sentence,
//! methods other than GET and HEAD get a 405, excess connections wait rather
//! than fail, and a load run of mixed requests ends without errors and with
//! the feed cache within its budget.
//!
//! Every wait is bounded; nothing here asserts how long anything took.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::servers::Served;
use common::sessions::{self, SessionBuilder};
use events::model::{Availability, Session};
use events::query;
use events::server::{self, AppState, Limits};
use events::store::Store;
use reqwest::{header, Client, StatusCode};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Header read timeout for these servers: short, so the slow-client tests
/// end soon; the behaviour is the same as with the default.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Upper bound on any single wait in this file, so a broken server fails the
/// test instead of hanging it.
const GUARD: std::time::Duration = std::time::Duration::from_secs(20);

const SESSIONS: usize = 300;
const CATEGORIES: [&str; 4] = [
    "Child Neglect",
    "Domestic Abuse",
    "Exploitation",
    "Self-Neglect & Hoarding",
];

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn session(source: &str, i: usize) -> Session {
    let start = now() + Duration::hours(7 + 13 * i as i64);
    sessions::session(source, &format!("{}", 1000 + i), start)
        .titled(format!("Training session word{} part {}", i % 100, i))
        .in_category(CATEGORIES[i % CATEGORIES.len()])
        .described(format!("About session {i}, topic word{}", i % 100))
        .at_venue("Council House, Walsall")
        .held_online(i.is_multiple_of(3))
        .with_availability(Availability {
            spaces_left: Some((i % 7) as u32),
            capacity: Some(20),
            waitlist: false,
            unpublished: false,
        })
        .booked_at(format!("https://{source}.example/events/{i}"))
}

/// A store of `SESSIONS` sessions from two sources, served on loopback under
/// `limits`.
async fn start(limits: Limits) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    let before = now() - Duration::hours(2);
    for (source, range) in [("wsp", 0..SESSIONS / 2), ("vrp", SESSIONS / 2..SESSIONS)] {
        let sessions = range.map(|i| session(source, i)).collect();
        sessions::merge_crawl(&store, source, sessions, before);
    }
    let state = AppState::new(store, Vec::new(), server::fixed_clock(now()));
    Served::with_limits(state, limits).await.keeping(dir)
}

async fn with_short_header_timeout() -> Served {
    start(Limits {
        header_read_timeout: HEADER_TIMEOUT,
        ..Limits::default()
    })
    .await
}

fn client() -> Client {
    Client::builder().no_gzip().timeout(GUARD).build().unwrap()
}

/// Reads until the server closes the connection (or `GUARD` passes) and
/// returns what it sent.
async fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(GUARD, stream.read_to_end(&mut out)).await;
    out
}

/// Sends `request` as raw bytes and returns the status line's code, or None
/// when the server closed the connection without an answer.
async fn raw_status(addr: SocketAddr, request: &[u8]) -> Option<u16> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read everything.
    let _ = s.write_all(request).await;
    let reply = read_to_close(&mut s).await;
    let reply = String::from_utf8_lossy(&reply);
    reply
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
}

/// The body is one sentence on one line.
fn one_sentence(body: &str) -> bool {
    let b = body.trim_end_matches('\n');
    !b.is_empty() && !b.contains('\n') && b.ends_with('.')
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_header_clients_are_disconnected_while_others_are_served() {
    let s = with_short_header_timeout().await;
    // One client dribbles its headers a byte at a time, another sends nothing.
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(s.addr).await.unwrap();
    let silent_closed = tokio::spawn(async move {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(GUARD, silent.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    });

    let c = client();
    let mut served = 0;
    let mut disconnected = false;
    let mut buf = [0u8; 1024];
    // At most 60 bytes, 250 ms apart: far longer than the header timeout.
    for _ in 0..60 {
        let r = c.get(s.url("/healthz")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        served += 1;
        if slow.write_all(b"a").await.is_err() {
            disconnected = true;
            break;
        }
        match tokio::time::timeout(std::time::Duration::from_millis(250), slow.read(&mut buf)).await
        {
            Ok(Ok(0)) | Ok(Err(_)) => {
                disconnected = true;
                break;
            }
            Ok(Ok(n)) => {
                // An answer (e.g. 408) before closing is fine too; the
                // connection must still end.
                assert!(n > 0);
                assert!(read_to_close(&mut slow).await.len() < 1024);
                disconnected = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(disconnected, "the slow client was never disconnected");
    assert!(served > 1, "normal requests were served meanwhile");
    assert!(
        silent_closed.await.unwrap(),
        "a client that sends nothing is disconnected"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excess_connections_wait_for_a_free_one() {
    let s = start(Limits {
        max_connections: 2,
        header_read_timeout: HEADER_TIMEOUT,
        ..Limits::default()
    })
    .await;
    // Both places taken by clients that send nothing...
    let _a = TcpStream::connect(s.addr).await.unwrap();
    let _b = TcpStream::connect(s.addr).await.unwrap();
    // ...so this one waits until the header timeout frees one, then is served.
    let r = client().get(s.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_request_heads_are_refused() {
    let s = with_short_header_timeout().await;
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(server::MAX_HEADER_BYTES * 2)
    );
    let code = raw_status(s.addr, big.as_bytes()).await;
    assert!(matches!(code, None | Some(431)), "{code:?}");

    let mut many = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
    for i in 0..=server::MAX_HEADERS {
        many.push_str(&format!("X-H{i}: 1\r\n"));
    }
    many.push_str("\r\n");
    let code = raw_status(s.addr, many.as_bytes()).await;
    assert!(matches!(code, None | Some(431)), "{code:?}");

    let long_uri = format!(
        "GET /?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(server::MAX_HEADER_BYTES * 2)
    );
    let code = raw_status(s.addr, long_uri.as_bytes()).await;
    assert!(matches!(code, None | Some(414) | Some(431)), "{code:?}");

    // A raw NUL in the request line is not HTTP.
    let code = raw_status(s.addr, b"GET /?q=a\0b HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(matches!(code, None | Some(400)), "{code:?}");

    // And the server still answers a normal request afterwards.
    let code = raw_status(
        s.addr,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(code, Some(200));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_query_strings_get_a_400_in_one_sentence() {
    let s = with_short_header_timeout().await;
    let thousands = (0..2000).map(|_| "a").collect::<Vec<_>>().join("&");
    let too_many = (0..=query::MAX_QUERY_PARAMS)
        .map(|i| format!("p{i}=1"))
        .collect::<Vec<_>>()
        .join("&");
    let hostile = [
        thousands,
        too_many,
        "q=%ff%fe".to_string(),
        "search=%ff%fe".to_string(),
        "category=%C3%28".to_string(),
        "q=a%00b".to_string(),
        "utm%00=1".to_string(),
        format!("q={}", "a".repeat(1000)),
        format!("source={}", "a".repeat(200)),
        format!("category={}", "a".repeat(200)),
        format!("x={}", "a".repeat(query::MAX_QUERY_BYTES)),
        "days=99999999999999999999".to_string(),
        "source=wsp&source=wsp".to_string(),
        "source=wsp&source=vrp".to_string(),
    ];
    let routes = [
        "/calendar.ics",
        "/calendar/wsp.ics",
        "/calendar/category/child-neglect.ics",
        "/",
        "/api/sessions",
    ];
    let c = client();
    for route in routes {
        for q in &hostile {
            let r = c.get(s.url(&format!("{route}?{q}"))).send().await.unwrap();
            let status = r.status();
            let body = r.text().await.unwrap();
            let shown = &q[..q.len().min(40)];
            assert_eq!(status, StatusCode::BAD_REQUEST, "{route}?{shown}: {body}");
            assert!(one_sentence(&body), "{route}?{shown}: {body:?}");
        }
        // The same route with a sane query still works.
        let r = c
            .get(s.url(&format!("{route}?days=30&q=word7")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{route}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_get_and_head_are_served() {
    let s = with_short_header_timeout().await;
    let c = client();
    for path in [
        "/",
        "/calendar.ics",
        "/calendar/wsp.ics",
        "/api/sessions",
        "/api/sources",
        "/healthz",
        "/no/such/page",
    ] {
        for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let r = c.request(m, s.url(path)).body("x=1").send().await.unwrap();
            assert_eq!(
                r.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path}"
            );
            assert_eq!(r.headers()[header::ALLOW], "GET, HEAD", "{method} {path}");
            let body = r.text().await.unwrap();
            assert!(one_sentence(&body), "{method} {path}: {body:?}");
        }
        let r = c.head(s.url(path)).send().await.unwrap();
        assert_ne!(r.status(), StatusCode::METHOD_NOT_ALLOWED, "HEAD {path}");
    }
    let r = c.get(s.url("/no/such/page")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    s.stop().await;
}

const LOAD_REQUESTS: usize = 20_000;
const LOAD_CONNECTIONS: usize = 64;
/// Distinct filtered feeds asked for: `days=1..=150` and `q=word0..word149`.
const LOAD_VARIANTS: usize = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_run_has_no_errors_and_keeps_the_cache_in_budget() {
    // The production limits: with the short header timeout of the slow-client
    // tests, a connection the server closes as idle can race a client reusing
    // it on a machine busy with other tests.
    let s = start(Limits::default()).await;
    let first = client().get(s.url("/calendar.ics")).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first.headers()[header::ETAG].to_str().unwrap().to_string();

    let c = Client::builder()
        .no_gzip()
        .timeout(GUARD)
        .pool_max_idle_per_host(LOAD_CONNECTIONS)
        // Give idle connections up well before the server's header timeout
        // would close them, as a well-behaved client does.
        .pool_idle_timeout(server::HEADER_READ_TIMEOUT / 4)
        .build()
        .unwrap();
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicUsize::new(0));
    let not_modified = Arc::new(AtomicUsize::new(0));
    let bad_status = Arc::new(AtomicUsize::new(0));
    let transport = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..LOAD_CONNECTIONS {
        let (c, etag, base) = (c.clone(), etag.clone(), s.url(""));
        let (next, ok, nm, bad, tr) = (
            next.clone(),
            ok.clone(),
            not_modified.clone(),
            bad_status.clone(),
            transport.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= LOAD_REQUESTS {
                    break;
                }
                let v = (i / 4) % LOAD_VARIANTS;
                let req = match i % 4 {
                    0 => c
                        .get(format!("{base}/calendar.ics"))
                        .header(header::IF_NONE_MATCH, &etag),
                    1 => c.get(format!("{base}/calendar.ics")),
                    2 => c.get(format!("{base}/calendar.ics?days={}", v + 1)),
                    _ => c.get(format!("{base}/calendar/wsp.ics?q=word{v}")),
                };
                match req.send().await {
                    Ok(r) => {
                        let status = r.status();
                        match r.bytes().await {
                            Ok(_) if status == StatusCode::OK => ok.fetch_add(1, Ordering::Relaxed),
                            Ok(_) if status == StatusCode::NOT_MODIFIED => {
                                nm.fetch_add(1, Ordering::Relaxed)
                            }
                            Ok(_) => bad.fetch_add(1, Ordering::Relaxed),
                            Err(_) => tr.fetch_add(1, Ordering::Relaxed),
                        };
                    }
                    Err(_) => {
                        tr.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let (ok, nm) = (
        ok.load(Ordering::Relaxed),
        not_modified.load(Ordering::Relaxed),
    );
    assert_eq!(bad_status.load(Ordering::Relaxed), 0, "non-2xx/304 answers");
    assert_eq!(transport.load(Ordering::Relaxed), 0, "transport errors");
    assert_eq!(ok + nm, LOAD_REQUESTS);
    assert_eq!(nm, LOAD_REQUESTS / 4, "every If-None-Match got a 304");
    assert!(
        s.state.feed_cache_bytes() <= s.state.feed_cache_budget(),
        "{} > {}",
        s.state.feed_cache_bytes(),
        s.state.feed_cache_budget()
    );
    // Each distinct feed was rendered about once, not once per request.
    assert!(s.state.feed_renders() < (2 * LOAD_VARIANTS + 1) as u64 * 2);
    s.stop().await;
}
