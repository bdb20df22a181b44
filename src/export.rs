//! `events export DIR`: the calendar and the page as static files, for a
//! partnership to publish on any static web host with no server of its own.
//!
//! Writes, for the store as it is and the clock's hour, exactly the bytes
//! `serve` would answer (from the same views of the store, `views::AppState`):
//!
//! | file | what `serve` answers it for |
//! |---|---|
//! | `calendar.ics` | `/calendar.ics` |
//! | `calendar/<source>.ics` | `/calendar/<source>.ics`, for every source |
//! | `calendar/category/<slug>.ics` | `/calendar/category/<slug>.ics`, for every stored category |
//! | `sessions.json` | `/api/sessions` |
//! | `index.html` | `/`, with its feed and JSON links relative to it |
//! | `changes.atom` | `/changes.atom`, its links relative to the host's root |
//!
//! Each file is written beside its final name and renamed over it, so a web
//! server reading the directory during an export serves the old or the new
//! file, never half of one. Files of views that no longer exist (a category
//! gone from the store) are left as they are: a subscription to one stays valid.

use crate::query::{slug, Filter};
use crate::store::StoreError;
use crate::views::AppState;
use std::path::{Path, PathBuf};

/// What went wrong exporting.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the store failed.
    #[error("reading the store: {0}")]
    Store(#[from] StoreError),
    /// Writing a file failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Writes every file into `dir` (made if missing); returns their paths,
/// relative to `dir`, in the order written.
pub fn export(state: &AppState, dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
    let mut written = Vec::new();
    let mut put = |rel: PathBuf, bytes: &[u8]| -> Result<(), ExportError> {
        write_atomically(&dir.join(&rel), bytes)?;
        written.push(rel);
        Ok(())
    };
    put("calendar.ics".into(), &state.feed_body(Filter::default())?)?;
    for id in state.source_ids()? {
        // The same path the server answers; an id is `[a-z0-9-]+`.
        let file = format!("{}.ics", slug(&id));
        let f = Filter {
            source: Some(id),
            ..Filter::default()
        };
        put(Path::new("calendar").join(file), &state.feed_body(f)?)?;
    }
    for category in state.categories()? {
        let file = format!("{}.ics", slug(&category));
        let f = Filter {
            categories: vec![category],
            ..Filter::default()
        };
        put(
            Path::new("calendar").join("category").join(file),
            &state.feed_body(f)?,
        )?;
    }
    put(
        "sessions.json".into(),
        &state.sessions_json(Filter::default())?,
    )?;
    // The page in parts (`index.html`, `page-2.html`, …), each linking to
    // the next, as the server's page is.
    for (file, html) in state.static_pages(state.site().public_url.as_deref())? {
        put(file.into(), html.as_bytes())?;
    }
    put("changes.atom".into(), &state.changes_body("")?)?;
    Ok(written)
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let err = |source| ExportError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".part");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}
