//! The page and the feed as real clients see them, against `events demo`.
//!
//! `page_in_headless_chromium`: Debian's chromium loads `/` from a running demo
//! (no JavaScript is needed) and dumps the DOM it built. With `scraper` it checks
//! that sessions from both sources are listed, that the places badges (FULL,
//! CANCELLED, "N places") are shown, that the filter links ("Only sessions with
//! places", the `?source=vrp` chip) and the GET form are there and that following
//! a link narrows the list, and that a scraped title holding
//! `<script>alert('xss')</script>` is shown as text, never run as a script. It
//! saves `target/page.png` (desktop) and `target/page-phone.png` (390 px wide)
//! for a person to look at.
//!
//! `feed_in_icaljs_and_ical_crate`: `/calendar.ics` from the demo passes
//! `tests/icaljs/validate.mjs` (ical.js, the parser Thunderbird and Nextcloud
//! use) and parses with the `ical` crate with sessions from both sources.
//!
//! `page_meets_wcag_22_aa_in_axe_core_at_desktop_and_phone_sizes`: axe-core
//! (from `tests/icaljs/node_modules`) runs its WCAG 2.2 A and AA rules on the
//! page, unfiltered and filtered, in a 1280×900 and a 390×844 window, inside
//! chromium; any violation fails. On the phone the first session starts
//! within the first screen.
//!
//! Without chromium (or without `tests/icaljs/node_modules`) a test prints that
//! it did not run and passes, except when `CI` is set, where it fails.

mod common;

use common::tools::{on_path, required, run_bounded};
use scraper::{ElementRef, Html, Selector};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// Longest wait for the demo to crawl its replicas and start serving.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest any one chromium or node run may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest one HTTP request to the demo may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

const XSS_TITLE: &str = "<script>alert('xss')</script>";

/// A running `events demo`, killed when dropped (also when a test panics).
struct Demo {
    child: Child,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    base: String,
    stderr_path: PathBuf,
    // Kept so the directories outlive the process.
    _dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().expect("making a temp dir for the demo");
        let data = dir.path().join("data");
        let sources = dir.path().join("sources");
        let stderr_path = dir.path().join("demo-stderr.log");
        let stderr = File::create(&stderr_path).expect("creating the demo's stderr log");
        let child = Command::new(env!("CARGO_BIN_EXE_events"))
            .arg("--data")
            .arg(&data)
            .arg("--sources")
            .arg(&sources)
            .args(["demo", "--listen", "127.0.0.1:0"])
            // Anything written relative to the working directory lands in the temp dir.
            .current_dir(dir.path())
            .env_remove("EVENTS_DATA")
            .env_remove("EVENTS_SOURCES")
            .env_remove("EVENTS_NOW")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("starting `events demo`");
        let mut demo = Demo {
            child,
            base: String::new(),
            stderr_path,
            _dir: dir,
        };
        let line = match common::servers::serving_line_blocking(&mut demo.child, START_TIMEOUT) {
            Ok(l) => l,
            Err(e) => panic!(
                "`events demo` printed no `Serving on` line within {START_TIMEOUT:?} ({e}); \
                 exit status so far: {:?}; its stderr:\n{}",
                demo.child.try_wait(),
                demo.stderr()
            ),
        };
        demo.base = common::servers::address_in(&line);
        assert!(
            demo.base.starts_with("http://127.0.0.1:"),
            "unexpected address in {line:?}"
        );
        demo
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.base, path_and_query)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the target directory is (the parent of `CARGO_TARGET_TMPDIR`).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn find_chromium() -> Option<PathBuf> {
    let fixed = Path::new("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed.to_path_buf());
    }
    on_path("chromium")
}

/// Headless chromium with a fresh profile, no network beyond the URL given.
fn chromium(bin: &Path, extra: &[String], url: &str) -> (ExitStatus, String, String) {
    let profile = tempfile::tempdir().expect("temp dir for a chromium profile");
    let mut cmd = Command::new(bin);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .args(extra)
    .arg(url);
    let what = format!("chromium {} {url}", extra.join(" "));
    let result = run_bounded(cmd, &what, TOOL_TIMEOUT);
    drop(profile);
    result
}

/// The DOM chromium built for `url`, serialised by `--dump-dom`.
fn dump_dom(bin: &Path, url: &str) -> Html {
    let (status, out, err) = chromium(bin, &["--dump-dom".to_string()], url);
    assert!(
        status.success() && out.contains("</html>"),
        "chromium --dump-dom {url} failed ({status}); stderr:\n{err}"
    );
    Html::parse_document(&out)
}

fn screenshot(bin: &Path, url: &str, file: &Path, size: &str) {
    let _ = std::fs::remove_file(file);
    let extra = [
        format!("--screenshot={}", file.display()),
        format!("--window-size={size}"),
        "--hide-scrollbars".to_string(),
    ];
    let (status, _, err) = chromium(bin, &extra, url);
    let len = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    assert!(
        status.success() && len > 1000,
        "chromium did not write a screenshot to {} ({status}, {len} bytes); stderr:\n{err}",
        file.display()
    );
    println!("screenshot: {} ({size})", file.display());
}

/// GET `url` and return the body, failing on a non-2xx status.
fn http_get(url: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .build()
            .expect("an HTTP client");
        let resp = client
            .get(url)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = resp.status();
        let body = resp
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading {url}: {e}"));
        assert!(status.is_success(), "GET {url}: {status}\n{body}");
        body
    })
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).unwrap_or_else(|e| panic!("selector {s:?}: {e:?}"))
}

fn text_of(e: ElementRef) -> String {
    e.text().collect::<String>()
}

/// Whitespace runs collapsed, ends trimmed.
fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The listed sessions: (data-uid, element).
fn sessions(doc: &Html) -> Vec<(String, ElementRef<'_>)> {
    doc.select(&sel("li.session[data-uid]"))
        .map(|e| (e.value().attr("data-uid").unwrap_or("").to_string(), e))
        .collect()
}

/// The badges' texts, whitespace collapsed.
fn badges(doc: &Html) -> Vec<String> {
    doc.select(&sel("li.session .badge"))
        .map(|e| squash(&text_of(e)))
        .collect()
}

fn is_n_places(label: &str) -> bool {
    label
        .strip_suffix(" places")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

/// The `href` of the first link whose text (collapsed) is `text`.
fn link_by_text(doc: &Html, text: &str) -> Option<String> {
    doc.select(&sel("a[href]"))
        .find(|a| squash(&text_of(*a)) == text)
        .and_then(|a| a.value().attr("href").map(str::to_string))
}

/// An `href` on the page made absolute against the demo.
fn absolute(demo: &Demo, href: &str) -> String {
    if href.starts_with("http://") || href.starts_with("https://") {
        href.to_string()
    } else if href.starts_with('/') {
        demo.url(href)
    } else {
        demo.url(&format!("/{href}"))
    }
}

#[test]
fn page_in_headless_chromium() {
    let Some(bin) = required(find_chromium(), "chromium (/usr/bin/chromium or on PATH)") else {
        println!("browser test not run: chromium not installed");
        return;
    };
    let demo = Demo::start();
    let home = demo.url("/");

    // The demo data carries a hostile title (WSP fixture event 1010).
    let api = http_get(&demo.url("/api/sessions"));
    assert!(
        api.contains(XSS_TITLE)
            || api.contains(r"\u003cscript\u003ealert('xss')\u003c/script\u003e"),
        "the demo should serve WSP event 1010 with its <script> title"
    );

    let doc = dump_dom(&bin, &home);

    // Sessions from both sources.
    let all = sessions(&doc);
    let uids: Vec<&str> = all.iter().map(|(u, _)| u.as_str()).collect();
    assert!(
        all.len() > 10,
        "expected more than 10 sessions on /, found {}: {uids:?}",
        all.len()
    );
    assert!(
        uids.iter().any(|u| u.starts_with("wsp-")),
        "no WSP session on /: {uids:?}"
    );
    assert!(
        uids.iter().any(|u| u.starts_with("vrp-")),
        "no Eventbrite (vrp) session on /: {uids:?}"
    );
    for (uid, li) in &all {
        assert!(
            li.select(&sel("h4")).next().is_some(),
            "session {uid} has no title heading"
        );
        assert_eq!(
            li.select(&sel(".badge")).count(),
            1,
            "session {uid} should have exactly one badge"
        );
    }

    // The places badges.
    let labels = badges(&doc);
    assert!(
        doc.select(&sel("li.session span.badge.badge-full"))
            .any(|b| squash(&text_of(b)).starts_with("FULL")),
        "no FULL badge: {labels:?}"
    );
    assert!(
        doc.select(&sel("li.session span.badge.badge-cancelled"))
            .any(|b| squash(&text_of(b)) == "CANCELLED"),
        "no CANCELLED badge: {labels:?}"
    );
    assert!(
        labels.iter().any(|l| is_n_places(l)),
        "no \"N places\" badge: {labels:?}"
    );

    // The GET form offers every filter the server reads.
    let form = doc
        .select(&sel("form[method=get]"))
        .next()
        .expect("the filter form");
    for name in ["source", "category", "q", "available", "online"] {
        assert!(
            form.select(&sel(&format!("[name={name}]")))
                .next()
                .is_some(),
            "the filter form has no `{name}` control"
        );
    }
    let source_options: Vec<&str> = form
        .select(&sel("select[name=source] option"))
        .filter_map(|o| o.value().attr("value"))
        .collect();
    assert!(
        source_options.contains(&"wsp") && source_options.contains(&"vrp"),
        "the source select should offer wsp and vrp: {source_options:?}"
    );

    // "Only sessions with places" narrows the list to sessions with places.
    let href = link_by_text(&doc, "Only sessions with places")
        .expect("an \"Only sessions with places\" link");
    let places_url = absolute(&demo, &href);
    let with_places = dump_dom(&bin, &places_url);
    let narrowed = sessions(&with_places);
    assert!(
        !narrowed.is_empty() && narrowed.len() < all.len(),
        "{places_url} should list fewer (but some) sessions: {} of {}",
        narrowed.len(),
        all.len()
    );
    let narrowed_labels = badges(&with_places);
    assert!(
        with_places
            .select(&sel(
                "li.session .badge-full, li.session .badge-cancelled, \
                 li.session .badge-closed, li.session .badge-withdrawn"
            ))
            .next()
            .is_none()
            && !narrowed_labels.iter().any(|l| l.starts_with("FULL")),
        "{places_url} still lists sessions without places: {narrowed_labels:?}"
    );
    assert!(
        link_by_text(&with_places, "Show full and closed sessions too").is_some(),
        "{places_url} should offer the way back"
    );

    // The source chip narrows the list to that source.
    let vrp_href = doc
        .select(&sel("ul.chips a[href]"))
        .filter_map(|a| a.value().attr("href"))
        .find(|h| h.contains("source=vrp"))
        .expect("a chip link to ?source=vrp")
        .to_string();
    let vrp_url = absolute(&demo, &vrp_href);
    let vrp_doc = dump_dom(&bin, &vrp_url);
    let vrp = sessions(&vrp_doc);
    let vrp_uids: Vec<&str> = vrp.iter().map(|(u, _)| u.as_str()).collect();
    assert!(
        !vrp.is_empty() && vrp.len() < all.len(),
        "{vrp_url} should list fewer (but some) sessions: {vrp_uids:?}"
    );
    assert!(
        vrp_uids.iter().all(|u| u.starts_with("vrp-")),
        "{vrp_url} lists sessions from another source: {vrp_uids:?}"
    );
    assert!(
        vrp_doc
            .select(&sel("ul.chips a[aria-current]"))
            .any(|a| a.value().attr("href") == Some(vrp_href.as_str())),
        "{vrp_url} should mark its chip as the current page"
    );

    // The view's subscribe link works: its address serves that view's calendar.
    let webcal = vrp_doc
        .select(&sel("#subscribe a.webcal[href]"))
        .filter_map(|a| a.value().attr("href"))
        .next()
        .expect("a webcal:// subscribe link")
        .to_string();
    let pasted = vrp_doc
        .select(&sel("#subscribe input#feed-url"))
        .filter_map(|i| i.value().attr("value"))
        .next()
        .expect("the address to paste")
        .to_string();
    assert!(webcal.starts_with("webcal://"), "{webcal}");
    assert_eq!(webcal.replacen("webcal://", "http://", 1), pasted);
    let feed = http_get(&pasted);
    assert!(
        feed.starts_with("BEGIN:VCALENDAR"),
        "{pasted} is not a calendar"
    );
    let feed_uids = common::uids(&common::parse_one_calendar(&feed));
    assert!(
        !feed_uids.is_empty() && feed_uids.iter().all(|u| u.starts_with("vrp-")),
        "{pasted} should hold the VRP's sessions only: {feed_uids:?}"
    );

    // A hostile title is text, never a script element.
    let alert_scripts: Vec<String> = doc
        .select(&sel("script"))
        .map(text_of)
        .filter(|t| t.contains("alert("))
        .collect();
    assert!(
        alert_scripts.is_empty(),
        "a <script> element with an alert made it into the DOM: {alert_scripts:?}"
    );
    {
        let shown = all
            .iter()
            .find(|(_, li)| text_of(*li).contains(XSS_TITLE))
            .unwrap_or_else(|| {
                panic!("/api/sessions has the <script> title but no session on / shows it as text")
            });
        assert!(
            shown.0.starts_with("wsp-"),
            "the <script> title should be on a WSP session, found on {}",
            shown.0
        );
        let heading = shown
            .1
            .select(&sel("h4"))
            .next()
            .map(text_of)
            .unwrap_or_default();
        assert!(
            heading.contains(XSS_TITLE),
            "the <script> title should be the heading's text, got {heading:?}"
        );
    }

    // Screenshots for a person to look at.
    let target = target_dir();
    screenshot(&bin, &home, &target.join("page.png"), "1280,2000");
    screenshot(&bin, &home, &target.join("page-phone.png"), "390,1800");

    drop(demo);
}

#[test]
fn feed_in_icaljs_and_ical_crate() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let icaljs = manifest.join("tests/icaljs");
    let modules = icaljs.join("node_modules/ical.js");
    let Some(modules) = required(
        modules.is_dir().then_some(modules),
        "tests/icaljs/node_modules (run `npm ci` in tests/icaljs)",
    ) else {
        println!("feed test not run: tests/icaljs/node_modules not installed (npm ci)");
        return;
    };
    let Some(node) = required(on_path("node"), "node") else {
        println!("feed test not run: node not installed");
        return;
    };
    let demo = Demo::start();
    let feed = http_get(&demo.url("/calendar.ics"));
    drop(demo);
    assert!(
        feed.starts_with("BEGIN:VCALENDAR"),
        "/calendar.ics is not a calendar:\n{}",
        feed.chars().take(300).collect::<String>()
    );

    // ical.js
    let dir = tempfile::tempdir().expect("temp dir for the feed");
    let file = dir.path().join("calendar.ics");
    std::fs::write(&file, &feed).expect("writing the feed");
    let mut cmd = Command::new(node);
    cmd.arg(icaljs.join("validate.mjs")).arg(&file);
    let (status, out, err) = run_bounded(cmd, "node tests/icaljs/validate.mjs", TOOL_TIMEOUT);
    assert!(
        status.success() && out.starts_with("ok:"),
        "ical.js rejected /calendar.ics ({status}; found modules at {}):\n{out}{err}",
        modules.display()
    );
    println!("ical.js: {}", out.trim());

    // The `ical` crate.
    let calendar = common::parse_one_calendar(&feed);
    let uids = common::uids(&calendar);
    assert_eq!(
        uids.len(),
        calendar.events.len(),
        "every VEVENT needs a UID"
    );
    assert!(
        uids.iter().any(|u| u.starts_with("wsp-")),
        "no WSP event in the feed: {uids:?}"
    );
    assert!(
        uids.iter().any(|u| u.starts_with("vrp-")),
        "no Eventbrite (vrp) event in the feed: {uids:?}"
    );
}

/// The WCAG 2.2 A and AA rules of axe-core (its tags for them).
const WCAG_22_AA: &str = r#"["wcag2a","wcag2aa","wcag21a","wcag21aa","wcag22a","wcag22aa"]"#;

/// Runs axe-core with [`WCAG_22_AA`] once the page has loaded, and writes
/// what it found (and where the first session is on screen) into
/// `<pre id="axe-result">` for `--dump-dom` to read.
fn axe_runner() -> String {
    format!(
        r#"window.addEventListener("load",function(){{axe.run(document,{{runOnly:{{type:"tag",values:{WCAG_22_AA}}}}}).then(function(r){{var s=document.querySelector("li.session");var p=document.createElement("pre");p.id="axe-result";p.textContent=JSON.stringify({{violations:r.violations.map(function(v){{return {{id:v.id,impact:v.impact,help:v.help,nodes:v.nodes.map(function(n){{return n.target.join(" ")}})}}}}),passes:r.passes.length,first_session_top:s?s.getBoundingClientRect().top:null,viewport:window.innerHeight}});document.body.appendChild(p);}},function(e){{var p=document.createElement("pre");p.id="axe-result";p.textContent=JSON.stringify({{error:String(e)}});document.body.appendChild(p);}});}});"#
    )
}

/// The served page `html` as a local file that loads axe-core from `axe`
/// and runs it: `<base>` keeps its links pointing at the demo.
fn page_with_axe(html: &str, base: &str, axe: &Path, file: &Path) {
    let head = format!(
        r#"<head><base href="{base}/"><script src="file://{}"></script><script>{}</script>"#,
        axe.display(),
        axe_runner()
    );
    assert!(html.contains("<head>"), "the page has a <head>");
    std::fs::write(file, html.replacen("<head>", &head, 1)).expect("writing the page to check");
}

/// What axe-core found on `url` in a `size` window.
fn axe_findings(bin: &Path, axe: &Path, demo: &Demo, path: &str, size: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("a temp dir for the page");
    let file = dir.path().join("page.html");
    page_with_axe(&http_get(&demo.url(path)), &demo.base, axe, &file);
    let extra = [
        "--dump-dom".to_string(),
        "--allow-file-access-from-files".to_string(),
        "--virtual-time-budget=30000".to_string(),
        format!("--window-size={size}"),
    ];
    let url = format!("file://{}", file.display());
    let (status, out, err) = chromium(bin, &extra, &url);
    assert!(status.success(), "chromium {url} failed ({status}): {err}");
    let doc = Html::parse_document(&out);
    let result = doc
        .select(&sel("pre#axe-result"))
        .next()
        .map(text_of)
        .unwrap_or_else(|| panic!("axe-core wrote no result for {path} at {size}; stderr:\n{err}"));
    serde_json::from_str(&result).expect("axe's result is JSON")
}

#[test]
fn page_meets_wcag_22_aa_in_axe_core_at_desktop_and_phone_sizes() {
    let Some(bin) = required(find_chromium(), "chromium (/usr/bin/chromium or on PATH)") else {
        println!("accessibility test not run: chromium not installed");
        return;
    };
    let axe =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/icaljs/node_modules/axe-core/axe.min.js");
    let Some(axe) = required(
        axe.is_file().then_some(axe),
        "tests/icaljs/node_modules/axe-core (run `npm ci` in tests/icaljs)",
    ) else {
        println!("accessibility test not run: axe-core not installed (npm ci)");
        return;
    };
    let demo = Demo::start();
    for path in ["/", "/?source=vrp&available=1"] {
        for (size, phone) in [("1280,900", false), ("390,844", true)] {
            let found = axe_findings(&bin, &axe, &demo, path, size);
            assert!(found.get("error").is_none(), "axe-core failed: {found}");
            assert!(
                found["passes"].as_u64().unwrap_or(0) > 10,
                "axe-core checked little on {path} at {size}: {found}"
            );
            assert_eq!(
                found["violations"],
                serde_json::json!([]),
                "WCAG 2.2 A/AA violations on {path} at {size}"
            );
            // On a phone the first session shows without scrolling: the
            // filters are folded.
            if phone && path == "/" {
                let top = found["first_session_top"]
                    .as_f64()
                    .expect("a session is listed");
                let height = found["viewport"].as_f64().unwrap();
                assert!(
                    top < height,
                    "the first session starts at {top} px of a {height} px screen"
                );
            }
        }
    }
    drop(demo);
}
