//! How text that psconform did not write (a server's field names and bodies, file names, case
//! file lines) is embedded in a text sink, so it cannot act on the sink:
//!
//! - [`controls`]: for a terminal or a log, C0 and C1 control characters and bidirectional
//!   overrides are shown escaped (`\u{1b}`), so an `ESC[31m` or an OSC 52 sequence (which sets
//!   the clipboard in several terminals) is read, not run, and a right-to-left override cannot
//!   reorder a line;
//! - [`code`], [`cell`] and [`text`]: for Markdown, a code span whose fence is longer than any
//!   backtick run inside it, `\|` inside table cells, and Markdown's punctuation escaped in
//!   plain text, so a name cannot close its span, open table cells, or render an image or a
//!   link where a report is pasted.
//!
//! HTML escaping is the HTML page's own (`report::html`). This module knows nothing of the
//! project: it takes and gives text.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether a character is shown escaped on a terminal: C0 controls but the line break and the
/// tab, DEL, C1 controls, and the characters that reorder bidirectional text.
fn is_escaped(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character and bidi override shown as `\u{…}`. Line breaks and
/// tabs are kept: the sink's own layout uses them.
pub fn controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_escaped(c) {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` on one line, controls escaped: for a table cell or a heading, where a line break
/// would end the row.
fn one_line(text: &str) -> String {
    controls(text).replace('\r', "\\r").replace('\n', "\\n").replace('\t', " ")
}

/// A Markdown code span holding `text` exactly: the fence is one backtick longer than the
/// longest run of backticks inside, and a space pads a text that starts or ends with a
/// backtick (CommonMark strips one space on each side).
pub fn code(text: &str) -> String {
    let text = one_line(text);
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Markdown of a table cell: `|` escaped as `\|`, which GitHub reads as a pipe even inside a
/// code span, so nothing in a cell can open another one.
pub fn cell(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    let mut escaped = false;
    for c in markdown.chars() {
        if c == '|' && !escaped {
            out.push('\\');
        }
        escaped = c == '\\' && !escaped;
        out.push(c);
    }
    out
}

/// Plain Markdown text: every ASCII punctuation character that can start markup (emphasis,
/// links, images, code, HTML, headings, tables) escaped with a backslash, on one line. Round
/// brackets are left: with `[` and `]` escaped they cannot make a link.
pub fn text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in one_line(text).chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '!' | '|' | '#' | '~' | '&') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_shown_escaped() {
        assert_eq!(controls("plain\ttext\n"), "plain\ttext\n");
        assert!(matches!(controls("plain"), Cow::Borrowed(_)));
        assert_eq!(controls("\u{1b}[31mred\u{1b}]52;c;eA==\u{7}"), "\\u{1b}[31mred\\u{1b}]52;c;eA==\\u{7}");
        assert_eq!(controls("a\u{202e}b\u{9b}c\r"), "a\\u{202e}b\\u{9b}c\\u{d}");
    }

    #[test]
    fn a_code_span_holds_any_backticks() {
        assert_eq!(code("Name"), "`Name`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x``"), "``` `x`` ```");
        assert_eq!(code("two\nlines"), "`two\\nlines`");
    }

    #[test]
    fn cells_escape_pipes_and_text_escapes_markup() {
        assert_eq!(cell(&code("a|b")), "`a\\|b`");
        assert_eq!(cell("a\\|b"), "a\\|b", "an escaped pipe stays one");
        assert_eq!(text("![x](http://e/p.png) *b* (v)"), "\\!\\[x\\](http://e/p.png) \\*b\\* (v)");
    }
}
