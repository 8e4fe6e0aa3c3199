//! The commands that send nothing: `validate`, `list`, `coverage`, `drift` and `schema`, and
//! what they share with `run` (loading the plan and the contract set, printing diagnostics).
//! `run` is in `cli::run`; `serve` lives with the simulator. Each command reads its checked
//! arguments and returns an [`Exit`]; what it prints is sealed first, and a closed standard
//! output (`psconform list | head -1`) is exit 5, never a panic.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::args::{CoverageArgs, DriftArgs, ListArgs, ValidateArgs};
use crate::case::Diagnostic;
use crate::coverage::{Catalog, Coverage, requests};
use crate::plan::Suite;
use crate::plan::suite::Exercised;
use crate::report::drift;
use crate::report::list::{self, Entry};
use crate::result::Exit;
use crate::result::run::Observed;
use crate::seal::Redactor;
use crate::secret::SecretStore;
use crate::settings::Settings;
use crate::shape::drift::DriftReport;
use crate::shape::{ContractError, ContractSet};
use crate::simulator::SimState;

/// Writes to standard output: exit 5 when it is closed (a pipe reader such as `head` went
/// away), instead of `print!`'s panic.
pub fn out(text: &str) -> Exit {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Exit::Passed,
        Err(_) => Exit::OutputFailed,
    }
}

/// Prints diagnostics, sealed.
fn print_diagnostics(diags: Vec<Diagnostic>, redactor: &Redactor) {
    let files: std::collections::BTreeSet<_> = diags.iter().map(|d| d.file.clone()).collect();
    let count = diags.len();
    for d in diags {
        anstream::eprintln!("{}", redactor.seal(d).get().render());
    }
    let s = if count == 1 { "" } else { "s" };
    anstream::eprintln!("error: {count} problem{s} in {} file(s); nothing was sent", files.len());
}

/// Loads and checks the case files, keeping of each case its name and what it exercises (a
/// coverage matrix's input, not every plan), printing every problem (exit 2).
pub fn load_exercised(roots: &[PathBuf], redactor: &Redactor) -> Result<Vec<(String, Vec<Exercised>)>, Exit> {
    let compiled = crate::plan::compile_with(roots, &states(), |plan| (plan.name.clone(), Exercised::of(&plan)));
    let loaded = checked(compiled, redactor)?;
    warn_skipped(&loaded.skipped, redactor);
    Ok(loaded.cases)
}

/// Loads and checks the case files for a run, keeping only what each case needs until it
/// starts, printing every problem (exit 2).
pub fn load_suite(roots: &[PathBuf], exercised: bool, redactor: &Redactor) -> Result<Suite, Exit> {
    let suite = checked(Suite::load(roots, &states(), exercised), redactor)?;
    warn_skipped(&suite.skipped, redactor);
    Ok(suite)
}

fn states() -> Vec<&'static str> {
    SimState::NAMES.iter().map(|(n, _)| *n).collect()
}

fn checked<T>(loaded: Result<T, Vec<Diagnostic>>, redactor: &Redactor) -> Result<T, Exit> {
    loaded.map_err(|diags| {
        print_diagnostics(diags, redactor);
        Exit::Invalid
    })
}

fn warn_skipped(skipped: &[Diagnostic], redactor: &Redactor) {
    for d in skipped {
        let d = redactor.seal(d.clone());
        anstream::eprintln!("warning: {}: {}", d.get().location(), crate::escape::controls(&d.get().message));
    }
}

/// Says on standard error which suite a command reads, so a run from an unexpected folder is
/// plain: a folder on disk, or the one built into this binary.
pub fn announce(cases: &Path) {
    if crate::suite::is_builtin(cases) {
        anstream::eprintln!(
            "suite: {}, built into psconform {} (no ./cases here; `psconform init DIR` writes it out)",
            cases.display(),
            env!("CARGO_PKG_VERSION")
        );
    } else {
        anstream::eprintln!("suite: {}", cases.display());
    }
}

/// The cases a command reads: those it was given, else [`crate::suite::default_cases`],
/// announced.
fn cases_of(given: Option<&PathBuf>) -> PathBuf {
    let cases = given.cloned().unwrap_or_else(crate::suite::default_cases);
    announce(&cases);
    cases
}

/// A redactor for commands that send nothing: it knows the configured credentials, so a case
/// file or a diagnostic that quotes one does not print it.
pub fn env_redactor() -> Redactor {
    Redactor::new(vec![SecretStore::configured(Settings::from_env().secret_values())])
}

/// `psconform validate`.
pub fn validate(args: &ValidateArgs) -> Exit {
    let roots = if args.paths.is_empty() { vec![cases_of(None)] } else { args.paths.clone() };
    let redactor = env_redactor();
    // Every file is checked; no plan is kept, so a large suite is validated in bounded memory.
    let checked = checked(Suite::check(&roots, &states()), &redactor);
    match checked.inspect(|suite| warn_skipped(&suite.skipped, &redactor)) {
        Ok(suite) => out(&format!("ok: {} cases in {} files are valid\n", suite.cases.len(), suite.files)),
        Err(e) => e,
    }
}

/// `psconform list`.
pub fn list(args: &ListArgs) -> Exit {
    let redactor = env_redactor();
    // Each case's entry is made as its file is compiled: a large suite's plans are not kept.
    let listed = crate::plan::compile_with(&[cases_of(args.cases.as_ref())], &states(), |plan| {
        args.filter.as_ref().is_none_or(|f| plan.name.contains(f.as_str())).then(|| Entry::of(&plan))
    });
    let listed = match checked(listed, &redactor) {
        Ok(listed) => listed,
        Err(e) => return e,
    };
    warn_skipped(&listed.skipped, &redactor);
    let entries: Vec<Entry> = listed.cases.into_iter().flatten().collect();
    let entries = redactor.seal(entries);
    out(&if args.json { list::json(&entries) } else { list::text(&entries) })
}

/// Loads a contract set, printing every problem (exit 2).
pub fn load_contracts(dir: &Path, redactor: &Redactor) -> Result<ContractSet, Exit> {
    contracts_checked(ContractSet::load(dir), redactor)
}

/// A contract set read, or its problems printed (exit 2).
pub fn contracts_checked(
    loaded: Result<ContractSet, Vec<ContractError>>,
    redactor: &Redactor,
) -> Result<ContractSet, Exit> {
    loaded.map_err(|errors| {
        for e in &errors {
            anstream::eprintln!("error: {}", crate::escape::controls(&redactor.text(&e.to_string())));
        }
        anstream::eprintln!("error: {} unusable contract file(s); nothing was sent", errors.len());
        Exit::Invalid
    })
}

/// `psconform drift`.
pub fn drift(args: &DriftArgs) -> Exit {
    let redactor = env_redactor();
    for dir in [&args.old, &args.new] {
        if !dir.is_dir() {
            anstream::eprintln!("error: {} is not a folder of contracts", dir.display());
            return Exit::Invalid;
        }
    }
    if let Some(path) = &args.html
        && let Err(e) = super::config::writable_file(path)
    {
        anstream::eprintln!("error: {e}");
        return Exit::Invalid;
    }
    let (old, new) = match (load_contracts(&args.old, &redactor), load_contracts(&args.new, &redactor)) {
        (Ok(o), Ok(n)) => (o, n),
        _ => return Exit::Invalid,
    };
    let report = DriftReport::compare(
        &args.old.display().to_string(),
        &old.contracts,
        &args.new.display().to_string(),
        &new.contracts,
        &redactor,
    );
    if out(&if args.json { drift::json(&report) } else { drift::markdown(&report) }) != Exit::Passed {
        return Exit::OutputFailed;
    }
    if let Some(path) = &args.html {
        let page = crate::report::html::drift_page(&report, env!("CARGO_PKG_VERSION"), &crate::report::now_rfc3339());
        if let Err(e) = crate::files::write_bytes(path, page.as_bytes()) {
            anstream::eprintln!("error: cannot write {}: {e}", path.display());
            return Exit::OutputFailed;
        }
    }
    drift::exit(report.get())
}

/// `psconform coverage`.
pub fn coverage(args: &CoverageArgs) -> Exit {
    let redactor = env_redactor();
    let cases = match load_exercised(&[cases_of(args.cases.as_ref())], &redactor) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let catalog = match &args.catalog {
        None => Catalog::builtin().map_err(|e| anstream::eprintln!("error: {e}")),
        Some(dir) => Catalog::with_models_from(dir).map_err(|diags| print_diagnostics(diags, &redactor)),
    };
    let Ok(catalog) = catalog else { return Exit::Invalid };
    let mut observed = std::collections::BTreeSet::new();
    if let Some(path) = &args.report {
        match read_report(path) {
            Ok(report) => observed.extend(report.cases.iter().flat_map(Observed::of)),
            Err(e) => {
                anstream::eprintln!("error: {e}");
                return Exit::Invalid;
            }
        }
    }
    let matrix = redactor.seal(Coverage::of_exercised(&catalog, requests(&cases), &observed));
    let m = matrix.get();
    out(&if args.json {
        serde_json::to_string_pretty(m).unwrap_or_default() + "\n"
    } else if args.markdown {
        m.markdown()
    } else {
        m.terminal()
    })
}

/// Largest run report `coverage --report` reads.
const MAX_REPORT: u64 = 1024 * 1024 * 1024;

/// A JSON run report, read typed.
fn read_report(path: &Path) -> Result<crate::report::json::Report, String> {
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let text = crate::files::read(folder, path, MAX_REPORT).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not a JSON report of psconform run: {e}", path.display()))
}
