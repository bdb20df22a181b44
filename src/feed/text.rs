//! The byte-level rules of iCalendar text: TEXT values sanitised (line breaks,
//! control characters, component delimiters) and escaped (RFC 5545 §3.3.11),
//! URIs cleaned, and content lines folded to 75 octets with CRLF endings (§3.1).
//!
//! Owns: which bytes may appear in a content line and how a line is broken.
//! Both writers use these rules, and so does the `icalendar` crate's input,
//! which is sanitised here first (the gaps in the crate's own escaping are
//! marked "icalendar lacks" where they are filled).
//!
//! Does not own: what a value says (`wording`), which properties a feed has or
//! their order (`writer`, and the tests' reference), or how a value other than text is
//! formatted (times, offsets, durations).

/// Makes scraped text safe to hand to the icalendar crate as a TEXT value: every
/// line break becomes `\n` (which the crate escapes), other control characters
/// except tab are dropped, and component delimiters are neutralised (see
/// `ZWJ`).
// icalendar lacks: `escape_text` escapes `\n` but not `\r`, so a bare CR (or the
// CR of a CRLF) would reach the output raw and end the property early in
// parsers that accept CR as a line end.
pub fn sanitize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    scrub_into(&mut out, s, false);
    out
}

/// Written after the colon of `BEGIN:` or `END:` (any case) inside a text value.
///
/// Some JavaScript parsers find components with an unanchored
/// `BEGIN:VEVENT…END:VEVENT` pattern over the whole text, so a scraped
/// description holding `END:VEVENT` split its event in two, and the second half
/// became a phantom event. A ZERO WIDTH JOINER after the colon breaks that
/// pattern and is invisible where the text is shown; RFC 5545 parsers are not
/// affected either way (a delimiter only counts at the start of a content line).
const ZWJ: char = '\u{200D}';

/// What a run of text is made of, as far as sanitising and escaping go.
enum Piece {
    /// Bytes to copy as they are.
    Keep(usize),
    /// A line break (CR, LF, CRLF, NEL, LINE or PARAGRAPH SEPARATOR) of this many bytes.
    Break(usize),
    /// A control character (other than tab) of this many bytes, dropped.
    Drop(usize),
    /// `\`, `;` or `,`: escaped in TEXT.
    Special(u8),
    /// A colon: after `BEGIN` or `END`, followed by `ZWJ`.
    Colon,
}

/// True when `before` ends with `BEGIN` or `END` in any case, so a colon after
/// it would read as a component delimiter to a careless parser.
fn ends_with_delimiter_word(before: &str) -> bool {
    let b = before.as_bytes();
    let ends =
        |word: &[u8]| b.len() >= word.len() && b[b.len() - word.len()..].eq_ignore_ascii_case(word);
    ends(b"BEGIN") || ends(b"END")
}

/// The next piece of `b` (non-empty), starting at a character boundary.
fn next_piece(b: &[u8]) -> Piece {
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let special = match c {
            b'\\' | b';' | b',' | b':' | b'\r' | b'\n' | 0x7f => true,
            b'\t' => false,
            0..=0x1f => true,
            // C1 controls (NEL among them) are U+0080..U+009F: C2 80..C2 9F.
            0xc2 => b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)),
            // LINE SEPARATOR and PARAGRAPH SEPARATOR: E2 80 A8 / E2 80 A9.
            0xe2 => b.get(i + 1) == Some(&0x80) && matches!(b.get(i + 2), Some(0xa8 | 0xa9)),
            _ => false,
        };
        if special {
            break;
        }
        i += 1;
    }
    if i > 0 {
        return Piece::Keep(i);
    }
    match b[0] {
        c @ (b'\\' | b';' | b',') => Piece::Special(c),
        b':' => Piece::Colon,
        b'\r' if b.get(1) == Some(&b'\n') => Piece::Break(2),
        b'\r' | b'\n' => Piece::Break(1),
        0xc2 if b[1] == 0x85 => Piece::Break(2),
        0xc2 => Piece::Drop(2),
        0xe2 => Piece::Break(3),
        _ => Piece::Drop(1),
    }
}

/// Appends `s` with every line break as `\n`, other control characters but
/// tab dropped and a `ZWJ` after the colon of `BEGIN:` and `END:` (once: text
/// scrubbed twice is unchanged the second time); with `escape`, also as an RFC
/// 5545 §3.3.11 TEXT value (`\\`, `\;`, `\,` and line breaks written `\n`).
/// Works on runs of bytes, not characters: this is the inner loop of every feed.
fn scrub_into(out: &mut String, s: &str, escape: bool) {
    let mut rest = s;
    while !rest.is_empty() {
        let (piece, len) = match next_piece(rest.as_bytes()) {
            Piece::Keep(n) => {
                out.push_str(&rest[..n]);
                (None, n)
            }
            Piece::Break(n) => (Some(if escape { "\\n" } else { "\n" }), n),
            Piece::Drop(n) => (None, n),
            Piece::Special(c) => {
                if escape {
                    out.push('\\');
                }
                out.push(char::from(c));
                (None, 1)
            }
            Piece::Colon => {
                out.push(':');
                // What is already written decides (a control character dropped
                // between `END` and `:` must not let `END:` through).
                let before = &out[..out.len() - 1];
                if ends_with_delimiter_word(before) && !rest[1..].starts_with(ZWJ) {
                    out.push(ZWJ);
                }
                (None, 1)
            }
        };
        if let Some(p) = piece {
            out.push_str(p);
        }
        rest = &rest[len..];
    }
}

/// Sanitised and flattened to a single line with single spaces.
pub(super) fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_words(&mut out, &sanitize_text(s));
    out
}

/// Appends the whitespace-separated words of `s` with single spaces.
pub(super) fn push_words(out: &mut String, s: &str) {
    for (i, w) in s.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(w);
    }
}

/// A URI for a property the crate writes verbatim: no control characters or
/// whitespace, which a URL never legitimately contains, and the colon of a
/// `BEGIN:` or `END:` inside it percent-encoded (`%3A`), for the same careless
/// parsers `ZWJ` is for.
// icalendar lacks: URL is a URI value, so the crate writes it unescaped; a CR/LF
// in a scraped link would start a new property.
pub(super) fn clean_uri(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| !c.is_control() && !c.is_whitespace()) {
        if c == ':' && ends_with_delimiter_word(&out) {
            out.push_str("%3A");
        } else {
            out.push(c);
        }
    }
    out
}

/// RFC 5545 §3.3.11 TEXT escaping, for properties the crate does not escape.
// icalendar lacks: it escapes only properties it knows to be TEXT; X-WR-CALNAME
// and X-WR-CALDESC are written verbatim.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    scrub_into(&mut out, s, true);
    out
}

/// Appends `s` as an RFC 5545 §3.3.11 TEXT value: sanitised as `sanitize_text`
/// does and escaped, in one pass.
pub fn push_escaped(line: &mut String, s: &str) {
    scrub_into(line, s, true);
}

/// RFC 5545 §3.1: content lines are at most 75 octets, excluding the CRLF.
const FOLD_LIMIT: usize = 75;

/// Appends `line` folded per RFC 5545 §3.1: at most 75 octets per line, never
/// inside a UTF-8 character, CRLF endings, continuations starting with one space.
///
/// Where it can, it also avoids a fold next to a space or tab, because some
/// parsers (the `ical` crate among them) trim whitespace at the ends of physical
/// lines and would lose it, and a fold just after a backslash, because a sloppy
/// parser that unescapes before unfolding would break the escape in two.
pub fn fold_into(out: &mut String, line: &str) {
    let mut rest = line;
    let mut limit = FOLD_LIMIT;
    while rest.len() > limit {
        let mut hard = limit;
        while !rest.is_char_boundary(hard) {
            hard -= 1;
        }
        let bytes = rest.as_bytes();
        let blank = |i: usize| matches!(bytes[i], b' ' | b'\t');
        let cut = (hard.saturating_sub(16).max(1)..=hard)
            .rev()
            .find(|&i| {
                rest.is_char_boundary(i) && !blank(i - 1) && !blank(i) && bytes[i - 1] != b'\\'
            })
            .unwrap_or(hard);
        out.push_str(&rest[..cut]);
        out.push_str("\r\n ");
        rest = &rest[cut..];
        limit = FOLD_LIMIT - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitises_and_escapes() {
        assert_eq!(sanitize_text("a\r\nb\rc\nd\u{0}e\tf"), "a\nb\nc\nde\tf");
        assert_eq!(escape_text("a,b;c\\d\r\ne"), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(
            clean_uri("https://x.org/a\r\nEND:VEVENT"),
            "https://x.org/aEND%3AVEVENT"
        );
    }

    #[test]
    fn component_delimiters_in_text_are_neutralised() {
        let z = ZWJ;
        assert_eq!(
            sanitize_text("x END:VEVENT\nBEGIN:VEVENT"),
            format!("x END:{z}VEVENT\nBEGIN:{z}VEVENT")
        );
        // Any case, after any word ending so, and through a dropped control character.
        assert_eq!(
            escape_text("end:vcalendar, Weekend:\u{7}x, WEEKEND\u{7}:y"),
            format!("end:{z}vcalendar\\, Weekend:{z}x\\, WEEKEND:{z}y")
        );
        // Other colons are left alone, and scrubbing twice changes nothing.
        assert_eq!(escape_text("Book: 09:30"), "Book: 09:30");
        let once = sanitize_text("END:VEVENT");
        assert_eq!(sanitize_text(&once), once);
        assert_eq!(escape_text(&once), once);
    }

    #[test]
    fn folds_within_limit_on_char_boundaries() {
        let line = format!("SUMMARY:{}", "é“”😀 x".repeat(60));
        let mut out = String::new();
        fold_into(&mut out, &line);
        assert!(out.ends_with("\r\n"));
        for l in out.trim_end_matches("\r\n").split("\r\n") {
            assert!(l.len() <= FOLD_LIMIT, "{} octets: {l:?}", l.len());
            assert!(!l.ends_with(' '), "fold next to a space: {l:?}");
        }
        assert_eq!(out.trim_end_matches("\r\n").replace("\r\n ", ""), line);
        // A run of spaces longer than the look-back still folds, losslessly.
        let spaces = format!("DESCRIPTION:{}", " ".repeat(200));
        let mut out = String::new();
        fold_into(&mut out, &spaces);
        assert_eq!(out.trim_end_matches("\r\n").replace("\r\n ", ""), spaces);
        // No fold splits an escape.
        let escaped = format!("DESCRIPTION:{}", "\\n".repeat(100));
        let mut out = String::new();
        fold_into(&mut out, &escaped);
        assert!(!out.contains("\\\r\n"), "{out}");
        assert_eq!(out.trim_end_matches("\r\n").replace("\r\n ", ""), escaped);
    }
}
