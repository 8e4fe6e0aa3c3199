//! A run's cases without their plans. Every file is checked when the suite is loaded (every
//! problem of every file is reported before anything runs), but only each case's name and
//! locks are kept: a case's plan is compiled again from its file when the case starts
//! ([`Suite::plan`]), and dropped when it ends. So a run holds a handful of plans, however
//! many cases the suite has, and its memory does not grow with the suite.
//!
//! A file is read again for that: its text must be the one checked (a digest of it is kept),
//! or the case fails instead of running something that was never validated.

use std::cell::RefCell;
use std::path::PathBuf;

use super::compile::{check, compile_file};
use super::{CasePlan, Lock, SignIn};
use crate::case::Diagnostic;

/// One case of a suite, before its plan is needed.
#[derive(Debug, Clone)]
pub struct CaseRef {
    /// `<area>::<file>::<case>`.
    pub name: String,
    /// The locks it holds while it runs.
    pub locks: Vec<Lock>,
    /// The catalog's areas it calls, which a preflight probes before the cases run.
    pub areas: Vec<&'static str>,
    /// The sign-ins it needs, which a preflight tries once before the cases run.
    pub sign_in: Vec<SignIn>,
    /// What it exercises, for the coverage matrix, when the suite was loaded with it.
    pub exercised: Vec<Exercised>,
    file: usize,
    index: usize,
}

/// A request a case makes, with the statuses it asserts: what the coverage matrix needs of a
/// case.
#[derive(Debug, Clone)]
pub struct Exercised {
    /// `GET`, `POST`, …
    pub method: &'static str,
    /// The route template.
    pub route: String,
    /// The statuses asserted, as written (`200`, `4xx`).
    pub asserted: Vec<String>,
    /// The query parameters sent, by name.
    pub params: Vec<String>,
}

impl Exercised {
    /// What each step of a plan exercises.
    pub fn of(plan: &CasePlan) -> Vec<Exercised> {
        plan.all_steps()
            .map(|step| Exercised {
                method: step.request.method.as_str(),
                route: step.request.route.clone(),
                asserted: step
                    .checks
                    .iter()
                    .filter_map(|c| match &c.test {
                        super::check::Test::Status(s) => Some(status_text(s)),
                        _ => None,
                    })
                    .flatten()
                    .collect(),
                params: step.request.query.iter().filter_map(|(k, _)| k.as_literal()).collect(),
            })
            .collect()
    }
}

fn status_text(spec: &crate::case::spec::StatusSpec) -> Vec<String> {
    use crate::case::spec::StatusSpec;
    match spec {
        StatusSpec::Code(c) => vec![c.to_string()],
        StatusSpec::AnyOf(cs) => cs.iter().map(u16::to_string).collect(),
        StatusSpec::Class(c) => vec![format!("{c}xx")],
    }
}

#[derive(Debug)]
struct FileRef {
    /// Its root, in `Suite::roots`.
    root: usize,
    path: PathBuf,
    digest: u64,
}

/// Every case of a run, sorted by name, with what compiles each again.
#[derive(Debug, Default)]
pub struct Suite {
    /// The cases.
    pub cases: Vec<CaseRef>,
    /// How many case files they came from.
    pub files: usize,
    /// What the walk skipped, with why.
    pub skipped: Vec<Diagnostic>,
    file_refs: Vec<FileRef>,
    /// The folders names are taken from (a suite has one or a few).
    roots: Vec<PathBuf>,
    states: Vec<String>,
}

thread_local! {
    /// The last file this thread compiled for a case, with the plans of its other cases:
    /// a file's cases often run one after another.
    static LAST: RefCell<Option<(u64, Vec<Option<CasePlan>>)>> = const { RefCell::new(None) };
}

impl Suite {
    /// Loads and checks every case file under `roots`; `exercised` keeps what each case
    /// exercises, for a coverage matrix.
    pub fn load(roots: &[PathBuf], simulator_states: &[&str], exercised: bool) -> Result<Suite, Vec<Diagnostic>> {
        let mut suite =
            Suite { states: simulator_states.iter().map(|s| (*s).to_owned()).collect(), ..Suite::default() };
        let (files, skipped) = check(roots, simulator_states, |root, i, file| {
            if suite.roots.last().is_none_or(|r| r != root) {
                suite.roots.push(root.to_path_buf());
            }
            let root = suite.roots.len() - 1;
            suite.file_refs.push(FileRef { root, path: file.path, digest: file.digest });
            for (index, case) in file.cases.into_iter().enumerate() {
                let Some(plan) = case.plan else { continue };
                let exercised = if exercised { Exercised::of(&plan) } else { Vec::new() };
                suite.cases.push(CaseRef {
                    name: case.name,
                    locks: plan.locks,
                    areas: plan.areas,
                    sign_in: plan.sign_in,
                    exercised,
                    file: i,
                    index,
                });
            }
        })?;
        suite.files = files;
        suite.skipped = skipped;
        suite.cases.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(suite)
    }

    /// The plan of a case: its file compiled again (or the plan this thread kept from compiling
    /// it for another of its cases).
    pub fn plan(&self, case: &CaseRef) -> Result<CasePlan, String> {
        let file = self.file_refs.get(case.file).ok_or_else(|| format!("{} has no file", case.name))?;
        let key = file.digest ^ (case.file as u64).rotate_left(32);
        let cached = LAST.with(|last| {
            let mut last = last.borrow_mut();
            match last.as_mut() {
                Some((k, plans)) if *k == key => plans.get_mut(case.index).and_then(Option::take),
                _ => None,
            }
        });
        if let Some(plan) = cached {
            return Ok(plan);
        }
        let changed = || format!("{} changed since it was checked; run again", file.path.display());
        let states: Vec<&str> = self.states.iter().map(String::as_str).collect();
        let root = self.roots.get(file.root).ok_or_else(changed)?;
        let compiled = compile_file(root, &file.path, &states).map_err(|_| changed())?;
        if compiled.digest != file.digest || !compiled.diags.is_empty() {
            return Err(changed());
        }
        let mut plans: Vec<Option<CasePlan>> = compiled.cases.into_iter().map(|c| c.plan).collect();
        let plan = plans.get_mut(case.index).and_then(Option::take).ok_or_else(changed)?;
        LAST.with(|last| *last.borrow_mut() = Some((key, plans)));
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "endpoint: X\ncases:\n  - name: a\n    summary: s\n    effect: read\n    steps:\n      - request: { method: GET, path: X }\n        expect: { status: 200 }\n  - name: b\n    summary: s\n    effect: read\n    steps:\n      - request: { method: GET, path: Y }\n";

    #[test]
    fn a_case_is_compiled_again_from_the_file_checked_and_never_from_another() {
        let dir = tempfile::tempdir().expect("temp");
        std::fs::write(dir.path().join("t.yaml"), FILE).expect("write");
        let suite = Suite::load(&[dir.path().to_path_buf()], &[], true).expect("valid");
        let names: Vec<&str> = suite.cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["t::a", "t::b"]);
        assert_eq!(suite.cases[0].exercised[0].asserted, ["200"]);
        let b = suite.plan(&suite.cases[1]).expect("compiles");
        assert_eq!((b.name.as_str(), b.steps[0].request.route.as_str()), ("t::b", "Y"));
        let a = suite.plan(&suite.cases[0]).expect("compiles, from this thread's last file");
        assert_eq!(a.name, "t::a");
        std::fs::write(dir.path().join("t.yaml"), FILE.replace("path: X", "path: Z")).expect("write");
        LAST.with(|l| *l.borrow_mut() = None);
        let e = suite.plan(&suite.cases[0]).expect_err("the file changed");
        assert!(e.contains("changed since it was checked"), "{e}");
    }
}
