//! `events check SOURCE` against the replicas, through the real binary on
//! loopback: every kind checks clean; a WSP site whose labels and classes
//! changed is named by the keys to override; the store is never touched;
//! `--save` writes pages a reader loads as fixtures; `--json` parses; exit
//! codes 0, 1 and 2.

mod common;

use common::files::files_under;
use common::{events, stdout, write_wsp_source, READ_AT};
use events::replica::{Replica, Site, EVENTBRITE_ORGANIZER, EVENTBRITE_TOKEN, ICAL_FEED_PATH};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

/// Every file under `dir` with its SHA-256, so a test can tell whether
/// anything was written.
fn hashes(dir: &Path) -> BTreeMap<String, String> {
    files_under(dir)
        .into_iter()
        .map(|(p, bytes)| {
            (
                p.display().to_string(),
                format!("{:x}", Sha256::digest(&bytes)),
            )
        })
        .collect()
}

/// `events check ARGS` on `sources` and `data`, the clock frozen at
/// `READ_AT`, with the Eventbrite token `token` (or none).
async fn check(sources: &Path, data: &Path, token: Option<&str>, args: &[&str]) -> Output {
    let mut all = vec!["check"];
    all.extend_from_slice(args);
    events(sources, data, READ_AT, token, &all).await
}

/// A data directory holding a store from a real crawl of `sources`.
async fn crawled_store(sources: &Path, data: &Path, token: Option<&str>) {
    let o = events(sources, data, READ_AT, token, &["crawl"]).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\n{}",
            stdout(o),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn findings(v: &Value) -> Vec<String> {
    v["summary"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}; {}.",
                f["sentence"].as_str().unwrap(),
                f["advice"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn the_wsp_replica_checks_clean_with_every_field_and_the_store_is_untouched() {
    let site = Replica::start(Site::Wsp).await.unwrap();
    let (sources, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_wsp_source(sources.path(), &site.base_url(), 50);
    crawled_store(sources.path(), data.path(), None).await;
    let before = hashes(data.path());
    assert!(!before.is_empty());

    let o = check(sources.path(), data.path(), None, &["wsp"]).await;
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(
        text.contains("Every field was found on at least one page."),
        "{text}"
    );
    assert!(
        text.contains("OK: sessions were read and nothing required is missing."),
        "{text}"
    );
    // Every field of a session, local and UTC.
    assert!(text.contains("  session: Understanding Neglect Level 2\n    2027-04-09 09:30 BST – 2027-04-09 12:30 BST (2027-04-09T08:30:00Z – 2027-04-09T11:30:00Z)\n    12 places, scheduled, Virtual - MS Teams\n"), "{text}");
    assert!(
        text.contains(&format!(
            "listing {}events-list (HTTP 200, ",
            site.base_url()
        )),
        "{text}"
    );
    assert_eq!(
        hashes(data.path()),
        before,
        "check wrote to the data directory"
    );

    let o = check(sources.path(), data.path(), None, &["wsp", "--json"]).await;
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    assert_eq!(v["source"], "wsp");
    assert_eq!(v["kind"], "event-booking");
    assert_eq!(v["summary"]["ok"], true);
    let detail = v["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["url"].as_str().unwrap().ends_with("/events/1001"))
        .expect("1001's page");
    assert_eq!(detail["role"], "detail");
    assert_eq!(detail["status"], 200);
    assert_eq!(detail["misses"], serde_json::json!([]));
    let s = &detail["sessions"][0];
    assert_eq!(s["start_utc"], "2027-04-09T08:30:00Z");
    assert_eq!(s["places"], "12 places");
    assert_eq!(s["status"], "scheduled");
    assert_eq!(s["location"], "Virtual - MS Teams");
    assert!(s["url"].as_str().unwrap().ends_with("/events/1001"));
    assert_eq!(
        hashes(data.path()),
        before,
        "check --json wrote to the data directory"
    );
}

#[tokio::test]
async fn a_changed_wsp_site_names_the_label_and_selector_that_missed_and_the_keys_to_override() {
    let site = Replica::start(Site::Wsp).await.unwrap();
    site.change_markup();
    let (sources, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_wsp_source(sources.path(), &site.base_url(), 50);
    let file = sources.path().join("wsp.toml");

    let o = check(sources.path(), data.path(), None, &["wsp", "--json"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let v = json(&o);
    assert_eq!(v["summary"]["ok"], false);
    let f = findings(&v);
    assert!(f.contains(&format!("`selectors.description` matched nothing on 5 of 5 detail pages; set `description` under `[selectors]` in {} to a CSS selector that finds the description on the site.", file.display())), "{f:#?}");
    assert!(f.contains(&format!("`labels.places` found nothing on 3 of 5 detail pages; set `places` under `[labels]` in {} to a pattern that matches the site's label for the places.", file.display())), "{f:#?}");
    // What it looked at: the labels the page has instead.
    let miss = v["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["url"].as_str().unwrap().ends_with("/events/1003"))
        .unwrap()["misses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "labels.places")
        .cloned()
        .expect("a places miss on 1003");
    assert_eq!(miss["required"], true);
    assert!(
        miss["looked_at"].as_str().unwrap().contains("Capacity"),
        "{miss}"
    );

    let o = check(sources.path(), data.path(), None, &["wsp"]).await;
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("NOT OK: something required is missing (marked `required`)."),
        "{text}"
    );
    assert!(text.contains("  not found: places (required) by `labels.places` (`^\\s*(places|availability|spaces)\\b`); looked at: labels on the page: "), "{text}");

    // Overriding both keys in the source file fixes what a label or a class
    // can: the description is found, and the Capacity fields are read; what
    // is left is wording no setting reads ("Remaining: 12"), 1002, whose
    // number was only ever in a banner ("Only 2 left" now), and 1005's "TBC" row.
    let mut toml = std::fs::read_to_string(&file).unwrap();
    toml.push_str("\n[selectors]\ndescription = \".course-summary, #course-summary\"\n\n[labels]\nplaces = '^\\s*capacity\\b'\n");
    std::fs::write(&file, toml).unwrap();
    let o = check(sources.path(), data.path(), None, &["wsp", "--json"]).await;
    let v = json(&o);
    assert_eq!(
        findings(&v),
        [
            "the number of places could not be read on 3 of 5 detail pages; no setting changes how it is read: save the page with --save and report its wording.".to_string(),
            format!("`labels.places` found nothing on 1 of 5 detail pages; set `places` under `[labels]` in {} to a pattern that matches the site's label for the places.", file.display()),
            "the session date could not be read on 1 of 5 detail pages; no setting changes how it is read: save the page with --save and report its wording.".to_string(),
        ]
    );
    let p1001 = v["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["url"].as_str().unwrap().ends_with("/events/1001"))
        .unwrap();
    // The label is found now, and what it labels is shown as unreadable wording.
    assert_eq!(p1001["misses"][0]["field"], "number of places");
    assert_eq!(p1001["misses"][0]["key"], Value::Null);
    assert_eq!(p1001["misses"][0]["looked_at"], "Capacity: Remaining: 12");
    assert!(!data.path().join("db").exists(), "a store was made");
}

#[tokio::test]
async fn save_writes_pages_a_reader_loads_as_fixtures() {
    use events::platforms::event_booking::{parse_detail, parse_listing, EventBookingConfig};
    let site = Replica::start(Site::Wsp).await.unwrap();
    let (sources, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let saved = tempfile::tempdir().unwrap();
    write_wsp_source(sources.path(), &site.base_url(), 50);
    let dir = saved.path().join("wsp-live");
    let o = check(
        sources.path(),
        data.path(),
        None,
        &[
            "wsp",
            "--pages",
            "2",
            "--json",
            "--save",
            dir.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(&o);
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!(
            "| `{}events-list` | `events-list.html` | 200 | listing; 5 entries; 0 sessions |",
            site.base_url()
        )),
        "{readme}"
    );
    assert!(readme.contains("| `events_1001.html` | 200 | detail; 1 sessions; Understanding Neglect Level 2 at 2027-04-09T08:30:00Z (12 places)"), "{readme}");
    assert!(
        readme.contains(
            "Tests that read these pages should freeze the clock at **2026-12-01T09:00:00Z**."
        ),
        "{readme}"
    );

    // The saved pages, read back through the platform's readers, give what
    // the check showed.
    let cfg = EventBookingConfig::default();
    let ctx = common::reader_context("wsp");
    let base = site.base_url();
    let listing = std::fs::read_to_string(dir.join("events-list.html")).unwrap();
    let page = parse_listing(&listing, &base.join("/events-list").unwrap(), &cfg, &ctx).unwrap();
    assert_eq!(page.entries.len(), 5);
    let html = std::fs::read_to_string(dir.join("events_1001.html")).unwrap();
    let sessions = parse_detail(&html, &base.join("/events/1001").unwrap(), &cfg, &ctx).unwrap();
    let shown = v["pages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["saved_as"] == "events_1001.html")
        .unwrap()["sessions"]
        .clone();
    assert_eq!(shown.as_array().unwrap().len(), sessions.len());
    assert_eq!(
        shown[0]["start_utc"],
        sessions[0]
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert_eq!(shown[0]["title"], sessions[0].title);
    // --pages 2: two listing pages and two detail pages, and the walk says so.
    assert!(
        v["summary"]["stopped"]
            .as_str()
            .unwrap()
            .starts_with("stopped at 2 detail pages (--pages 2, or limits.max_event_pages in "),
        "{v}"
    );
}

#[tokio::test]
async fn eventbrite_checks_clean_through_the_api_and_the_public_site() {
    let site = Replica::start(Site::Eventbrite).await.unwrap();
    let (sources, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(
        sources.path().join("vrp.toml"),
        format!(
            "id = \"vrp\"\nname = \"VRP\"\nkind = \"eventbrite\"\nbase_url = \"{}\"\napi_url = \"{}\"\norganizer_id = \"{EVENTBRITE_ORGANIZER}\"\nrequests_per_second = 50\n",
            site.base_url(),
            site.api_url()
        ),
    )
    .unwrap();
    for token in [None, Some(EVENTBRITE_TOKEN)] {
        let o = check(
            sources.path(),
            data.path(),
            token,
            &["vrp", "--pages", "20", "--json"],
        )
        .await;
        assert_eq!(o.status.code(), Some(0), "{token:?}: {}", stdout(&o));
        let v = json(&o);
        assert_eq!(v["kind"], "eventbrite");
        assert!(v["summary"]["sessions"].as_u64().unwrap() >= 3, "{v}");
        let roles: Vec<&str> = v["pages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["role"].as_str().unwrap())
            .collect();
        let list = if token.is_some() {
            "API event list"
        } else {
            "organiser's events"
        };
        assert!(roles.contains(&list), "{roles:?}");
    }
    // A wrong organiser: the list is empty, and the key named.
    let toml = std::fs::read_to_string(sources.path().join("vrp.toml")).unwrap();
    std::fs::write(
        sources.path().join("vrp.toml"),
        toml.replace(EVENTBRITE_ORGANIZER, "11111111111"),
    )
    .unwrap();
    let o = check(
        sources.path(),
        data.path(),
        Some(EVENTBRITE_TOKEN),
        &["vrp"],
    )
    .await;
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(!data.path().join("db").exists(), "a store was made");
}

#[tokio::test]
async fn ical_and_schema_org_check_clean() {
    let feed = Replica::start(Site::Ical).await.unwrap();
    let pages = Replica::start(Site::SchemaOrg).await.unwrap();
    let (sources, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::write(
        sources.path().join("site-calendar.toml"),
        format!("id = \"site-calendar\"\nname = \"Site calendar\"\nkind = \"ical\"\nurl = \"{}\"\nrequests_per_second = 50\n", feed.base_url().join(ICAL_FEED_PATH).unwrap()),
    )
    .unwrap();
    std::fs::write(
        sources.path().join("site-events.toml"),
        format!("id = \"site-events\"\nname = \"Site events\"\nkind = \"schema-org\"\nbase_url = \"{}\"\nlisting = \"/events/\"\nevent_path = '^/event/[^/]+/?$'\nrequests_per_second = 50\n", pages.base_url()),
    )
    .unwrap();
    let o = check(
        sources.path(),
        data.path(),
        None,
        &["site-calendar", "--json"],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = json(&o);
    assert_eq!(v["pages"][0]["role"], "feed");
    assert!(!v["pages"][0]["sessions"].as_array().unwrap().is_empty());

    let o = check(
        sources.path(),
        data.path(),
        None,
        &["site-events", "--json"],
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = json(&o);
    assert_eq!(v["kind"], "schema-org");
    assert_eq!(v["summary"]["findings"], serde_json::json!([]));

    // An event_path that matches nothing on the link-only listing page is named.
    let file = sources.path().join("site-events.toml");
    let toml = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, toml.replace("^/event/[^/]+/?$", "^/course/")).unwrap();
    let o = check(
        sources.path(),
        data.path(),
        None,
        &["site-events", "--json"],
    )
    .await;
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let f = findings(&json(&o));
    assert!(
        f.contains(&format!(
            "`event_path` found nothing on 1 of 2 listing pages; check `event_path` in {}.",
            file.display()
        )),
        "{f:#?}"
    );
    assert!(!data.path().join("db").exists(), "a store was made");
}

#[tokio::test]
async fn usage_errors_exit_2_and_name_the_known_sources() {
    let site = Replica::start(Site::Wsp).await.unwrap();
    let (sources, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_wsp_source(sources.path(), &site.base_url(), 50);
    let o = check(sources.path(), data.path(), None, &["nosuch"]).await;
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr).trim(),
        "error: there is no source `nosuch`; the sources are wsp (see `events sources`)"
    );
    let o = check(sources.path(), data.path(), None, &["wsp", "--pages", "0"]).await;
    assert_eq!(o.status.code(), Some(2));
    let o = check(sources.path(), data.path(), None, &[]).await;
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(site.requests(), 0, "a usage error fetched something");
}

/// The Events Calendar's "Subscribe" export holds its default 30 events
/// (`tests/fixtures/ical/paged/subscribe-next-30.ics`): the check says the
/// site may list more and names `page_url`, without failing; once `page_url`
/// is set (and page 2 is not found) nothing is said.
#[tokio::test]
async fn an_export_of_the_events_calendar_s_default_thirty_names_page_url() {
    use wiremock::matchers::path;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let site = MockServer::start().await;
    let feed = common::fixture_text("ical/paged", "subscribe-next-30.ics");
    Mock::given(path("/events/"))
        .respond_with(ResponseTemplate::new(200).set_body_string(feed))
        .mount(&site)
        .await;
    let (sources, data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let file = sources.path().join("site.toml");
    let toml = format!(
        "id = \"site\"\nname = \"Site calendar\"\nkind = \"ical\"\nurl = \"{}/events/?ical=1\"\nrequests_per_second = 50\n",
        site.uri()
    );
    std::fs::write(&file, &toml).unwrap();
    let o = check(sources.path(), data.path(), None, &["site", "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = json(&o);
    assert_eq!(v["summary"]["sessions"], 30, "{v}");
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(
        f[0].starts_with("1 of 1 feed page may hold only the first of the site's events; if the site lists more events than the feed holds, set `page_url` in"),
        "{f:#?}"
    );
    assert!(f[0].contains(&file.display().to_string()), "{f:#?}");

    std::fs::write(
        &file,
        format!("{toml}page_url = \"/events/list/page/{{page}}/?ical=1\"\n"),
    )
    .unwrap();
    let o = check(sources.path(), data.path(), None, &["site", "--json"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v = json(&o);
    assert_eq!(v["summary"]["findings"], serde_json::json!([]), "{v}");
    assert_eq!(v["summary"]["sessions"], 30, "{v}");
}
