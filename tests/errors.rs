//! First-contact mistakes, through the real binary: each is one sentence on
//! stderr naming what is wrong and what to do, with exit code 2 for usage or
//! configuration and 1 otherwise.

mod common;

use common::{events, events_command, stdout};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

const NOW: &str = "2026-12-01T09:00:00Z";

/// How long `events demo` may take to crawl its replicas and print its address.
const DEMO_START: Duration = Duration::from_secs(60);

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// An `ical` source whose feed is on a loopback port nothing listens on, so
/// every crawl of it fails.
fn dead_source(sources: &Path) {
    let port = common::servers::closed_port();
    std::fs::create_dir_all(sources).unwrap();
    std::fs::write(
        sources.join("dead.toml"),
        format!("id = \"dead\"\nname = \"Dead\"\nkind = \"ical\"\nurl = \"http://127.0.0.1:{port}/a.ics\"\n"),
    )
    .unwrap();
}

#[tokio::test]
async fn a_missing_sources_directory_is_said_once_with_what_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let nodir = tmp.path().join("nodir");
    let o = events(&nodir, &tmp.path().join("data"), NOW, None, &["crawl"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "error: the sources directory {} does not exist; make it and add a source file (see README, \"Source files\"), or pass --sources DIR\n",
            nodir.display()
        )
    );
}

#[tokio::test]
async fn a_data_path_that_is_a_file_is_not_a_directory_for_reading_and_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("data");
    std::fs::write(&file, "not a store").unwrap();
    let sources = tmp.path().join("sources");
    dead_source(&sources);
    let want = format!(
        "error: the data path {} is not a directory; pass --data with a directory (it is made if missing)\n",
        file.display()
    );
    for args in [&["upcoming"][..], &["crawl"][..]] {
        let o = events(&sources, &file, NOW, None, args).await;
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&o), want, "{args:?}");
    }
}

#[tokio::test]
async fn an_empty_data_directory_has_no_store_yet() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let o = events(&tmp.path().join("sources"), &data, NOW, None, &["upcoming"]).await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!(
            "error: there is no store at {} yet; run `events crawl` first, or pass --data with the directory `events crawl` wrote to\n",
            data.display()
        )
    );
}

#[tokio::test]
async fn a_listen_address_without_a_port_is_one_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let o = events(
        tmp.path(),
        tmp.path(),
        NOW,
        None,
        &["serve", "--listen", "localhost"],
    )
    .await;
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: invalid value 'localhost' for '--listen <LISTEN>': `localhost` has no port; give HOST:PORT, e.g. 127.0.0.1:8080 or localhost:8080\n"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test]
async fn a_toml_syntax_error_says_what_is_malformed_and_where() {
    let tmp = tempfile::tempdir().unwrap();
    let sources = tmp.path().join("sources");
    std::fs::create_dir(&sources).unwrap();
    let file = sources.join("wsp.toml");
    std::fs::write(
        &file,
        "id = \"wsp\"\nname = \"Walsall\nkind = \"event-booking\"\n",
    )
    .unwrap();
    let o = events(&sources, &tmp.path().join("data"), NOW, None, &["sources"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "error: {}:2: the quoted value of `name` is not closed; add the closing quote at the end of the value\n",
            file.display()
        )
    );
}

#[tokio::test]
async fn a_misspelt_field_suggests_the_nearest_one() {
    let tmp = tempfile::tempdir().unwrap();
    let sources = tmp.path().join("sources");
    std::fs::create_dir(&sources).unwrap();
    let file = sources.join("cal.toml");
    std::fs::write(
        &file,
        "id = \"cal\"\nname = \"Cal\"\nkind = \"ical\"\nurl = \"https://example.org/a.ics\"\ntimezon = \"Europe/London\"\n",
    )
    .unwrap();
    let o = events(&sources, &tmp.path().join("data"), NOW, None, &["sources"]).await;
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.starts_with(&format!(
            "error: {}:5: field `timezon`: `timezon` is not a field of an `ical` source",
            file.display()
        )),
        "{e}"
    );
    assert!(e.ends_with("; did you mean `timezone`?\n"), "{e}");
}

#[tokio::test]
async fn an_unknown_source_lists_the_known_ones_and_a_store_never_crawled_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let sources = tmp.path().join("sources");
    let data = tmp.path().join("data");
    dead_source(&sources);
    let crawl = events(&sources, &data, NOW, None, &["crawl"]).await;
    assert_eq!(crawl.status.code(), Some(1), "{}", stderr(&crawl));

    for cmd in ["upcoming", "changes", "ics"] {
        let o = events(&sources, &data, NOW, None, &[cmd, "--source", "nope"]).await;
        assert_eq!(o.status.code(), Some(2), "{cmd}");
        assert_eq!(
            stderr(&o),
            "error: there is no source `nope`; the sources are dead (see `events sources`)\n",
            "{cmd}"
        );
    }

    let o = events(&sources, &data, NOW, None, &["upcoming"]).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "No crawl has succeeded yet, so there are no sessions to list; run `events sources` to see why.\n"
    );
}

#[tokio::test]
async fn demo_checks_its_port_before_crawling_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo-data");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let o = events(tmp.path(), &data, NOW, None, &["demo", "--listen", &addr]).await;
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        format!("error: {addr} is already in use; pass --listen with another port\n")
    );
    assert!(!data.exists(), "nothing is made before the port is had");
}

#[tokio::test]
async fn demo_keeps_its_store_in_data_and_listens_on_a_host_name() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("demo-data");
    let sources = tmp.path().join("sources");
    let mut child = events_command(
        &sources,
        &data,
        NOW,
        None,
        &["demo", "--listen", "localhost:0"],
    )
    .env_remove("EVENTS_NOW")
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .kill_on_drop(true)
    .spawn()
    .expect("starting `events demo`");
    let serving = common::servers::serving_line(&mut child, DEMO_START).await;
    // `localhost` is looked up to the loopback address.
    assert!(
        serving.starts_with("Serving on http://127.0.0.1:"),
        "{serving}"
    );
    let pid = child.id().expect("the demo runs") as i32;
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the demo stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");

    // The store stays in --data, with the replicas' sessions in it.
    let o = events(&sources, &data, NOW, None, &["upcoming", "--json"]).await;
    let list = common::json_list(&o);
    assert!(
        list.iter().any(|s| s["source"] == "wsp") && list.iter().any(|s| s["source"] == "vrp"),
        "{} sessions",
        list.len()
    );
}
