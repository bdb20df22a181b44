//! `kind = "ical"`: an existing calendar feed (a CMS events plugin's export, a
//! shared Outlook calendar), one session per occurrence.
//!
//! This folder is the whole platform: its settings (this file), its `walk`
//! (one conditional GET of the feed, or the pages of an export cut into
//! pages) and its reader: `lines` (content lines and
//! components), `zones` (TZIDs and `VTIMEZONE`s), `when` (a time read in its
//! zone), `recur` (expanding
//! repeating events) and `parse` (events into sessions). Merging, limits and
//! health belong to the generic crawl.

mod lines;
mod parse;
mod recur;
mod walk;
mod when;
mod zones;

pub use parse::*;

use super::{Configured, Kind, Platform};
use crate::source::Walker;
use crate::source::{ConfigError, KindFields};
use serde::Deserialize;
use std::sync::Arc;
use url::Url;

/// The registry's entry for this platform.
pub const PLATFORM: Platform = Platform {
    kind: "ical",
    configure,
};

/// Settings of an `ical` source: one calendar feed, or an export the site
/// cuts into pages.
#[derive(Debug, Clone, PartialEq)]
pub struct IcalConfig {
    /// The feed's address (http or https): its first page, when it has more.
    pub url: Url,
    /// Where the pages after the first are, when the site cuts its export
    /// into pages (`page_url`); `None`: the feed is one document.
    pub pages: Option<PageUrls>,
}

/// The addresses of a paged export's later pages, as WordPress's The Events
/// Calendar cuts its list view's export (`/events/list/page/2/?ical=1`): the
/// `page_url` setting (an address, or a path on the feed's site) with
/// `{page}` replaced by the page's number, the page
/// after `url` being number `second_page` (2 by default; Drupal's pager counts
/// from 0, so its second page is 1).
#[derive(Debug, Clone, PartialEq)]
pub struct PageUrls {
    template: String,
    second: u32,
}

/// The placeholder `page_url` holds for the page's number.
pub const PAGE_PLACEHOLDER: &str = "{page}";

impl PageUrls {
    /// The later pages of `template` (which must hold `{page}` once and be an
    /// http or https address with a number there), the first numbered `second`.
    pub fn new(template: &str, second: u32) -> Result<PageUrls, String> {
        if template.matches(PAGE_PLACEHOLDER).count() != 1 {
            return Err(format!(
                "`{template}` must hold {PAGE_PLACEHOLDER} once, where the page's number goes"
            ));
        }
        let pages = PageUrls {
            template: template.trim().to_string(),
            second,
        };
        pages
            .after_first(1)
            .map_err(|e| format!("`{template}` does not give a web address for a page: {e}"))?;
        Ok(pages)
    }

    /// The address of the `n`th page after the first (`n` ≥ 1).
    pub fn after_first(&self, n: usize) -> Result<Url, String> {
        let number = (u64::from(self.second) + n as u64).saturating_sub(1);
        let url = self.template.replace(PAGE_PLACEHOLDER, &number.to_string());
        crate::source::settings::parse_url(&url)
    }
}

/// The fields an `ical` source file may set besides the common ones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Fields {
    url: Option<String>,
    page_url: Option<String>,
    second_page: Option<u32>,
}

fn configure(fields: &KindFields<'_>) -> Result<Configured, ConfigError> {
    let f: Fields = fields.read()?;
    let url = fields.required("url", f.url, "the feed's address")?;
    let url = crate::source::settings::parse_url(&url).map_err(|m| fields.error("url", m))?;
    let pages = match (f.page_url, f.second_page) {
        (Some(t), second) => {
            // A path is on the feed's own site.
            let t = match t.starts_with('/') && !t.starts_with("//") {
                true => format!("{}{t}", url.origin().ascii_serialization()),
                false => t,
            };
            let pages = PageUrls::new(&t, second.unwrap_or(2));
            Some(pages.map_err(|m| fields.error("page_url", m))?)
        }
        (None, Some(_)) => {
            return Err(fields.error(
                "second_page",
                "second_page numbers the pages of page_url, which is not set; set page_url too, or remove second_page",
            ))
        }
        (None, None) => None,
    };
    Ok(Configured {
        // The site is the feed's own host unless the file says otherwise.
        default_base_url: Some(url.clone()),
        kind: Arc::new(IcalConfig { url, pages }),
    })
}

impl Kind for IcalConfig {
    fn walk<'a>(&'a self, w: &'a Walker<'a>) -> super::WalkFuture<'a> {
        Box::pin(walk::walk(self, w))
    }
}

#[cfg(test)]
mod tests {
    use super::PageUrls;

    #[test]
    fn later_pages_count_from_the_second_page_number() {
        let wp = PageUrls::new("https://site.example/events/list/page/{page}/?ical=1", 2).unwrap();
        assert_eq!(
            wp.after_first(1).unwrap().as_str(),
            "https://site.example/events/list/page/2/?ical=1"
        );
        assert_eq!(
            wp.after_first(3).unwrap().as_str(),
            "https://site.example/events/list/page/4/?ical=1"
        );
        // Drupal's pager numbers the first page 0, so its second is 1.
        let drupal = PageUrls::new("https://site.example/training/ical?page={page}", 1).unwrap();
        assert_eq!(
            drupal.after_first(1).unwrap().as_str(),
            "https://site.example/training/ical?page=1"
        );
    }

    #[test]
    fn a_page_url_needs_one_placeholder_and_a_web_address() {
        for bad in [
            "https://site.example/events/list/page/2/?ical=1",
            "https://site.example/{page}/{page}/",
            "ftp://site.example/{page}.ics",
            "/events/list/page/{page}/?ical=1",
        ] {
            let e = PageUrls::new(bad, 2).unwrap_err();
            assert!(e.contains(bad.trim()), "{bad}: {e}");
        }
    }
}
