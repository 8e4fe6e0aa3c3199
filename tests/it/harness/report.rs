//! Reading psconform's JSON run report (`run --report`) in tests, as psconform's own
//! [`Report`], so that the tests match on its typed fields and enums. A report that is missing
//! or does not read as one fails the test here, naming the file, rather than reading as empty.

use std::path::Path;

use psconform::report::json::Report;
use psconform::result::{CaseResult, StepResult};
use psconform::shape::Verdict;

/// The run report at `path`; the test fails, at the caller's line, when it is missing or not a
/// report.
#[track_caller]
pub fn read(path: &Path) -> Report {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => panic!("the JSON report {} could not be read: {e}", path.display()),
    };
    match serde_json::from_str(&text) {
        Ok(report) => report,
        Err(e) => panic!("the JSON report {} does not read as a psconform report: {e}", path.display()),
    }
}

/// The case of a run report named `name`; the test fails, at the caller's line, when it is not
/// there.
#[track_caller]
pub fn case<'r>(report: &'r Report, name: &str) -> &'r CaseResult {
    match report.cases.iter().find(|c| c.name == name) {
        Some(case) => case,
        None => panic!("{name} is not in the report"),
    }
}

/// Every step of every case of a run report.
pub fn steps(report: &Report) -> impl Iterator<Item = &StepResult> {
    report.cases.iter().flat_map(|c| &c.steps)
}

/// Every contract verdict of a run report: one per step whose shape was compared.
pub fn verdicts(report: &Report) -> impl Iterator<Item = &Verdict> {
    steps(report).filter_map(|s| s.contract.as_ref())
}
