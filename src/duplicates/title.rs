//! The course a title names, as a key two listings of one session share
//! however each source words it: case, punctuation, `&`, a leading
//! organiser tag (`VRP:`, `WSP -`), a trailing delivery note (`(Online)`,
//! `- Zoom`, `via Teams`) and `L2`/`Lvl 2` for `Level 2` are set aside.
//!
//! Conservative on purpose: a delivery word that is part of the name
//! ("Staying Safe Online") stays, as only a note set off by brackets, a
//! dash or "via" is a note; an organiser tag must be capitals before a
//! colon or a dash. A title that keeps no word gives no key at all.

use std::borrow::Cow;

/// Words a delivery note is made of.
const DELIVERY_WORDS: &[&str] = &[
    "online",
    "virtual",
    "zoom",
    "teams",
    "ms",
    "microsoft",
    "google",
    "meet",
    "webex",
    "via",
    "on",
    "using",
    "in",
    "person",
    "face",
    "to",
    "f2f",
    "live",
];

/// Of [`DELIVERY_WORDS`], those that say how it is delivered (a note must
/// hold one: "(on)" alone is no note).
const DELIVERY_CORE: &[&str] = &[
    "online", "virtual", "zoom", "teams", "webex", "meet", "person", "face", "f2f",
];

/// Words that introduce a platform with no separator: "via Teams". Not
/// "on": "Working on Teams" is a name.
const CONNECTORS: &[&str] = &["via", "using"];

/// Separators a trailing note may follow.
const SEPARATORS: &[char] = &['-', '–', '—', '|', ':', ',', '/'];

/// Trailing delivery notes set aside from one title, each a scan of it. A
/// title with more keeps the rest in its key, so it matches no other: the
/// safe failure, never a false merge.
const MAX_DELIVERY_NOTES: usize = 3;

/// Longest organiser tag, in characters (`WMVRP`, `LSCP`, `WSCP`).
const MAX_TAG_CHARS: usize = 8;

/// The key of the course `title` names; `None` when nothing of a name is
/// left (no title may be merged on nothing).
pub fn course_key(title: &str) -> Option<String> {
    let untagged = without_organiser_tag(title.trim());
    let mut lower = untagged.to_lowercase();
    if lower.contains('&') {
        lower = lower.replace('&', " and ");
    }
    let plain = without_delivery_note(&lower);
    let words: Vec<Cow<'_, str>> = words(plain).map(without_apostrophes).collect();
    let mut key = String::with_capacity(plain.len());
    write_with_levels_spelled_out(&words, &mut key);
    (!key.is_empty()).then_some(key)
}

/// `title` without a leading organiser tag: up to [`MAX_TAG_CHARS`]
/// capitals or digits (at least two, starting with a capital), then a colon
/// or a dash, then the name. Also `[TAG] name`.
fn without_organiser_tag(title: &str) -> &str {
    if let Some(rest) = title.strip_prefix('[') {
        if let Some((tag, name)) = rest.split_once(']') {
            if is_tag(tag.trim()) && !name.trim().is_empty() {
                return name.trim_start();
            }
        }
    }
    let end = title
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_uppercase() || c.is_ascii_digit()))
        .map_or(title.len(), |(i, _)| i);
    let (tag, rest) = title.split_at(end);
    if !is_tag(tag) {
        return title;
    }
    let rest = rest.trim_start();
    let Some(sep) = rest
        .chars()
        .next()
        .filter(|c| [':', '-', '–', '—', '|'].contains(c))
    else {
        return title;
    };
    let name = rest[sep.len_utf8()..].trim_start();
    // "ACE-aware practice" is a name, not a tag: the separator stands apart.
    let spaced = rest.len() > sep.len_utf8() && rest[sep.len_utf8()..].starts_with(' ');
    if name.is_empty() || (sep != ':' && !spaced) {
        return title;
    }
    name
}

fn is_tag(tag: &str) -> bool {
    let n = tag.chars().count();
    (2..=MAX_TAG_CHARS).contains(&n)
        && tag.starts_with(|c: char| c.is_ascii_uppercase())
        && tag
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// `lower` without trailing delivery notes: `(online)`, `[ms teams]`,
/// `- zoom`, `| face to face`, ` via teams`.
fn without_delivery_note(lower: &str) -> &str {
    let mut s = lower.trim_end();
    // A title may carry two: "… (Online) - Zoom".
    for _ in 0..MAX_DELIVERY_NOTES {
        let Some(cut) = delivery_note_start(s) else {
            break;
        };
        let kept = s[..cut].trim_end();
        if words(kept).next().is_none() {
            break;
        }
        s = kept;
    }
    s
}

/// Where a trailing delivery note starts in `s`, if it ends in one.
fn delivery_note_start(s: &str) -> Option<usize> {
    if let Some(close) = s.chars().last().filter(|c| *c == ')' || *c == ']') {
        let open = if close == ')' { '(' } else { '[' };
        let start = s.rfind(open)?;
        return is_delivery(words(&s[start + 1..s.len() - 1])).then_some(start);
    }
    // A separator standing apart ("… - Face-to-Face"), not one inside a word.
    let spaced = s
        .char_indices()
        .rev()
        .find(|(i, c)| SEPARATORS.contains(c) && s[i + c.len_utf8()..].starts_with(' '));
    if let Some((sep, c)) = spaced {
        if is_delivery(words(&s[sep + c.len_utf8()..])) {
            return Some(sep);
        }
    }
    // "… via Teams": a connector, then a platform, with no separator.
    let spans: Vec<(usize, &str)> = word_spans(s).collect();
    for (i, (at, w)) in spans.iter().enumerate().rev() {
        if CONNECTORS.contains(w) {
            return (i > 0 && is_delivery(spans[i..].iter().map(|(_, w)| *w))).then_some(*at);
        }
        if !DELIVERY_WORDS.contains(w) {
            return None;
        }
    }
    None
}

/// Words all of delivery, one of them saying how it is delivered.
fn is_delivery<'a>(words: impl Iterator<Item = &'a str>) -> bool {
    let (mut any, mut core) = (false, false);
    for w in words {
        if !DELIVERY_WORDS.contains(&w) {
            return false;
        }
        any = true;
        core |= DELIVERY_CORE.contains(&w);
    }
    any && core
}

/// The words of `s` (see [`word_spans`]).
fn words(s: &str) -> impl Iterator<Item = &str> {
    word_spans(s).map(|(_, w)| w)
}

/// Each word of `s` with where it starts: runs of letters, digits and
/// apostrophes, with no apostrophe at either end; every other mark
/// separates.
fn word_spans(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '\'' || c == '’';
    let mut rest = 0;
    std::iter::from_fn(move || loop {
        let tail = &s[rest..];
        let start = rest + tail.find(is_word)?;
        let len = s[start..]
            .find(|c: char| !is_word(c))
            .unwrap_or(s.len() - start);
        rest = start + len;
        let word = s[start..rest].trim_matches(['\'', '’']);
        if !word.is_empty() {
            let lead = s[start..rest].len() - s[start..rest].trim_start_matches(['\'', '’']).len();
            return Some((start + lead, word));
        }
    })
}

/// `w` without its apostrophes (`children's` is `childrens`), copied only
/// when it has one.
fn without_apostrophes(w: &str) -> Cow<'_, str> {
    if w.contains(['\'', '’']) {
        Cow::Owned(w.chars().filter(|c| *c != '\'' && *c != '’').collect())
    } else {
        Cow::Borrowed(w)
    }
}

/// Writes `words` (apostrophes already dropped) to `key`, space-separated,
/// with `l2`, `lvl 2`, `lvl2`, `level two` as `level 2`.
fn write_with_levels_spelled_out(words: &[Cow<'_, str>], key: &mut String) {
    let mut push = |w: &str| {
        if !key.is_empty() {
            key.push(' ');
        }
        key.push_str(w);
    };
    let mut i = 0;
    while i < words.len() {
        let w: &str = &words[i];
        let joined = ["level", "lvl", "l"]
            .iter()
            .find_map(|p| w.strip_prefix(p).filter(|n| is_number(n)));
        if let Some(n) = joined {
            push("level");
            push(n);
        } else if let Some(n) = (w == "level" || w == "lvl")
            .then(|| words.get(i + 1).and_then(|n| number_of(n)))
            .flatten()
        {
            push("level");
            push(n);
            i += 1;
        } else {
            push(w);
        }
        i += 1;
    }
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit())
}

/// A level's number, in digits or as a word up to five.
fn number_of(s: &str) -> Option<&str> {
    if is_number(s) {
        return Some(s);
    }
    const WORDS: [(&str, &str); 5] = [
        ("one", "1"),
        ("two", "2"),
        ("three", "3"),
        ("four", "4"),
        ("five", "5"),
    ];
    WORDS.iter().find(|(w, _)| *w == s).map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::course_key;

    fn same(a: &str, b: &str) {
        assert_eq!(course_key(a), course_key(b), "{a:?} and {b:?}");
    }

    fn differ(a: &str, b: &str) {
        assert_ne!(course_key(a), course_key(b), "{a:?} and {b:?}");
    }

    #[test]
    fn the_variations_of_one_course_share_a_key() {
        let base = "Child Neglect Level 2 and the Graded Care Profile";
        same(base, "CHILD NEGLECT level 2 and the graded care profile");
        same(base, "Child Neglect – Level 2 & the Graded Care Profile");
        same(base, "Child Neglect (Level 2) and the Graded  Care Profile");
        same(base, "Child Neglect: L2 and the Graded Care Profile");
        same(base, "Child Neglect Lvl 2 and the Graded Care Profile");
        same(base, "Child Neglect Lvl. 2 and the Graded Care Profile");
        same(base, "Child Neglect Level Two and the Graded Care Profile");
        same(
            base,
            "WSP - Child Neglect Level 2 and the Graded Care Profile",
        );
        same(
            base,
            "VRP: Child Neglect Level 2 and the Graded Care Profile",
        );
        same(
            base,
            "[WSCP] Child Neglect Level 2 and the Graded Care Profile",
        );
        same(
            base,
            "Child Neglect Level 2 and the Graded Care Profile (Online)",
        );
        same(
            base,
            "Child Neglect Level 2 and the Graded Care Profile - Zoom",
        );
        same(
            base,
            "Child Neglect Level 2 and the Graded Care Profile via Teams",
        );
        same(
            base,
            "Child Neglect Level 2 and the Graded Care Profile [MS Teams]",
        );
        same(
            base,
            "Child Neglect Level 2 and the Graded Care Profile (Online) - Zoom",
        );
        same(
            base,
            "Child Neglect Level 2 and the Graded Care Profile - Face-to-Face",
        );
        same("Children’s Voices", "Children's voices");
    }

    #[test]
    fn different_courses_keep_different_keys() {
        differ("Child Neglect Level 2", "Child Neglect Level 3");
        differ("Child Neglect Level 2", "Child Neglect");
        differ("Staying Safe Online", "Staying Safe");
        differ("Exploitation Webinar", "Exploitation");
        differ("Domestic Abuse (Part 1)", "Domestic Abuse (Part 2)");
        // A capitalised first word joined to the name is not a tag.
        differ("ACE-aware practice", "aware practice");
        // A connector that is part of the name stays.
        differ("Working on Teams", "Working");
    }

    #[test]
    fn a_title_of_only_tags_and_notes_gives_no_key() {
        assert_eq!(course_key(""), None);
        assert_eq!(course_key("  —  "), None);
        assert_eq!(course_key("(Online)"), Some("online".into()));
        assert_eq!(course_key("VRP:"), Some("vrp".into()));
    }
}
