//! `events serve` while one of its sources is hostile: an iCal feed of 155
//! bytes whose `RRULE:FREQ=SECONDLY` from 1900 keeps its reader busy for a
//! long time. The crawl's parsing runs on a blocking thread, so the server
//! answers every `/healthz` meanwhile (how fast is printed, not asserted: a
//! busy machine is slow, not wrong), and SIGTERM ends the process within 5 s
//! without waiting for that thread. The binary is run on loopback against a
//! wiremock site.

mod common;

use common::web;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wiremock::ResponseTemplate;

/// One event every second since 1 January 1900: 155 bytes.
const SECONDLY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:pin@x.test\r\nDTSTART:19000101T000000Z\r\nRRULE:FREQ=SECONDLY\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

/// The `serve` process, killed if the test ends before it does.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `events serve` on a free loopback port; returns it and its address.
fn start_serve(sources: &std::path::Path, data: &std::path::Path) -> (Serve, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_events"))
        .arg("--sources")
        .arg(sources)
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("EVENTS_NOW")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting `events serve`");
    let mut serve = Serve(child);
    let line = common::servers::serving_line_blocking(&mut serve.0, common::servers::SERVE_START)
        .expect("`events serve` printed its address");
    let base = common::servers::address_in(&line);
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    (serve, base)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_and_stops_while_a_secondly_feed_is_read() {
    assert_eq!(SECONDLY.len(), 155);
    let site = web::site([
        ("/robots.txt", ResponseTemplate::new(404)),
        (
            "/feed.ics",
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/calendar")
                .set_body_string(SECONDLY),
        ),
    ])
    .await;
    let sources = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    std::fs::write(
        sources.path().join("pinned.toml"),
        format!(
            "id = \"pinned\"\nname = \"Every second\"\nkind = \"ical\"\nurl = \"{}/feed.ics\"\n",
            site.uri()
        ),
    )
    .unwrap();
    let (mut serve, base) = start_serve(sources.path(), data.path());

    // `serve` crawls at once; wait until it has the feed, so its reader is busy.
    let asked = Instant::now();
    loop {
        let got = site.received_requests().await.unwrap_or_default();
        if got.iter().any(|r| r.url.path() == "/feed.ics") {
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(60),
            "serve never fetched the feed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A new connection each time, as a load balancer's health check makes.
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let started = Instant::now();
        let resp = client
            .get(format!("{base}/healthz"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("/healthz answers");
        let status = resp.status();
        let body = resp.text().await.unwrap();
        let took = started.elapsed();
        assert!(
            status.is_success() || status.as_u16() == 503,
            "{status}: {body}"
        );
        assert!(body.contains("\"status\""), "{body}");
        eprintln!("{body}");
        slowest = slowest.max(took);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each answer came within the client's timeout; how fast is measured,
    // not asserted (a busy machine is slow, not wrong).
    eprintln!("slowest /healthz while the feed was read: {slowest:?}");

    // SIGTERM ends it within 5 s, reader still busy or not.
    let pid = i32::try_from(serve.0.id()).unwrap();
    // SAFETY: sends a signal to the child we started, by its id.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = serve.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "serve still running 5 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "serve ended with {status}");
}
