//! The command line: clap structs, turned into a checked configuration before anything runs,
//! and the mapping of every outcome to a documented exit code.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use url::Url;

use std::path::Path;

use crate::case::{self, Suite};
use crate::drift::Report as DriftReport;
use crate::http::{Http, HttpOptions};
use crate::report;
use crate::runner::{self, Policy, RunContext, Target};
use crate::secrets::SecretStore;
use crate::settings::Settings;
use crate::shape::Severity;
use crate::simulator::{self, DataVariant, Fault, Listen, Profile, SimConfig, SimState, Simulator};
use crate::snapshot::{self, Mode, SnapshotOutcome, Snapshots};

/// Exit codes, as documented in the README and `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every selected case passed (or, for `validate`, every file is valid).
    Passed = 0,
    /// At least one case failed.
    Failed = 1,
    /// Invalid case files or usage; no request was sent.
    Invalid = 2,
    /// The target could not be reached at all, or nothing ran.
    NothingRan = 3,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

const EXIT_CODES: &str = "Exit codes:
  0  every selected case passed
  1  at least one case failed
  2  invalid case files or usage (no request is sent)
  3  the target could not be reached at all, or nothing ran
  4  (drift) a breaking shape change; 1 when the changes are only additive";

/// Conformance suite and runner for the BeyondTrust Password Safe public REST API (v3).
#[derive(Debug, Parser)]
#[command(name = "psconform", version, about, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    /// Log requests (-v), and headers and bodies with credentials masked (-vv), to stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the conformance cases against a target (the built-in simulator by default).
    Run(Box<RunArgs>),
    /// List the cases with their tags, effect and needs.
    List(ListArgs),
    /// Check case files without sending anything; every error with file:line:col.
    Validate(ValidateArgs),
    /// Serve the built-in Password Safe simulator.
    Serve(simulator::ServeArgs),
    /// Compare two snapshot sets and report every shape change (exit 0 none, 1 additive only,
    /// 4 breaking).
    Drift(DriftArgs),
    /// Print the JSON Schema of the case format.
    Schema,
}

/// `psconform run`.
#[derive(Debug, Args)]
#[command(
    help_template = "{about-with-newline}\n{usage-heading} {usage}\n\n{all-args}{after-help}",
    after_help = EXIT_CODES,
    mut_arg("bench", |a| a.hide(true)),
    mut_arg("test", |a| a.hide(true)),
    mut_arg("nocapture", |a| a.hide(true)),
    mut_arg("show_output", |a| a.hide(true)),
    mut_arg("unstable_flags", |a| a.hide(true)),
    mut_arg("logfile", |a| a.hide(true)),
)]
pub struct RunArgs {
    /// Base URL of the target, such as https://ps.example.com/BeyondTrust/api/public/v3.
    /// Without it, the built-in simulator is started on a free loopback port.
    #[arg(long, value_name = "URL", env = "PS_TARGET")]
    pub target: Option<Url>,
    /// Folder (or file) of case files.
    #[arg(long, value_name = "DIR", default_value = "cases")]
    pub cases: PathBuf,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report (every case, step and check).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Run cases whose effect is `mutating` against a real target.
    #[arg(long)]
    pub allow_mutations: bool,
    /// Run cases that send a wrong password for the run-as user against a real target.
    #[arg(long)]
    pub allow_lockout_risk: bool,
    /// Run cases that release a managed account's credential (POST Requests, GET Credentials,
    /// check-in) against a real target; they use the account named by PS_ACCOUNT.
    #[arg(long)]
    pub allow_credential_release: bool,
    /// Allow credentials over plain http:// to a host other than loopback.
    #[arg(long)]
    pub allow_plain_http: bool,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub shapes: ShapeArgs,
    /// Run the built-in simulator with a deliberate deviation (for testing psconform itself);
    /// repeatable. `psconform serve --list-faults` lists them.
    #[arg(long = "sim-fault", value_name = "NAME")]
    pub sim_faults: Vec<Fault>,
    /// The release the built-in simulator models: 24.3 (default) or 23.1; see
    /// `psconform serve --list-faults`.
    #[arg(long = "sim-profile", value_name = "NAME", default_value = "24.3")]
    pub sim_profile: Profile,
    /// Which documented shapes the built-in simulator's data takes: standard (default), sparse
    /// or extended; see `psconform serve --list-faults`.
    #[arg(long = "sim-data", value_name = "NAME", default_value = "standard")]
    pub sim_data: DataVariant,
    #[command(flatten, next_help_heading = "Test harness options (as cargo test)")]
    pub harness: libtest_mimic::Arguments,
}

/// Shape snapshot options of `run`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Shape snapshots")]
pub struct ShapeArgs {
    /// The snapshot set to compare with; default `snapshots` beside the cases folder.
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Accept every new or changed shape into the snapshot set.
    #[arg(long)]
    pub update_snapshots: bool,
    /// Fail on additive shape changes and missing snapshots too, not only on breaking ones.
    #[arg(long)]
    pub strict_shapes: bool,
    /// Also write every shape of this run as a complete snapshot set into DIR (a baseline).
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Write a drift report comparing this run's shapes with the snapshot set (Markdown, or
    /// JSON when PATH ends in .json).
    #[arg(long, value_name = "PATH")]
    pub drift_report: Option<PathBuf>,
    /// Do not compare or write snapshots.
    #[arg(long, conflicts_with_all = ["update_snapshots", "strict_shapes"])]
    pub no_snapshots: bool,
}

/// HTTP options of `run`.
#[derive(Debug, Args)]
#[command(next_help_heading = "HTTP options")]
pub struct HttpArgs {
    /// Accept any TLS certificate (test instances with self-signed certificates).
    #[arg(long)]
    pub insecure: bool,
    /// Trust this CA certificate (PEM) as well as the system's.
    #[arg(long, value_name = "PEM")]
    pub ca_cert: Option<PathBuf>,
    /// Client certificate for mutual TLS (PEM); needs --client-key.
    #[arg(long, value_name = "PEM", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// Private key of --client-cert (PEM).
    #[arg(long, value_name = "PEM", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Send every request through this proxy (environment proxies are ignored).
    #[arg(long, value_name = "URL")]
    pub proxy: Option<Url>,
    /// Seconds allowed for one request, body included; connecting gets at most 10 of them.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Largest response body read, such as 16MiB, 512KiB or 1000000; a larger body fails its
    /// step.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = parse_size)]
    pub max_body: u64,
    /// At most this many requests per second (gentle runs against production).
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
}

/// `psconform list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Folder (or file) of case files.
    #[arg(long, value_name = "DIR", default_value = "cases")]
    pub cases: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only cases whose name contains this.
    pub filter: Option<String>,
}

/// `psconform drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The baseline snapshot set, such as snapshots/ps-24.3.
    pub old: PathBuf,
    /// The set to compare with it.
    pub new: PathBuf,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
}

/// `psconform validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Case files or folders; `cases` when none is given.
    pub paths: Vec<PathBuf>,
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    match s.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() && n <= 86_400.0 => Ok(Duration::from_secs_f64(n)),
        _ => Err(format!("`{s}` is not a number of seconds between 0 and 86400")),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(n),
        _ => Err(format!("`{s}` is not a positive number of requests per second")),
    }
}

/// Parses `16MiB`, `512KiB`, `10MB`, `1G` or a plain number of bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("`{s}` is not a size such as 16MiB or 1000000"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1_000,
        "kib" => 1 << 10,
        "m" | "mb" => 1_000_000,
        "mib" => 1 << 20,
        "g" | "gb" => 1_000_000_000,
        "gib" => 1 << 30,
        _ => {
            return Err(format!("`{s}` has an unknown unit; use B, KiB, MiB, GiB, kB, MB or GB"));
        }
    };
    n.checked_mul(mult).filter(|n| *n > 0).ok_or_else(|| format!("`{s}` is out of range"))
}

/// Parses the command line and runs it. `main` returns what this returns.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { Exit::Invalid.into() } else { Exit::Passed.into() };
        }
    };
    crate::logging::init(cli.verbose);
    match cli.command {
        Command::Run(args) => run(*args).into(),
        Command::List(args) => list(&args).into(),
        Command::Validate(args) => validate(&args).into(),
        Command::Serve(args) => simulator::serve(args),
        Command::Drift(args) => drift(&args),
        Command::Schema => {
            print!("{}", case::schema::render());
            Exit::Passed.into()
        }
    }
}

fn state_names() -> Vec<&'static str> {
    SimState::NAMES.iter().map(|(n, _)| *n).collect()
}

fn load(roots: &[PathBuf]) -> Result<Suite, Exit> {
    case::load_suite(roots, &state_names()).map_err(|diags| {
        for d in &diags {
            anstream::eprintln!("{}", d.render());
        }
        let files: std::collections::BTreeSet<_> = diags.iter().map(|d| &d.file).collect();
        let s = if diags.len() == 1 { "" } else { "s" };
        anstream::eprintln!("error: {} problem{s} in {} file(s); nothing was sent", diags.len(), files.len());
        Exit::Invalid
    })
}

fn validate(args: &ValidateArgs) -> Exit {
    let roots = if args.paths.is_empty() { vec![PathBuf::from("cases")] } else { args.paths.clone() };
    match load(&roots) {
        Ok(suite) => {
            println!("ok: {} cases in {} files are valid", suite.cases.len(), suite.files.len());
            Exit::Passed
        }
        Err(e) => e,
    }
}

fn list(args: &ListArgs) -> Exit {
    let suite = match load(std::slice::from_ref(&args.cases)) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let cases: Vec<_> =
        suite.cases.iter().filter(|c| args.filter.as_ref().is_none_or(|f| c.name.contains(f.as_str()))).collect();
    if args.json {
        let items: Vec<serde_json::Value> = cases
            .iter()
            .map(|c| {
                let s = c.spec();
                serde_json::json!({
                    "name": c.name, "file": c.file.path.display().to_string(), "line": s.name.referenced.line(),
                    "summary": s.summary, "tags": s.tags, "effect": s.effect, "needs": c.needs,
                    "lockout_risk": s.lockout_risk, "simulator_state": c.simulator_state(), "source": s.source,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&items).unwrap_or_default());
        return Exit::Passed;
    }
    for c in &cases {
        let s = c.spec();
        let mut notes = vec![s.effect.to_string()];
        if !c.needs.is_empty() {
            notes.push(format!("needs {}", c.needs.join(", ")));
        }
        if s.lockout_risk {
            notes.push("lockout risk".into());
        }
        if !s.simulator_state.is_empty() {
            notes.push(format!("simulator: {}", c.simulator_state().join(", ")));
        }
        if !s.tags.is_empty() {
            notes.push(format!("tags: {}", s.tags.join(", ")));
        }
        println!("{}  [{}]\n    {}", c.name, notes.join("; "), s.summary);
    }
    println!("{} cases", cases.len());
    Exit::Passed
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks the options that need no network, in the order a user would fix them.
fn check_target(args: &RunArgs) -> Result<(), String> {
    if let Some(t) = &args.target {
        match t.scheme() {
            "https" => {}
            "http" if is_loopback(t) || args.allow_plain_http => {}
            "http" => {
                return Err(format!(
                    "refusing to send credentials over plain http:// to {}; use https, or pass --allow-plain-http",
                    t.host_str().unwrap_or("the target")
                ));
            }
            other => {
                return Err(format!("--target must be an http:// or https:// URL, not {other}://"));
            }
        }
        if !t.path().to_ascii_lowercase().contains("/api/public/v3") {
            tracing::warn!(
                "the target's path does not contain /api/public/v3; a Password Safe base URL usually ends in /BeyondTrust/api/public/v3"
            );
        }
    }
    if args.target.is_some() && args.sim_profile != Profile::default() {
        return Err("--sim-profile applies to the built-in simulator; leave out --target to use it".into());
    }
    if args.target.is_some() && args.sim_data != DataVariant::default() {
        return Err("--sim-data applies to the built-in simulator; leave out --target to use it".into());
    }
    if !args.sim_faults.is_empty() && args.target.is_some() {
        return Err("--sim-fault applies to the built-in simulator; leave out --target to use it".into());
    }
    Ok(())
}

fn run(args: RunArgs) -> Exit {
    let store = crate::logging::store();
    if let Err(e) = check_target(&args) {
        anstream::eprintln!("error: {e}");
        return Exit::Invalid;
    }
    let suite = match load(std::slice::from_ref(&args.cases)) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let options = HttpOptions {
        insecure: args.http.insecure,
        ca_cert: args.http.ca_cert.clone(),
        client_identity: args.http.client_cert.clone().zip(args.http.client_key.clone()),
        proxy: args.http.proxy.clone(),
        timeout: args.http.timeout,
        connect_timeout: args.http.timeout.min(Duration::from_secs(10)),
        max_body: args.http.max_body,
        rate: args.http.rate,
        plain_http_only: args.target.as_ref().is_none_or(|t| t.scheme() == "http"),
    };
    let http = match Http::new(options) {
        Ok(h) => Arc::new(h),
        Err(e) => {
            anstream::eprintln!("error: {e}");
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
    let env_settings = Settings::from_env();
    let (settings, target, sim) = match &args.target {
        Some(url) => (
            env_settings,
            Target {
                base_url: url.clone(),
                builtin: false,
                faults: Vec::new(),
                profile: Profile::default(),
                data: DataVariant::default(),
            },
            None,
        ),
        None => {
            let settings = simulator::generate_missing(env_settings);
            let config = SimConfig {
                settings: settings.clone(),
                state: SimState::default(),
                faults: args.sim_faults.clone(),
                profile: args.sim_profile,
                data: args.sim_data,
            };
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            match rt.block_on(Simulator::start(config, addr, Listen::Plain)) {
                Ok(sim) => {
                    let target = Target {
                        base_url: sim.base_url().clone(),
                        builtin: true,
                        faults: args.sim_faults.clone(),
                        profile: args.sim_profile,
                        data: args.sim_data,
                    };
                    (settings, target, Some(sim))
                }
                Err(e) => {
                    anstream::eprintln!("error: cannot start the built-in simulator: {e}");
                    return Exit::NothingRan;
                }
            }
        }
    };
    for secret in settings.secret_values() {
        store.add(&secret);
    }
    let ctx = Arc::new(RunContext {
        rt: rt.handle().clone(),
        http,
        target,
        settings,
        secrets: store.clone(),
        policy: Policy {
            allow_mutations: args.allow_mutations,
            allow_lockout_risk: args.allow_lockout_risk,
            allow_credential_release: args.allow_credential_release,
        },
        records: Default::default(),
        responses: AtomicUsize::new(0),
        unreachable: AtomicUsize::new(0),
        snapshots: snapshot_settings(&args),
        shapes: args.shapes.drift_report.is_some().then(Default::default),
    });
    let exit = execute(&args, &ctx, &suite, &store);
    if let Some(sim) = sim {
        rt.block_on(sim.stop());
    }
    drop(ctx);
    rt.shutdown_timeout(Duration::from_secs(2));
    exit
}

fn execute(args: &RunArgs, ctx: &Arc<RunContext>, suite: &Suite, store: &SecretStore) -> Exit {
    let trials = runner::trials(ctx, suite);
    let selected = trials.iter().filter(|t| !args.harness.is_filtered_out(t)).count();
    if selected == 0 {
        let filter = args.harness.filter.as_deref().unwrap_or("");
        anstream::eprintln!(
            "error: no case matches the filter `{filter}` (of {} cases); `psconform list` shows their names",
            suite.cases.len()
        );
        return Exit::NothingRan;
    }
    if !args.harness.list {
        let what = if ctx.target.builtin { "the built-in simulator at " } else { "" };
        anstream::eprintln!(
            "psconform: {selected} case{} against {what}{}",
            if selected == 1 { "" } else { "s" },
            ctx.target.base_url
        );
    }
    let started = Instant::now();
    let conclusion = libtest_mimic::run(&args.harness, trials);
    let total = started.elapsed();
    if args.harness.list {
        return Exit::Passed;
    }
    let results = ctx.results();
    let mut exit = Exit::Passed;
    if let Some(path) = &args.junit {
        match report::junit(&results, total) {
            Ok(xml) => exit = write_report(path, &store.redact(&xml)).unwrap_or(exit),
            Err(e) => {
                anstream::eprintln!("error: cannot write the JUnit report: {e}");
                exit = Exit::NothingRan;
            }
        }
    }
    if let Some(path) = &args.report {
        let json = report::json(&results, ctx.target.base_url.as_str(), total);
        exit = write_report(path, &store.redact(&json)).unwrap_or(exit);
    }
    if let Some(snaps) = ctx.snapshots.as_ref().filter(|s| s.compare) {
        shape_summary(args, snaps, &results);
    }
    if let Some(path) = &args.shapes.drift_report {
        exit = drift_report(path, args, ctx).unwrap_or(exit);
    }
    if conclusion.num_failed > 0 {
        if ctx.responses.load(Ordering::Relaxed) == 0 && ctx.unreachable.load(Ordering::Relaxed) > 0 {
            anstream::eprintln!("error: the target could not be reached at all: {}", ctx.target.base_url);
            return Exit::NothingRan;
        }
        return Exit::Failed;
    }
    if conclusion.num_passed == 0 {
        anstream::eprintln!(
            "error: nothing ran: {} cases were ignored (the reasons are listed above)",
            conclusion.num_ignored
        );
        return Exit::NothingRan;
    }
    exit
}

/// Where snapshots are and what to write, from the options and the `CI` variable.
fn snapshot_settings(args: &RunArgs) -> Option<Snapshots> {
    if args.shapes.no_snapshots && args.shapes.record.is_none() {
        return None;
    }
    let dir = args.shapes.snapshots.clone().unwrap_or_else(|| default_snapshot_dir(&args.cases));
    let mode = if args.shapes.update_snapshots {
        Mode::Update
    } else if is_ci() {
        Mode::ReadOnly
    } else {
        Mode::Review
    };
    let mut snaps = Snapshots::new(dir, mode, args.shapes.strict_shapes, args.shapes.record.clone());
    snaps.compare = !args.shapes.no_snapshots;
    Some(snaps)
}

/// `snapshots` beside the cases folder: `cases` → `snapshots`, `x/cases` → `x/snapshots`.
fn default_snapshot_dir(cases: &Path) -> PathBuf {
    let base = if cases.is_file() { cases.parent().and_then(Path::parent) } else { cases.parent() };
    base.unwrap_or(Path::new("")).join("snapshots")
}

/// Whether this runs in CI, as insta decides it: `CI` set to anything but empty, `0` or `false`.
fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Tells what the run did with snapshots: changes that did not fail, what was written, and
/// snapshots no step used.
fn shape_summary(args: &RunArgs, snaps: &Snapshots, results: &[crate::result::CaseResult]) {
    let mut additive = Vec::new();
    let mut missing = Vec::new();
    let mut written = 0;
    for (case, step) in results.iter().flat_map(|r| r.steps.iter().map(move |s| (r, s))) {
        match &step.snapshot {
            Some(SnapshotOutcome::Changed { changes, written: w }) => {
                written += usize::from(w.is_some());
                if !snaps.strict && !changes.iter().any(|c| c.severity == Severity::Breaking) {
                    for c in changes {
                        additive.push(format!("  {} step {}: {}", case.name, step.index, c.line()));
                    }
                }
            }
            Some(SnapshotOutcome::Missing { written: w }) => {
                written += usize::from(w.is_some());
                missing.push(format!("{} step {}", case.name, step.index));
            }
            _ => {}
        }
    }
    if !additive.is_empty() {
        anstream::eprintln!(
            "shapes: {} additive change(s), not failing (--strict-shapes makes them fail):\n{}",
            additive.len(),
            additive.join("\n")
        );
    }
    if !missing.is_empty() && !snaps.strict && snaps.mode != Mode::Update {
        anstream::eprintln!("shapes: {} step(s) have no snapshot in {}", missing.len(), snaps.dir.display());
    }
    match snaps.mode {
        Mode::Review if written > 0 => anstream::eprintln!(
            "shapes: {written} pending snapshot(s) written as .snap.new in {}; review them with `cargo insta review`, or accept with --update-snapshots",
            snaps.dir.display()
        ),
        Mode::Update if written > 0 => {
            anstream::eprintln!("shapes: {written} snapshot(s) updated in {}", snaps.dir.display())
        }
        _ => {}
    }
    // Unreferenced snapshots only mean something when every case ran.
    let complete = args.harness.filter.is_none() && args.harness.skip.is_empty();
    if complete {
        let unreferenced = snaps.unreferenced();
        if !unreferenced.is_empty() {
            anstream::eprintln!(
                "shapes: {} unreferenced snapshot(s) in {}: {}",
                unreferenced.len(),
                snaps.dir.display(),
                unreferenced.join(", ")
            );
        }
    }
}

/// Compares the run's shapes with the snapshot set and writes the drift report.
fn drift_report(path: &Path, args: &RunArgs, ctx: &RunContext) -> Option<Exit> {
    let dir = args.shapes.snapshots.clone().unwrap_or_else(|| default_snapshot_dir(&args.cases));
    let baseline = match snapshot::load_set(&dir) {
        Ok(b) => b,
        Err(e) => {
            anstream::eprintln!("error: cannot read the snapshot set for --drift-report: {e}");
            return Some(Exit::NothingRan);
        }
    };
    let live = ctx.shapes.as_ref().and_then(|s| s.lock().ok().map(|s| s.clone())).unwrap_or_default();
    // Only the steps that ran are compared: a filtered run says nothing of the others.
    let baseline = baseline.into_iter().filter(|(k, _)| live.contains_key(k)).collect();
    let report = DriftReport::compare(&dir.display().to_string(), &baseline, ctx.target.base_url.as_str(), &live);
    let text = if path.extension().is_some_and(|e| e == "json") { report.json() } else { report.markdown() };
    write_report(&path.to_path_buf(), &text)
}

fn drift(args: &DriftArgs) -> ExitCode {
    let load = |dir: &Path| {
        snapshot::load_set(dir).map_err(|e| {
            anstream::eprintln!("error: {e}");
        })
    };
    let (Ok(old), Ok(new)) = (load(&args.old), load(&args.new)) else {
        return Exit::Invalid.into();
    };
    let report = DriftReport::compare(&args.old.display().to_string(), &old, &args.new.display().to_string(), &new);
    print!("{}", if args.json { report.json() } else { report.markdown() });
    ExitCode::from(report.exit_code())
}

/// Writes a report; a report that cannot be written makes the run fail with exit 3, since a
/// CI gate reading it would otherwise see stale or no results.
fn write_report(path: &PathBuf, text: &str) -> Option<Exit> {
    match std::fs::write(path, text) {
        Ok(()) => None,
        Err(e) => {
            anstream::eprintln!("error: cannot write {}: {e}", path.display());
            Some(Exit::NothingRan)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert_eq!(parse_size("2 kb"), Ok(2000));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("0").is_err());
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        let parse = |v: &[&str]| match Cli::try_parse_from(v) {
            Ok(Cli { command: Command::Run(a), .. }) => a,
            other => panic!("{other:?}"),
        };
        assert!(
            check_target(&parse(&["psconform", "run", "--target", "http://ps.example.com/BeyondTrust/api/public/v3"]))
                .is_err()
        );
        assert!(
            check_target(&parse(&["psconform", "run", "--target", "http://127.0.0.1:9/BeyondTrust/api/public/v3"]))
                .is_ok()
        );
        assert!(
            check_target(&parse(&[
                "psconform",
                "run",
                "--allow-plain-http",
                "--target",
                "http://ps.example.com/x/api/public/v3"
            ]))
            .is_ok()
        );
    }

    #[test]
    fn libtest_options_parse_as_cargo_test_users_know_them() {
        let cli = Cli::try_parse_from([
            "psconform",
            "run",
            "auth::",
            "--exact",
            "--skip",
            "oauth",
            "--test-threads",
            "1",
            "--format",
            "json",
        ]);
        let Ok(Cli { command: Command::Run(a), .. }) = cli else { panic!("did not parse") };
        assert_eq!(a.harness.filter.as_deref(), Some("auth::"));
        assert!(a.harness.exact);
        assert_eq!(a.harness.skip, vec!["oauth".to_string()]);
        assert_eq!(a.harness.test_threads, Some(1));
    }
}
