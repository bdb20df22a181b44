//! Rendering off the async workers: `AppState::blocking` (any render of the
//! state) and `AppState::feed_blocking` (a calendar feed), each on a
//! blocking thread, at most `CONCURRENT_RENDERS` at once, the render's
//! scratch memory given back to the system after.
//!
//! Does not own what is rendered and cached (`views`) or how the result
//! goes out (`conditional`).

use super::respond::ApiError;
use crate::query::Filter;
use crate::store::StoreError;
use crate::views::{AppState, RenderedFeed};
use std::sync::Arc;

impl AppState {
    /// `render` of this state, off the async workers and at most
    /// `CONCURRENT_RENDERS` at once.
    pub(super) async fn blocking<T: Send + 'static>(
        &self,
        render: impl FnOnce(&AppState) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit =
            self.cache.rendering.acquire().await.map_err(|_| {
                ApiError::Store(StoreError::Corrupt("the server is stopping".into()))
            })?;
        let st = self.clone();
        tokio::task::spawn_blocking(move || {
            let rendered = render(&st);
            // A render's scratch (several megabytes at national scale) goes
            // back to the system rather than staying with the allocator.
            crate::memory::give_back();
            rendered
        })
        .await
        .map_err(|e| ApiError::Store(StoreError::Corrupt(format!("a render failed: {e}"))))?
        .map_err(ApiError::from)
    }

    /// `feed`: from the cache on this worker when it holds it (the hot path
    /// of every subscribed client's revalidation), else rendered off the
    /// async workers and at most `CONCURRENT_RENDERS` at once.
    pub(super) async fn feed_blocking(
        &self,
        filter: Filter,
    ) -> Result<Arc<RenderedFeed>, ApiError> {
        if let Some(hit) = self.feed_hit(&filter) {
            return Ok(hit);
        }
        self.blocking(move |st| st.feed(filter)).await
    }
}
