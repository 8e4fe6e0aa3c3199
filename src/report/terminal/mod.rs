//! What a person reads: the text under a failed case, one line per failed expectation, and
//! the stream around it (`printer`). The words for each matcher live here, next to each other,
//! and nowhere else.

pub mod printer;

pub use printer::Printer;

use std::fmt::Write as _;

use serde_json::Value;

use crate::escape::controls;
use crate::result::{
    CaseResult, CheckKind, CheckOutcome, Failure, Matcher, Note, Phase, RunResult, Skipped, StepResult,
};
use crate::shape::update::Notes;

/// Characters of one line of a failure before it is cut (values are already redacted).
const MAX_LINE: usize = 600;

fn json(v: &Value) -> String {
    v.to_string()
}

fn flag(v: &Value, yes: &str, no: &str) -> String {
    match v {
        Value::Bool(true) => yes.to_owned(),
        Value::Bool(false) => no.to_owned(),
        other => json(other),
    }
}

fn status_text(v: &Value) -> String {
    match v {
        Value::Array(items) => format!("one of {}", items.iter().map(json).collect::<Vec<_>>().join(", ")),
        Value::String(s) => s.clone(),
        other => json(other),
    }
}

/// What the expectation is about, as a reader names it.
pub fn subject(o: &CheckOutcome) -> String {
    let s = &o.subject;
    match (o.kind, o.matcher) {
        (CheckKind::Status, _) => "status".into(),
        (CheckKind::Header, _) => format!("header {s}"),
        (CheckKind::Cookie, Matcher::Set) => format!("cookie {s}"),
        (CheckKind::Cookie, Matcher::ValueMatches) => format!("cookie {s} value"),
        (CheckKind::Cookie, Matcher::HttpOnly) => format!("cookie {s} HttpOnly"),
        (CheckKind::Cookie, Matcher::Secure) => format!("cookie {s} Secure"),
        (CheckKind::Cookie, Matcher::CookiePath) => format!("cookie {s} Path"),
        (CheckKind::Cookie, Matcher::SameSite) => format!("cookie {s} SameSite"),
        (CheckKind::Cookie, _) => format!("cookie {s}"),
        (CheckKind::Body, Matcher::Exact) => "body (exact)".into(),
        (CheckKind::Body, Matcher::Partial) => "body (partial)".into(),
        (CheckKind::Body, Matcher::Equals | Matcher::Matches | Matcher::Contains) => "body text".into(),
        (CheckKind::Body, _) => "body".into(),
        (CheckKind::Path, Matcher::Type) => format!("{s} type"),
        (CheckKind::Path, Matcher::Length) => format!("{s} length"),
        (CheckKind::Path, Matcher::Format) => format!("{s} format"),
        (CheckKind::Path, _) => s.clone(),
        (CheckKind::Capture, _) => format!("capture {s}"),
        (CheckKind::Contract, _) => "contract".into(),
    }
}

fn string(v: &Value) -> String {
    v.as_str().map_or_else(|| json(v), str::to_owned)
}

/// Builds [`expected`] from the table of matchers (`case::matchers`): each matcher's words
/// are in its row.
macro_rules! expected_words {
    ($( $(#[$doc:meta])* $variant:ident = $tag:literal, key $key:literal, in [$($family:ident),+],
        path [$($path:tt)*], expected $expected:expr, actual $actual:expr; )+) => {
        /// What the case expects, in words.
        pub fn expected(o: &CheckOutcome) -> String {
            match o.matcher {
                $( Matcher::$variant => {
                    let words: fn(&CheckOutcome) -> String = $expected;
                    words(o)
                } )+
            }
        }
    };
}

crate::case::matchers::matchers!(expected_words);

/// What the response had, in a matcher's words: `Base` is followed by the outcome's note,
/// `Whole` says everything (the note included, where it has one).
enum Shown {
    Base(String),
    Whole(String),
}

/// A value as shown: a header's several values joined, a string as it is, anything else as
/// JSON.
fn value(o: &CheckOutcome) -> String {
    match &o.actual {
        Value::Array(items) if o.kind == CheckKind::Header => {
            items.iter().map(|i| i.as_str().unwrap_or("?").to_owned()).collect::<Vec<_>>().join(" | ")
        }
        Value::String(s) if o.kind == CheckKind::Header => s.clone(),
        other => json(other),
    }
}

/// Builds [`actual`] from the table of matchers (`case::matchers`): each matcher's words for
/// what came are in its row.
macro_rules! actual_words {
    ($( $(#[$doc:meta])* $variant:ident = $tag:literal, key $key:literal, in [$($family:ident),+],
        path [$($path:tt)*], expected $expected:expr, actual $actual:expr; )+) => {
        /// What the response had, in words.
        pub fn actual(o: &CheckOutcome) -> String {
            let note = o.note.as_ref().map(ToString::to_string);
            if o.actual.is_null() {
                return note.unwrap_or_else(|| "nothing".into());
            }
            let shown = match o.matcher {
                $( Matcher::$variant => {
                    let words: fn(&CheckOutcome, Option<String>) -> Shown = $actual;
                    words(o, note)
                } )+
            };
            match (shown, &o.note) {
                (Shown::Whole(words), _) => words,
                (Shown::Base(base), Some(n @ Note::ResponseBody(_))) => format!("{base} {n}"),
                (Shown::Base(base), Some(n)) => format!("{base} ({n})"),
                (Shown::Base(base), None) => base,
            }
        }
    };
}

crate::case::matchers::matchers!(actual_words);

/// One line for an expectation.
pub fn explain(o: &CheckOutcome) -> String {
    let line = format!("{}: expected {}, got {}", subject(o), expected(o), actual(o));
    crate::secret::cut(&line, MAX_LINE)
}

/// A case's first failure as its failure text writes that line (JUnit's message).
pub fn failure_line(f: Failure<'_>) -> String {
    match f {
        Failure::Error(e) => format!("error: {e}"),
        Failure::Check(o) => format!("{}  (line {})", explain(o), o.span.line),
    }
}

/// A case's first failure in a few words (the HTML page's list of failed cases).
pub fn failure_words(f: Failure<'_>) -> String {
    match f {
        Failure::Error(e) => e.to_string(),
        Failure::Check(o) => explain(o),
    }
}

/// What a run's result says beyond its counts, for standard error: nothing ran, a target that
/// could not be reached or stopped answering, what blocked cases (each cause once, with its
/// count), the areas not offered, the areas that checked nothing, an interruption.
pub fn verdict_lines(run: &RunResult, target: &str) -> Vec<String> {
    let mut out = Vec::new();
    if run.target_stopped {
        out.push(format!(
            "error: the target stopped answering ({} requests in a row got nothing back): {target}; the cases after that were not sent",
            crate::run::http::UNANSWERED_IN_A_ROW
        ));
    } else if run.nothing_ran() {
        out.push(format!(
            "error: nothing ran: {} cases were ignored (the reasons are listed above)",
            run.summary.ignored
        ));
    } else if run.unreachable() {
        out.push(format!("error: the target could not be reached at all: {target}"));
    }
    for (by, n) in &run.blocked {
        out.push(format!("blocked by {by}: {n} case(s) not sent"));
    }
    if !run.not_offered.is_empty() {
        out.push(
            "not offered by the target (its entry route answered 404 before the cases ran; these cases were not sent):"
                .to_owned(),
        );
        out.extend(run.not_offered.iter().map(|(area, (endpoint, n))| format!("  {area} ({endpoint}): {n} case(s)")));
    }
    let unchecked = run.unchecked();
    if !unchecked.is_empty() {
        out.push("warning: not checked: these cases were ignored for missing settings".to_owned());
        for u in &unchecked {
            let nothing = if u.nothing() { " (the area checked nothing)" } else { "" };
            out.push(format!("  {}: {} of {} case(s){nothing}; set {}", u.area, u.cases, u.of, u.variables.join(", ")));
        }
        out.push(
            "  (`--require api-key,oauth,account,secret` makes missing settings an error before anything is sent)"
                .to_owned(),
        );
    }
    if run.interrupted {
        out.push("psconform: the run was interrupted; the cases it did not finish count as failed".to_owned());
    }
    out.into_iter().map(|l| controls(&l).into_owned()).collect()
}

/// The releases a run may have left open on the target, loudly: what, which request, and what
/// to do about it. Empty when there are none.
pub fn leftover_lines(run: &RunResult) -> Vec<String> {
    if run.leftovers.is_empty() {
        return Vec::new();
    }
    let n = run.leftovers.len();
    let mut out = vec![
        String::new(),
        format!(
            "!!! {n} credential release{} may still be open on the target: check {} in !!!",
            if n == 1 { "" } else { "s" },
            if n == 1 { "it" } else { "them" }
        ),
    ];
    for l in &run.leftovers {
        out.push(format!("  {}: {}", l.case, l.what()));
        out.push(format!("    {}", l.todo()));
    }
    out
}

/// What a run noticed of the contracts without failing, for standard error. `missing_hint`:
/// say that responses without a contract exist (not when they fail, or are being added).
pub fn contract_lines(notes: &Notes, dir: &str, missing_hint: bool) -> impl Iterator<Item = String> {
    let mut out = Vec::new();
    if !notes.additive.is_empty() {
        let more = match notes.more_additive {
            0 => String::new(),
            n => format!("\n  … and {n} more"),
        };
        out.push(format!(
            "contracts: {} additive change(s), not failing (--strict-shapes makes them fail):\n{}{more}",
            notes.additive.len() + notes.more_additive,
            notes.additive.join("\n")
        ));
    }
    if !notes.missing.is_empty() && missing_hint {
        out.push(format!(
            "contracts: {} endpoint response(s) have no contract in {dir} (--update-snapshots adds them)",
            notes.missing.len()
        ));
    }
    if notes.info > 0 {
        out.push(format!(
            "contracts: {} string format hint(s) differ from the contracts (information, never failing)",
            notes.info
        ));
    }
    // Field and cookie names are a server's: shown, not run, on a terminal.
    out.into_iter().map(|l| controls(&l).into_owned())
}

fn step_header(r: &CaseResult, s: &StepResult) -> String {
    let phase = match s.phase {
        Phase::Step => "step",
        Phase::Teardown => "teardown step",
    };
    let status = s.status.map_or_else(String::new, |c| format!(" -> {c}"));
    let (method, path) = s.request.as_ref().map_or(("", ""), |l| (l.method.as_str(), l.path.as_str()));
    // An unnamed step is named after its request; say it once.
    let named = if s.name.starts_with(&format!("{method} ")) { String::new() } else { format!(" `{}`", s.name) };
    let request = if method.is_empty() { String::new() } else { format!(" ({method} {path})") };
    format!("{}:{}: {phase} {}{named}{request}{status}", r.file, s.span.line, s.index)
}

/// The message under a failed trial: each failed step with its location, every failed
/// expectation with what was expected and what came, earlier attempts of a polled step.
pub fn failure_text(r: &CaseResult) -> String {
    let mut out = String::new();
    for s in r.steps.iter().filter(|s| s.failed()) {
        let _ = writeln!(out, "{}", step_header(r, s));
        for (i, a) in s.attempts.iter().enumerate() {
            let what = match (&a.error, a.failed.first()) {
                (Some(e), _) => e.to_string(),
                (None, Some(o)) => explain(o),
                (None, None) => "did not hold".into(),
            };
            let status = a.status.map_or_else(|| "no response".to_owned(), |c| c.to_string());
            let _ = writeln!(out, "  attempt {}: {status}: {what}", i + 1);
        }
        if let Some(e) = &s.error {
            let _ = writeln!(out, "  error: {e}");
        }
        for o in s.outcomes.iter().filter(|o| !o.passed) {
            let _ = writeln!(out, "  {}  (line {})", explain(o), o.span.line);
        }
        if s.outcomes_omitted > 0 {
            let _ = writeln!(out, "  … {} more outcomes not listed", s.outcomes_omitted);
        }
    }
    let skipped: Vec<String> = r
        .steps
        .iter()
        .filter(|s| s.skipped == Some(Skipped::AfterFailure))
        .map(|s| format!("{} `{}`", s.index, s.name))
        .collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "  not run after the failure: step {}", skipped.join(", step "));
    }
    for l in &r.leftovers {
        let _ = writeln!(out, "  LEFT OPEN: {}; {}", l.what(), l.todo());
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::Span;
    use serde_json::json;

    fn o(
        kind: CheckKind,
        matcher: Matcher,
        subject: &str,
        expected: Value,
        actual: Value,
        note: Option<&str>,
    ) -> CheckOutcome {
        CheckOutcome {
            kind,
            matcher,
            subject: subject.into(),
            expected,
            actual,
            note: note.map(|n| Note::Text(n.to_owned())),
            passed: false,
            span: Span::default(),
            observed: None,
        }
    }

    #[test]
    fn the_words_for_each_matcher() {
        let cases = [
            (
                CheckOutcome {
                    note: Some(Note::ResponseBody(json!("x"))),
                    ..o(CheckKind::Status, Matcher::Status, "status", json!(200), json!(500), None)
                },
                "status: expected 200, got 500 with body \"x\"",
            ),
            (
                o(CheckKind::Path, Matcher::Type, "$.UserId", json!(["integer"]), json!("string"), None),
                "$.UserId type: expected integer, got string",
            ),
            (
                o(CheckKind::Path, Matcher::Equals, "$.token_type", json!("Bearer"), json!("bearer"), None),
                "$.token_type: expected equal to \"Bearer\", got \"bearer\"",
            ),
            (
                o(CheckKind::Cookie, Matcher::HttpOnly, "ASP.NET_SessionId", json!(true), json!(false), None),
                "cookie ASP.NET_SessionId HttpOnly: expected present, got absent",
            ),
            (
                o(CheckKind::Cookie, Matcher::Set, "ASP.NET_SessionId", json!(true), json!(false), None),
                "cookie ASP.NET_SessionId: expected set, got not set",
            ),
            (
                o(
                    CheckKind::Header,
                    Matcher::Matches,
                    "Content-Type",
                    json!("^application/json"),
                    json!("text/html"),
                    None,
                ),
                "header Content-Type: expected matching /^application/json/, got text/html",
            ),
            (
                o(
                    CheckKind::Path,
                    Matcher::Type,
                    "$.X",
                    json!(["integer"]),
                    Value::Null,
                    Some("the body is not JSON (x)"),
                ),
                "$.X type: expected integer, got the body is not JSON (x)",
            ),
            (
                o(CheckKind::Status, Matcher::Status, "status", json!([200, 204]), json!(401), None),
                "status: expected one of 200, 204, got 401",
            ),
        ];
        for (outcome, line) in cases {
            assert_eq!(explain(&outcome), line);
        }
    }
}
