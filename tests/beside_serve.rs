//! The read commands beside a running `events serve`, and against one named
//! by `--server`: the same bytes as on a free store; `events export` beside
//! it writes the same files. And `events backup` while serving, restored
//! into an empty directory, serving the same bytes.
//!
//! Real binary, real store, a generated booking site on loopback. The
//! crawls run on the real clock and the source polls weekly, so `serve`
//! (whose schedule reads the real clock) does not crawl again while the
//! test compares; every answer is read at one frozen instant.

mod common;

use common::files::files_under;
use common::stdout;
use events::scaled_replica::{ScaledConfig, ScaledReplica};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A store crawled twice (so it holds changes) from a generated site.
struct Env {
    _tmp: tempfile::TempDir,
    _site: ScaledReplica,
    sources: PathBuf,
    data: PathBuf,
    now: String,
}

impl Env {
    async fn crawled() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let tomorrow = chrono::Utc::now()
            .with_timezone(&chrono_tz::Europe::London)
            .date_naive()
            + chrono::Duration::days(1);
        let site = ScaledReplica::start(ScaledConfig {
            events: 80,
            seed: 7,
            first_day: tomorrow,
        })
        .await
        .unwrap();
        let sources = tmp.path().join("sources");
        std::fs::create_dir_all(&sources).unwrap();
        std::fs::write(
            sources.join("wsp.toml"),
            format!(
                "id = \"wsp\"\nname = \"Walsall Safeguarding Partnership\"\nkind = \"event-booking\"\nbase_url = \"{}\"\nrequests_per_second = 100\npoll_interval = \"7d\"\n",
                site.base_url()
            ),
        )
        .unwrap();
        let data = tmp.path().join("data");
        // The first version at which some event's places move, so the
        // second crawl records changes.
        let moved = (1..100)
            .find(|&v| !site.site().changed_events(v).is_empty())
            .expect("some event changes within 100 versions");
        for version in [0, moved] {
            site.bump(version);
            let o = real_clock(&sources, &data, &["crawl"]).await;
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        Env {
            _tmp: tmp,
            _site: site,
            sources,
            data,
            now,
        }
    }

    async fn run(&self, data: &Path, args: &[&str]) -> Output {
        common::events(&self.sources, data, &self.now, None, args).await
    }

    /// `events serve` on the store, until the returned child is dropped;
    /// with the address it serves at.
    async fn serve(&self, data: &Path) -> (tokio::process::Child, String) {
        common::servers::serve(&self.sources, data, &self.now, &[]).await
    }
}

async fn real_clock(sources: &Path, data: &Path, args: &[&str]) -> Output {
    common::events_command(sources, data, "", None, args)
        .env_remove("EVENTS_NOW")
        .output()
        .await
        .unwrap()
}

/// Every read command, with filters and errors.
const READS: &[&[&str]] = &[
    &["upcoming"],
    &["upcoming", "--json"],
    &["upcoming", "--available", "--days", "30"],
    &["upcoming", "--category", "child-neglect", "--json"],
    &["upcoming", "--q", "neglect"],
    &["upcoming", "--source", "nosuch"],
    &["upcoming", "--days", "100000"],
    &["changes"],
    &["changes", "--json", "--since", "30d"],
    &["changes", "--kind", "full,places-freed", "--source", "wsp"],
    &["sources"],
    &["sources", "--json"],
    &["courses"],
    &["courses", "--json"],
    &["ics"],
    &["ics", "--source", "wsp", "--available"],
];

fn shown(o: &Output) -> (Option<i32>, String, String) {
    (
        o.status.code(),
        stdout(o),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test]
async fn read_commands_print_the_same_bytes_beside_serve_and_through_server() {
    let env = Env::crawled().await;
    let mut free = Vec::new();
    for args in READS {
        free.push(shown(&env.run(&env.data, args).await));
    }
    assert!(
        free[0].1.contains("PLACES") && free[14].1.contains("BEGIN:VEVENT"),
        "the free store lists sessions: {:?}",
        free[0]
    );
    assert!(free[7].1.contains("CHANGE"), "{:?}", free[7]);
    assert_eq!(free[5].0, Some(2), "an unknown source is a usage error");

    let free_export = env.data.with_file_name("export-free");
    let o = env
        .run(&env.data, &["export", free_export.to_str().unwrap()])
        .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let (mut server, url) = env.serve(&env.data).await;
    // export beside serve: from a copy the server takes, the same files.
    let beside_export = env.data.with_file_name("export-beside");
    let o = env
        .run(&env.data, &["export", beside_export.to_str().unwrap()])
        .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let files = files_under(&free_export);
    assert!(files.len() > 4, "{files:?}");
    assert_eq!(files, files_under(&beside_export), "export beside serve");
    let elsewhere = env.data.with_file_name("no-store-here");
    for (args, expected) in READS.iter().zip(&free) {
        let beside = shown(&env.run(&env.data, args).await);
        assert_eq!(&beside, expected, "beside serve: events {}", args.join(" "));
        let mut remote_args = vec!["--server", url.as_str()];
        remote_args.extend_from_slice(args);
        let remote = shown(&env.run(&elsewhere, &remote_args).await);
        assert_eq!(&remote, expected, "--server: events {}", args.join(" "));
    }
    assert!(!elsewhere.exists(), "--server reads no store");
    server.kill().await.unwrap();
}

#[tokio::test]
async fn a_server_that_cannot_be_reached_is_one_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/", common::servers::closed_port());
    let o = common::events(
        tmp.path(),
        tmp.path(),
        "2026-12-01T09:00:00Z",
        None,
        &["--server", &url, "upcoming"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with(&format!("error: cannot reach the events server at {url} ("))
            && err
                .ends_with("); check --server (or EVENTS_SERVER) and that the server is running\n"),
        "{err}"
    );
    let o = common::events(
        tmp.path(),
        tmp.path(),
        "2026-12-01T09:00:00Z",
        None,
        &["--server", "ftp://x", "sources"],
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "error: `ftp://x` is not a server address; give its http or https address, e.g. https://training.example.org\n"
    );
}

/// Every address whose bytes a restored store must serve alike.
const SERVED: &[&str] = &[
    "/",
    "/?available=1",
    "/calendar.ics",
    "/calendar/wsp.ics",
    "/changes.atom",
    "/api/sessions",
    "/api/sources",
    "/api/changes?since=30d",
    "/api/courses",
    "/healthz",
];

async fn served(url: &str) -> Vec<(String, u16, Vec<u8>)> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    for path in SERVED {
        let r = client
            .get(format!("{}{}", url.trim_end_matches('/'), path))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        out.push((path.to_string(), status, r.bytes().await.unwrap().to_vec()));
    }
    out
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_to_the_same_bytes() {
    let env = Env::crawled().await;
    let (mut server, url) = env.serve(&env.data).await;
    let file = env.data.with_file_name("nightly.backup");
    let o = env
        .run(&env.data, &["backup", file.to_str().unwrap()])
        .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let before = served(&url).await;
    server.kill().await.unwrap();
    server.wait().await.unwrap();

    let restored = env.data.with_file_name("restored");
    let o = env
        .run(&restored, &["restore", file.to_str().unwrap()])
        .await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (mut again, url) = env.serve(&restored).await;
    let after = served(&url).await;
    again.kill().await.unwrap();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(b.1, 200, "{}", b.0);
        assert!(b == a, "{} differs after restore", b.0);
    }

    // Restore never writes over a store, and says so.
    let o = env
        .run(&restored, &["restore", file.to_str().unwrap()])
        .await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "error: the data directory {} is not empty; restore into a new or empty directory, then point --data at it\n",
            restored.display()
        )
    );
    // A damaged (cut short) file is refused before anything is written.
    let bytes = std::fs::read(&file).unwrap();
    let cut = env.data.with_file_name("cut.backup");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let empty = env.data.with_file_name("empty");
    let o = env.run(&empty, &["restore", cut.to_str().unwrap()]).await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "error: {} is not a complete events backup (it ends early); take a new one with `events backup`\n",
            cut.display()
        )
    );
    assert!(!empty.exists(), "nothing is made from a damaged backup");
}
