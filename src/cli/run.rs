//! `psconform run`, wired: the settings (and `--require`) and the redactor, the plan, the
//! contract set, the HTTP client, the target (a real one, or the built-in simulator started
//! here), the signals, the selection, the preflight, then `run::execute` with the terminal and
//! the report files listening, then the contracts and reports written, the leftovers said
//! last, and the exit code the run result gives.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::commands::{contracts_checked, load_suite};
use super::config::{RunConfig, TargetConfig};
use crate::coverage::{Catalog, Coverage};
use crate::fixture::{Fixture, FixtureConfig};
use crate::plan::{CaseRef, Suite};
use crate::report::files::{self, Reports};
use crate::report::terminal::Printer;
use crate::report::terminal::printer::filtered_out;
use crate::report::{ContractsMeta, RunMeta};
use crate::result::Exit;
use crate::result::run::Final;
use crate::run::http::Http;
use crate::run::{Contracts, Gate, Listener, OutputClosed, RunContext, Stop, Target, execute, preflight};
use crate::seal::Redactor;
use crate::secret::SecretStore;
use crate::settings::Settings;
use crate::shape::ContractSet;
use crate::shape::contract::Read;
use crate::shape::update::{self, Notes, Update};
use crate::simulator::{self, Listen, SimConfig, SimState, Simulator};

/// `psconform run`.
pub fn run(config: RunConfig) -> Exit {
    let started_at = crate::report::now_rfc3339();
    let env_settings = Settings::from_env();
    let settings = match &config.target {
        TargetConfig::Real(_) => env_settings,
        TargetConfig::Simulator { .. } => simulator::generate_missing(env_settings),
    };
    let redactor = Redactor::new(vec![SecretStore::configured(settings.secret_values())]);
    crate::logging::set_redactor(redactor.clone());
    let missing: Vec<String> = config
        .require
        .iter()
        .flat_map(|r| r.settings().iter().map(move |s| (r, *s)))
        .filter(|(_, s)| settings.get(s).is_none())
        .map(|(r, s)| {
            let env = crate::settings::SETTINGS.iter().find(|i| i.var == s).map_or(s, |i| i.env);
            format!("{env} (--require {})", r.name())
        })
        .collect();
    if !missing.is_empty() {
        anstream::eprintln!("error: required settings are not set: {}; nothing was sent", missing.join(", "));
        return Exit::Invalid;
    }
    let reports_asked =
        config.outputs.junit.is_some() || config.outputs.report.is_some() || config.outputs.html.is_some();
    super::commands::announce(&config.cases);
    // The contracts are read before the suite (what reading them takes is given back before
    // the suite's plans are kept) and judged after it (a broken case file is named first). A
    // run that writes no contract compares shapes only: the files' lists of cases are left
    // unread (a large suite's contracts name every case).
    let what = if config.contracts.keeps() { Read::Whole } else { Read::Shapes };
    let read = config.contracts.observes().then(|| ContractSet::load_as(&config.contracts.dir, what));
    // Started before the suite is loaded: its threads then take their allocator heaps first,
    // and the test threads take over the heaps the loading threads leave, with the room they
    // freed (started after, the test threads each made a heap of their own).
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            anstream::eprintln!("error: cannot start the async runtime: {e}");
            return Exit::NothingRan;
        }
    };
    let suite = match load_suite(std::slice::from_ref(&config.cases), reports_asked, &redactor) {
        Ok(s) => s,
        Err(e) => return e,
    };
    crate::run::warn_short_secrets(&settings);
    let contracts = if let Some(read) = read {
        let set = match contracts_checked(read, &redactor) {
            Ok(s) => s,
            Err(e) => return e,
        };
        Some(Contracts {
            set,
            compare: config.contracts.compare,
            strict: config.contracts.strict,
            accepting: config.contracts.update != Update::None,
            keep: config.contracts.keeps(),
            observed: Default::default(),
            effective: Default::default(),
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
    let (target, sim) = match start_target(&config.target, &settings, &rt) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let stop = Stop::default();
    match Signals::listen(&rt) {
        Ok(signals) => {
            rt.spawn(signals.watch(stop.clone()));
        }
        Err(e) => anstream::eprintln!("warning: cannot listen for signals: {e}; Ctrl-C stops the run at once"),
    }
    let ctx = RunContext {
        rt: rt.handle().clone(),
        http,
        target,
        settings,
        redactor: redactor.clone(),
        policy: config.policy,
        contracts,
        eval_budget: config.eval_budget,
        strict: config.strict,
        stop,
        gate: Gate::default(),
    };
    let exit = run_cases(&config, ctx, &suite, &redactor, started_at);
    if let Some(sim) = sim {
        rt.block_on(sim.stop());
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    exit
}

/// The target: the URL given, or the built-in simulator started on a loopback port.
fn start_target(
    config: &TargetConfig,
    settings: &Settings,
    rt: &tokio::runtime::Runtime,
) -> Result<(Target, Option<Builtin>), Exit> {
    match config {
        TargetConfig::Real(url) => {
            let target = Target {
                base_url: url.clone(),
                builtin: false,
                faults: Vec::new(),
                profile: Default::default(),
                data: Default::default(),
            };
            Ok((target, None))
        }
        TargetConfig::Simulator { profile, faults, data, vary } => {
            let sim_config = SimConfig {
                settings: settings.clone(),
                state: SimState::default(),
                faults: faults.clone(),
                profile: *profile,
                data: *data,
            };
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let sim = match rt.block_on(Simulator::start(sim_config, addr, Listen::Plain)) {
                Ok(sim) => sim,
                Err(e) => {
                    anstream::eprintln!("error: cannot start the built-in simulator: {e}");
                    return Err(Exit::NothingRan);
                }
            };
            let fixture = match vary {
                None => None,
                Some(seed) => {
                    let catalog = crate::catalog::Catalog::shared().map_err(|e| {
                        anstream::eprintln!("error: {e}");
                        Exit::Invalid
                    })?;
                    let config = FixtureConfig {
                        upstream: sim.base_url().clone(),
                        seed: *seed,
                        freedoms: Default::default(),
                        violation: None,
                    };
                    match rt.block_on(Fixture::start(config, catalog)) {
                        Ok(f) => Some(f),
                        Err(e) => {
                            anstream::eprintln!("error: cannot start the model-driven fixture: {e}");
                            return Err(Exit::NothingRan);
                        }
                    }
                }
            };
            let target = Target {
                base_url: fixture.as_ref().map_or_else(|| sim.base_url().clone(), |f| f.base_url().clone()),
                builtin: true,
                faults: faults.clone(),
                profile: *profile,
                data: *data,
            };
            Ok((target, Some(Builtin { sim, fixture })))
        }
    }
}

/// The built-in simulator a run started, and the fixture in front of it.
struct Builtin {
    sim: Simulator,
    fixture: Option<Fixture>,
}

impl Builtin {
    async fn stop(self) {
        if let Some(f) = self.fixture {
            f.stop().await;
        }
        self.sim.stop().await;
    }
}

/// SIGINT (Ctrl-C), SIGTERM (what `docker stop`, GitLab's cancel and GitHub Actions send) and
/// SIGHUP (a closed terminal), listened for before anything is sent. The first of any of them
/// stops the run: no new case or step starts, waits and poll intervals end at once, and every
/// running case's teardown runs (a released credential is checked in). A second one ends the
/// process at once, with the shell's code for that signal.
struct Signals {
    #[cfg(unix)]
    streams: [(tokio::signal::unix::Signal, &'static str, i32); 3],
}

impl Signals {
    #[cfg(unix)]
    fn listen(rt: &tokio::runtime::Runtime) -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let _inside = rt.enter();
        Ok(Signals {
            streams: [
                (signal(SignalKind::interrupt())?, "SIGINT", 130),
                (signal(SignalKind::terminate())?, "SIGTERM", 143),
                (signal(SignalKind::hangup())?, "SIGHUP", 129),
            ],
        })
    }

    #[cfg(not(unix))]
    fn listen(_rt: &tokio::runtime::Runtime) -> std::io::Result<Signals> {
        Ok(Signals {})
    }

    /// The next signal's name and exit code.
    #[cfg(unix)]
    async fn next(&mut self) -> (&'static str, i32) {
        let [(int, i, ic), (term, t, tc), (hup, h, hc)] = &mut self.streams;
        tokio::select! {
            _ = int.recv() => (*i, *ic),
            _ = term.recv() => (*t, *tc),
            _ = hup.recv() => (*h, *hc),
        }
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> (&'static str, i32) {
        let _ = tokio::signal::ctrl_c().await;
        ("Ctrl-C", 130)
    }

    async fn watch(mut self, stop: Stop) {
        let (first, _) = self.next().await;
        stop.ask();
        eprintln!(
            "\npsconform: {first}: stopping; running cases finish their current step and their teardown (a second signal stops at once)"
        );
        let (second, code) = self.next().await;
        eprintln!("psconform: {second} again: stopping at once");
        std::process::exit(code);
    }
}

/// The terminal and the report files, hearing of each case as it becomes final.
struct Outputs {
    printer: Printer,
    /// Standard output was closed: nothing more is printed.
    closed: bool,
    reports: Option<Reports>,
    notes: Notes,
    strict: bool,
    /// Observed expectations that did not hold (and, without `--strict`, did not fail).
    observed: Vec<String>,
}

impl Listener for Outputs {
    fn finished(&mut self, done: &Final) -> Result<(), OutputClosed> {
        let c = done.case.get();
        for s in &c.steps {
            if let Some(v) = &s.contract {
                self.notes.add(&c.name, s.index, v, self.strict);
            }
            for o in s.outcomes.iter().filter(|o| !o.passed && o.observed.as_ref().is_some_and(|obs| !obs.fails)) {
                let on = o.observed.as_ref().map_or("", |obs| obs.on.as_str());
                self.observed.push(format!(
                    "  {} step {}: {} expected {}, got {} (observed on {on})",
                    c.name, s.index, o.subject, o.expected, o.actual
                ));
            }
        }
        if let Some(r) = &mut self.reports {
            r.add(&done.case);
        }
        if self.closed {
            return Ok(());
        }
        self.printer.case(&done.case).map_err(|_| {
            self.closed = true;
            OutputClosed
        })
    }
}

/// The cases of a suite a run's filter keeps: all of them, or those marked.
struct Selection<'a> {
    all: &'a [CaseRef],
    /// Whether the filter keeps each case; none when it keeps all (a list of a large suite's
    /// cases is memory a run holds to its end).
    kept: Option<Vec<bool>>,
    len: usize,
}

impl<'a> Selection<'a> {
    /// The cases `keep` keeps (handed a buffer to write a name into).
    fn of(all: &'a [CaseRef], mut keep: impl FnMut(&CaseRef, &mut String) -> bool) -> Selection<'a> {
        let (mut name, mut kept, mut len) = (String::new(), None::<Vec<bool>>, 0);
        for (i, case) in all.iter().enumerate() {
            let keeps = keep(case, &mut name);
            len += usize::from(keeps);
            if !keeps && kept.is_none() {
                let mut marks = Vec::with_capacity(all.len());
                marks.resize(i, true);
                kept = Some(marks);
            }
            if let Some(marks) = &mut kept {
                marks.push(keeps);
            }
        }
        Selection { all, kept, len }
    }

    fn iter(&self) -> impl Iterator<Item = &'a CaseRef> + Send + use<'a, '_> {
        let kept = self.kept.as_deref();
        self.all.iter().enumerate().filter(move |(i, _)| kept.is_none_or(|k| k.get(*i) == Some(&true))).map(|(_, c)| c)
    }

    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn run_cases(config: &RunConfig, mut ctx: RunContext, suite: &Suite, redactor: &Redactor, started_at: String) -> Exit {
    let all = &suite.cases;
    let selected = Selection::of(all, |c, name| {
        suite.name_into(name, c);
        !filtered_out(&config.harness, name)
    });
    if selected.is_empty() {
        let filter = config.harness.filter.as_deref().unwrap_or("");
        anstream::eprintln!(
            "error: no case matches the filter `{}` (of {} cases); `psconform list` shows their names",
            redactor.text(filter),
            all.len()
        );
        return Exit::NothingRan;
    }
    let names = || selected.iter().map(|c| suite.name(c));
    let mut printer = match Printer::new(&config.harness, names()) {
        Ok(p) => p,
        Err(e) => {
            anstream::eprintln!("error: cannot write the log file: {e}");
            return Exit::Invalid;
        }
    };
    if config.harness.list {
        return if printer.list(names()).is_ok() { Exit::Passed } else { Exit::OutputFailed };
    }
    let what = if ctx.target.builtin { "the built-in simulator at " } else { "" };
    anstream::eprintln!(
        "psconform: {} case{} against {what}{}",
        selected.len(),
        if selected.len() == 1 { "" } else { "s" },
        ctx.target.base_url
    );
    // Decided before any result is printed: which sign-ins work, which areas are offered.
    let pre = ctx.rt.block_on(preflight(&ctx, selected.iter().map(|c| suite.needs(c))));
    ctx.gate = pre.gate;
    let ctx = Arc::new(ctx);
    let ctx = &ctx;
    let paths = files::Paths {
        junit: config.outputs.junit.clone(),
        json: config.outputs.report.clone(),
        html: config.outputs.html.clone(),
    };
    let reports = if paths.any() {
        match Reports::new(paths) {
            Ok(r) => Some(r),
            Err(e) => {
                anstream::eprintln!("error: cannot spool the reports: {e}");
                return Exit::OutputFailed;
            }
        }
    } else {
        None
    };
    let closed = printer.title(selected.len() + pre.findings.len()).is_err();
    if closed {
        // Nothing is started: the reports say every case was interrupted.
        ctx.stop.ask();
        anstream::eprintln!("psconform: standard output was closed; no case is started");
    }
    let mut outputs = Outputs {
        printer,
        closed,
        reports,
        notes: Notes::default(),
        strict: config.contracts.strict,
        observed: Vec::new(),
    };
    let threads = config
        .harness
        .test_threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let started = Instant::now();
    let mut run = execute(suite, selected.iter(), pre.findings, ctx, threads, all.len() - selected.len(), &mut outputs);
    let elapsed = started.elapsed();
    if outputs.closed && !run.output_closed {
        // Closed before the first case: the stop was the closed output's, not an interruption.
        run.output_closed = true;
        run.interrupted = false;
    }
    if !outputs.closed && outputs.printer.end(&run, elapsed).is_err() {
        run.output_closed = true;
    }
    for line in crate::report::terminal::verdict_lines(&run, ctx.target.base_url.as_str()) {
        anstream::eprintln!("{line}");
    }
    if !outputs.observed.is_empty() {
        anstream::eprintln!(
            "observed: {} expectation(s) of observed behaviour did not hold; the documentation does not make them, so they fail only with --strict:\n{}",
            outputs.observed.len(),
            outputs.observed.join("\n")
        );
    }
    let mut drift = None;
    if let Some(contracts) = &ctx.contracts {
        let complete =
            config.harness.filter.is_none() && config.harness.skip.is_empty() && run.summary.passed == selected.len();
        let seen = contracts.observed.seen();
        let observed = contracts.observed.take();
        let cc = &config.contracts;
        let quiet = !cc.compare;
        let dir = cc.dir.display().to_string();
        let missing_hint = !cc.strict && cc.update == Update::None;
        for line in crate::report::terminal::contract_lines(&outputs.notes, &dir, missing_hint).filter(|_| !quiet) {
            anstream::eprintln!("{line}");
        }
        let done = update::finish(&config.contracts, &contracts.set, &observed, &seen, complete, redactor);
        for (n, what, dir) in &done.written {
            anstream::eprintln!("contracts: {n} {what} {}", dir.display());
        }
        if cc.update != Update::None {
            let documented = observed.values().filter(|c| has_documented_model(c)).count();
            if documented > 0 {
                anstream::eprintln!(
                    "contracts: {documented} of the {} updated have a documented model in catalog/models/: the \
                     recordings add only what it is silent on (undocumented fields, cookies, media types), and \
                     never change a documented field's type, null or presence",
                    observed.len()
                );
            }
        }
        if !done.unused.is_empty() {
            anstream::eprintln!(
                "contracts: {} in {} that no case exercised: {}",
                done.unused.len(),
                config.contracts.dir.display(),
                done.unused.join(", ")
            );
        }
        for e in &done.errors {
            anstream::eprintln!("error: {e}");
        }
        run.outputs_failed |= !done.errors.is_empty();
        if let (Some(path), Some(report)) = (&config.contracts.drift_report, &done.drift) {
            let json = path.extension().is_some_and(|e| e == "json");
            let text = if json { crate::report::drift::json(report) } else { crate::report::drift::markdown(report) };
            if let Err(e) = crate::files::write_bytes(path, text.as_bytes()) {
                anstream::eprintln!("error: cannot write {}: {e}", path.display());
                run.outputs_failed = true;
            }
        }
        drift = done.drift;
    }
    if let Some(reports) = outputs.reports {
        let meta = redactor.seal(run_meta(config, ctx, started_at, elapsed));
        let names: Vec<(String, &[_])> = all.iter().map(|c| (suite.name(c), suite.exercised(c))).collect();
        let coverage = Catalog::builtin()
            .ok()
            .map(|c| redactor.seal(Coverage::of_exercised(&c, crate::coverage::requests(&names), &run.observed)));
        let problems = reports.finish(files::Context {
            meta: &meta,
            run: &run,
            coverage: coverage.as_ref(),
            drift: drift.as_ref(),
        });
        for p in &problems {
            anstream::eprintln!("error: {p}");
        }
        run.outputs_failed |= !problems.is_empty();
    }
    // Last, where nobody can miss them: releases that may still be open on the target.
    for line in crate::report::terminal::leftover_lines(&run) {
        anstream::eprintln!("{line}");
    }
    run.exit()
}

/// What a report says of the run itself.
fn run_meta(config: &RunConfig, ctx: &RunContext, started: String, duration: Duration) -> RunMeta {
    let t = &ctx.target;
    RunMeta {
        psconform: env!("CARGO_PKG_VERSION").to_owned(),
        target: shown_target(&t.base_url),
        product_version: None,
        simulator: t.builtin.then(|| {
            let faults: Vec<&str> = t.faults.iter().map(|f| f.name()).collect();
            let mut s = format!("profile {}, data {}", t.profile, t.data);
            if !faults.is_empty() {
                s.push_str(&format!("; faults {}", faults.join(", ")));
            }
            s
        }),
        started,
        duration,
        options: config.described.clone(),
        contracts: ContractsMeta {
            compared: config.contracts.compare,
            set: config.contracts.dir.display().to_string(),
            strict: config.contracts.strict,
            drift_report: config.contracts.drift_report.as_ref().map(|p| p.display().to_string()),
        },
    }
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

/// Whether the catalog documents the response a contract records (its endpoint and status).
fn has_documented_model(c: &crate::shape::contract::Contract) -> bool {
    crate::catalog::Catalog::shared()
        .ok()
        .and_then(|catalog| catalog.doc_of(&c.key.method, &c.route))
        .is_some_and(|doc| doc.responses.contains_key(&c.key.status))
}

#[cfg(test)]
mod tests {
    use super::Selection;
    use crate::plan::Suite;

    #[test]
    fn a_selection_holds_no_list_when_it_keeps_every_case_and_keeps_the_order_when_it_does_not() {
        let dir = tempfile::tempdir().expect("temp");
        let case = |n: &str| {
            format!(
                "  - name: {n}\n    summary: s\n    effect: read\n    steps:\n      - request: {{ method: GET, path: X }}\n"
            )
        };
        let text = format!("endpoint: X\ncases:\n{}", ["a", "b", "c", "d"].map(case).concat());
        std::fs::write(dir.path().join("t.yaml"), text).expect("write");
        let suite = Suite::load(&[dir.path().to_path_buf()], &[], false).expect("valid");
        let names = |s: &Selection| s.iter().map(|c| suite.name(c)).collect::<Vec<_>>();
        let all = Selection::of(&suite.cases, |_, _| true);
        assert!(all.kept.is_none());
        assert_eq!((all.len(), names(&all)), (4, vec!["t::a".to_owned(), "t::b".into(), "t::c".into(), "t::d".into()]));
        let some = Selection::of(&suite.cases, |c, name| {
            suite.name_into(name, c);
            name.as_str() != "t::a" && name.as_str() != "t::c"
        });
        assert_eq!((some.len(), names(&some)), (2, vec!["t::b".to_owned(), "t::d".into()]));
        let none = Selection::of(&suite.cases, |_, _| false);
        assert!(none.is_empty() && names(&none).is_empty());
    }
}
