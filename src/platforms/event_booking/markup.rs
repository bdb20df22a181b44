//! Reading a page's text: lines of an element, labels, brackets, the pager's next link,
//! and the depth screen. Shared by the listing, detail and eLearning readers.

use super::*;

/// A selector written in this code, not in a source file: one that does
/// not parse is a bug the first test that reads a page finds.
pub(super) fn static_selector(s: &str) -> Selector {
    Selector::parse(s).expect("static selector")
}

/// A pattern written in this code, not in a source file: one that does not
/// compile is a bug the first test that reads a page finds.
pub(super) fn static_regex(s: &str) -> Regex {
    Regex::new(s).expect("static regex")
}

pub(super) static ANY_LINK: LazyLock<Selector> = LazyLock::new(|| static_selector("a[href]"));
pub(super) static HEADING: LazyLock<Selector> =
    LazyLock::new(|| static_selector("h1, h2, h3, h4, h5, h6"));
pub(super) static HEADING_OR_LINK: LazyLock<Selector> =
    LazyLock::new(|| static_selector("h1, h2, h3, h4, h5, h6, a[href]"));
pub(super) static CATEGORY_CLASS: LazyLock<Selector> =
    LazyLock::new(|| static_selector("[class*='categ'], [class*='Categ']"));
pub(super) static DESCRIPTION_CLASS: LazyLock<Selector> = LazyLock::new(|| {
    static_selector(".description, .summary, [class*='desc'], [class*='summary']")
});
pub(super) static PARAGRAPH: LazyLock<Selector> = LazyLock::new(|| static_selector("p"));
pub(super) static DT: LazyLock<Selector> = LazyLock::new(|| static_selector("dt"));

/// The page says it has nothing to list (so an empty result is not suspicious).
pub(super) static NO_EVENTS: LazyLock<Regex> = LazyLock::new(|| {
    static_regex(
        r"(?i)\bno\s+(?:upcoming\s+|matching\s+)?(?:events|courses|results|sessions)\b|\bnothing\s+(?:found|to\s+show)\b|\b0\s+(?:events|courses|results)\b",
    )
});
/// `Label: value` on one line (labels are short words).
pub(super) static LABELLED: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"^\s*(?P<l>[\p{L}][\p{L} /\-]{0,30}?)\s*:\s*(?P<v>.*)$"));
pub(super) static VENUE_LABEL: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"(?i)^\s*(?:venue|location|where|address)\b"));
pub(super) static DATE_LABEL: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"(?i)^\s*(?:date|dates|when)\b"));
pub(super) static TIME_LABEL: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"(?i)^\s*(?:time|times)\b"));
pub(super) static NEXT_TEXT: LazyLock<Regex> =
    LazyLock::new(|| static_regex(r"(?i)^\s*(?:next(?:\s+page)?\s*[»›>→]*|[›>→])\s*$"));

// ---------------------------------------------------------------------------
// Text of an element, as lines

/// Deeper nesting than any real page has; Chromium's HTML parser stops nesting
/// at 512 too. Selector matching walks ancestors, so a page nested deeper (junk,
/// or hostile) would cost depth × size to read: it is refused instead.
pub(super) const MAX_DEPTH: usize = 512;

/// The document's nesting depth when it exceeds `MAX_DEPTH` (read in one pass,
/// stopping as soon as it does).
pub(super) fn too_deep(doc: &Html) -> Option<usize> {
    let root = doc.root_element();
    let mut open = Vec::new();
    for node in root.descendants() {
        let parent = node.parent().map(|p| p.id());
        while open.last().is_some_and(|&id| Some(id) != parent) {
            open.pop();
        }
        open.push(node.id());
        if open.len() > MAX_DEPTH {
            return Some(open.len());
        }
    }
    None
}

/// Elements that start a new line of text when rendered.
pub(super) fn is_block(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "br"
            | "caption"
            | "dd"
            | "div"
            | "dl"
            | "dt"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hr"
            | "li"
            | "main"
            | "nav"
            | "ol"
            | "p"
            | "section"
            | "table"
            | "tbody"
            | "td"
            | "tfoot"
            | "th"
            | "thead"
            | "tr"
            | "ul"
    )
}

/// Elements whose text is never shown.
pub(super) fn is_hidden(name: &str) -> bool {
    matches!(
        name,
        "script" | "style" | "noscript" | "template" | "head" | "title" | "iframe" | "svg"
    )
}

/// The visible text of `root` split into normalised, non-empty lines, leaving
/// out the subtrees in `skip`. Walks the tree without recursion, so a deeply
/// nested page cannot overflow the stack.
pub(super) fn text_lines(root: ElementRef<'_>, skip: &[ElementRef<'_>]) -> Vec<String> {
    text_lines_capped(root, skip, usize::MAX)
}

/// `text_lines`, reading at most `max_nodes` nodes: a cell, link or heading
/// never holds more on a real page, and the cap keeps nested junk linear.
pub(super) fn text_lines_capped(
    root: ElementRef<'_>,
    skip: &[ElementRef<'_>],
    max_nodes: usize,
) -> Vec<String> {
    let mut buf = String::new();
    // open elements: (node id, is block, hides its text)
    let mut open = Vec::new();
    let mut hidden_depth = 0usize;
    for node in root.descendants().skip(1).take(max_nodes) {
        let parent = node.parent().map(|p| p.id());
        while let Some(&(id, block, hides)) = open.last() {
            if Some(id) == parent {
                break;
            }
            open.pop();
            if block {
                buf.push('\n');
            }
            if hides {
                hidden_depth = hidden_depth.saturating_sub(1);
            }
        }
        match node.value() {
            // a newline in the source is only whitespace; lines come from elements
            Node::Text(t) if hidden_depth == 0 => {
                buf.extend(
                    t.chars()
                        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
                )
            }
            Node::Element(e) => {
                let block = is_block(e.name());
                let hides = is_hidden(e.name())
                    || ElementRef::wrap(node).is_some_and(|el| skip.contains(&el));
                if block {
                    buf.push('\n');
                }
                if hides {
                    hidden_depth += 1;
                }
                open.push((node.id(), block, hides));
            }
            _ => {}
        }
    }
    buf.split('\n')
        .map(text::normalise_ws)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Most nodes read for the text of a small element (title, link, cell, field).
pub(super) const SMALL_TEXT_NODES: usize = 2_000;

/// Most nodes read for the text of one listing entry or course (a real one has
/// a few dozen).
pub(super) const ENTRY_NODES: usize = 2_000;

/// All visible text of a small element on one line.
pub(super) fn normalise_text(el: ElementRef<'_>) -> String {
    text_lines_capped(el, &[], SMALL_TEXT_NODES).join(" ")
}

pub(super) fn first_text(el: ElementRef<'_>, sel: &Selector) -> Option<String> {
    el.select(sel).map(normalise_text).find(|t| !t.is_empty())
}

/// `Category: Child Neglect` → `Child Neglect` when the label pattern matches
/// the start; the text as it is otherwise.
pub(super) fn strip_label(line: &str, label: &Regex) -> String {
    if label.is_match(line) {
        if let Some(c) = LABELLED.captures(line) {
            return c["v"].trim().to_string();
        }
    }
    line.trim().to_string()
}

/// `[You MUST complete Level 1 first]` → `You MUST complete Level 1 first`.
pub(super) fn strip_brackets(s: &str) -> String {
    let t = s.trim();
    let inner = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .or_else(|| t.strip_prefix('(').and_then(|r| r.strip_suffix(')')))
        .unwrap_or(t);
    inner.trim().to_string()
}

// ---------------------------------------------------------------------------
// URLs

pub(super) fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

pub(super) fn last_number(u: &Url) -> Option<String> {
    u.path_segments()?
        .rev()
        .find(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
}

/// The pager's next page: by selector, else by a link reading "Next"/"›";
/// resolved against the page, kept only when on the same host and not the page
/// itself (a pager that loops would never end).
pub(super) fn next_link(doc: &Html, by_selector: &Selector, page_url: &Url) -> Option<Url> {
    let usable = |a: ElementRef<'_>| -> Option<Url> {
        let href = a.attr("href")?.trim();
        if href.is_empty() || href.starts_with('#') {
            return None;
        }
        let mut u = page_url.join(href).ok()?;
        u.set_fragment(None);
        if !same_origin(&u, page_url) {
            tracing::debug!(url = %page_url, next = %u, "ignoring a next link to another host");
            return None;
        }
        (u != *page_url).then_some(u)
    };
    doc.select(by_selector).find_map(usable).or_else(|| {
        doc.select(&ANY_LINK)
            .filter(|a| {
                // a pager link is a word or a symbol: a few nodes at most
                NEXT_TEXT.is_match(&text_lines_capped(*a, &[], 8).join(" "))
                    || a.attr("rel")
                        .is_some_and(|r| r.eq_ignore_ascii_case("next"))
                    || a.attr("aria-label")
                        .is_some_and(|r| r.trim().eq_ignore_ascii_case("next"))
            })
            .find_map(usable)
    })
}
