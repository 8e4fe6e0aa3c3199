//! JUnit XML: one test suite, one test case per case, failures with every failed expectation.
//! quick-junit writes and escapes each test case as the case ends (`testcase`); the document
//! around them (`header`, [`FOOTER`]) carries the run's counts. What is escaped was redacted
//! before it got here.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::terminal::{failure_line, failure_text};
use crate::result::{CaseResult, Outcome, RunResult};

/// What closes the document after the last test case.
pub const FOOTER: &str = "\n    </testsuite>\n</testsuites>\n";

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
