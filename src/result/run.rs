//! The run as a whole: [`RunResult`] takes each case's sealed result as it ends, decides when
//! the case is final, counts it, and derives the one exit code. The terminal line, JUnit, the
//! JSON report and the HTML page all read their counts and their exit code from here, so they
//! cannot disagree.
//!
//! It keeps what the run's verdict needs, never the cases themselves: the counts, the
//! endpoints that answered, the statuses observed (for coverage), and the few cases whose
//! verdict waits for the rest of the run. Memory stays flat as the number of cases grows.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{CaseResult, CheckKind, Endpoint, Exit, IgnoreReason, Matcher, Outcome};
use crate::seal::{Redacted, Redactor};

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

/// A case that became final, and why its outcome is what it is when the run changed it.
#[derive(Debug)]
pub struct Final {
    /// The case, sealed.
    pub case: Redacted<CaseResult>,
    /// The case answered 404 as if the target did not offer the endpoint, but another case of
    /// the run got an answer from it: it counts as failed.
    pub offered_after_all: Option<Endpoint>,
}

/// The run: counts, interruption, outputs, and the verdict derived from them.
#[derive(Debug, Default)]
pub struct RunResult {
    /// The not-offered rule applies to real targets only: the built-in simulator offers
    /// everything the cases call.
    real_target: bool,
    /// The counts of the final cases.
    pub summary: Summary,
    /// Cases the filter or `--skip` left out.
    pub filtered_out: usize,
    /// Ctrl-C stopped the run: the cases it did not finish count as failed.
    pub interrupted: bool,
    /// Standard output was closed (a pipe reader such as `head` went away).
    pub output_closed: bool,
    /// A report, the record or the contracts could not be written.
    pub outputs_failed: bool,
    /// Endpoints that answered with something other than 404, by [`Endpoint::key`].
    answered: BTreeSet<(String, String)>,
    /// Whether any request of the run was answered at all.
    any_answer: bool,
    /// Failed cases whose every failure met a target that could not be reached.
    unreachable_failures: usize,
    /// Cases that answered 404 as if their endpoint were not offered, waiting for the rest of
    /// the run to say whether another case got an answer from it.
    pending: Vec<(Endpoint, Redacted<CaseResult>)>,
    /// Endpoints the target does not offer, by [`Endpoint::key`], with the cases ignored for
    /// each.
    pub not_offered: BTreeMap<(String, String), (Endpoint, usize)>,
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

    /// Takes a case that ended. Returns the cases that are final now: this one, unless its
    /// not-offered verdict waits for the rest of the run, and any waiting case this one
    /// settles by answering from the same endpoint.
    pub fn record(&mut self, case: Redacted<CaseResult>) -> Vec<Final> {
        self.learn(case.get());
        let mut done = Vec::new();
        // Waiting cases whose endpoint has now answered elsewhere failed after all.
        let (settled, waiting): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.pending).into_iter().partition(|(e, _)| self.answered.contains(&e.key()));
        self.pending = waiting;
        for (endpoint, c) in settled {
            done.push(self.finalize(c, Some(endpoint)));
        }
        match self.not_offered_candidate(case.get()) {
            Some(endpoint) if self.answered.contains(&endpoint.key()) => {
                done.push(self.finalize(case, Some(endpoint)));
            }
            Some(endpoint) => self.pending.push((endpoint, case)),
            None => done.push(self.finalize(case, None)),
        }
        done
    }

    /// Ends the run: every waiting case is final now, ignored as not offered (no other case
    /// got an answer from its endpoint). `r` seals the new outcome.
    pub fn finish(&mut self, r: &Redactor) -> Vec<Final> {
        let mut done = Vec::new();
        for (endpoint, mut case) in std::mem::take(&mut self.pending) {
            let entry = self.not_offered.entry(endpoint.key()).or_insert_with(|| (endpoint.clone(), 0));
            entry.1 += 1;
            case.amend(r, Outcome::Ignored(IgnoreReason::NotOffered { endpoint }), |c, o| c.outcome = o);
            done.push(self.finalize(case, None));
        }
        done
    }

    /// The exit code, from one table: the first row that holds decides.
    pub fn exit(&self) -> Exit {
        let s = &self.summary;
        let rows = [
            (self.output_closed || self.outputs_failed, Exit::OutputFailed),
            (s.passed == 0 && s.failed == 0, Exit::NothingRan),
            (self.unreachable(), Exit::NothingRan),
            (s.failed > 0 || self.interrupted, Exit::Failed),
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

    /// Counts a final case.
    fn finalize(&mut self, case: Redacted<CaseResult>, offered_after_all: Option<Endpoint>) -> Final {
        let c = case.get();
        match &c.outcome {
            Outcome::Passed => self.summary.passed += 1,
            Outcome::Failed => {
                self.summary.failed += 1;
                if c.unreachable() {
                    self.unreachable_failures += 1;
                }
            }
            Outcome::Ignored(reason) => {
                self.summary.ignored += 1;
                *self.summary.ignored_by_reason.entry(reason.kind().to_owned()).or_default() += 1;
            }
        }
        Final { case, offered_after_all }
    }

    /// What every case teaches the run, final or not: the endpoints that answered, the
    /// statuses observed, the product version.
    fn learn(&mut self, case: &CaseResult) {
        for step in &case.steps {
            let (Some(line), Some(status)) = (&step.request, step.status) else { continue };
            self.any_answer = true;
            let endpoint = Endpoint::of(line);
            if status != 404 {
                self.answered.insert(endpoint.key());
            }
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

    /// The endpoint a real target seems not to offer, when that is why the case failed: its
    /// first failing step got 404 where it expected another status, outside `Auth/`.
    fn not_offered_candidate(&self, case: &CaseResult) -> Option<Endpoint> {
        if !self.real_target || !case.failed() {
            return None;
        }
        let step = case.steps.iter().find(|s| s.failed())?;
        let endpoint = Endpoint::of(step.request.as_ref()?);
        let status_failed = step.outcomes.iter().any(|o| o.kind == CheckKind::Status && o.fails());
        let auth = endpoint.route.to_ascii_lowercase().starts_with("auth/");
        (step.status == Some(404) && status_failed && !auth).then_some(endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::{CheckOutcome, Phase, RequestLine, Span, StepResult};

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
        })
    }

    fn names(done: &[Final]) -> Vec<&str> {
        done.iter().map(|f| f.case.get().name.as_str()).collect()
    }

    #[test]
    fn a_404_waits_until_the_run_says_whether_the_endpoint_answered_elsewhere() {
        let mut run = RunResult::new(true, 0);
        assert!(run.record(case("a", "Secrets-Safe/Folders", 404, false)).is_empty(), "a waits");
        assert!(run.record(case("b", "Secrets-Safe/Safes", 404, false)).is_empty(), "b waits");
        let done = run.record(case("c", "secrets-safe/folders/", 200, true));
        assert_eq!(names(&done), ["a", "c"], "c's answer settles a: failed after all");
        assert_eq!(done[0].offered_after_all.as_ref().map(|e| e.route.as_str()), Some("Secrets-Safe/Folders"));
        let done = run.finish(&Redactor::default());
        assert_eq!(names(&done), ["b"]);
        assert!(
            matches!(&done[0].case.get().outcome, Outcome::Ignored(IgnoreReason::NotOffered { endpoint }) if endpoint.route == "Secrets-Safe/Safes")
        );
        assert_eq!((run.summary.passed, run.summary.failed, run.summary.ignored), (1, 1, 1));
        assert_eq!(run.exit(), Exit::Failed);
    }

    #[test]
    fn the_simulator_offers_everything() {
        let mut run = RunResult::new(false, 0);
        assert_eq!(names(&run.record(case("a", "Secrets-Safe/Folders", 404, false))), ["a"]);
        assert_eq!(run.summary.failed, 1);
    }

    #[test]
    fn one_table_gives_the_exit_code() {
        let mut run = RunResult::new(false, 0);
        assert_eq!(run.exit(), Exit::NothingRan, "nothing passed or failed");
        run.record(case("a", "X", 200, true));
        assert_eq!(run.exit(), Exit::Passed);
        run.interrupted = true;
        assert_eq!(run.exit(), Exit::Failed);
        run.output_closed = true;
        assert_eq!(run.exit(), Exit::OutputFailed);
    }
}
