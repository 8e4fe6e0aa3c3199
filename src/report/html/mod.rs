//! The HTML reports: one self-contained page for a run (`run`, with its `coverage` grid and its
//! `contracts`) and one for a drift comparison (`drift`), readable offline from disk or a CI
//! artifact, printable, and whole without JavaScript. The stylesheet (`style.css`) and the small filter script (`filter.js`) are
//! compiled in and inlined; the page loads nothing, and its Content-Security-Policy forbids it
//! to.
//!
//! Markup comes only from string literals here: `Html` appends `'static` markup as is and
//! every other string through [`escape`]. What is escaped was redacted before it got here (the
//! pages are made of [`crate::seal::Redacted`] values only), so an escape cannot carry a
//! secret past the redaction point.

mod contracts;
mod coverage;
mod drift;
mod run;

use std::borrow::Cow;

pub use drift::drift_page;
pub use run::{Group, PageHead, PageTally, case as run_case, write_run_page};

/// The stylesheet, screen and print.
const STYLE: &str = include_str!("style.css");
/// The filter script: it only hides and shows cases, and opens every `<details>` for print.
const SCRIPT: &str = include_str!("filter.js");

/// Text or an attribute value as HTML: `& < > " '` escaped, nothing else changed.
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An HTML document being written. Markup is `'static` (written in this module); text and
/// attribute values are escaped on the way in.
struct Html {
    out: String,
}

impl Html {
    fn new() -> Html {
        Html { out: String::with_capacity(64 * 1024) }
    }

    /// Markup written in this module.
    fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.out.push_str(markup);
        self
    }

    /// Text, escaped.
    fn text(&mut self, s: &str) -> &mut Self {
        self.out.push_str(&escape(s));
        self
    }

    /// `<tag a="v" …>`, values escaped; an empty value writes the bare attribute name.
    fn open(&mut self, tag: &'static str, attrs: &[(&'static str, &str)]) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        for (name, value) in attrs {
            self.out.push(' ');
            self.out.push_str(name);
            if !value.is_empty() {
                self.out.push_str("=\"");
                self.out.push_str(&escape(value));
                self.out.push('"');
            }
        }
        self.out.push('>');
        self
    }

    /// `</tag>`.
    fn close(&mut self, tag: &'static str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// `<tag …>text</tag>`.
    fn el(&mut self, tag: &'static str, attrs: &[(&'static str, &str)], text: &str) -> &mut Self {
        self.open(tag, attrs).text(text).close(tag)
    }

    /// A summary tile: the count `n` (also in the `attr` data attribute, for scripts and
    /// tests) over its `label`; a zero count is marked so the page can dim it.
    fn tile(&mut self, class: &str, attr: &'static str, n: usize, label: &str) -> &mut Self {
        let n_text = n.to_string();
        let zero = if n == 0 { " zero" } else { "" };
        self.open("div", &[("class", &format!("{class}{zero}")), (attr, &n_text)])
            .el("span", &[("class", "n")], &n_text)
            .el("span", &[("class", "label")], label)
            .close("div")
    }

    /// A count, as text.
    fn num(&mut self, n: usize) -> &mut Self {
        self.out.push_str(&n.to_string());
        self
    }
}

/// A whole page: the head with the inlined stylesheet, `body`, the inlined script.
fn page(title: &str, body: impl FnOnce(&mut Html)) -> String {
    let mut h = Html::new();
    page_open(&mut h, title);
    body(&mut h);
    page_close(&mut h);
    h.out
}

/// The head of a page, with the inlined stylesheet, up to `<body>`.
fn page_open(h: &mut Html, title: &str) {
    h.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        // Nothing may be fetched: no network, no file beside the page. Only the inlined style
        // and script apply.
        .raw("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n")
        .raw("<meta name=\"generator\" content=\"psconform\">\n")
        .el("title", &[], title)
        .raw("\n<style>\n")
        .raw(STYLE)
        .raw("</style>\n</head>\n<body>\n");
}

/// The end of a page: the inlined script.
fn page_close(h: &mut Html) {
    h.raw("\n<script>\n").raw(SCRIPT).raw("</script>\n</body>\n</html>\n");
}

/// `2026-12-01T16:33:42Z` as `2026-12-01 16:33:42 UTC`.
fn shown_date(rfc3339: &str) -> String {
    match rfc3339.strip_suffix('Z').and_then(|s| s.split_once('T')) {
        Some((date, time)) => format!("{date} {time} UTC"),
        None => rfc3339.to_owned(),
    }
}

/// A duration as people read it: `4 ms`, `1.25 s`, `2 min 5 s`.
fn shown_duration(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{} min {} s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

/// `n thing` or `n things`.
fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_every_character_that_changes_meaning() {
        assert_eq!(escape("plain text"), Cow::Borrowed("plain text"));
        assert_eq!(
            escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn values_are_escaped_and_markup_is_not() {
        let mut h = Html::new();
        h.open("p", &[("title", "a\"b"), ("open", "")]).text("<script>").close("p");
        assert_eq!(h.out, "<p title=\"a&quot;b\" open>&lt;script&gt;</p>");
    }

    #[test]
    fn durations_and_dates_read_as_people_write_them() {
        use std::time::Duration;
        assert_eq!(shown_duration(Duration::from_millis(4)), "4 ms");
        assert_eq!(shown_duration(Duration::from_millis(1250)), "1.25 s");
        assert_eq!(shown_duration(Duration::from_secs(125)), "2 min 5 s");
        assert_eq!(shown_date("2026-12-01T16:33:42Z"), "2026-12-01 16:33:42 UTC");
    }
}
