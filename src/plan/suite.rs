//! A run's cases. Every file is checked when the suite is loaded (every problem of every file
//! is reported before anything runs). When the suite's files come to at most [`KEPT_TEXT`]
//! bytes (the shipped suite is 0.8 MB), the plans that check compiles are kept for the run and
//! each case is parsed once. A larger suite keeps none: of each case only its name, file and
//! what it needs, and its plan is compiled again from its file when the case starts
//! ([`Suite::plan`]; a run of every case compiles [`AHEAD`] files at a time, [`Plans`]). Every
//! plan is dropped when its case ends. All or none, because a suite
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
use std::ops::Range;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};

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
        let mut compiled = self.compile_again(case.file);
        let plan = take_plan(&mut compiled, index, || self.changed(case.file))?;
        if let Ok(plans) = compiled {
            LAST.with(|last| *last.borrow_mut() = Some((key, plans)));
        }
        Ok(plan)
    }

    /// The plans of a file compiled again, by case: an error when the file is not the one
    /// checked.
    fn compile_again(&self, file: u32) -> Compiled {
        let digest = self.digests.get(file as usize).copied();
        let root = self.index.root(file as usize);
        let path = root.join(self.index.paths.get(file as usize));
        let states: Vec<&str> = self.states.iter().map(String::as_str).collect();
        let compiled = compile_file(root, &path, &states).map_err(|_| self.changed(file))?;
        if Some(compiled.digest) != digest || !compiled.diags.is_empty() {
            return Err(self.changed(file));
        }
        Ok(compiled.cases.into_iter().map(|c| c.plan).collect())
    }

    /// Why a case of `file` cannot run: the file is not the one checked.
    fn changed(&self, file: u32) -> String {
        let path = self.index.root(file as usize).join(self.index.paths.get(file as usize));
        format!("{} changed since it was checked; run again", path.display())
    }
}

/// A file compiled again: its plans by case, or why it is not the file checked.
type Compiled = Result<Vec<Option<CasePlan>>, String>;

/// The plan of the case at `index` of a file compiled again, taken: `changed` says why there is
/// none when the file compiled without it.
fn take_plan(compiled: &mut Compiled, index: usize, changed: impl FnOnce() -> String) -> Result<CasePlan, String> {
    match compiled {
        Ok(plans) => plans.get_mut(index).and_then(Option::take).ok_or_else(changed),
        Err(why) => Err(why.clone()),
    }
}

/// Files compiled again ahead of their cases, in a batch: a test thread that compiles one file
/// between two cases' HTTP takes about twice the CPU the check takes for it (its caches hold
/// the HTTP code, not the parser's), so the first case of a batch compiles the next
/// [`AHEAD`] files at once and leaves their plans for the cases that need them.
pub const AHEAD: u32 = 16;

/// Where a run's cases take their plans: the plans the suite kept, else their files compiled
/// again, [`AHEAD`] at a time when the run takes every case (a filtered run compiles only the
/// files of the cases it runs, one at a time). Made for one run: plans compiled ahead and not
/// taken (a stopped run) are dropped with it.
pub struct Plans<'a> {
    suite: &'a Suite,
    /// `None` when files are compiled one at a time.
    ahead: Option<Mutex<Ahead>>,
    /// A batch put a file's plans in `ahead`.
    ready: Condvar,
}

/// The files compiled ahead.
#[derive(Default)]
struct Ahead {
    /// The first file no batch has claimed; a case whose file is at or past it claims a batch.
    frontier: u32,
    /// The batches being compiled, as ranges of files.
    busy: Vec<Range<u32>>,
    /// Files compiled ahead whose plans are not all taken, by file.
    files: HashMap<u32, Compiled>,
    /// Cases waiting for a batch: a batch wakes them only when there are some (waking is a
    /// system call).
    waiting: u32,
}

impl Ahead {
    /// The plan of a case of `file` compiled ahead, taken (a file is dropped once every plan of
    /// it is taken).
    fn take(&mut self, file: u32, index: usize, changed: impl FnOnce() -> String) -> Option<Result<CasePlan, String>> {
        let entry = self.files.get_mut(&file)?;
        let plan = take_plan(entry, index, changed);
        if entry.as_ref().is_ok_and(|plans| plans.iter().all(Option::is_none)) {
            self.files.remove(&file);
        }
        Some(plan)
    }
}

impl Suite {
    /// Where a run's cases take their plans; `every_case` when the run takes every case of the
    /// suite, so files can be compiled ahead of their cases.
    pub fn plans(&self, every_case: bool) -> Plans<'_> {
        let ahead = (every_case && self.kept.is_empty()).then(|| Mutex::new(Ahead::default()));
        Plans { suite: self, ahead, ready: Condvar::new() }
    }
}

impl Plans<'_> {
    /// The plan of a case, taken once: see [`Suite::plan`]. Files compiled ahead are taken from
    /// the batch that compiled them (waiting for it when it has not reached the file yet);
    /// a case whose file no batch has claimed claims it and the next files.
    pub fn take(&self, case: &CaseRef) -> Result<CasePlan, String> {
        let suite = self.suite;
        let (file, index) = (case.file, case.index as usize);
        let Some(ahead) = self.ahead.as_ref().filter(|_| (file as usize) < suite.digests.len()) else {
            return suite.plan(case);
        };
        let changed = || suite.changed(file);
        // A poisoned lock (a batch panicked): the case compiles its own file, as without batches.
        let Ok(mut state) = ahead.lock() else { return suite.plan(case) };
        let batch = loop {
            if let Some(plan) = state.take(file, index, changed) {
                return plan;
            }
            if file >= state.frontier {
                let end = file.saturating_add(AHEAD).min(u32::try_from(suite.digests.len()).unwrap_or(u32::MAX));
                state.frontier = end;
                state.busy.push(file..end);
                break file..end;
            }
            // Claimed by a batch still compiling it: wait for it. Behind the frontier and in no
            // batch (one started past it, as cases out of file order make it): compile it here.
            if !state.busy.iter().any(|b| b.contains(&file)) {
                drop(state);
                return suite.plan(case);
            }
            state.waiting += 1;
            state = match self.ready.wait(state) {
                Ok(state) => state,
                Err(_) => return suite.plan(case),
            };
            state.waiting -= 1;
        };
        drop(state);
        // Ends the batch when it is done, or if compiling panics: a case waiting for one of
        // its files then compiles the file itself instead of waiting for ever.
        let claim = Claim { ahead, ready: &self.ready, batch: batch.clone() };
        let mut own = None;
        for f in batch {
            let mut compiled = suite.compile_again(f);
            if f == file {
                own = Some(take_plan(&mut compiled, index, changed));
            }
            if !matches!(&compiled, Ok(plans) if plans.iter().all(Option::is_none))
                && let Ok(mut state) = ahead.lock()
            {
                state.files.insert(f, compiled);
                if state.waiting > 0 {
                    self.ready.notify_all();
                }
            }
        }
        drop(claim);
        own.unwrap_or_else(|| Err(changed()))
    }
}

/// A batch being compiled, ended when dropped.
struct Claim<'a> {
    ahead: &'a Mutex<Ahead>,
    ready: &'a Condvar,
    batch: Range<u32>,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut state = self.ahead.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.busy.retain(|b| *b != self.batch);
        if state.waiting > 0 {
            self.ready.notify_all();
        }
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
        let dir = folder_of(200, |_| &["a", "b"]);
        let text = file_of(&["a", "b"]);
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

    #[test]
    fn a_run_of_every_case_takes_each_plan_once_from_files_compiled_ahead() {
        let dir = folder_of(100, |i| if i % 3 == 0 { &["a", "b"] } else { &["a"] });
        let suite = Suite::load_keeping(&[dir.path().to_path_buf()], &[], false, 0).expect("valid");
        assert!(suite.kept.is_empty());
        let plans = suite.plans(true);
        // The first case compiles its file and the next ones.
        let first = plans.take(&suite.cases[0]).expect("compiles");
        assert_eq!(first.name, suite.name(&suite.cases[0]));
        let ahead = |plans: &Plans| plans.ahead.as_ref().map(|a| a.lock().expect("not poisoned").files.len());
        // Its file's other case and the rest of its batch wait for their cases.
        assert_eq!(ahead(&plans), Some(AHEAD as usize), "f000 (for `b`) and 15 more files");
        // Every other case, on four threads taking them in order as a run's workers do.
        let next = std::sync::atomic::AtomicUsize::new(1);
        let taken = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    while let Some(case) = suite.cases.get(next.fetch_add(1, std::sync::atomic::Ordering::SeqCst)) {
                        let plan = plans.take(case).expect("compiles");
                        assert_eq!(plan.name, suite.name(case), "its own plan");
                        taken.lock().expect("not poisoned").push(plan.name);
                    }
                });
            }
        });
        let mut taken = taken.into_inner().expect("not poisoned");
        taken.sort_unstable();
        taken.dedup();
        assert_eq!(taken.len(), suite.cases.len() - 1, "each plan once");
        assert_eq!(ahead(&plans), Some(0), "nothing compiled ahead is left over");
        // A filtered run compiles only the files of the cases it runs.
        assert!(suite.plans(false).ahead.is_none());
    }

    #[test]
    fn a_case_out_of_batch_order_or_of_a_changed_file_is_still_told_apart() {
        let dir = folder_of(40, |_| &["a"]);
        let suite = Suite::load_keeping(&[dir.path().to_path_buf()], &[], false, 0).expect("valid");
        std::fs::write(dir.path().join("f003.yaml"), file_of(&["a", "b"])).expect("write");
        LAST.with(|l| *l.borrow_mut() = None);
        let plans = suite.plans(true);
        // A case far ahead claims its batch first: the files before it were never claimed and
        // are compiled one at a time when their cases come.
        assert_eq!(plans.take(&suite.cases[30]).expect("compiles").name, "f030::a");
        assert_eq!(plans.take(&suite.cases[2]).expect("compiles on its own").name, "f002::a");
        let e = plans.take(&suite.cases[3]).expect_err("changed since the check");
        assert!(e.contains("f003.yaml changed since it was checked"), "{e}");
        // A batch holding the changed file.
        let plans = suite.plans(true);
        assert_eq!(plans.take(&suite.cases[0]).expect("compiles").name, "f000::a");
        let e = plans.take(&suite.cases[3]).expect_err("changed since the check, compiled ahead");
        assert!(e.contains("f003.yaml changed since it was checked"), "{e}");
        assert_eq!(plans.take(&suite.cases[4]).expect("compiled ahead").name, "f004::a");
    }

    #[test]
    fn a_case_waiting_for_a_batch_that_ends_without_its_file_compiles_it_itself() {
        // What a batch that panicked leaves: its range claimed, its files never put in.
        let dir = folder_of(20, |_| &["a"]);
        let suite = Suite::load_keeping(&[dir.path().to_path_buf()], &[], false, 0).expect("valid");
        let plans = suite.plans(true);
        let ahead = plans.ahead.as_ref().expect("compiles ahead");
        {
            let mut state = ahead.lock().expect("not poisoned");
            state.frontier = AHEAD;
            state.busy.push(0..AHEAD);
        }
        std::thread::scope(|scope| {
            let waiting = scope.spawn(|| plans.take(&suite.cases[3]).map(|p| p.name));
            std::thread::sleep(std::time::Duration::from_millis(50));
            assert!(!waiting.is_finished(), "it waits for the batch");
            drop(Claim { ahead, ready: &plans.ready, batch: 0..AHEAD });
            assert_eq!(waiting.join().expect("no panic"), Ok("f003::a".to_owned()), "then compiles its own file");
        });
    }

    /// A folder of `count` case files, `f000.yaml` on, the `i`th with cases named `names(i)`.
    fn folder_of(count: usize, names: impl Fn(usize) -> &'static [&'static str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp");
        for i in 0..count {
            std::fs::write(dir.path().join(format!("f{i:03}.yaml")), file_of(names(i))).expect("write");
        }
        dir
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
