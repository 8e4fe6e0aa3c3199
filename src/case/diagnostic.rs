//! Case-file errors as people read them: `file:line:col`, the source line, a caret, a hint.
//!
//! Parse errors from serde-saphyr and semantic errors from validation both end up as a
//! [`Diagnostic`], so `validate` and `run` print every problem in one format.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use regex::Regex;

use crate::seal::{Redact, Redactor};

/// One problem in a case file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the user named it (relative to where psconform runs when it can be).
    pub file: PathBuf,
    /// 1-based line, or 0 when the problem is the file as a whole.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong, in one line.
    pub message: String,
    /// How to fix it, when there is something specific to say.
    pub hint: Option<String>,
    /// The source line the location points into.
    pub source_line: Option<String>,
}

impl Diagnostic {
    /// A problem at a location inside `source`.
    pub fn at(file: &Path, source: &str, line: usize, column: usize, message: impl Into<String>) -> Self {
        let source_line = line.checked_sub(1).and_then(|i| yaml_lines(source).nth(i)).map(str::to_owned);
        Diagnostic {
            file: file.to_path_buf(),
            line,
            column: column.max(1),
            message: message.into(),
            hint: None,
            source_line,
        }
    }

    /// A problem with the file or folder as a whole.
    pub fn whole(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: 0,
            column: 0,
            message: message.into(),
            hint: None,
            source_line: None,
        }
    }

    /// Hides a value in the quoted source line (a credential written into a case file must not
    /// be printed back by the error that refuses it).
    pub fn masking(mut self, value: &str) -> Self {
        let column = self.column;
        if let Some(line) = self.source_line.as_mut()
            && !value.is_empty()
        {
            let replaced = line.replace(value, crate::secret::MASK);
            // A quoted value with escapes is spelled differently in the file: hide the rest of
            // the line from where the value starts.
            *line = if replaced != *line {
                replaced
            } else {
                let start = line.char_indices().nth(column.saturating_sub(1)).map_or(line.len(), |(i, _)| i);
                format!("{}{}", &line[..start], crate::secret::MASK)
            };
        }
        self
    }

    /// Adds a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// `file:line:col`, or just the file for a whole-file problem.
    pub fn location(&self) -> String {
        // A file name may hold control characters: it is shown, not run, on a terminal.
        let file = crate::escape::controls(&self.file.display().to_string()).into_owned();
        if self.line == 0 { file } else { format!("{file}:{}:{}", self.line, self.column) }
    }

    /// The multi-line rendering: title, location, source excerpt with a caret, hint; control
    /// characters of the file's line or name shown escaped, for a terminal.
    pub fn render(&self) -> String {
        crate::escape::controls(&self.render_raw()).into_owned()
    }

    fn render_raw(&self) -> String {
        let mut out = format!("error: {}\n", self.message);
        let Some(src) = &self.source_line else {
            let _ = writeln!(out, "  --> {}", self.location());
            if let Some(h) = &self.hint {
                let _ = writeln!(out, "  = help: {h}");
            }
            return out;
        };
        let num = self.line.to_string();
        let pad = " ".repeat(num.len());
        let _ = writeln!(out, "{pad}--> {}", self.location());
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{num} | {src}");
        let start = src.char_indices().nth(self.column - 1).map_or(src.len(), |(i, _)| i);
        let width = token_width(&src[start..]);
        let indent: String = src[..start].chars().map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        let _ = writeln!(out, "{pad} | {indent}{}", "^".repeat(width));
        if let Some(h) = &self.hint {
            let _ = writeln!(out, "{pad} = help: {h}");
        }
        out
    }
}

/// The lines of a source as the YAML parser numbers them: `\r\n`, `\n` and a lone `\r` each
/// end one (`str::lines` keeps a lone `\r` inside a line, so an excerpt would show the wrong
/// line of a file saved with old Mac line endings).
fn yaml_lines(source: &str) -> impl Iterator<Item = &str> {
    source.split('\n').flat_map(|l| l.strip_suffix('\r').unwrap_or(l).split('\r'))
}

/// How many characters the caret should underline: the word, key or quoted string at the
/// location, at least one.
fn token_width(rest: &str) -> usize {
    let mut chars = rest.chars();
    let width = match chars.next() {
        Some(q @ ('"' | '\'')) => chars.position(|c| c == q).map_or(rest.chars().count(), |n| n + 2),
        Some(_) => rest.chars().take_while(|c| !c.is_whitespace() && !matches!(c, ':' | ',' | '}' | ']')).count(),
        None => 1,
    };
    width.max(1)
}

static UNKNOWN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"unknown (field|variant) `([^`]*)`").expect("the unknown-name pattern is a valid regex")
});
static CANDIDATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"`([^`]*)`").expect("the candidate pattern is a valid regex"));

/// For serde's "unknown field `x`, expected one of `a`, `b`" messages: a did-you-mean hint.
pub fn did_you_mean_from_message(message: &str) -> Option<String> {
    let caps = UNKNOWN.captures(message)?;
    let what = caps.get(1)?.as_str();
    let unknown = caps.get(2)?.as_str();
    let rest = &message[caps.get(0)?.end()..];
    let mut candidates: Vec<&str> =
        CANDIDATE.captures_iter(rest).filter_map(|c| c.get(1)).map(|m| m.as_str()).collect();
    if candidates.is_empty() {
        // serde-saphyr lists the names bare: "expected one of status, headers, body".
        let list = rest.split_once("expected").map_or("", |(_, l)| l).trim_start_matches(" one of").trim();
        candidates = list.split([',', ' ']).map(str::trim).filter(|w| !w.is_empty() && *w != "or").collect();
    }
    match closest(unknown, candidates.iter().copied()) {
        Some(best) => Some(format!("did you mean `{best}`?")),
        None if !candidates.is_empty() => Some(format!("a {what} here is one of: {}", candidates.join(", "))),
        None => None,
    }
}

/// The candidate closest to `word`, if any is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase().replace('-', "_");
    candidates
        .into_iter()
        .map(|c| {
            let norm = c.to_ascii_lowercase().replace('-', "_");
            let d = strsim::levenshtein(&lower, &norm);
            let prefix = norm.starts_with(&lower) || lower.starts_with(&norm);
            (if prefix { d.min(1) } else { d }, c)
        })
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

impl Redact for Diagnostic {
    fn redact(&mut self, r: &Redactor) {
        let file = self.file.display().to_string();
        let masked = r.text(&file);
        if masked != file {
            self.file = masked.into();
        }
        self.message.redact(r);
        self.hint.redact(r);
        self.source_line.redact(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_excerpt_caret_and_hint() {
        let src = "cases:\n  - name: x\n    statuz: 200\n";
        let d = Diagnostic::at(Path::new("cases/a.yaml"), src, 3, 5, "unknown field `statuz`")
            .with_hint("did you mean `status`?");
        insta::assert_snapshot!(d.render(), @r"
        error: unknown field `statuz`
         --> cases/a.yaml:3:5
          |
        3 |     statuz: 200
          |     ^^^^^^
          = help: did you mean `status`?
        ");
    }

    #[test]
    fn suggests_the_closest_known_name() {
        let msg = "unknown field `equal`, expected one of `exists`, `equals`, `type`, `matches`";
        assert_eq!(did_you_mean_from_message(msg).as_deref(), Some("did you mean `equals`?"));
        let bare = "unknown field `statuz`, expected one of status, headers, cookies";
        assert_eq!(did_you_mean_from_message(bare).as_deref(), Some("did you mean `status`?"));
        let far = "unknown variant `frobnicate`, expected `read` or `audited`";
        assert_eq!(did_you_mean_from_message(far).as_deref(), Some("a variant here is one of: read, audited"));
    }

    #[test]
    fn the_excerpt_is_the_line_the_parser_counted() {
        // Found by a property: YAML ends a line at a lone `\r`, `str::lines` does not.
        let src = "a: 1\rb: 2\r\nc: 3\n";
        let line = |n| Diagnostic::at(Path::new("t.yaml"), src, n, 1, "m").source_line;
        assert_eq!((line(1), line(2), line(3)), (Some("a: 1".into()), Some("b: 2".into()), Some("c: 3".into())));
    }

    #[test]
    fn whole_file_problems_have_no_excerpt() {
        let d = Diagnostic::whole(Path::new("cases"), "no case files found");
        assert_eq!(d.render(), "error: no case files found\n  --> cases\n");
    }
}
