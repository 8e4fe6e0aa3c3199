//! What a run found, as plain data: the engine fills it, the redaction point seals it, the
//! reporters only format it, and the exit code is derived from it. Nothing downstream parses
//! text: an outcome carries its kind, its expected and actual values as JSON, and the place in
//! the case file it came from.
//!
//! - this module: one case's result, its steps and outcomes, and the exit codes
//! - `run`: the run as a whole ([`RunResult`]): the counts, the not-offered rule, the one exit
//!   code

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::seal::{Redact, Redactor};
use crate::secret::{FieldPolicy, MASK};

pub mod run;

pub use run::{Cause, RunResult, Unchecked};

/// A place in a case file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// 1-based line (0 when the place is the file as a whole).
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// What part of a response an expectation looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// The status code.
    Status,
    /// A response header.
    Header,
    /// A cookie the response sets.
    Cookie,
    /// The whole body.
    Body,
    /// Values a JSONPath selects.
    Path,
    /// A value a later step needs.
    Capture,
    /// The response's shape against its endpoint's contract.
    Contract,
}

/// Builds [`Matcher`] and [`Family`] from the table of matchers (`case::matchers`).
macro_rules! matcher_enum {
    ($( $(#[$doc:meta])* $variant:ident = $tag:literal, key $key:literal, in [$($family:ident),+],
        path [$($path:tt)*], expected $expected:expr, actual $actual:expr; )+) => {
        /// How an expectation compares: one variant per row of the table of matchers. The
        /// words a report uses for each come from the same row (`report::terminal`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Matcher {
            $( $(#[$doc])* #[serde(rename = $tag)] $variant, )+
        }

        impl Matcher {
            /// Every matcher, in table order.
            pub const ALL: &'static [Matcher] = &[$(Matcher::$variant),+];

            /// The key a case file writes it with.
            pub fn key(self) -> &'static str {
                match self { $(Matcher::$variant => $key),+ }
            }

            /// The families of checks it belongs to.
            pub fn families(self) -> &'static [Family] {
                match self { $(Matcher::$variant => &[$(Family::$family),+]),+ }
            }
        }
    };
}

crate::case::matchers::matchers!(matcher_enum);

/// A family of checks: where in a case file a matcher is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `status:`
    Status,
    /// `headers: { Name: { … } }`
    Header,
    /// `cookies: { Name: { … } }`
    Cookie,
    /// `body: { exact | partial | empty }`
    Body,
    /// `body: { text: { … } }`
    Text,
    /// `paths: { $.x: { … } }`
    Path,
    /// `capture:`
    Capture,
    /// `snapshot:`
    Contract,
}

impl Family {
    /// The keys of its matchers, in table order.
    pub fn keys(self) -> Vec<&'static str> {
        Matcher::ALL.iter().filter(|m| m.families().contains(&self)).map(|m| m.key()).collect()
    }

    /// "give `a`, `b` or `c`": what an empty check of this family needs.
    pub fn hint(self) -> String {
        let keys: Vec<String> = self.keys().iter().map(|k| format!("`{k}`")).collect();
        match keys.split_last() {
            Some((last, [])) => format!("give {last}"),
            Some((last, rest)) => format!("give {} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

/// The outcome of one expectation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// What part of the response.
    pub kind: CheckKind,
    /// How it compares.
    pub matcher: Matcher,
    /// What exactly: `status`, a header or cookie name, `body`, a JSONPath (the normalized
    /// location of one value when a path selects many), a capture's variable name.
    pub subject: String,
    /// What the case expects.
    pub expected: Value,
    /// What the response had (`null` when there was nothing to show; see `note`).
    pub actual: Value,
    /// Context a reader needs: why there is no actual value, the differences of a body or a
    /// shape, a redirect's location. Typed; a report writes it in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Note>,
    /// Whether the expectation held.
    pub passed: bool,
    /// Where the expectation is in the case file.
    pub span: Span,
    /// Set when the expectation is observed behaviour, not documented (`observed:` in the
    /// case file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<Observed>,
}

/// An observed expectation: what the behaviour was observed on, and whether its failure fails
/// the case (only with `--strict`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observed {
    /// What it was observed on, as the case file says.
    pub on: String,
    /// Whether a failure fails the case.
    pub fails: bool,
}

impl CheckOutcome {
    /// Whether the outcome fails its step: a documented expectation that did not hold, or an
    /// observed one under `--strict`.
    pub fn fails(&self) -> bool {
        !self.passed && self.observed.as_ref().is_none_or(|o| o.fails)
    }
}

/// What an outcome says beside its expected and actual values.
#[derive(Debug, Clone, PartialEq)]
pub enum Note {
    /// In words: why there is no actual value, how many values a path selected, a redirect.
    Text(String),
    /// The body that came with a wrong status, as shown.
    ResponseBody(Value),
    /// How a JSON body differs from the expected value.
    Differences {
        /// The first differences, at most `plan::check::MAX_FAILURES`.
        listed: Vec<Difference>,
        /// How many more there are.
        more: usize,
    },
    /// How the response's shape differs from its contract.
    Changes {
        /// The first changes, at most `shape::MAX_CHANGES`.
        listed: Vec<crate::shape::Change>,
        /// How many more there are.
        more: usize,
    },
}

/// One difference of a body from the expected value.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// Where, as a JSONPath (`$.A.B`, `$.Tags[2]`), as shown.
    pub at: String,
    /// What differs.
    pub kind: DifferenceKind,
}

/// What differs at a place of a body.
#[derive(Debug, Clone, PartialEq)]
pub enum DifferenceKind {
    /// The expected key is not there.
    Missing,
    /// A key the exact body does not list.
    Unexpected,
    /// An array of another length.
    Length {
        /// Elements it has.
        actual: usize,
        /// Elements expected.
        expected: usize,
    },
    /// Another value, both as shown.
    Value {
        /// What it is.
        actual: Value,
        /// What was expected.
        expected: Value,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = &self.at;
        match &self.kind {
            DifferenceKind::Missing => write!(f, "{at} is missing"),
            DifferenceKind::Unexpected => write!(f, "{at} is not expected"),
            DifferenceKind::Length { actual, expected } => write!(f, "{at} has {actual} elements, expected {expected}"),
            DifferenceKind::Value { actual, expected } => write!(f, "{at} is {actual}, expected {expected}"),
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Text(t) => f.write_str(t),
            Note::ResponseBody(v) => write!(f, "with body {v}"),
            Note::Differences { listed, more } => {
                let words: Vec<String> = listed.iter().map(ToString::to_string).collect();
                f.write_str(&words.join("; "))?;
                if *more > 0 {
                    write!(f, "; and {more} more differences")?;
                }
                Ok(())
            }
            Note::Changes { listed, more } => {
                let lines: Vec<String> = listed.iter().map(|c| c.line()).collect();
                f.write_str(&lines.join("; "))?;
                if *more > 0 {
                    write!(f, "; and {more} more changes")?;
                }
                Ok(())
            }
        }
    }
}

/// A report writes a note in words, as it always has.
impl Serialize for Note {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A note read back from a report is its words.
impl<'de> Deserialize<'de> for Note {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Note::Text)
    }
}

impl Redact for Note {
    fn redact(&mut self, r: &Redactor) {
        match self {
            Note::Text(t) => t.redact(r),
            Note::ResponseBody(v) => v.redact(r),
            Note::Differences { listed, .. } => {
                for d in listed {
                    d.at.redact(r);
                    if let DifferenceKind::Value { actual, expected } = &mut d.kind {
                        actual.redact(r);
                        expected.redact(r);
                    }
                }
            }
            Note::Changes { listed, .. } => listed.redact(r),
        }
    }
}

/// Whether a step belongs to the case's steps or its teardown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A step under `steps:`.
    Step,
    /// A step under `teardown:`.
    Teardown,
}

/// The request a step sent, as it may be shown: secret values masked, query left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLine {
    /// HTTP method.
    pub method: String,
    /// Path relative to the target, as sent, secrets masked.
    pub path: String,
    /// The endpoint's route template, such as `Credentials/{requestId}`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
}

/// A request that got no usable response.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum TransportError {
    /// Nothing answered: refused, unreachable, DNS failure.
    #[error("could not connect to {url}: {reason}")]
    Connect {
        /// Where.
        url: String,
        /// Why, from the network stack.
        reason: String,
    },
    /// TLS handshake failed (certificate not trusted, wrong host name, protocol mismatch).
    #[error("TLS handshake with {url} failed: {reason}{hint}")]
    Tls {
        /// Where.
        url: String,
        /// Why.
        reason: String,
        /// What to do about it.
        hint: &'static str,
    },
    /// The target took longer than `--timeout`.
    #[error("no complete response from {url} within {secs:.1}s (--timeout)")]
    Timeout {
        /// Where.
        url: String,
        /// The limit.
        secs: f64,
    },
    /// The body was larger than `--max-body`.
    #[error("the response body is larger than --max-body ({max} bytes){seen}")]
    TooLarge {
        /// The limit.
        max: u64,
        /// What the target announced, when it did.
        seen: String,
    },
    /// The connection broke while the response was being read.
    #[error("the response from {url} broke off: {reason}")]
    Broken {
        /// Where.
        url: String,
        /// Why.
        reason: String,
    },
}

impl TransportError {
    /// A short name for the kind, for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            TransportError::Connect { .. } => "connect",
            TransportError::Tls { .. } => "tls",
            TransportError::Timeout { .. } => "timeout",
            TransportError::TooLarge { .. } => "too-large",
            TransportError::Broken { .. } => "broken",
        }
    }

    /// Whether the target was never reached at all (for exit code 3).
    pub fn unreachable(&self) -> bool {
        matches!(self, TransportError::Connect { .. } | TransportError::Tls { .. })
    }
}

/// An endpoint: a method and a route template as a case file spells it. Two spellings of one
/// route (`Auth/SignAppin`, `auth/signappin/`) are one endpoint: see [`Endpoint::key`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    /// `GET`, `POST`, …
    pub method: String,
    /// The route template, such as `Secrets-Safe/Folders`.
    pub route: String,
}

impl Endpoint {
    /// The endpoint a step's request belongs to.
    pub fn of(line: &RequestLine) -> Endpoint {
        Endpoint { method: line.method.clone(), route: line.route.clone().unwrap_or_else(|| line.path.clone()) }
    }

    /// What two spellings of the same endpoint share: the method, and the route compared
    /// ignoring case and a trailing slash, with ids as `{id}`.
    pub fn key(&self) -> (String, String) {
        (self.method.to_ascii_uppercase(), crate::shape::contract::normalize_route(&self.route))
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.route)
    }
}

/// Why a step could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StepError {
    /// The request got no usable response.
    #[error("{0}")]
    Transport(TransportError),
    /// A variable the request needs is not defined (a capture of an earlier step failed).
    #[error("variable `{0}` is not defined")]
    Undefined(String),
    /// The rendered request is not valid HTTP.
    #[error("{0}")]
    InvalidRequest(String),
    /// The case could not be set up (its own simulator did not start).
    #[error("{0}")]
    Setup(String),
    /// Evaluating the step's expectations took longer than the budget.
    #[error("evaluating the expectations took longer than {secs:.0}s; the rest were not evaluated")]
    Budget {
        /// The budget.
        secs: f64,
    },
    /// The run was interrupted (Ctrl-C, or standard output closed) before the step.
    #[error("the run was interrupted")]
    Interrupted,
    /// psconform itself failed: a panic, caught so its message is redacted like the rest.
    #[error("psconform panicked (a bug): {0}")]
    Bug(String),
    /// psconform refused to send the request: it would have done more than the case may.
    #[error("not sent: {0}")]
    Refused(Refusal),
    /// The target stopped answering (several requests in a row got nothing back), so the
    /// step was not sent.
    #[error("not sent: the target stopped answering")]
    Unreachable,
}

/// Why psconform refused to send a request, or stopped a release before it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The lookup of `PS_ACCOUNT` answered another account: nothing is released.
    #[error("the lookup answered the account {answered}, not {wanted} (PS_ACCOUNT); nothing is released")]
    WrongAccount {
        /// `PS_ACCOUNT`.
        wanted: String,
        /// What the answer named, as `system/account`.
        answered: String,
    },
    /// A release named other ids than the verified lookup answered.
    #[error("the release names {field} {sent}, but the lookup of PS_ACCOUNT answered {looked_up}")]
    OtherIds {
        /// `SystemID` or `AccountID`.
        field: &'static str,
        /// What the request would have sent.
        sent: String,
        /// What the lookup answered.
        looked_up: String,
    },
    /// A release before the lookup of `PS_ACCOUNT` answered.
    #[error("a release comes only after the lookup of PS_ACCOUNT has answered with its account")]
    NoLookup,
    /// The path, as rendered, names an endpoint that does more than the step was checked for.
    #[error(
        "{endpoint} is `{effect}`, more than this step's `{allowed}`: a variable made the path name another endpoint"
    )]
    MoreThanChecked {
        /// `METHOD route`.
        endpoint: String,
        /// What it does.
        effect: String,
        /// What the step was compiled to do.
        allowed: String,
    },
    /// The request needs an opt-in this run does not have.
    #[error("{endpoint} needs {flag} against a real target")]
    NeedsOptIn {
        /// `METHOD route`.
        endpoint: String,
        /// The flag.
        flag: &'static str,
    },
}

impl StepError {
    /// A short name for the kind, for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            StepError::Transport(t) => t.kind(),
            StepError::Undefined(_) => "undefined-variable",
            StepError::InvalidRequest(_) => "invalid-request",
            StepError::Setup(_) => "setup",
            StepError::Budget { .. } => "budget",
            StepError::Interrupted => "interrupted",
            StepError::Bug(_) => "bug",
            StepError::Refused(_) => "refused",
            StepError::Unreachable => "unreachable",
        }
    }
}

impl Serialize for StepError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("StepError", 2)?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

/// Why a step did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Skipped {
    /// An earlier step failed.
    AfterFailure,
    /// A teardown step needs a value an earlier step never captured (a check-in with no
    /// request to check in).
    NothingToUndo,
    /// The run was interrupted.
    Interrupted,
    /// The target stopped answering.
    Unreachable,
    /// An earlier step found nothing for the case to check on this target.
    NothingToCheck,
}

/// One earlier attempt of a polled step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// The status, when a response came.
    pub status: Option<u16>,
    /// Wall time of the request.
    #[serde(serialize_with = "secs", deserialize_with = "secs_back")]
    pub duration: Duration,
    /// The expectations that did not hold yet.
    pub failed: Vec<CheckOutcome>,
    /// Why no response could be evaluated, if so. A report carries an error's kind and words,
    /// not its parts, so it is not read back.
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub error: Option<StepError>,
}

/// One step's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepResult {
    /// `steps` or `teardown`.
    pub phase: Phase,
    /// 1-based position within its phase.
    pub index: usize,
    /// The step's name, or its method and path.
    pub name: String,
    /// Where the step's request is in the case file.
    pub span: Span,
    /// The request, when one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestLine>,
    /// Status code, when a response came.
    pub status: Option<u16>,
    /// Wall time of the request (the last attempt's, for a polled step), body included.
    #[serde(serialize_with = "secs", deserialize_with = "secs_back")]
    pub duration: Duration,
    /// Earlier attempts of a polled step, oldest first; the step's outcomes are the last one's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// Every expectation's outcome.
    pub outcomes: Vec<CheckOutcome>,
    /// Outcomes left out of `outcomes` because there were too many.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub outcomes_omitted: usize,
    /// Why the step could not be evaluated. A report carries an error's kind and words, not
    /// its parts, so it is not read back.
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub error: Option<StepError>,
    /// Why the step did not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skipped>,
    /// How the response's shape compared with its endpoint's contract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<crate::shape::Verdict>,
    /// The response carried more secrets than psconform keeps track of, so nothing taken
    /// from its body is shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_masked: bool,
    /// Which fields of the request and its answer are credentials, decided from the URL as
    /// sent (`crate::catalog::fields`): what sealing masks by position.
    #[serde(skip)]
    pub fields: FieldPolicy,
    /// The start of the response body of a failed step, masked as the log masks it
    /// (credential fields, known secrets), so a reader sees what came back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_excerpt: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl StepResult {
    /// A step that has not run yet.
    pub fn new(phase: Phase, index: usize, name: String, span: Span) -> Self {
        StepResult {
            phase,
            index,
            name,
            span,
            request: None,
            status: None,
            duration: Duration::ZERO,
            attempts: Vec::new(),
            outcomes: Vec::new(),
            outcomes_omitted: 0,
            error: None,
            skipped: None,
            contract: None,
            body_masked: false,
            fields: FieldPolicy::default(),
            body_excerpt: None,
        }
    }

    /// Whether the step failed.
    pub fn failed(&self) -> bool {
        self.error.is_some() || self.outcomes.iter().any(CheckOutcome::fails)
    }

    /// Whether a request was answered at all.
    pub fn answered(&self) -> bool {
        self.status.is_some()
    }
}

/// Why a case did not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum IgnoreReason {
    /// The case checks a condition only the built-in simulator can be put in.
    SimulatorOnly {
        /// The simulator states it needs.
        states: Vec<String>,
    },
    /// A target setting the case needs is not set.
    MissingSettings {
        /// The environment variables.
        variables: Vec<String>,
    },
    /// The case does something to a real target that needs an opt-in.
    NeedsOptIn {
        /// The flag.
        flag: String,
        /// What the case does.
        because: String,
    },
    /// The target does not offer an area the case calls: before the cases ran, the area's
    /// entry route answered 404.
    NotOffered {
        /// The catalog's area, such as `Folders`.
        area: String,
        /// The entry route probed, such as `GET Secrets-Safe/Folders`. In a report it is
        /// `missing_endpoint`: the case's own `endpoint` (the file's subject) sits beside it.
        #[serde(rename = "missing_endpoint")]
        endpoint: Endpoint,
    },
    /// Something the case needs failed before it could run: not sent.
    Blocked {
        /// What.
        by: Blocker,
    },
    /// The target has nothing for the case to check (a capture with `if_missing` found
    /// nothing: no such record on this instance).
    NothingToCheck {
        /// Why, as the case file says.
        why: String,
    },
}

/// What keeps a case from being sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "blocker")]
pub enum Blocker {
    /// The sign-in the case needs failed when psconform signed in once before the cases.
    SignIn {
        /// The finding that says how, such as `preflight::sign-in::ps-auth`.
        finding: String,
    },
    /// The target stopped answering.
    Unreachable,
}

impl IgnoreReason {
    /// The reason's kind, as a summary groups them.
    pub fn kind(&self) -> &'static str {
        match self {
            IgnoreReason::SimulatorOnly { .. } => "simulator only",
            IgnoreReason::MissingSettings { .. } => "settings not provided",
            IgnoreReason::NeedsOptIn { .. } => "needs an opt-in",
            IgnoreReason::NotOffered { .. } => "not offered by the target",
            IgnoreReason::Blocked { by: Blocker::SignIn { .. } } => "blocked by a failed sign-in",
            IgnoreReason::Blocked { by: Blocker::Unreachable } => "blocked: the target stopped answering",
            IgnoreReason::NothingToCheck { .. } => "nothing to check on the target",
        }
    }
}

impl fmt::Display for IgnoreReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IgnoreReason::SimulatorOnly { states } if states.is_empty() => {
                f.write_str("runs only against the built-in simulator (simulator_only; the case file says why)")
            }
            IgnoreReason::SimulatorOnly { states } => {
                write!(f, "checks a condition only the built-in simulator can be put in ({})", states.join(", "))
            }
            IgnoreReason::MissingSettings { variables } => {
                write!(f, "needs {}, which is not set", variables.join(", "))
            }
            IgnoreReason::NeedsOptIn { flag, because } => {
                write!(f, "{because}: runs against a real target only with {flag}")
            }
            IgnoreReason::NotOffered { area, endpoint } => {
                write!(f, "not offered: the target answered 404 for {endpoint}, the entry of {area}")
            }
            IgnoreReason::Blocked { by: Blocker::SignIn { finding } } => {
                write!(f, "blocked: the sign-in it needs failed (see {finding}); not sent")
            }
            IgnoreReason::Blocked { by: Blocker::Unreachable } => {
                f.write_str("blocked: the target stopped answering; not sent")
            }
            IgnoreReason::NothingToCheck { why } => write!(f, "nothing to check: {why}"),
        }
    }
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// Every step ran and every expectation held.
    Passed,
    /// An expectation failed or a request got no usable response.
    Failed,
    /// Not run, or not applicable to this target.
    Ignored(IgnoreReason),
}

/// One case's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    /// `<area>::<file>::<case>`.
    pub name: String,
    /// The case file.
    pub file: String,
    /// The line of the case's name.
    pub line: u32,
    /// The endpoint or flow the case file covers.
    pub endpoint: String,
    /// What a conforming server does.
    pub summary: String,
    /// The documentation statement the case checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// How it ended.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Wall time.
    #[serde(serialize_with = "secs", deserialize_with = "secs_back")]
    pub duration: Duration,
    /// The steps, then the teardown steps, in the order they ran.
    pub steps: Vec<StepResult>,
    /// Credential releases the case may have left open on the target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub leftovers: Vec<Leftover>,
}

/// A credential release that may still be open on the target: its answer never came, or it
/// was never checked in. A person has to check it in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leftover {
    /// The case that released it.
    pub case: String,
    /// The managed account, `system/account` (`PS_ACCOUNT`).
    pub account: String,
    /// The request id, when the target answered one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Why it may be open.
    pub why: LeftoverWhy,
}

/// Why a release may still be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftoverWhy {
    /// `POST Requests` was sent, but its answer never came (a timeout, a reset).
    NoAnswer,
    /// The release was answered, but its id could not be read, so it could not be checked in.
    NoRequestId,
    /// Every check-in attempt failed.
    CheckInFailed,
    /// The check-in was never sent (the run stopped, or the target stopped answering).
    NotCheckedIn,
}

impl Leftover {
    /// What happened, in words.
    pub fn what(&self) -> String {
        let request = self.request_id.as_ref().map_or_else(|| "a request".to_owned(), |id| format!("request {id}"));
        match self.why {
            LeftoverWhy::NoAnswer => {
                format!("a release of {} was sent, but its answer never came: a request may be open", self.account)
            }
            LeftoverWhy::NoRequestId => {
                format!("{request} for {} was answered without a request id psconform could read", self.account)
            }
            LeftoverWhy::CheckInFailed => format!("{request} for {} could not be checked in", self.account),
            LeftoverWhy::NotCheckedIn => format!("{request} for {} was never checked in", self.account),
        }
    }

    /// What to do about it.
    pub fn todo(&self) -> String {
        match &self.request_id {
            Some(id) => format!(
                "check it in by hand: in the Password Safe console, or `PUT Requests/{id}/Checkin` as the run-as user"
            ),
            None => format!(
                "look for an open request for {} in the Password Safe console (or `GET Requests`) and check it in",
                self.account
            ),
        }
    }
}

impl CaseResult {
    /// Whether the case failed.
    pub fn failed(&self) -> bool {
        self.outcome == Outcome::Failed
    }

    /// Why the case failed first, in the one place every report asks: the first failed step's
    /// error, or else its first failed expectation.
    pub fn first_failure(&self) -> Option<Failure<'_>> {
        let s = self.steps.iter().find(|s| s.failed())?;
        match &s.error {
            Some(e) => Some(Failure::Error(e)),
            None => s.outcomes.iter().find(|o| o.fails()).map(Failure::Check),
        }
    }

    /// Whether every step that failed met a target that could not be reached at all.
    pub fn unreachable(&self) -> bool {
        self.failed()
            && self.steps.iter().all(|s| !s.answered())
            && self.steps.iter().any(|s| matches!(&s.error, Some(StepError::Transport(t)) if t.unreachable()))
    }
}

/// The first reason a case failed: see [`CaseResult::first_failure`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Failure<'a> {
    /// A step got no usable response, or could not be made.
    Error(&'a StepError),
    /// An expectation did not hold.
    Check(&'a CheckOutcome),
}

/// Exit codes, as documented in the README and `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Exit {
    /// Every selected case passed (or, for `validate`, every file is valid).
    Passed = 0,
    /// At least one case failed.
    Failed = 1,
    /// Invalid case files, snapshots or usage; no request was sent.
    Invalid = 2,
    /// The target could not be reached at all, or nothing ran.
    NothingRan = 3,
    /// `drift`: a breaking shape change.
    Breaking = 4,
    /// An output could not be written: a report, JUnit, the record, the contracts, or standard
    /// output (closed by a pipe reader such as `head`).
    OutputFailed = 5,
}

impl Exit {
    /// The code and its meaning, for reports.
    pub fn meaning(self) -> &'static str {
        match self {
            Exit::Passed => "every selected case passed",
            Exit::Failed => "at least one case failed",
            Exit::Invalid => "invalid case files, snapshots or usage; no request was sent",
            Exit::NothingRan => "the target could not be reached at all, or nothing ran",
            Exit::Breaking => "a breaking shape change",
            Exit::OutputFailed => "an output could not be written (a report, or standard output closed)",
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(e as u8)
    }
}

/// Durations as seconds with millisecond precision.
pub fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// Durations read back from seconds; a negative or non-finite number is zero.
pub fn secs_back<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Ok(Duration::try_from_secs_f64(secs).unwrap_or_default())
}

// How each result type walks through the sealing point: every string, every JSON value, keys
// included. A new field that reaches an output gets its line here, next to the type.

fn redact_outcome(o: &mut CheckOutcome, r: &Redactor, fields: &FieldPolicy, masked_body: bool) {
    o.subject.redact(r);
    if let Some(obs) = o.observed.as_mut() {
        obs.on.redact(r);
    }
    r.value(&mut o.expected, fields);
    r.value(&mut o.actual, fields);
    o.note.redact(r);
    let from_body = matches!(o.kind, CheckKind::Body | CheckKind::Path | CheckKind::Capture | CheckKind::Status);
    if masked_body && from_body {
        if !o.actual.is_null() && !o.actual.is_boolean() && !o.actual.is_number() {
            o.actual = Value::String(MASK.into());
        }
        if o.note.is_some() {
            o.note =
                Some(Note::Text(format!("{MASK} (the response carried more secrets than psconform keeps track of)")));
        }
    }
}

impl Redact for TransportError {
    fn redact(&mut self, r: &Redactor) {
        match self {
            TransportError::Connect { url, reason }
            | TransportError::Tls { url, reason, .. }
            | TransportError::Broken { url, reason } => {
                url.redact(r);
                reason.redact(r);
            }
            TransportError::Timeout { url, .. } => url.redact(r),
            TransportError::TooLarge { seen, .. } => seen.redact(r),
        }
    }
}

impl Redact for StepError {
    fn redact(&mut self, r: &Redactor) {
        match self {
            StepError::Transport(t) => t.redact(r),
            StepError::Undefined(s) | StepError::InvalidRequest(s) | StepError::Setup(s) | StepError::Bug(s) => {
                s.redact(r)
            }
            StepError::Refused(refusal) => refusal.redact(r),
            StepError::Budget { .. } | StepError::Interrupted | StepError::Unreachable => {}
        }
    }
}

impl Redact for Refusal {
    fn redact(&mut self, r: &Redactor) {
        match self {
            Refusal::WrongAccount { wanted, answered } => {
                wanted.redact(r);
                answered.redact(r);
            }
            Refusal::OtherIds { sent, looked_up, .. } => {
                sent.redact(r);
                looked_up.redact(r);
            }
            Refusal::MoreThanChecked { endpoint, .. } | Refusal::NeedsOptIn { endpoint, .. } => endpoint.redact(r),
            Refusal::NoLookup => {}
        }
    }
}

impl Redact for Leftover {
    fn redact(&mut self, r: &Redactor) {
        self.case.redact(r);
        self.account.redact(r);
        self.request_id.redact(r);
    }
}

impl Redact for RequestLine {
    fn redact(&mut self, r: &Redactor) {
        self.path.redact(r);
        self.route.redact(r);
    }
}

impl Redact for StepResult {
    fn redact(&mut self, r: &Redactor) {
        let fields = &self.fields;
        self.name.redact(r);
        self.request.redact(r);
        for o in &mut self.outcomes {
            redact_outcome(o, r, fields, self.body_masked);
        }
        for Attempt { failed, error, .. } in &mut self.attempts {
            for o in failed {
                redact_outcome(o, r, fields, self.body_masked);
            }
            error.redact(r);
        }
        self.error.redact(r);
        self.contract.redact(r);
        // Masked where it was taken; sealed once more like every other text, and dropped
        // whole when the response carried more secrets than are tracked.
        if self.body_masked {
            self.body_excerpt = None;
        }
        self.body_excerpt.redact(r);
    }
}

impl Redact for IgnoreReason {
    fn redact(&mut self, r: &Redactor) {
        match self {
            IgnoreReason::SimulatorOnly { states } => states.redact(r),
            IgnoreReason::MissingSettings { variables } => variables.redact(r),
            IgnoreReason::NeedsOptIn { flag, because } => {
                flag.redact(r);
                because.redact(r);
            }
            IgnoreReason::NotOffered { area, endpoint } => {
                area.redact(r);
                endpoint.route.redact(r);
            }
            IgnoreReason::Blocked { by: Blocker::SignIn { finding } } => finding.redact(r),
            IgnoreReason::Blocked { by: Blocker::Unreachable } => {}
            IgnoreReason::NothingToCheck { why } => why.redact(r),
        }
    }
}

impl Redact for Outcome {
    fn redact(&mut self, r: &Redactor) {
        if let Outcome::Ignored(reason) = self {
            reason.redact(r);
        }
    }
}

impl Redact for CaseResult {
    fn redact(&mut self, r: &Redactor) {
        self.name.redact(r);
        self.file.redact(r);
        self.endpoint.redact(r);
        self.summary.redact(r);
        self.source.redact(r);
        self.outcome.redact(r);
        self.steps.redact(r);
        self.leftovers.redact(r);
    }
}
