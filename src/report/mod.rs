//! Reporters: they only read sealed results and format them.
//!
//! - `terminal`: the text under a failed trial, and the words for each matcher
//! - `junit`: JUnit XML
//! - `json`: the JSON report
//! - `drift`: contract-by-contract drift between two sets, as Markdown and JSON
//! - `html`: self-contained HTML pages of a run and of a drift comparison
//!
//! [`RunReport`] is what every report of a run is made from: the sealed case results plus
//! what a reader needs to know about the run itself.

pub mod drift;
pub mod html;
pub mod json;
pub mod junit;
pub mod list;
pub mod terminal;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::result::{CaseResult, CheckKind, Exit, IgnoreReason, Matcher, Outcome};
use crate::seal::{Redact, Redacted, Redactor};

/// What a run was, for the header of a report.
#[derive(Debug, Clone, Serialize)]
pub struct RunMeta {
    /// psconform's version.
    pub psconform: String,
    /// The target's base URL (no credentials, no query).
    pub target: String,
    /// The product version the target reported (`GET Configuration/Version`), when a case read it.
    pub product_version: Option<String>,
    /// The simulator's profile and data, when the target is the built-in simulator.
    pub simulator: Option<String>,
    /// When the run started, UTC, RFC 3339.
    pub started: String,
    /// Wall time of the whole run, in seconds.
    #[serde(serialize_with = "crate::result::secs")]
    pub duration: Duration,
    /// Options that change what ran: opt-ins, filters, rate, strictness.
    pub options: Vec<String>,
    /// How the run treated shape contracts.
    pub contracts: ContractsMeta,
}

/// How a run treated shape contracts, so a report can say whether its verdicts mean anything.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContractsMeta {
    /// Whether responses were compared with a contract set (`--no-snapshots` turns it off).
    pub compared: bool,
    /// The set compared with.
    pub set: String,
    /// Whether additive changes and missing contracts failed too (`--strict-shapes`).
    pub strict: bool,
    /// Where the drift report was written (`--drift-report`), if one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_report: Option<String>,
}

/// Counts of a run.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Cases not run, with a reason.
    pub ignored: usize,
    /// How many cases were ignored for each kind of reason.
    pub ignored_by_reason: BTreeMap<String, usize>,
}

impl Summary {
    /// Counts the results.
    pub fn of(results: &[Redacted<CaseResult>]) -> Summary {
        let mut s = Summary::default();
        for r in results {
            match &r.get().outcome {
                Outcome::Passed => s.passed += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Ignored(reason) => {
                    s.ignored += 1;
                    *s.ignored_by_reason.entry(reason_kind(reason).to_owned()).or_default() += 1;
                }
            }
        }
        s
    }
}

/// A reason's kind, as a summary groups them.
pub fn reason_kind(reason: &IgnoreReason) -> &'static str {
    match reason {
        IgnoreReason::SimulatorOnly { .. } => "simulator only",
        IgnoreReason::MissingSettings { .. } => "settings not provided",
        IgnoreReason::NeedsOptIn { .. } => "needs an opt-in",
        IgnoreReason::NotOffered { .. } => "not offered by the target",
    }
}

/// The exit code with its meaning.
#[derive(Debug, Clone, Serialize)]
pub struct ExitInfo {
    /// The code.
    pub code: u8,
    /// What it means.
    pub meaning: &'static str,
}

impl From<Exit> for ExitInfo {
    fn from(e: Exit) -> Self {
        ExitInfo { code: e as u8, meaning: e.meaning() }
    }
}

/// Everything a report of a run shows.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<crate::coverage::Coverage>,
}

impl RunReport {
    /// A sealed report of sealed results.
    pub fn new(
        mut meta: RunMeta,
        results: &[Redacted<CaseResult>],
        exit: Exit,
        coverage: Option<crate::coverage::Coverage>,
        redactor: &Redactor,
    ) -> Redacted<RunReport> {
        meta.product_version = meta.product_version.or_else(|| product_version(results));
        let report = RunReport {
            meta,
            summary: Summary::of(results),
            exit: exit.into(),
            cases: results.iter().map(|r| r.get().clone()).collect(),
            coverage,
        };
        redactor.seal(report)
    }
}

impl Redact for RunReport {
    fn redact(&mut self, r: &Redactor) {
        self.meta.target.redact(r);
        self.meta.product_version.redact(r);
        self.meta.simulator.redact(r);
        self.meta.options.redact(r);
        self.meta.contracts.set.redact(r);
        self.meta.contracts.drift_report.redact(r);
        // The cases were sealed when they ended; sealing again only costs time.
        self.cases.redact(r);
        if let Some(c) = self.coverage.as_mut() {
            for row in c.endpoints.iter_mut().chain(c.uncatalogued.iter_mut()) {
                row.route.redact(r);
                row.cases = std::mem::take(&mut row.cases).into_iter().map(|n| r.text(&n)).collect();
            }
        }
    }
}

/// The product version a case read from `GET Configuration/Version`, if one did.
fn product_version(results: &[Redacted<CaseResult>]) -> Option<String> {
    results.iter().flat_map(|r| r.get().steps.iter()).find_map(|s| {
        let route = s.request.as_ref()?.route.as_deref()?;
        if !route.eq_ignore_ascii_case("Configuration/Version") || s.status != Some(200) {
            return None;
        }
        s.outcomes
            .iter()
            .find(|o| {
                o.kind == CheckKind::Path
                    && o.subject == "$.Version"
                    && matches!(o.matcher, Matcher::Equals | Matcher::Matches | Matcher::OneOf | Matcher::Format)
            })
            .and_then(|o| o.actual.as_str().map(str::to_owned))
    })
}

/// The current time as RFC 3339, UTC, to the second.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Seconds since the epoch as RFC 3339, UTC.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_140_501), "2026-12-01T15:55:01Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
