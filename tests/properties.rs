//! Property tests: every parser of untrusted input, and the feed writer, on
//! generated input, with the invariants of `tests/checks` (the same oracles
//! the fuzz targets in `fuzz/` use). A bounded number of cases each, so
//! `cargo test` exercises them without the fuzzer.

mod checks;

use checks::SessionText;
use events::query::Filter;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Cases per property: enough to walk the grammar below, few enough for CI.
const CASES: u32 = 256;

fn config() -> Config {
    Config {
        cases: CASES,
        // a failure is shrunk, but never for long
        max_shrink_iters: 512,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Pieces of the pages and texts the sources really send, to be shuffled and
/// mixed with arbitrary text.
const HTML_PIECES: &[&str] = &[
    "<div class=\"event\">",
    "<div class=\"event-item\">",
    "</div>",
    "<li>",
    "</li>",
    "<a href=\"/events/1001\">",
    "<a href=\"/events/1002/book\">",
    "<a href=\"https://evil.example/events/7\">",
    "<a href=\"?page=3\" rel=\"next\">Next</a>",
    "<a href=\"//other.example/events-list?page=2\">Next</a>",
    "</a>",
    "<h1>",
    "</h1>",
    "<h2>",
    "</h2>",
    "<table class=\"sessions\"><tr><th>Date</th><th>Start</th><th>End</th><th>Venue</th></tr>",
    "<tr><td>",
    "</td><td>",
    "</td></tr>",
    "</table>",
    "<dl><dt>Places</dt><dd>",
    "<dt>Category</dt><dd>",
    "</dd></dl>",
    "<p>",
    "</p>",
    "<script>",
    "</script>",
    "<!--",
    "-->",
    "<br>",
    "Tuesday 9 April 2024",
    "31/02/2027",
    "9 Smarch 2024",
    "Thu 16th Sept 2027",
    "09:30 - 16:30",
    "9:30am - 4:30pm",
    "25:00 - 26:00",
    "16:30 - 09:30",
    "noon",
    "Places available: 12",
    "Fully booked - join the waiting list",
    "Booking closed",
    "This event has been cancelled",
    "Virtual - MS Teams",
    "Walsall Council House, WS1 1TP",
    "Child Neglect",
    "&amp;",
    "&#0;",
    "\u{202e}",
    "\u{1f600}",
    "\u{0}",
    "\r\n",
];

fn pieces(from: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(from).prop_map(str::to_string),
            1 => any::<String>(),
        ],
        0..48,
    )
    .prop_map(|v| v.concat())
}

const JSON_PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"events\"",
    "\"ticket_classes\"",
    "\"data\"",
    "\"success\"",
    "\"has_next_page\"",
    "\"pagination\"",
    "\"continuation\"",
    "\"has_more_items\"",
    "\"id\"",
    "\"name\"",
    "\"text\"",
    "\"start\"",
    "\"end\"",
    "\"local\"",
    "\"utc\"",
    "\"timezone\"",
    "\"url\"",
    "\"status\"",
    "\"venue\"",
    "\"quantity_total\"",
    "\"quantity_sold\"",
    "\"error\"",
    "\"error_description\"",
    "\"2027-04-09T09:30:00\"",
    "\"2027-04-09T08:30:00Z\"",
    "\"2027-02-31T25:00:00\"",
    "\"Europe/London\"",
    "\"Mars/Olympus\"",
    "\"812345670011\"",
    "\"https://www.eventbrite.co.uk/e/x-tickets-1?aff=ebapi\"",
    "\"live\"",
    "\"canceled\"",
    "true",
    "false",
    "null",
    "-1",
    "4294967296",
    "1e308",
    "\"\\u0000\"",
    "window.__SERVER_DATA__ = ",
    "<script type=\"application/ld+json\">",
    "</script>",
    "\"@type\"",
    "\"Event\"",
    "\"eventStatus\"",
    "\"https://schema.org/EventCancelled\"",
];

const TOML_PIECES: &[&str] = &[
    "id = ",
    "name = ",
    "kind = ",
    "base_url = ",
    "timezone = ",
    "requests_per_second = ",
    "poll_interval = ",
    "min_fraction = ",
    "organizer_id = ",
    "listing = ",
    "[limits]\n",
    "max_body_bytes = ",
    "max_pages = ",
    "[selectors]\n",
    "listing_entry = ",
    "\"wsp\"",
    "\"WSP\"",
    "\"event-booking\"",
    "\"eventbrite\"",
    "\"https://walsall.event-booking.org.uk\"",
    "\"file:///etc/passwd\"",
    "\"Europe/London\"",
    "\"Nowhere/Else\"",
    "\"30m\"",
    "\"-1s\"",
    "\"5 MiB\"",
    "\"div[\"",
    "0",
    "-1",
    "nan",
    "inf",
    "1e999",
    "99999999999999999999",
    "[1, 2]",
    "{ a = 1 }",
    "\n",
    "#",
    "\"\"",
];

const QUERY_PIECES: &[&str] = &[
    "source=",
    "category=",
    "q=",
    "available=",
    "online=",
    "days=",
    "&",
    "=",
    "wsp",
    "%00",
    "%FF",
    "%C3%A9",
    "%E2%80%AE",
    "%0A",
    "+",
    "1",
    "0",
    "yes",
    "3650",
    "3651",
    "99999999999",
    "-1",
    "%",
    "%2B",
    "%26",
    "%3D",
    "%20",
    "%09",
    "%C2%85",
    "Child+Neglect",
];

/// Pieces of `after=` cursors: the times and UIDs the server writes, and
/// what a hand-edited or hostile one might hold.
const CURSOR_PIECES: &[&str] = &[
    "20270105T093000Z",
    "20270105T093000Z_",
    "_",
    "wsp-1001-1@events_x",
    "2027",
    "0105",
    "T",
    "093000",
    "Z",
    "+10000",
    "-0001",
    "60",
    "99",
    " ",
    "\t",
    "\0",
    "é",
    "1",
];

/// Pieces of `Link` headers: the server's own, others' and broken ones.
const LINK_PIECES: &[&str] = &[
    "</api/sessions?after=20270105T093000Z_a&limit=5>",
    "<https://x.example/api/sessions?after=20270105T093000Z_b>",
    "<",
    ">",
    ", ",
    ";",
    " rel=\"next\"",
    " rel=next",
    " REL = \"prev next\"",
    " rel=\"nextish\"",
    " title=\"next, please\"",
    "=",
    "\"",
    " ",
];

/// A filter as the command line's flags might give it: valid ids and
/// arbitrary text, with the characters a query string must escape.
fn filter_flags() -> impl Strategy<Value = Filter> {
    let text = || {
        prop_oneof![
            2 => any::<String>(),
            1 => prop::collection::vec(
                prop::sample::select(&[
                    "&", "=", "+", "%", "%20", "#", "?", " ", "\t", "\u{85}", "\u{1b}",
                    "\u{202e}", "é", "\u{1f600}", "Child Neglect", "a",
                ][..]),
                0..30,
            )
            .prop_map(|v| v.concat()),
        ]
    };
    let source = prop_oneof![
        3 => "[a-z0-9-]{0,12}",
        1 => any::<String>(),
    ];
    (
        prop::option::of(source),
        prop::collection::vec(text(), 0..24),
        prop::option::of(text()),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        prop::option::of(prop_oneof![0u32..4000, any::<u32>()]),
    )
        .prop_map(
            |(source, categories, search, available, online, days)| Filter {
                source,
                categories,
                search,
                available,
                online,
                days,
            },
        )
}

fn session_text() -> impl Strategy<Value = SessionText> {
    let text = || {
        prop_oneof![
            3 => any::<String>(),
            1 => prop::collection::vec(
                prop::sample::select(&[
                    "BEGIN:VEVENT", "END:VEVENT", "END:VCALENDAR", "\r\n", "\r", "\n", "\\", ";",
                    ",", ":", "\"", " ", "\t", "\u{85}", "\u{2028}", "\u{7f}", "\u{1b}[31m",
                    "\u{202e}", "\u{1f600}", "é", "                    ", "x",
                ][..]),
                0..60,
            )
            .prop_map(|v| v.concat()),
        ]
    };
    (
        (text(), text(), text(), text(), text(), text()),
        any::<i32>(),
        -600i32..6000,
        any::<u8>(),
    )
        .prop_map(
            |((title, description, venue, category, prerequisites, event_id), h, m, flags)| {
                SessionText {
                    title,
                    description,
                    venue,
                    category,
                    prerequisites,
                    event_id,
                    start_hours: h % 200_000,
                    minutes: m,
                    flags,
                }
            },
        )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn booking_listing_pages(html in pieces(HTML_PIECES)) {
        checks::booking_listing(&html);
    }

    #[test]
    fn booking_detail_pages(html in pieces(HTML_PIECES)) {
        checks::booking_detail(&html);
    }

    #[test]
    fn booking_elearning_pages(html in pieces(HTML_PIECES)) {
        checks::booking_elearning(&html);
    }

    #[test]
    fn dates_times_places_and_venues(s in pieces(HTML_PIECES)) {
        checks::text_parsers(&s);
    }

    #[test]
    fn eventbrite_answers(body in pieces(JSON_PIECES), raw in any::<Vec<u8>>()) {
        checks::eventbrite(body.as_bytes());
        checks::eventbrite(&raw);
    }

    #[test]
    fn source_files(text in pieces(TOML_PIECES)) {
        checks::source_file(&text);
    }

    #[test]
    fn query_strings(q in pieces(QUERY_PIECES)) {
        checks::query_string(&q);
    }

    #[test]
    fn cursor_params(v in pieces(CURSOR_PIECES)) {
        checks::cursor_param(&v);
    }

    #[test]
    fn link_headers(h in pieces(LINK_PIECES)) {
        checks::link_header(&h);
    }

    /// Whatever filter the command line's rules accept, the codec writes and
    /// reads back unchanged (the query strings above check it for filters
    /// read from URLs).
    #[test]
    fn filters_round_trip_through_query_strings(f in filter_flags()) {
        if let Ok(f) = f.checked() {
            checks::filter_round_trip(&f);
        }
    }

    #[test]
    fn feed_round_trip(sessions in prop::collection::vec(session_text(), 0..6)) {
        checks::feed_round_trip(&sessions);
    }

    #[test]
    fn feed_round_trip_from_fuzz_bytes(data in any::<Vec<u8>>()) {
        checks::feed_round_trip(&checks::sessions_from_bytes(&data));
    }
}
