//! A run's cases. Every file is checked when the suite is loaded (every problem of every file
//! is reported before anything runs); the plans that check compiles are kept up to a budget
//! ([`KEPT_TEXT`] bytes of case files), and beyond it only each case's name, file and what it
//! needs are kept: such a case's plan is compiled again from its file when the case starts
//! ([`Suite::plan`]). Every plan is dropped when its case ends. So a suite within the budget
//! (the shipped one is 0.8 MB) is parsed once, and a larger one holds the budget's plans and a
//! handful more, however many cases it has: its memory grows with the suite by about a
//! hundred bytes a case (its name and its file's path end to end in [`Strings`], four
//! numbers, a digest).
//!
//! A file compiled again must be the one checked (a digest of its text is kept), or the case
//! fails instead of running something that was never validated.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use super::compile::{check, compile_file};
use super::{CasePlan, Lock, SignIn};
use crate::case::Diagnostic;
use crate::strings::{Paths, Strings};

/// One case of a suite, before its plan is needed. A run keeps one for each case of the suite,
/// so it is small: its name is in the suite's [`Strings`], and what it needs (locks, areas,
/// sign-ins) is one of the suite's few distinct [`Needs`].
#[derive(Debug, Clone, Copy)]
pub struct CaseRef {
    /// Its name, in `Suite::names` (also its place in loading order).
    name: u32,
    /// Its file, in `Suite::file_refs`.
    file: u32,
    /// Its place in its file.
    index: u32,
    /// What it needs, in `Suite::needs`.
    needs: u32,
}

/// What a case needs of a run before it starts: the locks it holds while it runs, the
/// catalog's areas it calls (which a preflight probes before the cases run) and the sign-ins
/// it needs (which a preflight tries once). A suite keeps each distinct one once: it has a few,
/// however many cases it has.
#[derive(Debug, Default, PartialEq, Eq, Hash)]
pub struct Needs {
    /// The locks.
    pub locks: Box<[Lock]>,
    /// The areas.
    pub areas: Box<[&'static str]>,
    /// The sign-ins.
    pub sign_in: Box<[SignIn]>,
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

/// How many bytes of case files a suite keeps the plans of from its check. A plan takes a few
/// times its text (3.2 KB for a two-step case written in 470 bytes), so the kept plans stay
/// within a few megabytes. Beyond it a case's file is compiled again when the case starts.
pub const KEPT_TEXT: usize = 1024 * 1024;

#[derive(Debug)]
struct FileRef {
    /// Its root, in `Suite::roots`.
    root: u32,
    digest: u64,
}

/// The plans the check compiled of one of the suite's first files (those within
/// [`KEPT_TEXT`]), by case; each is taken by the case that runs it.
type Kept = Mutex<Box<[Option<Box<CasePlan>>]>>;

/// Every case of a run, sorted by name, with what compiles each again.
#[derive(Debug, Default)]
pub struct Suite {
    /// The cases.
    pub cases: Vec<CaseRef>,
    /// How many case files they came from.
    pub files: usize,
    /// What the walk skipped, with why.
    pub skipped: Vec<Diagnostic>,
    /// Every case's name, in loading order.
    names: Strings,
    /// What the cases need, each once.
    needs: Vec<Needs>,
    /// What each case exercises, in loading order, when the suite was loaded with it.
    exercised: Vec<Box<[Exercised]>>,
    file_refs: Vec<FileRef>,
    /// Each file's path below its root.
    paths: Paths,
    /// The plans of the first files, by file.
    kept: Vec<Kept>,
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
        Suite::load_keeping(roots, simulator_states, exercised, KEPT_TEXT)
    }

    /// [`Suite::load`], keeping the plans of the first `budget` bytes of case files.
    fn load_keeping(
        roots: &[PathBuf],
        simulator_states: &[&str],
        exercised: bool,
        budget: usize,
    ) -> Result<Suite, Vec<Diagnostic>> {
        let mut suite =
            Suite { states: simulator_states.iter().map(|s| (*s).to_owned()).collect(), ..Suite::default() };
        let (mut kept_text, mut keeping) = (0, true);
        let mut distinct: HashMap<Needs, u32> = HashMap::new();
        let mut loaded = 0;
        let checked = check(roots, simulator_states, |root, i, total, file| {
            if i == 0 {
                // Most files hold one case: the lists are made to size once, not doubled.
                suite.cases.reserve(total);
                suite.file_refs.reserve_exact(total);
            }
            if suite.roots.last().is_none_or(|r| r != root) {
                suite.roots.push(root.to_path_buf());
            }
            // The first files, as long as they fit: so a file's plans are kept or not by its
            // index.
            keeping &= kept_text + file.size <= budget;
            kept_text += file.size;
            let mut kept = Vec::new();
            let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            for (index, case) in file.cases.into_iter().enumerate() {
                // Names are numbered as the check lists them: every case of every file.
                let name = at(loaded);
                loaded += 1;
                let Some(plan) = case.plan else {
                    kept.push(None);
                    if exercised {
                        suite.exercised.push(Box::default());
                    }
                    continue;
                };
                let needs = Needs {
                    locks: plan.locks.as_slice().into(),
                    areas: plan.areas.as_slice().into(),
                    sign_in: plan.sign_in.as_slice().into(),
                };
                let next = at(distinct.len());
                let needs = *distinct.entry(needs).or_insert(next);
                suite.cases.push(CaseRef { name, file: at(i), index: at(index), needs });
                if exercised {
                    suite.exercised.push(Exercised::of(&plan).into());
                }
                kept.push(keeping.then(|| Box::new(plan)));
            }
            if keeping {
                suite.kept.push(Mutex::new(kept.into_boxed_slice()));
            }
            suite.file_refs.push(FileRef { root: at(suite.roots.len() - 1), digest: file.digest });
        })?;
        suite.files = checked.files;
        suite.skipped = checked.skipped;
        suite.names = checked.names;
        suite.paths = checked.paths;
        let mut needs: Vec<(Needs, u32)> = distinct.into_iter().collect();
        needs.sort_unstable_by_key(|(_, i)| *i);
        suite.needs = needs.into_iter().map(|(n, _)| n).collect();
        // Names are unique (the check refuses two alike): no stable sort's buffer is needed.
        let names = &suite.names;
        suite.cases.sort_unstable_by(|a, b| names.get(a.name as usize).cmp(names.get(b.name as usize)));
        suite.cases.shrink_to_fit();
        suite.file_refs.shrink_to_fit();
        suite.kept.shrink_to_fit();
        Ok(suite)
    }

    /// The name of a case of this suite: `<area>::<file>::<case>`.
    pub fn name(&self, case: &CaseRef) -> &str {
        self.names.get(case.name as usize)
    }

    /// What a case of this suite needs before it starts.
    pub fn needs(&self, case: &CaseRef) -> &Needs {
        static NONE: std::sync::LazyLock<Needs> = std::sync::LazyLock::new(Needs::default);
        self.needs.get(case.needs as usize).unwrap_or(&NONE)
    }

    /// What a case of this suite exercises, when the suite was loaded with it (else nothing).
    pub fn exercised(&self, case: &CaseRef) -> &[Exercised] {
        self.exercised.get(case.name as usize).map_or(&[], |e| &e[..])
    }

    /// The plan of a case: the one its check compiled when the suite kept it, else its file
    /// compiled again (or the plan this thread kept from compiling it for another of its
    /// cases). A kept plan is handed out once.
    pub fn plan(&self, case: &CaseRef) -> Result<CasePlan, String> {
        let index = case.index as usize;
        let name = self.name(case);
        let file = self.file_refs.get(case.file as usize).ok_or_else(|| format!("{name} has no file"))?;
        let kept = self.kept.get(case.file as usize).and_then(|kept| {
            let mut kept = kept.lock().ok()?;
            kept.get_mut(index).and_then(Option::take)
        });
        if let Some(plan) = kept {
            return Ok(*plan);
        }
        let key = file.digest ^ (case.file as u64).rotate_left(32);
        let cached = LAST.with(|last| {
            let mut last = last.borrow_mut();
            match last.as_mut() {
                Some((k, plans)) if *k == key => plans.get_mut(index).and_then(Option::take),
                _ => None,
            }
        });
        if let Some(plan) = cached {
            return Ok(plan);
        }
        let root = self.roots.get(file.root as usize).ok_or_else(|| format!("{name} has no folder"))?;
        let path = root.join(self.paths.get(case.file as usize));
        let changed = || format!("{} changed since it was checked; run again", path.display());
        let states: Vec<&str> = self.states.iter().map(String::as_str).collect();
        let compiled = compile_file(root, &path, &states).map_err(|_| changed())?;
        if compiled.digest != file.digest || !compiled.diags.is_empty() {
            return Err(changed());
        }
        let mut plans: Vec<Option<CasePlan>> = compiled.cases.into_iter().map(|c| c.plan).collect();
        let plan = plans.get_mut(index).and_then(Option::take).ok_or_else(changed)?;
        LAST.with(|last| *last.borrow_mut() = Some((key, plans)));
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "endpoint: X\ncases:\n  - name: a\n    summary: s\n    effect: read\n    steps:\n      - request: { method: GET, path: X }\n        expect: { status: 200 }\n  - name: b\n    summary: s\n    effect: read\n    steps:\n      - request: { method: GET, path: Y }\n";

    #[test]
    fn a_kept_plan_is_the_one_checked_and_is_handed_out_once() {
        let dir = tempfile::tempdir().expect("temp");
        std::fs::write(dir.path().join("t.yaml"), FILE).expect("write");
        let suite = Suite::load(&[dir.path().to_path_buf()], &[], false).expect("valid");
        // The file changes after the check: a kept plan is still the checked one.
        std::fs::write(dir.path().join("t.yaml"), FILE.replace("path: X", "path: Z")).expect("write");
        LAST.with(|l| *l.borrow_mut() = None);
        let a = suite.plan(&suite.cases[0]).expect("kept");
        assert_eq!((a.name.as_str(), a.steps[0].request.route.as_str()), ("t::a", "X"));
        let e = suite.plan(&suite.cases[0]).expect_err("taken: compiled again, from the changed file");
        assert!(e.contains("changed since it was checked"), "{e}");
        let b = suite.plan(&suite.cases[1]).expect("kept, although this thread compiled the file since");
        assert_eq!(b.steps[0].request.route, "Y");
    }

    #[test]
    fn a_case_beyond_the_budget_is_compiled_again_from_the_file_checked_and_never_from_another() {
        let dir = tempfile::tempdir().expect("temp");
        std::fs::write(dir.path().join("t.yaml"), FILE).expect("write");
        let suite = Suite::load_keeping(&[dir.path().to_path_buf()], &[], true, FILE.len() - 1).expect("valid");
        LAST.with(|l| *l.borrow_mut() = None);
        let names: Vec<&str> = suite.cases.iter().map(|c| suite.name(c)).collect();
        assert_eq!(names, ["t::a", "t::b"]);
        assert_eq!(suite.exercised(&suite.cases[0])[0].asserted, ["200"]);
        let b = suite.plan(&suite.cases[1]).expect("compiles");
        assert_eq!((b.name.as_str(), b.steps[0].request.route.as_str()), ("t::b", "Y"));
        let a = suite.plan(&suite.cases[0]).expect("compiles, from this thread's last file");
        assert_eq!(a.name, "t::a");
        std::fs::write(dir.path().join("t.yaml"), FILE.replace("path: X", "path: Z")).expect("write");
        LAST.with(|l| *l.borrow_mut() = None);
        let e = suite.plan(&suite.cases[0]).expect_err("the file changed");
        assert!(e.contains("changed since it was checked"), "{e}");
        let e = suite.plan(&suite.cases[1]).expect_err("b was never kept either");
        assert!(e.contains("changed since it was checked"), "{e}");
    }
}
