//! The detail page: its labelled fields and its sessions table, one session per row.

use super::*;

/// Parses a detail page (`/events/<id>`) into its sessions, one per row of the
/// sessions table (`SessionKey::nth(row)`, counting every data row so keys stay
/// put when an earlier row's date is filled in or fixed). Rows whose date or
/// times cannot be read are skipped with a warning; nothing is guessed.
///
/// Errors only when the page cannot be an event page at all (no event id in
/// its URL, no title).
pub fn parse_detail(
    html: &str,
    page_url: &Url,
    cfg: &EventBookingConfig,
    ctx: &SourceContext,
) -> Result<Vec<Session>, ParseError> {
    let sel = &*cfg.markup;
    let event_id = event_id_from_url(page_url)
        .ok_or_else(|| ParseError::new(page_url, "URL has no /events/<id>"))?;
    let url = detail_url(page_url).unwrap_or_else(|| page_url.clone());
    let doc = crate::platforms::parse_html(html, page_url)?;
    if let Some(depth) = too_deep(&doc) {
        return Err(ParseError::new(
            page_url,
            format!("nested {depth}+ elements deep: not a page of this site"),
        ));
    }
    let root = doc.root_element();

    let title_el = doc
        .select(&sel.detail_title)
        .find(|e| !normalise_text(*e).is_empty());
    let Some(title) = title_el.map(normalise_text) else {
        if ctx.probe.is_on() {
            let miss = FieldMiss::new(
                "title",
                Some("selectors.detail_title"),
                &cfg.selectors.detail_title,
                &page_text(&doc),
            );
            ctx.probe.missed(page_url, miss.required());
        }
        return Err(ParseError::new(
            page_url,
            "no title (detail_title selector matched nothing)",
        ));
    };

    let description_el = doc
        .select(&sel.description)
        .find(|e| !normalise_text(*e).is_empty());
    let description = description_el.map(|e| text_lines(e, &[]).join("\n"));

    let fields = Fields::read(&doc, &sel.labels);
    let category = fields.category.clone();
    let level = fields.level.clone();
    let prerequisites = fields.prerequisites.as_deref().map(strip_brackets);

    // Status and places: the Places field first, then any phrase on the page
    // outside the description (which may say "if the course is fully booked…").
    let mut skip: Vec<ElementRef<'_>> = Vec::new();
    skip.extend(description_el);
    skip.extend(title_el);
    let page_lines = text_lines(root, &skip);
    let mut avail = AvailabilityVote::default();
    if let Some(places) = &fields.places {
        avail.add_field(places);
    }
    for line in &page_lines {
        if let Some(found) = text::parse_availability(line) {
            avail.add(found);
        }
    }
    let (status, availability) = avail.result();
    if ctx.probe.is_on() {
        let found = Found {
            description: description.is_some(),
            places_said: status != Status::Scheduled || availability.spaces_left.is_some(),
        };
        report_misses(&doc, page_url, cfg, ctx, &fields, found);
    }

    let page_venue = fields.venue.as_deref().and_then(text::parse_venue);
    let base = SessionBase {
        ctx,
        event_id: &event_id,
        title: &title,
        category,
        level,
        prerequisites,
        description,
        status,
        availability,
        url: url.as_str(),
    };

    let rows = session_rows(&doc, &sel.sessions_table);
    let mut sessions = Vec::new();
    if rows.is_empty() {
        // No sessions table: a single session given as fields or loose lines.
        let date_text = fields.date.clone().or_else(|| {
            page_lines
                .iter()
                .find(|l| text::parse_date(l).is_ok())
                .cloned()
        });
        let time_text = fields.time.clone().or_else(|| {
            page_lines
                .iter()
                .find(|l| text::parse_time_range(l).is_ok())
                .cloned()
        });
        match (date_text, time_text) {
            (Some(d), Some(t)) => {
                let row = Row {
                    index: 1,
                    date: d,
                    start: t,
                    end: String::new(),
                    venue: None,
                };
                if let Some(s) = base.session(&row, page_venue.as_ref(), page_url) {
                    sessions.push(s);
                }
            }
            _ => {
                tracing::warn!(url = %page_url, "detail page has no sessions table and no date and time");
                if ctx.probe.is_on() {
                    let miss = FieldMiss::new(
                        "sessions",
                        Some("selectors.sessions_table"),
                        &cfg.selectors.sessions_table,
                        &page_text(&doc),
                    );
                    ctx.probe.missed(page_url, miss.required());
                }
            }
        }
    } else {
        for row in rows {
            let venue = row
                .venue
                .as_deref()
                .and_then(text::parse_venue)
                .or_else(|| page_venue.clone());
            if let Some(s) = base.session(&row, venue.as_ref(), page_url) {
                sessions.push(s);
            }
        }
    }
    Ok(sessions)
}

// ---------------------------------------------------------------------------
// Detail page fields and sessions

/// What a detail page gave of the fields a check asks about.
struct Found {
    description: bool,
    /// A number of places (from the Places field or a phrase), or a status
    /// that needs none.
    places_said: bool,
}

/// Tells the probe which selectors and label patterns found nothing on
/// this page, with what they looked at.
fn report_misses(
    doc: &Html,
    page_url: &Url,
    cfg: &EventBookingConfig,
    ctx: &SourceContext,
    fields: &Fields,
    found: Found,
) {
    let labels_seen = if fields.labels.is_empty() {
        "no labelled fields on the page".to_string()
    } else {
        format!("labels on the page: {}", fields.labels.join(", "))
    };
    let probe = &ctx.probe;
    if !found.description {
        let miss = FieldMiss::new(
            "description",
            Some("selectors.description"),
            &cfg.selectors.description,
            &format!("classes on the page: {}", page_classes(doc)),
        );
        probe.missed(page_url, miss);
    }
    let l = &cfg.labels;
    let optional = [
        ("category", "labels.category", &l.category, &fields.category),
        ("level", "labels.level", &l.level, &fields.level),
        (
            "prerequisites",
            "labels.prerequisites",
            &l.prerequisites,
            &fields.prerequisites,
        ),
    ];
    for (field, key, pattern, value) in optional {
        if value.is_none() {
            probe.missed(page_url, FieldMiss::new(field, Some(key), pattern, &labels_seen));
        }
    }
    if !found.places_said {
        // A Places field whose wording could not be read is not the label's fault.
        let miss = match &fields.places {
            Some(value) => FieldMiss::new("number of places", None, "", value),
            None => FieldMiss::new("places", Some("labels.places"), &l.places, &labels_seen),
        };
        probe.missed(page_url, miss.required());
    }
}

/// The page's text on one line, for a miss that found nothing at all.
fn page_text(doc: &Html) -> String {
    text_lines(doc.root_element(), &[]).join(" / ")
}

/// The distinct class names in the page's `<body>`, in page order.
fn page_classes(doc: &Html) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for el in doc.root_element().descendants().filter_map(ElementRef::wrap) {
        for c in el.value().classes() {
            if !seen.contains(&c) {
                seen.push(c);
            }
        }
    }
    if seen.is_empty() {
        "none".into()
    } else {
        seen.join(", ")
    }
}

/// The labelled fields of a detail page.
#[derive(Debug, Default)]
pub(super) struct Fields {
    /// Every label read, in page order (for a check's report).
    labels: Vec<String>,
    category: Option<String>,
    level: Option<String>,
    prerequisites: Option<String>,
    places: Option<String>,
    venue: Option<String>,
    date: Option<String>,
    time: Option<String>,
}

impl Fields {
    /// Reads `<dt>label</dt><dd>value</dd>` pairs, then `Label: value` lines
    /// anywhere on the page for labels the list did not have.
    fn read(doc: &Html, labels: &LabelPatterns) -> Self {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for dt in doc.select(&DT) {
            let label = normalise_text(dt);
            let value = dt
                .next_siblings()
                .filter_map(ElementRef::wrap)
                .take_while(|e| e.value().name() != "dt")
                .filter(|e| e.value().name() == "dd")
                .map(normalise_text)
                .collect::<Vec<_>>()
                .join(" ");
            pairs.push((label.trim_end_matches(':').trim().to_string(), value));
        }
        for line in text_lines(doc.root_element(), &[]) {
            if let Some(c) = LABELLED.captures(&line) {
                pairs.push((c["l"].to_string(), c["v"].trim().to_string()));
            }
        }
        let mut f = Fields::default();
        for (label, value) in pairs {
            if value.is_empty() {
                continue;
            }
            if !f.labels.contains(&label) {
                f.labels.push(label.clone());
            }
            let slot = if labels.category.is_match(&label) {
                &mut f.category
            } else if labels.prerequisites.is_match(&label) {
                &mut f.prerequisites
            } else if labels.level.is_match(&label) {
                &mut f.level
            } else if labels.places.is_match(&label) {
                &mut f.places
            } else if VENUE_LABEL.is_match(&label) {
                &mut f.venue
            } else if DATE_LABEL.is_match(&label) {
                &mut f.date
            } else if TIME_LABEL.is_match(&label) {
                &mut f.time
            } else {
                continue;
            };
            if slot.is_none() {
                // "Places: available: 12" keeps its label words for the phrase reader
                *slot = Some(
                    if labels.places.is_match(&label) && value.parse::<u32>().is_err() {
                        format!("{label}: {value}")
                    } else {
                        value
                    },
                );
            }
        }
        f
    }
}

/// One data row of the sessions table, as text.
#[derive(Debug, Clone)]
pub(super) struct Row {
    /// 1-based among the table's data rows.
    index: usize,
    date: String,
    /// The Start cell, or a Time cell holding a whole range.
    start: String,
    end: String,
    venue: Option<String>,
}

/// Columns of a sessions table, located by header text.
#[derive(Debug, Default)]
pub(super) struct Columns {
    date: Option<usize>,
    start: Option<usize>,
    end: Option<usize>,
    time: Option<usize>,
    venue: Option<usize>,
}

pub(super) static COL_DATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(?:session\s+)?(?:date|day)s?\b").expect("static regex"));
pub(super) static COL_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:start|from|begins?)\b").expect("static regex"));
pub(super) static COL_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(?:end|finish|until|to)\b").expect("static regex"));
pub(super) static COL_TIME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\btimes?\b").expect("static regex"));
pub(super) static COL_VENUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:venue|location|where|address)\b").expect("static regex")
});

impl Columns {
    fn from_header(cells: &[String]) -> Option<Self> {
        let mut c = Columns::default();
        for (i, h) in cells.iter().enumerate() {
            if c.date.is_none() && COL_DATE.is_match(h) {
                c.date = Some(i);
            } else if c.start.is_none() && COL_START.is_match(h) {
                c.start = Some(i);
            } else if c.end.is_none() && COL_END.is_match(h) {
                c.end = Some(i);
            } else if c.time.is_none() && COL_TIME.is_match(h) {
                c.time = Some(i);
            } else if c.venue.is_none() && COL_VENUE.is_match(h) {
                c.venue = Some(i);
            }
        }
        c.date.is_some().then_some(c)
    }
}

/// The data rows of the first table (by selector) that has a header row naming
/// a Date column.
pub(super) fn session_rows(doc: &Html, table_sel: &Selector) -> Vec<Row> {
    for table in doc.select(table_sel) {
        // the table's own rows and cells, not those of a table nested in a cell
        let rows: Vec<Vec<String>> = own_rows(table)
            .map(|tr| {
                tr.child_elements()
                    .filter(|c| matches!(c.value().name(), "th" | "td"))
                    .map(normalise_text)
                    .collect()
            })
            .collect();
        let Some(header_at) = rows.iter().position(|r| Columns::from_header(r).is_some()) else {
            continue;
        };
        let Some(cols) = Columns::from_header(&rows[header_at]) else {
            continue;
        };
        let cell = |r: &[String], i: Option<usize>| -> String {
            i.and_then(|i| r.get(i)).cloned().unwrap_or_default()
        };
        let mut out = Vec::new();
        let data = rows
            .iter()
            .skip(header_at + 1)
            .filter(|r| r.iter().any(|c| !c.is_empty()));
        for (n, r) in data.enumerate() {
            let start = match (cols.start, cols.time) {
                (Some(_), _) => cell(r, cols.start),
                (None, Some(_)) => cell(r, cols.time),
                (None, None) => String::new(),
            };
            out.push(Row {
                index: n + 1,
                date: cell(r, cols.date),
                start,
                end: cell(r, cols.end),
                venue: cols
                    .venue
                    .map(|i| cell(r, Some(i)))
                    .filter(|v| !v.is_empty()),
            });
        }
        return out;
    }
    Vec::new()
}

/// The `<tr>`s of a table itself (directly or in its thead/tbody/tfoot).
pub(super) fn own_rows<'a>(table: ElementRef<'a>) -> impl Iterator<Item = ElementRef<'a>> {
    table.child_elements().flat_map(|c| {
        let direct = (c.value().name() == "tr").then_some(c);
        let grouped = matches!(c.value().name(), "thead" | "tbody" | "tfoot")
            .then(|| c.child_elements().filter(|r| r.value().name() == "tr"))
            .into_iter()
            .flatten();
        direct.into_iter().chain(grouped)
    })
}

impl SessionBase<'_> {
    /// A session from a table row, or `None` (with a warning) when its date or
    /// times cannot be read.
    pub(super) fn session(
        &self,
        row: &Row,
        venue: Option<&Venue>,
        page_url: &Url,
    ) -> Option<Session> {
        let date = match text::parse_date(&row.date) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(url = %page_url, event_id = %self.event_id, row = row.index, text = %row.date, error = %e, "session date unreadable; row skipped");
                let miss = FieldMiss::new("session date", None, "", &row.date);
                self.ctx.probe.missed(page_url, miss);
                return None;
            }
        };
        // Start and End cells read as one range, so "9:30" + "12:30pm" shares the pm;
        // else a cell (or the date cell) that holds a whole range.
        let joined = format!("{} - {}", row.start, row.end);
        let time = [joined.as_str(), row.start.as_str(), row.date.as_str()]
            .into_iter()
            .find_map(|t| text::parse_time_range(t).ok())
            .or_else(|| {
                Some(TimeRange {
                    start: text::parse_time(&row.start).ok()?,
                    end: text::parse_time(&row.end).ok()?,
                })
            });
        let Some(time) = time else {
            let looked_at = format!("{} {} {}", row.date, row.start, row.end);
            tracing::warn!(url = %page_url, event_id = %self.event_id, row = row.index, text = %looked_at, "session times unreadable; row skipped");
            let miss = FieldMiss::new("session times", None, "", &looked_at);
            self.ctx.probe.missed(page_url, miss);
            return None;
        };
        self.build(row.index, date, time, venue, page_url)
    }
}
