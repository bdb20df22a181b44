//! The content lines and components of an iCalendar body (RFC 5545 §3.1 and
//! §3.4), read in one pass without recursion and within fixed bounds.
//!
//! Owns unfolding, splitting a line into name, parameters and value,
//! unescaping TEXT, and building the tree of `BEGIN`/`END` components. A line
//! that cannot be split is kept as a [`BadLine`] on the component it sits in,
//! so the reader can skip just that event; nesting past [`MAX_DEPTH`] skips
//! the component that goes too deep. Several `VCALENDAR`s in one body (RFC
//! 5545's `icalstream`) are all kept, and anything outside them (trailing NULs
//! or junk) is counted, not read.
//!
//! Does not own what any property means (see `parse`, `zones`, `recur`).
//!
//! The `icalendar` crate's parser (the tests' reference writer uses the crate) is recursive
//! in nesting depth and fails the whole body on one bad line, which is why
//! reading lives here.

/// Components nested deeper than this (`VCALENDAR` is depth 1, a `VEVENT`
/// 2, its `VALARM` 3) are skipped with everything inside them.
pub const MAX_DEPTH: usize = 8;

/// One content line: `NAME;PARAM=VALUE:value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    /// The property's name, upper-cased.
    pub name: String,
    /// Its parameters, names upper-cased, values unquoted.
    pub params: Vec<(String, String)>,
    /// The raw value (TEXT escapes still in it).
    pub value: String,
    /// The line of the body it starts on (1-based).
    pub line: usize,
}

impl Prop {
    /// The first value of parameter `key`, if given.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// A line that could not be split into name, parameters and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// The line of the body it starts on (1-based).
    pub line: usize,
    /// The property name it seems to start with, upper-cased (may be empty).
    pub name: String,
    /// Why it could not be read.
    pub why: &'static str,
}

/// A `BEGIN:X` … `END:X` component.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Component {
    /// Its name, upper-cased (`VEVENT`).
    pub name: String,
    /// The line of its `BEGIN` (1-based).
    pub line: usize,
    /// Its properties, in order.
    pub props: Vec<Prop>,
    /// Its sub-components, in order.
    pub children: Vec<Component>,
    /// Lines inside it that could not be read.
    pub bad_lines: Vec<BadLine>,
    /// False when the body ended before its `END`.
    pub closed: bool,
}

impl Component {
    /// The first property called `name`.
    pub fn prop(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }

    /// Every property called `name`.
    pub fn props<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Prop> + 'a {
        self.props.iter().filter(move |p| p.name == name)
    }

    /// The sub-components called `name`.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Component> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

/// What a whole body held.
#[derive(Debug, Default)]
pub struct Stream {
    /// Every `VCALENDAR`, in order.
    pub calendars: Vec<Component>,
    /// Non-blank lines outside any `VCALENDAR` (trailing junk, NULs).
    pub stray_lines: usize,
    /// Components skipped for nesting deeper than [`MAX_DEPTH`], by the line
    /// of their `BEGIN`.
    pub too_deep: Vec<usize>,
    /// `END` lines that closed nothing open.
    pub stray_ends: usize,
}

/// Reads a body into its calendars. Never fails: a body with no `VCALENDAR`
/// gives an empty stream, and the caller says what that means.
pub fn read_stream(body: &str) -> Stream {
    let mut b = Builder::default();
    for (line, text) in unfold(body) {
        b.line(line, &text);
    }
    b.finish()
}

/// Unfolded logical lines with the number of the physical line each starts on.
fn unfold(body: &str) -> Vec<(usize, String)> {
    let body = body.strip_prefix('\u{feff}').unwrap_or(body);
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, raw) in body.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        match (raw.strip_prefix([' ', '\t']), out.last_mut()) {
            (Some(rest), Some((_, prev))) => prev.push_str(rest),
            _ => out.push((i + 1, raw.to_string())),
        }
    }
    out
}

#[derive(Default)]
struct Builder {
    stack: Vec<Component>,
    out: Stream,
    /// Depth of a too-deep component being skipped (0: not skipping).
    skipping: usize,
}

impl Builder {
    fn line(&mut self, number: usize, text: &str) {
        let text = text.trim_end_matches(['\0', ' ', '\t']);
        if text.trim_matches(['\0', ' ', '\t']).is_empty() {
            return;
        }
        match split_line(text, number) {
            Ok(p) if p.name == "BEGIN" => self.begin(p.value.trim().to_ascii_uppercase(), number),
            Ok(p) if p.name == "END" => self.end(&p.value.trim().to_ascii_uppercase()),
            Ok(p) => self.prop(p),
            Err(bad) => self.bad(bad),
        }
    }

    fn begin(&mut self, name: String, line: usize) {
        if self.skipping > 0 {
            self.skipping += 1;
        } else if self.stack.len() >= MAX_DEPTH {
            self.skipping = 1;
            self.out.too_deep.push(line);
        } else {
            self.stack.push(Component {
                name,
                line,
                ..Component::default()
            });
        }
    }

    fn end(&mut self, name: &str) {
        if self.skipping > 0 {
            self.skipping -= 1;
            return;
        }
        // An END closes the innermost open component of that name; any left
        // open inside it were never closed (kept, marked unclosed).
        let Some(at) = self.stack.iter().rposition(|c| c.name == name) else {
            self.out.stray_ends += 1;
            return;
        };
        while self.stack.len() > at + 1 {
            self.pop(false);
        }
        self.pop(true);
    }

    fn pop(&mut self, closed: bool) {
        let Some(mut c) = self.stack.pop() else {
            return;
        };
        c.closed = closed;
        match self.stack.last_mut() {
            Some(parent) => parent.children.push(c),
            None if c.name == "VCALENDAR" => self.out.calendars.push(c),
            None => self.out.stray_lines += 1,
        }
    }

    fn prop(&mut self, p: Prop) {
        if self.skipping > 0 {
            return;
        }
        match self.stack.last_mut() {
            Some(c) => c.props.push(p),
            None => self.out.stray_lines += 1,
        }
    }

    fn bad(&mut self, bad: BadLine) {
        if self.skipping > 0 {
            return;
        }
        match self.stack.last_mut() {
            Some(c) => c.bad_lines.push(bad),
            None => self.out.stray_lines += 1,
        }
    }

    fn finish(mut self) -> Stream {
        self.skipping = 0;
        while !self.stack.is_empty() {
            self.pop(false);
        }
        self.out
    }
}

/// Splits `NAME;P=V;Q="a:b":value` (RFC 5545 §3.1: quoted parameter values
/// may hold `:`, `;` and `,`).
fn split_line(text: &str, line: usize) -> Result<Prop, BadLine> {
    let name_end = text.find([';', ':']).unwrap_or(text.len());
    let name = text[..name_end].trim().to_ascii_uppercase();
    let bad = |why| BadLine {
        line,
        name: name.clone(),
        why,
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(bad("no property name"));
    }
    let mut rest = &text[name_end..];
    let mut params = Vec::new();
    while let Some(after) = rest.strip_prefix(';') {
        let eq = after
            .find('=')
            .ok_or_else(|| bad("a parameter without `=`"))?;
        let key = after[..eq].trim().to_ascii_uppercase();
        let (value, tail) = param_value(&after[eq + 1..])
            .ok_or_else(|| bad("a parameter's quotes are not closed before the value"))?;
        params.push((key, value));
        rest = tail;
    }
    let value = rest
        .strip_prefix(':')
        .ok_or_else(|| bad("no `:` before the value"))?;
    Ok(Prop {
        name,
        params,
        value: value.to_string(),
        line,
    })
}

/// One parameter's value (its first, if a list) and what follows it, which
/// must start with `;` or `:`.
fn param_value(s: &str) -> Option<(String, &str)> {
    let mut first: Option<String> = None;
    let mut rest = s;
    loop {
        let (v, tail) = match rest.strip_prefix('"') {
            Some(q) => {
                let close = q.find('"')?;
                (&q[..close], &q[close + 1..])
            }
            None => {
                let end = rest.find([';', ':', ',']).unwrap_or(rest.len());
                (&rest[..end], &rest[end..])
            }
        };
        first.get_or_insert_with(|| v.trim().to_string());
        match tail.strip_prefix(',') {
            Some(more) => rest = more,
            None if tail.starts_with([';', ':']) => return first.map(|f| (f, tail)),
            None => return None,
        }
    }
}

/// A TEXT value with `\\`, `\;`, `\,` and `\n` unescaped.
pub fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// A list value split on the commas that are not escaped (`CATEGORIES`).
pub fn split_list(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut escaped = false;
    for c in v.chars() {
        match (escaped, c) {
            (false, '\\') => {
                escaped = true;
                cur.push(c);
            }
            (false, ',') => out.push(std::mem::take(&mut cur)),
            _ => {
                escaped = false;
                cur.push(c);
            }
        }
    }
    out.push(cur);
    out.iter().map(|s| unescape(s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_parameters_keep_colons() {
        let p = split_line(
            "DTSTART;TZID=\"Europe/London\";X=\"a:b\":20270101T090000",
            3,
        )
        .unwrap();
        assert_eq!(p.name, "DTSTART");
        assert_eq!(p.param("tzid"), Some("Europe/London"));
        assert_eq!(p.param("X"), Some("a:b"));
        assert_eq!(p.value, "20270101T090000");
    }

    #[test]
    fn a_quote_that_swallows_the_colon_is_a_bad_line() {
        let e = split_line(
            "DTSTART;TZID=\"W. Europe Standard Time:20270114T090000\"",
            9,
        )
        .unwrap_err();
        assert_eq!((e.line, e.name.as_str()), (9, "DTSTART"));
    }

    #[test]
    fn nesting_past_the_depth_is_skipped_without_recursion() {
        let mut body = String::from("BEGIN:VCALENDAR\r\n");
        for _ in 0..100_000 {
            body.push_str("BEGIN:X\r\n");
        }
        body.push_str("END:VCALENDAR\r\n");
        let s = read_stream(&body);
        assert_eq!(s.calendars.len(), 1);
        assert_eq!(s.too_deep, vec![MAX_DEPTH + 1]);
    }

    #[test]
    fn several_calendars_and_trailing_junk() {
        let s = read_stream(
            "BEGIN:VCALENDAR\nEND:VCALENDAR\nBEGIN:VCALENDAR\nX-A:1\nEND:VCALENDAR\n\0\0junk\n",
        );
        assert_eq!(s.calendars.len(), 2);
        assert_eq!(s.stray_lines, 1);
    }

    #[test]
    fn text_and_lists() {
        assert_eq!(unescape("a\\, b\\nc\\\\d"), "a, b\nc\\d");
        assert_eq!(split_list("One\\, two,Three"), vec!["One, two", "Three"]);
    }
}
