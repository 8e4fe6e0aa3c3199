//! Reading psconform's JSON run report (`run --report`) in tests, as psconform's own
//! [`Report`], so that the tests match on its typed fields and enums. A report that is missing
//! or does not read as one fails the test here, naming the file, rather than reading as empty.

use std::path::Path;

use psconform::report::json::Report;
use psconform::result::{CaseResult, StepResult};
use psconform::shape::Verdict;

/// The run report at `path`; the test fails when it is missing or not a report.
pub fn read(path: &Path) -> Report {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("the JSON report {} could not be read: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the JSON report {} does not read as a psconform report: {e}", path.display()))
}

/// The case of a run report named `name`; the test fails when it is not there.
pub fn case<'r>(report: &'r Report, name: &str) -> &'r CaseResult {
    report.cases.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("{name} is not in the report"))
}

/// Every step of every case of a run report.
pub fn steps(report: &Report) -> impl Iterator<Item = &StepResult> {
    report.cases.iter().flat_map(|c| &c.steps)
}

/// Every contract verdict of a run report: one per step whose shape was compared.
pub fn verdicts(report: &Report) -> impl Iterator<Item = &Verdict> {
    steps(report).filter_map(|s| s.contract.as_ref())
}
