//! The sled store: sessions with their history, the eLearning catalogue, source
//! health, the changes crawls made (kept `changes::KEEP_CHANGES`), HTTP
//! validators for conditional requests, and a schema version.
//!
//! Owns the merge step: given one source's fresh crawl, decide what is new,
//! changed (sequence up), unchanged or withdrawn, record each change people are
//! told about (`changes::classify`), refuse a suspicious result, and apply it in
//! one transaction so a crash leaves the previous state. Knows nothing about
//! HTML, HTTP clients, iCalendar or Atom.

use crate::changes::{Change, KEEP_CHANGES};
use crate::errors::ErrorKind;
use crate::model::{Course, Session, Status, StoredSession, Uid};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard};

/// Memory sled may use to cache the store's pages. sled's own default is 1 GiB,
/// which a crawl reading thousands of kept pages fills, and a server that runs
/// for months keeps; everything still works from disk past this.
pub const CACHE_BYTES: u64 = 4 * 1024 * 1024;

/// How long `Store::open` waits for a lock that a closing handle still holds.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The format this build writes. Bump it, and add a step to `migrate`, when the
/// stored shape changes.
pub const SCHEMA_VERSION: u64 = 1;

/// Why the store could not be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store's lock.
    #[error("the store at {path} is in use by another events process; stop it or pass another --data directory")]
    Locked {
        /// The data directory.
        path: PathBuf,
    },
    /// The directory could not be opened as a store.
    #[error("cannot open the store at {path}: {message}")]
    Open {
        /// The data directory.
        path: PathBuf,
        /// What sled or the file system said.
        message: String,
    },
    /// No store has been made in the data directory yet.
    #[error("there is no store at {path} yet; run `events crawl` first, or pass --data with the directory `events crawl` wrote to")]
    Missing {
        /// The data directory.
        path: PathBuf,
    },
    /// The data path is a file (or something else), not a directory.
    #[error("the data path {path} is not a directory; pass --data with a directory (it is made if missing)")]
    NotADirectory {
        /// The data path.
        path: PathBuf,
    },
    /// The file system refused this user access to the data directory.
    #[error("permission denied {doing} the data directory {path}; give the user running events read and write access to it, or pass another --data directory")]
    PermissionDenied {
        /// The data directory.
        path: PathBuf,
        /// What was refused: "reading" or "writing to".
        doing: &'static str,
    },
    /// A newer build wrote it; this one will not guess at its shape.
    #[error("the store at {path} was written by a newer version of events (schema {found}, this build reads up to {SCHEMA_VERSION}); upgrade events")]
    TooNew {
        /// The data directory.
        path: PathBuf,
        /// The schema version found.
        found: u64,
    },
    /// A record does not read as what it should be.
    #[error("the store is damaged: {0}")]
    Corrupt(String),
    /// sled failed.
    #[error("store error: {0}")]
    Sled(#[from] sled::Error),
    /// The store's disk has less than [`MIN_FREE_DISK`] free; nothing was written.
    #[error("no space left on the store's disk: {free} free at {path}, and a crawl needs at least {MIN_FREE_DISK}; nothing was changed")]
    DiskFull {
        /// The data directory.
        path: PathBuf,
        /// The space left to us on its file system.
        free: bytesize::ByteSize,
    },
    /// A write did not finish in time (a disk that filled mid-write can
    /// leave sled waiting forever).
    #[error("the store did not finish writing within {secs} s (is its disk full?); the crawl was abandoned and the store keeps its previous state")]
    Stalled {
        /// How long was waited.
        secs: u64,
    },
    /// The store's disk is mounted read-only; nothing was written.
    #[error("the store's disk at {path} is read-only, so nothing was changed; remount it read-write, or pass --data with a directory on a writable disk")]
    ReadOnly {
        /// The data directory.
        path: PathBuf,
    },
}

/// Where [`Shown`] records are kept in the meta tree, before the entry's UID.
const SHOWN_PREFIX: &[u8] = b"shown\0";

/// What a merged entry (one session several sources list; see
/// `duplicates`) was last shown with: its SEQUENCE and a fingerprint of its
/// fields. An entry's SEQUENCE is worked out from its listings', which can
/// fall when a group splits; this record holds it up, so calendars that
/// update only on a higher SEQUENCE (Google's) follow every change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shown {
    /// The SEQUENCE it was shown with.
    pub sequence: u32,
    /// A hash of the fields it was shown with.
    pub fingerprint: u64,
}

/// The parts of the store a backup holds, in the order it holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Every session with its history (first seen, sequence, withdrawn).
    Sessions,
    /// The undated eLearning courses.
    Courses,
    /// The changes crawls recorded.
    Changes,
    /// Schema version, generation and the sources' notes.
    Meta,
    /// Each source's health.
    Health,
}

impl Part {
    /// Every part, in backup order.
    pub const ALL: [Part; 5] = [
        Part::Sessions,
        Part::Courses,
        Part::Changes,
        Part::Meta,
        Part::Health,
    ];

    /// Its number in a backup file.
    pub fn tag(self) -> u8 {
        match self {
            Part::Sessions => 1,
            Part::Courses => 2,
            Part::Changes => 3,
            Part::Meta => 4,
            Part::Health => 5,
        }
    }

    /// The part a backup file's number stands for.
    pub fn from_tag(tag: u8) -> Option<Part> {
        Part::ALL.into_iter().find(|p| p.tag() == tag)
    }
}

/// What the program knows about how a source's crawls are going.
///
/// Not every field is written to the store on every crawl (see
/// `HEALTH_SAVE_EVERY`): a poll of an unchanged site would otherwise grow the
/// store by one rewritten record each time. The process that crawls always
/// knows the latest of every field (`Store::health` reads its own memory
/// first); the stored record is brought up to date whenever `last_error`,
/// `consecutive_failures` or `sessions_found` change, whenever the crawl wrote
/// anything else for the source, at least once per `HEALTH_SAVE_EVERY` of
/// `last_success` and `last_attempt`, and when the store is flushed or its
/// last handle is dropped (`events crawl`, `watch` and `serve` all end so). So
/// another process, or this one after a restart, sees everything as of the
/// last crawl, unless the crawling process was killed: then `last_attempt`,
/// `last_success` and the request counters may be up to `HEALTH_SAVE_EVERY`
/// old, and the counters those of an earlier crawl.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceHealth {
    /// When a crawl of it last started, whatever came of it.
    pub last_attempt: Option<DateTime<Utc>>,
    /// When a crawl of it was last merged (fully or, at a limit, in part).
    pub last_success: Option<DateTime<Utc>>,
    /// One sentence; `None` after a successful crawl.
    pub last_error: Option<String>,
    /// What kind of failure `last_error` is (`None` with it, and in
    /// records written before kinds were kept).
    #[serde(default)]
    pub last_error_kind: Option<ErrorKind>,
    /// Crawls in a row that failed or were refused; 0 after a success.
    pub consecutive_failures: u32,
    /// Sessions the last successful crawl found.
    pub sessions_found: usize,
    /// Requests the last attempt made.
    pub requests: u64,
    /// Body bytes the last attempt downloaded.
    pub bytes: u64,
    /// Of the last attempt's requests, those answered `304 Not Modified`.
    pub not_modified: u64,
}

impl SourceHealth {
    /// Crawled successfully, and the last crawl did not fail.
    pub fn healthy(&self) -> bool {
        self.last_error.is_none() && self.last_success.is_some()
    }
}

/// Network counters of one crawl, recorded in health whatever the outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CrawlStats {
    /// Requests made.
    pub requests: u64,
    /// Body bytes downloaded.
    pub bytes: u64,
    /// Requests answered `304 Not Modified`.
    pub not_modified: u64,
}

/// What one successful merge did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// Sessions the crawl found.
    pub found: usize,
    /// Of those, sessions the store did not have.
    pub new: usize,
    /// Of those, sessions whose shown fields changed (their sequence went up).
    pub changed: usize,
    /// Of those, sessions as they were.
    pub unchanged: usize,
    /// Upcoming sessions the crawl no longer found, now withdrawn.
    pub withdrawn: usize,
    /// Changes recorded for people (see `changes::ChangeKind`); none on a
    /// source's first crawl.
    pub recorded: usize,
}

/// Why a crawl's result was not applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// Nothing found where there was something: the site is broken, not empty.
    #[error("found no sessions where the last crawl found {previous}; kept the previous data")]
    Empty {
        /// Sessions the last successful crawl found.
        previous: usize,
    },
    /// Far fewer found than last time (under the source's `min_fraction`).
    #[error("found only {found} sessions where the last crawl found {previous} (under {:.0}%); kept the previous data", min_fraction * 100.0)]
    TooFew {
        /// Sessions this crawl found.
        found: usize,
        /// Sessions the last successful crawl found.
        previous: usize,
        /// The source's `min_fraction`.
        min_fraction: f64,
    },
}

/// A response kept for conditional requests: its validators and its body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedResponse {
    /// The response's `ETag`, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// The response's `Last-Modified`, sent back as `If-Modified-Since`.
    pub last_modified: Option<String>,
    /// When the body was downloaded.
    pub fetched: DateTime<Utc>,
    /// When a crawl last used this response (fetched it, was answered 304, or
    /// re-read it), to within `TOUCH_EVERY`; `None` in entries written before
    /// it was kept, which count as seen when fetched.
    #[serde(default)]
    pub seen: Option<DateTime<Utc>>,
    /// The body as downloaded (kept beside the header, not in its JSON).
    #[serde(skip)]
    pub body: Vec<u8>,
}

impl CachedResponse {
    /// When a crawl last used it.
    #[must_use]
    pub fn last_used(&self) -> DateTime<Utc> {
        self.seen.unwrap_or(self.fetched).max(self.fetched)
    }
}

/// How stale a "seen" time may get before it is written again: a poll every
/// few minutes must not rewrite every cached page (or every session) each time,
/// or a store polled for a year grows with writes that say nothing new.
pub const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// How far the stored `last_success` and `last_attempt` of a source may fall
/// behind the crawls of a process that is still running (see `SourceHealth`).
/// A process killed without flushing leaves them at most this old; the
/// scheduler then crawls once at start-up that it could have skipped.
pub const HEALTH_SAVE_EVERY: chrono::TimeDelta = TOUCH_EVERY;

/// Kept pages are pruned at most this often (`Store::prune_http_cache_due`):
/// pruning reads every kept response's header.
pub const PRUNE_EVERY: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The `meta` key holding when kept pages were last pruned (RFC 3339). Not a
/// note: notes belong to sources, and this belongs to the store.
const HTTP_CACHE_PRUNED: &[u8] = b"http-cache-pruned";

/// The pseudo-source older builds kept the prune time under (as a note of a
/// source named `*`, which also gave `*` a health record and made it show as
/// a source). No source id can be `*` (ids are `[a-z0-9-]+`).
const OLD_PRUNE_SOURCE: &str = "*";

/// The key of that old note.
const OLD_PRUNE_NOTE: &str = "http-cache-pruned";

/// What `prune_http_cache` removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Responses removed.
    pub entries: usize,
    /// Their size in the store (key, header and body).
    pub bytes: u64,
}

/// The embedded store. Cheap to clone (one reference count: every request
/// a server answers clones it); all clones share one database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<StoreInner>,
}

/// What every clone of a `Store` shares.
struct StoreInner {
    db: sled::Db,
    sessions: sled::Tree,
    courses: sled::Tree,
    health: sled::Tree,
    http: sled::Tree,
    meta: sled::Tree,
    /// Changes, keyed by time (`change_key`), so newest-first reads and
    /// pruning by age are range scans.
    changes: sled::Tree,
    /// Health newer than the stored records.
    live: LiveHealth,
    /// The data directory, for the free space on its disk.
    dir: PathBuf,
    /// Held shared by every write that spans records a reader must see
    /// together (a merge, a failure's health), and exclusively by
    /// [`Store::dump`], so a backup is one consistent state.
    writes: RwLock<()>,
    /// The generation `meta` holds, kept in memory (see `Store::generation`).
    generation: AtomicU64,
}

/// The space on a directory's file system, as an unprivileged writer sees it.
struct DiskSpace {
    /// Bytes free to us.
    free: u64,
    /// Mounted read-only.
    read_only: bool,
}

/// `statvfs` of `dir`; `None` where the system cannot say.
#[cfg(unix)]
fn disk_space(dir: &Path) -> Option<DiskSpace> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value for statvfs to fill.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is a NUL-terminated string and `st` a valid statvfs.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)] // the field types differ between systems
    Some(DiskSpace {
        free: (st.f_bavail as u64).saturating_mul(st.f_frsize as u64),
        read_only: st.f_flag & libc::ST_RDONLY != 0,
    })
}

/// Where the system cannot say, the disk counts as fine.
#[cfg(not(unix))]
fn disk_space(_dir: &Path) -> Option<DiskSpace> {
    None
}

/// Free space a crawl needs on the store's disk before it starts and before
/// it merges. sled can wait forever inside its log flush when a write meets a
/// full disk, so a crawl that would find less is refused at once instead.
pub const MIN_FREE_DISK: bytesize::ByteSize = bytesize::ByteSize::mib(64);

/// Free space under which a crawl refused for want of [`MIN_FREE_DISK`] is
/// not even noted in the source's health (the note is a few hundred bytes,
/// but a write that meets a full disk can hang); above it the refusal is
/// recorded, so `events sources` and `/api/sources` say why.
pub const MIN_FREE_DISK_FOR_HEALTH: bytesize::ByteSize = bytesize::ByteSize::mib(8);

/// Source health this process knows and has not written yet (see
/// `SourceHealth`). Written when the last handle goes, so a process that ends
/// normally loses nothing.
struct LiveHealth {
    sources: Mutex<HashMap<String, Live>>,
    /// Bumped on every change of any source's health.
    version: std::sync::atomic::AtomicU64,
    tree: sled::Tree,
    db: sled::Db,
}

#[derive(Default)]
struct Live {
    health: SourceHealth,
    /// `health` differs from the stored record.
    unsaved: bool,
    /// A note of this source was written after the stored record: the crawl
    /// that wrote it (which decides by `last_success` whether its notes were
    /// merged) needs its success stored with it.
    notes_written: bool,
}

impl LiveHealth {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Live>> {
        // A panic elsewhere mid-update leaves a valid map; carry on.
        self.sources.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes every record that is behind this process's health.
    fn save(&self) -> Result<(), StoreError> {
        let mut sources = self.lock();
        for (id, live) in sources.iter_mut().filter(|(_, l)| l.unsaved) {
            self.tree.insert(id.as_bytes(), to_json(&live.health))?;
            live.unsaved = false;
            live.notes_written = false;
        }
        Ok(())
    }
}

impl Drop for LiveHealth {
    fn drop(&mut self) {
        let unsaved = self.lock().values().any(|l| l.unsaved);
        if unsaved {
            if let Err(e) = self.save().and_then(|()| Ok(self.db.flush()?)) {
                tracing::error!(error = %e, "could not write the sources' latest health to the store");
            }
        }
    }
}

/// True when a stored health record `stored` is too far behind `new` to be
/// left as it is: a field people act on changed, or the times moved on by
/// `HEALTH_SAVE_EVERY`. The per-attempt counters alone never are.
fn health_must_be_saved(stored: Option<&SourceHealth>, new: &SourceHealth) -> bool {
    let Some(old) = stored else { return true };
    let behind = |old: Option<DateTime<Utc>>, new: Option<DateTime<Utc>>| match (old, new) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(o), Some(n)) => n - o >= HEALTH_SAVE_EVERY || n < o,
    };
    old.last_error != new.last_error
        || old.consecutive_failures != new.consecutive_failures
        || old.sessions_found != new.sessions_found
        || behind(old.last_success, new.last_success)
        || behind(old.last_attempt, new.last_attempt)
}

const GENERATION: &[u8] = b"generation";
const SCHEMA: &[u8] = b"schema_version";

impl Store {
    /// Opens (creating if needed) the store in `dir`. A store still locked
    /// by a handle that is closing (sled lets go of its lock from a background
    /// thread, a moment after the last handle is dropped) is waited for up to
    /// `LOCK_WAIT`; one held by another process past that is `Locked`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        let db = loop {
            match Self::open_db(dir) {
                Err(StoreError::Locked { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                other => break other?,
            }
        };
        let health = db.open_tree("health")?;
        let store = StoreInner {
            dir: dir.to_path_buf(),
            sessions: db.open_tree("sessions")?,
            courses: db.open_tree("courses")?,
            live: LiveHealth {
                sources: Mutex::new(HashMap::new()),
                version: Default::default(),
                tree: health.clone(),
                db: db.clone(),
            },
            health,
            http: db.open_tree("http")?,
            meta: db.open_tree("meta")?,
            changes: db.open_tree("changes")?,
            db,
            writes: RwLock::new(()),
            generation: AtomicU64::new(0),
        };
        let store = Store {
            inner: Arc::new(store),
        };
        store.migrate(dir)?;
        store.generation_moved();
        Ok(store)
    }

    fn open_db(dir: &Path) -> Result<sled::Db, StoreError> {
        sled::Config::new()
            .path(dir)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|e| {
                let msg = e.to_string();
                if msg.contains("lock")
                    || msg.contains("WouldBlock")
                    || msg.contains("Resource temporarily unavailable")
                {
                    return StoreError::Locked {
                        path: dir.to_path_buf(),
                    };
                }
                match e {
                    sled::Error::Io(io) => Store::from_open_io(dir, &io, "writing to"),
                    _ => StoreError::Open {
                        path: dir.to_path_buf(),
                        message: msg,
                    },
                }
            })
    }

    /// Opens an existing store only: a missing directory is an error, not a
    /// new store, and so is one this user may not read.
    pub fn open_existing(dir: &Path) -> Result<Store, StoreError> {
        let reading = |e: std::io::Error| Store::from_open_io(dir, &e, "reading");
        match std::fs::metadata(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Missing {
                    path: dir.to_path_buf(),
                })
            }
            Err(e) => return Err(reading(e)),
            Ok(m) if !m.is_dir() => {
                return Err(StoreError::NotADirectory {
                    path: dir.to_path_buf(),
                })
            }
            Ok(_) => {}
        }
        // Listing it tells an unreadable directory from an empty one.
        let mut names = std::fs::read_dir(dir).map_err(reading)?;
        let has = |name: &str| dir.join(name).try_exists();
        if !has("conf").map_err(reading)? && !has("db").map_err(reading)? {
            return Err(if names.next().is_none() {
                StoreError::Missing {
                    path: dir.to_path_buf(),
                }
            } else {
                StoreError::Open {
                    path: dir.to_path_buf(),
                    message: "it holds files but no store; pass --data with the directory `events crawl` wrote to".into(),
                }
            });
        }
        Store::open(dir)
    }

    /// The sentence for a file-system error met opening the store in `dir`
    /// while `doing` ("reading" or "writing to") it.
    fn from_open_io(dir: &Path, e: &std::io::Error, doing: &'static str) -> StoreError {
        let path = dir.to_path_buf();
        match e.kind() {
            std::io::ErrorKind::PermissionDenied => StoreError::PermissionDenied { path, doing },
            std::io::ErrorKind::ReadOnlyFilesystem => StoreError::ReadOnly { path },
            std::io::ErrorKind::NotADirectory => StoreError::NotADirectory { path },
            _ => StoreError::Open {
                path,
                message: crate::errors::io_words(e),
            },
        }
    }

    fn migrate(&self, dir: &Path) -> Result<(), StoreError> {
        match self.inner.meta.get(SCHEMA)? {
            None => {
                self.inner
                    .meta
                    .insert(SCHEMA, &SCHEMA_VERSION.to_be_bytes())?;
            }
            Some(v) => {
                let found = u64_from(&v).ok_or_else(|| {
                    StoreError::Corrupt("the schema version key is unreadable".into())
                })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::TooNew {
                        path: dir.to_path_buf(),
                        found,
                    });
                }
                // Versions below SCHEMA_VERSION would be migrated here, step by step.
            }
        }
        self.forget_prune_pseudo_source()?;
        Ok(())
    }

    /// Moves the prune time older builds kept as a note of the pseudo-source
    /// `*` to its own key, and removes the health record that came with it,
    /// so only sources are listed as sources. The layout of everything else
    /// is unchanged, so this is not a schema step: it runs at every open and
    /// does nothing (two reads) once done.
    fn forget_prune_pseudo_source(&self) -> Result<(), StoreError> {
        if let Some(v) = self
            .inner
            .meta
            .remove(note_key(OLD_PRUNE_SOURCE, OLD_PRUNE_NOTE))?
        {
            if self.inner.meta.get(HTTP_CACHE_PRUNED)?.is_none() {
                self.inner.meta.insert(HTTP_CACHE_PRUNED, v)?;
            }
        }
        self.inner.health.remove(OLD_PRUNE_SOURCE.as_bytes())?;
        Ok(())
    }

    /// Moves whenever any source's health changes in this process (a crawl
    /// that failed changes no session, so no generation): what caches of a
    /// view that shows health are keyed on, beside the generation.
    pub fn health_version(&self) -> u64 {
        self.inner
            .live
            .version
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bumped by every change to sessions or courses; renderers cache by it.
    /// Read from memory, not from sled: every cache hit asks for it.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// The generation as `meta` holds it.
    fn stored_generation(&self) -> u64 {
        self.inner
            .meta
            .get(GENERATION)
            .ok()
            .flatten()
            .and_then(|v| u64_from(&v))
            .unwrap_or(0)
    }

    /// Takes `generation` up to the stored one, after a write that moved
    /// it. Never down: two merges committed at once may get here in either
    /// order.
    fn generation_moved(&self) {
        self.inner
            .generation
            .fetch_max(self.stored_generation(), Ordering::AcqRel);
    }

    /// The data directory it lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The schema version the store is written in.
    pub fn schema_version(&self) -> u64 {
        self.inner
            .meta
            .get(SCHEMA)
            .ok()
            .flatten()
            .and_then(|v| u64_from(&v))
            .unwrap_or(SCHEMA_VERSION)
    }

    /// Bytes the store takes on disk (sled's own measure).
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.inner.db.size_on_disk()?)
    }

    /// `Ok` when the store's disk is writable and has at least
    /// [`MIN_FREE_DISK`] free (or its space cannot be read); otherwise the
    /// sentence saying which, before anything is written.
    pub fn check_disk(&self) -> Result<(), StoreError> {
        let Some(space) = disk_space(&self.inner.dir) else {
            return Ok(());
        };
        if space.read_only {
            return Err(StoreError::ReadOnly {
                path: self.inner.dir.to_path_buf(),
            });
        }
        if space.free < MIN_FREE_DISK.as_u64() {
            return Err(StoreError::DiskFull {
                path: self.inner.dir.to_path_buf(),
                free: bytesize::ByteSize::b(space.free),
            });
        }
        Ok(())
    }

    /// The disk is writable and has room for a note of source health
    /// ([`MIN_FREE_DISK_FOR_HEALTH`]), even if too little for a crawl.
    pub fn room_for_health(&self) -> bool {
        disk_space(&self.inner.dir)
            .is_none_or(|s| !s.read_only && s.free >= MIN_FREE_DISK_FOR_HEALTH.as_u64())
    }

    /// Writes what is only in memory (the latest source health, see
    /// `SourceHealth`) and everything to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.live.save()?;
        self.inner.db.flush()?;
        Ok(())
    }

    /// The shared hold of a write that must not be split by a backup.
    fn writing(&self) -> RwLockReadGuard<'_, ()> {
        // A panic mid-write leaves sled consistent (transactions); carry on.
        self.inner.writes.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Calls `each` with every record a backup holds, part by part, as one
    /// consistent state: no merge or health write runs meanwhile (they wait).
    /// Health is each source's latest (`all_health`), so a restored store
    /// answers as this one does now. Kept pages (`http`) are left out: the
    /// next crawl fetches them again.
    pub fn dump<E: From<StoreError>>(
        &self,
        mut each: impl FnMut(Part, &[u8], &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let _alone = self.inner.writes.write().unwrap_or_else(|e| e.into_inner());
        for part in Part::ALL {
            if part == Part::Health {
                for (id, h) in self.all_health()? {
                    each(part, id.as_bytes(), &to_json(&h))?;
                }
                continue;
            }
            for kv in self.tree(part).iter() {
                let (k, v) = kv.map_err(StoreError::from)?;
                each(part, &k, &v)?;
            }
        }
        Ok(())
    }

    /// Writes records of a backup into this store, as they were dumped.
    /// Only for a store just made to restore into (`backup::restore`).
    pub fn load(&self, part: Part, records: &[(Vec<u8>, Vec<u8>)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (k, v) in records {
            batch.insert(k.as_slice(), v.as_slice());
        }
        self.tree(part).apply_batch(batch)?;
        if part == Part::Meta {
            self.generation_moved();
        }
        if part == Part::Health {
            // What a view of health kept is keyed on (`health_version`).
            self.inner
                .live
                .version
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    /// True when the store holds no session, course, change or health yet.
    pub fn is_empty(&self) -> bool {
        [Part::Sessions, Part::Courses, Part::Changes, Part::Health]
            .iter()
            .all(|p| self.tree(*p).is_empty())
    }

    fn tree(&self, part: Part) -> &sled::Tree {
        match part {
            Part::Sessions => &self.inner.sessions,
            Part::Courses => &self.inner.courses,
            Part::Changes => &self.inner.changes,
            Part::Meta => &self.inner.meta,
            Part::Health => &self.inner.health,
        }
    }

    /// Every stored session, in key order (source, then UID).
    pub fn sessions(&self) -> Result<Vec<StoredSession>, StoreError> {
        let mut all: Vec<StoredSession> = self
            .inner
            .sessions
            .iter()
            .values()
            .map(|v| {
                let v = v?;
                serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt(format!("a session record: {e}")))
            })
            .collect::<Result<_, _>>()?;
        // Collecting doubles the vector as it grows; a server keeps this as
        // its snapshot for hours, and at 140,000 sessions the spare half of
        // the last doubling is about 50 MB.
        all.shrink_to_fit();
        Ok(all)
    }

    /// The ids of the sources the store holds sessions of, in order: one seek
    /// a source, past its keys to the next source's, rather than a read of
    /// every session.
    pub fn session_source_ids(&self) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let mut ids = std::collections::BTreeSet::new();
        let mut from: Vec<u8> = Vec::new();
        while let Some(key) = self.inner.sessions.range(from.as_slice()..).keys().next() {
            let key = key?;
            let Some(end) = key.iter().position(|&b| b == 0) else {
                return Err(StoreError::Corrupt(
                    "a session key without its source".into(),
                ));
            };
            let id = String::from_utf8_lossy(&key[..end]).into_owned();
            // Past every key of this source: its prefix with a byte above its 0.
            from = source_prefix(&id);
            if let Some(last) = from.last_mut() {
                *last = 1;
            }
            ids.insert(id);
        }
        Ok(ids)
    }

    /// Every session of one source, withdrawn ones too.
    pub fn source_sessions(&self, source: &str) -> Result<Vec<StoredSession>, StoreError> {
        self.inner
            .sessions
            .scan_prefix(source_prefix(source))
            .values()
            .map(|v| {
                let v = v?;
                serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt(format!("a session record: {e}")))
            })
            .collect()
    }

    /// Every source's undated courses.
    pub fn courses(&self) -> Result<Vec<Course>, StoreError> {
        self.inner
            .courses
            .iter()
            .values()
            .map(|v| {
                let v = v?;
                serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt(format!("a course record: {e}")))
            })
            .collect()
    }

    /// A source's health as of its latest crawl in this process, else as stored.
    pub fn health(&self, source: &str) -> Result<SourceHealth, StoreError> {
        if let Some(l) = self.inner.live.lock().get(source) {
            return Ok(l.health.clone());
        }
        Ok(self.stored_health(source)?.unwrap_or_default())
    }

    /// A source's health as the store holds it, which may be behind `health`
    /// (see `SourceHealth`): what a process killed now would leave.
    pub fn stored_health(&self, source: &str) -> Result<Option<SourceHealth>, StoreError> {
        match self.inner.health.get(source.as_bytes())? {
            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(|e| {
                StoreError::Corrupt(format!("health of {source}: {e}"))
            })?)),
            None => Ok(None),
        }
    }

    /// Every source's health, as `health` gives it.
    pub fn all_health(&self) -> Result<BTreeMap<String, SourceHealth>, StoreError> {
        let mut out = BTreeMap::new();
        for kv in self.inner.health.iter() {
            let (k, v) = kv?;
            let id = String::from_utf8_lossy(&k).into_owned();
            let h = serde_json::from_slice(&v)
                .map_err(|e| StoreError::Corrupt(format!("health of {id}: {e}")))?;
            out.insert(id, h);
        }
        for (id, l) in self.inner.live.lock().iter() {
            out.insert(id.clone(), l.health.clone());
        }
        Ok(out)
    }

    /// Whether `new` must be written now (see `SourceHealth`); `wrote_more`:
    /// the caller writes something else for the source with it.
    fn health_to_save(
        &self,
        source: &str,
        new: &SourceHealth,
        wrote_more: bool,
    ) -> Result<bool, StoreError> {
        let notes = self
            .inner
            .live
            .lock()
            .get(source)
            .is_some_and(|l| l.notes_written);
        Ok(wrote_more || notes || health_must_be_saved(self.stored_health(source)?.as_ref(), new))
    }

    /// Takes `h` as the source's latest health; `saved`: it is what the store holds.
    fn health_is(&self, source: &str, h: SourceHealth, saved: bool) {
        let mut sources = self.inner.live.lock();
        self.inner
            .live
            .version
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let live = sources.entry(source.to_string()).or_default();
        live.unsaved = !saved;
        if saved {
            live.notes_written = false;
        }
        live.health = h;
    }

    /// Records a crawl that failed or was refused: only health changes.
    pub fn record_failure(
        &self,
        source: &str,
        now: DateTime<Utc>,
        kind: ErrorKind,
        error: &str,
        stats: CrawlStats,
    ) -> Result<SourceHealth, StoreError> {
        let mut h = self.health(source)?;
        h.last_attempt = Some(now);
        h.last_error = Some(error.to_string());
        h.last_error_kind = Some(kind);
        h.consecutive_failures = h.consecutive_failures.saturating_add(1);
        h.requests = stats.requests;
        h.bytes = stats.bytes;
        h.not_modified = stats.not_modified;
        let _writing = self.writing();
        let save = self.health_to_save(source, &h, false)?;
        if save {
            self.inner.health.insert(source.as_bytes(), to_json(&h))?;
            self.inner.health.flush()?;
        }
        self.health_is(source, h.clone(), save);
        Ok(h)
    }

    /// Merges one source's complete crawl into the store, atomically.
    ///
    /// `courses` replaces that source's catalogue when given. Returns the refusal
    /// (and changes nothing but health) when the result looks like a broken parser
    /// or an outage page.
    pub fn apply_crawl(
        &self,
        source: &str,
        crawled: Vec<Session>,
        courses: Option<Vec<Course>>,
        now: DateTime<Utc>,
        min_fraction: f64,
        stats: CrawlStats,
    ) -> Result<Result<MergeReport, Refusal>, StoreError> {
        self.merge(source, crawled, courses, now, min_fraction, stats, None)
    }

    /// Merges what a crawl that stopped at one of its limits saw: new and
    /// changed sessions are applied, but nothing is withdrawn (the crawl did not
    /// see the whole site), the catalogue is kept, and health records `error`
    /// as this crawl's error, keeping the last complete crawl's count and time.
    pub fn apply_partial_crawl(
        &self,
        source: &str,
        crawled: Vec<Session>,
        now: DateTime<Utc>,
        stats: CrawlStats,
        error: &str,
    ) -> Result<Result<MergeReport, Refusal>, StoreError> {
        self.merge(source, crawled, None, now, 0.0, stats, Some(error))
    }

    #[allow(clippy::too_many_arguments)]
    fn merge(
        &self,
        source: &str,
        crawled: Vec<Session>,
        courses: Option<Vec<Course>>,
        now: DateTime<Utc>,
        min_fraction: f64,
        stats: CrawlStats,
        partial: Option<&str>,
    ) -> Result<Result<MergeReport, Refusal>, StoreError> {
        let previous_health = self.health(source)?;
        let crawled = one_per_uid(source, crawled);
        let previous = previous_health.sessions_found;
        if let Some(r) = outage_guard(previous, crawled.len(), min_fraction, partial) {
            self.record_failure(source, now, ErrorKind::Refused, &r.to_string(), stats)?;
            return Ok(Err(r));
        }
        let existing = self.existing_by_uid(source)?;
        // A source's first crawl makes what it finds known, not news.
        let news = previous_health.last_success.is_some() || !existing.is_empty();
        let mut diff = SessionDiff::new(crawled.len());
        diff.crawled(source, crawled, &existing, now, news);
        // Only a crawl that saw the whole site withdraws.
        if partial.is_none() {
            diff.withdrawn(source, &existing, now);
        }
        let health = health_after(previous_health, now, partial, diff.report.found, stats);
        let courses = self.course_writes(source, courses)?;
        self.write_merge(source, diff, courses, health, now)
    }

    /// The source's stored sessions by UID.
    fn existing_by_uid(&self, source: &str) -> Result<BTreeMap<Uid, StoredSession>, StoreError> {
        Ok(self
            .source_sessions(source)?
            .into_iter()
            .map(|s| (s.uid.clone(), s))
            .collect())
    }

    /// The catalogue's writes, when `courses` differs from the stored one (a
    /// source with eLearning courses sends them on every crawl): the keys to
    /// remove and the records to write.
    fn course_writes(
        &self,
        source: &str,
        courses: Option<Vec<Course>>,
    ) -> Result<Option<CourseWrites>, StoreError> {
        let Some(cs) = courses else {
            return Ok(None);
        };
        // Later duplicates win, as inserting them in turn would.
        let new: BTreeMap<Vec<u8>, Vec<u8>> = cs
            .iter()
            .filter(|c| c.source == source)
            .map(|c| (course_key(source, &c.id), to_json(c)))
            .collect();
        let mut old = BTreeMap::new();
        for kv in self.inner.courses.scan_prefix(source_prefix(source)) {
            let (k, v) = kv?;
            old.insert(k.to_vec(), v.to_vec());
        }
        if old == new {
            return Ok(None);
        }
        Ok(Some(CourseWrites {
            remove: old.into_keys().collect(),
            insert: new,
        }))
    }

    /// Writes a merge worked out by `merge` in one transaction, with the
    /// changes past their keeping time removed; an unchanged poll writes
    /// nothing, so the store does not grow.
    fn write_merge(
        &self,
        source: &str,
        diff: SessionDiff,
        courses: Option<CourseWrites>,
        health: SourceHealth,
        now: DateTime<Utc>,
    ) -> Result<Result<MergeReport, Refusal>, StoreError> {
        let SessionDiff {
            mut report,
            writes,
            changes,
            ..
        } = diff;
        let touched = !writes.is_empty() || courses.is_some();
        report.recorded = changes.len();
        let change_writes: Vec<(Vec<u8>, Vec<u8>)> = changes
            .iter()
            .map(|c| (change_key(c), to_json(c)))
            .collect();
        let expired = self.expired_changes(now);
        let writes_more = touched || !change_writes.is_empty() || !expired.is_empty();
        let save_health = self.health_to_save(source, &health, writes_more)?;
        if !writes_more && !save_health {
            self.health_is(source, health, false);
            return Ok(Ok(report));
        }
        let health_json = save_health.then(|| to_json(&health));
        let _writing = self.writing();
        let result: Result<(), TransactionError<()>> = (
            &self.inner.sessions,
            &self.inner.courses,
            &self.inner.health,
            &self.inner.meta,
            &self.inner.changes,
        )
            .transaction(|(ts, tc, th, tm, tx)| {
                for (k, v) in &writes {
                    ts.insert(k.as_slice(), v.as_slice())?;
                }
                for k in &expired {
                    tx.remove(k.as_slice())?;
                }
                for (k, v) in &change_writes {
                    tx.insert(k.as_slice(), v.as_slice())?;
                }
                if let Some(cw) = &courses {
                    for k in &cw.remove {
                        tc.remove(k.as_slice())?;
                    }
                    for (k, v) in &cw.insert {
                        tc.insert(k.as_slice(), v.as_slice())?;
                    }
                }
                if let Some(h) = &health_json {
                    th.insert(source.as_bytes(), h.as_slice())?;
                }
                if touched {
                    let g = tm.get(GENERATION)?.and_then(|v| u64_from(&v)).unwrap_or(0);
                    tm.insert(GENERATION, &(g + 1).to_be_bytes())?;
                }
                Ok::<(), ConflictableTransactionError<()>>(())
            });
        committed(result)?;
        if touched {
            self.generation_moved();
        }
        self.health_is(source, health, save_health);
        self.inner.db.flush()?;
        Ok(Ok(report))
    }

    /// The keys of the changes past their keeping time at `now`. They are the
    /// oldest keys, so this reads only what is removed.
    fn expired_changes(&self, now: DateTime<Utc>) -> Vec<Vec<u8>> {
        self.inner
            .changes
            .range(..time_key(now - KEEP_CHANGES).to_vec())
            .keys()
            .filter_map(|k| k.ok().map(|k| k.to_vec()))
            .collect()
    }

    /// The changes recorded at or after `since`, newest first, read lazily so a
    /// caller that wants the newest few reads only those.
    pub fn changes_since(
        &self,
        since: DateTime<Utc>,
    ) -> impl Iterator<Item = Result<Change, StoreError>> + '_ {
        self.inner
            .changes
            .range(time_key(since).to_vec()..)
            .values()
            .rev()
            .map(|v| {
                let v = v?;
                serde_json::from_slice(&v)
                    .map_err(|e| StoreError::Corrupt(format!("a change record: {e}")))
            })
    }

    /// When the newest change was recorded, if any is kept.
    pub fn last_change_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.inner.changes.last()? {
            None => Ok(None),
            Some((_, v)) => serde_json::from_slice::<Change>(&v)
                .map(|c| Some(c.at))
                .map_err(|e| StoreError::Corrupt(format!("a change record: {e}"))),
        }
    }

    /// How many changes are kept.
    pub fn change_count(&self) -> usize {
        self.inner.changes.len()
    }

    /// The stored validators and body of a URL, if any.
    pub fn cached_response(&self, url: &str) -> Result<Option<CachedResponse>, StoreError> {
        let Some(v) = self.inner.http.get(url.as_bytes())? else {
            return Ok(None);
        };
        Ok(decode_cached(&v))
    }

    /// Keeps a response for conditional requests to `url`.
    pub fn put_cached_response(&self, url: &str, c: &CachedResponse) -> Result<(), StoreError> {
        let header = to_json(c);
        let mut v = Vec::with_capacity(4 + header.len() + c.body.len());
        v.extend_from_slice(&(header.len() as u32).to_be_bytes());
        v.extend_from_slice(&header);
        v.extend_from_slice(&c.body);
        self.inner.http.insert(url.as_bytes(), v)?;
        Ok(())
    }

    /// Marks the response for `url` as used by a crawl at `now`, writing only
    /// when the stored time is older than `TOUCH_EVERY`.
    pub fn touch_cached_response(&self, url: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(mut c) = self.cached_response(url)? {
            if now - c.last_used() >= TOUCH_EVERY {
                c.seen = Some(now);
                self.put_cached_response(url, &c)?;
            }
        }
        Ok(())
    }

    /// Removes the responses no crawl has used for `max_age` (the pages of
    /// events long gone from their sites), so the cache does not keep every
    /// page that ever existed. Unreadable entries are removed too: they can
    /// only cost a full fetch.
    pub fn prune_http_cache(
        &self,
        now: DateTime<Utc>,
        max_age: chrono::TimeDelta,
    ) -> Result<Pruned, StoreError> {
        let mut pruned = Pruned::default();
        for kv in self.inner.http.iter() {
            let (k, v) = kv?;
            let stale = match decode_header(&v) {
                Some((c, _)) => now - c.last_used() > max_age,
                None => true,
            };
            if stale && self.inner.http.remove(&k)?.is_some() {
                pruned.entries += 1;
                pruned.bytes += (k.len() + v.len()) as u64;
            }
        }
        Ok(pruned)
    }

    /// Prunes kept responses no crawl has used for `max_age` (as
    /// `prune_http_cache`) when the last prune is at least `PRUNE_EVERY` old
    /// at `now`, or there was none; `None` when it was not due. A last prune
    /// in the future (a clock set back) counts as due. When two tasks or
    /// processes find it due at once, one prunes: the time is claimed with a
    /// compare-and-swap before pruning.
    pub fn prune_http_cache_due(
        &self,
        now: DateTime<Utc>,
        max_age: chrono::TimeDelta,
    ) -> Result<Option<Pruned>, StoreError> {
        let old = self.inner.meta.get(HTTP_CACHE_PRUNED)?;
        let last = old.as_deref().and_then(read_time);
        if last.is_some_and(|t| t <= now && now - t < PRUNE_EVERY) {
            return Ok(None);
        }
        let claimed = self.inner.meta.compare_and_swap(
            HTTP_CACHE_PRUNED,
            old.as_ref(),
            Some(now.to_rfc3339().into_bytes()),
        )?;
        if claimed.is_err() {
            return Ok(None);
        }
        self.prune_http_cache(now, max_age).map(Some)
    }

    /// When kept responses were last pruned, if ever.
    pub fn http_cache_pruned_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .inner
            .meta
            .get(HTTP_CACHE_PRUNED)?
            .as_deref()
            .and_then(read_time))
    }

    /// Small per-source notes the crawler keeps between crawls (e.g. listing
    /// fingerprints and when a detail page was last refreshed).
    pub fn note(&self, source: &str, key: &str) -> Result<Option<String>, StoreError> {
        let k = note_key(source, key);
        Ok(self
            .inner
            .meta
            .get(k)?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// The highest SEQUENCE each merged entry was shown with, and what it
    /// showed (see [`Shown`]), by entry UID.
    pub fn shown_entries(&self) -> Result<HashMap<Uid, Shown>, StoreError> {
        let mut out = HashMap::new();
        for kv in self.inner.meta.scan_prefix(SHOWN_PREFIX) {
            let (k, v) = kv?;
            let uid = String::from_utf8_lossy(&k[SHOWN_PREFIX.len()..]).into_owned();
            let shown: Shown = serde_json::from_slice(&v)
                .map_err(|e| StoreError::Corrupt(format!("a merged entry's sequence: {e}")))?;
            out.insert(Uid(uid), shown);
        }
        Ok(out)
    }

    /// Records what merged entries were shown with. Kept in the meta part
    /// (so in backups), and not a change of the store's data: the
    /// generation does not move.
    pub fn set_shown(&self, entries: &[(Uid, Shown)]) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (uid, shown) in entries {
            let mut k = SHOWN_PREFIX.to_vec();
            k.extend_from_slice(uid.as_str().as_bytes());
            let v = serde_json::to_vec(shown).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            batch.insert(k, v);
        }
        self.inner.meta.apply_batch(batch)?;
        Ok(())
    }

    /// Sets a note; one that already says `value` is not written again.
    pub fn set_note(&self, source: &str, key: &str, value: &str) -> Result<(), StoreError> {
        let k = note_key(source, key);
        if self
            .inner
            .meta
            .get(&k)?
            .is_some_and(|v| v == value.as_bytes())
        {
            return Ok(());
        }
        self.inner.meta.insert(k, value.as_bytes())?;
        self.inner
            .live
            .lock()
            .entry(source.to_string())
            .or_insert_with(|| Live {
                // Read before the note counts, so `health` stays the stored one.
                health: self
                    .stored_health(source)
                    .ok()
                    .flatten()
                    .unwrap_or_default(),
                ..Live::default()
            })
            .notes_written = true;
        Ok(())
    }
}

/// An RFC 3339 time as stored in `meta`; `None` when it does not read as one
/// (then whatever it gates is done again, which is harmless).
fn read_time(v: &[u8]) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(std::str::from_utf8(v).ok()?).ok()?;
    Some(t.with_timezone(&Utc))
}

/// A stored response: 4-byte big-endian header length, JSON header, raw body.
fn decode_cached(v: &[u8]) -> Option<CachedResponse> {
    let (mut c, body_at) = decode_header(v)?;
    c.body = v[body_at..].to_vec();
    Some(c)
}

/// The header of a stored response (body left empty) and where its body starts.
fn decode_header(v: &[u8]) -> Option<(CachedResponse, usize)> {
    let n = u32::from_be_bytes(v.get(..4)?.try_into().ok()?) as usize;
    let end = 4usize.checked_add(n)?;
    let c = serde_json::from_slice::<CachedResponse>(v.get(4..end)?).ok()?;
    Some((c, end))
}

/// 8 bytes that sort as the instant does (milliseconds since 1970, sign bit
/// flipped, big-endian), so keys that start with them are in time order.
fn time_key(t: DateTime<Utc>) -> [u8; 8] {
    ((t.timestamp_millis() as u64) ^ (1 << 63)).to_be_bytes()
}

/// A change's key: its time, then its UID and kind, so one crawl's changes to
/// different sessions (all at one instant) never collide, and the same change
/// recorded twice at one instant is one entry.
fn change_key(c: &Change) -> Vec<u8> {
    let mut k = time_key(c.at).to_vec();
    k.extend_from_slice(c.uid.as_str().as_bytes());
    k.push(0);
    k.extend_from_slice(c.kind.as_str().as_bytes());
    k
}

fn note_key(source: &str, key: &str) -> Vec<u8> {
    let mut k = b"note\0".to_vec();
    k.extend_from_slice(source.as_bytes());
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

fn source_prefix(source: &str) -> Vec<u8> {
    let mut k = source.as_bytes().to_vec();
    k.push(0);
    k
}

fn session_key(source: &str, uid: &Uid) -> Vec<u8> {
    let mut k = source_prefix(source);
    k.extend_from_slice(uid.as_str().as_bytes());
    k
}

fn course_key(source: &str, id: &str) -> Vec<u8> {
    let mut k = source_prefix(source);
    k.extend_from_slice(id.as_bytes());
    k
}

fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("store records always serialise")
}

fn u64_from(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.try_into().ok()?))
}

/// The catalogue's part of a merge: keys to remove, records to write.
struct CourseWrites {
    remove: Vec<Vec<u8>>,
    insert: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// `crawled`'s sessions of `source`, one per UID: the same event can appear
/// under two categories.
fn one_per_uid(source: &str, crawled: Vec<Session>) -> Vec<Session> {
    let mut seen = HashSet::new();
    crawled
        .into_iter()
        .filter(|s| s.source == source && seen.insert(s.uid()))
        .collect()
}

/// The outage guard: a crawl that finds nothing, or (unless it stopped at a
/// limit, when fewer are expected) under `min_fraction` of what the last
/// successful one found, is refused.
fn outage_guard(
    previous: usize,
    found: usize,
    min_fraction: f64,
    partial: Option<&str>,
) -> Option<Refusal> {
    if previous > 0 && found == 0 {
        return Some(Refusal::Empty { previous });
    }
    if partial.is_none() && previous > 0 && (found as f64) < (previous as f64) * min_fraction {
        return Some(Refusal::TooFew {
            found,
            previous,
            min_fraction,
        });
    }
    None
}

/// A source's health after a merged crawl: a success, or (stopped at a
/// limit) a failure whose sentence is the limit's.
fn health_after(
    mut health: SourceHealth,
    now: DateTime<Utc>,
    partial: Option<&str>,
    found: usize,
    stats: CrawlStats,
) -> SourceHealth {
    health.last_attempt = Some(now);
    match partial {
        None => {
            health.last_success = Some(now);
            health.last_error = None;
            health.last_error_kind = None;
            health.consecutive_failures = 0;
            health.sessions_found = found;
        }
        Some(error) => {
            health.last_error = Some(error.to_string());
            health.last_error_kind = Some(ErrorKind::Limit);
            health.consecutive_failures = health.consecutive_failures.saturating_add(1);
        }
    }
    health.requests = stats.requests;
    health.bytes = stats.bytes;
    health.not_modified = stats.not_modified;
    health
}

/// What a crawl changes in a source's sessions: the records to write, the
/// changes to record, and the counts of the crawl's report.
struct SessionDiff {
    report: MergeReport,
    writes: Vec<(Vec<u8>, Vec<u8>)>,
    changes: Vec<Change>,
    /// The UIDs the crawl found.
    present: HashSet<Uid>,
}

impl SessionDiff {
    fn new(found: usize) -> SessionDiff {
        SessionDiff {
            report: MergeReport {
                found,
                ..MergeReport::default()
            },
            writes: Vec::new(),
            changes: Vec::new(),
            present: HashSet::new(),
        }
    }

    /// Each crawled session: new, changed, or unchanged (written only to
    /// touch it now and then). Changes are recorded when `news`.
    fn crawled(
        &mut self,
        source: &str,
        crawled: Vec<Session>,
        existing: &BTreeMap<Uid, StoredSession>,
        now: DateTime<Utc>,
        news: bool,
    ) {
        for s in crawled {
            let uid = s.uid();
            self.present.insert(uid.clone());
            let record = match existing.get(&uid) {
                None => self.new_session(uid.clone(), s, now, news),
                Some(old) => match self.seen_again(old, s, now, news) {
                    Some(rec) => rec,
                    None => continue,
                },
            };
            self.writes
                .push((session_key(source, &uid), to_json(&record)));
        }
    }

    fn new_session(
        &mut self,
        uid: Uid,
        s: Session,
        now: DateTime<Utc>,
        news: bool,
    ) -> StoredSession {
        self.report.new += 1;
        if news {
            self.changes.extend(Change::between(now, None, &s));
        }
        StoredSession {
            uid,
            session: s,
            first_seen: now,
            last_seen: now,
            last_changed: now,
            sequence: 0,
        }
    }

    /// A known session crawled again: its new record, or `None` when it is
    /// unchanged and was seen recently (nothing worth a write).
    fn seen_again(
        &mut self,
        old: &StoredSession,
        s: Session,
        now: DateTime<Utc>,
        news: bool,
    ) -> Option<StoredSession> {
        let changed = old.session.shown_fields_differ(&s);
        if !changed && old.session == s && now - old.last_seen < TOUCH_EVERY {
            self.report.unchanged += 1;
            return None;
        }
        let mut rec = old.clone();
        rec.last_seen = now;
        if changed {
            self.report.changed += 1;
            rec.sequence = rec.sequence.saturating_add(1);
            rec.last_changed = now;
            if news {
                self.changes
                    .extend(Change::between(now, Some(&old.session), &s));
            }
        } else {
            self.report.unchanged += 1;
        }
        rec.session = s;
        Some(rec)
    }

    /// Upcoming sessions the crawl no longer found become withdrawn. Past
    /// sessions drop off listings naturally and are left as they are.
    fn withdrawn(
        &mut self,
        source: &str,
        existing: &BTreeMap<Uid, StoredSession>,
        now: DateTime<Utc>,
    ) {
        for (uid, old) in existing {
            if self.present.contains(uid)
                || old.session.status == Status::Withdrawn
                || old.session.start <= now
            {
                continue;
            }
            let mut rec = old.clone();
            rec.session.status = Status::Withdrawn;
            rec.sequence = rec.sequence.saturating_add(1);
            rec.last_changed = now;
            self.report.withdrawn += 1;
            self.changes
                .extend(Change::between(now, Some(&old.session), &rec.session));
            self.writes.push((session_key(source, uid), to_json(&rec)));
        }
    }
}

/// A merge transaction's outcome as the store's error.
fn committed(result: Result<(), TransactionError<()>>) -> Result<(), StoreError> {
    match result {
        Ok(()) => Ok(()),
        Err(TransactionError::Storage(e)) => Err(StoreError::Sled(e)),
        Err(TransactionError::Abort(())) => {
            Err(StoreError::Corrupt("the merge transaction aborted".into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_refused_data_directory_is_one_sentence_saying_what_to_do() {
        // Root reads and writes any directory, so the refusal is built from
        // the error the file system gives an ordinary user.
        let dir = Path::new("/srv/events/data");
        let denied = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(
            Store::from_open_io(dir, &denied, "writing to").to_string(),
            "permission denied writing to the data directory /srv/events/data; give the user running events read and write access to it, or pass another --data directory"
        );
        let sled_denied = sled::Error::Io(std::io::Error::from_raw_os_error(libc::EACCES));
        let sled::Error::Io(io) = sled_denied else {
            unreachable!()
        };
        assert!(matches!(
            Store::from_open_io(dir, &io, "reading"),
            StoreError::PermissionDenied {
                doing: "reading",
                ..
            }
        ));
        let rofs = std::io::Error::from_raw_os_error(libc::EROFS);
        assert_eq!(
            Store::from_open_io(dir, &rofs, "writing to").to_string(),
            "the store's disk at /srv/events/data is read-only, so nothing was changed; remount it read-write, or pass --data with a directory on a writable disk"
        );
        let not_dir = std::io::Error::from_raw_os_error(libc::ENOTDIR);
        assert!(Store::from_open_io(dir, &not_dir, "reading")
            .to_string()
            .starts_with("the data path /srv/events/data is not a directory;"));
    }

    #[test]
    fn an_unreadable_data_directory_is_not_called_missing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o000))
            .unwrap();
        let e = Store::open_existing(&dir).err().map(|e| e.to_string());
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        // Root may read it anyway and find it empty; anyone else is refused.
        let e = e.expect("an empty or unreadable directory is no store");
        assert!(
            e.starts_with("permission denied reading the data directory")
                || e.starts_with("there is no store at"),
            "{e}"
        );
        // SAFETY: geteuid takes nothing and cannot fail.
        let is_root = unsafe { libc::geteuid() } == 0;
        assert_eq!(e.starts_with("permission denied"), !is_root, "{e}");
    }

    #[test]
    fn health_is_saved_for_what_people_act_on_and_daily_for_times() {
        let t = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let stored = SourceHealth {
            last_attempt: Some(t),
            last_success: Some(t),
            sessions_found: 10,
            requests: 5,
            ..SourceHealth::default()
        };
        let later = |h: chrono::TimeDelta| SourceHealth {
            last_attempt: Some(t + h),
            last_success: Some(t + h),
            requests: 7,
            not_modified: 7,
            ..stored.clone()
        };
        assert!(health_must_be_saved(None, &stored));
        assert!(!health_must_be_saved(
            Some(&stored),
            &later(chrono::TimeDelta::hours(23))
        ));
        assert!(health_must_be_saved(
            Some(&stored),
            &later(HEALTH_SAVE_EVERY)
        ));
        // A clock set back is written too (it would otherwise stay ahead).
        assert!(health_must_be_saved(
            Some(&stored),
            &later(chrono::TimeDelta::hours(-1))
        ));
        let failing = SourceHealth {
            last_attempt: Some(t + chrono::TimeDelta::minutes(5)),
            last_error: Some("down".into()),
            consecutive_failures: 1,
            ..stored.clone()
        };
        assert!(health_must_be_saved(Some(&stored), &failing));
        let found = SourceHealth {
            sessions_found: 11,
            ..later(chrono::TimeDelta::minutes(5))
        };
        assert!(health_must_be_saved(Some(&stored), &found));
    }
}
