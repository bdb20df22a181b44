//! The platform registry is complete: every registered kind has a source file
//! or a commented example that parses as that kind, and a section in
//! `docs/sources.md` describing the pages it reads; and an unknown kind is
//! refused naming every registered one.

use events::config::parse_source;
use events::platforms::{platform, PLATFORMS};
use std::path::{Path, PathBuf};

fn source_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sources");
    let mut files = Vec::new();
    for dir in [root.clone(), root.join("examples")] {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.ends_with(".toml") || name.ends_with(".toml.example") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_registered_kind_has_an_example_and_a_description() {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/sources.md"))
            .unwrap();
    let parsed: Vec<_> = source_files()
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            parse_source(&f, &text).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    assert!(PLATFORMS.len() >= 4);
    for p in PLATFORMS {
        assert!(
            parsed.iter().any(|c| c.kind_name == p.kind),
            "no source file or example in sources/ is of kind `{}`",
            p.kind
        );
        let heading = format!("## `{}`", p.kind);
        assert!(
            docs.lines().any(|l| l.starts_with(&heading)),
            "docs/sources.md has no section `{heading}`"
        );
        assert_eq!(platform(p.kind).map(|q| q.kind), Some(p.kind));
    }
}

#[test]
fn an_unknown_kind_is_refused_naming_the_registered_ones() {
    let err = parse_source(
        Path::new("sources/x.toml"),
        "id = \"x\"\nname = \"X\"\nkind = \"acme\"\nbase_url = \"https://x.example\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("sources/x.toml:3: field `kind`"), "{err}");
    for p in PLATFORMS {
        assert!(err.contains(p.kind), "{err}");
    }
}

#[test]
fn a_field_of_another_kind_is_refused_by_the_kind_naming_file_line_and_field() {
    // `url` belongs to `ical`; an `event-booking` file may not carry it.
    let err = parse_source(
        Path::new("sources/x.toml"),
        "id = \"x\"\nname = \"X\"\nkind = \"event-booking\"\nbase_url = \"https://x.example\"\nurl = \"https://x.example/a.ics\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("sources/x.toml:5: field `url`"), "{err}");
    assert!(
        err.contains("not a field of an `event-booking` source"),
        "{err}"
    );
    // Inside a kind's table, the dotted field and its own line.
    let err = parse_source(
        Path::new("sources/x.toml"),
        "id = \"x\"\nname = \"X\"\nkind = \"event-booking\"\nbase_url = \"https://x.example\"\n\n[selectors]\nlisting_entry = \".e\"\nnext_page = \"((\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("sources/x.toml:8: field `selectors.next_page`"),
        "{err}"
    );
    assert!(!err.trim_end().contains('\n'), "one line: {err}");
}
