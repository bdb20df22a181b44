//! End to end: the terminal tables of `events upcoming`, `events courses` and
//! `events sources` print no escape sequences, control characters or bidi
//! controls, whatever text the sites put in the store; `--json` keeps the text.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::sessions::{self, SessionBuilder};
use events::model::Course;
use events::store::{CrawlStats, Store};

const NOW: &str = "2026-12-01T09:00:00Z";

/// A colour (CSI), a window title (OSC ended by BEL) and a right-to-left override.
const HOSTILE: &str = "Neglect \u{1b}[31mLevel 2\u{1b}]0;title\u{7} \u{202e}evil";
const SHOWN: &str = "Neglect Level 2 evil";

fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n')
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

#[tokio::test(flavor = "multi_thread")]
async fn tables_print_site_text_without_terminal_controls() {
    let dir = tempfile::tempdir().unwrap();
    let sources = dir.path().join("sources");
    std::fs::create_dir_all(&sources).unwrap();
    common::write_wsp_source(
        &sources,
        &url::Url::parse("http://127.0.0.1:9/").unwrap(),
        1,
    );
    let data = dir.path().join("data");
    let now: DateTime<Utc> = NOW.parse().unwrap();
    {
        let store = Store::open(&data).unwrap();
        let session = sessions::session("wsp", "1001", now + Duration::days(7))
            .titled(HOSTILE)
            .in_category(HOSTILE)
            .described(HOSTILE)
            .at_venue(format!("Hall, {HOSTILE}"))
            .with_spaces(3)
            .booked_at("http://127.0.0.1:9/events/1001");
        let course = Course {
            source: "wsp".into(),
            id: "501".into(),
            title: HOSTILE.into(),
            category: Some(HOSTILE.into()),
            description: None,
            url: "http://127.0.0.1:9/elearning/501".into(),
        };
        store
            .apply_crawl(
                "wsp",
                vec![session],
                Some(vec![course]),
                now,
                0.5,
                CrawlStats::default(),
            )
            .unwrap()
            .unwrap();
        // An error message quoting what a site answered.
        store
            .record_failure(
                "wsp",
                now,
                events::errors::ErrorKind::HttpStatus,
                &format!("http://127.0.0.1:9/events-list answered HTTP 500: {HOSTILE}"),
                CrawlStats::default(),
            )
            .unwrap();
        store.flush().unwrap();
    }

    for command in ["upcoming", "courses", "sources"] {
        let out = common::events(&sources, &data, NOW, None, &[command]).await;
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = common::stdout(&out);
        assert!(text.contains(SHOWN), "{command}: {text:?}");
        assert!(!text.chars().any(unsafe_char), "{command}: {text:?}");
        assert!(!text.contains("0;title"), "{command}: {text:?}");
    }

    // Programs get the text as it is, escaped by JSON.
    let json = common::json_list(
        &common::events(&sources, &data, NOW, None, &["upcoming", "--json"]).await,
    );
    assert_eq!(json[0]["title"], HOSTILE);
}
