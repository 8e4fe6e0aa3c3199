//! The JSON report: the run, its counts, its exit code, and per case and step the request
//! line, the status, every expectation's outcome with expected and actual values, and the
//! contract verdict. Each case is written as it ends (`case`), and the document is put together
//! around them (`head`, `tail`). [`Report`] reads a report back, typed (`coverage --report`).

use serde::{Deserialize, Serialize};

use super::{ExitInfo, RunMeta};
use crate::coverage::Coverage;
use crate::result::CaseResult;
use crate::result::run::Summary;

/// A JSON report as it is written and read back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The run.
    #[serde(flatten)]
    pub meta: RunMeta,
    /// Counts.
    pub summary: Summary,
    /// The exit code.
    pub exit: ExitInfo,
    /// Every case, sorted by name.
    pub cases: Vec<CaseResult>,
    /// What the cases cover of the documented API, with the statuses the run observed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
}

#[derive(Serialize)]
struct Head<'a> {
    #[serde(flatten)]
    meta: &'a RunMeta,
    summary: &'a Summary,
    exit: &'a ExitInfo,
}

/// Pretty JSON indented by `by` spaces after its first line (JSON strings hold no line breaks).
fn indented<T: Serialize>(value: &T, by: &str) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default().replace('\n', &format!("\n{by}"))
}

/// The document up to its cases: the run, the counts, the exit code, and `"cases": [`.
pub fn head(meta: &RunMeta, summary: &Summary, exit: &ExitInfo) -> String {
    let head = indented(&Head { meta, summary, exit }, "");
    let open = head.strip_suffix("\n}").unwrap_or(&head);
    format!("{open},\n  \"cases\": [")
}

/// One case, as an element of `cases`: `first` says whether it is the first one.
pub fn case(case: &CaseResult, first: bool) -> String {
    format!("{}\n    {}", if first { "" } else { "," }, indented(case, "    "))
}

/// The document after its cases: the coverage, and the end.
pub fn tail(any_case: bool, coverage: Option<&Coverage>) -> String {
    let mut out = String::from(if any_case { "\n  ]" } else { "]" });
    if let Some(c) = coverage {
        out.push_str(&format!(",\n  \"coverage\": {}", indented(c, "  ")));
    }
    out.push_str("\n}\n");
    out
}
