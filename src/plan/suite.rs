//! A run's cases. Every file is checked when the suite is loaded (every problem of every file
//! is reported before anything runs). When the suite's files come to at most [`KEPT_TEXT`]
//! bytes (the shipped suite is 0.8 MB), the plans that check compiles are kept for the run and
//! each case is parsed once. A larger suite keeps none: of each case only its name, file and
//! what it needs, and its plan is compiled again from its file when the case starts
//! ([`Suite::plan`]). Every plan is dropped when its case ends. All or none, because a suite
//! that kept the plans of its first files would hold them on top of what compiling the others
//! takes: memory would rise with the suite up to the budget and step up past it. So a larger
//! suite holds a handful of plans however many cases it has, and its memory grows with it by
//! about fifty bytes a case (four numbers; of each file its path, end to end with the others
//! in a [`crate::strings::Paths`], and a digest). A case's name is written when it is needed,
//! from its file's path and its own name, which the suite keeps once however many files use
//! it. Whether plans are kept is decided from the sizes the walk saw, before any file is read,
//! so a plan not kept is dropped by the thread that made it (handed to the loading thread and
//! freed there while the compiling threads went on, the plans of a 20,000-case suite left 0.7
//! MB more resident for the whole run).
//!
//! A file compiled again must be the one checked (a digest of its text is kept), or the case
//! fails instead of running something that was never validated.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use super::compile::{Checked, CompiledFile, Found, check, compile_file};
use super::{CasePlan, Lock, SignIn};
use crate::case::Diagnostic;

/// One case of a suite, before its plan is needed. A run keeps one for each case of the suite,
/// so it is small: its name is its file's path and its own name (one of the suite's distinct
/// case names), and what it needs (locks, areas, sign-ins) is one of the suite's few distinct
/// [`Needs`].
#[derive(Debug, Clone, Copy)]
pub struct CaseRef {
    /// Its own name, in the suite's distinct case names.
    pub(super) name: u32,
    /// Its file, in the suite's paths.
    pub(super) file: u32,
    /// Its place in its file.
    pub(super) index: u32,
    /// What it needs, in `Suite::needs`.
    pub(super) needs: u32,
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

/// The most bytes of case files a suite keeps the plans of from its check: a suite whose files
/// come to more keeps none, and each case's file is compiled again when the case starts. A
/// plan takes a few times its text (2.5 KB for a two-step case written in 470 bytes), so the
/// kept plans stay within a few megabytes.
pub const KEPT_TEXT: u64 = 1024 * 1024;

/// The plans the check compiled of one file of a suite within [`KEPT_TEXT`], by case; each is
/// taken by the case that runs it.
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
    /// The files' paths, the folders they were found in, and the cases' own names.
    index: Checked,
    /// What the cases need, each once.
    needs: Vec<Needs>,
    /// What each case exercises, by file and place in it, when the suite was loaded with it.
    exercised: Vec<Box<[Box<[Exercised]>]>>,
    /// A digest of each file's text, by file.
    digests: Vec<u64>,
    /// The plans of the first files, by file.
    kept: Vec<Kept>,
    states: Vec<String>,
}

/// What the suite keeps of a file, made on the thread that compiled it: its digest, of each
/// case what it needs and (when asked) what it exercises, and its plans when they are kept.
struct FileMade {
    digest: u64,
    cases: Vec<Option<CaseMade>>,
    kept: Option<Box<[Option<Box<CasePlan>>]>>,
}

/// Of a case whose plan compiled: what it needs, and what it exercises (when asked).
type CaseMade = (Needs, Option<Box<[Exercised]>>);

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

    /// Checks every case file under `roots` as [`Suite::load`] does, keeping no plan.
    pub fn check(roots: &[PathBuf], simulator_states: &[&str]) -> Result<Suite, Vec<Diagnostic>> {
        Suite::load_keeping(roots, simulator_states, false, 0)
    }

    /// [`Suite::load`], keeping every plan when the case files come to at most `budget` bytes,
    /// and none otherwise.
    fn load_keeping(
        roots: &[PathBuf],
        simulator_states: &[&str],
        want_exercised: bool,
        budget: u64,
    ) -> Result<Suite, Vec<Diagnostic>> {
        let mut suite =
            Suite { states: simulator_states.iter().map(|s| (*s).to_owned()).collect(), ..Suite::default() };
        // All or none: a suite that keeps some of its plans holds them on top of what compiling
        // the others again takes, so its memory would grow with the suite up to the budget and
        // step up past it. Decided from the walk, before any file is read, so a plan not kept
        // is dropped by the thread that made it.
        let found = Found::walk(roots);
        let keep = found.bytes() <= budget;
        let make = |file: CompiledFile| {
            let mut made = FileMade { digest: file.digest, cases: Vec::with_capacity(file.cases.len()), kept: None };
            let mut kept = Vec::with_capacity(if keep { file.cases.len() } else { 0 });
            for case in file.cases {
                let plan = case.plan;
                made.cases.push(plan.as_ref().map(|plan| {
                    let needs = Needs {
                        locks: plan.locks.as_slice().into(),
                        areas: plan.areas.as_slice().into(),
                        sign_in: plan.sign_in.as_slice().into(),
                    };
                    (needs, want_exercised.then(|| Exercised::of(plan).into_boxed_slice()))
                }));
                if keep {
                    kept.push(plan.map(Box::new));
                }
            }
            made.kept = keep.then(|| kept.into_boxed_slice());
            made
        };
        let mut distinct: HashMap<Needs, u32> = HashMap::new();
        let checked = check(found, simulator_states, make, |i, total, file: FileMade, tags| {
            if i == 0 {
                // Most files hold one case: the lists are made to size once, not doubled.
                suite.digests.reserve_exact(total);
                if keep {
                    suite.kept.reserve_exact(total);
                }
            }
            let mut exercised = Vec::new();
            for case in file.cases {
                let Some((needs, steps)) = case else {
                    tags.push(0);
                    exercised.push(Box::default());
                    continue;
                };
                let next = u32::try_from(distinct.len()).unwrap_or(u32::MAX);
                tags.push(*distinct.entry(needs).or_insert(next));
                exercised.extend(steps);
            }
            if let Some(kept) = file.kept {
                suite.kept.push(Mutex::new(kept));
            }
            if want_exercised {
                suite.exercised.push(exercised.into_boxed_slice());
            }
            suite.digests.push(file.digest);
        })?;
        suite.files = checked.files;
        suite.index = checked;
        suite.skipped = std::mem::take(&mut suite.index.skipped);
        suite.cases = std::mem::take(&mut suite.index.cases);
        let mut needs: Vec<(Needs, u32)> = distinct.into_iter().collect();
        needs.sort_unstable_by_key(|(_, i)| *i);
        suite.needs = needs.into_iter().map(|(n, _)| n).collect();
        suite.digests.shrink_to_fit();
        suite.kept.shrink_to_fit();
        Ok(suite)
    }

    /// The name of a case of this suite: `<area>::<file>::<case>`.
    pub fn name(&self, case: &CaseRef) -> String {
        let mut name = String::new();
        self.index.name_into(&mut name, case);
        name
    }

    /// [`Suite::name`], written into `out` (cleared first): a run that goes through every
    /// name writes each into one buffer.
    pub fn name_into(&self, out: &mut String, case: &CaseRef) {
        self.index.name_into(out, case);
    }

    /// What a case of this suite needs before it starts.
    pub fn needs(&self, case: &CaseRef) -> &Needs {
        static NONE: std::sync::LazyLock<Needs> = std::sync::LazyLock::new(Needs::default);
        self.needs.get(case.needs as usize).unwrap_or(&NONE)
    }

    /// What a case of this suite exercises, when the suite was loaded with it (else nothing).
    pub fn exercised(&self, case: &CaseRef) -> &[Exercised] {
        let file = self.exercised.get(case.file as usize);
        file.and_then(|f| f.get(case.index as usize)).map_or(&[], |e| &e[..])
    }

    /// The plan of a case: the one its check compiled when the suite kept it, else its file
    /// compiled again (or the plan this thread kept from compiling it for another of its
    /// cases). A kept plan is handed out once.
    pub fn plan(&self, case: &CaseRef) -> Result<CasePlan, String> {
        let index = case.index as usize;
        let digest = *self.digests.get(case.file as usize).ok_or_else(|| format!("{} has no file", self.name(case)))?;
        let kept = self.kept.get(case.file as usize).and_then(|kept| {
            let mut kept = kept.lock().ok()?;
            kept.get_mut(index).and_then(Option::take)
        });
        if let Some(plan) = kept {
            return Ok(*plan);
        }
        let key = digest ^ (case.file as u64).rotate_left(32);
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
        let root = self.index.root(case.file as usize);
        let path = root.join(self.index.paths.get(case.file as usize));
        let changed = || format!("{} changed since it was checked; run again", path.display());
        let states: Vec<&str> = self.states.iter().map(String::as_str).collect();
        let compiled = compile_file(root, &path, &states).map_err(|_| changed())?;
        if compiled.digest != digest || !compiled.diags.is_empty() {
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
        let suite = Suite::load_keeping(&[dir.path().to_path_buf()], &[], true, FILE.len() as u64 - 1).expect("valid");
        LAST.with(|l| *l.borrow_mut() = None);
        let names: Vec<String> = suite.cases.iter().map(|c| suite.name(c)).collect();
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

    #[test]
    fn a_suite_keeps_every_plan_when_its_files_fit_the_budget_and_none_when_they_do_not() {
        // Enough files for the check to compile them on several threads.
        let dir = tempfile::tempdir().expect("temp");
        let text = file_of(&["a", "b"]);
        for i in 0..200 {
            std::fs::write(dir.path().join(format!("f{i:03}.yaml")), &text).expect("write");
        }
        let all = text.len() as u64 * 200;
        for (budget, kept) in [(all, 200), (all - 1, 0), (text.len() as u64 * 70, 0)] {
            let suite = Suite::load_keeping(&[dir.path().to_path_buf()], &[], false, budget).expect("valid");
            assert_eq!(suite.kept.len(), kept, "budget {budget}");
            for (file, plans) in suite.kept.iter().enumerate() {
                let plans = plans.lock().expect("not poisoned");
                let names: Vec<&str> = plans.iter().flatten().map(|p| p.name.as_str()).collect();
                let stem = format!("f{file:03}");
                assert_eq!(names, [format!("{stem}::a"), format!("{stem}::b")], "file {file}: its own plans, in order");
            }
            let names: Vec<String> = suite.cases.iter().map(|c| suite.name(c)).collect();
            assert_eq!(names.len(), 400);
            for case in &suite.cases {
                assert_eq!(suite.plan(case).expect("kept or compiled again").name, suite.name(case));
            }
        }
    }

    /// A case file with cases of these names.
    fn file_of(names: &[&str]) -> String {
        let case = |n: &str| {
            format!(
                "  - name: {n}\n    summary: s\n    effect: read\n    steps:\n      - request: {{ method: GET, path: X }}\n"
            )
        };
        format!("endpoint: X\ncases:\n{}", names.iter().map(|n| case(n)).collect::<String>())
    }

    #[test]
    fn a_suite_names_its_cases_as_their_plans_are_named_and_in_the_same_order() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().expect("temp");
        let root = dir.path();
        // Where a name sorts otherwise than its parts: a folder and a file of one name, a stem
        // that another one starts with (`case-1`, `case-10`: `-1::` after `-10`), cases out of
        // order in their file, a file at the top, a folder's name with `.` and `-`, a path that
        // is not UTF-8.
        let files: [(&[u8], &[&str]); 8] = [
            (b"x.yaml", &["y", "b", "a"]),
            (b"x/y.yaml", &["a", "z"]),
            (b"x/case-1.yaml", &["z"]),
            (b"x/case-10.yaml", &["a"]),
            (b"top.yml", &["ok"]),
            (b"a.b/c-d/e.yaml", &["ok", "ok2"]),
            (b"x-y.yaml", &["ok"]),
            (b"n\xffo/f.yaml", &["ok"]),
        ];
        for (path, names) in files {
            let path = root.join(std::ffi::OsStr::from_bytes(path));
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
            std::fs::write(path, file_of(names)).expect("write");
        }
        let roots = [root.to_path_buf()];
        let plans = super::super::compile::compile(&roots, &[]).expect("valid");
        let planned: Vec<&str> = plans.cases.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(planned.len(), 12);
        // The plans' own names, sorted as strings: the order the check's sort must give.
        let mut sorted = planned.clone();
        sorted.sort_unstable();
        assert_eq!(planned, sorted);
        for budget in [KEPT_TEXT, 0] {
            let suite = Suite::load_keeping(&roots, &[], false, budget).expect("valid");
            let names: Vec<String> = suite.cases.iter().map(|c| suite.name(c)).collect();
            assert_eq!(names, planned, "budget {budget}");
            for case in &suite.cases {
                assert_eq!(suite.plan(case).expect("compiles").name, suite.name(case));
            }
        }
    }
}
