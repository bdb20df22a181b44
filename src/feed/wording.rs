//! The words a feed uses for a session: its availability in a few words
//! (`places_label`, which the CLI and the HTML page reuse too) and as a
//! sentence, its title line (`summary`), the DESCRIPTION text, LOCATION and the
//! booking link.
//!
//! Owns: what the text says, before it is escaped. Does not own: how text is
//! made safe for iCalendar (`text`, whose sanitising it uses for one-line
//! values), which property carries which text (`event`), or which links may
//! leave the program (`links::web_link`).

use super::text::{clean_uri, one_line, push_words, sanitize_text};
use crate::model::{Availability, Session, Status};

/// Availability in a few words, e.g. `3 places`, `1 place`, `FULL`,
/// `FULL – waiting list`, `CLOSED`, `CANCELLED`, `WITHDRAWN`, `places available`
/// (the source printed that, without a number) or `places not published` (the
/// source said nothing about places).
///
/// The one place this wording lives: the feed, the CLI and the HTML page all use it.
#[must_use]
pub fn places_label(s: &Session) -> String {
    let full = |a: &Availability| {
        if a.waitlist {
            "FULL – waiting list".to_string()
        } else {
            "FULL".to_string()
        }
    };
    match s.status {
        Status::Withdrawn => "WITHDRAWN".into(),
        Status::Cancelled => "CANCELLED".into(),
        Status::Closed => "CLOSED".into(),
        Status::Full => full(&s.availability),
        Status::Scheduled => match s.availability.spaces_left {
            Some(0) => full(&s.availability),
            Some(1) => "1 place".into(),
            Some(n) => format!("{n} places"),
            None if s.availability.unpublished => "places not published".into(),
            None => "places available".into(),
        },
    }
}

/// The event title a calendar shows: `Understanding Neglect Level 2 (3 places)`.
///
/// The title is flattened to one line (control characters dropped, whitespace
/// runs collapsed) because a summary is a single line everywhere it is shown.
#[must_use]
pub fn summary(s: &Session) -> String {
    let title = one_line(&s.title);
    let label = places_label(s);
    if title.is_empty() {
        format!("({label})")
    } else {
        format!("{title} ({label})")
    }
}

/// Availability as a sentence, for DESCRIPTION.
fn availability_sentence(s: &Session) -> String {
    let a = &s.availability;
    let full = || {
        if a.waitlist {
            "Fully booked – a waiting list is open.".to_string()
        } else {
            "Fully booked.".to_string()
        }
    };
    match s.status {
        Status::Withdrawn => {
            "Withdrawn: this session is no longer listed on the booking site.".into()
        }
        Status::Cancelled => "Cancelled by the organiser.".into(),
        Status::Closed => "Booking has closed.".into(),
        Status::Full => full(),
        Status::Scheduled => match (a.spaces_left, a.capacity) {
            (Some(0), _) => full(),
            (Some(n), Some(cap)) if cap >= n => {
                let noun = if cap == 1 { "place" } else { "places" };
                format!("{n} of {cap} {noun} left.")
            }
            (Some(1), _) => "1 place left.".into(),
            (Some(n), _) => format!("{n} places left."),
            (None, _) if a.unpublished => {
                "The booking site does not publish how many places are left.".into()
            }
            (None, _) => "Places available (the booking site does not say how many).".into(),
        },
    }
}

/// The DESCRIPTION text, before sanitising: availability, prerequisites,
/// category/level, the source's description and the booking link (`link`,
/// see [`book_link`]). Built in one buffer: it is written for every session of
/// every feed.
pub(super) fn description(s: &Session, link: Option<&str>) -> String {
    let body = non_empty(&s.description);
    let mut out = String::with_capacity(160 + body.map_or(0, str::len) + s.url.len());
    out.push_str(&availability_sentence(s));
    let mut line = |label: &str, value: &str| {
        out.push('\n');
        out.push_str(label);
        out.push_str(value);
    };
    if let Some(p) = non_empty(&s.prerequisites) {
        line("Prerequisites: ", p);
    }
    if let Some(c) = non_empty(&s.category) {
        line("Category: ", c);
    }
    if let Some(l) = non_empty(&s.level) {
        line("Level: ", l);
    }
    if s.online {
        match non_empty(&s.venue) {
            Some(v) => line("Online: ", v),
            None => line("Online", ""),
        }
    }
    if let Some(d) = body {
        out.push_str("\n\n");
        out.push_str(d);
    }
    if let Some(link) = link {
        out.push_str("\n\nBook: ");
        out.push_str(link);
    }
    out
}

/// The session's link as the feed writes it (`URL` and the "Book:" line), or
/// none: only what `links::web_link` allows ever leaves the program (the
/// server has also kept each link to its source's site).
pub(super) fn book_link(s: &Session) -> Option<String> {
    crate::links::web_link(&s.url).map(|u| clean_uri(u.as_str()))
}

/// The text with its ends trimmed, if any is left.
pub(super) fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// LOCATION: the venue on one line (address lines joined by commas); "Online"
/// for an online session with no platform named.
pub(super) fn location(s: &Session) -> Option<String> {
    let mut out = String::new();
    if let Some(v) = s.venue.as_deref() {
        for l in sanitize_text(v).split('\n') {
            let start = out.len();
            if start > 0 {
                out.push_str(", ");
            }
            let words = out.len();
            push_words(&mut out, l);
            while out.ends_with(',') {
                out.pop();
            }
            if out.len() == words {
                out.truncate(start);
            }
        }
    }
    match out.is_empty() {
        false => Some(out),
        true if s.online => Some("Online".into()),
        true => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SessionKey;
    use chrono::{TimeZone, Utc};

    fn session(status: Status, availability: Availability) -> Session {
        Session {
            source: "wsp".into(),
            event_id: "1".into(),
            key: SessionKey::nth(1),
            title: "Understanding Neglect Level 2".into(),
            category: None,
            level: None,
            prerequisites: None,
            description: None,
            start: Utc.with_ymd_and_hms(2027, 7, 15, 8, 30, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2027, 7, 15, 12, 0, 0).unwrap(),
            timezone: "Europe/London".into(),
            venue: None,
            online: false,
            status,
            availability,
            url: "https://example.org/e/1".into(),
            all_day: false,
        }
    }

    #[test]
    fn labels() {
        let label = |st, a| places_label(&session(st, a));
        assert_eq!(
            label(Status::Scheduled, Availability::spaces(3)),
            "3 places"
        );
        assert_eq!(label(Status::Scheduled, Availability::spaces(1)), "1 place");
        assert_eq!(label(Status::Scheduled, Availability::spaces(0)), "FULL");
        assert_eq!(
            label(Status::Scheduled, Availability::available()),
            "places available"
        );
        assert_eq!(
            label(Status::Scheduled, Availability::unpublished()),
            "places not published"
        );
        let wait = Availability {
            waitlist: true,
            ..Availability::spaces(0)
        };
        assert_eq!(label(Status::Full, wait), "FULL – waiting list");
        assert_eq!(label(Status::Full, Availability::unknown()), "FULL");
        assert_eq!(label(Status::Closed, Availability::spaces(4)), "CLOSED");
        assert_eq!(
            label(Status::Cancelled, Availability::spaces(4)),
            "CANCELLED"
        );
        assert_eq!(
            label(Status::Withdrawn, Availability::spaces(4)),
            "WITHDRAWN"
        );
        let mut s = session(Status::Scheduled, Availability::spaces(3));
        s.title = " Understanding\r\nNeglect \t Level 2\u{7} ".into();
        assert_eq!(summary(&s), "Understanding Neglect Level 2 (3 places)");
    }
}
