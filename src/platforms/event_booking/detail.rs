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
    let doc = parse_page(html, page_url)?;
    let title_el = title_element(&doc, page_url, cfg, ctx)?;
    let description_el = first_with_text(&doc, &sel.description);
    let description = description_el.map(|e| text_lines(e, &[]).join("\n"));
    let fields = Fields::read(&doc, &sel.labels);

    // Status and places: the Places field first, then any phrase on the page
    // outside the description (which may say "if the course is fully booked…").
    let skip: Vec<ElementRef<'_>> = description_el.into_iter().chain([title_el]).collect();
    let page_lines = text_lines(doc.root_element(), &skip);
    let (status, availability) = availability_of(&fields, &page_lines);
    if ctx.probe.is_on() {
        let found = Found {
            description: description.is_some(),
            places_said: status != Status::Scheduled || availability.spaces_left.is_some(),
        };
        report_misses(&doc, page_url, cfg, ctx, &fields, found);
    }

    let title = normalise_text(title_el);
    let page_venue = fields.venue.as_deref().and_then(text::parse_venue);
    let base = SessionBase {
        ctx,
        event_id: &event_id,
        title: &title,
        category: fields.category.clone(),
        level: fields.level.clone(),
        prerequisites: fields.prerequisites.as_deref().map(strip_brackets),
        description,
        status,
        availability,
        url: url.as_str(),
    };
    let rows = rows_of(&doc, page_url, cfg, ctx, &fields, &page_lines);
    let sessions = rows.iter().filter_map(|row| {
        // A row without its own venue is held at the page's.
        let venue = row
            .venue
            .as_deref()
            .and_then(text::parse_venue)
            .or_else(|| page_venue.clone());
        base.session(row, venue.as_ref(), page_url)
    });
    Ok(sessions.collect())
}

/// The page's document, refused when it nests deeper than a real page does.
fn parse_page(html: &str, page_url: &Url) -> Result<Html, ParseError> {
    let doc = crate::platforms::parse_html(html, page_url)?;
    if let Some(depth) = too_deep(&doc) {
        return Err(ParseError::new(
            page_url,
            format!("nested {depth}+ elements deep: not a page of this site"),
        ));
    }
    Ok(doc)
}

/// The first element `sel` matches that has any text.
fn first_with_text<'a>(doc: &'a Html, sel: &Selector) -> Option<ElementRef<'a>> {
    doc.select(sel).find(|e| !normalise_text(*e).is_empty())
}

/// The title element: a page without one cannot be an event page, which is
/// an error (and a required miss for the probe).
fn title_element<'a>(
    doc: &'a Html,
    page_url: &Url,
    cfg: &EventBookingConfig,
    ctx: &SourceContext,
) -> Result<ElementRef<'a>, ParseError> {
    first_with_text(doc, &cfg.markup.detail_title).ok_or_else(|| {
        let pattern = &cfg.selectors.detail_title;
        report_required_miss(
            doc,
            page_url,
            ctx,
            "title",
            "selectors.detail_title",
            pattern,
        );
        ParseError::new(page_url, "no title (detail_title selector matched nothing)")
    })
}

/// Status and places from the Places field, else from the phrases of
/// `page_lines`.
fn availability_of(fields: &Fields, page_lines: &[String]) -> (Status, Availability) {
    let mut avail = AvailabilityVote::default();
    if let Some(places) = &fields.places {
        avail.add_field(places);
    }
    for found in page_lines
        .iter()
        .filter_map(|l| text::parse_availability(l))
    {
        avail.add(found);
    }
    avail.result()
}

/// The session rows: the sessions table's, else one session given as fields
/// or loose lines. None (with a warning, and a required miss for the probe)
/// when the page has no table and no date and time.
fn rows_of(
    doc: &Html,
    page_url: &Url,
    cfg: &EventBookingConfig,
    ctx: &SourceContext,
    fields: &Fields,
    page_lines: &[String],
) -> Vec<Row> {
    let rows = session_rows(doc, &cfg.markup.sessions_table);
    if !rows.is_empty() {
        return rows;
    }
    let lone = lone_row(fields, page_lines);
    if lone.is_none() {
        tracing::warn!(url = %page_url, "detail page has no sessions table and no date and time");
        let pattern = &cfg.selectors.sessions_table;
        report_required_miss(
            doc,
            page_url,
            ctx,
            "sessions",
            "selectors.sessions_table",
            pattern,
        );
    }
    lone.into_iter().collect()
}

/// The one session of a page without a sessions table: its Date and Time
/// fields, else the first lines that read as a date and as a time range.
fn lone_row(fields: &Fields, page_lines: &[String]) -> Option<Row> {
    let first_line = |reads: fn(&str) -> bool| page_lines.iter().find(|l| reads(l)).cloned();
    let date = fields
        .date
        .clone()
        .or_else(|| first_line(|l| text::parse_date(l).is_ok()));
    let time = fields
        .time
        .clone()
        .or_else(|| first_line(|l| text::parse_time_range(l).is_ok()));
    Some(Row {
        index: 1,
        date: date?,
        start: time?,
        end: String::new(),
        venue: None,
    })
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

/// Tells the probe (when on) that a field the calendar needs was not found,
/// with the page's whole text as what the selector looked at.
fn report_required_miss(
    doc: &Html,
    page_url: &Url,
    ctx: &SourceContext,
    field: &'static str,
    key: &'static str,
    pattern: &str,
) {
    if ctx.probe.is_on() {
        let miss = FieldMiss::new(field, Some(key), pattern, &page_text(doc));
        ctx.probe.missed(page_url, miss.required());
    }
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
            probe.missed(
                page_url,
                FieldMiss::new(field, Some(key), pattern, &labels_seen),
            );
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
    for el in doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
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
    LazyLock::new(|| static_regex(r"(?i)^\s*(?:session\s+)?(?:date|day)s?\b"));
pub(super) static COL_START: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"(?i)\b(?:start|from|begins?)\b"));
pub(super) static COL_END: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"(?i)\b(?:end|finish|until|to)\b"));
pub(super) static COL_TIME: LazyLock<Regex> = LazyLock::new(|| static_regex(r"(?i)\btimes?\b"));
pub(super) static COL_VENUE: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"(?i)\b(?:venue|location|where|address)\b"));

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
