//! The module graph, read from the source's own `crate::` paths, keeps the
//! one-way picture `src/lib.rs` draws: no cycle between modules, the source
//! interface below both the platforms and the crawl, the store and what
//! changed below the things that show them, the platforms knowing nothing of
//! the store, the feed or the server, and nothing but `main` reaching for the
//! command line. And no product function over 80 lines unless its comment
//! says why.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module → the top-level modules its product code names as
/// `crate::…` (test modules, after `#[cfg(test)]`, left out).
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let product = text.split("#[cfg(test)]").next().unwrap_or("");
        let deps = g.entry(top.clone()).or_default();
        for (at, _) in product.match_indices("crate::") {
            let name: String = product[at + 7..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            if !name.is_empty() && name != top {
                deps.insert(name);
            }
        }
    }
    g
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// Modules that reach `from` and are reached by it: its cycle (itself alone
/// when it is in none).
fn cycle_of(g: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let reach = |start: &str, forward: bool| -> BTreeSet<String> {
        let mut seen = BTreeSet::from([start.to_string()]);
        let mut todo = vec![start.to_string()];
        while let Some(m) = todo.pop() {
            let next: Vec<String> = if forward {
                g.get(&m).into_iter().flatten().cloned().collect()
            } else {
                g.iter()
                    .filter(|(_, deps)| deps.contains(&m))
                    .map(|(k, _)| k.clone())
                    .collect()
            };
            for n in next {
                if g.contains_key(&n) && seen.insert(n.clone()) {
                    todo.push(n);
                }
            }
        }
        seen
    };
    reach(from, true)
        .intersection(&reach(from, false))
        .cloned()
        .collect()
}

#[test]
fn no_module_is_in_a_cycle() {
    let g = graph();
    assert!(g.len() > 20, "the modules were read: {:?}", g.keys());
    for m in g.keys() {
        let cycle = cycle_of(&g, m);
        assert!(
            cycle.len() == 1,
            "`{m}` is in a cycle of modules {cycle:?}; break it by moving what both need below both"
        );
    }
}

#[test]
fn the_layers_the_style_guide_names_hold() {
    let g = graph();
    let uses = |m: &str| g.get(m).cloned().unwrap_or_default();
    let never = |m: &str, above: &[&str]| {
        let bad: Vec<&&str> = above.iter().filter(|a| uses(m).contains(**a)).collect();
        assert!(bad.is_empty(), "`{m}` imports {bad:?}, which sit above it");
    };
    // The store knows sessions, changes and error words, nothing that shows them.
    let store: BTreeSet<String> = ["changes", "errors", "model"].map(String::from).into();
    assert!(
        uses("store").is_subset(&store),
        "store imports {:?}",
        uses("store")
    );
    // What changed is data: it does not know how it is shown.
    never(
        "changes",
        &["present", "page", "atom", "feed", "views", "server"],
    );
    // Which listings are one session is data over sessions and changes.
    let data: BTreeSet<String> = ["changes", "model"].map(String::from).into();
    assert!(
        uses("duplicates").is_subset(&data),
        "duplicates imports {:?}",
        uses("duplicates")
    );
    // Platforms know nothing of the store, the feed or the server; they
    // implement the source interface and read their files through it.
    never(
        "platforms",
        &[
            "store", "feed", "views", "server", "page", "present", "cli", "crawl", "config",
        ],
    );
    // The source interface knows no platform, no crawl and no registry.
    never("source", &["platforms", "crawl", "config", "links", "cli"]);
    // The feed knows nothing of HTML, the server or the command line.
    never("feed", &["page", "views", "server", "cli", "present"]);
    // The views are shared by serve and export, and use neither.
    never("views", &["server", "export", "cli"]);
    never("export", &["server", "cli"]);
    // Nothing but main reaches for the command line.
    for (m, deps) in &g {
        assert!(
            m == "cli" || !deps.contains("cli"),
            "`{m}` imports the command line"
        );
    }
}

/// The longest a product function may be, unless the comment above it says
/// why (by naming this number of lines).
const MAX_FUNCTION_LINES: usize = 80;

/// The name of the function `line` starts, if it starts one.
fn function_named(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    let rest = rest.strip_prefix("fn ")?;
    Some(rest.split(['(', '<']).next().unwrap_or(rest))
}

/// Whether the comment lines just above `lines[at]` say why it is long.
fn says_why_long(lines: &[&str], at: usize) -> bool {
    lines[..at]
        .iter()
        .rev()
        .map(|l| l.trim_start())
        .take_while(|l| l.starts_with("//") || l.starts_with("#["))
        .any(|l| l.contains(&format!("{MAX_FUNCTION_LINES} lines")))
}

/// Product functions (tests left out) over [`MAX_FUNCTION_LINES`] lines
/// whose comment does not say why: "file:line name (n lines)".
fn long_functions() -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut long = Vec::new();
    for file in rust_files(&src) {
        if file.ends_with("tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.split("#[cfg(test)]").next().unwrap().lines().collect();
        for (at, line) in lines.iter().enumerate() {
            let Some(name) = function_named(line) else {
                continue;
            };
            // A declaration without a body, or a body on one line.
            let opens = lines[at..].iter().position(|l| l.contains('{'));
            let ends = lines[at..].iter().position(|l| l.trim_end().ends_with(';'));
            if ends < opens || line.trim_end().ends_with('}') {
                continue;
            }
            let indent = &line[..line.len() - line.trim_start().len()];
            let close = format!("{indent}}}");
            let Some(length) = lines[at..].iter().position(|l| *l == close) else {
                continue;
            };
            if length + 1 > MAX_FUNCTION_LINES && !says_why_long(&lines, at) {
                let rel = file.strip_prefix(&src).unwrap().display();
                long.push(format!(
                    "src/{rel}:{} {name} ({} lines)",
                    at + 1,
                    length + 1
                ));
            }
        }
    }
    long
}

#[test]
fn no_product_function_is_long_without_saying_why() {
    let long = long_functions();
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines: {long:#?}; name their steps as functions, or say above why one stays long"
    );
}
