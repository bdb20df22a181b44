//! The Platform API (with a token): the organiser's event list, each event's
//! ticket classes, and the errors the API answers with.

use super::*;

/// The fixed part of the API list's query: public events only (`only_public`),
/// soonest first, with venue and ticket availability, in the states a calendar
/// shows: on sale (`live`), under way (`started`) or called off (`canceled`), so
/// a cancellation is seen as one rather than as the event vanishing. Drafts are
/// never asked for. Ended events are not either: they are past, the public list
/// (`type=future`) does not show them, and each would cost a ticket-class call.
pub const API_EVENTS_QUERY: &str =
    "status=live,started,canceled&only_public=true&order_by=start_asc&expand=venue,ticket_availability";

/// `{api}/organizers/{id}/events/?` + [`API_EVENTS_QUERY`] plus the paging
/// parameter of `next`.
pub fn api_events_url(api: &Url, organizer_id: &str, next: &PageCursor) -> Url {
    let mut url = with_path(api, &["organizers", organizer_id, "events", ""]);
    // Built by hand so the commas in `status` and `expand` stay literal, as
    // Eventbrite documents them.
    let mut query = String::from(API_EVENTS_QUERY);
    push_cursor(&mut query, next);
    url.set_query(Some(&query));
    url
}

/// `{api}/events/{event_id}/ticket_classes/` plus the paging parameter of `next`.
pub fn api_ticket_classes_url(api: &Url, event_id: &str, next: &PageCursor) -> Url {
    let mut url = with_path(api, &["events", event_id, "ticket_classes", ""]);
    let mut query = String::new();
    push_cursor(&mut query, next);
    url.set_query((!query.is_empty()).then_some(query.as_str()));
    url
}

// ---------------------------------------------------------------------------
// API list

/// Parses one page of `GET /organizers/{id}/events/`. A malformed event is
/// skipped with a warning; the page fails only when it is not an event list.
pub fn parse_api_events(
    body: &[u8],
    page_url: &Url,
    ctx: &SourceContext,
) -> Result<ApiPage, ParseError> {
    let root = parse_json(body, page_url)?;
    refuse_error_body(&root, page_url)?;
    let events = root
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(page_url, "no `events` list in the API answer"))?;
    let records = events
        .iter()
        .filter_map(|v| record_or_warn(v, page_url, ctx, Access::Api))
        .collect();
    Ok(ApiPage {
        entries: records,
        next: next_cursor(root.get("pagination"), page_url),
    })
}

/// Parses one page of `GET /events/{id}/ticket_classes/` (a 200 answer; refusals
/// go through [`parse_api_error`]). Hidden and donation classes are not counted:
/// nobody can book them from the public page.
pub fn parse_ticket_classes(body: &[u8], page_url: &Url) -> Result<TicketClassesPage, ParseError> {
    let root = parse_json(body, page_url)?;
    refuse_error_body(&root, page_url)?;
    let classes = root
        .get("ticket_classes")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError::new(page_url, "no `ticket_classes` list in the API answer"))?;
    let mut totals = TicketTotals::default();
    for class in classes {
        if !class.is_object() {
            tracing::warn!(url = %page_url, "a ticket class is not an object; places left unknown");
            totals.add_class(None, None);
            continue;
        }
        if flag(class, "hidden") || flag(class, "donation") {
            continue;
        }
        let total = class.get("quantity_total").and_then(count);
        let sold = class.get("quantity_sold").and_then(count);
        let remaining = total.zip(sold).map(|(t, s)| t.saturating_sub(s));
        if remaining.is_none() {
            tracing::warn!(
                url = %page_url,
                class = %class.get("id").map(|v| v.to_string()).unwrap_or_default(),
                "ticket class without quantity_total/quantity_sold; places left unknown"
            );
        }
        totals.add_class(remaining, total);
    }
    Ok(TicketClassesPage {
        totals,
        next: next_cursor(root.get("pagination"), page_url),
    })
}

/// Merges ticket-class totals into a record from the API list. Zero counted
/// classes teach nothing, so the list's `ticket_availability` stays.
pub fn apply_ticket_totals(record: &mut EventRecord, totals: &TicketTotals) {
    if totals.counted == 0 {
        return;
    }
    if totals.spaces_left.is_some() {
        record.availability.spaces_left = totals.spaces_left;
    }
    if totals.capacity.is_some() {
        record.availability.capacity = totals.capacity;
    }
    settle_full(record, false);
}

/// The next page of a list: the continuation when given, else the next page
/// number; `None` on the last page, or when the list would loop or cannot say
/// where to go next.
pub(super) fn next_cursor(pagination: Option<&Value>, page_url: &Url) -> Option<PageCursor> {
    let p = pagination?;
    if !p
        .get("has_more_items")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return None;
    }
    let asked = |name: &str| {
        page_url
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if let Some(token) = p
        .get("continuation")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if asked("continuation").as_deref() == Some(token) {
            tracing::warn!(url = %page_url, "the API returned the continuation it was given; stopping");
            return None;
        }
        return Some(PageCursor::Continuation(token.to_string()));
    }
    let current = p
        .get("page_number")
        .and_then(count)
        .or_else(|| asked("page").and_then(|s| s.parse().ok()))
        .or_else(|| asked("continuation").is_none().then_some(1));
    match current {
        Some(n) => Some(PageCursor::Page(n.saturating_add(1))),
        None => {
            tracing::warn!(url = %page_url, "more pages announced but neither a continuation nor a page number given; stopping");
            None
        }
    }
}

// ---------------------------------------------------------------------------
// API errors

/// What kind of refusal an API answer is, which decides what the crawler does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// No token, or a token Eventbrite does not accept: stop and tell the user.
    Auth,
    /// The token works but this resource is not ours (ticket classes of another
    /// organiser), or a CDN refused: fall back to what the list said.
    Forbidden,
    /// `HIT_RATE_LIMIT`: wait, then retry.
    RateLimited,
    /// No such event or organiser (`NOT_FOUND`, or HTTP 404).
    NotFound,
    /// Any other failure, e.g. a server error.
    Other,
}

/// A non-2xx answer of the API, read without assuming it is JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// What the crawler makes of it, from Eventbrite's `error` code, else the status.
    pub kind: ApiErrorKind,
    /// The HTTP status of the answer.
    pub status: u16,
    /// Eventbrite's `error` code (`NO_AUTH`, …), when the body was its JSON.
    pub code: Option<String>,
    /// `error_description`, or the first words of a non-JSON body's text.
    pub description: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ApiErrorKind::Auth => "the Eventbrite API refused the token",
            ApiErrorKind::Forbidden => "the Eventbrite API does not allow this request",
            ApiErrorKind::RateLimited => "the Eventbrite API rate limit was reached",
            ApiErrorKind::NotFound => "the Eventbrite API has no such resource",
            ApiErrorKind::Other => "the Eventbrite API request failed",
        };
        write!(f, "{what} (HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        write!(f, ": {})", self.description)
    }
}

impl std::error::Error for ApiError {}

/// Words of a non-JSON error body kept in the description.
pub(super) const ERROR_WORDS: usize = 12;

/// How much of an error body is read: Eventbrite's JSON errors are tiny, and
/// html5ever slows down badly on deeply nested markup.
pub(super) const ERROR_HEAD_BYTES: usize = 8 * 1024;

/// Reads an API refusal. Eventbrite's errors are `{status_code, error,
/// error_description}`, but a CDN in front of it answers HTML: never assume JSON.
pub fn parse_api_error(status: u16, body: &[u8]) -> ApiError {
    // Twelve words need little text; a short head also bounds the HTML parse.
    let head = &body[..body.len().min(ERROR_HEAD_BYTES)];
    let json: Option<Value> = serde_json::from_slice(head).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(squash)
            .filter(|s| !s.is_empty())
    };
    let code = field("error");
    let description = field("error_description")
        .or_else(|| code.clone())
        .unwrap_or_else(|| {
            let text = visible_text(&String::from_utf8_lossy(head), ERROR_WORDS);
            if text.is_empty() {
                "no explanation in the response".to_string()
            } else {
                text
            }
        });
    let kind = match code.as_deref() {
        Some("NO_AUTH" | "INVALID_AUTH" | "INVALID_AUTH_HEADER" | "TOKEN_EXPIRED") => {
            ApiErrorKind::Auth
        }
        Some("HIT_RATE_LIMIT") => ApiErrorKind::RateLimited,
        Some("NOT_FOUND") => ApiErrorKind::NotFound,
        Some("NOT_AUTHORIZED" | "ACCESS_DENIED") => ApiErrorKind::Forbidden,
        _ => match status {
            401 => ApiErrorKind::Auth,
            403 => ApiErrorKind::Forbidden,
            404 => ApiErrorKind::NotFound,
            429 => ApiErrorKind::RateLimited,
            _ => ApiErrorKind::Other,
        },
    };
    ApiError {
        kind,
        status,
        code,
        description,
    }
}

/// The first `max_words` words a person would see in `body` (HTML or plain text).
pub(super) fn visible_text(body: &str, max_words: usize) -> String {
    let words: Vec<String> = if body.contains('<') {
        let doc = Html::parse_document(body);
        let mut words = Vec::new();
        collect_words(doc.root_element(), &mut words, max_words);
        words
    } else {
        body.split_whitespace()
            .take(max_words)
            .map(str::to_string)
            .collect()
    };
    words.join(" ")
}

/// Words of the text under `el`, skipping what a browser does not show. Walks
/// with its own stack: a hostile page can nest elements deeper than the call stack.
pub(super) fn collect_words(el: ElementRef<'_>, words: &mut Vec<String>, max_words: usize) {
    let mut stack = vec![*el];
    while let Some(node) = stack.pop() {
        match node.value() {
            Node::Text(t) => {
                for w in t.split_whitespace() {
                    if words.len() >= max_words {
                        return;
                    }
                    words.push(w.to_string());
                }
            }
            Node::Element(e)
                if matches!(
                    e.name(),
                    "head" | "script" | "style" | "noscript" | "template" | "title"
                ) => {}
            Node::Element(_) | Node::Document | Node::Fragment => {
                // reversed, so the first child is popped first
                stack.extend(node.children().rev());
            }
            _ => {}
        }
    }
}
