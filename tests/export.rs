//! `events export DIR` against `events serve`'s own answers: the same store and
//! the same clock give the same bytes, file for path, and the static page's
//! feed links are relative to it.

mod common;

use chrono::{Duration, TimeZone, Utc};
use common::servers::{body_text, Served};
use common::sessions::{self, SessionBuilder};
use events::config::parse_source;
use events::model::Session;
use events::server::{self, AppState};
use events::store::Store;
use std::path::Path;

const NOW: &str = "2027-03-01T09:00:00Z";

fn session(source: &str, id: &str, category: &str, day: u32) -> Session {
    let start = Utc.with_ymd_and_hms(2027, 4, day, 9, 0, 0).unwrap();
    sessions::session(source, id, start)
        .in_category(category)
        .lasting(Duration::hours(2))
        .at_venue("Civic Centre")
        .with_spaces(3)
        .booked_at(format!("https://booking.example.org/events/{id}"))
}

/// The page's weeks of sessions: from the first week's heading to the end
/// of the sessions' section.
fn weeks(html: &str) -> &str {
    let start = html.find("<h3>Week of ").expect("a week of sessions");
    let end = start + html[start..].find("</section>").unwrap();
    &html[start..end]
}

#[tokio::test]
async fn export_writes_what_serve_serves() {
    let dir = tempfile::tempdir().unwrap();
    let sources = dir.path().join("sources");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&sources).unwrap();
    let wsp = "id = \"wsp\"\nname = \"Walsall Safeguarding Partnership\"\nkind = \"event-booking\"\nbase_url = \"https://booking.example.org\"\n";
    let vrp = "id = \"vrp\"\nname = \"West Midlands VRP\"\nkind = \"eventbrite\"\norganizer_id = \"12345\"\n";
    std::fs::write(sources.join("wsp.toml"), wsp).unwrap();
    std::fs::write(sources.join("vrp.toml"), vrp).unwrap();
    let now = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
    {
        let store = Store::open(&data).unwrap();
        let crawled = now - Duration::hours(1);
        let wsp_sessions = vec![
            session("wsp", "1", "Child Neglect", 6),
            session("wsp", "2", "Self-Neglect, Hoarding", 7),
        ];
        let vrp_sessions = vec![session("vrp", "3", "Exploitation", 8)];
        for (id, s) in [("wsp", wsp_sessions), ("vrp", vrp_sessions)] {
            sessions::merge_crawl(&store, id, s, crawled);
        }
        store.flush().unwrap();
    }

    let out = dir.path().join("site");
    let run = common::events(
        &sources,
        &data,
        NOW,
        None,
        &["export", out.to_str().unwrap()],
    )
    .await;
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );

    // The server over the same store (opened after the export closed it).
    let store = Store::open(&data).unwrap();
    let configs = vec![
        parse_source(Path::new("vrp.toml"), vrp).unwrap(),
        parse_source(Path::new("wsp.toml"), wsp).unwrap(),
    ];
    let state = AppState::new(store, configs, server::fixed_clock(now));
    let served = Served::start(state).await;
    let addr = served.addr;
    let client = reqwest::Client::builder()
        .no_gzip()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let paths = [
        "calendar.ics",
        "calendar/wsp.ics",
        "calendar/vrp.ics",
        "calendar/category/child-neglect.ics",
        "calendar/category/self-neglect-hoarding.ics",
        "calendar/category/exploitation.ics",
    ];
    for path in paths {
        let served = client
            .get(format!("http://{addr}/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(served.status(), 200, "{path}");
        let served = served.bytes().await.unwrap();
        let written = std::fs::read(out.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(written.starts_with(b"BEGIN:VCALENDAR"), "{path}");
        assert_eq!(
            written,
            served.as_ref(),
            "{path} differs from what serve serves"
        );
    }
    let served_json = client
        .get(format!("http://{addr}/api/sessions"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(out.join("sessions.json")).unwrap(),
        served_json.as_ref()
    );

    // The page: the served one with its absolute feed links made relative.
    let served_page = body_text(
        client
            .get(format!("http://{addr}/"))
            .header("host", "calendar.example.org"),
    )
    .await;
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(page.contains("href=\"calendar.ics\""), "{page}");
    assert!(page.contains("value=\"calendar.ics\""));
    assert!(page.contains("href=\"sessions.json\""));
    assert!(!page.contains("href=\"/calendar.ics") && !page.contains("href=\"webcal:"));
    // The served page has no public URL either: its links are from the root.
    assert!(!served_page.contains("calendar.example.org"));
    // The sessions are the served page's; the filters, which need a server,
    // give way to links to the per-source and per-category files written.
    assert_eq!(weeks(&page), weeks(&served_page));
    assert_eq!(weeks(&page).matches("<li").count(), 3);
    assert!(!page.contains("<form") && served_page.contains("<form"));
    assert!(!page.contains("Only sessions with places"));
    for path in &paths[1..] {
        assert!(page.contains(&format!("href=\"{path}\"")), "{path}: {page}");
    }
    // The changes feed: the served one with its links relative to the root.
    let served_atom = body_text(
        client
            .get(format!("http://{addr}/changes.atom"))
            .header("host", "calendar.example.org"),
    )
    .await;
    let atom = std::fs::read_to_string(out.join("changes.atom")).unwrap();
    assert!(atom.contains("<feed"), "{atom}");
    assert_eq!(atom, served_atom.replace("http://calendar.example.org", ""));
    assert!(!std::fs::read_dir(&out).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".part")));

    let _ = served.shut_down().await;
}
