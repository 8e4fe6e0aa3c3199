//! Spec → plan. Every check the YAML grammar cannot express is made here, on every file,
//! before any request is sent, and every problem is reported with its `file:line:col`:
//! names, variables in scope, templates (the same way in every field), regexes (within their
//! size limits), JSONPaths, durations (within their ranges), header values, settings,
//! simulator states, credentials a case file must not spell, and (in `effect`) what each step
//! does to the target and what a credential release must look like.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;

use super::check::{CaptureFrom, CapturePlan, Check, CookieMatcher, PathMatcher, PathPlan, Pattern, Test, TextMatcher};
use super::suite::CaseRef;
use super::template::{BUILTINS, Template, ValueTemplate};
use super::{AuthPlan, BodyPlan, CasePlan, Plan, Poll, PwdPlan, RequestPlan, StepPlan};
use crate::case::diagnostic::{Diagnostic, closest};
use crate::case::load::{self, CaseFile, Discovered, discover, load_file, write_trial_name};
use crate::case::spec::{AuthSpec, BodyCheck, BodySpec, CaseSpec, ExpectSpec, PwdSpec, Spanned, StepSpec};
use crate::result::{Family, Span};
use crate::secret::FieldPolicy;
use crate::settings::{DERIVED, SETTINGS, Settings};
use crate::shape::StringFormat;
use crate::strings::{Paths, Strings};

/// The longest `wait:` a step may ask for.
pub const MAX_WAIT: Duration = Duration::from_secs(10 * 60);
/// The longest `poll: interval`.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The most `poll: attempts`.
pub const MAX_POLL_ATTEMPTS: u32 = 100;

/// Loads and compiles every case file under `roots` (folders or single files). Returns the
/// plan, or every problem of every file.
pub fn compile(roots: &[PathBuf], simulator_states: &[&str]) -> Result<Plan, Vec<Diagnostic>> {
    compile_with(roots, simulator_states, |plan| plan)
}

/// [`compile()`], keeping of each case only what `each` makes of its plan as it is compiled
/// (a listing of a large suite holds its lines, not every plan). `each` runs on the threads
/// that compile the files, so a plan is dropped where it was made. By case name.
pub fn compile_with<T: Send>(
    roots: &[PathBuf],
    simulator_states: &[&str],
    each: impl Fn(CasePlan) -> T + Sync,
) -> Result<Plan<T>, Vec<Diagnostic>> {
    let mut made: Vec<Option<T>> = Vec::new();
    let checked = check(
        Found::walk(roots),
        simulator_states,
        |file| file.cases.into_iter().map(|case| case.plan.map(&each)).collect::<Vec<_>>(),
        |_, _, file, tags| {
            for case in file {
                // Tagged with where its item is, to be put in name order after the check.
                tags.push(u32::try_from(made.len()).unwrap_or(u32::MAX));
                made.push(case);
            }
        },
    )?;
    let cases = checked.cases.iter().filter_map(|c| made.get_mut(c.needs as usize).and_then(Option::take)).collect();
    Ok(Plan { cases, files: checked.files, skipped: checked.skipped })
}

/// What [`check`] found, when every file is valid: how many files there were, what the walk
/// skipped, every file's path, every case sorted by trial name, and each distinct case name
/// once. A suite keeps these as they are: a case's full name is written from its file's path
/// and its own name when it is needed ([`write_trial_name`]).
#[derive(Debug, Default)]
pub(super) struct Checked {
    pub(super) files: usize,
    pub(super) skipped: Vec<Diagnostic>,
    /// Each file's path below the folder its names are taken from (handed to `keep` with it),
    /// or as found when it is not below it.
    pub(super) paths: Paths,
    /// Where each root's files start in `paths`, with the folder their names are taken from.
    pub(super) roots: Vec<(usize, PathBuf)>,
    /// Every case, by trial name; its `needs` is what `keep` tagged it with.
    pub(super) cases: Vec<CaseRef>,
    /// The cases' own names (`name:` in the file), each once.
    pub(super) case_names: Strings,
}

impl Checked {
    /// The folder the names of the file at `file` (an index in `paths`) are taken from.
    pub(super) fn root(&self, file: usize) -> &Path {
        self.roots.iter().rev().find(|(start, _)| *start <= file).map_or(Path::new(""), |(_, root)| root.as_path())
    }

    /// Writes a case's trial name into `out`, which it clears first.
    pub(super) fn name_into(&self, out: &mut String, case: &CaseRef) {
        out.clear();
        write_trial_name(out, self.paths.get(case.file as usize), self.case_names.get(case.name as usize));
    }
}

/// Loads and compiles every case file `found` and checks trial names across files.
/// Returns what it found, or every problem of every file. Files are compiled on up to one
/// thread per core, where `make` turns each valid file into what the caller keeps of it (so a
/// plan not kept is dropped on the thread that made it), and streamed back: `keep` is handed
/// each one in file order (with its index and how many files there are) and a list to tag
/// each of its cases with a number in (what it needs, for a suite). A large suite holds only
/// the files in flight at once and, of every file, its path and, of each case, four numbers.
pub(super) fn check<M: Send>(
    found: Found<'_>,
    simulator_states: &[&str],
    make: impl Fn(CompiledFile) -> M + Sync,
    mut keep: impl FnMut(usize, usize, M, &mut Vec<u32>),
) -> Result<Checked, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut out = Checked::default();
    // Each distinct case name's index in `out.case_names`: a suite has few (`ok`, `sign-in`).
    let mut distinct: HashMap<String, u32> = HashMap::new();
    let mut tags = Vec::new();
    let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let total = found.0.iter().map(|(_, f)| f.files.len()).sum();
    out.cases.reserve(total);
    for (root, found) in found.0 {
        diags.extend(found.errors);
        out.skipped.extend(found.skipped);
        if found.files.is_empty() {
            diags.push(
                Diagnostic::whole(root, "no case files (*.yaml, *.yml) found")
                    .with_hint("point --cases at the folder that holds the case files"),
            );
        }
        let base = out.paths.len();
        // One root (the usual case): its list is the suite's.
        if base == 0 {
            out.paths = found.files;
        } else {
            for path in found.files.iter() {
                out.paths.push(path);
            }
        }
        let count = out.paths.len() - base;
        out.roots.push((base, found.base));
        let names_root = out.roots.last().map_or(Path::new(""), |(_, b)| b.as_path());
        let (paths, cases, case_names) = (&out.paths, &mut out.cases, &mut out.case_names);
        let work = |i: usize| {
            compile_file(names_root, &names_root.join(paths.get(base + i)), simulator_states).map(|mut file| {
                let names = file.cases.iter_mut().map(|c| std::mem::take(&mut c.name)).collect();
                let (diags, warnings) = (std::mem::take(&mut file.diags), std::mem::take(&mut file.warnings));
                let made = diags.is_empty().then(|| make(file));
                Made { names, diags, warnings, made }
            })
        };
        compile_stream(count, work, |i, file| {
            let mut file = match file {
                Ok(f) => f,
                Err(d) => {
                    diags.push(d);
                    return;
                }
            };
            diags.append(&mut file.diags);
            out.skipped.append(&mut file.warnings);
            let first = cases.len();
            for (index, own) in file.names.into_iter().enumerate() {
                let name = match distinct.get(own.as_str()) {
                    Some(n) => *n,
                    None => {
                        let n = at(case_names.push(&own));
                        distinct.insert(own, n);
                        n
                    }
                };
                cases.push(CaseRef { name, file: at(base + i), index: at(index), needs: 0 });
            }
            if let Some(made) = file.made
                && diags.is_empty()
            {
                tags.clear();
                keep(out.files, total, made, &mut tags);
                for (case, tag) in cases[first..].iter_mut().zip(&tags) {
                    case.needs = *tag;
                }
            }
            out.files += 1;
        });
    }
    // By name, and among equal names in reading order, so the first of two is named as such.
    // The files are walked in the order of their names, so the cases mostly are already.
    let (mut a_name, mut b_name) = (String::new(), String::new());
    // Two cases of one file share its part of the name (their own names are interned).
    let mut by_name = |out: &Checked, a: &CaseRef, b: &CaseRef| {
        if a.file == b.file {
            return out.case_names.get(a.name as usize).cmp(out.case_names.get(b.name as usize));
        }
        out.name_into(&mut a_name, a);
        out.name_into(&mut b_name, b);
        a_name.cmp(&b_name)
    };
    let mut cases = std::mem::take(&mut out.cases);
    cases.sort_unstable_by(|a, b| by_name(&out, a, b).then((a.file, a.index).cmp(&(b.file, b.index))));
    out.cases = cases;
    // The file at an index in `out.paths`, as found.
    let path = |i: usize| out.root(i).join(out.paths.get(i));
    let mut name = String::new();
    for pair in out.cases.windows(2) {
        if by_name(&out, &pair[0], &pair[1]).is_ne() {
            continue;
        }
        out.name_into(&mut name, &pair[1]);
        // A rare error: the two files are read again for the places, not kept for it.
        let place = |c: &CaseRef| {
            let file = c.file as usize;
            let spec = load_file(out.root(file), &path(file)).ok();
            let name = spec.as_ref().and_then(|f| f.spec.cases.get(c.index as usize)).map(|c| &c.name.referenced);
            name.map_or((0, 0), |at| (at.line() as usize, at.column() as usize))
        };
        let ((first_line, _), (line, column)) = (place(&pair[0]), place(&pair[1]));
        let here = format!("{}:{first_line}", path(pair[0].file as usize).display());
        diags.push(duplicate(&path(pair[1].file as usize), &name, line, column, &here));
    }
    if !diags.is_empty() {
        // In reading order: by file as discovered, then by position.
        let mut rank = HashMap::new();
        for i in 0..out.paths.len() {
            // A file found from two roots ranks where it was found first.
            rank.entry(path(i)).or_insert(i);
        }
        diags.sort_by_key(|d| (rank.get(&d.file).copied().unwrap_or(usize::MAX), d.line, d.column));
        return Err(diags);
    }
    out.paths.shrink_to_fit();
    out.case_names.shrink_to_fit();
    out.cases.shrink_to_fit();
    Ok(out)
}

/// The case files under each of a suite's roots, found before any is read: every root is
/// walked first, so the lists each file adds to can be made to size, and a suite knows how
/// large its files are before it compiles them.
pub(super) struct Found<'a>(Vec<(&'a PathBuf, Discovered)>);

impl<'a> Found<'a> {
    /// Walks every root.
    pub(super) fn walk(roots: &'a [PathBuf]) -> Found<'a> {
        Found(roots.iter().map(|root| (root, discover(root))).collect())
    }

    /// The size of the files found, in bytes, as the walk saw them.
    pub(super) fn bytes(&self) -> u64 {
        self.0.iter().map(|(_, f)| f.bytes).sum()
    }
}

/// One case file, compiled: its cases (each with its plan when it compiled) and its problems.
/// The parsed file itself is dropped as soon as it is compiled, so a large suite never holds
/// every parsed file and every plan at once.
pub(super) struct CompiledFile {
    /// A digest of the file's text, to prove later that a file read again is the one checked.
    pub(super) digest: u64,
    pub(super) cases: Vec<CompiledCase>,
    pub(super) diags: Vec<Diagnostic>,
    /// What is worth saying but does not stop a run, such as an endpoint the catalog does not
    /// know.
    pub(super) warnings: Vec<Diagnostic>,
}

/// A file as the compiling thread hands it back to the check: its cases' own names and its
/// problems, and what `make` made of the rest when it had no problem.
struct Made<M> {
    names: Vec<String>,
    diags: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    made: Option<M>,
}

/// One case's own name (as its file spells it), and its plan when it compiled.
pub(super) struct CompiledCase {
    pub(super) name: String,
    pub(super) plan: Option<CasePlan>,
}

/// A digest of a case file's text.
pub(super) fn digest(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

/// The second case of a run with a name another case has: the file is read again to show the
/// line (a rare error, so the sources are not kept for it).
fn duplicate(path: &Path, name: &str, line: usize, column: usize, first: &str) -> Diagnostic {
    // Read again for the excerpt, through the same bounded reader: the file was read once.
    let folder = path.parent().unwrap_or(Path::new("."));
    let source = crate::case::load::read_capped(folder, path).unwrap_or_default();
    Diagnostic::at(path, &source, line, column, format!("two cases are both named `{name}`"))
        .with_hint(format!("the other one is at {first}; trial names (`<folder>::<file>::<case>`) must be unique"))
}

pub(super) fn compile_file(root: &Path, path: &Path, states: &[&str]) -> Result<CompiledFile, Diagnostic> {
    let file = load_file(root, path)?;
    let digest = digest(&file.source);
    let mut diags = Vec::new();
    let mut warnings = Vec::new();
    if file.spec.cases.is_empty() {
        diags.push(Diagnostic::whole(&file.path, "the file has no cases").with_hint("add a case under `cases:`"));
    }
    let mut cases = Vec::new();
    for spec in &file.spec.cases {
        let mut c = Compiler { file: &file, diags: &mut diags, warnings: &mut warnings, states, random_secret: false };
        let plan = c.case(spec, trial_name(&file, &spec.name.value));
        cases.push(CompiledCase { name: spec.name.value.clone(), plan });
    }
    Ok(CompiledFile { digest, cases, diags, warnings })
}

/// Compiles a case file psconform carries in itself (such as the preflight's sign-ins), named
/// `<area>::<stem>::<case>`: its cases, or every problem (a bug in the embedded text).
pub fn compile_text(path: &Path, area: &str, stem: &str, text: &str) -> Result<Vec<CasePlan>, Vec<Diagnostic>> {
    let spec = load::parse(path, text).map_err(|d| vec![d])?;
    let file =
        CaseFile { path: path.to_path_buf(), area: area.to_owned(), stem: stem.to_owned(), source: text.into(), spec };
    let (mut diags, mut warnings) = (Vec::new(), Vec::new());
    let mut plans = Vec::new();
    for spec in &file.spec.cases {
        let mut c =
            Compiler { file: &file, diags: &mut diags, warnings: &mut warnings, states: &[], random_secret: false };
        plans.extend(c.case(spec, trial_name(&file, &spec.name.value)));
    }
    if diags.is_empty() { Ok(plans) } else { Err(diags) }
}

/// Does `work` for each of `count` files (reading, parsing and compiling the file, and what the
/// caller makes of it) on up to one thread per core, handing each result to `each` in file
/// order as soon as it and those before it are done. Parsing dominates the start of a large
/// suite, and nothing runs until it is done. The threads live for the whole walk (a thread per
/// batch would leave each its own allocator heap), and at most a few dozen files are in flight
/// (4 batches of 16: what is in flight beyond what the runner keeps is memory a large suite
/// holds for nothing).
fn compile_stream<T: Send>(count: usize, work: impl Fn(usize) -> T + Sync, mut each: impl FnMut(usize, T)) {
    const MIN_PER_THREAD: usize = 32;
    // Files are taken and handed back a batch at a time: one hand-over per file woke the
    // receiving thread as often as there are files.
    const BATCH: usize = 16;
    const IN_FLIGHT: usize = 4;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(count / MIN_PER_THREAD).max(1);
    if threads == 1 {
        for i in 0..count {
            each(i, work(i));
        }
        return;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<(usize, T)>>(IN_FLIGHT);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (tx, next, work) = (tx.clone(), &next, &work);
            scope.spawn(move || {
                loop {
                    let first = next.fetch_add(BATCH, std::sync::atomic::Ordering::Relaxed);
                    if first >= count {
                        break;
                    }
                    let batch = first..(first + BATCH).min(count);
                    if tx.send(batch.map(|i| (i, work(i))).collect()).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Files come back in any order: hand them on in theirs.
        let mut waiting = BTreeMap::new();
        let mut want = 0;
        for (i, file) in rx.into_iter().flatten() {
            waiting.insert(i, file);
            while let Some(file) = waiting.remove(&want) {
                each(want, file);
                want += 1;
            }
        }
    });
}

/// The compiled steps with what the effect pass found for each: effect, role, and the
/// `DurationMinutes` psconform adds to a release that leaves it out.
fn apply(steps: impl Iterator<Item = StepPlan>, facts: &[super::effect::StepFacts]) -> Vec<StepPlan> {
    let mut steps: Vec<StepPlan> = steps
        .zip(facts)
        .map(|(mut step, f)| {
            step.effect = f.effect;
            step.role = f.role.clone();
            if f.default_duration
                && let Some(BodyPlan::Json(ValueTemplate::Object(fields))) = &mut step.request.body
            {
                let minutes = serde_json::json!(super::effect::DEFAULT_RELEASE_MINUTES);
                fields.push((Template::literal("DurationMinutes"), ValueTemplate::Plain(minutes)));
            }
            // A plan may be kept for the whole run (see `plan::suite`): no spare capacity.
            step.checks.shrink_to_fit();
            step.captures.shrink_to_fit();
            step
        })
        .collect();
    steps.shrink_to_fit();
    steps
}

/// `<area>::<file>::<case>`, or `<file>::<case>` for files directly in the cases folder.
pub fn trial_name(file: &CaseFile, case: &str) -> String {
    if file.area.is_empty() {
        format!("{}::{case}", file.stem)
    } else {
        format!("{}::{}::{case}", file.area, file.stem)
    }
}

static CASE_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9._-]*$").expect("the case-name pattern is a valid regex"));

/// A request path spelled so that the server would route it elsewhere than it reads.
struct Spelling {
    message: String,
    hint: String,
}

/// What is wrong with how a request path is spelled: a `.` or `..` segment, or a
/// percent-escape of an unreserved character. Each reaches the server as another path than the
/// case file shows (`x/../Credentials/42` is `Credentials/42`, `%43redentials` is
/// `Credentials`), so a reader, the contract and the masking would all follow the spelling
/// instead of the endpoint. Only the literal text before a query is looked at: a variable's
/// value is one encoded segment whatever it holds.
fn path_spelling(path: &str) -> Vec<Spelling> {
    let literal = path.split(['?', '#']).next().unwrap_or("");
    let mut out = Vec::new();
    for segment in literal.split('/') {
        if segment == "." || segment == ".." {
            out.push(Spelling {
                message: format!("the path has a `{segment}` segment, which the URL removes before it is sent"),
                hint: "write the path the server routes, relative to the base URL, without `.` or `..` segments"
                    .to_owned(),
            });
        }
    }
    let mut rest = literal;
    while let Some(at) = rest.find('%') {
        if let Some(c) = crate::catalog::fields::unreserved_escape(&rest[at..]) {
            out.push(Spelling {
                message: format!("`{}` is an escape of `{c}`, which a server reads as `{c}`", &rest[at..at + 3]),
                hint: format!("write `{c}`: letters, digits, `-`, `.`, `_` and `~` need no escape"),
            });
        }
        rest = &rest[at + 1..];
    }
    out
}

/// Parses `1500ms`, `2s` or `1m` into a duration.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num.parse().ok()?;
    match unit.trim() {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

/// Whether `s` is a valid HTTP header name (an RFC 9110 token).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn span<T>(s: &Spanned<T>) -> Span {
    Span { line: s.referenced.line() as u32, column: s.referenced.column() as u32 }
}

pub(super) struct Compiler<'a> {
    file: &'a CaseFile,
    diags: &'a mut Vec<Diagnostic>,
    warnings: &'a mut Vec<Diagnostic>,
    states: &'a [&'a str],
    /// A template of the case uses `random_secret`.
    random_secret: bool,
}

/// Variables in scope at a step, and the settings they imply.
struct Scope {
    names: BTreeSet<String>,
}

impl Compiler<'_> {
    pub(super) fn at<T>(&self, s: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
        let l = &s.referenced;
        Diagnostic::at(&self.file.path, &self.file.source, l.line() as usize, l.column() as usize, message)
    }

    /// At `s`, or at `fallback` when `s` has no place (a value read through an untagged form).
    fn at_or<T, U>(&self, s: &Spanned<T>, fallback: &Spanned<U>, message: impl Into<String>) -> Diagnostic {
        if s.referenced.line() == 0 { self.at(fallback, message) } else { self.at(s, message) }
    }

    pub(super) fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    pub(super) fn warn(&mut self, d: Diagnostic) {
        self.warnings.push(d);
    }

    /// How many problems there are so far.
    pub(super) fn diag_count(&self) -> usize {
        self.diags.len()
    }

    fn case(&mut self, case: &CaseSpec, name: String) -> Option<CasePlan> {
        let before = self.diags.len();
        if !CASE_NAME.is_match(&case.name.value) {
            let d = self
                .at(&case.name, format!("case name `{}` is not a valid name", case.name.value))
                .with_hint("use lower-case letters, digits, `-`, `_` and `.`, so the test name is easy to filter");
            self.push(d);
        }
        if case.steps.is_empty() {
            let d = self.at(&case.name, "the case has no steps").with_hint("add at least one step under `steps:`");
            self.push(d);
        }
        let mut needs = BTreeSet::new();
        for need in &case.needs {
            if Settings::is_setting(&need.value) {
                needs.insert(need.value.clone());
            } else {
                let d = self.unknown(need, "setting", SETTINGS.iter().map(|s| s.var));
                self.push(d);
            }
        }
        for state in &case.simulator_state {
            if !self.states.contains(&state.value.as_str()) {
                let d = self.unknown(state, "simulator state", self.states.iter().copied());
                self.push(d);
            }
        }
        let mut scope = Scope {
            names: SETTINGS
                .iter()
                .map(|s| s.var)
                .chain(BUILTINS.iter().map(|(n, _)| *n))
                .chain(DERIVED.iter().map(|(n, _, _)| *n))
                .map(str::to_owned)
                .collect(),
        };
        let mut steps = Vec::new();
        for (i, step) in case.steps.iter().enumerate() {
            steps.push(self.step(step, &scope, &mut needs, i + 1));
            scope.names.extend(step.capture.iter().map(|(k, _)| k.value.clone()));
        }
        let mut teardown = Vec::new();
        for (i, step) in case.teardown.iter().enumerate() {
            teardown.push(self.step(step, &scope, &mut needs, i + 1));
        }
        if let Ok(catalog) = crate::catalog::Catalog::shared() {
            for p in super::provenance::problems(case, catalog) {
                let step = if p.teardown { &case.teardown[p.index] } else { &case.steps[p.index] };
                let d = self.at(&step.request.value.path, p.message).with_hint(
                    "capture the id from this case's own POST that creates the object, or mark the case \
                     `simulator_only: true` with the reason",
                );
                self.push(d);
            }
        }
        let facts = self.effects(case);
        if self.diags.len() > before {
            return None;
        }
        let steps = apply(steps.into_iter().flatten(), &facts.steps);
        let teardown = apply(teardown.into_iter().flatten(), &facts.teardown);
        Some(CasePlan {
            name,
            file: self.file.path.clone(),
            line: case.name.referenced.line() as u32,
            endpoint: self.file.spec.endpoint.clone(),
            summary: case.summary.clone(),
            source: case.source.clone(),
            tags: case.tags.clone(),
            needs: needs.into_iter().collect(),
            effect: facts.effect,
            effects: facts.effects,
            lockout_risk: case.lockout_risk,
            sign_in: facts.sign_in,
            areas: {
                let mut areas = facts.areas;
                areas.shrink_to_fit();
                areas
            },
            simulator_state: case.simulator_state.iter().map(|s| s.value.clone()).collect(),
            simulator_only: case.simulator_only,
            locks: facts.locks,
            random_secret: self.random_secret,
            steps,
            teardown,
        })
    }

    pub(super) fn unknown<'n>(
        &self,
        got: &Spanned<String>,
        what: &str,
        known: impl Iterator<Item = &'n str> + Clone,
    ) -> Diagnostic {
        let hint = match closest(&got.value, known.clone()) {
            Some(best) => format!("did you mean `{best}`?"),
            None => format!("known {what}s: {}", known.collect::<Vec<_>>().join(", ")),
        };
        self.at(got, format!("unknown {what} `{}`", got.value)).with_hint(hint)
    }

    fn duration(&mut self, text: &Spanned<String>, max: Duration, what: &str) -> Option<Duration> {
        match parse_duration(&text.value) {
            None => {
                let d = self
                    .at(text, format!("`{}` is not a duration", text.value))
                    .with_hint("write it as 500ms, 2s or 1m");
                self.push(d);
                None
            }
            Some(d) if d > max => {
                let d = self
                    .at(text, format!("{what} `{}` is longer than the {} seconds allowed", text.value, max.as_secs()))
                    .with_hint("a case that needs longer belongs in a scheduled job, not a conformance run");
                self.push(d);
                None
            }
            Some(d) => Some(d),
        }
    }

    /// Compiles a template, checking its variables are in scope.
    fn template(&mut self, text: &Spanned<String>, scope: &Scope, needs: &mut BTreeSet<String>) -> Option<Template> {
        match Template::parse(&text.value) {
            Ok(t) => {
                self.names_in_scope(text, t.names(), scope, needs);
                Some(t)
            }
            Err(e) => {
                let d = self
                    .at(text, format!("malformed template: {}", e.reason))
                    .with_hint("write variables as {{ name }}, with a name of letters, digits and `_`");
                self.push(d);
                None
            }
        }
    }

    /// Compiles the strings of a JSON value as templates; problems point at `at`.
    fn value_template<T>(
        &mut self,
        at: &Spanned<T>,
        value: &serde_json::Value,
        scope: &Scope,
        needs: &mut BTreeSet<String>,
    ) -> Option<ValueTemplate> {
        match ValueTemplate::compile(value) {
            Ok(t) => {
                self.names_in_scope(at, t.names().into_iter(), scope, needs);
                Some(t)
            }
            Err(e) => {
                let d = self
                    .at(at, format!("malformed template in a JSON value: {}", e.reason))
                    .with_hint("write variables as {{ name }}, with a name of letters, digits and `_`");
                self.push(d);
                None
            }
        }
    }

    fn names_in_scope<'n, T>(
        &mut self,
        at: &Spanned<T>,
        names: impl Iterator<Item = &'n str>,
        scope: &Scope,
        needs: &mut BTreeSet<String>,
    ) {
        for name in names {
            self.random_secret |= name == "random_secret";
            if let Some(setting) = Settings::derived_from(name) {
                needs.insert(setting.to_owned());
            } else if Settings::is_setting(name) {
                needs.insert(name.to_owned());
            } else if !scope.names.contains(name) {
                let hint = match closest(name, scope.names.iter().map(String::as_str)) {
                    Some(best) => format!("did you mean `{best}`?"),
                    None => "variables are target settings, built-ins, or captures of earlier steps".to_owned(),
                };
                let d = self.at(at, format!("variable `{name}` is not defined here")).with_hint(hint);
                self.push(d);
            }
        }
    }

    /// A credential must come from the environment: a template with literal text in it is
    /// refused, and its value is not printed back.
    fn no_literal_credential<U>(&mut self, text: &Spanned<String>, t: &Template, what: &str, fallback: &Spanned<U>) {
        if t.has_literal_text() {
            let d = self
                .at_or(text, fallback, format!("{what} is spelled out in the case file"))
                .masking(&text.value)
                .with_hint("credentials come from the environment: use a setting such as {{ api_key }}, a capture, or {{ random_key }} / {{ random_secret }} for a value no server knows");
            self.push(d);
        }
    }

    fn regex(&mut self, pattern: &Spanned<String>) -> Option<Pattern> {
        match Pattern::compile(&pattern.value) {
            Ok(p) => Some(p),
            Err(e) => {
                let d = self.at(pattern, format!("invalid regular expression `{}`: {e}", pattern.value));
                self.push(d);
                None
            }
        }
    }

    fn jsonpath(&mut self, path: &Spanned<String>) -> Option<PathPlan> {
        if path.value.contains("{{") {
            let d = self
                .at(path, format!("a JSONPath is not a template: `{}` would be looked up as written", path.value))
                .with_hint(
                    "select with a filter and compare the value with `equals`, which takes variables: \
                     `$[?@.Name == 'x'].Id` or `$[*].Id: { equals: \"{{ id }}\" }`",
                );
            self.push(d);
            return None;
        }
        match PathPlan::compile(&path.value) {
            Ok(p) => Some(p),
            Err((e, in_pattern)) => {
                let d = self.at(path, format!("invalid JSONPath `{}`: {e}", path.value)).with_hint(if in_pattern {
                    "match() and search() take a quoted pattern, compiled once with the size limits of `matches:`"
                } else {
                    "JSONPath starts at `$`, such as `$.UserId`, `$[0].Name` or `$` for the whole body"
                });
                self.push(d);
                None
            }
        }
    }

    fn step(&mut self, step: &StepSpec, scope: &Scope, needs: &mut BTreeSet<String>, index: usize) -> Option<StepPlan> {
        let before = self.diags.len();
        let wait = step.wait.as_ref().and_then(|w| self.duration(w, MAX_WAIT, "wait"));
        let poll = step.poll.as_ref().and_then(|p| {
            let attempts = p.attempts.value;
            if !(1..=MAX_POLL_ATTEMPTS).contains(&attempts) {
                let d =
                    self.at(&p.attempts, format!("{attempts} attempts: poll between 1 and {MAX_POLL_ATTEMPTS} times"));
                self.push(d);
            }
            let interval = self.duration(&p.interval, MAX_POLL_INTERVAL, "poll interval")?;
            Some(Poll { attempts, interval, while_status: p.while_status.clone() })
        });
        let req = &step.request.value;
        let path = self.template(&req.path, scope, needs);
        for problem in path_spelling(&req.path.value) {
            let d = self.at(&req.path, problem.message).with_hint(problem.hint);
            self.push(d);
        }
        let route = match &req.route {
            Some(r) => {
                if r.value.trim().is_empty() || r.value.contains(['?', '#']) {
                    let d = self.at(r, "a route is a path template such as `Credentials/{requestId}`, without a query");
                    self.push(d);
                }
                r.value.trim().trim_start_matches('/').to_owned()
            }
            None => crate::shape::contract::route_of_path(&req.path.value),
        };
        let mut query = Vec::new();
        for (k, v) in req.query.iter() {
            if let (Some(k), Some(v)) = (self.template(k, scope, needs), self.template(v, scope, needs)) {
                query.push((k, v));
            }
        }
        let mut headers = Vec::new();
        for (name, value) in req.headers.iter() {
            if name.value.eq_ignore_ascii_case("authorization")
                || name.value.eq_ignore_ascii_case("proxy-authorization")
            {
                let d = self
                    .at(name, "credentials never go in `headers`")
                    .masking(&value.value)
                    .with_hint("use `auth: ps-auth` or `auth: { bearer: \"{{ token }}\" }`");
                self.push(d);
            }
            if !is_token(&name.value) {
                let d = self.at(name, format!("`{}` is not a valid header name", name.value));
                self.push(d);
            }
            if value.value.contains(['\r', '\n', '\0']) {
                let d = self
                    .at(value, "a header value cannot hold a line break or NUL")
                    .with_hint("HTTP header values are one line; a folded YAML string (`>`) adds line breaks");
                self.push(d);
            }
            if let Some(t) = self.template(value, scope, needs) {
                headers.push((name.value.clone(), t));
            }
        }
        let auth = match &req.auth {
            AuthSpec::None => AuthPlan::None,
            AuthSpec::Bearer(t) => {
                let tpl = self.template(t, scope, needs);
                if let Some(tpl) = &tpl {
                    self.no_literal_credential(t, tpl, "a Bearer token", &step.request);
                }
                AuthPlan::Bearer(tpl.unwrap_or_else(|| Template::literal("")))
            }
            AuthSpec::PsAuth(p) => {
                let key = match &p.key {
                    Some(k) => {
                        let t = self.template(k, scope, needs);
                        if let Some(t) = &t {
                            self.no_literal_credential(k, t, "an API key", &step.request);
                        }
                        t
                    }
                    None => {
                        needs.insert("api_key".into());
                        Template::parse("{{ api_key }}").ok()
                    }
                };
                let runas = match &p.runas {
                    Some(r) => self.template(r, scope, needs),
                    None => {
                        needs.insert("runas".into());
                        Template::parse("{{ runas }}").ok()
                    }
                };
                let pwd = match &p.pwd {
                    None => PwdPlan::Default,
                    Some(PwdSpec::Omit) => PwdPlan::Omit,
                    Some(PwdSpec::Value(v)) => {
                        let t = self.template(v, scope, needs);
                        if let Some(t) = &t {
                            self.no_literal_credential(v, t, "a run-as password", &step.request);
                        }
                        t.map_or(PwdPlan::Omit, PwdPlan::Value)
                    }
                };
                AuthPlan::PsAuth {
                    key: key.unwrap_or_else(|| Template::literal("")),
                    runas: runas.unwrap_or_else(|| Template::literal("")),
                    pwd,
                    compact: p.compact,
                }
            }
        };
        // The floor of always-sensitive names: what a literal in a body must not be. (Which
        // endpoint a request reaches, and so its documented credential fields, is decided from
        // the URL as sent, when it runs; reading the catalog here would make `validate` load it.)
        let fields = FieldPolicy::floor(crate::catalog::fields::under_secrets_safe(&req.path.value));
        let body = match req.body.as_ref().map(|b| (b, &b.value)) {
            None => None,
            Some((at, BodySpec::Json(v))) => {
                let t = self.value_template(at, v, scope, needs);
                if let Some(t) = &t {
                    for (key, value) in t.strings() {
                        let sensitive = key.and_then(Template::as_literal).is_some_and(|k| fields.is_sensitive(&k));
                        if sensitive && value.has_literal_text() {
                            let literal = value.as_literal().unwrap_or_default();
                            let d = self
                                .at(at, "a credential field of the JSON body is spelled out in the case file")
                                .masking(&literal)
                                .with_hint("credentials come from the environment: use a setting, a capture, or {{ random_secret }}");
                            self.push(d);
                        }
                    }
                }
                t.map(BodyPlan::Json)
            }
            Some((_, BodySpec::Form(form))) => {
                let mut out = Vec::new();
                for (k, v) in form.iter() {
                    let (kt, vt) = (self.template(k, scope, needs), self.template(v, scope, needs));
                    if let Some(vt) = &vt
                        && fields.is_sensitive(&k.value)
                    {
                        self.no_literal_credential(v, vt, &format!("the form field `{}`", k.value), &step.request);
                    }
                    if let (Some(kt), Some(vt)) = (kt, vt) {
                        out.push((kt, vt));
                    }
                }
                Some(BodyPlan::Form(out))
            }
            Some((_, BodySpec::Text(t))) => self.template(t, scope, needs).map(BodyPlan::Text),
        };
        let checks = self.checks(step, scope, needs);
        let captures = self.captures(step);
        if self.diags.len() > before {
            return None;
        }
        let name = step.name.clone().unwrap_or_else(|| format!("{} {}", req.method.as_str(), req.path.value));
        let _ = index;
        Some(StepPlan {
            name,
            span: span(&step.request),
            wait,
            poll,
            request: RequestPlan { method: req.method, path: path?, route, query, headers, auth, body },
            checks,
            captures,
            contract: step.snapshot,
            effect: crate::catalog::Effect::Read,
            role: None,
        })
    }

    /// The step's checks: those of `expect:`, then those of `observed:`, marked with what they
    /// were observed on.
    fn checks(&mut self, step: &StepSpec, scope: &Scope, needs: &mut BTreeSet<String>) -> Vec<Check> {
        if let Some(on) = &step.expect.on {
            let d = self.at(on, "`on:` belongs under `observed:`").with_hint(
                "move this expectation under `observed:`, or remove `on:`: `expect:` is what the documentation says",
            );
            self.push(d);
        }
        let mut out = self.expect_checks(&step.expect, scope, needs);
        if let Some(observed) = &step.observed {
            let on = observed.value.on.as_ref().map(|o| o.value.trim()).filter(|o| !o.is_empty());
            match on {
                Some(on) => {
                    let on: std::sync::Arc<str> = on.into();
                    let checks = self.expect_checks(&observed.value, scope, needs);
                    out.extend(checks.into_iter().map(|c| Check { observed: Some(on.clone()), ..c }));
                }
                None => {
                    let d = self.at(observed, "`observed:` needs `on:`, saying what the behaviour was observed on").with_hint(
                        "for example `on: \"Password Safe 24.3 (a lab instance)\"`; an expectation the documentation makes belongs under `expect:`",
                    );
                    self.push(d);
                }
            }
        }
        out
    }

    fn expect_checks(&mut self, expect: &ExpectSpec, scope: &Scope, needs: &mut BTreeSet<String>) -> Vec<Check> {
        let mut out = Vec::new();
        if let Some(status) = &expect.status {
            out.push(Check { span: span(status), test: Test::Status(status.value.clone()), observed: None });
        }
        for (name, check) in expect.headers.iter() {
            let at = span(name);
            if !is_token(&name.value) {
                let d = self.at(name, format!("`{}` is not a valid header name", name.value));
                self.push(d);
            }
            let given = [check.equals.is_some(), check.matches.is_some(), check.contains.is_some()];
            if !given.contains(&true) && check.absent.is_none() {
                let d = self.at(name, "the header check is empty").with_hint(Family::Header.hint());
                self.push(d);
            }
            if check.absent == Some(true) && given.contains(&true) {
                let d = self.at(name, "`absent: true` cannot be combined with a check on the value");
                self.push(d);
            }
            let h = name.value.clone();
            if let Some(absent) = check.absent {
                out.push(Check { span: at, test: Test::HeaderAbsent { name: h.clone(), absent }, observed: None });
            }
            if let Some(t) = check.equals.as_ref().and_then(|e| self.template(e, scope, needs)) {
                out.push(Check {
                    span: at,
                    test: Test::Header { name: h.clone(), matcher: TextMatcher::Equals(t) },
                    observed: None,
                });
            }
            if let Some(p) = check.matches.as_ref().and_then(|m| self.regex(m)) {
                out.push(Check {
                    span: at,
                    test: Test::Header { name: h.clone(), matcher: TextMatcher::Matches(p) },
                    observed: None,
                });
            }
            if let Some(t) = check.contains.as_ref().and_then(|c| self.template(c, scope, needs)) {
                out.push(Check {
                    span: at,
                    test: Test::Header { name: h.clone(), matcher: TextMatcher::Contains(t) },
                    observed: None,
                });
            }
        }
        for (name, check) in expect.cookies.iter() {
            let at = span(name);
            let n = name.value.clone();
            let set = check.set.unwrap_or(true);
            let attributes = check.value_matches.is_some()
                || check.http_only.is_some()
                || check.secure.is_some()
                || check.path.is_some()
                || check.same_site.is_some();
            if !set && attributes {
                let d =
                    self.at(name, "`set: false` cannot be combined with checks on the cookie's value or attributes");
                self.push(d);
            }
            out.push(Check {
                span: at,
                test: Test::Cookie { name: n.clone(), matcher: CookieMatcher::Set(set) },
                observed: None,
            });
            let cookie = |m: CookieMatcher| Check {
                span: at,
                test: Test::Cookie { name: n.clone(), matcher: m },
                observed: None,
            };
            let mut add = Vec::new();
            if let Some(p) = check.value_matches.as_ref().and_then(|re| self.regex(re)) {
                add.push(cookie(CookieMatcher::ValueMatches(p)));
            }
            if let Some(b) = check.http_only {
                add.push(cookie(CookieMatcher::HttpOnly(b)));
            }
            if let Some(b) = check.secure {
                add.push(cookie(CookieMatcher::Secure(b)));
            }
            if let Some(p) = &check.path {
                add.push(cookie(CookieMatcher::Path(p.clone())));
            }
            if let Some(s) = &check.same_site {
                add.push(cookie(CookieMatcher::SameSite(s.clone())));
            }
            out.extend(add);
        }
        if let Some(body) = &expect.body {
            let at = span(body);
            match &body.value {
                BodyCheck::Exact(v) | BodyCheck::Partial(v) => {
                    let partial = matches!(body.value, BodyCheck::Partial(_));
                    if let Some(value) = self.value_template(body, v, scope, needs) {
                        out.push(Check { span: at, test: Test::Body { value, partial }, observed: None });
                    }
                }
                BodyCheck::Empty(b) => out.push(Check { span: at, test: Test::BodyEmpty(*b), observed: None }),
                BodyCheck::Text(t) => {
                    if t.equals.is_none() && t.matches.is_none() && t.contains.is_none() {
                        let d = self.at(body, "the text check is empty").with_hint(Family::Text.hint());
                        self.push(d);
                    }
                    if let Some(x) = t.equals.as_ref().and_then(|e| self.template(e, scope, needs)) {
                        out.push(Check { span: at, test: Test::BodyText(TextMatcher::Equals(x)), observed: None });
                    }
                    if let Some(p) = t.matches.as_ref().and_then(|m| self.regex(m)) {
                        out.push(Check { span: at, test: Test::BodyText(TextMatcher::Matches(p)), observed: None });
                    }
                    if let Some(x) = t.contains.as_ref().and_then(|c| self.template(c, scope, needs)) {
                        out.push(Check { span: at, test: Test::BodyText(TextMatcher::Contains(x)), observed: None });
                    }
                }
            }
        }
        for (path, check) in expect.paths.iter() {
            let at = span(path);
            let compiled = self.jsonpath(path);
            // Which matchers the check gives, from the table of matchers (`case::matchers`).
            let given = check.given();
            if given.is_empty() {
                let d = self.at(path, "the path check is empty").with_hint(Family::Path.hint());
                self.push(d);
            }
            if check.exists == Some(false) && given.len() > 1 {
                let d = self.at(path, "`exists: false` cannot be combined with a check on the value");
                self.push(d);
            }
            let mut matchers = Vec::new();
            if let Some(b) = check.exists {
                matchers.push(PathMatcher::Exists(b));
            }
            if let Some(v) = &check.equals
                && let Some(t) = self.value_template(path, v, scope, needs)
            {
                matchers.push(PathMatcher::Equals(t));
            }
            if let Some(t) = &check.type_ {
                matchers.push(PathMatcher::Type(t.clone()));
            }
            if let Some(p) = check.matches.as_ref().and_then(|m| self.regex(m)) {
                matchers.push(PathMatcher::Matches(p));
            }
            if let Some(options) = &check.one_of {
                let ts: Vec<ValueTemplate> =
                    options.iter().filter_map(|o| self.value_template(path, o, scope, needs)).collect();
                matchers.push(PathMatcher::OneOf(ts));
            }
            if let Some(l) = &check.length {
                matchers.push(PathMatcher::Length(l.clone()));
            }
            if let Some(n) = check.min {
                matchers.push(PathMatcher::Min(n));
            }
            if let Some(n) = check.max {
                matchers.push(PathMatcher::Max(n));
            }
            if let Some(f) = &check.format {
                match StringFormat::parse(&f.value).filter(|f| StringFormat::ASSERTABLE.contains(f)) {
                    Some(format) => matchers.push(PathMatcher::Format(format)),
                    None => {
                        let names = StringFormat::ASSERTABLE.iter().map(|f| f.name());
                        let d = self.unknown(f, "format", names);
                        self.push(d);
                    }
                }
            }
            if let Some(p) = compiled {
                out.extend(matchers.into_iter().map(|m| Check {
                    span: at,
                    test: Test::Path { path: p.clone(), matcher: m },
                    observed: None,
                }));
            }
        }
        out
    }

    fn captures(&mut self, step: &StepSpec) -> Vec<CapturePlan> {
        let mut out = Vec::new();
        for (name, cap) in step.capture.iter() {
            let sources = [cap.path.is_some(), cap.header.is_some(), cap.cookie.is_some()];
            let from = if sources.iter().filter(|s| **s).count() != 1 {
                let d = self.at(name, "a capture takes its value from exactly one of `path`, `header` or `cookie`");
                self.push(d);
                None
            } else if let Some(p) = &cap.path {
                self.jsonpath(p).map(CaptureFrom::Path)
            } else if let Some(h) = &cap.header {
                Some(CaptureFrom::Header(h.clone()))
            } else {
                cap.cookie.clone().map(CaptureFrom::Cookie)
            };
            let valid = Template::parse(&format!("{{{{{}}}}}", name.value))
                .is_ok_and(|t| t.sole_var() == Some(name.value.as_str()));
            if !valid
                || Settings::is_setting(&name.value)
                || Settings::derived_from(&name.value).is_some()
                || BUILTINS.iter().any(|(b, _)| *b == name.value)
            {
                let d = self.at(name, format!("`{}` cannot be used as a variable name", name.value)).with_hint(
                    "use letters, digits and `_`, starting with a letter, and not the name of a setting or built-in",
                );
                self.push(d);
            }
            if let Some(from) = from {
                out.push(CapturePlan {
                    name: name.value.clone(),
                    from,
                    secret: cap.secret,
                    span: span(name),
                    if_missing: cap.if_missing.clone(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: &[&str] = &["licence-invalid"];

    fn plan(files: &[(&str, &str)]) -> Result<Plan, Vec<Diagnostic>> {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, text) in files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        compile(&[dir.path().to_path_buf()], STATES)
    }

    fn errors(files: &[(&str, &str)]) -> Vec<Diagnostic> {
        match plan(files) {
            Ok(_) => panic!("expected errors"),
            Err(d) => d,
        }
    }

    fn messages(d: &[Diagnostic]) -> Vec<&str> {
        d.iter().map(|d| d.message.as_str()).collect()
    }

    const OK: &str = r#"endpoint: POST Auth/SignAppin
cases:
  - name: sign-in
    summary: s
    effect: audited
    steps:
      - request: { method: POST, path: Auth/SignAppin, auth: ps-auth }
        capture: { uid: { path: $.UserId } }
      - request: { method: GET, path: "Users/{{ uid }}" }
        expect: { paths: { $.Name: { equals: "{{ runas }}" } } }
"#;

    #[test]
    fn a_case_knows_whether_it_uses_the_random_secret() {
        let with = OK.replace(
            "path: \"Users/{{ uid }}\" }",
            "path: \"Users/{{ uid }}\", headers: { X-Note: \"{{ random_secret }}\" } }",
        );
        assert_ne!(with, OK, "the header was added");
        let used = |text: &str| plan(&[("a/f.yaml", text)]).expect("valid").cases[0].random_secret;
        assert_eq!((used(OK), used(&with)), (false, true));
    }

    #[test]
    fn names_are_area_file_case_and_needs_are_derived() {
        let p = match plan(&[("auth/sign-in.yaml", OK)]) {
            Ok(p) => p,
            Err(d) => panic!("{d:?}"),
        };
        assert_eq!(p.cases[0].name, "auth::sign-in::sign-in");
        assert_eq!(p.cases[0].needs, vec!["api_key".to_string(), "runas".to_string()]);
        assert_eq!(p.cases[0].steps[1].request.route, "Users/{uid}");
    }

    #[test]
    fn many_files_load_in_parallel_in_path_order() {
        let names: Vec<String> = (0..200).map(|i| format!("f{i:03}.yaml")).collect();
        let mut files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), OK)).collect();
        files[1].1 = "endpoint: [";
        files[198].1 = "cases: 7";
        let d = errors(&files);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(d[0].file.ends_with("f001.yaml") && d[1].file.ends_with("f198.yaml"), "{d:?}");
    }

    #[test]
    fn undefined_variable_is_found_before_running() {
        let d = errors(&[("a.yaml", &OK.replace("{{ uid }}", "{{ uidd }}"))]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].message.contains("variable `uidd` is not defined"));
        assert_eq!(d[0].line, 9);
        assert_eq!(d[0].hint.as_deref(), Some("did you mean `uid`?"));
    }

    #[test]
    fn every_error_of_every_file_is_listed() {
        let dup = OK.replace(
            "      - request: { method: GET",
            "  - name: sign-in\n    summary: s\n    effect: read\n    steps:\n      - request: { method: GET",
        );
        let bad = OK
            .replace("equals: \"{{ runas }}\"", "matches: \"(\"")
            .replace("effect: audited", "effect: audited\n    needs: [api_kee]\n    simulator_state: [licence-invlid]");
        let d = errors(&[("a.yaml", &dup), ("b.yaml", &bad), ("c.yaml", "endpoint: X\ncases: [\n")]);
        let m = messages(&d);
        assert!(m.iter().any(|m| m.contains("two cases are both named")), "{m:?}");
        assert!(m.iter().any(|m| m.contains("invalid regular expression")), "{m:?}");
        assert!(m.iter().any(|m| m.contains("unknown setting `api_kee`")), "{m:?}");
        assert!(m.iter().any(|m| m.contains("unknown simulator state")), "{m:?}");
        assert!(d.iter().any(|d| d.file.ends_with("c.yaml")), "{m:?}");
    }

    #[test]
    fn empty_folder_is_an_error() {
        assert!(errors(&[])[0].message.contains("no case files"));
    }

    #[test]
    fn credentials_in_headers_and_bad_paths_are_refused() {
        let bad = OK.replace(
            "auth: ps-auth }",
            "headers: { Authorization: x }, auth: ps-auth }\n        expect: { paths: { \"$.[\": { exists: true } } }",
        );
        let m = errors(&[("a.yaml", &bad)]);
        let m = messages(&m);
        assert!(m.iter().any(|m| m.contains("credentials never go in `headers`")), "{m:?}");
        assert!(m.iter().any(|m| m.contains("invalid JSONPath")), "{m:?}");
    }

    #[test]
    fn the_keys_and_hints_of_each_family_come_from_the_table_of_matchers() {
        assert_eq!(Family::Header.hint(), "give `equals`, `matches`, `contains` or `absent`");
        assert_eq!(Family::Text.hint(), "give `equals`, `matches` or `contains`");
        assert_eq!(
            Family::Path.hint(),
            "give `exists`, `equals`, `type`, `matches`, `one_of`, `length`, `min`, `max` or `format`"
        );
        // A `paths:` check accepts exactly the keys of the path matchers: one row makes both.
        let schema = serde_json::to_value(schemars::schema_for!(crate::case::spec::PathCheck)).expect("JSON");
        let mut fields: Vec<&str> =
            schema["properties"].as_object().expect("properties").keys().map(String::as_str).collect();
        let mut keys = Family::Path.keys();
        fields.sort_unstable();
        keys.sort_unstable();
        assert_eq!(fields, keys);
    }

    /// Every key a `paths:` check accepts compiles into a check of its own matcher: a row of the
    /// table of matchers without its compile arm would be a check that silently never runs.
    #[test]
    fn every_path_matcher_key_compiles_into_its_own_check() {
        use crate::plan::check::Test;
        use crate::result::Matcher;
        let sample = |key: &str| match key {
            "exists" => "true",
            "equals" => "7",
            "type" => "integer",
            "matches" => "\"^a\"",
            "one_of" => "[1, 2]",
            "length" => "3",
            "min" => "1",
            "max" => "9",
            "format" => "guid",
            other => panic!("give `{other}` a sample value here, then compile it in `Compiler::checks`"),
        };
        for key in Family::Path.keys() {
            let file = OK.replace(
                "expect: { paths: { $.Name: { equals: \"{{ runas }}\" } } }",
                &format!("expect: {{ paths: {{ $.x: {{ {key}: {} }} }} }}", sample(key)),
            );
            let p = plan(&[("a.yaml", &file)]).unwrap_or_else(|d| panic!("{key}: {d:?}"));
            let checks = &p.cases[0].steps[1].checks;
            let matchers: Vec<Matcher> = checks
                .iter()
                .filter_map(|c| match &c.test {
                    Test::Path { matcher, .. } => Some(matcher.matcher()),
                    _ => None,
                })
                .collect();
            let row = Matcher::ALL.iter().find(|m| m.key() == key && m.families().contains(&Family::Path));
            assert_eq!(matchers, row.copied().into_iter().collect::<Vec<_>>(), "{key}");
        }
    }

    #[test]
    fn a_template_in_a_jsonpath_is_refused() {
        let d = errors(&[(
            "a.yaml",
            "endpoint: X\ncases:\n  - name: c\n    summary: s\n    effect: read\n    steps:\n      - request: { method: GET, path: X }\n        expect:\n          paths:\n            \"$[?@.Id == {{ run_id }}]\": { exists: true }\n",
        )]);
        assert!(messages(&d).iter().any(|m| m.starts_with("a JSONPath is not a template")), "{:?}", messages(&d));
    }

    #[test]
    fn paths_spelled_around_their_endpoint_are_refused_where_they_are_written() {
        let case = |path: &str| {
            format!(
                "endpoint: X\ncases:\n  - name: a\n    summary: s\n    effect: read\n    steps:\n      - request: {{ method: GET, path: \"{path}\" }}\n        expect: {{ status: 200 }}\n"
            )
        };
        for (path, words) in [
            ("./Secrets-Safe/Secrets", "a `.` segment"),
            ("x/../Credentials/42", "a `..` segment"),
            ("Secrets%2dSafe/Secrets", "`%2d` is an escape of `-`"),
            ("%43redentials/42", "`%43` is an escape of `C`"),
        ] {
            let d = errors(&[("t.yaml", &case(path))]);
            assert_eq!(d.len(), 1, "{path}: {d:?}");
            assert!(d[0].message.contains(words) && d[0].line == 7 && d[0].hint.is_some(), "{path}: {d:?}");
        }
        // Reserved escapes, a `..` inside a segment, and anything after the query are the
        // case's to write.
        assert!(plan(&[("t.yaml", &case("Users/a%2Fb/x..y?q=%41"))]).is_ok());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("99999999999999999999m"), None);
    }
}
