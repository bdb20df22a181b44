//! What every view of the store looks like when answered: the calendar
//! feeds, the page, the JSON answers and the Atom changes feed, rendered from
//! one snapshot of the store per generation and kept, gzipped, in one byte
//! budget. `serve` answers HTTP requests from it and `events export` writes
//! the same bytes to files; neither uses the other.
//!
//! Owns `AppState` (the store, the sources, the clock, the site's settings
//! and the caches), the render cache and its keys, and where absolute links
//! point (`PublicOrigin`, as configured). Does not own HTTP: routes, headers,
//! conditional requests and limits are `server`'s; nor the wording of any
//! view (`feed`, `page`, `atom`, `present`).
//!
//! Caching: a feed body is rendered once per (filter, store generation, hour)
//! and kept in memory with its gzip form and its validators, so a calendar
//! client polling every few minutes costs a hash-map lookup. The hour is in the
//! key because the feed's window (`present::feed_window`) moves with the clock;
//! rendering uses the start of that hour as "now", so a body is a pure function
//! of its key.

use crate::answers::{self, ChangesQuery, SessionsQuery};
use crate::atom::{self, AtomOptions};
use crate::changes::{self, Change, ChangeKind};
use crate::config::SourceConfig;
use crate::duplicates;
use crate::feed;
use crate::feed_cache::{Class, FeedCache, Inserted, Weighed};
use crate::links::LinkPolicy;
use crate::metrics::{CachedView, Metrics};
use crate::model::{Course, StoredSession};
use crate::page::{self, Links, PageData};
use crate::present::change::ChangeJson;
use crate::present::duplicates::GroupJson;
use crate::present::{self, SessionJson};
use crate::query::{self, slug, Cursor, Filter, Part};
use crate::site::{PublicUrlError, Site};
use crate::source_status::{self, SourceStatus};
use crate::store::{Shown, Store, StoreError};
use bytes::Bytes;
use chrono::{DateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};
use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Bytes of rendered feeds kept in memory (gzipped) unless told otherwise
/// (`events serve --feed-cache`). Filters come from anyone, so the cache is
/// bounded in bytes; about ten full feeds of 10,000 sessions fit.
pub const DEFAULT_FEED_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Feeds rendered at once. Each render briefly holds its whole body; more at
/// once than there are cores only adds memory, not speed.
const CONCURRENT_RENDERS: usize = 2;

/// The current time; injectable so tests can freeze it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The real clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// A clock stopped at `t`, for tests and reproducible runs (`EVENTS_NOW`).
pub fn fixed_clock(t: DateTime<Utc>) -> Clock {
    Arc::new(move || t)
}

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Where every page, feed and API answer reads its sessions from.
    pub(crate) store: Store,
    /// The configured sources, for names and kinds; may be empty (then names
    /// come from the store). Shared, as every request clones the state.
    pub sources: Arc<[SourceConfig]>,
    /// "Now" for every answer: which sessions are upcoming, the feed's
    /// window, how long ago a source was crawled.
    pub(crate) clock: Clock,
    pub(crate) cache: Arc<Cache>,
    /// Which links may be shown, by source (see `links`).
    pub(crate) links: Arc<LinkPolicy>,
    /// Where absolute links to this server point.
    pub(crate) origin: PublicOrigin,
    /// What `/metrics` serves; shared with the crawls' observer.
    pub(crate) metrics: Arc<Metrics>,
    /// The secret `/backup` asks for (`remote::Serving`); `None` serves no
    /// backups.
    pub(crate) backup_token: Option<Arc<str>>,
    /// The deployment's title, description and contact (`events.toml`).
    pub(crate) site: Arc<Site>,
}

/// Where the absolute links the server writes point (the page's subscribe
/// box, the Atom feed's `self` and `alternate`). A request's `Host` header is
/// the client's word, and a page or feed built from it can be cached by a
/// shared cache for everyone, so it is never used on its own.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PublicOrigin {
    /// `serve --public-url`: always this origin (`https://host[:port]`, no
    /// trailing slash), whatever a request says.
    Configured(String),
    /// `serve --trust-proxy`: the origin a reverse proxy in front says the
    /// client used: the last element of `Forwarded` (RFC 7239, `proto` and
    /// `host`), else the last values of `X-Forwarded-Proto` and
    /// `X-Forwarded-Host`, the host falling back to `Host` (which the proxy
    /// passes on). Only for a server that no client can reach but through
    /// that proxy.
    TrustedProxy,
    /// Neither: links are relative to the server (`/calendar.ics`).
    #[default]
    Relative,
}

impl PublicOrigin {
    /// A `--public-url` as the origin links are built on: `https://host[:port]`.
    pub fn configured(url: &str) -> Result<PublicOrigin, PublicUrlError> {
        crate::site::origin(url).map(PublicOrigin::Configured)
    }
}

impl AppState {
    /// The state of a server over `store`, with the default feed cache
    /// (`DEFAULT_FEED_CACHE_BYTES`) and relative links (`PublicOrigin::Relative`).
    pub fn new(store: Store, sources: Vec<SourceConfig>, clock: Clock) -> Self {
        AppState {
            store,
            links: Arc::new(LinkPolicy::new(&sources)),
            origin: PublicOrigin::Relative,
            metrics: Arc::new(Metrics::new(sources.iter().map(|s| s.id.as_str()))),
            sources: sources.into(),
            clock,
            backup_token: None,
            site: Arc::new(Site::default()),
            cache: Arc::new(Cache::new(
                DEFAULT_FEED_CACHE_BYTES,
                feed::DEFAULT_EVENT_BLOCK_BYTES,
            )),
        }
    }

    /// The same state with a feed cache of `bytes` (see `DEFAULT_FEED_CACHE_BYTES`).
    #[must_use]
    pub fn with_feed_cache_bytes(self, bytes: usize) -> Self {
        let blocks = self.cache.events.budget();
        AppState {
            cache: Arc::new(Cache::new(bytes, blocks)),
            ..self
        }
    }

    /// The same state keeping at most `bytes` of rendered events (see
    /// `feed::DEFAULT_EVENT_BLOCK_BYTES`).
    #[must_use]
    pub fn with_event_block_bytes(self, bytes: usize) -> Self {
        let feeds = self.feed_cache_budget();
        AppState {
            cache: Arc::new(Cache::new(feeds, bytes)),
            ..self
        }
    }

    /// The same state building absolute links as `origin` says.
    #[must_use]
    pub fn with_public_origin(self, origin: PublicOrigin) -> Self {
        AppState { origin, ..self }
    }

    /// The same state counting into `metrics` (shared with the crawls'
    /// observer, see `Metrics::observer`).
    #[must_use]
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        AppState { metrics, ..self }
    }

    /// The same state serving backups at `/backup` to whoever sends `token`
    /// as a bearer token.
    #[must_use]
    pub fn with_backup_token(self, token: &str) -> Self {
        AppState {
            backup_token: Some(token.into()),
            ..self
        }
    }

    /// The same state named and described as `site` says (its
    /// `public_url` is taken up by `with_public_origin`'s caller).
    #[must_use]
    pub fn with_site(self, site: Site) -> Self {
        AppState {
            site: Arc::new(site),
            ..self
        }
    }

    /// What `events.toml` says of this deployment.
    pub fn site(&self) -> &Site {
        &self.site
    }

    /// How many feed bodies have been rendered since start (cache misses).
    pub fn feed_renders(&self) -> u64 {
        self.cache.renders.load(Ordering::Relaxed)
    }

    /// Bytes the feed cache holds now, as its budget counts them.
    pub fn feed_cache_bytes(&self) -> usize {
        lock(&self.cache.feeds).bytes()
    }

    /// The feed cache's budget in bytes.
    pub fn feed_cache_budget(&self) -> usize {
        lock(&self.cache.feeds).budget()
    }
}

pub(crate) struct Cache {
    /// The store as of its generation, read once and shared by every request.
    pub(crate) snapshot: Mutex<Option<Arc<Snapshot>>>,
    /// Every rendered view (feeds, page parts, API parts), in one budget.
    pub(crate) feeds: Mutex<FeedCache<ViewKey, Arc<RenderedFeed>>>,
    /// Each session's rendered VEVENT, for feeds not in `feeds`.
    pub(crate) events: feed::EventBlocks,
    pub(crate) renders: AtomicU64,
    /// Renders under way, at most `CONCURRENT_RENDERS`.
    pub(crate) rendering: tokio::sync::Semaphore,
    /// Set once a feed too large for the cache has been reported, so the log
    /// says it once, not on every request.
    pub(crate) too_large_reported: AtomicBool,
    /// `/healthz`'s body with the store generation and health version it
    /// was written at: answered again, without reading the store, until
    /// either moves.
    pub(crate) healthz: Mutex<Option<(u64, u64, Bytes)>>,
}

impl Cache {
    fn new(feed_bytes: usize, block_bytes: usize) -> Self {
        Cache {
            snapshot: Mutex::new(None),
            feeds: Mutex::new(FeedCache::new(feed_bytes)),
            events: feed::EventBlocks::new(block_bytes),
            renders: AtomicU64::new(0),
            rendering: tokio::sync::Semaphore::new(CONCURRENT_RENDERS),
            too_large_reported: AtomicBool::new(false),
            healthz: Mutex::new(None),
        }
    }
}

/// What a rendered view is a pure function of.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ViewKey {
    /// The view's filter, its categories as the store spells them.
    filter: Filter,
    generation: u64,
    view: View,
}

/// Which view of a filter, and what else it depends on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum View {
    /// A calendar feed, whose window moves with the hour.
    Feed { hour: i64 },
    /// A part of the page: its links' origin, the sources' health it shows,
    /// and the minute its relative times ("5 minutes ago") are true at.
    Page {
        part: Part,
        origin: Option<String>,
        health: u64,
        minute: i64,
    },
    /// A part of `/api/sessions`, true for the minute (sessions that end
    /// leave it).
    Sessions {
        part: Part,
        withdrawn: bool,
        minute: i64,
    },
}

impl View {
    /// The view its hits and misses are counted under in the metrics.
    fn counted_as(&self) -> CachedView {
        match self {
            View::Feed { .. } => CachedView::Feed,
            View::Page { .. } => CachedView::Page,
            View::Sessions { .. } => CachedView::Sessions,
        }
    }

    /// Still asked for at this hour, minute and health: entries that are not
    /// can go.
    fn current(&self, hour: i64, minute: i64, health_now: u64) -> bool {
        match self {
            View::Feed { hour: h } => *h == hour,
            View::Page {
                minute: m, health, ..
            } => *m == minute && *health == health_now,
            View::Sessions { minute: m, .. } => *m == minute,
        }
    }
}

/// The store as of one generation: its sessions read once (links that may
/// not be shown already dropped), in the order every view lists them, with
/// what answers would otherwise scan every session for on every request.
pub(crate) struct Snapshot {
    /// The store's generation it was read at.
    pub(crate) generation: u64,
    /// The merged calendar: one entry per session, the same session listed
    /// by several sources once (see `duplicates`), by start and then UID
    /// (`present::listing_order`). A single source's view is
    /// [`Snapshot::listing`]'s.
    pub(crate) sessions: Arc<Vec<StoredSession>>,
    /// Sessions stored (every listing, before merging).
    pub(crate) stored: usize,
    /// The groups of listings merged into one entry each, and whose changes
    /// the merged view shows (its `entries` are `sessions`).
    pub(crate) merging: duplicates::Merged,
    /// Each category's slug, and its first spelling in the store.
    categories: std::collections::HashMap<String, String>,
    /// The newest change to any session.
    pub(crate) last_changed: Option<DateTime<Utc>>,
}

impl Snapshot {
    fn read(
        generation: u64,
        store: &Store,
        links: &LinkPolicy,
        roles: &duplicates::Roles,
    ) -> Result<Snapshot, StoreError> {
        let sessions = links.scrub_stored(store.sessions()?);
        let stored = sessions.len();
        // Each distinct name slugged once, the first spelling of a slug kept.
        let mut names = std::collections::HashSet::new();
        let mut categories = std::collections::HashMap::new();
        for name in sessions
            .iter()
            .filter_map(|s| s.session.category.as_deref())
        {
            if names.insert(name) {
                categories
                    .entry(slug(name))
                    .or_insert_with(|| name.to_string());
            }
        }
        let last_changed = sessions.iter().map(|s| s.last_changed).max();
        let mut merging = duplicates::merge(sessions, roles);
        let mut sessions = std::mem::take(&mut merging.entries);
        keep_sequences_rising(store, &merging, &mut sessions);
        sessions.sort_by(present::listing_order);
        Ok(Snapshot {
            generation,
            sessions: Arc::new(sessions),
            stored,
            merging,
            categories,
            last_changed,
        })
    }

    /// The sessions a view lists from: the merged calendar, or for a view
    /// of one source (`?source=`, `/calendar/<id>.ics`) that source's own
    /// listings, unmerged, under their own UIDs.
    pub(crate) fn listing(&self, filter: &Filter) -> std::borrow::Cow<'_, [StoredSession]> {
        let Some(source) = filter.source.as_deref() else {
            return std::borrow::Cow::Borrowed(&self.sessions);
        };
        if self.merging.groups.is_empty() {
            return std::borrow::Cow::Borrowed(&self.sessions);
        }
        let mut own: Vec<StoredSession> = self
            .sessions
            .iter()
            .filter(|s| s.session.source == source && !self.merging.groups.contains_key(&s.uid))
            .chain(self.merging.members_of_source(source))
            .cloned()
            .collect();
        own.sort_by(present::listing_order);
        std::borrow::Cow::Owned(own)
    }

    /// The other listings of `s` in the view `filter` (none in a single
    /// source's view, which is unmerged).
    pub(crate) fn also_listed(
        &self,
        filter: &Filter,
        s: &StoredSession,
    ) -> Vec<duplicates::Listing> {
        if filter.source.is_some() {
            return Vec::new();
        }
        self.merging.also_listed(&s.uid)
    }

    /// The JSON of `s` in the view `filter`, with its other listings.
    pub(crate) fn session_json(
        &self,
        filter: &Filter,
        s: &StoredSession,
        links: &LinkPolicy,
    ) -> SessionJson {
        let merged = filter.source.is_none() && self.merging.groups.contains_key(&s.uid);
        // A merged entry's link is its booking listing's, on another site
        // than its representative's: both were admitted as they were read.
        let mut j = if merged {
            SessionJson::from_stored(s)
        } else {
            SessionJson::linked(s, links)
        };
        let also_listed = self.also_listed(filter, s);
        j.also_listed = also_listed;
        j
    }

    /// `c` as the view `filter` shows it: in the merged view, a change to a
    /// listing merged with others is shown only when it changes what the
    /// entry shows, under the entry's UID (see
    /// `duplicates::Merged::change_shown_as`), so a group's change is
    /// shown once.
    pub(crate) fn shown_change(&self, filter: &Filter, mut c: Change) -> Option<Change> {
        if filter.source.is_none() {
            c.uid = self.merging.change_shown_as(&c.uid, c.kind)?;
        }
        Some(c)
    }

    /// `f` with each category as the store spells it (a request may say
    /// `child-neglect` or `CHILD NEGLECT`): a lookup per category, so a
    /// cache hit does no work that grows with the store.
    pub(crate) fn canonical(&self, mut f: Filter) -> Filter {
        for c in &mut f.categories {
            if let Some(name) = self.categories.get(&slug(c)) {
                c.clone_from(name);
            }
        }
        f
    }
}

/// Holds the SEQUENCE of every merged entry, and of every entry that was one,
/// to at least what it was last shown with, and one above when what it shows
/// changed: worked out from its listings alone it can fall when its group
/// splits (the first-seen listing moving away keeps the UID, with only its
/// own sequence), and Google Calendar then keeps the old time. What was
/// shown is kept in the store (`Store::shown_entries`). A store that cannot
/// be read or written here leaves the sequences as worked out, with a
/// warning: the calendar is still served.
fn keep_sequences_rising(
    store: &Store,
    merging: &duplicates::Merged,
    entries: &mut [StoredSession],
) {
    let shown = match store.shown_entries() {
        Ok(shown) => shown,
        Err(e) => {
            tracing::warn!("merged entries' sequences could not be read: {e}");
            return;
        }
    };
    let mut changed = Vec::new();
    for e in entries.iter_mut() {
        let before = shown.get(&e.uid);
        if before.is_none() && !merging.groups.contains_key(&e.uid) {
            continue;
        }
        let fingerprint = fingerprint(&e.session);
        e.sequence = match before {
            None => e.sequence,
            Some(b) if b.fingerprint == fingerprint => e.sequence.max(b.sequence),
            Some(b) => e.sequence.max(b.sequence.saturating_add(1)),
        };
        let now = Shown {
            sequence: e.sequence,
            fingerprint,
        };
        if before != Some(&now) {
            changed.push((e.uid.clone(), now));
        }
    }
    if !changed.is_empty() {
        if let Err(e) = store.set_shown(&changed) {
            tracing::warn!("merged entries' sequences could not be kept: {e}");
        }
    }
}

/// A hash of what a calendar shows of `s` (every field), the same in every
/// run: XXH3 has no random seed, and it is kept in the store. A new
/// toolchain may hash a field differently; that only raises each merged
/// entry's SEQUENCE by one, once.
fn fingerprint(s: &crate::model::Session) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    s.hash(&mut h);
    h.finish()
}

/// A rendered feed as the cache keeps it: gzip only. Calendar clients ask for
/// gzip, and a full national feed is several times smaller so; the rare client
/// that does not is sent the body decompressed as it goes out, a chunk at a
/// time, so it costs CPU but never a second copy of the feed in memory.
pub(crate) struct RenderedFeed {
    /// The body, gzipped.
    pub(crate) gzip: Bytes,
    /// Length of the body before compression.
    pub(crate) plain_len: usize,
    /// Hex digest of the body before compression, unquoted.
    pub(crate) hash: String,
    /// What `Last-Modified` says.
    pub(crate) last_modified: Option<DateTime<Utc>>,
    /// For a part of a view: where the next part starts (`None` for the
    /// last part, and for a whole view).
    pub(crate) next: Option<Cursor>,
    /// For a part of a view: sessions in the whole view.
    pub(crate) total: Option<usize>,
}

impl Weighed for Arc<RenderedFeed> {
    fn bytes(&self) -> usize {
        self.gzip.len() + self.hash.len()
    }
}

/// The feeds people subscribe to, kept hot in the cache: the whole calendar,
/// one source, one category (or one category of one source).
fn cache_class(f: &Filter) -> Class {
    let plain = f.search.is_none() && !f.available && f.online.is_none() && f.days.is_none();
    if plain && f.categories.len() <= 1 {
        Class::Subscribed
    } else {
        Class::Other
    }
}

/// The start of the hour `now` is in: the "now" a feed is rendered as of.
fn hour_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let hour = now.timestamp().div_euclid(3600);
    Utc.timestamp_opt(hour * 3600, 0).single().unwrap_or(now)
}

/// A poisoned lock only means another request panicked mid-update of a cache;
/// the data is still a valid cache, so carry on rather than fail every request.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl AppState {
    /// The store as of the current generation, read from sled only when it
    /// moved.
    pub(crate) fn view_snapshot(&self) -> Result<Arc<Snapshot>, StoreError> {
        // Generation first: if a crawl lands between the two reads, newer data is
        // filed under the older generation and re-read on the next request, never
        // the other way round (old data kept under a new generation for good).
        let generation = self.store.generation();
        if let Some(snap) = lock(&self.cache.snapshot).as_ref() {
            if snap.generation == generation {
                return Ok(snap.clone());
            }
        }
        // Links that may not be shown are dropped once per generation, so
        // every answer (feed, page, JSON) is without them.
        let snap = Arc::new(Snapshot::read(
            generation,
            &self.store,
            &self.links,
            &self.roles(),
        )?);
        *lock(&self.cache.snapshot) = Some(snap.clone());
        Ok(snap)
    }

    /// What merging needs to know of each configured source.
    fn roles(&self) -> duplicates::Roles {
        duplicates::Roles::new(self.sources.iter().map(|s| {
            let role = duplicates::Role {
                name: s.name.clone(),
                books: s.kind.is_booking_system(),
                merge: s.merge,
            };
            (s.id.clone(), role)
        }))
    }

    /// Every source worth listing (see `source_status::source_statuses`):
    /// the configured ones and those the store holds sessions of, found by
    /// one seek a source, with no snapshot and no read of the sessions.
    pub(crate) fn source_statuses(&self) -> Result<Vec<SourceStatus>, StoreError> {
        let stored = self.store.session_source_ids()?;
        source_status::statuses_of(
            &self.sources,
            &self.store,
            stored.iter().map(String::as_str),
        )
    }

    /// The rendered feed of a view, from the cache when it can be.
    pub(crate) fn feed(&self, filter: Filter) -> Result<Arc<RenderedFeed>, StoreError> {
        let now = (self.clock)();
        let snap = self.view_snapshot()?;
        let key = feed_key(&snap, filter, now);
        let class = cache_class(&key.filter);
        self.cached(key, class, now, |key, level| {
            // Rendered at the start of the hour, so a body is a pure function
            // of its key.
            let at = hour_start(now);
            let listing = snap.listing(&key.filter);
            let list = present::feed_window(&listing, &key.filter, at);
            let opts = present::feed_options(&self.sources, &self.site, &key.filter);
            // Gzipped and hashed as it is written: the body is never held
            // whole beside its gzip.
            let mut body = Streamed::new(level);
            feed::render_with_blocks_into(
                &list,
                &opts,
                &self.cache.events,
                snap.generation,
                &mut |piece| body.take(piece),
            );
            drop(list);
            // Newest change anywhere in the store, not only in this view: a
            // session that left the view (e.g. became full under
            // `available=1`) changed it too, and an If-Modified-Since client
            // must not get a 304 for that.
            let last_modified = self.or_last_success(snap.last_changed)?;
            self.metrics.feed_rendered();
            Ok(body.finish(last_modified))
        })
    }

    /// A view from the cache, else rendered by `render` and kept (in
    /// `class`), with the cache's hit and miss counted.
    fn cached(
        &self,
        key: ViewKey,
        class: Class,
        now: DateTime<Utc>,
        render: impl FnOnce(&ViewKey, flate2::Compression) -> Result<Rendered, StoreError>,
    ) -> Result<Arc<RenderedFeed>, StoreError> {
        if let Some(hit) = self.hit(&key) {
            return Ok(hit);
        }
        self.metrics.view_cache_miss(key.view.counted_as());
        // A subscribed view is served many times: worth smaller bytes. An
        // odd filter is usually asked for once: worth a quick answer.
        let level = match class {
            Class::Subscribed => flate2::Compression::default(),
            Class::Other => flate2::Compression::fast(),
        };
        // Rendered outside the lock: two identical misses at once both render
        // (same bytes), which is cheaper than making every request wait.
        let rendered = Arc::new(render(&key, level)?);
        self.cache.renders.fetch_add(1, Ordering::Relaxed);
        let (hour, minute) = (now.timestamp().div_euclid(3600), minute_of(now));
        let health = self.store.health_version();
        let generation = key.generation;
        let mut feeds = lock(&self.cache.feeds);
        // Past generations, hours and minutes are never asked for again.
        feeds.retain(|k| k.generation == generation && k.view.current(hour, minute, health));
        if feeds.insert(key, rendered.clone(), class) == Inserted::TooLarge
            && !self.cache.too_large_reported.swap(true, Ordering::Relaxed)
        {
            tracing::error!(
                bytes = rendered.bytes(),
                budget = feeds.budget(),
                "a view is larger than the whole view cache, so it is rendered again for every request; raise --feed-cache"
            );
        }
        Ok(rendered)
    }

    /// The snapshot kept, when it is of the store's current generation: what
    /// a cache hit is looked up with, without reading the store.
    fn fresh_snapshot(&self) -> Option<Arc<Snapshot>> {
        let generation = self.store.generation();
        let kept = lock(&self.cache.snapshot).clone()?;
        (kept.generation == generation).then_some(kept)
    }

    /// A view's cached body (a hit counted); `None` on a miss.
    fn hit(&self, key: &ViewKey) -> Option<Arc<RenderedFeed>> {
        let hit = lock(&self.cache.feeds).get(key)?;
        self.metrics.view_cache_hit(key.view.counted_as());
        Some(hit)
    }

    /// The feed for `filter` if it is cached for the store as it is: no
    /// render and no work that grows with the store, so an async worker may
    /// answer it. `None`: render it (`feed`).
    pub(crate) fn feed_hit(&self, filter: &Filter) -> Option<Arc<RenderedFeed>> {
        let snap = self.fresh_snapshot()?;
        self.hit(&feed_key(&snap, filter.clone(), (self.clock)()))
    }

    /// The part of the page for `filter` if it is cached (see `feed_hit`).
    pub(crate) fn page_hit(
        &self,
        filter: &Filter,
        part: &Part,
        origin: &Option<String>,
    ) -> Option<Arc<RenderedFeed>> {
        let snap = self.fresh_snapshot()?;
        let key = self.page_key(
            &snap,
            filter.clone(),
            part.clone(),
            origin.clone(),
            (self.clock)(),
        );
        self.hit(&key)
    }

    /// The part of `/api/sessions` for `q` if it is cached (see `feed_hit`).
    pub(crate) fn sessions_hit(&self, q: &SessionsQuery, part: &Part) -> Option<Arc<RenderedFeed>> {
        let snap = self.fresh_snapshot()?;
        self.hit(&sessions_key(&snap, q, part.clone(), (self.clock)()))
    }

    /// The key of a part of the page.
    fn page_key(
        &self,
        snap: &Snapshot,
        filter: Filter,
        part: Part,
        origin: Option<String>,
        now: DateTime<Utc>,
    ) -> ViewKey {
        ViewKey {
            filter: snap.canonical(filter),
            generation: snap.generation,
            view: View::Page {
                part,
                origin,
                health: self.store.health_version(),
                minute: minute_of(now),
            },
        }
    }

    /// One part of the page for `filter`, from the cache when it can be;
    /// its links from `origin` (`None`: from the root).
    pub(crate) fn page(
        &self,
        filter: Filter,
        part: Part,
        origin: Option<String>,
    ) -> Result<Arc<RenderedFeed>, StoreError> {
        let now = (self.clock)();
        let snap = self.view_snapshot()?;
        let minute = minute_of(now);
        let key = self.page_key(&snap, filter, part, origin, now);
        let class = page_class(&key);
        self.cached(key, class, now, |key, level| {
            let View::Page { part, origin, .. } = &key.view else {
                unreachable!("a page's key holds a page")
            };
            let links = match origin {
                Some(o) => Links::Absolute(o),
                None => Links::Root,
            };
            let at = minute_start(minute, now);
            let next = |c: &Cursor| {
                let q = key.filter.to_query();
                let p = part.next_params(c, query::part::PAGE_PART);
                if q.is_empty() {
                    format!("/?{p}")
                } else {
                    format!("/?{q}&{p}")
                }
            };
            let part_links = PartLinks {
                first: key.filter.to_url("/"),
                next: &next,
            };
            let (html, next) =
                self.page_part_html(&snap, &key.filter, part, links, at, &part_links)?;
            let last_modified = self.or_last_success(snap.last_changed)?;
            let body = Streamed::whole(html.as_bytes(), level);
            Ok(body.finish(last_modified).part(next, None))
        })
    }

    /// One part of `/api/sessions` for `q`, from the cache when it can be.
    pub(crate) fn sessions_part(
        &self,
        q: &SessionsQuery,
        part: Part,
    ) -> Result<Arc<RenderedFeed>, StoreError> {
        let now = (self.clock)();
        let snap = self.view_snapshot()?;
        let minute = minute_of(now);
        let key = sessions_key(&snap, q, part, now);
        let class = page_class(&key);
        self.cached(key, class, now, |key, level| {
            let View::Sessions {
                part, withdrawn, ..
            } = &key.view
            else {
                unreachable!("an API part's key holds one")
            };
            let at = minute_start(minute, now);
            let listing = snap.listing(&key.filter);
            let got = present::part_of(&listing, &key.filter, at, *withdrawn, part);
            let v: Vec<SessionJson> = got
                .sessions
                .iter()
                .map(|s| snap.session_json(&key.filter, s, &self.links))
                .collect();
            let plain =
                serde_json::to_vec_pretty(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let last_modified = self.or_last_success(snap.last_changed)?;
            let body = Streamed::whole(&plain, level);
            Ok(body.finish(last_modified).part(got.next, Some(got.total)))
        })
    }

    /// The Atom feed of a view's changes, newest first, at most
    /// `atom::MAX_ENTRIES`. Its `updated` and `Last-Modified` come from the
    /// store (the newest change, else the last successful crawl), never from
    /// the clock, so an unchanged store answers with the same bytes and ETag.
    pub(crate) fn changes_feed(
        &self,
        filter: &Filter,
        kinds: &[ChangeKind],
        base_url: &str,
    ) -> Result<RenderedFeed, StoreError> {
        let now = (self.clock)();
        let mut list: Vec<Change> = Vec::new();
        let m = filter.matcher();
        let snap = self.view_snapshot()?;
        for c in self.store.changes_since(now - changes::KEEP_CHANGES) {
            let Some(c) = snap.shown_change(filter, c?) else {
                continue;
            };
            if (kinds.is_empty() || kinds.contains(&c.kind)) && c.matches_with(&m, now) {
                list.push(self.links.scrub_change(c));
                if list.len() >= atom::MAX_ENTRIES {
                    break;
                }
            }
        }
        let last_modified = self.or_last_success(self.store.last_change_at()?)?;
        let updated = list
            .first()
            .map(|c| c.at)
            .or(last_modified)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        let heading = self
            .site
            .title
            .as_deref()
            .unwrap_or("Safeguarding training");
        let title = match filter.describe() {
            Some(d) => format!("{heading}: what changed — {d}"),
            None => format!("{heading}: what changed"),
        };
        let feed_query = answers::changes_query(filter, kinds);
        let page_query = filter.to_query();
        let body = atom::render(
            &list,
            &AtomOptions {
                title,
                base_url,
                feed_query: &feed_query,
                page_query: &page_query,
                updated,
            },
        );
        Ok(RenderedFeed {
            next: None,
            total: None,
            hash: hex(&Sha256::digest(body.as_bytes())[..16]),
            gzip: Bytes::from(gzip(body.as_bytes(), flate2::Compression::default())),
            plain_len: body.len(),
            last_modified,
        })
    }

    /// `t`, or, for a store with nothing in it yet, the newest successful
    /// crawl: what a feed's `Last-Modified` says.
    fn or_last_success(
        &self,
        t: Option<DateTime<Utc>>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        match t {
            Some(t) => Ok(Some(t)),
            None => Ok(self
                .store
                .all_health()?
                .values()
                .filter_map(|h| h.last_success)
                .max()),
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `b` gzipped at `level` (never `best`: several times slower on a large feed
/// for a few percent fewer bytes).
fn gzip(b: &[u8], level: flate2::Compression) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(b.len() / 6), level);
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(b);
    enc.finish().unwrap_or_default()
}

/// A view's body on its way into the cache: gzipped and hashed a piece at
/// a time as it is written, so only its gzip is ever held whole.
struct Streamed {
    gz: flate2::write::GzEncoder<Vec<u8>>,
    hash: feed::BodyHasher,
    plain_len: usize,
}

impl Streamed {
    fn new(level: flate2::Compression) -> Streamed {
        Streamed {
            gz: flate2::write::GzEncoder::new(Vec::new(), level),
            hash: feed::BodyHasher::default(),
            plain_len: 0,
        }
    }

    /// A body already written whole (a page part, an API part: small).
    fn whole(plain: &[u8], level: flate2::Compression) -> Streamed {
        let mut s = Streamed::new(level);
        s.take(plain);
        s
    }

    /// The next piece of the body.
    fn take(&mut self, piece: &[u8]) {
        self.hash.update(piece);
        self.plain_len += piece.len();
        // Writing to a Vec cannot fail.
        let _ = self.gz.write_all(piece);
    }

    /// The view as the cache keeps it, whole (no parts).
    fn finish(self, last_modified: Option<DateTime<Utc>>) -> RenderedFeed {
        RenderedFeed {
            hash: self.hash.finish(),
            plain_len: self.plain_len,
            gzip: Bytes::from(self.gz.finish().unwrap_or_default()),
            last_modified,
            next: None,
            total: None,
        }
    }
}

impl RenderedFeed {
    /// The same as a part of its view: where the next starts, the view's size.
    fn part(self, next: Option<Cursor>, total: Option<usize>) -> RenderedFeed {
        RenderedFeed {
            next,
            total,
            ..self
        }
    }
}

/// A view's body as `cached` is given it (see `Streamed`).
type Rendered = RenderedFeed;

/// Where a part of the page links to: the first part, and the part after
/// a cursor.
struct PartLinks<'a> {
    first: String,
    next: &'a dyn Fn(&Cursor) -> String,
}

/// The key of a feed: true for the hour (its window moves with it).
fn feed_key(snap: &Snapshot, filter: Filter, now: DateTime<Utc>) -> ViewKey {
    ViewKey {
        filter: snap.canonical(filter),
        generation: snap.generation,
        view: View::Feed {
            hour: now.timestamp().div_euclid(3600),
        },
    }
}

/// The key of a part of `/api/sessions`.
fn sessions_key(snap: &Snapshot, q: &SessionsQuery, part: Part, now: DateTime<Utc>) -> ViewKey {
    ViewKey {
        filter: snap.canonical(q.filter.clone()),
        generation: snap.generation,
        view: View::Sessions {
            part,
            withdrawn: q.withdrawn,
            minute: minute_of(now),
        },
    }
}

/// The minute `t` falls in, as minutes since the epoch.
fn minute_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(60)
}

/// The start of `minute`, else `now`.
fn minute_start(minute: i64, now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_opt(minute * 60, 0).single().unwrap_or(now)
}

/// The first part of a view people use (everything, one source, one
/// category) stays hot; later parts and odd filters give way first.
fn page_class(key: &ViewKey) -> Class {
    let first = match &key.view {
        View::Page { part, .. } | View::Sessions { part, .. } => part.after.is_none(),
        View::Feed { .. } => true,
    };
    if first {
        cache_class(&key.filter)
    } else {
        Class::Other
    }
}

/// Every category among upcoming sessions, one spelling per slug (the
/// first, soonest first), sorted by name: the page's chips.
fn upcoming_categories(sorted: &[StoredSession], now: DateTime<Utc>) -> Vec<String> {
    let mut categories: Vec<String> = Vec::new();
    let mut slugs = std::collections::HashSet::new();
    let upcoming = sorted
        .iter()
        .filter(|s| s.session.end > now && s.session.status != crate::model::Status::Withdrawn);
    for c in upcoming.filter_map(|s| s.session.category.as_deref()) {
        if slugs.insert(slug(c)) {
            categories.push(c.to_string());
        }
    }
    categories.sort_by_key(|c| c.to_lowercase());
    categories
}

/// What the routes serve, for `events export` to write the same bytes to files.
impl AppState {
    /// The body `/calendar.ics` serves for `filter` (the per-source and
    /// per-category paths are the same with `source` or `categories` set).
    ///
    /// Rendered plain and not kept: `export` asks for each feed once, so
    /// gzipping it for the cache and back would only cost time. The same
    /// bytes as the served feed: both render as of the start of the hour.
    pub fn feed_body(&self, filter: Filter) -> Result<Bytes, StoreError> {
        let mut body = Vec::new();
        // Writing into memory cannot fail.
        let _ = self.write_feed(filter, &mut body)?;
        Ok(Bytes::from(body))
    }

    /// The same feed as [`AppState::feed_body`], written to `out` a piece at
    /// a time as it is rendered (`events ics`), so a national calendar is
    /// never held whole; the inner error is `out`'s. The event blocks it
    /// renders are kept (within their budget) for the next feed of the same
    /// sessions: an export writes several.
    pub fn write_feed(
        &self,
        filter: Filter,
        out: &mut dyn std::io::Write,
    ) -> Result<std::io::Result<()>, StoreError> {
        let now = (self.clock)();
        let snap = self.view_snapshot()?;
        let key = feed_key(&snap, filter, now);
        let listing = snap.listing(&key.filter);
        let list = present::feed_window(&listing, &key.filter, hour_start(now));
        let opts = present::feed_options(&self.sources, &self.site, &key.filter);
        let mut written = Ok(());
        let blocks = &self.cache.events;
        feed::render_with_blocks_into(&list, &opts, blocks, snap.generation, &mut |piece| {
            if written.is_ok() {
                written = out.write_all(piece);
            }
        });
        Ok(written.and_then(|()| out.flush()))
    }

    /// The body `/changes.atom` serves (every kind, no filter), its links
    /// under `base_url` (empty for links relative to the host's root).
    pub fn changes_body(&self, base_url: &str) -> Result<Bytes, StoreError> {
        let r = self.changes_feed(&Filter::default(), &[], base_url)?;
        let mut plain = Vec::with_capacity(r.plain_len);
        flate2::read::GzDecoder::new(&r.gzip[..])
            .read_to_end(&mut plain)
            .map_err(|e| StoreError::Corrupt(format!("a changes feed does not decompress: {e}")))?;
        Ok(Bytes::from(plain))
    }

    /// The static copy's page (`events export`), in parts of
    /// `query::part::PAGE_PART` sessions: `index.html`, then `page-2.html`
    /// and on, each linking to the next. Returns (file name, HTML) pairs.
    pub fn static_pages(
        &self,
        public_url: Option<&str>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let now = (self.clock)();
        let snap = self.view_snapshot()?;
        let file = |n: usize| {
            if n == 1 {
                "index.html".to_string()
            } else {
                format!("page-{n}.html")
            }
        };
        let mut out = Vec::new();
        let mut part = Part::first(query::part::PAGE_PART);
        loop {
            let n = out.len() + 1;
            let links = PartLinks {
                first: "index.html".into(),
                next: &|_: &Cursor| file(n + 1),
            };
            let (html, next) = self.page_part_html(
                &snap,
                &Filter::default(),
                &part,
                Links::Static(public_url),
                now,
                &links,
            )?;
            out.push((file(n), html));
            match next {
                Some(c) => part.after = Some(c),
                None => return Ok(out),
            }
        }
    }

    /// One part of the page: the part's sessions with the view's totals, the
    /// categories of every upcoming session for the chips, the view's recent
    /// changes and the sources' health; and where the next part starts.
    fn page_part_html(
        &self,
        snap: &Snapshot,
        filter: &Filter,
        part: &Part,
        links: Links<'_>,
        now: DateTime<Utc>,
        part_links: &PartLinks<'_>,
    ) -> Result<(String, Option<Cursor>), StoreError> {
        let categories = upcoming_categories(&snap.sessions, now);
        let listing = snap.listing(filter);
        let got = present::part_of(&listing, filter, now, false, part);
        let sources = self.source_statuses()?;
        let recent = self.recent_changes(filter, now)?;
        let html = page::render(&PageData {
            sessions: &got.sessions,
            part: page::PartInfo {
                total: got.total,
                before: got.before,
                with_places: got.with_places,
                first_href: part.after.is_some().then(|| part_links.first.clone()),
                next_href: got.next.as_ref().map(|c| (part_links.next)(c)),
            },
            categories: &categories,
            sources: &sources,
            changes: &recent,
            filter,
            links,
            now,
            site: &self.site,
            also_listed: &|s| snap.also_listed(filter, s),
        });
        Ok((html, got.next))
    }

    /// The view's changes of the last `page::PAGE_CHANGES_DAYS`, newest
    /// first, at most `page::MAX_PAGE_CHANGES`.
    fn recent_changes(
        &self,
        filter: &Filter,
        now: DateTime<Utc>,
    ) -> Result<Vec<Change>, StoreError> {
        let since = now - chrono::TimeDelta::days(page::PAGE_CHANGES_DAYS);
        let mut recent: Vec<Change> = Vec::new();
        let m = filter.matcher();
        let snap = self.view_snapshot()?;
        for c in self.store.changes_since(since) {
            let Some(c) = snap.shown_change(filter, c?) else {
                continue;
            };
            if c.matches_with(&m, now) {
                recent.push(self.links.scrub_change(c));
                if recent.len() >= page::MAX_PAGE_CHANGES {
                    break;
                }
            }
        }
        Ok(recent)
    }

    /// The body `/api/sessions` serves for `filter`, whole.
    pub fn sessions_json(&self, filter: Filter) -> Result<Vec<u8>, StoreError> {
        let q = SessionsQuery {
            filter,
            withdrawn: false,
        };
        let v = self.sessions_answer(&q)?;
        serde_json::to_vec_pretty(&v).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// The sessions `/api/sessions` lists for `q` (see `answers::sessions`).
    pub fn sessions_answer(&self, q: &SessionsQuery) -> Result<Vec<SessionJson>, StoreError> {
        let snap = self.view_snapshot()?;
        let q = SessionsQuery {
            filter: snap.canonical(q.filter.clone()),
            withdrawn: q.withdrawn,
        };
        let listing = snap.listing(&q.filter);
        Ok(answers::sessions(&listing, &q, (self.clock)(), |s| {
            snap.session_json(&q.filter, s, &self.links)
        }))
    }

    /// The changes `/api/changes` lists for `q` (see `answers::changes`).
    pub fn changes_answer(&self, q: &ChangesQuery) -> Result<Vec<ChangeJson>, StoreError> {
        let snap = self.view_snapshot()?;
        let q = ChangesQuery {
            filter: snap.canonical(q.filter.clone()),
            ..q.clone()
        };
        answers::changes(&self.store, &self.links, &q, (self.clock)(), |c| {
            snap.shown_change(&q.filter, c)
        })
    }

    /// The groups of listings merged into one entry each, by entry UID, as
    /// `/api/duplicates` lists them: upcoming ones only, as the calendar
    /// shows them.
    pub fn duplicates_answer(&self) -> Result<Vec<GroupJson>, StoreError> {
        let now = (self.clock)();
        let snap = self.view_snapshot()?;
        let mut groups: Vec<&duplicates::Group> = snap
            .merging
            .groups
            .values()
            .filter(|g| g.members[0].session.end > now)
            .collect();
        groups.sort_by(|a, b| present::listing_order(&a.members[0], &b.members[0]));
        Ok(groups
            .into_iter()
            .map(|g| GroupJson::of(g, &self.links))
            .collect())
    }

    /// The courses `/api/courses` lists.
    pub fn courses_answer(&self) -> Result<Vec<Course>, StoreError> {
        answers::courses(&self.store, &self.links)
    }

    /// Every source and its health, as `/api/sources` lists them.
    pub fn sources_answer(&self) -> Result<Vec<SourceStatus>, StoreError> {
        self.source_statuses()
    }

    /// Every category among the stored sessions, as the store spells it, one
    /// per slug, sorted by slug: the per-category feeds worth publishing.
    pub fn categories(&self) -> Result<Vec<String>, StoreError> {
        let snap = self.view_snapshot()?;
        let by_slug: std::collections::BTreeMap<&String, &String> = snap
            .categories
            .iter()
            .filter(|(slug, _)| !slug.is_empty())
            .collect();
        Ok(by_slug.into_values().cloned().collect())
    }

    /// The ids of the configured sources, then of those only the store knows.
    pub fn source_ids(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.source_statuses()?.into_iter().map(|s| s.id).collect())
    }
}
