//! The commands: `run`, `list`, `validate`, `drift`, `schema` (`serve` lives with the
//! simulator). Each reads a checked configuration, and returns an [`Exit`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::args::{CoverageArgs, DriftArgs, ListArgs, ValidateArgs};
use super::config::{RunConfig, TargetConfig, Update};
use crate::case::Diagnostic;
use crate::coverage::{Catalog, Coverage};
use crate::plan::{CasePlan, Plan};
use crate::report::drift::{self, DriftReport};
use crate::report::list::{self, Entry};
use crate::report::{RunMeta, RunReport};
use crate::result::{CaseResult, Exit, IgnoreReason, Outcome};
use crate::run::http::Http;
use crate::run::{Contracts, RunContext, Target, configured_store};
use crate::seal::{Redacted, Redactor};
use crate::settings::Settings;
use crate::shape::{Contract, ContractSet, Mode, Severity, VerdictStatus, compare};
use crate::simulator::{self, Listen, SimConfig, SimState, Simulator};

fn state_names() -> Vec<&'static str> {
    SimState::NAMES.iter().map(|(n, _)| *n).collect()
}

/// Prints diagnostics, redacted.
fn print_diagnostics(diags: Vec<Diagnostic>, redactor: &Redactor) {
    let files: std::collections::BTreeSet<_> = diags.iter().map(|d| d.file.clone()).collect();
    let count = diags.len();
    for d in diags {
        anstream::eprintln!("{}", redactor.seal(d).get().render());
    }
    let s = if count == 1 { "" } else { "s" };
    anstream::eprintln!("error: {count} problem{s} in {} file(s); nothing was sent", files.len());
}

fn load(roots: &[PathBuf], redactor: &Redactor) -> Result<Plan, Exit> {
    match crate::plan::compile(roots, &state_names()) {
        Ok(plan) => {
            for d in &plan.skipped {
                anstream::eprintln!("warning: {}", redactor.text(&format!("{}: {}", d.location(), d.message)));
            }
            Ok(plan)
        }
        Err(diags) => {
            print_diagnostics(diags, redactor);
            Err(Exit::Invalid)
        }
    }
}

/// A redactor for commands that send nothing: it knows the configured credentials, so a case
/// file or a diagnostic that quotes one does not print it.
fn env_redactor() -> Redactor {
    Redactor::new(vec![configured_store(&Settings::from_env())])
}

/// `psconform validate`.
pub fn validate(args: &ValidateArgs) -> Exit {
    let roots = if args.paths.is_empty() { vec![PathBuf::from("cases")] } else { args.paths.clone() };
    let redactor = env_redactor();
    match load(&roots, &redactor) {
        Ok(plan) => {
            println!("ok: {} cases in {} files are valid", plan.cases.len(), plan.files);
            Exit::Passed
        }
        Err(e) => e,
    }
}

/// `psconform list`.
pub fn list(args: &ListArgs) -> Exit {
    let redactor = env_redactor();
    let plan = match load(std::slice::from_ref(&args.cases), &redactor) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let entries: Vec<Entry> = plan
        .cases
        .iter()
        .filter(|c| args.filter.as_ref().is_none_or(|f| c.name.contains(f.as_str())))
        .map(Entry::of)
        .collect();
    let entries = redactor.seal(entries);
    print!("{}", if args.json { list::json(&entries) } else { list::text(&entries) });
    Exit::Passed
}

/// Loads a contract set, printing every problem (exit 2).
fn load_contracts(dir: &Path, redactor: &Redactor) -> Result<ContractSet, Exit> {
    ContractSet::load(dir).map_err(|errors| {
        for e in &errors {
            anstream::eprintln!("error: {}", redactor.text(&e.to_string()));
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
    print!("{}", if args.json { drift::json(&report) } else { drift::markdown(&report) });
    if let Some(path) = &args.html {
        let page = crate::report::html::drift_page(&report, env!("CARGO_PKG_VERSION"), &crate::report::now_rfc3339());
        if !write(path, &page) {
            return Exit::OutputFailed;
        }
    }
    report.get().exit()
}

/// `psconform coverage`.
pub fn coverage(args: &CoverageArgs) -> Exit {
    let redactor = env_redactor();
    let plan = match load(std::slice::from_ref(&args.cases), &redactor) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let catalog = match Catalog::builtin() {
        Ok(c) => c,
        Err(e) => {
            anstream::eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let results = match &args.report {
        None => Vec::new(),
        Some(path) => match read_report_cases(path) {
            Ok(r) => r,
            Err(e) => {
                anstream::eprintln!("error: {e}");
                return Exit::Invalid;
            }
        },
    };
    let matrix = redactor.seal(Coverage::of(&catalog, &plan.cases, &results));
    let text = if args.json {
        serde_json::to_string_pretty(matrix.get()).unwrap_or_default() + "\n"
    } else if args.markdown {
        matrix.get().markdown()
    } else {
        matrix.get().terminal()
    };
    print!("{text}");
    Exit::Passed
}

/// The cases of a JSON run report, as far as coverage needs them: each step's request line
/// and status.
fn read_report_cases(path: &Path) -> Result<Vec<CaseResult>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not a JSON report: {e}", path.display()))?;
    let cases = v["cases"].as_array().ok_or_else(|| format!("{} has no `cases`", path.display()))?;
    Ok(cases
        .iter()
        .map(|c| {
            let steps = c["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|s| {
                    let mut step = crate::result::StepResult::new(
                        crate::result::Phase::Step,
                        0,
                        String::new(),
                        Default::default(),
                    );
                    step.status = s["status"].as_u64().and_then(|n| u16::try_from(n).ok());
                    step.request = s.get("request").map(|r| crate::result::RequestLine {
                        method: r["method"].as_str().unwrap_or("").to_owned(),
                        path: r["path"].as_str().unwrap_or("").to_owned(),
                        route: r["route"].as_str().map(str::to_owned),
                    });
                    step
                })
                .collect();
            CaseResult {
                name: c["name"].as_str().unwrap_or("").to_owned(),
                file: String::new(),
                line: 0,
                endpoint: String::new(),
                summary: String::new(),
                source: None,
                outcome: Outcome::Passed,
                duration: Duration::ZERO,
                steps,
            }
        })
        .collect())
}

/// `psconform run`.
pub fn run(config: RunConfig) -> Exit {
    let started_at = crate::report::now_rfc3339();
    let env_settings = Settings::from_env();
    let settings = match &config.target {
        TargetConfig::Real(_) => env_settings,
        TargetConfig::Simulator { .. } => simulator::generate_missing(env_settings),
    };
    let redactor = Redactor::new(vec![configured_store(&settings)]);
    crate::logging::set_redactor(redactor.clone());
    let plan = match load(std::slice::from_ref(&config.cases), &redactor) {
        Ok(p) => p,
        Err(e) => return e,
    };
    crate::run::warn_short_secrets(&settings);
    let contracts = if config.contracts.observes() {
        let set = match load_contracts(&config.contracts.dir, &redactor) {
            Ok(s) => s,
            Err(e) => return e,
        };
        Some(Contracts {
            set,
            compare: config.contracts.compare,
            strict: config.contracts.strict,
            accepting: config.contracts.update != Update::None,
            observed: Default::default(),
        })
    } else {
        None
    };
    let http = match Http::new(config.http.clone()) {
        Ok(h) => Arc::new(h),
        Err(e) => {
            anstream::eprintln!("error: {}", redactor.text(&e.to_string()));
            return Exit::Invalid;
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            anstream::eprintln!("error: cannot start the async runtime: {e}");
            return Exit::NothingRan;
        }
    };
    let (target, sim) = match &config.target {
        TargetConfig::Real(url) => {
            let target = Target {
                base_url: url.clone(),
                builtin: false,
                faults: Vec::new(),
                profile: Default::default(),
                data: Default::default(),
            };
            (target, None)
        }
        TargetConfig::Simulator { profile, faults, data } => {
            let sim_config = SimConfig {
                settings: settings.clone(),
                state: SimState::default(),
                faults: faults.clone(),
                profile: *profile,
                data: *data,
            };
            match rt.block_on(Simulator::start(
                sim_config,
                std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                Listen::Plain,
            )) {
                Ok(sim) => {
                    let target = Target {
                        base_url: sim.base_url().clone(),
                        builtin: true,
                        faults: faults.clone(),
                        profile: *profile,
                        data: *data,
                    };
                    (target, Some(sim))
                }
                Err(e) => {
                    anstream::eprintln!("error: cannot start the built-in simulator: {e}");
                    return Exit::NothingRan;
                }
            }
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let ctx = Arc::new(RunContext {
        rt: rt.handle().clone(),
        http,
        target,
        settings,
        redactor: redactor.clone(),
        policy: config.policy,
        records: Default::default(),
        contracts,
        eval_budget: config.eval_budget,
        interrupted: Arc::clone(&interrupted),
    });
    rt.spawn(watch_interrupt(interrupted));
    let exit = execute(&config, &ctx, plan, &redactor, started_at);
    if let Some(sim) = sim {
        rt.block_on(sim.stop());
    }
    drop(ctx);
    rt.shutdown_timeout(Duration::from_secs(2));
    exit
}

/// The first Ctrl-C lets running cases finish their current step and their teardown (a
/// released credential is checked in); a second one ends the process.
async fn watch_interrupt(flag: Arc<AtomicBool>) {
    if tokio::signal::ctrl_c().await.is_err() {
        return;
    }
    flag.store(true, Ordering::SeqCst);
    eprintln!("\npsconform: interrupted; finishing running steps and their teardown (Ctrl-C again to stop at once)");
    if tokio::signal::ctrl_c().await.is_ok() {
        std::process::exit(130);
    }
}

fn execute(config: &RunConfig, ctx: &Arc<RunContext>, plan: Plan, redactor: &Redactor, started_at: String) -> Exit {
    let cases: Vec<Arc<CasePlan>> = plan.cases.into_iter().map(Arc::new).collect();
    let trials = crate::run::trials(ctx, &cases);
    let selected = trials.iter().filter(|t| !config.harness.is_filtered_out(t)).count();
    if selected == 0 {
        let filter = config.harness.filter.as_deref().unwrap_or("");
        anstream::eprintln!(
            "error: no case matches the filter `{}` (of {} cases); `psconform list` shows their names",
            redactor.text(filter),
            cases.len()
        );
        return Exit::NothingRan;
    }
    if !config.harness.list {
        let what = if ctx.target.builtin { "the built-in simulator at " } else { "" };
        anstream::eprintln!(
            "psconform: {selected} case{} against {what}{}",
            if selected == 1 { "" } else { "s" },
            ctx.target.base_url
        );
    }
    let started = Instant::now();
    let conclusion = libtest_mimic::run(&config.harness, trials);
    let total = started.elapsed();
    if config.harness.list {
        return Exit::Passed;
    }
    let mut results = ctx.results();
    offered_after_all(&mut results, redactor);
    let mut exit = Exit::of_cases(&results.iter().map(|r| r.get().clone()).collect::<Vec<_>>());
    if conclusion.num_passed == 0 && conclusion.num_failed == 0 {
        anstream::eprintln!(
            "error: nothing ran: {} cases were ignored (the reasons are listed above)",
            conclusion.num_ignored
        );
        exit = Exit::NothingRan;
    } else if exit == Exit::NothingRan && results.iter().any(|r| r.get().unreachable()) {
        anstream::eprintln!("error: the target could not be reached at all: {}", ctx.target.base_url);
    }
    summarize_ignored(&results);
    if ctx.interrupted.load(Ordering::Relaxed) {
        exit = exit.max(Exit::Failed);
        anstream::eprintln!("psconform: the run was interrupted; the cases it did not finish count as failed");
    }
    let meta = RunMeta {
        psconform: env!("CARGO_PKG_VERSION").to_owned(),
        target: shown_target(&ctx.target.base_url),
        product_version: None,
        simulator: ctx.target.builtin.then(|| {
            let faults: Vec<&str> = ctx.target.faults.iter().map(|f| f.name()).collect();
            let mut s = format!("profile {}, data {}", ctx.target.profile, ctx.target.data);
            if !faults.is_empty() {
                s.push_str(&format!("; faults {}", faults.join(", ")));
            }
            s
        }),
        started: started_at,
        duration: total,
        options: config.described.clone(),
        contracts: crate::report::ContractsMeta {
            compared: config.contracts.compare,
            set: config.contracts.dir.display().to_string(),
            strict: config.contracts.strict,
            drift_report: config.contracts.drift_report.as_ref().map(|p| p.display().to_string()),
        },
    };
    let mut output_failed = false;
    // The report (and the coverage it carries) is only worth building when one is written.
    let outputs = &config.outputs;
    let report = (outputs.junit.is_some() || outputs.report.is_some() || outputs.html.is_some()).then(|| {
        let plain: Vec<CaseResult> = results.iter().map(|r| r.get().clone()).collect();
        let coverage = Catalog::builtin().ok().map(|c| Coverage::of(&c, cases.iter().map(|c| c.as_ref()), &plain));
        RunReport::new(meta, &results, exit, coverage, redactor)
    });
    if let Some(report) = &report {
        if let Some(path) = &config.outputs.junit {
            match crate::report::junit::render(report) {
                Ok(xml) => output_failed |= !write(path, &xml),
                Err(e) => {
                    anstream::eprintln!("error: cannot write the JUnit report: {e}");
                    output_failed = true;
                }
            }
        }
        if let Some(path) = &config.outputs.report {
            output_failed |= !write(path, &crate::report::json::render(report));
        }
    }
    let mut drift = None;
    if let Some(contracts) = &ctx.contracts {
        let (ok, d) = finish_contracts(config, contracts, &results, redactor);
        output_failed |= !ok;
        drift = d;
    }
    // Last, so the page can show the drift the contracts gave.
    if let (Some(path), Some(report)) = (&config.outputs.html, &report) {
        output_failed |= !write(path, &crate::report::html::run_page(report, drift.as_ref()));
    }
    if output_failed { Exit::OutputFailed } else { exit }
}

/// A base URL as a report shows it: no credentials, no query.
fn shown_target(url: &url::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// A case reported as "not offered" while another case of the run got an answer from the
/// same endpoint was not about a missing area: it counts as failed.
fn offered_after_all(results: &mut [crate::seal::Redacted<CaseResult>], redactor: &Redactor) {
    let answered: std::collections::BTreeSet<String> = results
        .iter()
        .flat_map(|r| r.get().steps.iter())
        .filter(|s| s.status.is_some_and(|c| c != 404))
        .filter_map(|s| s.request.as_ref().map(|l| endpoint_key(&l.method, l.route.as_deref().unwrap_or(&l.path))))
        .collect();
    for r in results.iter_mut() {
        let Outcome::Ignored(IgnoreReason::NotOffered { endpoint }) = &r.get().outcome else { continue };
        let (method, route) = endpoint.split_once(' ').unwrap_or(("", endpoint));
        if answered.contains(&endpoint_key(method, route)) {
            let mut case = r.get().clone();
            anstream::eprintln!(
                "{}: reported as not offered, but {endpoint} answered in another case: counted as failed",
                case.name
            );
            case.outcome = Outcome::Failed;
            *r = redactor.seal(case);
        }
    }
}

fn endpoint_key(method: &str, route: &str) -> String {
    format!("{method} {}", crate::shape::contract::normalize_route(route))
}

fn summarize_ignored(results: &[crate::seal::Redacted<CaseResult>]) {
    // One line per endpoint, however the case files spell its route.
    let mut not_offered: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for r in results {
        if let Outcome::Ignored(IgnoreReason::NotOffered { endpoint }) = &r.get().outcome {
            let (method, route) = endpoint.split_once(' ').unwrap_or(("", endpoint));
            let entry = not_offered.entry(endpoint_key(method, route)).or_insert_with(|| (endpoint.clone(), 0));
            entry.1 += 1;
        }
    }
    if !not_offered.is_empty() {
        anstream::eprintln!("not offered by the target (it answered 404; these cases are ignored, not failed):");
        for (endpoint, n) in not_offered.into_values() {
            anstream::eprintln!("  {endpoint}: {n} case(s)");
        }
    }
}

/// Writes a report; says why when it cannot.
fn write(path: &Path, text: &str) -> bool {
    match std::fs::write(path, text) {
        Ok(()) => true,
        Err(e) => {
            anstream::eprintln!("error: cannot write {}: {e}", path.display());
            false
        }
    }
}

/// Reports what the run found of the contracts, and writes what it was asked to write. Returns
/// whether every write worked, and the drift report when one was asked for.
fn finish_contracts(
    config: &RunConfig,
    contracts: &Contracts,
    results: &[crate::seal::Redacted<CaseResult>],
    redactor: &Redactor,
) -> (bool, Option<Redacted<DriftReport>>) {
    let cc = &config.contracts;
    let observed: BTreeMap<String, Contract> =
        contracts.observed.take().into_iter().map(|(k, c)| (k, redactor.seal(c).into_inner())).collect();
    let mut additive = Vec::new();
    let mut missing = std::collections::BTreeSet::new();
    let mut info = 0;
    for (case, step) in results.iter().flat_map(|r| r.get().steps.iter().map(move |s| (r.get(), s))) {
        let Some(v) = &step.contract else { continue };
        match v.status {
            VerdictStatus::Missing => {
                missing.insert(v.contract.clone());
            }
            VerdictStatus::Additive if !cc.strict => {
                for c in v.changes.iter().filter(|c| c.severity == Severity::Additive) {
                    additive.push(format!("  {} step {}: {} ({})", case.name, step.index, c.line(), v.contract));
                }
            }
            _ => {}
        }
        info += v.changes.iter().filter(|c| c.severity == Severity::Info).count();
    }
    if cc.compare {
        if !additive.is_empty() {
            anstream::eprintln!(
                "contracts: {} additive change(s), not failing (--strict-shapes makes them fail):\n{}",
                additive.len(),
                additive.join("\n")
            );
        }
        if !missing.is_empty() && !cc.strict && cc.update == Update::None {
            anstream::eprintln!(
                "contracts: {} endpoint response(s) have no contract in {} (--update-snapshots adds them)",
                missing.len(),
                cc.dir.display()
            );
        }
        if info > 0 {
            anstream::eprintln!(
                "contracts: {info} string format hint(s) differ from the contracts (information, never failing)"
            );
        }
    }
    let mut ok = true;
    let mut write_set = |dir: &Path, set: Vec<&Contract>, what: &str| match crate::shape::contract::write_all(dir, set)
    {
        Ok(paths) if !paths.is_empty() => anstream::eprintln!("contracts: {} {what} {}", paths.len(), dir.display()),
        Ok(_) => {}
        Err(e) => {
            anstream::eprintln!("error: {e}");
            ok = false;
        }
    };
    if let Some(dir) = &cc.record {
        write_set(dir, observed.values().collect(), "recorded in");
    }
    let merged: BTreeMap<&String, Contract> = observed
        .iter()
        .map(|(name, c)| {
            let m = match contracts.set.contracts.get(name) {
                Some(existing) => existing.clone().merge(c.clone()),
                None => c.clone(),
            };
            (name, m)
        })
        .collect();
    match cc.update {
        Update::Merge => write_set(&cc.dir, merged.values().collect(), "merged into"),
        Update::Replace => write_set(&cc.dir, observed.values().collect(), "replaced in"),
        Update::None => {}
    }
    if let Some(dir) = &cc.pending {
        let pending: Vec<&Contract> = merged
            .iter()
            .filter(|(name, _)| {
                let o = &observed[**name];
                match contracts.set.contracts.get(name.as_str()) {
                    None => true,
                    Some(existing) => {
                        compare(&existing.shape, &o.shape, Mode::Conform).iter().any(|c| c.severity != Severity::Info)
                    }
                }
            })
            .map(|(_, c)| c)
            .collect();
        write_set(dir, pending, "written for review to");
    }
    let mut drift = None;
    if let Some(path) = &cc.drift_report {
        let baseline: BTreeMap<String, Contract> = contracts
            .set
            .contracts
            .iter()
            .filter(|(k, _)| observed.contains_key(*k))
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        let report = DriftReport::compare(&cc.dir.display().to_string(), &baseline, "this run", &observed, redactor);
        let text =
            if path.extension().is_some_and(|e| e == "json") { drift::json(&report) } else { drift::markdown(&report) };
        ok &= write(path, &text);
        drift = Some(report);
    }
    // Contracts no case exercised only mean something when every case ran.
    let complete = config.harness.filter.is_none()
        && config.harness.skip.is_empty()
        && results.iter().all(|r| r.get().outcome == Outcome::Passed);
    if complete && cc.compare {
        let unused: Vec<&str> =
            contracts.set.contracts.keys().filter(|k| !observed.contains_key(*k)).map(String::as_str).collect();
        if !unused.is_empty() {
            anstream::eprintln!(
                "contracts: {} in {} that no case exercised: {}",
                unused.len(),
                cc.dir.display(),
                unused.join(", ")
            );
        }
    }
    (ok, drift)
}
