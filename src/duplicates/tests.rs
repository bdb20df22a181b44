use super::*;
use crate::changes::ChangeKind;
use crate::model::{Availability, Session, SessionKey};
use chrono::TimeZone;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 7, 6, h, 30, 0).unwrap()
}

fn listing(source: &str, id: &str, title: &str, start: u32, url: &str) -> StoredSession {
    let session = Session {
        source: source.into(),
        event_id: id.into(),
        key: SessionKey::nth(1),
        title: title.into(),
        category: None,
        level: None,
        prerequisites: None,
        description: None,
        start: at(start),
        end: at(start + 3),
        timezone: "Europe/London".into(),
        venue: None,
        online: false,
        status: Status::Scheduled,
        availability: Availability::unpublished(),
        url: url.into(),
        all_day: false,
    };
    let seen = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
    StoredSession {
        uid: session.uid(),
        session,
        first_seen: seen,
        last_seen: seen,
        last_changed: seen,
        sequence: 0,
    }
}

fn roles() -> Roles {
    let role = |name: &str, books: bool| Role {
        name: name.into(),
        books,
        merge: true,
    };
    Roles::new([
        ("wsp".to_string(), role("WSP booking", true)),
        ("site".to_string(), role("WSP website", false)),
        ("feed".to_string(), role("Dudley calendar", false)),
    ])
}

#[test]
fn a_website_copy_joins_the_booking_listing_under_the_first_seen_uid() {
    let mut booking = listing(
        "wsp",
        "1",
        "Child Neglect Level 2",
        9,
        "https://wsp.example/events/1",
    );
    booking.session.availability = Availability::spaces(4);
    let mut site = listing(
        "site",
        "a",
        "WSP - Child Neglect L2 (Online)",
        9,
        "https://site.example/t/a",
    );
    site.first_seen -= chrono::TimeDelta::days(1);
    let m = merge(vec![booking.clone(), site.clone()], &roles());
    assert_eq!(m.entries.len(), 1);
    let e = &m.entries[0];
    assert_eq!(e.uid, site.uid, "the first seen keeps its UID");
    assert_eq!(
        e.session.availability,
        Availability::spaces(4),
        "places from the booking system"
    );
    assert_eq!(e.session.url, booking.session.url);
    let d = e.session.description.as_deref().unwrap();
    assert!(
        d.contains("Also listed by WSP website: https://site.example/t/a"),
        "{d}"
    );
    assert_eq!(m.groups[&site.uid].reason, Reason::SameTimesAndTitle);
    assert_eq!(m.also_listed(&site.uid)[0].uid, booking.uid.to_string());
}

#[test]
fn the_same_booking_link_joins_whatever_the_titles() {
    let booking = listing("wsp", "1", "Neglect L2", 9, "https://wsp.example/events/1");
    let feed = listing(
        "feed",
        "x",
        "Graded Care Profile day",
        9,
        "https://www.wsp.example/events/1/?utm_source=feed",
    );
    let m = merge(vec![booking, feed], &roles());
    assert_eq!(m.entries.len(), 1);
    assert_eq!(
        m.groups.values().next().unwrap().reason,
        Reason::SameBookingLink
    );
}

#[test]
fn what_is_not_one_session_stays_apart() {
    let cases = [
        // Another course at the same time.
        listing("site", "b", "Child Exploitation Level 2", 9, ""),
        // The same course at another time.
        listing("site", "c", "Child Neglect Level 2", 13, ""),
    ];
    for other in cases {
        let m = merge(
            vec![
                listing("wsp", "1", "Child Neglect Level 2", 9, ""),
                other.clone(),
            ],
            &roles(),
        );
        assert_eq!(m.entries.len(), 2, "{:?} stays apart", other.session.title);
    }
    // Two of one source at one time are two sessions.
    let m = merge(
        vec![
            listing("wsp", "1", "Child Neglect Level 2", 9, ""),
            listing("wsp", "2", "Child Neglect Level 2", 9, ""),
        ],
        &roles(),
    );
    assert_eq!(m.entries.len(), 2);
}

#[test]
fn a_copy_that_could_be_either_of_two_is_merged_with_neither() {
    let m = merge(
        vec![
            listing("wsp", "1", "Child Neglect Level 2", 9, ""),
            listing("wsp", "2", "Child Neglect Level 2", 9, ""),
            listing("site", "a", "Child Neglect Level 2", 9, ""),
        ],
        &roles(),
    );
    assert_eq!(m.entries.len(), 3);
    assert!(m.groups.is_empty());
}

#[test]
fn a_listing_withdrawn_from_its_source_steps_aside_for_its_replacement() {
    let mut old = listing("wsp", "1", "Child Neglect Level 2", 9, "");
    old.session.status = Status::Withdrawn;
    let new = listing("wsp", "2", "Child Neglect Level 2", 9, "");
    let site = listing("site", "a", "Child Neglect Level 2", 9, "");
    let m = merge(vec![old.clone(), new.clone(), site], &roles());
    assert_eq!(m.entries.len(), 2);
    let g = m.groups.values().next().unwrap();
    assert!(g.members.iter().any(|x| x.uid == new.uid));
    assert!(g.members.iter().all(|x| x.uid != old.uid));
}

#[test]
fn a_source_that_opts_out_is_never_merged() {
    let mut r = roles();
    r.0.get_mut("site").unwrap().merge = false;
    let m = merge(
        vec![
            listing("wsp", "1", "Child Neglect Level 2", 9, ""),
            listing("site", "a", "Child Neglect Level 2", 9, ""),
        ],
        &r,
    );
    assert_eq!(m.entries.len(), 2);
}

#[test]
fn the_booking_systems_word_on_cancelling_stands_and_the_other_is_named() {
    let booking = listing("wsp", "1", "Child Neglect Level 2", 9, "");
    let mut site = listing("site", "a", "Child Neglect Level 2", 9, "");
    site.session.status = Status::Cancelled;
    site.first_seen -= chrono::TimeDelta::days(1);
    let m = merge(vec![booking, site.clone()], &roles());
    let e = &m.entries[0];
    assert_eq!(e.session.status, Status::Scheduled);
    let d = e.session.description.as_deref().unwrap();
    assert!(
        d.contains("WSP website lists this session as cancelled."),
        "{d}"
    );
    // The website's "cancelled" is not the entry's change; its "new" is.
    assert_eq!(m.change_shown_as(&site.uid, ChangeKind::Cancelled), None);
    assert_eq!(
        m.change_shown_as(&site.uid, ChangeKind::New),
        Some(site.uid.clone())
    );
}

#[test]
fn the_entrys_sequence_goes_up_when_a_member_changes_or_joins() {
    let a = listing("wsp", "1", "Child Neglect Level 2", 9, "");
    let mut b = listing("site", "a", "Child Neglect Level 2", 9, "");
    let alone = merge(vec![a.clone()], &roles()).entries[0].sequence;
    let joined = merge(vec![a.clone(), b.clone()], &roles()).entries[0].sequence;
    b.sequence += 1;
    let changed = merge(vec![a, b], &roles()).entries[0].sequence;
    assert!(
        alone < joined && joined < changed,
        "{alone} {joined} {changed}"
    );
}

#[test]
fn booking_links_are_keyed_as_both_listings_write_them() {
    assert_eq!(
        link_key("https://www.wsp.example/events/1/?aff=ebapi&b=2&a=1#x"),
        link_key("http://wsp.example/events/1?a=1&b=2")
    );
    assert_eq!(link_key("https://wsp.example/"), None);
    assert_eq!(link_key("not a link"), None);
}

#[test]
fn booking_links_tell_apart_two_rooms_that_titles_cannot() {
    let rooms = [
        listing(
            "wsp",
            "1",
            "Child Neglect Level 2",
            9,
            "https://wsp.example/events/1",
        ),
        listing(
            "wsp",
            "2",
            "Child Neglect Level 2",
            9,
            "https://wsp.example/events/2",
        ),
    ];
    let copies = [
        listing(
            "feed",
            "a",
            "Child Neglect L2",
            9,
            "https://wsp.example/events/1",
        ),
        listing(
            "feed",
            "b",
            "Child Neglect L2",
            9,
            "https://wsp.example/events/2",
        ),
    ];
    let m = merge(rooms.iter().chain(&copies).cloned().collect(), &roles());
    assert_eq!(m.entries.len(), 2, "each room with its copy");
    for g in m.groups.values() {
        assert_eq!(g.reason, Reason::SameBookingLink);
        assert_eq!(g.members[0].session.url, g.members[1].session.url);
    }
}
