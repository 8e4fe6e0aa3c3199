//! Reporters: the text of a failed trial, JUnit XML and the JSON report. They only read
//! results; every text they produce is passed through the secret store by the caller.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::Serialize;

use crate::result::{CaseResult, Outcome, Phase};

/// The message libtest prints under a failed trial: each failed step with its location, and
/// every failed expectation with what was expected and what came.
pub fn failure_text(r: &CaseResult) -> String {
    let mut out = String::new();
    for s in r.steps.iter().filter(|s| s.failed()) {
        let phase = match s.phase {
            Phase::Step => "step",
            Phase::Teardown => "teardown step",
        };
        let status = s.status.map_or_else(String::new, |c| format!(" -> {c}"));
        // An unnamed step is named after its request; say it once.
        let named =
            if s.name.starts_with(&format!("{} ", s.method)) { String::new() } else { format!(" `{}`", s.name) };
        let _ = writeln!(out, "{}:{}: {phase} {}{named} ({} {}){status}", r.file, s.line, s.index, s.method, s.path);
        if let Some(e) = &s.error {
            let _ = writeln!(out, "  error: {e}");
        }
        for c in s.checks.iter().filter(|c| !c.passed) {
            let _ = writeln!(out, "  {}: expected {}, got {}  (line {})", c.what, c.expected, c.actual, c.line);
        }
    }
    let skipped: Vec<String> =
        r.steps.iter().filter(|s| s.skipped).map(|s| format!("{} `{}`", s.index, s.name)).collect();
    if !skipped.is_empty() {
        let _ = writeln!(out, "  not run after the failure: step {}", skipped.join(", step "));
    }
    out.truncate(out.trim_end().len());
    out
}

/// JUnit XML: one test suite, one test case per case, failures with expected and actual.
pub fn junit(results: &[CaseResult], total: Duration) -> Result<String, quick_junit::SerializeError> {
    let mut suite = TestSuite::new("psconform");
    suite.set_time(total);
    for r in results {
        let status = match &r.outcome {
            Outcome::Passed => TestCaseStatus::success(),
            Outcome::Failed => {
                let text = failure_text(r);
                let first = text.lines().nth(1).or_else(|| text.lines().next()).unwrap_or("failed").trim().to_owned();
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(first).set_description(text).set_type("conformance");
                s
            }
            Outcome::Ignored(reason) => {
                let mut s = TestCaseStatus::skipped();
                s.set_message(reason.clone());
                s
            }
        };
        let (class, name) = r.name.rsplit_once("::").unwrap_or(("psconform", &r.name));
        let mut tc = TestCase::new(name, status);
        tc.set_classname(class).set_time(r.duration);
        tc.extra.insert("file".into(), r.file.clone().into());
        tc.extra.insert("line".into(), r.line.to_string().into());
        suite.add_test_case(tc);
    }
    let mut report = Report::new("psconform");
    report.add_test_suite(suite);
    report.to_string()
}

#[derive(Serialize)]
struct JsonReport<'a> {
    psconform: &'static str,
    target: &'a str,
    duration: f64,
    summary: Summary,
    cases: &'a [CaseResult],
}

/// Counts of a run.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases not run, with a reason.
    pub ignored: usize,
}

impl Summary {
    /// Counts the results.
    pub fn of(results: &[CaseResult]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            match r.outcome {
                Outcome::Passed => s.passed += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Ignored(_) => s.ignored += 1,
            }
        }
        s
    }
}

/// The JSON report: per case and step, method and path, status, duration, every check.
pub fn json(results: &[CaseResult], target: &str, total: Duration) -> String {
    let report = JsonReport {
        psconform: env!("CARGO_PKG_VERSION"),
        target,
        duration: (total.as_secs_f64() * 1000.0).round() / 1000.0,
        summary: Summary::of(results),
        cases: results,
    };
    let mut text = serde_json::to_string_pretty(&report).unwrap_or_default();
    text.push('\n');
    text
}
