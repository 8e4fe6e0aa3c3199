//! What a run found, as plain data: the runner fills it, reporters only read it.

use std::time::Duration;

use serde::Serialize;

use crate::expect::CheckResult;

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "reason")]
pub enum Outcome {
    /// Every step ran and every expectation held.
    Passed,
    /// An expectation failed or a request got no usable response.
    Failed,
    /// Not run, with the reason (a missing setting, a mutating case on a real target, …).
    Ignored(String),
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// `<area>::<file>::<case>`.
    pub name: String,
    /// The case file.
    pub file: String,
    /// The line of the case's name.
    pub line: usize,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Wall time.
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    /// The steps, then the teardown steps, in the order they ran.
    pub steps: Vec<StepResult>,
}

/// Whether a step belongs to the case's steps or its teardown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A step under `steps:`.
    Step,
    /// A step under `teardown:`.
    Teardown,
}

/// One step's result.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// `steps` or `teardown`.
    pub phase: Phase,
    /// 1-based position within its phase.
    pub index: usize,
    /// The step's name, or its method and path.
    pub name: String,
    /// The line of the step's request.
    pub line: usize,
    /// HTTP method.
    pub method: String,
    /// Path relative to the target, as sent (query string left out: it may carry ids).
    pub path: String,
    /// Status code, when a response came.
    pub status: Option<u16>,
    /// Wall time of the request, body included.
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    /// Every expectation's outcome.
    pub checks: Vec<CheckResult>,
    /// Why the step could not be evaluated: no usable response, an undefined variable, …
    pub error: Option<String>,
    /// Whether the step was skipped because an earlier step failed.
    pub skipped: bool,
    /// How the response's shape compared with its snapshot, when it was compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<crate::snapshot::SnapshotOutcome>,
}

impl StepResult {
    /// Whether the step failed.
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.checks.iter().any(|c| !c.passed)
    }
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}
