//! A crawl killed with SIGKILL in the middle leaves a store that opens, and a
//! feed identical to the one before the killed crawl or after a complete one.

mod common;

use events::replica::{Replica, Site};
use std::path::Path;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

const FIRST: &str = "2026-12-01T09:00:00Z";
const SECOND: &str = "2026-12-01T11:00:00Z";

async fn ics(sources: &Path, data: &Path) -> String {
    let o = common::events_command(sources, data, SECOND, None, &["ics"])
        .output()
        .await
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

async fn crawl(sources: &Path, data: &Path, now: &str) {
    let o = common::events_command(sources, data, now, None, &["crawl"])
        .output()
        .await
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_crawl_leaves_the_previous_or_the_next_state() {
    let site = Replica::start(Site::Wsp).await.unwrap();
    let sources = tempfile::tempdir().unwrap();
    // Slow enough on purpose that the kill lands mid-crawl.
    common::write_wsp_source(sources.path(), &site.base_url(), 4);

    // A reference store that crawls both states without interruption.
    let reference = tempfile::tempdir().unwrap();
    let killed = tempfile::tempdir().unwrap();
    crawl(sources.path(), reference.path(), FIRST).await;
    crawl(sources.path(), killed.path(), FIRST).await;
    let before = ics(sources.path(), killed.path()).await;

    site.second_crawl();
    crawl(sources.path(), reference.path(), SECOND).await;
    let after = ics(sources.path(), reference.path()).await;
    assert_ne!(before, after, "the second crawl changes the feed");

    let start = site.requests();
    let mut child = common::events_command(sources.path(), killed.path(), SECOND, None, &["crawl"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) until the crawl is under way, then kill it without warning.
    for _ in 0..200 {
        if site.requests() >= start + 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    child.start_kill().unwrap(); // SIGKILL on unix
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "the crawl was killed, not finished");

    let now = ics(sources.path(), killed.path()).await;
    assert!(
        now == before || now == after,
        "the feed after a kill is neither the old nor the new one"
    );

    crawl(sources.path(), killed.path(), SECOND).await;
    assert_eq!(ics(sources.path(), killed.path()).await, after);
}

/// `watch` and `serve` stop on SIGTERM, leaving a store that opens with the
/// crawl they made.
#[tokio::test(flavor = "multi_thread")]
async fn watch_and_serve_stop_cleanly_on_sigterm() {
    let site = Replica::start(Site::Wsp).await.unwrap();
    let sources = tempfile::tempdir().unwrap();
    common::write_wsp_source(sources.path(), &site.base_url(), 50);
    for args in [&["watch"][..], &["serve", "--listen", "127.0.0.1:0"][..]] {
        let data = tempfile::tempdir().unwrap();
        let mut child = common::events_command(sources.path(), data.path(), FIRST, None, args)
            .env("EVENTS_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait (bounded) for the log line that says the first crawl was merged.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let merged = tokio::time::timeout(Duration::from_secs(30), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("wsp: 12 sessions found") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(merged, Ok(true), "{args:?} logged its first crawl");
        // Keep draining stderr so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let pid = child.id().expect("running").to_string();
        let term = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(term.success());
        let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
            .await
            .expect("stops within 20 s of SIGTERM")
            .unwrap();
        assert!(status.success(), "{args:?} exited with {status}");
        let out = common::events(
            sources.path(),
            data.path(),
            FIRST,
            None,
            &["upcoming", "--json"],
        )
        .await;
        assert_eq!(common::json_list(&out).len(), 11, "{args:?} kept its crawl");
    }
}
