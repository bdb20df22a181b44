//! One event of a list (API or public), read leniently into an `EventRecord`:
//! which entries are public, times, venues, addresses and the event's address.

use super::*;

// ---------------------------------------------------------------------------
// Raw shapes (lenient: every field optional, unknown fields ignored)

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawId {
    Text(String),
    Number(u64),
}

impl RawId {
    fn digits(&self) -> Option<String> {
        let s = match self {
            RawId::Text(s) => s.trim().to_string(),
            RawId::Number(n) => n.to_string(),
        };
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
    }
}

/// `{text, html}` in the API; a bare string is accepted too.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum RawText {
    Plain(String),
    Rich {
        #[serde(default)]
        text: Option<String>,
    },
}

impl RawText {
    fn text(&self) -> Option<&str> {
        match self {
            RawText::Plain(s) => Some(s),
            RawText::Rich { text } => text.as_deref(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawTime {
    pub(super) timezone: Option<String>,
    pub(super) local: Option<String>,
    pub(super) utc: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawAddress {
    localized_address_display: Option<String>,
    address_1: Option<String>,
    address_2: Option<String>,
    city: Option<String>,
    postal_code: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawVenue {
    name: Option<String>,
    address: Option<RawAddress>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawTicketAvailability {
    is_sold_out: Option<bool>,
    waitlist_available: Option<bool>,
}

/// An event of either list (API or `showmore`); the two share these field names.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct RawEvent {
    id: Option<RawId>,
    name: Option<RawText>,
    summary: Option<String>,
    description: Option<RawText>,
    url: Option<String>,
    start: Option<RawTime>,
    end: Option<RawTime>,
    status: Option<String>,
    online_event: Option<bool>,
    venue: Option<RawVenue>,
    ticket_availability: Option<RawTicketAvailability>,
}

// ---------------------------------------------------------------------------
// One event of a list

/// Which list an entry comes from: what the entry can be trusted to say differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Access {
    /// The organiser's list through the API: a token can see drafts, so each
    /// entry must give a status the public sees.
    Api,
    /// The public site's list, which shows only public events and carries
    /// no `status`; an entry that says it is not public is still refused.
    Public,
}

/// The `status` values of events the public may see: on sale, under way, over,
/// or called off. Anything else (`draft`, unknown words) stays off the calendar.
pub(super) const PUBLIC_STATUSES: &[&str] = &[
    "live",
    "started",
    "ended",
    "completed",
    "canceled",
    "cancelled",
];

/// Why an entry must stay off a public calendar, or `None` when it may be shown.
///
/// Public means, in the words of Eventbrite's API reference: `listed` ("Is
/// this event publicly searchable on Eventbrite?") is not false, `invite_only`
/// ("Can only people with invites see the event page?") is not true, and the
/// event is not a draft (a status we do not know is refused too; the API must
/// give one). `shareable` is deliberately not read: it only says whether the
/// page shows social-sharing buttons, and it is false by default for every
/// event created through the API, so refusing it loses listed, public events.
/// Read from the raw entry, before anything else, so that nothing of a private
/// event (its title) reaches a log.
pub(super) fn not_public(v: &Value, access: Access) -> Option<String> {
    let status = v
        .get("status")
        .and_then(Value::as_str)
        .map(|s| s.trim().to_ascii_lowercase());
    match (&status, access) {
        (Some(s), _) if !PUBLIC_STATUSES.contains(&s.as_str()) => {
            let shown: String = s
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .take(20)
                .collect();
            return Some(format!("status `{shown}` is not public"));
        }
        (None, Access::Api) => return Some("no readable status".into()),
        _ => {}
    }
    // A `listed` that is there but not a boolean is not "not false": an
    // answer we cannot read keeps the event off rather than on.
    match v.get("listed") {
        None | Some(Value::Null) | Some(Value::Bool(true)) => {}
        Some(Value::Bool(false)) => return Some("not listed".into()),
        Some(_) => return Some("unreadable `listed`".into()),
    }
    match v.get("invite_only") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => return Some("invite only".into()),
        Some(_) => return Some("unreadable `invite_only`".into()),
    }
    None
}

/// Reads one list entry, or logs why it is skipped and returns `None`: a
/// malformed entry with a warning naming it, an entry that is not public with
/// an info line naming only its id (its title may be private).
pub(super) fn record_or_warn(
    v: &Value,
    page_url: &Url,
    ctx: &SourceContext,
    access: Access,
) -> Option<EventRecord> {
    if !v.is_object() {
        warn_skipped(v, page_url, ctx, "malformed entry: not an object");
        return None;
    }
    if let Some(why) = not_public(v, access) {
        tracing::info!(
            source = %ctx.source_id,
            url = %page_url,
            event = %id_of(v),
            "Eventbrite event left out of the calendar: {why}"
        );
        return None;
    }
    let result = RawEvent::deserialize(v)
        .map_err(|e| format!("malformed entry: {e}"))
        .and_then(|raw| record_from_raw(raw, page_url, ctx));
    match result {
        Ok(r) => Some(r),
        Err(why) => {
            warn_skipped(v, page_url, ctx, &why);
            None
        }
    }
}

pub(super) fn warn_skipped(v: &Value, page_url: &Url, ctx: &SourceContext, why: &str) {
    tracing::warn!(
        source = %ctx.source_id,
        url = %page_url,
        event = %label_of(v),
        "skipping Eventbrite event: {why}"
    );
}

/// The entry's id as given, for a log line: digits only, so that nothing else
/// of a private event is written out.
pub(super) fn id_of(v: &Value) -> String {
    let id = match v.get("id") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    if !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit()) {
        id
    } else {
        "(no usable id)".into()
    }
}

/// `812345670011 "Title"`, from whatever of the entry is readable.
pub(super) fn label_of(v: &Value) -> String {
    let id = match v.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "(no id)".into(),
    };
    let name = v
        .get("name")
        .and_then(|n| n.get("text").or(Some(n)))
        .and_then(Value::as_str)
        .unwrap_or("(no name)");
    let name: String = name.chars().take(80).collect();
    format!("{id} \"{name}\"")
}

/// The record of one deserialised entry, or why the entry cannot be one: it
/// needs a numeric id, a name, and start and end times in order.
pub(super) fn record_from_raw(
    raw: RawEvent,
    page_url: &Url,
    ctx: &SourceContext,
) -> Result<EventRecord, String> {
    let event_id = raw
        .id
        .as_ref()
        .and_then(RawId::digits)
        .ok_or("no numeric id")?;
    let title = raw
        .name
        .as_ref()
        .and_then(RawText::text)
        .map(squash)
        .filter(|s| !s.is_empty())
        .ok_or("no name")?;
    let start = required_time(raw.start.as_ref(), "start", ctx.timezone)?;
    let end = required_time(raw.end.as_ref(), "end", ctx.timezone)?;
    if end < start {
        return Err(format!("ends ({end}) before it starts ({start})"));
    }
    let online = raw.online_event.unwrap_or(false);
    let ta = raw.ticket_availability.as_ref();
    let mut record = EventRecord {
        url: clean_event_url(raw.url.as_deref(), page_url, &event_id),
        event_id,
        title,
        description: description_of(&raw),
        start,
        end,
        venue: venue_text(online, raw.venue.as_ref()),
        online,
        status: if is_cancelled(raw.status.as_deref()) {
            Status::Cancelled
        } else {
            Status::Scheduled
        },
        availability: Availability {
            spaces_left: None,
            capacity: None,
            waitlist: ta.and_then(|t| t.waitlist_available) == Some(true),
            unpublished: false,
        },
    };
    settle_full(&mut record, ta.and_then(|t| t.is_sold_out) == Some(true));
    Ok(record)
}

/// The `start` or `end` time (named by `which`) in UTC; the error names which.
fn required_time(t: Option<&RawTime>, which: &str, tz: Tz) -> Result<DateTime<Utc>, String> {
    t.ok_or_else(|| format!("no {which} time"))
        .and_then(|t| to_utc(t, tz))
        .map_err(|e| format!("{which}: {e}"))
}

/// The entry's summary, else its description's text; `None` when both are blank.
fn description_of(raw: &RawEvent) -> Option<String> {
    fn unblank(s: Option<&str>) -> Option<&str> {
        s.map(str::trim).filter(|s| !s.is_empty())
    }
    unblank(raw.summary.as_deref())
        .or_else(|| unblank(raw.description.as_ref().and_then(RawText::text)))
        .map(str::to_string)
}

/// True for a `status` of `canceled` or `cancelled`, in any case.
fn is_cancelled(status: Option<&str>) -> bool {
    status.is_some_and(|s| {
        matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "canceled" | "cancelled"
        )
    })
}

/// `{timezone, local, utc}` → UTC. `utc` is used when present; `local` is never
/// read as UTC but converted from its `timezone` (the source's zone when absent).
pub(super) fn to_utc(t: &RawTime, fallback: Tz) -> Result<DateTime<Utc>, String> {
    let utc = t.utc.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if let Some(u) = utc {
        if let Ok(d) = DateTime::parse_from_rfc3339(u) {
            return Ok(d.with_timezone(&Utc));
        }
    }
    let Some(local) = t.local.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return Err(match utc {
            Some(u) => format!("`{u}` is not a time"),
            None => "neither `utc` nor `local` given".into(),
        });
    };
    if let Ok(d) = DateTime::parse_from_rfc3339(local) {
        return Ok(d.with_timezone(&Utc));
    }
    let tz: Tz = match t
        .timezone
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(name) => name
            .parse()
            .map_err(|_| format!("`{name}` is not a time zone"))?,
        None => fallback,
    };
    let naive = NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(local, "%Y-%m-%dT%H:%M"))
        .map_err(|_| format!("`{local}` is not a local time"))?;
    // Ambiguous (clocks go back): the first occurrence. Skipped (clocks go
    // forward): the same wall time an hour later, as clocks show it.
    tz.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            naive
                .checked_add_signed(chrono::Duration::hours(1))
                .and_then(|n| tz.from_local_datetime(&n).earliest())
        })
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| format!("`{local}` does not exist in {tz}"))
}

pub(super) fn venue_text(online: bool, venue: Option<&RawVenue>) -> Option<String> {
    if online {
        return Some(ONLINE_VENUE.to_string());
    }
    let venue = venue?;
    let name = venue.name.as_deref().map(squash).filter(|s| !s.is_empty());
    let address = venue.address.as_ref().and_then(address_text);
    match (name, address) {
        // Some venues are named after their first address line.
        (Some(n), Some(a)) if a.starts_with(&n) => Some(a),
        (Some(n), Some(a)) => Some(format!("{n}, {a}")),
        (n, a) => n.or(a),
    }
}

pub(super) fn address_text(a: &RawAddress) -> Option<String> {
    if let Some(s) = a
        .localized_address_display
        .as_deref()
        .map(squash)
        .filter(|s| !s.is_empty())
    {
        return Some(s);
    }
    let parts: Vec<String> = [&a.address_1, &a.address_2, &a.city, &a.postal_code]
        .into_iter()
        .filter_map(|p| p.as_deref().map(squash))
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// The event page's address without `?aff=…` or any other query; resolved
/// against the page for relative links; Eventbrite's short form when unusable.
pub(super) fn clean_event_url(raw: Option<&str>, page_url: &Url, event_id: &str) -> String {
    raw.and_then(|s| page_url.join(s.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u.to_string()
        })
        // `/e/<id>` redirects to the event's page on every Eventbrite domain.
        .unwrap_or_else(|| format!("https://www.eventbrite.com/e/{event_id}"))
}

// ---------------------------------------------------------------------------
// Small helpers

pub(super) fn parse_json(body: &[u8], page_url: &Url) -> Result<Value, ParseError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ParseError::new(
            page_url,
            format!("answer of {} bytes is too large to read", body.len()),
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        let start = String::from_utf8_lossy(&body[..body.len().min(512)]).to_string();
        let hint = if start.trim_start().starts_with('<') {
            format!(
                " (looks like HTML: \"{}\")",
                visible_text(&start, ERROR_WORDS)
            )
        } else {
            String::new()
        };
        ParseError::new(page_url, format!("not JSON: {e}{hint}"))
    })
}

/// A 200 answer that is really an API error object.
pub(super) fn refuse_error_body(root: &Value, page_url: &Url) -> Result<(), ParseError> {
    if root.get("status_code").is_some() && root.get("error").is_some() {
        let status = root
            .get("status_code")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .unwrap_or(0);
        let e = parse_api_error(status, root.to_string().as_bytes());
        return Err(ParseError::new(page_url, e.to_string()));
    }
    Ok(())
}

/// A non-negative count from a JSON number or digit string; negatives are 0.
pub(super) fn count(v: &Value) -> Option<u32> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    Some(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

pub(super) fn flag(v: &Value, name: &str) -> bool {
    v.get(name).and_then(Value::as_bool).unwrap_or(false)
}

/// Collapses runs of whitespace to one space and trims.
pub(super) fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The digits at the end of a path (`…-tickets-812345670011` → `812345670011`).
pub(super) fn trailing_digits(path: &str) -> &str {
    let path = path.trim_end_matches('/');
    let digits = path.bytes().rev().take_while(u8::is_ascii_digit).count();
    &path[path.len() - digits..]
}
