//! The public website (no token): the organiser's "show more" list and each
//! event page (its JSON-LD and embedded server data).

use super::*;

/// `{base}/org/{organizer_id}/showmore/?type=future&page_size=50&page={page}`.
pub fn showmore_url(base: &Url, organizer_id: &str, page: u32) -> Url {
    let mut url = with_path(base, &["org", organizer_id, "showmore", ""]);
    url.set_query(Some(&format!("type=future&page_size=50&page={page}")));
    url
}

/// The event page of `record_url` on the configured site `base`: keeps the path
/// (`/e/<slug>-tickets-<id>`) and drops the host, so a configured base (or a test
/// server) is used and the crawler never wanders to another host. `None` when
/// the address is not an event page.
pub fn event_page_url(base: &Url, record_url: &str) -> Option<Url> {
    let parsed = Url::parse(record_url).ok()?;
    let path = parsed.path();
    if !path.starts_with("/e/") {
        return None;
    }
    let mut url = base.join(path).ok()?;
    url.set_query(None);
    url.set_fragment(None);
    Some(url)
}

// ---------------------------------------------------------------------------
// Public website: showmore list

/// Parses one page of `/org/{id}/showmore/`: `{success, data {events, has_next_page}}`.
pub fn parse_showmore(
    body: &[u8],
    page_url: &Url,
    ctx: &SourceContext,
) -> Result<ShowmorePage, ParseError> {
    let root = parse_json(body, page_url)?;
    if root.get("success").and_then(Value::as_bool) == Some(false) {
        let why = root
            .get("error")
            .or_else(|| root.get("message"))
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .unwrap_or_else(|| "no reason given".into());
        return Err(ParseError::new(
            page_url,
            format!("the organiser's event list answered success=false ({why})"),
        ));
    }
    let data = root.get("data").unwrap_or(&root);
    let events = data
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(page_url, "no `data.events` list in the answer"))?;
    let records: Vec<EventRecord> = events
        .iter()
        .filter_map(|v| record_or_warn(v, page_url, ctx, Access::Public))
        .collect();
    let mut has_next_page = data
        .get("has_next_page")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if has_next_page && events.is_empty() {
        // An empty page that promises more would make the crawler loop for ever.
        tracing::warn!(url = %page_url, "empty page announces a next page; stopping");
        has_next_page = false;
    }
    Ok(ShowmorePage {
        events: records,
        has_next_page,
    })
}

// ---------------------------------------------------------------------------
// Public website: event page

/// Reads an event page (`/e/<slug>-tickets-<id>`) for what the showmore list
/// lacks: cancellation (JSON-LD `eventStatus`) and places (`window.__SERVER_DATA__`
/// ticket classes, else JSON-LD `offers.availability`). Fails only when the page
/// has neither, which means it is not an event page (a login wall, a CDN page).
pub fn parse_event_page(html: &str, page_url: &Url) -> Result<PageFacts, ParseError> {
    refuse_unreadable(html, page_url)?;
    let doc = crate::platforms::parse_html(html, page_url)?;
    let scripts = PageScripts::read(&doc, page_url)?;
    let ld_event = scripts.ld_event(page_url);
    let classes = scripts
        .server_data
        .as_ref()
        .and_then(|d| d.pointer("/event_listing_response/tickets/ticketClasses"))
        .and_then(Value::as_array);
    if ld_event.is_none() && classes.is_none() {
        return Err(ParseError::new(
            page_url,
            "neither a JSON-LD Event nor window.__SERVER_DATA__ ticket classes: not an Eventbrite event page?",
        ));
    }
    let mut facts = PageFacts::default();
    if let Some(ev) = ld_event {
        read_ld_event(ev, &mut facts);
    }
    if let Some(classes) = classes {
        read_ticket_classes(classes, &mut facts);
    }
    Ok(facts)
}

/// Refuses, before the HTML parse (which is slow on pathological markup), a
/// page too large to read or one that cannot hold what is read (CDN and login
/// pages).
fn refuse_unreadable(html: &str, page_url: &Url) -> Result<(), ParseError> {
    if html.len() > MAX_BODY_BYTES {
        return Err(ParseError::new(
            page_url,
            format!("page of {} bytes is too large to read", html.len()),
        ));
    }
    if !html.contains("ld+json") && !html.contains("__SERVER_DATA__") {
        return Err(ParseError::new(
            page_url,
            "neither JSON-LD nor window.__SERVER_DATA__: not an Eventbrite event page?",
        ));
    }
    Ok(())
}

/// What the inline scripts of an event page hold.
struct PageScripts {
    /// The JSON-LD `Event` nodes, in page order.
    ld_nodes: Vec<Value>,
    /// The first `window.__SERVER_DATA__` object.
    server_data: Option<Value>,
}

impl PageScripts {
    /// Reads every inline script; an unreadable JSON-LD block is skipped with
    /// a warning naming the page.
    fn read(doc: &Html, page_url: &Url) -> Result<Self, ParseError> {
        let scripts =
            Selector::parse("script").map_err(|e| ParseError::new(page_url, e.to_string()))?;
        let mut found = PageScripts {
            ld_nodes: Vec::new(),
            server_data: None,
        };
        for script in doc.select(&scripts) {
            if script.value().attr("src").is_some() {
                continue;
            }
            let text: String = script.text().collect();
            let is_ld = script
                .value()
                .attr("type")
                .is_some_and(|t| t.to_ascii_lowercase().contains("ld+json"));
            if is_ld {
                match serde_json::from_str::<Value>(text.trim()) {
                    Ok(v) => collect_ld_events(v, &mut found.ld_nodes),
                    Err(e) => {
                        tracing::warn!(url = %page_url, "unreadable JSON-LD block skipped: {e}")
                    }
                }
            } else if found.server_data.is_none() && text.contains("__SERVER_DATA__") {
                found.server_data = extract_server_data(&text, page_url);
            }
        }
        Ok(found)
    }

    /// The JSON-LD event whose `url` ends in the page's event id, else the first.
    fn ld_event(&self, page_url: &Url) -> Option<&Value> {
        let event_id = trailing_digits(page_url.path());
        self.ld_nodes
            .iter()
            .find(|n| {
                !event_id.is_empty()
                    && n.get("url").and_then(Value::as_str).is_some_and(|u| {
                        trailing_digits(u.split('?').next().unwrap_or(u)) == event_id
                    })
            })
            .or_else(|| self.ld_nodes.first())
    }
}

/// Cancellation and sold-out offers from the page's JSON-LD event, read the
/// one schema.org way, as for `schema-org` sources.
fn read_ld_event(ev: &Value, facts: &mut PageFacts) {
    // Only a postponement writes a description where there was none.
    let (status, note) = status_of(ev, None);
    if status == Status::Cancelled {
        facts.status = Some(Status::Cancelled);
        facts.postponed = note.is_some();
    }
    facts.sold_out = offers_sold_out(ev.get("offers"));
}

/// Places from the server data's ticket classes (hidden ones left out), when
/// any class was counted; no places left, or every class sold out, is sold out.
fn read_ticket_classes(classes: &[Value], facts: &mut PageFacts) {
    let mut totals = TicketTotals::default();
    let mut all_sold_out = true;
    for class in classes {
        if flag(class, "hidden") || flag(class, "isHidden") {
            continue;
        }
        totals.add_class(
            class.get("quantityRemaining").and_then(count),
            class.get("capacity").and_then(count),
        );
        let state = class.get("onSaleStatusEnum").and_then(Value::as_str);
        all_sold_out &= state == Some("SOLD_OUT");
    }
    if totals.counted > 0 {
        facts.availability = Some(Availability {
            spaces_left: totals.spaces_left,
            capacity: totals.capacity,
            waitlist: false,
            unpublished: false,
        });
        facts.sold_out |= all_sold_out || totals.spaces_left == Some(0);
    }
}

/// Merges what an event page said into a record from a list (either path).
/// Cancellation wins; page counts replace list counts (the page is the fresher,
/// more direct read); a sold-out page makes a scheduled event full.
pub fn apply_page_facts(record: &mut EventRecord, facts: &PageFacts) {
    if facts.status == Some(Status::Cancelled) {
        record.status = Status::Cancelled;
    }
    if facts.postponed {
        record.description = Some(postponed(record.description.take()));
    }
    if let Some(a) = facts.availability {
        if a.spaces_left.is_some() {
            record.availability.spaces_left = a.spaces_left;
        }
        if a.capacity.is_some() {
            record.availability.capacity = a.capacity;
        }
        record.availability.waitlist |= a.waitlist;
    }
    settle_full(record, facts.sold_out);
}

/// A scheduled event with no places is full; a full event says 0 places left
/// when no count says otherwise. Cancelled stays cancelled, and full is never
/// undone here: the platform's own sold-out flag knows of holds counts don't show.
pub(super) fn settle_full(record: &mut EventRecord, sold_out: bool) {
    if record.status == Status::Scheduled
        && (sold_out || record.availability.spaces_left == Some(0))
    {
        record.status = Status::Full;
    }
    if sold_out && record.availability.spaces_left.is_none() {
        record.availability.spaces_left = Some(0);
    }
}

/// Finds `window.__SERVER_DATA__ = {…};` in a script and parses the object. The
/// object is taken by balancing braces outside strings, because its strings can
/// hold `};` and so the first `};` is not necessarily its end.
pub(super) fn extract_server_data(script: &str, page_url: &Url) -> Option<Value> {
    let at = script.find("__SERVER_DATA__")?;
    let after = &script[at + "__SERVER_DATA__".len()..];
    let after = after.trim_start().strip_prefix('=')?.trim_start();
    let Some(len) = balanced_object_len(after) else {
        tracing::warn!(url = %page_url, "window.__SERVER_DATA__ is not a complete object");
        return None;
    };
    match serde_json::from_str(&after[..len]) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(url = %page_url, "window.__SERVER_DATA__ is not JSON: {e}");
            None
        }
    }
}

/// Byte length of the `{…}` object at the start of `s`, strings and escapes
/// respected; `None` when `s` does not start with `{` or never closes it.
pub(super) fn balanced_object_len(s: &str) -> Option<usize> {
    if !s.starts_with('{') {
        return None;
    }
    let mut depth: usize = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, b) in s.bytes().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}
