//! `events serve` against hostile clients, on loopback: a forged `Host` (and
//! forged proxy headers) never reaches the page's or the Atom feed's links;
//! proxy headers count only when the server was told to trust them, and a
//! configured public URL wins over both; one client address cannot take every
//! connection; a very long path is answered about the path.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::servers::Served;
use common::sessions::{self, SessionBuilder};
use events::model::{Availability, Session};
use events::server::{self, AppState, Limits, PublicOrigin};
use events::store::Store;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const NOW: &str = "2026-12-01T09:00:00Z";

/// Longest any one answer may take before the test fails (a guard, not a
/// measurement).
const GUARD: std::time::Duration = std::time::Duration::from_secs(30);

fn session(i: usize) -> Session {
    let start = Utc.with_ymd_and_hms(2027, 1, 5, 9, 30, 0).unwrap() + Duration::days(i as i64);
    sessions::session("wsp", &format!("{}", 100 + i), start)
        .titled(format!("Course {i}"))
        .at_venue("Council House")
        .with_spaces(5)
}

async fn start(origin: PublicOrigin, limits: Limits) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    // Two crawls, so the Atom feed has entries (with links) too.
    for (spaces, ago) in [(0u32, 2), (5, 1)] {
        let list = (0..3)
            .map(|i| Session {
                availability: Availability::spaces(spaces),
                ..session(i)
            })
            .collect();
        sessions::merge_crawl(&store, "wsp", list, common::utc(NOW) - Duration::hours(ago));
    }
    let sources = vec![events::config::parse_source(
        std::path::Path::new("wsp.toml"),
        "id = \"wsp\"\nname = \"WSP\"\nkind = \"event-booking\"\nbase_url = \"https://wsp.example\"\n",
    )
    .unwrap()];
    let state = AppState::new(store, sources, server::fixed_clock(common::utc(NOW)))
        .with_public_origin(origin);
    Served::with_limits(state, limits).await.keeping(dir)
}

/// `GET path` over HTTP/1.0 with exactly these header fields (the `Host`
/// among them, as a client forges it): status line and body.
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (String, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.0\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(GUARD, s.read_to_end(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    let text = String::from_utf8(buf).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_string(), body.to_string())
}

/// What every hostile request below sends.
const FORGED: [(&str, &str); 4] = [
    ("Host", "evil.example"),
    ("X-Forwarded-Host", "evil.example"),
    ("X-Forwarded-Proto", "https"),
    ("Forwarded", "for=192.0.2.1;proto=https;host=evil.example"),
];

#[tokio::test]
async fn a_forged_host_never_reaches_the_links() {
    let s = start(PublicOrigin::Relative, Limits::default()).await;
    let (status, page) = get(s.addr, "/?category=child-neglect", &FORGED).await;
    assert!(status.contains("200"), "{status}");
    assert!(!page.contains("evil.example"), "{page}");
    assert!(page.contains("<a class=\"webcal\" href=\"/calendar.ics?category=Child+Neglect\">"));
    assert!(page.contains("value=\"/calendar.ics?category=Child+Neglect\""));
    // The script that makes them absolute in the browser is there.
    assert!(page.contains("\"webcal://\"+u.host"), "{page}");
    let (status, atom) = get(s.addr, "/changes.atom?kind=places-freed", &FORGED).await;
    assert!(status.contains("200"), "{status}");
    assert!(!atom.contains("evil.example"), "{atom}");
    assert!(atom.contains("<link href=\"/changes.atom?kind=places-freed\" rel=\"self\""));
    assert!(atom.contains("<link href=\"/\" rel=\"alternate\""));
    assert_eq!(atom.matches("<entry>").count(), 3, "{atom}");
}

#[tokio::test]
async fn proxy_headers_count_only_when_trusted() {
    let s = start(PublicOrigin::TrustedProxy, Limits::default().behind_proxy()).await;
    // X-Forwarded-*: the last value is the proxy's own.
    let (_, page) = get(
        s.addr,
        "/",
        &[
            ("Host", "127.0.0.1"),
            ("X-Forwarded-Host", "evil.example, calendar.example.org"),
            ("X-Forwarded-Proto", "https"),
        ],
    )
    .await;
    assert!(!page.contains("evil.example"), "{page}");
    assert!(
        page.contains("href=\"webcal://calendar.example.org/calendar.ics\""),
        "{page}"
    );
    assert!(page.contains("value=\"https://calendar.example.org/calendar.ics\""));
    assert!(
        !page.contains("\"webcal://\"+u.host"),
        "no script needed: {page}"
    );
    // RFC 7239 Forwarded wins over X-Forwarded-*, its last element counting.
    let (_, atom) = get(
        s.addr,
        "/changes.atom",
        &[
            ("Host", "127.0.0.1"),
            ("X-Forwarded-Host", "other.example"),
            (
                "Forwarded",
                "for=192.0.2.1;host=evil.example, for=10.0.0.1;proto=https;host=\"fwd.example:8443\"",
            ),
        ],
    )
    .await;
    assert!(
        !atom.contains("evil.example") && !atom.contains("other.example"),
        "{atom}"
    );
    assert!(
        atom.contains("<link href=\"https://fwd.example:8443/changes.atom\" rel=\"self\""),
        "{atom}"
    );
    // A forwarded host that is no host name gives relative links.
    let (_, page) = get(s.addr, "/", &[("X-Forwarded-Host", "evil\"><script>x")]).await;
    assert!(
        !page.contains("<script>x") && !page.contains("evil"),
        "{page}"
    );
    assert!(page.contains("value=\"/calendar.ics\""));

    // The same headers to a server not told to trust them change nothing.
    let untrusted = start(PublicOrigin::Relative, Limits::default()).await;
    let (_, page) = get(
        untrusted.addr,
        "/",
        &[
            ("X-Forwarded-Host", "calendar.example.org"),
            ("X-Forwarded-Proto", "https"),
        ],
    )
    .await;
    assert!(!page.contains("calendar.example.org"), "{page}");
}

#[tokio::test]
async fn the_public_url_wins() {
    let origin = PublicOrigin::configured("https://training.example.org/").unwrap();
    assert_eq!(
        origin,
        PublicOrigin::Configured("https://training.example.org".into())
    );
    let s = start(origin, Limits::default()).await;
    let (_, page) = get(s.addr, "/?source=wsp", &FORGED).await;
    assert!(!page.contains("evil.example"), "{page}");
    assert!(page.contains("href=\"webcal://training.example.org/calendar.ics?source=wsp\""));
    assert!(page.contains("value=\"https://training.example.org/calendar.ics?source=wsp\""));
    let (_, atom) = get(s.addr, "/changes.atom", &FORGED).await;
    assert!(!atom.contains("evil.example"), "{atom}");
    assert!(atom.contains("<link href=\"https://training.example.org/changes.atom\" rel=\"self\""));
    assert!(atom.contains("<link href=\"https://training.example.org/\" rel=\"alternate\""));
    // What a public URL may be.
    for bad in [
        "training.example.org",
        "javascript:alert(1)",
        "ftp://x.org",
        "https://x.org/calendar",
        "https://x.org/?a=1",
        "https://u:p@x.org/",
    ] {
        assert!(PublicOrigin::configured(bad).is_err(), "{bad}");
    }
    assert_eq!(
        PublicOrigin::configured("http://127.0.0.1:8080").unwrap(),
        PublicOrigin::Configured("http://127.0.0.1:8080".into())
    );
}

/// Opens `n` connections from `ip` (a loopback address) that send nothing.
async fn idle_from(ip: &str, addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut out = Vec::new();
    for _ in 0..n {
        let sock = TcpSocket::new_v4().unwrap();
        sock.bind(format!("{ip}:0").parse().unwrap()).unwrap();
        out.push(sock.connect(addr).await.unwrap());
    }
    out
}

/// How many of `streams` the server has closed (a read ends at once); the
/// others are still held open by it.
async fn closed(streams: Vec<TcpStream>) -> usize {
    let mut reads = tokio::task::JoinSet::new();
    for mut s in streams {
        reads.spawn(async move {
            let mut b = [0u8; 1];
            matches!(
                tokio::time::timeout(std::time::Duration::from_secs(2), s.read(&mut b)).await,
                Ok(Ok(0) | Err(_))
            )
        });
    }
    let mut n = 0;
    while let Some(r) = reads.join_next().await {
        n += usize::from(r.unwrap());
    }
    n
}

#[test]
fn one_client_cannot_take_every_connection() {
    let ((from_2, from_3, status), logs) = common::capture_warnings(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                // Idle clients are not let go for the length of the test, so
                // only the per-client limit can make room.
                let limits = Limits {
                    max_connections: 16,
                    max_connections_per_client: 4,
                    reserved_for_new_clients: 4,
                    header_read_timeout: std::time::Duration::from_secs(300),
                    ..Limits::default()
                };
                let s = start(PublicOrigin::Relative, limits).await;
                let a = idle_from("127.0.0.2", s.addr, 40).await;
                let b = idle_from("127.0.0.3", s.addr, 40).await;
                // Another client is answered (the guard fails the test if it
                // waits for a place).
                let (status, _) = get(s.addr, "/healthz", &[]).await;
                (closed(a).await, closed(b).await, status)
            })
    });
    assert!(status.contains("200"), "{status}");
    // Each address keeps four connections; the other 36 were closed.
    assert_eq!(from_2, 36);
    assert_eq!(from_3, 36);
    // Each address is named once, not once per connection.
    assert_eq!(logs.matches("client=127.0.0.2").count(), 1, "{logs}");
    assert_eq!(logs.matches("client=127.0.0.3").count(), 1, "{logs}");
}

#[tokio::test]
async fn a_long_path_is_answered_about_the_path() {
    let s = start(PublicOrigin::Relative, Limits::default()).await;
    let long = "a".repeat(15 * 1024);
    let (status, body) = get(s.addr, &format!("/calendar/{long}.ics"), &[]).await;
    assert!(status.contains("400"), "{status}");
    assert_eq!(
        body,
        "The source in the path must be a source id such as wsp or vrp (at most 100 characters).\n"
    );
    let (status, body) = get(s.addr, &format!("/calendar/category/{long}.ics"), &[]).await;
    assert!(status.contains("400"), "{status}");
    assert!(!body.contains("query string"), "{body}");
    let (status, body) = get(s.addr, &format!("/{long}"), &[]).await;
    assert!(status.contains("404"), "{status}");
    assert!(!body.contains("query string"), "{body}");
}

/// `events serve` with `args`, its sources one site nothing answers for;
/// killed when dropped (with its directories removed).
struct Serving {
    _child: tokio::process::Child,
    _dirs: [tempfile::TempDir; 2],
}

impl Serving {
    async fn start(args: &[&str]) -> (Serving, SocketAddr) {
        let sources = tempfile::tempdir().unwrap();
        std::fs::write(
            sources.path().join("wsp.toml"),
            "id = \"wsp\"\nname = \"WSP\"\nkind = \"event-booking\"\nbase_url = \"http://127.0.0.1:9\"\n",
        )
        .unwrap();
        let data = tempfile::tempdir().unwrap();
        let (child, url) =
            common::servers::serve(sources.path(), &data.path().join("data"), NOW, args).await;
        let addr = url
            .strip_prefix("http://")
            .and_then(|r| r.strip_suffix('/'))
            .unwrap_or_else(|| panic!("{url}"))
            .parse()
            .unwrap();
        (
            Serving {
                _child: child,
                _dirs: [sources, data],
            },
            addr,
        )
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_a_public_url_or_trusts_a_proxy() {
    let (_s, addr) = Serving::start(&["--public-url", "https://training.example.org"]).await;
    let (_, page) = get(addr, "/", &FORGED).await;
    assert!(
        page.contains("href=\"webcal://training.example.org/calendar.ics\""),
        "{page}"
    );
    assert!(!page.contains("evil.example"));

    let (_t, addr) = Serving::start(&["--trust-proxy"]).await;
    let (_, page) = get(
        addr,
        "/",
        &[
            ("X-Forwarded-Host", "proxy.example"),
            ("X-Forwarded-Proto", "https"),
        ],
    )
    .await;
    assert!(
        page.contains("value=\"https://proxy.example/calendar.ics\""),
        "{page}"
    );

    let (_u, addr) = Serving::start(&[]).await;
    let (_, page) = get(addr, "/", &FORGED).await;
    assert!(
        page.contains("value=\"/calendar.ics\"") && !page.contains("evil.example"),
        "{page}"
    );

    // A public URL that is not an origin is refused with a sentence.
    let sources = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let out = common::events(
        sources.path(),
        data.path(),
        NOW,
        None,
        &["serve", "--public-url", "https://x.org/calendar"],
    )
    .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("must be the site's origin only"), "{err}");
}
