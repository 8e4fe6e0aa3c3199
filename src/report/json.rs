//! The JSON report: the run, its counts, its exit code, and per case and step the request
//! line, the status, every expectation's outcome with expected and actual values, and the
//! contract verdict.

use super::RunReport;
use crate::seal::Redacted;

/// The report as pretty JSON.
pub fn render(report: &Redacted<RunReport>) -> String {
    let mut text = serde_json::to_string_pretty(report).unwrap_or_default();
    text.push('\n');
    text
}
