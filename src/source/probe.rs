//! What a walk and its readers say about each page, for `events check`: the
//! answer to each request, what the reader made of the page, and every field
//! it looked for and did not find, named by the source-file key that would
//! change where it looks.
//!
//! A crawl's [`Probe`] is off: every call is a check of an `Option` and
//! nothing is kept. `events check` hands the walker one that is on, through
//! [`SourceContext::probe`](super::SourceContext), so the readers and the walk
//! report into it without a second walker.

use crate::fetch::{FetchError, Fetched};
use crate::model::Session;
use std::sync::{Arc, Mutex};
use url::Url;

/// The longest text a miss keeps of what it looked at, in characters.
pub const LOOKED_AT_CHARS: usize = 160;

/// A field a reader looked for on a page and did not find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMiss {
    /// What was not found, in words (`places`, `description`, `entries`).
    pub field: &'static str,
    /// The source-file key that says where to look (`selectors.description`,
    /// `labels.places`, `event_path`); `None` when no setting changes it
    /// (the site's wording itself could not be read).
    pub key: Option<&'static str>,
    /// The selector or pattern in force, as the source file (or its
    /// default) gives it.
    pub pattern: String,
    /// What it looked at instead: the page's labels, a clipped line of its
    /// text, the cell it could not read (clipped to [`LOOKED_AT_CHARS`]).
    pub looked_at: String,
    /// True when the miss cost what the calendar is for: an entry or a
    /// session, or a scheduled session's places.
    pub required: bool,
}

impl FieldMiss {
    /// A miss of `field`, found by `key`'s `pattern`, with `looked_at`
    /// clipped to [`LOOKED_AT_CHARS`] characters.
    pub fn new(
        field: &'static str,
        key: Option<&'static str>,
        pattern: impl Into<String>,
        looked_at: &str,
    ) -> Self {
        Self {
            field,
            key,
            pattern: pattern.into(),
            looked_at: clip(looked_at),
            required: false,
        }
    }

    /// The same miss, counted as one the calendar cannot do without.
    #[must_use]
    pub fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }
}

/// `text` on one line, terminal-safe, at most [`LOOKED_AT_CHARS`] characters.
fn clip(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::terminal::clip(&one_line, LOOKED_AT_CHARS)
}

/// One page (or API call) as a check saw it.
#[derive(Debug, Clone, Default)]
pub struct PageProbe {
    /// The address asked for.
    pub url: String,
    /// What the page is to its kind (`listing`, `detail`, `feed`, …); empty
    /// until a walk says it read the page.
    pub role: &'static str,
    /// The HTTP status: 200 for a body, the server's for an error status,
    /// `None` when no answer came (robots.txt, network, limits).
    pub status: Option<u16>,
    /// The body's length in bytes.
    pub bytes: usize,
    /// Why no body came, in one sentence.
    pub error: Option<String>,
    /// The body, kept for `--save`.
    pub body: Option<Vec<u8>>,
    /// Entries the reader found (listing pages), when the kind counts them.
    pub entries: Option<usize>,
    /// Sessions the reader produced from this page.
    pub sessions: Vec<Session>,
    /// What the reader looked for and did not find.
    pub misses: Vec<FieldMiss>,
}

/// Where a walk and its readers report each page; off in a crawl.
#[derive(Clone, Default)]
pub struct Probe(Option<Arc<Mutex<Vec<PageProbe>>>>);

impl std::fmt::Debug for Probe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Probe(on)"
        } else {
            "Probe(off)"
        })
    }
}

impl Probe {
    /// A probe that keeps what it hears (the crawl's default keeps nothing).
    pub fn on() -> Self {
        Self(Some(Arc::new(Mutex::new(Vec::new()))))
    }

    /// True when reports are kept: readers may skip work done only for them.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Every page heard of, in the order first heard.
    pub fn pages(&self) -> Vec<PageProbe> {
        match &self.0 {
            Some(p) => p.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            None => Vec::new(),
        }
    }

    /// Runs `f` on the page of `url` (the latest one heard of, else a new one).
    fn with_page(&self, url: &Url, f: impl FnOnce(&mut PageProbe)) {
        let Some(p) = &self.0 else { return };
        let mut pages = p.lock().unwrap_or_else(|e| e.into_inner());
        let at = match pages.iter().rposition(|pg| pg.url == url.as_str()) {
            Some(i) => i,
            None => {
                pages.push(PageProbe {
                    url: url.to_string(),
                    ..PageProbe::default()
                });
                pages.len() - 1
            }
        };
        f(&mut pages[at]);
    }

    /// The answer to a request for `url`.
    pub fn fetched(&self, url: &Url, answer: &Result<Fetched, FetchError>) {
        let Some(p) = &self.0 else { return };
        let mut page = PageProbe {
            url: url.to_string(),
            ..PageProbe::default()
        };
        match answer {
            Ok(f) => {
                page.status = Some(200);
                page.bytes = f.body.len();
                page.body = Some(f.body.clone());
            }
            Err(e) => {
                page.status = e.status();
                if let FetchError::Status { body, .. } = e {
                    page.bytes = body.len();
                    page.body = Some(body.clone());
                }
                page.error = Some(e.to_string());
            }
        }
        p.lock().unwrap_or_else(|e| e.into_inner()).push(page);
    }

    /// What the reader made of `url`, a page of this `role`: the entries it
    /// found (when the kind counts them) and the sessions it produced.
    pub fn read(
        &self,
        url: &Url,
        role: &'static str,
        entries: Option<usize>,
        sessions: &[Session],
    ) {
        self.with_page(url, |pg| {
            pg.role = role;
            if entries.is_some() {
                pg.entries = entries;
            }
            pg.sessions.extend_from_slice(sessions);
        });
    }

    /// A field the reader of `url` looked for and did not find.
    pub fn missed(&self, url: &Url, miss: FieldMiss) {
        self.with_page(url, |pg| pg.misses.push(miss));
    }
}
