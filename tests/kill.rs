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

/// A feed with its lines unfolded and DTSTAMP (when the snapshot was taken,
/// not what it says) left out, for comparing states.
fn normalized(feed: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for l in feed.split("\r\n") {
        match l.strip_prefix(' ') {
            Some(rest) => lines.last_mut().expect("a first line").push_str(rest),
            None => lines.push(l.to_string()),
        }
    }
    lines.retain(|l| !l.starts_with("DTSTAMP"));
    lines
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// Kills per test: each at a random (seeded, so repeatable) point of a crawl.
const CRAWL_KILLS: u64 = 8;

#[tokio::test(flavor = "multi_thread")]
async fn crawls_killed_at_random_points_leave_the_previous_or_the_next_state() {
    use rand::{Rng, SeedableRng};
    let site = Replica::start(Site::Wsp).await.unwrap();
    let sources = tempfile::tempdir().unwrap();
    // 4 requests a second: a crawl of the replica takes a few seconds.
    common::write_wsp_source(sources.path(), &site.base_url(), 4);

    let before_store = tempfile::tempdir().unwrap();
    crawl(sources.path(), before_store.path(), FIRST).await;
    let before = normalized(&ics(sources.path(), before_store.path()).await);
    site.second_crawl();
    let after_store = tempfile::tempdir().unwrap();
    copy_dir(before_store.path(), after_store.path());
    let started = std::time::Instant::now();
    crawl(sources.path(), after_store.path(), SECOND).await;
    let crawl_ms = u64::try_from(started.elapsed().as_millis())
        .unwrap()
        .max(200);
    let after = normalized(&ics(sources.path(), after_store.path()).await);
    assert_ne!(before, after, "the second crawl changes the feed");

    let mut rng = rand::rngs::StdRng::seed_from_u64(20_270_409);
    let (mut old, mut new) = (0, 0);
    for kill in 0..CRAWL_KILLS {
        let data = tempfile::tempdir().unwrap();
        copy_dir(before_store.path(), data.path());
        let mut child =
            common::events_command(sources.path(), data.path(), SECOND, None, &["crawl"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
        let delay = rng.gen_range(0..crawl_ms);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        child.start_kill().unwrap(); // SIGKILL on unix; a no-op if it has finished
        child.wait().await.unwrap();
        let now = normalized(&ics(sources.path(), data.path()).await);
        if now == before {
            old += 1;
        } else if now == after {
            new += 1;
        } else {
            panic!(
                "kill {kill} after {delay} ms left a feed that is neither the old nor the new one"
            );
        }
        // and a complete crawl from there reaches the new state
        if kill == 0 {
            crawl(sources.path(), data.path(), SECOND).await;
            assert_eq!(normalized(&ics(sources.path(), data.path()).await), after);
        }
    }
    assert_eq!(old + new, CRAWL_KILLS);
}

/// Kills of `events serve` while clients fetch the calendar.
const SERVE_KILLS: u64 = 3;

#[tokio::test(flavor = "multi_thread")]
async fn serve_killed_under_load_leaves_a_store_that_opens() {
    use rand::{Rng, SeedableRng};
    let site = Replica::start(Site::Wsp).await.unwrap();
    let sources = tempfile::tempdir().unwrap();
    common::write_wsp_source(sources.path(), &site.base_url(), 50);
    let data = tempfile::tempdir().unwrap();
    crawl(sources.path(), data.path(), FIRST).await;
    let before = normalized(&ics(sources.path(), data.path()).await);

    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    for kill in 0..SERVE_KILLS {
        let port = common::servers::closed_port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = common::events_command(
            sources.path(),
            data.path(),
            FIRST,
            None,
            &["serve", "--listen", &listen],
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
        // A small load, bounded in count: four clients, 50 requests each at most.
        let url = format!("http://{listen}/calendar.ics");
        let load: Vec<_> = (0..4)
            .map(|_| {
                let (client, url) = (client.clone(), url.clone());
                tokio::spawn(async move {
                    let mut ok = 0u32;
                    for _ in 0..50 {
                        match client.get(&url).send().await {
                            Ok(r) if r.status().is_success() => ok += 1,
                            _ => tokio::time::sleep(Duration::from_millis(20)).await,
                        }
                    }
                    ok
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(200..1500))).await;
        child.start_kill().unwrap();
        child.wait().await.unwrap();
        for l in load {
            l.await.unwrap();
        }
        let now = normalized(&ics(sources.path(), data.path()).await);
        assert_eq!(
            now, before,
            "kill {kill}: the store changed under a killed serve"
        );
    }
}
