//! The HTML page people read at `/`: upcoming sessions grouped by week, filters
//! that work as plain links and a GET form, what changed this week, a
//! "Subscribe" box for the current view (calendar and changes feed), and each
//! source's health.
//!
//! A pure function of its input (`render(&PageData)`), so it is tested without
//! HTTP or a clock. Everything scraped is untrusted: `maud` escapes every value,
//! and links to booking pages are only written as `links::web_link` allows
//! (the server has kept them to their source's site). Where the feed links
//! point, absolute or relative, is the caller's [`Links`]: never a request's
//! `Host`.
//!
//! Does not own which sessions are shown (the caller passes them already
//! filtered, see `present::upcoming`), how a filter is read from or written
//! into a URL (`query::Filter::from_query` and `Filter::to_url`, which every
//! link on the page and every feed URL goes through), nor which sources are
//! listed and under what name (`source_status`).

use crate::changes::Change;
use crate::duplicates::Listing;
use crate::feed;
use crate::model::{Status, StoredSession};
use crate::present;
use crate::present::change::ChangeWords;
use crate::query::{slug, Filter, MAX_Q_CHARS};
use crate::site::Site;
use crate::source_status::SourceStatus;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// Most changes "What changed this week" lists (the newest); the feed reader
/// link has the rest.
pub const MAX_PAGE_CHANGES: usize = 10;

/// How far back "What changed this week" looks.
pub const PAGE_CHANGES_DAYS: i64 = 7;

/// Everything the page shows.
pub struct PageData<'a> {
    /// The part of the upcoming sessions matching `filter` this page lists,
    /// soonest first.
    pub sessions: &'a [&'a StoredSession],
    /// The whole view's size, and the links to its other parts.
    pub part: PartInfo,
    /// Every category among upcoming sessions (whatever the filter), for the filter list.
    pub categories: &'a [String],
    /// Every source worth naming, from `source_status::source_statuses`.
    pub sources: &'a [SourceStatus],
    /// The view's changes of the last `PAGE_CHANGES_DAYS`, newest first, at
    /// most `MAX_PAGE_CHANGES`.
    pub changes: &'a [Change],
    /// The view shown: its description, its feed and API addresses and the
    /// form's values.
    pub filter: &'a Filter,
    /// Where the feed and API links point (see [`Links`]).
    pub links: Links<'a>,
    /// The time the page is made at, for "2 hours ago" and the like.
    pub now: DateTime<Utc>,
    /// The deployment's own title, description and contact (`events.toml`).
    pub site: &'a Site,
    /// The other listings of a session the view merged from several
    /// sources (see `duplicates`): its card names them and links to each.
    pub also_listed: &'a dyn Fn(&StoredSession) -> Vec<Listing>,
}

/// Which part of the view a page is: the view's totals, and links to its
/// first part (on a later one) and to the next (`<a rel="next">`, "Later
/// sessions") while one remains.
#[derive(Debug, Clone, Default)]
pub struct PartInfo {
    /// Sessions in the whole view.
    pub total: usize,
    /// Of those, the ones listed in earlier parts.
    pub before: usize,
    /// Of those, the ones whose source says places remain.
    pub with_places: usize,
    /// The first part, on a later part.
    pub first_href: Option<String>,
    /// The next part, while one remains.
    pub next_href: Option<String>,
}

/// Where the page's feed and API links point. A request's `Host` header is
/// the client's word, so the server never builds an origin from it: only from
/// its configured public URL or a proxy it was told to trust.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links<'a> {
    /// Served from a known origin (`https://host[:port]`, no trailing slash):
    /// the subscribe links are absolute (`https://host/calendar.ics`,
    /// `webcal://host/calendar.ics`).
    Absolute(&'a str),
    /// Served from an origin the server does not know: links from the root
    /// (`/calendar.ics`), a plain link that works without JavaScript; a small
    /// script makes the subscribe links absolute from the browser's own
    /// address (`webcal://` and the address to paste).
    Root,
    /// A static copy (`events export`): relative to the page (`calendar.ics`,
    /// `sessions.json`). The subscribe links are absolute when the copy's
    /// public origin is known (`Some`, from `events.toml`'s `public_url`),
    /// else made absolute by the same script. Controls that need a server
    /// (the filter form and chips) are left out.
    Static(Option<&'a str>),
}

/// The feed URL of a view, for pasting into Google Calendar or Outlook:
/// absolute under a known origin, else from the root (`/calendar.ics`) or,
/// in a static copy, relative to the page (`calendar.ics`).
pub fn feed_url(links: Links<'_>, f: &Filter) -> String {
    match links {
        Links::Absolute(origin) => format!("{origin}{}", f.to_url("/calendar.ics")),
        Links::Root => f.to_url("/calendar.ics"),
        Links::Static(Some(origin)) => format!("{origin}/{}", f.to_url("calendar.ics")),
        Links::Static(None) => f.to_url("calendar.ics"),
    }
}

/// True when the subscribe links can be written absolute by the server.
fn absolute(links: Links<'_>) -> bool {
    matches!(links, Links::Absolute(_) | Links::Static(Some(_)))
}

/// The same URL with the `webcal` scheme, which makes desktop and phone calendar
/// apps offer to subscribe when it is clicked; relative like [`feed_url`] when
/// the origin is not known (a `webcal:` address cannot be relative: the page's
/// script writes it in the browser).
pub fn webcal_url(links: Links<'_>, f: &Filter) -> String {
    let http = feed_url(links, f);
    if !absolute(links) {
        return http;
    }
    let rest = http
        .strip_prefix("https://")
        .or_else(|| http.strip_prefix("http://"))
        .unwrap_or(&http);
    format!("webcal://{rest}")
}

/// The CSS class of a session's badge: `badge-places`, `badge-few`, `badge-unknown`,
/// `badge-full`, `badge-closed`, `badge-cancelled`, `badge-withdrawn`.
pub fn badge_class(s: &StoredSession) -> &'static str {
    let x = &s.session;
    match x.status {
        Status::Withdrawn => "badge-withdrawn",
        Status::Cancelled => "badge-cancelled",
        Status::Closed => "badge-closed",
        Status::Full => "badge-full",
        Status::Scheduled => match x.availability.spaces_left {
            Some(0) => "badge-full",
            // Few enough that "book now" is worth a different colour.
            Some(n) if n <= 3 => "badge-few",
            Some(_) => "badge-places",
            None => "badge-unknown",
        },
    }
}

/// Only what `links::web_link` allows is written: a scraped `javascript:`
/// URL must never become something a click runs (the server has also kept
/// each link to its source's site).
fn safe_href(u: &str) -> Option<String> {
    crate::links::web_link(u).map(String::from)
}

fn monday_of(s: &StoredSession) -> NaiveDate {
    let local = s.session.start.with_timezone(&present::zone(s));
    let d = local.date_naive();
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// "Tuesday 5 January 2027, 09:30–12:30 GMT", both dates when it spans days,
/// or "Wednesday 3 March 2027, all day" (see `present::when`).
pub fn when(s: &StoredSession) -> String {
    present::when(&s.session, present::zone(s))
}

const CSS: &str = r#"
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:#1a1a1a;background:#f7f7f5}
a{color:#0b4f9c}
a:focus,button:focus,input:focus,select:focus,summary:focus{outline:3px solid #0b0c0c;outline-offset:2px;box-shadow:0 0 0 6px #ffdd00}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header,main,footer{max-width:60rem;margin:0 auto;padding:1rem}
header{padding-bottom:0}
h1{font-size:1.6rem;margin:.5rem 0}
h2{font-size:1.3rem;margin:1.5rem 0 .5rem}
.box h2{margin-top:0}
h3{font-size:1.1rem;margin:1.25rem 0 .5rem}
h4{font-size:1.05rem;margin:.25rem 0}
.box{background:#fff;border:1px solid #d0d0cc;border-radius:.5rem;padding:1rem;margin:1rem 0}
.filters{padding:.75rem 1rem}
.filters h2{font-size:1.1rem;margin:0;display:inline}
.filters summary{cursor:pointer;color:#0b4f9c}
form .row{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:flex-end}
form label{display:block;font-weight:600}
.field{flex:1 1 9rem;min-width:0}
.field.wide{flex:2 1 14rem}
.actions{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
input[type=search],select,input[type=url],input[type=text]{width:100%;padding:.45rem;font:inherit;border:1px solid #6b6b6b;border-radius:.3rem;background:#fff;color:#1a1a1a}
.check{display:flex;gap:.4rem;align-items:center}.check label{font-weight:400}
button{font:inherit;padding:.45rem 1rem;border:0;border-radius:.3rem;background:#0b4f9c;color:#fff;cursor:pointer}
.chiprow{display:flex;gap:.5rem;align-items:baseline;margin-top:.6rem}
.chiprow .label{font-weight:600;flex:none}
.chips{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.4rem;min-width:0}
.chips a{display:inline-block;padding:.1rem .6rem;border:1px solid #0b4f9c;border-radius:1rem;text-decoration:none;white-space:nowrap}
.chips a[aria-current]{background:#0b4f9c;color:#fff}
.sessions{list-style:none;padding:0;margin:0}
.session{background:#fff;border:1px solid #d0d0cc;border-left:6px solid #0b4f9c;border-radius:.4rem;padding:.75rem 1rem;margin:.6rem 0}
.session.nobook{border-left-color:#b36200}
.session.off{border-left-color:#6b6b6b}.session.off h4{text-decoration:line-through}
.summary{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:.25rem 0}
.parts{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;margin:1rem 0;font-weight:600}
.session p{margin:.2rem 0}
.meta{color:#4a4a4a;font-size:.95rem}
.prereq{background:#fff4d6;border-radius:.3rem;padding:.2rem .5rem;color:#4d3800}
.badge{display:inline-block;font-weight:700;font-size:.9rem;padding:.1rem .55rem;border-radius:.3rem;border:1px solid currentColor}
.badge-places{background:#dcf2e0;color:#0a4d1a}
.badge-few{background:#fff1c9;color:#5c3d00}
.badge-unknown{background:#e3eefa;color:#0b3f7c}
.badge-full{background:#fde2e2;color:#8a1010}
.badge-closed{background:#e8e8e8;color:#333}
.badge-cancelled,.badge-withdrawn{background:#5a5a5a;color:#fff}
.book{display:inline-block;margin-top:.3rem;font-weight:600}
.also{display:inline-block;margin:.3rem 0 0 .8rem}
.ok{color:#0a4d1a}.bad{color:#8a1010}
.url{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9rem}
.changes{padding-left:1.25rem;margin:.25rem 0}.changes li{margin:.3rem 0}
.webcal{display:inline-block;padding:.45rem 1rem;border-radius:.3rem;background:#0b4f9c;color:#fff;text-decoration:none;font-weight:600}
.steps details{margin:.4rem 0}
.steps summary{cursor:pointer;font-weight:600;color:#0b4f9c}
.steps ol{padding-left:1.25rem;margin:.25rem 0}
footer{color:#4a4a4a;font-size:.9rem}
@media (max-width:30rem){body{font-size:15px}header,main,footer{padding:.75rem}h1{font-size:1.35rem}.box,.filters{padding:.75rem}.session{padding:.6rem .75rem}
}
"#;

/// `n` with a comma between thousands, as people write it: 13,988.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The whole page.
pub fn render(d: &PageData) -> String {
    let heading = d
        .site
        .title
        .clone()
        .unwrap_or_else(|| "Safeguarding training sessions".into());
    let title = match d.filter.describe() {
        Some(x) => format!("{heading} — {x}"),
        None => heading.clone(),
    };
    let page = html! {
        (DOCTYPE)
        html lang="en-GB" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                link rel="alternate" type="text/calendar" title="Calendar feed of this view"
                    href=(feed_path(d));
                link rel="alternate" type="application/atom+xml" title="Changes to this view"
                    href=(atom_path(d));
                @if let Some(next) = &d.part.next_href { link rel="next" href=(next); }
                style { (PreEscaped(CSS)) }
            }
            body {
                a.skip href="#sessions" { "Skip to the sessions" }
                header {
                    h1 { (heading) }
                    @if let Some(about) = &d.site.description { p { (about) } }
                    p {
                        "Upcoming safeguarding training from "
                        (source_names(d.sources))
                        ", with the places left. "
                        a href="#subscribe" { "Subscribe to this view" }
                        " to keep it in your own calendar."
                    }
                }
                main {
                    @if let Links::Static(_) = d.links { (calendars(d)) } @else { (filters(d)) }
                    (sessions(d))
                    (changes(d))
                    (subscribe(d))
                    (health(d))
                }
                footer {
                    p {
                        "Also as "
                        a href=(json_path(d)) { "JSON" }
                        " and as an "
                        a href=(feed_path(d)) { "iCalendar file" }
                        ". Places are as the booking sites showed them at the last crawl; the booking page has the final word."
                    }
                    @if let Some(contact) = &d.site.contact {
                        p {
                            "Questions about this calendar: "
                            @if let Some(href) = d.site.contact_href() { a href=(href) { (contact) } } @else { (contact) }
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

/// The view's feed as a link on the page: `/calendar.ics?…` when served,
/// `calendar.ics` in a static copy.
fn feed_path(d: &PageData) -> String {
    match d.links {
        Links::Static(_) => feed_url(Links::Static(None), d.filter),
        _ => d.filter.to_url("/calendar.ics"),
    }
}

/// The view's changes feed: `/changes.atom?…` when served, `changes.atom`
/// in a static copy.
fn atom_path(d: &PageData) -> String {
    match d.links {
        Links::Static(_) => "changes.atom".into(),
        _ => d.filter.to_url("/changes.atom"),
    }
}

/// The view's JSON: `/api/sessions?…` when served, `sessions.json` in a static copy.
fn json_path(d: &PageData) -> String {
    match d.links {
        Links::Static(_) => "sessions.json".into(),
        _ => d.filter.to_url("/api/sessions"),
    }
}

fn source_names(sources: &[SourceStatus]) -> String {
    if sources.is_empty() {
        return "the booking sites".into();
    }
    let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.join(""),
    }
}

/// In a static copy, in place of the filters (which need a server): the
/// calendar of each source and each category, files `events export` writes.
fn calendars(d: &PageData) -> Markup {
    let file = |name: String| -> String {
        match d.links {
            Links::Static(Some(origin)) => format!("{origin}/{name}"),
            _ => name,
        }
    };
    html! {
        section.box.filters aria-labelledby="calendars-h" {
            h2 #calendars-h { "Calendars by source and by category" }
            p { "Subscribe to part of this calendar: copy a link's address into your calendar app." }
            @if !d.sources.is_empty() {
                h3 { "By source" }
                ul {
                    @for s in d.sources {
                        li { a href=(file(format!("calendar/{}.ics", slug(&s.id)))) { (s.name) } }
                    }
                }
            }
            @if !d.categories.is_empty() {
                h3 { "By category" }
                ul {
                    @for c in d.categories {
                        li { a href=(file(format!("calendar/category/{}.ics", slug(c)))) { (c) } }
                    }
                }
            }
        }
    }
}

fn filters(d: &PageData) -> Markup {
    let filtered = !d.filter.to_query().is_empty();
    html! {
        // Folded on a phone, so the first session shows in the first screen;
        // open when a filter is set, and on a wide screen (FILTERS_SCRIPT).
        details.box.filters #filters open[filtered] {
            summary { h2 #filters-h { "Find a session" } }
            (filter_form(d, filtered))
            (source_chips(d))
            (category_chips(d))
        }
        script { (PreEscaped(FILTERS_SCRIPT)) }
    }
}

/// True when the view's categories include `c` (by slug).
fn category_selected(f: &Filter, c: &str) -> bool {
    f.categories.iter().any(|x| slug(x) == slug(c))
}

/// The filter form: a plain GET form that works without JavaScript.
fn filter_form(d: &PageData, filtered: bool) -> Markup {
    let f = d.filter;
    // Categories in the filter that no upcoming session has still appear, so the
    // form can show (and clear) the current view.
    let mut cats: Vec<String> = d.categories.to_vec();
    for c in &f.categories {
        if !cats.iter().any(|x| slug(x) == slug(c)) {
            cats.push(c.clone());
        }
    }
    html! {
        form method="get" action="/" {
            div.row {
                div.field.wide {
                    label for="q" { "Search" }
                    input #q type="search" name="q" maxlength=(MAX_Q_CHARS)
                        value=(f.search.as_deref().unwrap_or(""))
                        placeholder="e.g. neglect level 2";
                }
                div.field {
                    label for="source" { "Source" }
                    select #source name="source" {
                        option value="" selected[f.source.is_none()] { "All sources" }
                        @for s in d.sources {
                            option value=(s.id) selected[f.source.as_deref() == Some(s.id.as_str())] { (s.name) }
                        }
                    }
                }
                div.field {
                    label for="category" { "Category" }
                    select #category name="category" multiple[f.categories.len() > 1] {
                        option value="" selected[f.categories.is_empty()] { "All categories" }
                        @for c in &cats {
                            option value=(c) selected[category_selected(f, c)] { (c) }
                        }
                    }
                }
                div.field {
                    label for="online" { "Where" }
                    select #online name="online" {
                        option value="" selected[f.online.is_none()] { "Online or in person" }
                        option value="1" selected[f.online == Some(true)] { "Online only" }
                        option value="0" selected[f.online == Some(false)] { "In person only" }
                    }
                }
                @if let Some(days) = f.days {
                    input type="hidden" name="days" value=(days);
                }
                div.actions {
                    div.check {
                        input #available type="checkbox" name="available" value="1" checked[f.available];
                        label for="available" { "With places left only" }
                    }
                    button type="submit" { "Show sessions" }
                    @if filtered { a href="/" { "Clear all filters" } }
                }
            }
        }
    }
}

/// One chip a source, each a link to the view with that source.
fn source_chips(d: &PageData) -> Markup {
    let f = d.filter;
    let all_sources = Filter {
        source: None,
        ..f.clone()
    };
    html! {
        div.chiprow {
            span.label #chips-source { "Source:" }
            ul.chips aria-labelledby="chips-source" {
                li { a href=(all_sources.to_url("/")) aria-current=[f.source.is_none().then_some("true")] { "All" } }
                @for s in d.sources {
                    @let g = Filter { source: Some(s.id.clone()), ..f.clone() };
                    li { a href=(g.to_url("/")) aria-current=[(f.source.as_deref() == Some(s.id.as_str())).then_some("true")] { (s.name) } }
                }
            }
        }
    }
}

/// One chip a category, each a link to the view with that category alone.
fn category_chips(d: &PageData) -> Markup {
    let f = d.filter;
    let all_cats = Filter {
        categories: Vec::new(),
        ..f.clone()
    };
    html! {
        div.chiprow {
            span.label #chips-category { "Category:" }
            ul.chips aria-labelledby="chips-category" {
                li { a href=(all_cats.to_url("/")) aria-current=[f.categories.is_empty().then_some("true")] { "All" } }
                @for c in d.categories {
                    @let g = Filter { categories: vec![c.clone()], ..f.clone() };
                    li { a href=(g.to_url("/")) aria-current=[(f.categories.len() == 1 && category_selected(f, c)).then_some("true")] { (c) } }
                }
            }
        }
    }
}

/// Opens the filters on a screen wide enough to show them beside the first
/// sessions. Fixed text: nothing of the request or the store goes into it.
const FILTERS_SCRIPT: &str = r#"(function(){var d=document.getElementById("filters");if(d&&window.matchMedia&&window.matchMedia("(min-width: 48rem)").matches)d.open=true;})();"#;

/// Makes the subscribe links absolute from the browser's own address when
/// the page could not (`Links::Root`, `Links::Static`): `webcal://` for the
/// button, the full `https://` address to paste. Fixed text: nothing of the
/// request or the store goes into it.
const SUBSCRIBE_SCRIPT: &str = r##"(function(){var a=document.querySelector("#subscribe a.webcal"),i=document.getElementById("feed-url");if(!a||!i||!window.URL)return;var u=new URL(a.getAttribute("href"),document.baseURI);if(u.protocol!=="http:"&&u.protocol!=="https:")return;i.setAttribute("value",u.href);i.value=u.href;a.setAttribute("href","webcal://"+u.host+u.pathname+u.search);})();"##;

fn subscribe(d: &PageData) -> Markup {
    let http = feed_url(d.links, d.filter);
    let webcal = webcal_url(d.links, d.filter);
    let script = !absolute(d.links);
    html! {
        section.box #subscribe aria-labelledby="subscribe-h" {
            h2 #subscribe-h { "Subscribe to this view" }
            p {
                "Your calendar keeps these sessions, with places left, up to date. "
                @if let Some(x) = d.filter.describe() { "It holds: " strong { (x) } "." } @else { "It holds every session." }
            }
            p.actions {
                a.webcal href=(webcal) { "Subscribe in your calendar app" }
                a href=(atom_path(d)) { "Get changes by feed reader" }
            }
            p {
                label for="feed-url" { "Calendar address, to paste into Google Calendar or Outlook" }
                input #feed-url.url type="url" readonly value=(http);
            }
            @if script { script { (PreEscaped(SUBSCRIBE_SCRIPT)) } }
            div.steps {
                details {
                    summary { "Steps for Outlook" }
                    ol {
                        li { "Go to Calendar, choose " strong { "Add calendar" } "." }
                        li { "Choose " strong { "Subscribe from web" } " and paste the address." }
                        li { "Give it a name and choose " strong { "Import" } "." }
                    }
                }
                details {
                    summary { "Steps for Google Calendar" }
                    ol {
                        li { "On a computer, next to " strong { "Other calendars" } " choose " strong { "+" } "." }
                        li { "Choose " strong { "From URL" } " and paste the address." }
                        li { "Choose " strong { "Add calendar" } ". Google refreshes it about once a day." }
                    }
                }
                details {
                    summary { "Steps for Apple Calendar" }
                    ol {
                        li { "On a Mac, choose " strong { "File → New Calendar Subscription" } "." }
                        li { "Paste the address and choose " strong { "Subscribe" } "." }
                        li { "On an iPhone, just tap " strong { "Subscribe in your calendar app" } " above." }
                    }
                }
            }
        }
    }
}

fn sessions(d: &PageData) -> Markup {
    // Sessions arrive sorted by start, so weeks are consecutive runs.
    let mut weeks: Vec<(NaiveDate, Vec<&StoredSession>)> = Vec::new();
    for &s in d.sessions {
        let m = monday_of(s);
        match weeks.last_mut() {
            Some((w, v)) if *w == m => v.push(s),
            _ => weeks.push((m, vec![s])),
        }
    }
    let count = d.part.total;
    let (from, to) = (d.part.before + 1, d.part.before + d.sessions.len());
    let toggled_places = Filter {
        available: !d.filter.available,
        ..d.filter.clone()
    };
    html! {
        section #sessions aria-labelledby="sessions-h" {
            h2 #sessions-h { "Upcoming sessions" }
            @if count == 0 && none_succeeded(d.sources) {
                // An empty list would blame the filters for what the crawls did.
                p.empty { "No crawl has succeeded yet, so there are no sessions to show; " a href="#health-h" { "Where this comes from" } " below (or " code { "events sources" } " on the server) says why." }
            } @else if count == 0 && d.filter.to_query().is_empty() {
                p.empty { "No upcoming sessions are listed at the moment." }
            } @else if count == 0 {
                p.empty { "No upcoming sessions match these filters. " a href="/" { "Show all sessions" } "." }
            }
            // One link that toggles the places filter (the form has the
            // checkbox); a static copy has one view, and no such link.
            @if count > 0 || d.filter.available {
                p.summary {
                    @if count > 0 {
                        span {
                            (thousands(count)) @if count == 1 { " session" } @else { " sessions" } " to come, "
                            (thousands(d.part.with_places)) " with places."
                            @if d.sessions.len() < count { " Showing " (thousands(from)) "–" (thousands(to)) "." }
                        }
                    }
                    @if !matches!(d.links, Links::Static(_)) {
                        a href=(toggled_places.to_url("/")) {
                            @if d.filter.available { "Show full and closed sessions too" } @else { "Only sessions with places" }
                        }
                    }
                }
            }
            @for (monday, list) in &weeks {
                h3 { "Week of " (monday.format("%A %-d %B %Y")) }
                ol.sessions {
                    @for s in list { (session(d, s)) }
                }
            }
            @if d.part.first_href.is_some() || d.part.next_href.is_some() {
                nav.parts aria-label="More sessions" {
                    @if let Some(first) = &d.part.first_href { a href=(first) { "Soonest sessions" } }
                    @if let Some(next) = &d.part.next_href { a rel="next" href=(next) { "Later sessions" } }
                }
            }
        }
    }
}

fn changes(d: &PageData) -> Markup {
    html! {
        section #changes aria-labelledby="changes-h" {
            h2 #changes-h { "What changed this week" }
            @if d.changes.is_empty() {
                p.empty {
                    "Nothing changed in the last " (PAGE_CHANGES_DAYS) " days"
                    @if d.filter.describe().is_some() { " in this view" }
                    "."
                }
            } @else {
                ul.changes {
                    @for c in d.changes {
                        li data-kind=(c.kind.as_str()) data-uid=(c.uid.as_str()) {
                            strong { (c.kind.label()) }
                            ": "
                            (c.title_line().split_once(": ").map_or("", |(_, rest)| rest))
                            " "
                            span.meta {
                                "(" time datetime=(c.at.to_rfc3339()) { (present::ago(c.at, d.now, c.zone())) } ")"
                            }
                            @if let Some(href) = safe_href(&c.url) {
                                " "
                                a href=(href) rel="noopener" {
                                    "Details" span.vh { ": " (c.title) }
                                }
                            }
                        }
                    }
                }
            }
            p.meta {
                "Newest changes first. "
                a href=(atom_path(d)) { "All changes of this view as a feed" }
                " (Atom), for a feed reader."
            }
        }
    }
}

fn session(d: &PageData, s: &StoredSession) -> Markup {
    let x = &s.session;
    let label = feed::places_label(x);
    let name_of = |id: &'_ str| -> String {
        d.sources
            .iter()
            .find(|src| src.id == id)
            .map_or(id, |src| src.name.as_str())
            .to_string()
    };
    let also = (d.also_listed)(s);
    let source_name = listed_by(name_of(&x.source), also.iter().map(|l| name_of(&l.source)));
    let place = match (&x.venue, x.online) {
        (Some(v), true) if says_online(v) => v.clone(),
        (Some(v), true) => format!("Online: {v}"),
        (Some(v), false) => v.clone(),
        (None, true) => "Online".to_string(),
        (None, false) => "Venue not given".to_string(),
    };
    // Full and closed: still happening, but not bookable (amber edge).
    let no_booking = matches!(badge_class(s), "badge-full" | "badge-closed");
    let tz = present::zone(s);
    // An all-day session's machine-readable time is its first day, not a midnight.
    let datetime = if x.all_day {
        present::all_day_dates(x.start, x.end, tz).0.to_string()
    } else {
        x.start.with_timezone(&tz).to_rfc3339()
    };
    html! {
        li.session.nobook[no_booking].off[x.status.is_off()] data-uid=(s.uid.as_str()) data-status=(x.status.as_str()) {
            p.when {
                time datetime=(datetime) { (when(s)) }
            }
            h4 { (x.title) }
            p.meta {
                @if let Some(c) = &x.category { (c) " · " }
                @if let Some(l) = &x.level { (l) " · " }
                (source_name)
            }
            p.where { span.label { "Where: " } (place) }
            p {
                span class=(format!("badge {}", badge_class(s))) { (label) }
            }
            @if let Some(p) = &x.prerequisites {
                p.prereq { strong { "Before you book: " } (p) }
            }
            @if let Some(href) = safe_href(&x.url) {
                a.book href=(href) rel="noopener" {
                    @if x.has_places() { "Book" } @else { "See details" }
                    span.vh { ": " (x.title) ", " (when(s)) }
                }
            }
            @for l in also.iter().filter(|l| l.url != x.url) {
                @if let Some(href) = safe_href(&l.url) {
                    " "
                    a.also href=(href) rel="noopener" {
                        "Also listed by " (name_of(&l.source))
                        span.vh { ": " (x.title) ", " (when(s)) }
                    }
                }
            }
        }
    }
}

/// "WSP booking", or for a session several sources list, "WSP booking,
/// also listed by WSP website".
fn listed_by(first: String, others: impl Iterator<Item = String>) -> String {
    let others: Vec<String> = others.collect();
    if others.is_empty() {
        first
    } else {
        format!("{first}, also listed by {}", others.join(" and "))
    }
}

/// Whether a venue already says the session is online ("Online (Zoom)",
/// "Microsoft Teams", "Virtual"), so "Online: " would repeat it.
fn says_online(venue: &str) -> bool {
    let v = venue.to_lowercase();
    ["online", "virtual", "teams", "zoom", "webinar"]
        .iter()
        .any(|w| v.contains(w))
}

/// True when no source has had a successful crawl (or none is known).
fn none_succeeded(sources: &[SourceStatus]) -> bool {
    sources.iter().all(|s| s.health.last_success.is_none())
}

fn health(d: &PageData) -> Markup {
    html! {
        section aria-labelledby="health-h" {
            h2 #health-h { "Where this comes from" }
            @if d.sources.is_empty() {
                p { "No sources are configured or crawled yet." }
            }
            ul.health {
                @for s in d.sources {
                    li data-source=(s.id) {
                        strong { (s.name) }
                        " — "
                        (health_words(s, d.now))
                    }
                }
            }
        }
    }
}

fn health_words(s: &SourceStatus, now: DateTime<Utc>) -> Markup {
    let h = &s.health;
    let stamp = |t: DateTime<Utc>| {
        let local = t.with_timezone(&s.timezone);
        html! {
            time datetime=(t.to_rfc3339()) title=(local.format("%-d %B %Y, %H:%M %Z")) { (present::ago(t, now, s.timezone)) }
        }
    };
    html! {
        @match (h.last_success, h.last_attempt) {
            (None, None) => { span.bad { "never crawled yet" } },
            (None, Some(a)) => {
                span.bad { "never crawled successfully yet" }
                "; the last attempt (" (stamp(a)) ") failed"
                @if let Some(e) = &h.last_error { ": " (e) }
            },
            (Some(ok), _) => {
                @if h.last_error.is_some() { span.bad { "problem" } } @else { span.ok { "OK" } }
                "; last successful crawl " (stamp(ok)) ", "
                (h.sessions_found) @if h.sessions_found == 1 { " session" } @else { " sessions" } " found"
                @if let Some(e) = &h.last_error {
                    @if let Some(a) = h.last_attempt {
                        ". The latest attempt (" (stamp(a)) ") failed: " (e)
                    } @else {
                        ". The latest attempt failed: " (e)
                    }
                }
                @if h.consecutive_failures > 1 { " (" (h.consecutive_failures) " failures in a row)" }
                "."
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A view of these sessions alone, in one part.
    fn whole(sessions: &[&StoredSession]) -> PartInfo {
        PartInfo {
            total: sessions.len(),
            with_places: sessions
                .iter()
                .filter(|s| s.session.places_remain())
                .count(),
            ..PartInfo::default()
        }
    }
    use crate::model::{Availability, Session, SessionKey};
    use chrono::TimeZone;

    fn stored(
        title: &str,
        start: DateTime<Utc>,
        status: Status,
        spaces: Option<u32>,
    ) -> StoredSession {
        let s = Session {
            source: "wsp".into(),
            event_id: "1".into(),
            key: SessionKey::nth(1),
            title: title.into(),
            category: Some("Child Neglect".into()),
            level: None,
            prerequisites: Some("You MUST complete Level 1 first".into()),
            description: None,
            start,
            end: start + Duration::hours(3),
            timezone: "Europe/London".into(),
            venue: Some("Council House".into()),
            online: false,
            status,
            availability: Availability {
                spaces_left: spaces,
                ..Availability::default()
            },
            url: "javascript:alert(1)".into(),
            all_day: false,
        };
        StoredSession {
            uid: s.uid(),
            first_seen: start,
            last_seen: start,
            last_changed: start,
            sequence: 0,
            session: s,
        }
    }

    #[test]
    fn escapes_and_never_links_unsafe_urls() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let s = stored(
            "<script>alert(1)</script>",
            Utc.with_ymd_and_hms(2027, 1, 5, 9, 30, 0).unwrap(),
            Status::Full,
            Some(0),
        );
        let html = render(&PageData {
            sessions: &[&s],
            part: whole(&[&s]),
            categories: &["Child Neglect".into()],
            sources: &[],
            changes: &[],
            filter: &Filter::default(),
            links: Links::Absolute("http://h"),
            now,
            site: &Site::default(),
            also_listed: &|_| Vec::new(),
        });
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("javascript:"));
        assert!(html.contains("Week of Monday 4 January 2027"));
        assert!(html.contains(r#"<span class="badge badge-full">FULL</span>"#));
        assert!(html.contains("Tuesday 5 January 2027, 09:30–12:30 GMT"));
    }

    #[test]
    fn the_filters_fold_until_used_and_each_chip_row_has_one_current() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let page = |filter: &Filter| {
            render(&PageData {
                sessions: &[],
                part: PartInfo::default(),
                categories: &["Child Neglect".into(), "Exploitation".into()],
                sources: &[],
                changes: &[],
                filter,
                links: Links::Root,
                now,
                site: &Site::default(),
                also_listed: &|_| Vec::new(),
            })
        };
        let plain = page(&Filter::default());
        assert!(plain.starts_with("<!DOCTYPE html><html lang=\"en-GB\">"));
        assert!(plain.contains(r#"<details class="box filters" id="filters"><summary><h2 id="filters-h">Find a session</h2></summary>"#), "{plain}");
        assert!(!plain.contains(r#"aria-current="page""#));
        // The focus ring is near-black, with a yellow halo: over 3:1 on any
        // of the page's backgrounds.
        assert!(plain.contains("outline:3px solid #0b0c0c") && !plain.contains("#f5b700"));
        let neglect = Filter {
            categories: vec!["Child Neglect".into()],
            ..Filter::default()
        };
        let filtered = page(&neglect);
        assert!(filtered.contains(r#"<details class="box filters" id="filters" open>"#));
        for row in ["chips-source", "chips-category"] {
            let at = filtered
                .find(&format!(r#"aria-labelledby="{row}""#))
                .unwrap();
            let list = &filtered[at..at + filtered[at..].find("</ul>").unwrap()];
            assert_eq!(list.matches(r#"aria-current="true""#).count(), 1, "{list}");
        }
    }

    #[test]
    fn an_empty_page_tells_failed_crawls_from_filters() {
        use crate::store::SourceHealth;
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let status = |last_success| SourceStatus {
            id: "wsp".into(),
            name: "WSP".into(),
            kind: Some("event-booking".into()),
            timezone: chrono_tz::Europe::London,
            health: SourceHealth {
                last_attempt: Some(now),
                last_success,
                last_error: last_success.is_none().then(|| "connection refused".into()),
                ..SourceHealth::default()
            },
        };
        let page_of = |sources: &[SourceStatus], filter: &Filter| {
            render(&PageData {
                sessions: &[],
                part: PartInfo::default(),
                categories: &[],
                sources,
                changes: &[],
                filter,
                links: Links::Root,
                now,
                site: &Site::default(),
                also_listed: &|_| Vec::new(),
            })
        };
        let page = |sources: &[SourceStatus]| page_of(sources, &Filter::default());
        let failed = page(&[status(None)]);
        assert!(failed.contains(r##"<p class="empty">No crawl has succeeded yet, so there are no sessions to show; <a href="#health-h">Where this comes from</a> below (or <code>events sources</code> on the server) says why.</p>"##), "{failed}");
        assert!(!failed.contains("match these filters"));
        // Without a filter, there is no filter to blame.
        let crawled = page(&[status(Some(now))]);
        assert!(crawled.contains("No upcoming sessions are listed at the moment."));
        assert!(!crawled.contains("No crawl has succeeded") && !crawled.contains("filters."));
        let online = Filter {
            online: Some(true),
            ..Filter::default()
        };
        let filtered = page_of(&[status(Some(now))], &online);
        assert!(filtered.contains("No upcoming sessions match these filters."));
    }

    #[test]
    fn where_and_edges() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let t = Utc.with_ymd_and_hms(2027, 1, 5, 9, 30, 0).unwrap();
        let mut zoom = stored("Zoom", t, Status::Scheduled, Some(5));
        zoom.session.online = true;
        zoom.session.venue = Some("Online (Zoom)".into());
        let mut bare = stored("Bare", t, Status::Scheduled, Some(5));
        bare.session.online = true;
        bare.session.venue = None;
        let full = stored("Full", t, Status::Scheduled, Some(0));
        let gone = stored("Gone", t, Status::Cancelled, None);
        let html = render(&PageData {
            sessions: &[&zoom, &bare, &full, &gone],
            part: whole(&[&zoom, &bare, &full, &gone]),
            categories: &[],
            sources: &[],
            changes: &[],
            filter: &Filter::default(),
            links: Links::Absolute("http://h"),
            now,
            site: &Site::default(),
            also_listed: &|_| Vec::new(),
        });
        assert!(!html.contains("Online: Online"));
        assert!(html.contains("</span>Online (Zoom)</p>"));
        assert!(html.contains("</span>Online</p>"));
        assert_eq!(html.matches(r#"<li class="session nobook""#).count(), 1);
        assert_eq!(html.matches(r#"<li class="session off""#).count(), 1);
        // The places filter is offered once as a link, and the sessions come
        // before the subscribe box, whose steps are collapsed.
        assert_eq!(html.matches(">Only sessions with places</a>").count(), 1);
        assert!(html.find(r#"id="sessions""#) < html.find(r#"id="subscribe""#));
        assert!(html.contains("<details><summary>Steps for Outlook</summary>"));
    }

    #[test]
    fn changes_are_listed_escaped_with_their_feed() {
        use crate::changes::{Change, ChangeKind};
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 13, 0, 0).unwrap();
        let t = Utc.with_ymd_and_hms(2027, 5, 13, 8, 30, 0).unwrap();
        let mut s = stored("<b>Neglect</b>", t, Status::Scheduled, Some(3));
        s.session.url = "https://wsp.example/events/1004".into();
        let c = Change::new(
            ChangeKind::PlacesFreed,
            now - Duration::hours(2),
            None,
            &s.session,
        );
        let f = Filter {
            source: Some("wsp".into()),
            ..Filter::default()
        };
        let page = |changes: &[Change]| {
            render(&PageData {
                sessions: &[],
                part: PartInfo::default(),
                categories: &[],
                sources: &[],
                changes,
                filter: &f,
                links: Links::Absolute("http://h"),
                now,
                site: &Site::default(),
                also_listed: &|_| Vec::new(),
            })
        };
        let html = page(&[c]);
        assert!(html.contains(
            r#"<link rel="alternate" type="application/atom+xml" title="Changes to this view" href="/changes.atom?source=wsp">"#
        ));
        assert!(
            html.contains(r#"<a href="/changes.atom?source=wsp">Get changes by feed reader</a>"#)
        );
        assert!(html.contains("What changed this week"));
        assert!(
            html.contains(
                "<strong>Places freed</strong>: &lt;b&gt;Neglect&lt;/b&gt;, Thu 13 May, 3 places"
            ),
            "{html}"
        );
        assert!(html.contains("2 hours ago"));
        assert!(!html.contains("<b>Neglect"));
        assert!(page(&[]).contains("Nothing changed in the last 7 days in this view."));
    }

    #[test]
    fn feed_urls_carry_the_filter() {
        let f = Filter {
            source: Some("wsp".into()),
            categories: vec!["Child Neglect".into(), "A&B".into()],
            search: Some("level 2".into()),
            available: true,
            online: Some(false),
            days: None,
        };
        let query =
            "source=wsp&category=Child+Neglect&category=A%26B&q=level+2&available=1&online=0";
        let x = Links::Absolute("https://x.org");
        assert_eq!(
            feed_url(x, &f),
            format!("https://x.org/calendar.ics?{query}")
        );
        assert_eq!(
            webcal_url(x, &f),
            format!("webcal://x.org/calendar.ics?{query}")
        );
        assert_eq!(
            feed_url(Links::Static(None), &f),
            format!("calendar.ics?{query}")
        );
        assert_eq!(feed_url(Links::Root, &f), format!("/calendar.ics?{query}"));
        assert_eq!(
            webcal_url(Links::Root, &f),
            format!("/calendar.ics?{query}")
        );
        assert_eq!(
            webcal_url(x, &Filter::default()),
            "webcal://x.org/calendar.ics"
        );
    }

    #[test]
    fn relative_times() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let tz = chrono_tz::Europe::London;
        assert_eq!(
            present::ago(now - Duration::hours(2), now, tz),
            "2 hours ago"
        );
        assert_eq!(
            present::ago(now - Duration::minutes(1), now, tz),
            "1 minute ago"
        );
        assert_eq!(
            present::ago(now + Duration::seconds(5), now, tz),
            "just now"
        );
        assert_eq!(
            present::ago(now - Duration::days(30), now, tz),
            "on 1 November 2026"
        );
    }
}
