//! JUnit XML: one test suite, one test case per case, failures with every failed expectation.
//! quick-junit escapes the text; what it escapes was redacted before it got here.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::RunReport;
use super::terminal::failure_text;
use crate::result::Outcome;
use crate::seal::Redacted;

/// The report as JUnit XML.
pub fn render(report: &Redacted<RunReport>) -> Result<String, quick_junit::SerializeError> {
    let r = report.get();
    let mut suite = TestSuite::new("psconform");
    suite.set_time(r.meta.duration);
    for case in &r.cases {
        let status = match &case.outcome {
            Outcome::Passed => TestCaseStatus::success(),
            Outcome::Failed => {
                let text = failure_text(case);
                let first = text.lines().nth(1).or_else(|| text.lines().next()).unwrap_or("failed").trim().to_owned();
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(first).set_description(text).set_type("conformance");
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
        suite.add_test_case(tc);
    }
    let mut out = Report::new("psconform");
    out.add_test_suite(suite);
    out.to_string()
}
