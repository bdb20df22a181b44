//! A site of its own: `events.toml` beside `sources/` (or `--config FILE`)
//! names the calendar and the page, describes them, gives the public
//! address every absolute link uses, and a contact. Without a title the
//! calendar is named for its sources' names, never their ids.
//!
//! Real binary, real store, the WSP replica on loopback.

mod common;

use events::replica::{Replica, Site};
use std::path::{Path, PathBuf};

const NOW: &str = "2027-03-01T09:00:00Z";

const SETTINGS: &str = r#"# The deployment's own settings.
title = "Walsall Safeguarding Partnership training"
description = "Multi-agency safeguarding courses in Walsall, with the places left."
public_url = "https://training.example.org"
contact = "training@example.org"
"#;

/// A store crawled from the WSP replica, its sources in `root/sources`.
struct Env {
    _tmp: tempfile::TempDir,
    _site: Replica,
    root: PathBuf,
}

impl Env {
    async fn crawled() -> Env {
        let site = Replica::start(Site::Wsp).await.unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        std::fs::create_dir_all(root.join("sources")).unwrap();
        common::write_wsp_source(&root.join("sources"), &site.base_url(), 50);
        let env = Env {
            _tmp: tmp,
            _site: site,
            root,
        };
        let o = env.run(&["crawl"]).await;
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        env
    }

    fn sources(&self) -> PathBuf {
        self.root.join("sources")
    }

    fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    async fn run(&self, args: &[&str]) -> std::process::Output {
        common::events(&self.sources(), &self.data(), NOW, None, args).await
    }

    fn settle(&self, text: &str) {
        std::fs::write(self.root.join("events.toml"), text).unwrap();
    }
}

/// The values of calendar property `name` (lines unfolded).
fn property(ics: &str, name: &str) -> Vec<String> {
    ics.replace("\r\n ", "")
        .lines()
        .filter_map(|l| Some(l.strip_prefix(name)?.strip_prefix(':')?.to_string()))
        .collect()
}

async fn get(url: &str, path: &str) -> String {
    reqwest::get(format!("{}{}", url.trim_end_matches('/'), path))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn without_settings_the_calendar_is_named_for_its_sources() {
    let env = Env::crawled().await;
    let ics = common::stdout(&env.run(&["ics"]).await);
    assert_eq!(
        property(&ics, "X-WR-CALNAME"),
        ["Walsall Safeguarding Partnership training"]
    );
    assert_eq!(
        property(&ics, "NAME"),
        ["Walsall Safeguarding Partnership training"]
    );
    assert!(!ics.contains("WSP"), "never the id in capitals");
}

#[tokio::test]
async fn the_settings_name_the_calendar_page_and_changes_feed() {
    let env = Env::crawled().await;
    env.settle(SETTINGS);
    let ics = common::stdout(&env.run(&["ics"]).await);
    let title = "Walsall Safeguarding Partnership training";
    assert_eq!(property(&ics, "X-WR-CALNAME"), [title]);
    assert_eq!(
        property(&ics, "DESCRIPTION")[0],
        "Multi-agency safeguarding courses in Walsall\\, with the places left."
    );
    let by_source = common::stdout(&env.run(&["ics", "--source", "wsp"]).await);
    assert_eq!(
        property(&by_source, "X-WR-CALNAME"),
        [format!("{title} — Walsall Safeguarding Partnership")]
    );

    let (mut server, url) = common::servers::serve(&env.sources(), &env.data(), NOW, &[]).await;
    let page = get(&url, "/").await;
    assert!(page.contains(&format!("<title>{title}</title>")), "{page}");
    assert!(page.contains(&format!("<h1>{title}</h1>")));
    assert!(
        page.contains("<p>Multi-agency safeguarding courses in Walsall, with the places left.</p>")
    );
    assert!(page.contains(
        r#"Questions about this calendar: <a href="mailto:training@example.org">training@example.org</a>"#
    ));
    assert!(page.contains(r#"value="https://training.example.org/calendar.ics""#));
    assert!(page.contains(r#"href="webcal://training.example.org/calendar.ics""#));
    let atom = get(&url, "/changes.atom").await;
    assert!(
        atom.contains(&format!("<title>{title}: what changed</title>")),
        "{atom}"
    );
    assert!(atom.contains(r#"href="https://training.example.org/changes.atom""#));
    server.kill().await.unwrap();

    // The command line's --public-url wins over the file.
    let (mut server, url) = common::servers::serve(
        &env.sources(),
        &env.data(),
        NOW,
        &["--public-url", "https://calendar.example.net"],
    )
    .await;
    let page = get(&url, "/").await;
    assert!(page.contains(r#"value="https://calendar.example.net/calendar.ics""#));
    server.kill().await.unwrap();
}

/// Every `href` of the exported page that names an `.ics` file.
fn ics_links(page: &str) -> Vec<String> {
    page.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|h| h.ends_with(".ics"))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn export_with_a_public_url_is_pasteable_and_has_no_dead_controls() {
    let env = Env::crawled().await;
    env.settle(SETTINGS);
    let out = env.root.join("site");
    let o = env.run(&["export", out.to_str().unwrap()]).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains(r#"value="https://training.example.org/calendar.ics""#));
    assert!(page.contains(r#"class="webcal" href="webcal://training.example.org/calendar.ics""#));
    assert!(
        !page.contains("<form") && !page.contains(r#"class="chips""#),
        "{page}"
    );
    assert!(!page.contains("Only sessions with places"));
    // Each calendar the page offers was written, under the public address.
    let offered = ics_links(&page);
    assert!(offered.len() >= 3, "{offered:?}");
    for link in offered {
        let rel = link
            .strip_prefix("https://training.example.org/")
            .or_else(|| link.strip_prefix("webcal://training.example.org/"))
            .unwrap_or(&link);
        assert!(out.join(rel).is_file(), "{link} was not written");
    }
}

#[tokio::test]
async fn export_without_a_public_url_stays_relative() {
    let env = Env::crawled().await;
    let out = env.root.join("site");
    let o = env.run(&["export", out.to_str().unwrap()]).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains(r#"value="calendar.ics""#));
    assert!(page.contains(r#"href="calendar/wsp.ics""#));
    assert!(!page.contains("<form"));
    for link in ics_links(&page) {
        assert!(out.join(&link).is_file(), "{link} was not written");
    }
}

async fn error_of(env: &Env, args: &[&str]) -> (Option<i32>, String) {
    let o = env.run(args).await;
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_wrong_settings_file_is_one_sentence() {
    let env = Env::crawled().await;
    let file = env.root.join("events.toml");
    env.settle("title = \"x\"\ntitel = \"y\"\n");
    assert_eq!(
        error_of(&env, &["upcoming"]).await,
        (
            Some(2),
            format!(
                "error: {}:2: field `titel`: `titel` is not a setting of events.toml; did you mean `title`?\n",
                file.display()
            )
        )
    );
    env.settle("public_url = \"training.example.org\"\n");
    assert_eq!(
        error_of(&env, &["ics"]).await.1,
        format!(
            "error: {}:1: field `public_url`: the public URL must be an http or https address with a host, e.g. https://training.example.org\n",
            file.display()
        )
    );
    std::fs::remove_file(&file).unwrap();
    let missing = Path::new("nowhere/events.toml");
    assert_eq!(
        error_of(&env, &["--config", missing.to_str().unwrap(), "upcoming"]).await.1,
        "error: cannot read the settings file nowhere/events.toml (no such file or directory); check the --config path, or leave --config out\n"
    );
}
