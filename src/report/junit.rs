//! JUnit XML: one test suite, one test case per case, failures with every failed expectation.
//! quick-junit writes and escapes each test case as the case ends (`testcase`); the document
//! around them (`header`, `footer`) carries the run's counts, and the suite's `system-err` what
//! the run says beyond them: the releases it may have left open, the causes of failure (each
//! once), what blocked cases, the areas that checked nothing. What is escaped was redacted
//! before it got here.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::html::escape;
use super::terminal::{failure_line, failure_text, failure_words, leftover_lines, verdict_lines};
use crate::result::{CaseResult, Outcome, RunResult};

/// What closes the document after the last test case: the suite's `system-err` when the run
/// has something to say beyond its counts, and the end.
pub fn footer(run: &RunResult, target: &str) -> String {
    let mut lines = leftover_lines(run);
    let causes = run.causes();
    if !causes.is_empty() {
        lines.push(format!("failures by cause ({}):", causes.len()));
    }
    for c in causes {
        let words = match (&c.check, &c.error) {
            (Some(o), _) => failure_words(crate::result::Failure::Check(o)),
            (None, Some(e)) => failure_words(crate::result::Failure::Error(e)),
            (None, None) => String::new(),
        };
        let at = c.endpoint.as_ref().map_or_else(String::new, |e| format!("{e}: "));
        let more =
            if c.count > c.cases.len() { format!(" and {} more", c.count - c.cases.len()) } else { String::new() };
        lines.push(format!("  {at}{words} ({} case(s): {}{more})", c.count, c.cases.join(", ")));
    }
    lines.extend(verdict_lines(run, target));
    let text = lines.join("\n");
    let text = text.trim();
    let err = if text.is_empty() {
        String::new()
    } else {
        // XML 1.0 cannot carry most control characters, even escaped.
        let text: String =
            text.chars().map(|c| if c.is_control() && !matches!(c, '\n' | '\t') { '\u{fffd}' } else { c }).collect();
        format!("\n        <system-err>{}</system-err>", escape(&text))
    };
    format!("{err}\n    </testsuite>\n</testsuites>\n")
}

/// The document up to its first test case: the declaration, and the suite with the run's
/// counts, as quick-junit writes them.
pub fn header(run: &RunResult, duration: Duration) -> String {
    let s = &run.summary;
    let tests = s.passed + s.failed + s.ignored;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"psconform\" tests=\"{tests}\" skipped=\"{}\" failures=\"{}\" errors=\"0\">\n    <testsuite name=\"psconform\" tests=\"{tests}\" skipped=\"{}\" errors=\"0\" failures=\"{}\" time=\"{:.3}\">",
        s.ignored,
        s.failed,
        s.ignored,
        s.failed,
        duration.as_secs_f64()
    )
}

/// One case's `<testcase>`, indented as in the document, starting with a line break.
pub fn testcase(case: &CaseResult) -> Result<String, quick_junit::SerializeError> {
    let status = match &case.outcome {
        Outcome::Passed => TestCaseStatus::success(),
        Outcome::Failed => {
            let first = case.first_failure().map_or_else(|| "failed".to_owned(), failure_line);
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_message(first).set_description(failure_text(case)).set_type("conformance");
            s
        }
        Outcome::Ignored(reason) => {
            let mut s = TestCaseStatus::skipped();
            s.set_message(reason.to_string());
            s
        }
    };
    let (class, name) = case.name.rsplit_once("::").unwrap_or(("psconform", &case.name));
    let mut tc = TestCase::new(name, status);
    tc.set_classname(class).set_time(case.duration);
    tc.extra.insert("file".into(), case.file.clone().into());
    tc.extra.insert("line".into(), case.line.to_string().into());
    // quick-junit writes whole documents: write one around this case and keep the case.
    let mut suite = TestSuite::new("psconform");
    suite.add_test_case(tc);
    let mut report = Report::new("psconform");
    report.add_test_suite(suite);
    let doc = report.to_string()?;
    let start = doc.find("\n        <testcase").unwrap_or(0);
    let end = doc.rfind("\n    </testsuite>").unwrap_or(doc.len());
    Ok(doc.get(start..end).unwrap_or_default().to_owned())
}
