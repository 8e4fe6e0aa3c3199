//! Reporters: they only read sealed values and format them.
//!
//! - `terminal`: what cargo test users read (`printer`: the libtest stream, byte for byte), the
//!   text under a failed case, and the words for each matcher
//! - `files`: the report files of a run, rendered case by case as cases end and put in order
//!   at the end
//! - `junit`: JUnit XML
//! - `json`: the JSON report
//! - `html`: self-contained HTML pages of a run and of a drift comparison
//! - `drift`: contract-by-contract drift between two sets, as Markdown and JSON
//! - `list`: the case list
//!
//! Every report of a run reads its counts and its exit code from the one
//! [`crate::result::RunResult`], and its cases as sealed values; [`RunMeta`] says what a reader
//! needs to know about the run itself.

pub mod drift;
pub mod files;
pub mod html;
pub mod json;
pub mod junit;
pub mod list;
pub mod terminal;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::result::Exit;
use crate::seal::{Redact, Redactor};

/// What a run was, for the header of a report.
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    #[serde(serialize_with = "crate::result::secs", deserialize_with = "crate::result::secs_back")]
    pub duration: Duration,
    /// Options that change what ran: opt-ins, filters, rate, strictness.
    pub options: Vec<String>,
    /// How the run treated shape contracts.
    pub contracts: ContractsMeta,
}

/// How a run treated shape contracts, so a report can say whether its verdicts mean anything.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ContractsMeta {
    /// Whether responses were compared with a contract set (`--no-snapshots` turns it off).
    pub compared: bool,
    /// The set compared with.
    pub set: String,
    /// Whether additive changes and missing contracts failed too (`--strict-shapes`).
    pub strict: bool,
    /// Where the drift report was written (`--drift-report`), if one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_report: Option<String>,
}

/// The exit code with its meaning.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExitInfo {
    /// The code.
    pub code: u8,
    /// What it means.
    pub meaning: String,
}

impl From<Exit> for ExitInfo {
    fn from(e: Exit) -> Self {
        ExitInfo { code: e as u8, meaning: e.meaning().to_owned() }
    }
}

impl Redact for RunMeta {
    fn redact(&mut self, r: &Redactor) {
        self.target.redact(r);
        self.product_version.redact(r);
        self.simulator.redact(r);
        self.options.redact(r);
        self.contracts.set.redact(r);
        self.contracts.drift_report.redact(r);
    }
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
