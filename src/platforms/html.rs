//! Screening an HTML page before any reader parses it: a page nested deeper
//! than any real site is refused in one linear pass, naming the page.

use super::ParseError;

/// Most start tags a page may leave open at once. html5ever's tree building
/// slows down steeply with nesting (a million nested `<div>`s take minutes),
/// so a page is screened before it is parsed; real pages stay in the tens,
/// and even sloppy markup (unclosed `<li>` and `<p>`) in the hundreds.
pub const MAX_UNCLOSED_TAGS: usize = 10_000;

/// Elements that never take an end tag.
const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// Parses an HTML page after screening it in one linear pass: a page that
/// leaves more than `MAX_UNCLOSED_TAGS` start tags open is refused, naming the
/// page, rather than handed to a parser that would take minutes over it.
pub fn parse_html(html: &str, page_url: &url::Url) -> Result<scraper::Html, ParseError> {
    if let Some(open) = unclosed_tags_over_limit(html) {
        return Err(ParseError::new(
            page_url,
            format!("nested too deeply ({open}+ unclosed tags): not a page of a real site"),
        ));
    }
    Ok(scraper::Html::parse_document(html))
}

/// The count of open start tags once it passes `MAX_UNCLOSED_TAGS`, if it does.
fn unclosed_tags_over_limit(html: &str) -> Option<usize> {
    let b = html.as_bytes();
    let mut open: usize = 0;
    let mut i = 0;
    let find = |from: usize, pat: &[u8]| -> Option<usize> {
        b.get(from..)?
            .windows(pat.len())
            .position(|w| w.eq_ignore_ascii_case(pat))
            .map(|p| from + p)
    };
    while let Some(p) = b.get(i..).and_then(|r| r.iter().position(|&c| c == b'<')) {
        let at = i + p;
        match b.get(at + 1) {
            Some(b'/') => {
                open = open.saturating_sub(1);
                i = at + 2;
            }
            Some(b'!') if b.get(at + 2..at + 4) == Some(b"--") => {
                i = find(at + 4, b"-->").map_or(b.len(), |e| e + 3);
            }
            Some(c) if c.is_ascii_alphabetic() => {
                let name_end = b[at + 1..]
                    .iter()
                    .position(|c| !c.is_ascii_alphanumeric())
                    .map_or(b.len(), |n| at + 1 + n);
                let name = &b[at + 1..name_end];
                let close = b[name_end..]
                    .iter()
                    .position(|&c| c == b'>')
                    .map_or(b.len(), |n| name_end + n);
                let self_closing = close > 0 && b.get(close - 1) == Some(&b'/');
                let raw = [&b"script"[..], b"style", b"textarea", b"title"]
                    .into_iter()
                    .find(|r| r.eq_ignore_ascii_case(name));
                if let Some(r) = raw {
                    // Raw text: nothing inside is a tag.
                    let mut end_tag = b"</".to_vec();
                    end_tag.extend_from_slice(r);
                    i = find(close, &end_tag).map_or(b.len(), |e| e + end_tag.len());
                    continue;
                }
                let void = VOID.iter().any(|v| v.as_bytes().eq_ignore_ascii_case(name));
                if !self_closing && !void {
                    open += 1;
                    if open > MAX_UNCLOSED_TAGS {
                        return Some(open);
                    }
                }
                i = close + 1;
            }
            _ => i = at + 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screening_counts_open_tags_not_void_comments_or_raw_text() {
        let ok = format!(
            "<!doctype html><html><body>{}<script>{}</script><!-- {} --></body></html>",
            "<p>para<br><img src=x /><li>item".repeat(3000),
            "<div>".repeat(50_000),
            "<div>".repeat(50_000),
        );
        // 3,000 unclosed <p> and <li>: sloppy but real-sized.
        assert_eq!(unclosed_tags_over_limit(&ok), None);
        let deep = "<div>".repeat(MAX_UNCLOSED_TAGS + 1);
        assert_eq!(unclosed_tags_over_limit(&deep), Some(MAX_UNCLOSED_TAGS + 1));
        let closed = "<div></div>".repeat(100_000);
        assert_eq!(unclosed_tags_over_limit(&closed), None);
        let url = url::Url::parse("https://x.example/events-list").unwrap();
        let err = parse_html(&deep, &url).unwrap_err();
        assert!(err.to_string().contains("x.example/events-list"), "{err}");
        assert!(err.to_string().contains("nested too deeply"), "{err}");
    }
}
