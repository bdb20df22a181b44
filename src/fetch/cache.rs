//! The kept responses behind conditional requests.
//!
//! Owns: looking up the response the store keeps for an address, adding its
//! validators (`If-None-Match`, `If-Modified-Since`) to a request, keeping a
//! fresh body with its `ETag`/`Last-Modified`, marking a kept response as still
//! in use, and pruning those no crawl has used for `cache_max_age`.
//!
//! Does not own: the store's layout (`Store::cached_response` and friends),
//! deciding when a request is conditional (the request loop and robots.txt
//! reading in the parent module), or sending anything.

use super::Fetcher;
use crate::store::{CachedResponse, Pruned, StoreError};
use chrono::{DateTime, Utc};
use reqwest::header::{
    HeaderMap, HeaderValue, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use url::Url;

/// `req` with the validators of `kept`, if there is a kept response.
pub(super) fn conditional(
    mut req: reqwest::RequestBuilder,
    kept: Option<&CachedResponse>,
) -> reqwest::RequestBuilder {
    if let Some(c) = kept {
        if let Some(etag) = &c.etag {
            req = req.header(IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &c.last_modified {
            req = req.header(IF_MODIFIED_SINCE, lm);
        }
    }
    req
}

impl Fetcher {
    /// The response kept for `url`, if the fetcher has a store and it has one
    /// (a store that cannot be read counts as having none).
    pub(super) fn kept(&self, url: &Url) -> Option<CachedResponse> {
        self.store
            .as_ref()
            .and_then(|s| s.cached_response(url.as_str()).ok().flatten())
    }

    /// Marks the kept response of `url` as still in use.
    pub(super) fn touch(&self, url: &Url) {
        let Some(store) = &self.store else { return };
        if let Err(e) = store.touch_cached_response(url.as_str(), Utc::now()) {
            tracing::warn!(%url, error = %e, "could not mark a kept response as in use");
        }
    }

    /// Removes kept responses no crawl has used for `cache_max_age` at `now`;
    /// at most once a day (it reads every kept response's header), remembered
    /// in the store (`Store::prune_http_cache_due`). `None` when it was not
    /// due, or when the store's disk is too full for a crawl (pruning writes
    /// too, and a write to a full disk can hang).
    pub fn prune_cache(&self, now: DateTime<Utc>) -> Result<Option<Pruned>, StoreError> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        if store.check_disk().is_err() {
            return Ok(None);
        }
        let age = chrono::TimeDelta::from_std(self.config.cache_max_age)
            .unwrap_or(chrono::TimeDelta::days(30));
        store.prune_http_cache_due(now, age)
    }

    /// Keeps a fresh body of `url` with its validators, for the next crawl's
    /// conditional request.
    pub(super) fn remember(&self, url: &Url, headers: &HeaderMap, body: &[u8]) {
        let Some(store) = &self.store else { return };
        let text = |h| {
            headers
                .get(h)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = text(ETAG);
        let last_modified = text(LAST_MODIFIED);
        // Bodies without validators are still kept: the crawler re-reads them to
        // skip detail pages whose listing entry has not changed.
        let c = CachedResponse {
            etag,
            last_modified,
            fetched: Utc::now(),
            seen: Some(Utc::now()),
            body: body.to_vec(),
        };
        if let Err(e) = store.put_cached_response(url.as_str(), &c) {
            tracing::warn!(%url, error = %e, "could not keep the response for conditional requests");
        }
    }
}
