//! The listing pages: finding each event's entry, its link and what the entry alone says.

use super::*;

/// One page of the listing: events in page order, one per event id, and the
/// pager's next page on the same host.
pub type ListingPage = crate::source::ListingPage<ListingEntry>;

/// One event as the listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingEntry {
    /// Digits of `/events/<id>`.
    pub event_id: String,
    /// The detail page, absolute, without query or fragment.
    pub url: Url,
    /// The text of the entry's link to its detail page (else its heading),
    /// whitespace normalised; never empty.
    pub title: String,
    /// The entry's category line without its label, else the text of its
    /// category element; `None` when it shows neither.
    pub category: Option<String>,
    /// The entry's normalised text, so a crawler can tell whether it changed.
    pub fingerprint: String,
    /// What the listing alone says (first date only), as a fallback for when the
    /// detail page cannot be fetched; `None` when it lacks a date or a time.
    pub session: Option<Session>,
}

/// Parses one page of the listing (`/events-list[?c=ID][&page=N]`).
///
/// A page with no recognisable entries gives `Ok` with none; when it does not
/// even say "no events" a warning is logged, since the markup may have changed.
pub fn parse_listing(
    html: &str,
    page_url: &Url,
    cfg: &EventBookingConfig,
    ctx: &SourceContext,
) -> Result<ListingPage, ParseError> {
    let sel = &*cfg.markup;
    let doc = match crate::platforms::parse_html(html, page_url) {
        Ok(doc) => doc,
        Err(e) => {
            tracing::warn!(error = %e, "listing page ignored");
            return Ok(ListingPage {
                entries: Vec::new(),
                next: None,
            });
        }
    };
    if let Some(depth) = too_deep(&doc) {
        tracing::warn!(url = %page_url, depth, "listing page nested too deeply to be a real page; ignored");
        return Ok(ListingPage {
            entries: Vec::new(),
            next: None,
        });
    }
    let entries = find_entries(&doc, sel, page_url);
    let mut out = Vec::with_capacity(entries.len());
    for (id, el) in entries {
        if let Some(entry) = read_entry(el, &id, sel, page_url, ctx) {
            out.push(entry);
        }
    }
    if out.is_empty() {
        let body = text_lines(doc.root_element(), &[]).join(" ");
        if !NO_EVENTS.is_match(&body) {
            tracing::warn!(url = %page_url, "listing page has no event entries and does not say it is empty; has the markup changed?");
            let miss = FieldMiss::new(
                "entries",
                Some("selectors.listing_entry"),
                &cfg.selectors.listing_entry,
                &body,
            );
            ctx.probe.missed(page_url, miss.required());
        }
    }
    Ok(ListingPage {
        entries: out,
        next: next_link(&doc, &sel.next_page, page_url),
    })
}

// ---------------------------------------------------------------------------
// Listing entries

/// The event links inside `el`, as (event id, canonical detail URL, link): those
/// `link_sel` picks, or when it picks none (e.g. a relative `events/12` that
/// `a[href*='/events/']` cannot see), every link that resolves to an event.
pub(super) fn event_links<'a>(
    el: ElementRef<'a>,
    link_sel: &Selector,
    page_url: &Url,
) -> Vec<(String, Url, ElementRef<'a>)> {
    let found = resolve_event_links(el.select(link_sel), page_url);
    if found.is_empty() {
        resolve_event_links(el.select(&ANY_LINK), page_url)
    } else {
        found
    }
}

pub(super) fn resolve_event_links<'a>(
    links: impl Iterator<Item = ElementRef<'a>>,
    page_url: &Url,
) -> Vec<(String, Url, ElementRef<'a>)> {
    links
        .filter_map(|a| {
            let u = page_url.join(a.attr("href")?.trim()).ok()?;
            if !same_origin(&u, page_url) {
                return None;
            }
            let d = detail_url(&u)?;
            Some((event_id_from_url(&d)?, d, a))
        })
        .collect()
}

/// The listing's entries as (event id, element), one per id, in page order.
///
/// An entry is an element matching `listing_entry` that links to exactly one
/// event; when several nested elements qualify the innermost wins. When the
/// selector finds nothing, each event link's entry is its largest ancestor that
/// links to no other event. Only elements up to `MAX_ENTRY_DEPTH` levels above
/// a link count, which keeps a hostile, deeply nested page linear to read.
pub(super) fn find_entries<'a>(
    doc: &'a Html,
    sel: &Compiled,
    page_url: &Url,
) -> Vec<(String, ElementRef<'a>)> {
    // every link to an event counts here, whether or not `entry_link` sees it
    // (e.g. a relative `events/12`); `entry_link` only ranks links in an entry
    let links = resolve_event_links(doc.select(&ANY_LINK), page_url);
    // which event(s) each element near a link links to
    let mut under: HashMap<_, Linked<'_>> = HashMap::new();
    for (id, _, link) in &links {
        for anc in link.ancestors().take(MAX_ENTRY_DEPTH) {
            let slot = under.entry(anc.id()).or_insert(Linked::One(id));
            if matches!(slot, Linked::One(other) if *other != id.as_str()) {
                *slot = Linked::Many;
            }
        }
    }
    let single = |el: ElementRef<'_>| match under.get(&el.id()) {
        Some(Linked::One(id)) => Some(id.to_string()),
        _ => None,
    };

    let mut order: Vec<String> = Vec::new();
    let mut chosen: HashMap<String, (ElementRef<'a>, usize)> = HashMap::new();
    for el in doc.select(&sel.listing_entry) {
        let Some(id) = single(el) else { continue };
        let depth = el.ancestors().count();
        match chosen.get(&id) {
            Some((_, d)) if *d >= depth => {}
            Some(_) => {
                chosen.insert(id, (el, depth));
            }
            None => {
                order.push(id.clone());
                chosen.insert(id, (el, depth));
            }
        }
    }
    if chosen.is_empty() {
        for (id, _, link) in &links {
            if chosen.contains_key(id) {
                continue;
            }
            let best = link
                .ancestors()
                .take(MAX_ENTRY_DEPTH)
                .filter_map(ElementRef::wrap)
                .take_while(|a| !matches!(a.value().name(), "body" | "html"))
                .take_while(|a| single(*a).as_deref() == Some(id.as_str()))
                .last();
            if let Some(b) = best {
                order.push(id.clone());
                chosen.insert(id.clone(), (b, 0));
            }
        }
    }
    order
        .into_iter()
        .filter_map(|id| chosen.get(&id).map(|(el, _)| (id.clone(), *el)))
        .collect()
}

/// The events an element links to, as far as an entry cares: one, or several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Linked<'a> {
    One(&'a str),
    Many,
}

/// How far above its link the fallback looks for an entry's element.
pub(super) const MAX_ENTRY_DEPTH: usize = 16;

/// What the lines of an entry (or a page) say, each line classified by its text.
#[derive(Debug, Default)]
pub(super) struct Classified {
    date: Option<NaiveDate>,
    time: Option<TimeRange>,
    venue: Option<Venue>,
    category: Option<String>,
    availability: AvailabilityVote,
}

pub(super) fn classify(
    lines: &[String],
    title: &str,
    labels: &LabelPatterns,
    page_url: &Url,
) -> Classified {
    let mut c = Classified::default();
    for line in lines {
        if line == title {
            continue;
        }
        if labels.category.is_match(line) {
            if c.category.is_none() {
                c.category = Some(strip_label(line, &labels.category)).filter(|s| !s.is_empty());
            }
            continue;
        }
        let mut known = false;
        match text::parse_date(line) {
            Ok(d) => {
                known = true;
                c.date.get_or_insert(d);
            }
            Err(
                e @ (text::TextError::InvalidDate(_) | text::TextError::WeekdayMismatch { .. }),
            ) => {
                known = true;
                tracing::warn!(url = %page_url, text = %line, error = %e, "unreadable date in listing entry");
            }
            Err(_) => {}
        }
        if let Ok(t) = text::parse_time_range(line) {
            known = true;
            c.time.get_or_insert(t);
        }
        if let Some(a) = text::parse_availability(line) {
            known = true;
            c.availability.add(a);
        }
        let labelled_venue = VENUE_LABEL.is_match(line);
        if c.venue.is_none() && (labelled_venue || (!known && text::looks_like_venue(line))) {
            c.venue = text::parse_venue(line);
        }
    }
    c
}

pub(super) fn read_entry(
    el: ElementRef<'_>,
    id: &str,
    sel: &Compiled,
    page_url: &Url,
    ctx: &SourceContext,
) -> Option<ListingEntry> {
    let url = event_links(el, &sel.entry_link, page_url)
        .first()
        .map(|(_, u, _)| u.clone())?;
    let links = resolve_event_links(el.select(&ANY_LINK), page_url);
    // the title is the text of a link to the detail page itself (not "Book now")
    let title = links
        .iter()
        .filter(|(_, _, a)| {
            a.attr("href")
                .and_then(|h| page_url.join(h.trim()).ok())
                .is_some_and(|u| !is_booking_url(&u))
        })
        .map(|(_, _, a)| normalise_text(*a))
        .find(|t| !t.is_empty() && !NEXT_TEXT.is_match(t) && !t.eq_ignore_ascii_case("book now"))
        .or_else(|| first_text(el, &HEADING));
    let Some(title) = title else {
        tracing::warn!(url = %page_url, event_id = %id, "listing entry has no title; skipped");
        return None;
    };
    let lines = text_lines_capped(el, &[], ENTRY_NODES);
    let mut c = classify(&lines, &title, &sel.labels, page_url);
    if c.category.is_none() {
        c.category = el
            .select(&CATEGORY_CLASS)
            .map(normalise_text)
            .map(|t| strip_label(&t, &sel.labels.category))
            .find(|t| !t.is_empty());
    }
    let (status, availability) = c.availability.result();
    let session = match (c.date, c.time) {
        (Some(date), Some(time)) => {
            let base = SessionBase {
                ctx,
                event_id: id,
                title: &title,
                category: c.category.clone(),
                level: None,
                prerequisites: None,
                description: None,
                status,
                availability,
                url: url.as_str(),
            };
            base.build(1, date, time, c.venue.as_ref(), page_url)
        }
        _ => None,
    };
    Some(ListingEntry {
        event_id: id.to_string(),
        url,
        title,
        category: c.category,
        fingerprint: lines.join(" | "),
        session,
    })
}

// ---------------------------------------------------------------------------
// Availability from several phrases

/// Combines availability phrases found on a page: the gravest status wins
/// (cancelled > closed > full > scheduled); numbers come from the Places field
/// when it has them, else from the first phrase that has them.
#[derive(Debug, Default)]
pub(super) struct AvailabilityVote {
    status: Option<Status>,
    field: Option<Availability>,
    first: Option<Availability>,
    waitlist: bool,
}

pub(super) fn gravity(s: Status) -> u8 {
    match s {
        Status::Scheduled => 0,
        Status::Full => 1,
        Status::Closed => 2,
        Status::Cancelled => 3,
        Status::Withdrawn => 4,
    }
}

impl AvailabilityVote {
    pub(super) fn add(&mut self, (status, a): (Status, Availability)) {
        if self.status.is_none_or(|s| gravity(status) > gravity(s)) {
            self.status = Some(status);
        }
        if self.first.is_none() && (a.spaces_left.is_some() || a.capacity.is_some()) {
            self.first = Some(a);
        }
        self.waitlist |= a.waitlist;
    }

    /// The Places field: a phrase, or a bare number of places left.
    pub(super) fn add_field(&mut self, value: &str) {
        let found = text::parse_availability(value).or_else(|| {
            let v = value.trim();
            let n: u32 = v.parse().ok()?;
            let status = if n == 0 {
                Status::Full
            } else {
                Status::Scheduled
            };
            Some((status, Availability::spaces(n)))
        });
        if let Some(found) = found {
            if found.1.spaces_left.is_some() || found.1.capacity.is_some() {
                self.field = Some(found.1);
            }
            self.add(found);
        }
    }

    pub(super) fn result(&self) -> (Status, Availability) {
        let status = self.status.unwrap_or(Status::Scheduled);
        let mut a = self.field.or(self.first).unwrap_or_default();
        a.waitlist |= self.waitlist;
        // No phrase about places anywhere on the page: the site said nothing.
        a.unpublished = self.status.is_none();
        (status, a)
    }
}
