//! `events crawl` with its store on a full disk: a small tmpfs (mounting one
//! needs root, as the test runs in CI) holds the store of a good crawl, then
//! is filled to the last block. The next crawl must end with a sentence
//! naming the full disk, within a bound, having changed nothing; and the store
//! lock must be free afterwards (another command opens the store and finds
//! every session).

mod common;

use common::web;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wiremock::{MockServer, ResponseTemplate};

const NOW: &str = "2026-12-01T09:00:00Z";

/// A tmpfs of `mib` MiB mounted for the test, unmounted when it ends.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, mib: u32) -> Tmpfs {
        std::fs::create_dir_all(at).unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(at)
            .output()
            .expect("running mount");
        assert!(
            out.status.success(),
            "this test mounts a small tmpfs and needs root to: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(at.to_path_buf())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Fills the file system holding `dir` until a write fails for want of space.
fn fill(dir: &Path) {
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0u8; 64 * 1024];
    loop {
        if let Err(e) = f.write_all(&block) {
            assert_eq!(e.raw_os_error(), Some(libc::ENOSPC), "{e}");
            break;
        }
    }
    // Whatever is left is smaller than one block.
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
}

fn uids(o: &std::process::Output) -> Vec<String> {
    let mut v: Vec<String> = common::json_list(o)
        .iter()
        .map(|s| s["uid"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// A site serving a feed of two events, and a sources folder naming it.
async fn feed_site() -> (MockServer, tempfile::TempDir) {
    let site = web::site([
        ("/robots.txt", ResponseTemplate::new(404)),
        (
            "/feed.ics",
            web::text(
                200,
                "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n\
                 BEGIN:VEVENT\r\nUID:a@x.test\r\nDTSTART:20270105T100000Z\r\nDTEND:20270105T120000Z\r\nSUMMARY:Briefing\r\nEND:VEVENT\r\n\
                 BEGIN:VEVENT\r\nUID:b@x.test\r\nDTSTART:20270112T100000Z\r\nDTEND:20270112T120000Z\r\nSUMMARY:Workshop\r\nEND:VEVENT\r\n\
                 END:VCALENDAR\r\n",
            ),
        ),
    ])
    .await;
    let sources = tempfile::tempdir().unwrap();
    std::fs::write(
        sources.path().join("feed.toml"),
        format!(
            "id = \"feed\"\nname = \"A feed\"\nkind = \"ical\"\nurl = \"{}/feed.ics\"\n",
            site.uri()
        ),
    )
    .unwrap();
    (site, sources)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crawl_on_a_full_disk_fails_with_a_sentence_and_loses_nothing() {
    let (_site, sources) = feed_site().await;
    let work = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&work.path().join("disk"), 96);
    let data = disk.0.join("data");

    let first = common::events(sources.path(), &data, NOW, None, &["crawl"]).await;
    assert!(first.status.success(), "{}", common::stdout(&first));
    let before =
        uids(&common::events(sources.path(), &data, NOW, None, &["upcoming", "--json"]).await);
    assert_eq!(before.len(), 2, "{before:?}");

    // More than MIN_FREE_DISK was free for the first crawl; now nothing is.
    assert!(events::store::MIN_FREE_DISK.as_u64() < 96 * 1024 * 1024);
    fill(&disk.0);
    let started = Instant::now();
    let crawl = tokio::time::timeout(
        Duration::from_secs(60),
        common::events(sources.path(), &data, NOW, None, &["crawl"]),
    )
    .await
    .expect("a crawl on a full disk ended within 60 s");
    let out = common::stdout(&crawl);
    assert_eq!(crawl.status.code(), Some(1), "{out}");
    assert!(
        out.contains("feed: FAILED: no space left on the store's disk"),
        "{out}\n{}",
        String::from_utf8_lossy(&crawl.stderr)
    );
    eprintln!("full-disk crawl ended in {:?}: {out}", started.elapsed());

    // The lock is free and nothing was lost.
    let after = common::events(sources.path(), &data, NOW, None, &["upcoming", "--json"]).await;
    assert_eq!(uids(&after), before);
}

/// The same on a disk remounted read-only: one sentence, at once (the store
/// cannot even be opened for writing there), and once the disk is writable
/// again every session is still there.
#[tokio::test(flavor = "multi_thread")]
async fn a_crawl_on_a_read_only_disk_fails_with_a_sentence_and_loses_nothing() {
    let (_site, sources) = feed_site().await;
    let work = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&work.path().join("disk"), 96);
    let data = disk.0.join("data");
    let first = common::events(sources.path(), &data, NOW, None, &["crawl"]).await;
    assert!(first.status.success(), "{}", common::stdout(&first));
    let before =
        uids(&common::events(sources.path(), &data, NOW, None, &["upcoming", "--json"]).await);
    assert_eq!(before.len(), 2, "{before:?}");

    let remount = std::process::Command::new("mount")
        .args(["-o", "remount,ro"])
        .arg(&disk.0)
        .status()
        .unwrap();
    assert!(remount.success());
    let crawl = tokio::time::timeout(
        Duration::from_secs(60),
        common::events(sources.path(), &data, NOW, None, &["crawl"]),
    )
    .await
    .expect("a crawl on a read-only disk ended within 60 s");
    let (out, err) = (
        common::stdout(&crawl),
        String::from_utf8_lossy(&crawl.stderr).into_owned(),
    );
    assert_eq!(crawl.status.code(), Some(1), "{out}{err}");
    eprintln!("read-only crawl: {out}{err}");
    assert!(
        out.contains("read-only") || err.contains("read-only") || err.contains("Read-only"),
        "{out}{err}"
    );
    let remount = std::process::Command::new("mount")
        .args(["-o", "remount,rw"])
        .arg(&disk.0)
        .status()
        .unwrap();
    assert!(remount.success());
    let after = common::events(sources.path(), &data, NOW, None, &["upcoming", "--json"]).await;
    assert_eq!(uids(&after), before);
}

/// Fills the file system holding `dir` until only about `leave` bytes are
/// free.
fn fill_leaving(dir: &Path, leave: u64) {
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).unwrap();
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::statvfs(c.as_ptr(), &mut st) }, 0);
    let free = st.f_bavail as u64 * st.f_frsize as u64;
    let mut f = std::fs::File::create(dir.join("filler")).unwrap();
    let block = vec![0u8; 64 * 1024];
    for _ in 0..free.saturating_sub(leave) / block.len() as u64 {
        f.write_all(&block).unwrap();
    }
}

/// With less free than `MIN_FREE_DISK` (but room to note it), the crawl
/// is refused before it writes, and the source's health says why with the
/// kind `store`, so an operator's alert can tell a disk from a site.
#[tokio::test(flavor = "multi_thread")]
async fn a_disk_below_its_floor_is_a_store_failure_in_health() {
    let (_site, sources) = feed_site().await;
    let work = tempfile::tempdir().unwrap();
    let disk = Tmpfs::mount(&work.path().join("disk"), 96);
    let data = disk.0.join("data");
    let first = common::events(sources.path(), &data, NOW, None, &["crawl"]).await;
    assert!(first.status.success(), "{}", common::stdout(&first));

    fill_leaving(&disk.0, events::store::MIN_FREE_DISK.as_u64() / 2);
    let crawl = common::events(sources.path(), &data, NOW, None, &["crawl"]).await;
    let out = common::stdout(&crawl);
    assert_eq!(crawl.status.code(), Some(1), "{out}");
    let health = common::events(sources.path(), &data, NOW, None, &["sources", "--json"]).await;
    let list = common::json_list(&health);
    assert_eq!(list[0]["error_kind"], "store", "{out}\n{:?}", list[0]);
    assert!(out.contains("no space left on the store's disk"), "{out}");
}
