//! Text from the sites made safe and short for a terminal: escape
//! sequences, control and bidirectional characters removed
//! ([`terminal_safe`]), cut to a width ([`clip`]), and laid out in columns
//! ([`columns`]). Every layer that prints site text goes through it; it knows
//! nothing of sessions.

/// Lays rows out in columns two spaces apart (widths in characters); the first
/// row is the header. Every cell goes through [`terminal_safe`] first: this is
/// the one layout of every terminal table, and cells hold text from the sites.
pub fn columns<R: AsRef<[String]>>(rows: &[R]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.as_ref().iter().map(|c| terminal_safe(c)).collect())
        .collect();
    let n = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Shortens to `max` characters (never inside a character), made
/// [`terminal_safe`] first, so line breaks become spaces.
pub fn clip(s: &str, max: usize) -> String {
    let flat = terminal_safe(s);
    if flat.chars().count() <= max {
        flat
    } else {
        let mut t: String = flat.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Text from a site made safe to print on a terminal, on one line: escape
/// sequences (CSI such as colours, OSC such as window titles or links, and the
/// other ESC forms, in 7-bit and 8-bit spellings) are removed whole; other
/// control characters (C0, DEL, C1) and the bidirectional controls that can
/// make text read differently from what it is (U+061C, U+200E, U+200F,
/// U+202A–U+202E, U+2066–U+2069) are removed; tabs, line and paragraph breaks
/// become spaces.
pub fn terminal_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                // OSC, DCS, SOS, PM, APC: a string up to its terminator.
                Some(']' | 'P' | 'X' | '^' | '_') => skip_control_string(&mut chars),
                // Two-character escapes (ESC c, ESC 7, ESC ( B's first half …).
                Some(_) | None => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_control_string(&mut chars),
            '\t' | '\n' | '\r' | '\u{0b}' | '\u{0c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                out.push(' ')
            }
            c if c.is_control() => {}
            '\u{061c}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Skips the rest of a CSI sequence: parameter and intermediate characters,
/// then one final character.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars
        .next_if(|c| matches!(c, '\u{20}'..='\u{3f}'))
        .is_some()
    {}
    let _ = chars.next_if(|c| matches!(c, '\u{40}'..='\u{7e}'));
}

/// Skips the rest of an OSC (or DCS, SOS, PM, APC) string, through its
/// terminator: BEL, ST (`ESC \` or U+009C), or CAN / SUB, which cancel it.
fn skip_control_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{07}' | '\u{9c}' | '\u{18}' | '\u{1a}' => return,
            '\u{1b}' => {
                let _ = chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_removed_whole() {
        // colour (CSI), window title (OSC ended by BEL), hyperlink (OSC ended by ST)
        assert_eq!(terminal_safe("\u{1b}[31mRed\u{1b}[0m alert"), "Red alert");
        assert_eq!(terminal_safe("A\u{1b}]0;owned\u{07}B"), "AB");
        assert_eq!(
            terminal_safe("\u{1b}]8;;https://x.test\u{1b}\\link\u{1b}]8;;\u{1b}\\"),
            "link"
        );
        // 8-bit CSI and OSC, a private-mode CSI, a two-character escape
        assert_eq!(terminal_safe("a\u{9b}2Jb\u{9d}0;t\u{9c}c"), "abc");
        assert_eq!(terminal_safe("\u{1b}[?25lhidden cursor"), "hidden cursor");
        assert_eq!(terminal_safe("\u{1b}cReset"), "Reset");
        // a DCS string; an OSC that never ends takes the rest with it
        assert_eq!(terminal_safe("x\u{1b}Pq#0\u{1b}\\y"), "xy");
        assert_eq!(terminal_safe("ok\u{1b}]0;never ends"), "ok");
        assert_eq!(terminal_safe("trailing\u{1b}"), "trailing");
    }

    #[test]
    fn control_and_bidi_characters_are_removed() {
        assert_eq!(
            terminal_safe("a\u{0}b\u{7}c\u{8}d\u{7f}e\u{85}f\u{9c}g"),
            "abcde fg"
        );
        assert_eq!(
            terminal_safe("line\none\ttab\r\u{2028}x"),
            "line one tab  x"
        );
        assert_eq!(
            terminal_safe("\u{202e}txt.exe\u{202c} \u{2066}a\u{2069}\u{200f}\u{61c}"),
            "txt.exe a"
        );
        // ordinary text, accents and symbols are untouched
        let plain = "Level 2: Neglect & GCP2 — “Café” [You MUST complete Level 1] £0 ½ 😀";
        assert_eq!(terminal_safe(plain), plain);
    }

    #[test]
    fn every_table_cell_is_made_safe_and_aligned() {
        let rows = vec![
            vec!["TITLE".to_string(), "WHERE".to_string()],
            vec!["\u{1b}[31mRed\u{1b}[0m".to_string(), "Hall".to_string()],
            vec!["\u{202e}Abc".to_string(), "x\u{1b}]0;t\u{7}".to_string()],
        ];
        let out = columns(&rows);
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert_eq!(out, "TITLE  WHERE\nRed    Hall\nAbc    x\n");
        assert_eq!(clip("\u{1b}[1mA long title\u{1b}[0m", 7), "A long…");
    }
}
