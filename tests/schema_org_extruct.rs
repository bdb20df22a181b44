//! The `schema-org` reader's JSON-LD against extruct's reading of the same
//! pages (`tests/python/jsonld.py`): every fixture page under
//! `tests/fixtures/schema-org/` gives the same items, WordPress's trailing
//! commas included. extruct 0.18 refuses a block with PHP-escaped quotes
//! (`\'`) and fails the whole page, so that one page is left out (the reader
//! accepts it; `tests/schema_org_adapter.rs` checks what it reads). Skipped
//! with a message when Python or extruct is missing, except under `CI`.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn pages() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-org");
    let mut out = Vec::new();
    for dir in [root.clone(), root.join("second"), root.join("wordpress")] {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let refused_by_extruct = p.ends_with("wordpress/php-escaped-quotes.html");
            if p.extension().is_some_and(|x| x == "html") && !refused_by_extruct {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn extruct_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import extruct"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("python3 with extruct is missing, and CI is set: pip install -r tests/python/requirements.txt");
    }
    if !ok {
        println!("schema_org_extruct: python3 with extruct is missing: not run");
    }
    ok
}

/// Our items: each block's array flattened, as extruct lists them.
fn ours(page: &Path) -> Vec<Value> {
    let html = std::fs::read_to_string(page).unwrap();
    let doc = scraper::Html::parse_document(&html);
    let url = url::Url::parse("https://www.partnership.example/events/").unwrap();
    events::platforms::schema_org::json_ld_blocks(&doc, &url)
        .into_iter()
        .flat_map(|b| match b {
            Value::Array(items) => items,
            other => vec![other],
        })
        .collect()
}

#[test]
fn every_page_reads_as_extruct_reads_it() {
    if !extruct_available() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/jsonld.py");
    let pages = pages();
    assert!(pages.len() >= 8, "{pages:?}");
    for page in pages {
        let out = Command::new("python3")
            .arg(&script)
            .arg(&page)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            page.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(ours(&page), theirs, "{}", page.display());
    }
}
