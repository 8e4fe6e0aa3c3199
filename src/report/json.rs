//! The JSON report: the run, its counts, its exit code, the releases it may have left open, the
//! causes of failure (each once, with the cases it failed), the areas that checked nothing, and
//! per case and step the request line, the status, every expectation's outcome with expected
//! and actual values, and the contract verdict. Each case is written as it ends (`case`), and the document is put together
//! around them (`head`, `tail`). [`Report`] reads a report back, typed (`coverage --report`).

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::{ExitInfo, RunMeta};
use crate::coverage::Coverage;
use crate::result::run::Summary;
use crate::result::{CaseResult, Cause, Endpoint, Leftover, RunResult, Unchecked};

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
    /// Credential releases that may still be open on the target: someone has to check them in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<Leftover>,
    /// The causes of failure, each once, the most cases first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    /// What blocked cases (a failed sign-in, a target that stopped answering), with how many.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub blocked: BTreeMap<String, usize>,
    /// The areas the target does not offer, with the entry route that answered 404 and how
    /// many cases were not sent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_offered: BTreeMap<String, (Endpoint, usize)>,
    /// Areas of the suite in which every case was ignored for missing settings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<Unchecked>,
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
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    leftovers: &'a [Leftover],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    causes: Vec<&'a Cause>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    blocked: &'a BTreeMap<String, usize>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    not_offered: &'a BTreeMap<String, (Endpoint, usize)>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unchecked: Vec<Unchecked>,
}

/// Pretty JSON indented by `by` spaces after its first line (JSON strings hold no line breaks).
fn indented<T: Serialize>(value: &T, by: &str) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default().replace('\n', &format!("\n{by}"))
}

/// The document up to its cases: the run, the counts, the exit code, what the run says beyond
/// them, and `"cases": [`.
pub fn head(meta: &RunMeta, run: &RunResult) -> String {
    let exit = ExitInfo::from(run.exit());
    let head = indented(
        &Head {
            meta,
            summary: &run.summary,
            exit: &exit,
            leftovers: &run.leftovers,
            causes: run.causes(),
            blocked: &run.blocked,
            not_offered: &run.not_offered,
            unchecked: run.unchecked(),
        },
        "",
    );
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
