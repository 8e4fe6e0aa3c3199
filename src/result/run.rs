//! The run as a whole: [`RunResult`] takes each case's sealed result as it ends, counts it,
//! and derives the one exit code. The terminal line, JUnit, the JSON report and the HTML page
//! all read their counts and their exit code from here, so they cannot disagree. A case is
//! final the moment it ends: whether the target offers an area is decided before any case
//! runs, never counted again afterwards.
//!
//! It keeps what the run's verdict needs, never the cases themselves: the counts, the statuses
//! observed (for coverage), the causes of failure (each once, with its count), the areas that
//! checked nothing, and the releases that may be left open. Memory stays flat as the number of
//! cases grows.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{
    Blocker, CaseResult, CheckKind, CheckOutcome, Endpoint, Exit, Failure, IgnoreReason, Leftover, Matcher, Outcome,
    StepError,
};
use crate::seal::Redacted;

/// Counts of a run, as every report shows them.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
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

/// A response status a run observed for an endpoint, for the coverage matrix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Observed {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// The status it answered.
    pub status: u16,
}

/// A case that is final: every report hears of it.
#[derive(Debug)]
pub struct Final {
    /// The case, sealed.
    pub case: Redacted<CaseResult>,
}

/// How many cases share one cause of failure, at most this many named.
pub const NAMED_PER_CAUSE: usize = 20;

/// One cause of failure: the same first failure (the same endpoint, the same check with the
/// same expected and actual values, or the same error) in every case it counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cause {
    /// The endpoint of the step that failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Endpoint>,
    /// The first failed expectation of the first case, when it was an expectation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<CheckOutcome>,
    /// The error of the first case, when it was an error. A report carries an error's kind
    /// and words, not its parts, so it is not read back.
    #[serde(default, skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub error: Option<StepError>,
    /// How many cases failed this way.
    pub count: usize,
    /// The first cases that did, by name (at most [`NAMED_PER_CAUSE`]).
    pub cases: Vec<String>,
}

/// What makes two failures one cause.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CauseKey {
    endpoint: Option<(String, String)>,
    what: What,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum What {
    /// An expectation: its kind, matcher and subject, with the expected and actual values.
    Check(CheckKind, Matcher, String, String, String),
    /// An error: its kind and words.
    Error(&'static str, String),
}

impl CauseKey {
    /// The cause of a failed case, from its first failure.
    pub fn of(case: &CaseResult) -> Option<CauseKey> {
        let step = case.steps.iter().find(|s| s.failed())?;
        let endpoint = step.request.as_ref().map(|l| Endpoint::of(l).key());
        let what = match case.first_failure()? {
            Failure::Check(o) => {
                What::Check(o.kind, o.matcher, o.subject.clone(), o.expected.to_string(), o.actual.to_string())
            }
            Failure::Error(e) => What::Error(e.kind(), e.to_string()),
        };
        Some(CauseKey { endpoint, what })
    }
}

/// An area of the suite (the first part of a case's name) in which cases did not run for
/// missing settings, with what to set: the run did not check them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unchecked {
    /// The area, such as `secrets-safe`.
    pub area: String,
    /// Its cases ignored for missing settings.
    pub cases: usize,
    /// All its selected cases.
    pub of: usize,
    /// Its cases that ran (passed or failed).
    pub ran: usize,
    /// The environment variables they need.
    pub variables: Vec<String>,
}

impl Unchecked {
    /// Whether no case of the area ran at all.
    pub fn nothing(&self) -> bool {
        self.ran == 0
    }
}

/// What the run knows of one area of the suite, to say which checked nothing.
#[derive(Debug, Default)]
struct AreaTally {
    cases: usize,
    ran: usize,
    missing: usize,
    variables: BTreeSet<String>,
}

/// The run: counts, interruption, outputs, and the verdict derived from them.
#[derive(Debug, Default)]
pub struct RunResult {
    /// Whether the target is a real one (not the built-in simulator).
    real_target: bool,
    /// The counts of the final cases.
    pub summary: Summary,
    /// Cases the filter or `--skip` left out.
    pub filtered_out: usize,
    /// A signal stopped the run: the cases it did not finish count as failed.
    pub interrupted: bool,
    /// Standard output was closed (a pipe reader such as `head` went away).
    pub output_closed: bool,
    /// A report, the record or the contracts could not be written.
    pub outputs_failed: bool,
    /// The target stopped answering during the run: the cases after that were not sent.
    pub target_stopped: bool,
    /// Whether any request of the run was answered at all.
    any_answer: bool,
    /// Failed cases whose every failure met a target that could not be reached.
    unreachable_failures: usize,
    /// Areas the target does not offer (decided before the cases ran), with their entry route
    /// and the cases ignored for each.
    pub not_offered: BTreeMap<String, (Endpoint, usize)>,
    /// What blocked cases, with how many each.
    pub blocked: BTreeMap<String, usize>,
    /// Credential releases that may still be open on the target.
    pub leftovers: Vec<Leftover>,
    /// The causes of failure, each once.
    causes: BTreeMap<CauseKey, Cause>,
    /// Per area of the suite: its cases, and those ignored for missing settings.
    areas: BTreeMap<String, AreaTally>,
    /// Every status observed per endpoint.
    pub observed: BTreeSet<Observed>,
    /// The product version a case read from `GET Configuration/Version`, if one did.
    pub product_version: Option<String>,
}

impl Observed {
    /// The statuses a case's steps observed, endpoint by endpoint.
    pub fn of(case: &CaseResult) -> impl Iterator<Item = Observed> + '_ {
        case.steps.iter().filter_map(|s| {
            let (line, status) = (s.request.as_ref()?, s.status?);
            Some(Observed { endpoint: Endpoint::of(line), status })
        })
    }
}

impl RunResult {
    /// A run against a real target (`real_target`) or the built-in simulator, of which the
    /// filter left out `filtered_out` cases.
    pub fn new(real_target: bool, filtered_out: usize) -> RunResult {
        RunResult { real_target, filtered_out, ..RunResult::default() }
    }

    /// Takes a case that ended: it is final at once (whether an area is offered was decided
    /// before any case ran), and counted.
    pub fn record(&mut self, case: Redacted<CaseResult>) -> Final {
        self.learn(case.get());
        let c = case.get();
        match &c.outcome {
            Outcome::Passed => self.summary.passed += 1,
            Outcome::Failed => {
                self.summary.failed += 1;
                if c.unreachable() {
                    self.unreachable_failures += 1;
                }
                self.add_cause(c);
            }
            Outcome::Ignored(reason) => {
                self.summary.ignored += 1;
                *self.summary.ignored_by_reason.entry(reason.kind().to_owned()).or_default() += 1;
                match reason {
                    IgnoreReason::NotOffered { area, endpoint } => {
                        self.not_offered.entry(area.clone()).or_insert_with(|| (endpoint.clone(), 0)).1 += 1;
                    }
                    IgnoreReason::Blocked { by } => {
                        let key = match by {
                            Blocker::SignIn { finding } => finding.clone(),
                            Blocker::Unreachable => "the target stopped answering".to_owned(),
                        };
                        *self.blocked.entry(key).or_default() += 1;
                    }
                    _ => {}
                }
            }
        }
        let area = self.areas.entry(c.name.split("::").next().unwrap_or_default().to_owned()).or_default();
        area.cases += 1;
        area.ran += usize::from(matches!(c.outcome, Outcome::Passed | Outcome::Failed));
        if let Outcome::Ignored(IgnoreReason::MissingSettings { variables }) = &c.outcome {
            area.missing += 1;
            area.variables.extend(variables.iter().cloned());
        }
        self.leftovers.extend(c.leftovers.iter().cloned());
        Final { case }
    }

    fn add_cause(&mut self, c: &CaseResult) {
        let Some(key) = CauseKey::of(c) else { return };
        let cause = self.causes.entry(key).or_insert_with(|| {
            let step = c.steps.iter().find(|s| s.failed());
            let (check, error) = match c.first_failure() {
                Some(Failure::Check(o)) => (Some(o.clone()), None),
                Some(Failure::Error(e)) => (None, Some(e.clone())),
                None => (None, None),
            };
            Cause {
                endpoint: step.and_then(|s| s.request.as_ref()).map(Endpoint::of),
                check,
                error,
                count: 0,
                cases: Vec::new(),
            }
        });
        cause.count += 1;
        if cause.cases.len() < NAMED_PER_CAUSE {
            cause.cases.push(c.name.clone());
        }
    }

    /// The causes of failure, most cases first.
    pub fn causes(&self) -> Vec<&Cause> {
        let mut all: Vec<&Cause> = self.causes.values().collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.cases.cmp(&b.cases)));
        all
    }

    /// Against a real target, the areas of the suite in which cases were ignored for missing
    /// settings: the run did not check them. Every area is listed, not only those where every
    /// case was ignored, since the cases that need no settings (a call without a session) pass
    /// against almost anything and would hide an area that checked nothing else.
    pub fn unchecked(&self) -> Vec<Unchecked> {
        if !self.real_target {
            return Vec::new();
        }
        self.areas
            .iter()
            .filter(|(_, t)| t.missing > 0)
            .map(|(area, t)| Unchecked {
                area: area.clone(),
                cases: t.missing,
                of: t.cases,
                ran: t.ran,
                variables: t.variables.iter().cloned().collect(),
            })
            .collect()
    }

    /// The exit code, from one table: the first row that holds decides.
    pub fn exit(&self) -> Exit {
        let s = &self.summary;
        let rows = [
            (self.output_closed || self.outputs_failed, Exit::OutputFailed),
            (self.target_stopped, Exit::NothingRan),
            (s.passed == 0 && s.failed == 0 && self.leftovers.is_empty(), Exit::NothingRan),
            (self.unreachable(), Exit::NothingRan),
            (s.failed > 0 || self.interrupted || !self.leftovers.is_empty(), Exit::Failed),
        ];
        rows.into_iter().find(|(holds, _)| *holds).map_or(Exit::Passed, |(_, exit)| exit)
    }

    /// Whether nothing passed or failed: every case was ignored.
    pub fn nothing_ran(&self) -> bool {
        self.summary.passed == 0 && self.summary.failed == 0
    }

    /// Whether every failure met a target that could not be reached, and nothing answered.
    pub fn unreachable(&self) -> bool {
        self.summary.failed > 0 && !self.any_answer && self.unreachable_failures == self.summary.failed
    }

    /// What every case teaches the run: whether anything answered, the statuses observed,
    /// the product version.
    fn learn(&mut self, case: &CaseResult) {
        for step in &case.steps {
            let (Some(line), Some(status)) = (&step.request, step.status) else { continue };
            self.any_answer = true;
            let endpoint = Endpoint::of(line);
            if self.product_version.is_none() && status == 200 && endpoint.key().1 == "configuration/version" {
                self.product_version = step
                    .outcomes
                    .iter()
                    .find(|o| {
                        o.kind == CheckKind::Path
                            && o.subject == "$.Version"
                            && matches!(
                                o.matcher,
                                Matcher::Equals | Matcher::Matches | Matcher::OneOf | Matcher::Format
                            )
                    })
                    .and_then(|o| o.actual.as_str().map(str::to_owned));
            }
            self.observed.insert(Observed { endpoint, status });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{Phase, RequestLine, Span, StepResult};
    use crate::seal::Redactor;

    fn case(name: &str, route: &str, status: u16, passed: bool) -> Redacted<CaseResult> {
        let mut step = StepResult::new(Phase::Step, 1, format!("GET {route}"), Span::default());
        step.request = Some(RequestLine { method: "GET".into(), path: route.into(), route: Some(route.into()) });
        step.status = Some(status);
        step.outcomes.push(CheckOutcome {
            kind: CheckKind::Status,
            matcher: Matcher::Status,
            subject: "status".into(),
            expected: serde_json::json!(200),
            actual: serde_json::json!(status),
            note: None,
            passed,
            span: Span::default(),
            observed: None,
        });
        Redactor::default().seal(CaseResult {
            name: name.into(),
            file: "f.yaml".into(),
            line: 1,
            endpoint: String::new(),
            summary: String::new(),
            source: None,
            outcome: if passed { Outcome::Passed } else { Outcome::Failed },
            duration: std::time::Duration::ZERO,
            steps: vec![step],
            leftovers: Vec::new(),
        })
    }

    fn ignored(name: &str, reason: IgnoreReason) -> Redacted<CaseResult> {
        let mut c = case(name, "X", 200, true).into_inner();
        c.outcome = Outcome::Ignored(reason);
        c.steps.clear();
        Redactor::default().seal(c)
    }

    #[test]
    fn a_case_is_final_as_it_ends_and_a_404_is_a_failure() {
        // Issue #14: a 404 was first filed as "not offered", then counted as failed after the
        // result line; whether an area is offered is now decided before any case runs.
        let mut run = RunResult::new(true, 0);
        assert_eq!(run.record(case("a", "Secrets-Safe/Folders", 404, false)).case.get().name, "a");
        let endpoint = Endpoint { method: "GET".into(), route: "Secrets-Safe/Safes".into() };
        run.record(ignored("b", IgnoreReason::NotOffered { area: "Safes".into(), endpoint: endpoint.clone() }));
        assert_eq!((run.summary.passed, run.summary.failed, run.summary.ignored), (0, 1, 1));
        assert_eq!(run.not_offered.get("Safes"), Some(&(endpoint, 1)));
        assert_eq!(run.exit(), Exit::Failed);
    }

    #[test]
    fn one_table_gives_the_exit_code() {
        let mut run = RunResult::new(false, 0);
        assert_eq!(run.exit(), Exit::NothingRan, "nothing passed or failed");
        run.record(case("a", "X", 200, true));
        assert_eq!(run.exit(), Exit::Passed);
        run.leftovers.push(Leftover {
            case: "a".into(),
            account: "s/a".into(),
            request_id: None,
            why: crate::result::LeftoverWhy::NoAnswer,
        });
        assert_eq!(run.exit(), Exit::Failed, "a run with a leftover never exits 0");
        run.leftovers.clear();
        run.interrupted = true;
        assert_eq!(run.exit(), Exit::Failed);
        run.target_stopped = true;
        assert_eq!(run.exit(), Exit::NothingRan, "a target that stopped answering is exit 3");
        run.output_closed = true;
        assert_eq!(run.exit(), Exit::OutputFailed);
    }

    #[test]
    fn failures_with_one_cause_are_one_cause_with_its_count() {
        let mut run = RunResult::new(true, 0);
        for name in ["a", "b", "c"] {
            run.record(case(name, "Auth/SignAppin", 401, false));
        }
        run.record(case("d", "Auth/SignAppin", 500, false));
        run.record(case("e", "Users", 200, true));
        let causes = run.causes();
        assert_eq!(causes.len(), 2, "{causes:#?}");
        assert_eq!((causes[0].count, causes[0].cases.clone()), (3, vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(causes[1].count, 1);
    }

    #[test]
    fn areas_with_cases_ignored_for_missing_settings_are_unchecked() {
        let missing = |v: &str| IgnoreReason::MissingSettings { variables: vec![v.to_owned()] };
        let mut run = RunResult::new(true, 0);
        run.record(ignored("secrets-safe::f::a", missing("PS_SECRET")));
        run.record(ignored("secrets-safe::f::b", missing("PS_API_KEY")));
        run.record(ignored("auth::f::a", missing("PS_API_KEY")));
        run.record(case("auth::f::b", "X", 401, true));
        run.record(case("lookups::f::b", "X", 200, true));
        let unchecked = run.unchecked();
        assert_eq!(unchecked.len(), 2, "{unchecked:?}");
        assert_eq!((unchecked[0].area.as_str(), unchecked[0].cases, unchecked[0].of), ("auth", 1, 2));
        assert!(!unchecked[0].nothing(), "a call without a session ran");
        assert_eq!(unchecked[1].area, "secrets-safe");
        assert!(unchecked[1].nothing());
        assert_eq!(unchecked[1].variables, ["PS_API_KEY", "PS_SECRET"]);
        assert!(RunResult::new(false, 0).unchecked().is_empty(), "the simulator has every setting");
    }
}
