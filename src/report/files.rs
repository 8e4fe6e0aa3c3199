//! The report files of a run (`--junit`, `--report`, `--html`), written without holding the
//! run: each case is rendered into its JUnit, JSON and HTML fragments as soon as it is final,
//! and the fragments are spooled into an anonymous temporary file. At the end the files are
//! put together in order (by case name; by area, file and outcome on the page), reading one
//! fragment at a time, around the run's counts and exit code.
//!
//! What stays in memory per case is its place (name, area, file, offsets), a few dozen bytes.
//!
//! Each report has a size budget for its cases, [`CASES_BUDGET`]: once a case would take a
//! report past it, that case and every later one go into it in their lean form ([`lean`]:
//! the outcome of each step and its first failures, without notes, attempts or contract
//! changes), so a run whose every answer is huge still gives reports a reader can open.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use super::html::{Group, PageHead, PageTally};
use super::{RunMeta, html, json, junit};
use crate::coverage::Coverage;
use crate::result::{CaseResult, CheckOutcome, Note, RunResult};
use crate::seal::Redacted;
use crate::shape::drift::DriftReport;

/// Bytes of cases a report holds before the rest go in lean.
pub const CASES_BUDGET: u64 = 4 * 1024 * 1024;
/// Failing outcomes a lean step keeps; the rest are counted.
const LEAN_OUTCOMES: usize = 3;
/// What a lean outcome says instead of its note.
pub const LEFT_OUT: &str = "details left out: the report reached its size budget";

/// Where the report files go.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    /// JUnit XML.
    pub junit: Option<PathBuf>,
    /// The JSON report.
    pub json: Option<PathBuf>,
    /// The HTML page.
    pub html: Option<PathBuf>,
}

impl Paths {
    /// Whether any report is asked for.
    pub fn any(&self) -> bool {
        self.junit.is_some() || self.json.is_some() || self.html.is_some()
    }
}

/// A fragment's place in the spool.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    at: u64,
    len: usize,
}

/// One spooled case.
#[derive(Debug)]
struct Spooled {
    group: Group,
    junit: Span,
    json: Span,
    html: Span,
}

/// The report files being written.
#[derive(Debug)]
pub struct Reports {
    paths: Paths,
    spool: BufWriter<File>,
    written: u64,
    /// Bytes of cases spooled per report: JUnit, JSON, HTML.
    used: [u64; 3],
    cases: Vec<Spooled>,
    tally: PageTally,
    /// The first problem spooling met: the reports cannot be written.
    broken: Option<String>,
}

/// Everything a report shows besides its cases.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The run.
    pub meta: &'a Redacted<RunMeta>,
    /// Its counts and exit code.
    pub run: &'a RunResult,
    /// The coverage matrix.
    pub coverage: Option<&'a Redacted<Coverage>>,
    /// The drift report the run wrote, if any.
    pub drift: Option<&'a Redacted<DriftReport>>,
}

impl Reports {
    /// Reports to `paths`, spooled in an anonymous temporary file.
    pub fn new(paths: Paths) -> io::Result<Reports> {
        Ok(Reports {
            paths,
            spool: BufWriter::new(tempfile::tempfile()?),
            written: 0,
            used: [0; 3],
            cases: Vec::new(),
            tally: PageTally::default(),
            broken: None,
        })
    }

    /// Renders a final case into its fragments.
    pub fn add(&mut self, case: &Redacted<CaseResult>) {
        if self.broken.is_some() {
            return;
        }
        if let Err(e) = self.spool_case(case.get()) {
            self.broken = Some(e.to_string());
        }
    }

    fn spool_case(&mut self, c: &CaseResult) -> io::Result<()> {
        let mut slim = None;
        let junit_xml = |c: &CaseResult| junit::testcase(c).map_err(|e| io::Error::other(e.to_string()));
        let junit = if self.paths.junit.is_some() {
            let xml = self.within(0, junit_xml(c)?, &mut slim, c, |l| junit_xml(l))?;
            self.put(0, &xml)?
        } else {
            Span::default()
        };
        let json = if self.paths.json.is_some() {
            let text = self.within(1, json::case(c, false), &mut slim, c, |l| Ok(json::case(l, false)))?;
            self.put(1, &text)?
        } else {
            Span::default()
        };
        let html = if self.paths.html.is_some() {
            self.tally.add(c);
            let page = self.within(2, html::run_case(c), &mut slim, c, |l| Ok(html::run_case(l)))?;
            self.put(2, &page)?
        } else {
            Span::default()
        };
        self.cases.push(Spooled { group: Group::of(c), junit, json, html });
        Ok(())
    }

    /// `full`, or the case rendered in its lean form (made once) when `full` would take
    /// report `which` past its budget.
    fn within(
        &self,
        which: usize,
        full: String,
        slim: &mut Option<CaseResult>,
        c: &CaseResult,
        render: impl Fn(&CaseResult) -> io::Result<String>,
    ) -> io::Result<String> {
        if self.used[which] + full.len() as u64 <= CASES_BUDGET {
            return Ok(full);
        }
        render(slim.get_or_insert_with(|| lean(c)))
    }

    fn put(&mut self, which: usize, text: &str) -> io::Result<Span> {
        self.used[which] += text.len() as u64;
        self.spool.write_all(text.as_bytes())?;
        let span = Span { at: self.written, len: text.len() };
        self.written += text.len() as u64;
        Ok(span)
    }

    /// Writes every report asked for. Returns one line per report that could not be written.
    pub fn finish(self, cx: Context<'_>) -> Vec<String> {
        let Reports { paths, spool, mut cases, tally, broken, .. } = self;
        let targets = [&paths.junit, &paths.json, &paths.html];
        if let Some(why) = broken {
            return targets.into_iter().flatten().map(|p| format!("cannot write {}: {why}", p.display())).collect();
        }
        let mut spool = match spool.into_inner() {
            Ok(f) => f,
            Err(e) => {
                let why = e.error().to_string();
                return targets.into_iter().flatten().map(|p| format!("cannot write {}: {why}", p.display())).collect();
            }
        };
        let mut problems = Vec::new();
        let mut write = |path: &Option<PathBuf>, f: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>| {
            let Some(path) = path else { return };
            // Into a temporary file of the same folder, renamed over the path when whole.
            let done = crate::files::write(path, |out| f(out));
            if let Err(e) = done {
                problems.push(format!("cannot write {}: {e}", path.display()));
            }
        };
        cases.sort_by(|a, b| a.group.name.cmp(&b.group.name));
        let duration = cx.meta.get().duration;
        write(&paths.junit, &mut |out| {
            out.write_all(junit::header(cx.run, duration).as_bytes())?;
            for c in &cases {
                copy(&mut spool, c.junit, out)?;
            }
            out.write_all(junit::footer(cx.run, &cx.meta.get().target).as_bytes())
        });
        write(&paths.json, &mut |out| {
            let mut meta = cx.meta.get().clone();
            meta.product_version = meta.product_version.or_else(|| cx.run.product_version.clone());
            out.write_all(json::head(&meta, cx.run).as_bytes())?;
            for (i, c) in cases.iter().enumerate() {
                // The first element has no comma before it: the fragment was spooled with one.
                let mut text = read(&mut spool, c.json)?;
                if i == 0 {
                    text.remove(0);
                }
                out.write_all(text.as_bytes())?;
            }
            out.write_all(json::tail(!cases.is_empty(), cx.coverage.map(Redacted::get)).as_bytes())
        });
        cases.sort_by(|a, b| a.group.cmp(&b.group));
        let groups: Vec<Group> = cases.iter().map(|c| c.group.clone()).collect();
        write(&paths.html, &mut |out| {
            let mut meta = cx.meta.get().clone();
            meta.product_version = meta.product_version.or_else(|| cx.run.product_version.clone());
            let head = PageHead {
                meta: &meta,
                run: cx.run,
                coverage: cx.coverage.map(Redacted::get),
                drift: cx.drift.map(Redacted::get),
                tally: &tally,
            };
            html::write_run_page(out, &head, &groups, &mut |i| read(&mut spool, cases[i].html))
        });
        problems
    }
}

/// A case as a report past its budget holds it: each step's outcome and its first failing
/// checks, without notes, attempts or contract changes (counted instead).
pub fn lean(c: &CaseResult) -> CaseResult {
    let mut c = c.clone();
    for s in &mut c.steps {
        s.attempts.clear();
        let failing: Vec<CheckOutcome> = s.outcomes.drain(..).filter(CheckOutcome::fails).collect();
        s.outcomes_omitted += failing.len().saturating_sub(LEAN_OUTCOMES);
        s.outcomes = failing.into_iter().take(LEAN_OUTCOMES).collect();
        for o in &mut s.outcomes {
            o.note = Some(Note::Text(LEFT_OUT.to_owned()));
        }
        if let Some(v) = &mut s.contract {
            v.more_changes += v.changes.len();
            v.changes.clear();
        }
    }
    c
}

fn read(spool: &mut File, span: Span) -> io::Result<String> {
    spool.seek(SeekFrom::Start(span.at))?;
    let mut buf = vec![0; span.len];
    spool.read_exact(&mut buf)?;
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn copy(spool: &mut File, span: Span, out: &mut dyn Write) -> io::Result<()> {
    out.write_all(read(spool, span)?.as_bytes())
}

/// Every reporter agrees (issue #14: the terminal said `ok` while the run exited 1): random
/// runs of passed, failed, ignored and not-offered cases go through the run result, the
/// terminal, JUnit, the JSON report and the HTML page, and their counts, verdicts and exit
/// codes are compared.
#[cfg(test)]
mod properties {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::report::ContractsMeta;
    use crate::result::{
        CheckKind, CheckOutcome, Exit, IgnoreReason, Matcher, Outcome, Phase, RequestLine, Span, StepResult,
    };
    use crate::seal::Redactor;

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("not poisoned").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// What a generated case does: pass, fail a check, fail unreachable, be ignored, get 404
    /// from one of three endpoints (a failure: whether an area is offered is decided before the
    /// cases), be ignored as not offered or blocked, or fail leaving a release open.
    #[derive(Debug, Clone, Copy)]
    enum Kind {
        Pass,
        Fail,
        Unreachable,
        Ignored,
        NotFound(u8),
        NotOffered,
        Blocked,
        Leftover,
    }

    fn kind() -> impl Strategy<Value = Kind> {
        prop_oneof![
            Just(Kind::Pass),
            Just(Kind::Fail),
            Just(Kind::Unreachable),
            Just(Kind::Ignored),
            (0u8..3).prop_map(Kind::NotFound),
            Just(Kind::NotOffered),
            Just(Kind::Blocked),
            Just(Kind::Leftover),
        ]
    }

    fn case(i: usize, kind: Kind) -> CaseResult {
        let route = match kind {
            Kind::NotFound(n) => format!("Area{n}/Items"),
            _ => "Auth/SignAppin".to_owned(),
        };
        let mut step = StepResult::new(Phase::Step, 1, format!("GET {route}"), Span { line: 3, column: 7 });
        step.request = Some(RequestLine { method: "GET".into(), path: route.clone(), route: Some(route) });
        let (status, passed) = match kind {
            Kind::Pass | Kind::Ignored | Kind::NotOffered | Kind::Blocked | Kind::Leftover => (Some(200), true),
            Kind::Fail => (Some(500), false),
            Kind::NotFound(_) => (Some(404), false),
            Kind::Unreachable => (None, false),
        };
        step.status = status;
        if kind == Kind::Unreachable {
            step.error = Some(crate::result::StepError::Transport(crate::result::TransportError::Connect {
                url: "http://127.0.0.1:9".into(),
                reason: "refused".into(),
            }));
        } else if let Some(code) = status {
            step.outcomes.push(CheckOutcome {
                kind: CheckKind::Status,
                matcher: Matcher::Status,
                subject: "status".into(),
                expected: json!(200),
                actual: json!(code),
                note: None,
                passed,
                span: Span { line: 4, column: 9 },
                observed: None,
            });
        }
        let outcome = match kind {
            Kind::Pass => Outcome::Passed,
            Kind::Ignored => Outcome::Ignored(IgnoreReason::MissingSettings { variables: vec!["PS_API_KEY".into()] }),
            Kind::NotOffered => Outcome::Ignored(IgnoreReason::NotOffered {
                area: "Folders".into(),
                endpoint: crate::result::Endpoint { method: "GET".into(), route: "Secrets-Safe/Folders".into() },
            }),
            Kind::Blocked => Outcome::Ignored(IgnoreReason::Blocked {
                by: crate::result::Blocker::SignIn { finding: "preflight::sign-in::ps-auth".into() },
            }),
            _ => Outcome::Failed,
        };
        let leftovers = if matches!(kind, Kind::Leftover) {
            vec![crate::result::Leftover {
                case: format!("case-{i:03}"),
                account: "lab-linux-01/svc-conform".into(),
                request_id: Some(format!("{}", 100 + i)),
                why: crate::result::LeftoverWhy::CheckInFailed,
            }]
        } else {
            Vec::new()
        };
        let steps =
            if matches!(kind, Kind::Ignored | Kind::NotOffered | Kind::Blocked) { Vec::new() } else { vec![step] };
        CaseResult {
            name: format!("area{}::file::case-{i:03}", i % 3),
            file: format!("cases/area{}/file.yaml", i % 3),
            line: 2,
            endpoint: "X".into(),
            summary: "s".into(),
            source: None,
            outcome,
            duration: Duration::from_millis(1),
            steps,
            leftovers,
        }
    }

    impl PartialEq<Kind> for Kind {
        fn eq(&self, other: &Kind) -> bool {
            std::mem::discriminant(self) == std::mem::discriminant(other)
        }
    }

    fn number_after(text: &str, what: &str) -> usize {
        let at = text.find(what).unwrap_or_else(|| panic!("no {what} in {text}"));
        text[at + what.len()..].chars().take_while(char::is_ascii_digit).collect::<String>().parse().unwrap_or(0)
    }

    fn number_before(text: &str, what: &str) -> usize {
        let at = text.find(what).unwrap_or_else(|| panic!("no {what} in {text}"));
        let digits: String = text[..at].chars().rev().take_while(char::is_ascii_digit).collect();
        digits.chars().rev().collect::<String>().parse().unwrap_or(0)
    }

    proptest! {
        #![proptest_config(crate::arbitrary::config(48))]

        #[test]
        fn the_terminal_junit_json_and_html_agree(kinds in prop::collection::vec(kind(), 1..24), real in any::<bool>()) {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let paths = Paths {
                junit: Some(dir.path().join("j.xml")),
                json: Some(dir.path().join("r.json")),
                html: Some(dir.path().join("p.html")),
            };
            let mut reports = Reports::new(paths.clone()).expect("spooled");
            let terminal = Shared::default();
            let names: Vec<String> = (0..kinds.len()).map(|i| case(i, Kind::Pass).name).collect();
            let args = libtest_mimic::Arguments::default();
            let mut printer =
                crate::report::terminal::Printer::to(Box::new(terminal.clone()), &args, names.iter().map(String::as_str));
            printer.title(kinds.len()).expect("printed");
            let mut run = RunResult::new(real, 0);
            let redactor = Redactor::default();
            let mut tell = |done: crate::result::run::Final, printer: &mut crate::report::terminal::Printer| {
                printer.case(&done.case).expect("printed");
                reports.add(&done.case);
            };
            for (i, k) in kinds.iter().enumerate() {
                let done = run.record(redactor.seal(case(i, *k)));
                tell(done, &mut printer);
            }
            printer.end(&run, Duration::ZERO).expect("printed");
            let meta = redactor.seal(RunMeta {
                psconform: "0".into(),
                target: "http://127.0.0.1:9/".into(),
                product_version: None,
                simulator: None,
                started: "2026-12-01T00:00:00Z".into(),
                duration: Duration::ZERO,
                options: Vec::new(),
                contracts: ContractsMeta::default(),
            });
            let problems = reports.finish(Context { meta: &meta, run: &run, coverage: None, drift: None });
            prop_assert!(problems.is_empty(), "{problems:?}");

            let s = &run.summary;
            let exit = run.exit();
            prop_assert_eq!(s.passed + s.failed + s.ignored, kinds.len(), "every case is counted once");
            prop_assert_eq!(exit == Exit::Failed, s.failed > 0 && !run.unreachable());
            let leftovers = kinds.iter().filter(|k| matches!(k, Kind::Leftover)).count();
            prop_assert_eq!(run.leftovers.len(), leftovers);
            prop_assert!(leftovers == 0 || exit != Exit::Passed, "a run with a leftover never exits 0");

            let coloured = String::from_utf8(terminal.0.lock().expect("not poisoned").clone()).expect("UTF-8");
            let text = anstream::adapter::strip_str(&coloured).to_string();
            let line = text.lines().find(|l| l.starts_with("test result: ")).expect("a result line");
            prop_assert_eq!(line.starts_with("test result: FAILED."), s.failed > 0, "{}", line);
            prop_assert_eq!(number_before(line, " passed;"), s.passed);
            prop_assert_eq!(number_before(line, " failed;"), s.failed);
            prop_assert_eq!(number_before(line, " ignored;"), s.ignored);
            prop_assert_eq!(text.lines().filter(|l| l.starts_with("test ") && l.ends_with(" ... ok")).count(), s.passed);
            prop_assert_eq!(text.lines().filter(|l| l.starts_with("test ") && l.ends_with(" ... FAILED")).count(), s.failed);

            let xml = std::fs::read_to_string(dir.path().join("j.xml")).expect("JUnit");
            prop_assert_eq!(number_after(&xml, "<testsuites name=\"psconform\" tests=\""), kinds.len());
            prop_assert_eq!(number_after(&xml, "failures=\""), s.failed);
            prop_assert_eq!(number_after(&xml, "skipped=\""), s.ignored);
            prop_assert_eq!(xml.matches("<testcase ").count(), kinds.len());
            prop_assert_eq!(xml.matches("<failure ").count(), s.failed);
            prop_assert_eq!(xml.matches("<skipped ").count(), s.ignored);

            let report: crate::report::json::Report =
                serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).expect("JSON")).expect("a typed report");
            prop_assert_eq!(&report.summary, s);
            prop_assert_eq!(report.exit.code, exit as u8);
            prop_assert_eq!(report.cases.len(), kinds.len());
            prop_assert_eq!(report.cases.iter().filter(|c| c.failed()).count(), s.failed);
            let mut sorted: Vec<&str> = report.cases.iter().map(|c| c.name.as_str()).collect();
            sorted.sort_unstable();
            prop_assert!(report.cases.iter().map(|c| c.name.as_str()).eq(sorted), "sorted by name");

            prop_assert_eq!(report.leftovers.len(), leftovers, "every leftover is in the JSON report");
            prop_assert_eq!(xml.matches("LEFT OPEN").count(), leftovers, "and under its case in JUnit");
            prop_assert_eq!(xml.contains("may still be open on the target"), leftovers > 0);
            prop_assert_eq!(text.matches("LEFT OPEN").count(), leftovers, "and under its case on the terminal");

            let page = std::fs::read_to_string(dir.path().join("p.html")).expect("HTML");
            if leftovers > 0 {
                prop_assert_eq!(number_after(&page, "data-leftovers=\""), leftovers, "and first on the page");
            } else {
                prop_assert!(!page.contains("data-leftovers="));
            }
            prop_assert_eq!(number_after(&page, "data-summary-passed=\""), s.passed);
            prop_assert_eq!(number_after(&page, "data-summary-failed=\""), s.failed);
            prop_assert_eq!(number_after(&page, "data-summary-ignored=\""), s.ignored);
            prop_assert_eq!(number_after(&page, "data-exit-code=\""), exit as usize);
            prop_assert_eq!(page.matches("data-outcome=\"failed\"").count(), s.failed);
            prop_assert_eq!(page.matches("data-outcome=\"passed\"").count(), s.passed);
            prop_assert_eq!(page.matches("data-outcome=\"ignored\"").count(), s.ignored);
        }
    }
}
