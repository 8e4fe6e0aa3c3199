//! The command line as clap sees it: structs and value parsers only. Nothing here decides
//! anything; `config` turns these into a checked configuration.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use url::Url;

use crate::simulator::{self, DataVariant, Fault, Profile};

/// The exit codes, as `--help` shows them.
pub const EXIT_CODES: &str = "Exit codes:
  0  every selected case passed
  1  at least one case failed (drift: additive changes only)
  2  invalid case files, snapshots or usage; no request was sent
  3  the target could not be reached at all, or nothing ran
  4  (drift) a breaking shape change
  5  an output could not be written (--junit, --report, --html, --drift-report, a contract
     folder, or standard output closed)";

/// The environment variables psconform reads besides the target settings.
const OTHER_ENVIRONMENT: &str = "Also read from the environment:
  PS_TARGET          The target's base URL, as --target.
  RUST_LOG           A log filter (such as psconform=debug) instead of -v / -vv.
  NO_COLOR           Set: no colour in logs (and, with --color auto, in the per-case lines).
";

/// What `run --help` ends with: every `PS_*` setting (from the one table of settings), the
/// other variables, then the exit codes.
fn run_after_help() -> String {
    format!("{}\n{OTHER_ENVIRONMENT}\n{EXIT_CODES}", crate::settings::help())
}

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
    /// Compare two contract sets (such as two `--record` baselines) and report every shape
    /// change, one row per change per contract (exit 0 none, 1 additive only, 4 breaking).
    Drift(DriftArgs),
    /// Show which documented endpoints the cases exercise, with the statuses they assert (and,
    /// from a run's JSON report, the statuses the target answered), and which they do not.
    Coverage(CoverageArgs),
    /// Print the JSON Schema of the case format.
    Schema,
    /// Find what runs left on a target (objects named `psconform-…` that a killed run could
    /// not remove) and, with --yes and --allow-mutations, delete them.
    Cleanup(CleanupArgs),
    /// Write the built-in suite (cases and contracts) into a folder, to start a suite of your
    /// own from it.
    Init(InitArgs),
    /// Print the API psconform knows as an OpenAPI 3.1 document: every catalogued endpoint with
    /// its documented parameters, statuses and response schemas, the PS-Auth and OAuth
    /// security schemes, and per operation its vendor source and whether the suite covers it.
    Openapi(OpenapiArgs),
    /// Print a shell completion script: `psconform completions bash > ~/.local/share/bash-completion/completions/psconform`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per command into a folder.
    Man(ManArgs),
}

/// `psconform init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The folder to write `cases/` and `snapshots/` into (created if missing).
    pub dir: PathBuf,
    /// Replace the shipped files where they exist (other files are left alone).
    #[arg(long)]
    pub force: bool,
}

/// `psconform openapi`.
#[derive(Debug, Args)]
pub struct OpenapiArgs {
    /// Write the document into this file instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The cases whose coverage `x-psconform-covered` reports [default: ./cases when there is
    /// one, else the built-in suite].
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
}

/// `psconform man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `psconform.1` and one `psconform-<command>.1` per command into this folder.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `psconform cleanup`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 nothing is left (or everything found was removed), 1 objects are left (not asked to delete them, or a delete failed, or signing in failed), 2 usage, 3 the target could not be reached.\n\nTarget settings come from the environment, as for `run`: PS_API_KEY, PS_RUNAS, PS_RUNAS_PASSWORD, or PS_CLIENT_ID and PS_CLIENT_SECRET."
)]
pub struct CleanupArgs {
    /// The target's base URL, such as https://ps.example.com/BeyondTrust/api/public/v3.
    // The doc comment is the help text: a plain URL reads better there than a link.
    #[allow(rustdoc::bare_urls)]
    #[arg(long, env = "PS_TARGET", value_name = "URL")]
    pub target: Url,
    /// Delete what was found, without asking (needs --allow-mutations). Without it, the
    /// objects are listed (and, on a terminal, you are asked).
    #[arg(long)]
    pub yes: bool,
    /// Allow deleting on this target.
    #[arg(long)]
    pub allow_mutations: bool,
    /// Allow credentials over plain http:// to a host other than loopback.
    #[arg(long)]
    pub allow_plain_http: bool,
    /// Print what was found (and removed) as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub http: HttpArgs,
}

/// `psconform coverage`.
#[derive(Debug, Args)]
pub struct CoverageArgs {
    /// Folder (or file) of case files [default: ./cases when there is one, else the
    /// built-in suite, `(built-in)/cases`].
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// A JSON report of a run (`run --report`), to show the statuses the target answered.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print Markdown.
    #[arg(long)]
    pub markdown: bool,
    /// Read the documented models from this folder instead of the built-in ones (to check
    /// model files while writing them: every problem is reported with file:line:col).
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
}

/// `psconform run`.
#[derive(Debug, Args)]
#[command(
    help_template = "{about-with-newline}\n{usage-heading} {usage}\n\n{all-args}{after-help}",
    after_help = run_after_help(),
    mut_arg("bench", |a| a.hide(true)),
    mut_arg("test", |a| a.hide(true)),
    mut_arg("nocapture", |a| a.hide(true)),
    mut_arg("show_output", |a| a.hide(true)),
    mut_arg("unstable_flags", |a| a.hide(true)),
    // libtest's own words speak of tests and benchmarks; these say what each option does to
    // cases.
    mut_arg("filter", |a| a.help("Run only the cases whose names contain FILTER, such as `auth::` or `sign-app-in` (`psconform list` shows the names)")),
    mut_arg("skip", |a| a.help("Leave out the cases whose names contain FILTER (repeatable)")),
    mut_arg("exact", |a| a.help("Match FILTER and --skip against whole case names, not parts of them")),
    mut_arg("include_ignored", |a| a.help("Also run the cases marked `ignore: true`")),
    mut_arg("ignored", |a| a.help("Run only the cases marked `ignore: true`")),
    mut_arg("list", |a| a.help("List the names of the cases that would run, and run nothing")),
    mut_arg("test_threads", |a| a.value_name("N").help("How many cases run at once [default: the number of CPUs]; cases that share a lock (an account, a session limit) never overlap")),
    mut_arg("logfile", |a| a.help("Write the per-case lines into this file instead of standard output")),
    mut_arg("quiet", |a| a.long_help(None).help("One character per case instead of one line (as --format terse)")),
    mut_arg("format", |a| a.hide_possible_values(true).help("pretty: one line per case; terse: one character per case; json: libtest's JSON events, one per line")),
    mut_arg("color", |a| a.hide_possible_values(true).help("Colour the per-case lines: auto (on a terminal, unless NO_COLOR is set), always or never")),
)]
pub struct RunArgs {
    /// Base URL of the target, such as https://ps.example.com/BeyondTrust/api/public/v3.
    /// Without it, the built-in simulator is started on a free loopback port.
    // The doc comment is the help text: a plain URL reads better there than a link.
    #[allow(rustdoc::bare_urls)]
    #[arg(long, value_name = "URL", env = "PS_TARGET")]
    pub target: Option<Url>,
    /// Folder (or file) of case files [default: ./cases when there is one, else the
    /// built-in suite, `(built-in)/cases`].
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "PATH")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report (every case, step and check).
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,
    /// Write a self-contained HTML page of the run (summary, every case and expectation,
    /// coverage, contracts), to read offline, share or print.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Run cases that change data (effect `change`) against a real target; each undoes its
    /// change from its teardown.
    #[arg(long)]
    pub allow_mutations: bool,
    /// Run cases that send a wrong password for the run-as user against a real target.
    #[arg(long)]
    pub allow_lockout_risk: bool,
    /// Run cases that release a managed account's credential (POST Requests, GET Credentials,
    /// check-in) against a real target; they use the account named by PS_ACCOUNT.
    #[arg(long)]
    pub allow_credential_release: bool,
    /// DANGEROUS: run cases whose effect is `irreversible` against a real target: changes no
    /// teardown can undo, such as setting a managed account's password or rotating it at
    /// check-in. Without it they run only against the built-in simulator.
    #[arg(long)]
    pub allow_irreversible: bool,
    /// Settings the run must have, comma-separated: api-key (PS_API_KEY, PS_RUNAS), oauth
    /// (PS_CLIENT_ID, PS_CLIENT_SECRET), account (PS_ACCOUNT), secret (PS_SECRET). A missing
    /// one is a usage error (exit 2) before anything is sent, so a CI gate cannot pass by
    /// checking nothing.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub require: Vec<Requirement>,
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
    /// Put the model-driven fixture in front of the built-in simulator: every answer is made
    /// again from its endpoint's documented model with this seed (null wherever the docs allow
    /// it, optional fields left out, extra fields, other values and order), so a case that
    /// asserts more than the documentation promises fails.
    #[arg(long = "sim-vary", value_name = "SEED")]
    pub sim_vary: Option<u64>,
    /// Observed expectations (`observed:` in a case file) fail their case too; without it they
    /// are reported and never fail. Implies --strict-shapes.
    #[arg(long)]
    pub strict: bool,
    #[command(flatten, next_help_heading = "Test harness options (as cargo test)")]
    pub harness: libtest_mimic::Arguments,
}

/// A group of settings `--require` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Requirement {
    /// `PS_API_KEY` and `PS_RUNAS`: signing in with an API key.
    ApiKey,
    /// `PS_CLIENT_ID` and `PS_CLIENT_SECRET`: signing in with OAuth.
    Oauth,
    /// `PS_ACCOUNT`: the managed account release cases request.
    Account,
    /// `PS_SECRET`: the Secrets Safe secret cases read.
    Secret,
}

impl Requirement {
    /// The settings it asks for, as case files name them.
    pub fn settings(self) -> &'static [&'static str] {
        match self {
            Requirement::ApiKey => &["api_key", "runas"],
            Requirement::Oauth => &["client_id", "client_secret"],
            Requirement::Account => &["account"],
            Requirement::Secret => &["secret_path"],
        }
    }

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Requirement::ApiKey => "api-key",
            Requirement::Oauth => "oauth",
            Requirement::Account => "account",
            Requirement::Secret => "secret",
        }
    }
}

/// Shape contract options of `run`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Shape contracts")]
pub struct ShapeArgs {
    /// The contract set to compare with; default `snapshots` beside the cases folder. Point
    /// it at a per-instance baseline (`--record`) for a before-and-after check.
    #[arg(long, value_name = "DIR")]
    pub snapshots: Option<PathBuf>,
    /// Merge this run's observations into the contract set (hand-widened contracts stay as
    /// wide as they are). Nothing is written into the set without this or --replace-snapshots.
    #[arg(long)]
    pub update_snapshots: bool,
    /// Replace each observed contract with this run's observations alone.
    #[arg(long, conflicts_with = "update_snapshots")]
    pub replace_snapshots: bool,
    /// Fail on additive shape changes and missing contracts too, not only on breaking ones.
    #[arg(long)]
    pub strict_shapes: bool,
    /// Also write every contract this run observed, as a complete set, into DIR (a baseline
    /// of this instance).
    #[arg(long, value_name = "DIR")]
    pub record: Option<PathBuf>,
    /// Write the contracts that did not conform, merged with what was observed, into DIR for
    /// review.
    #[arg(long, value_name = "DIR")]
    pub pending: Option<PathBuf>,
    /// Write a drift report comparing this run's contracts with the set (Markdown, or JSON
    /// when PATH ends in .json).
    #[arg(long, value_name = "PATH")]
    pub drift_report: Option<PathBuf>,
    /// Do not compare with or write contracts.
    #[arg(long, conflicts_with_all = ["update_snapshots", "replace_snapshots", "strict_shapes", "pending"])]
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
    /// Seconds allowed for one request, body included (0.1 to 3600); connecting gets at most
    /// 10 of them. Evaluating one step's expectations gets as long.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_secs)]
    pub timeout: Duration,
    /// Largest response body read, such as 16MiB, 512KiB or 1000000 (at most 1GiB); a larger
    /// body fails its step.
    #[arg(long, value_name = "SIZE", default_value = "16MiB", value_parser = parse_size)]
    pub max_body: u64,
    /// At most this many requests per second (0.01 to 10000; gentle runs against production).
    #[arg(long, value_name = "N", value_parser = parse_rate)]
    pub rate: Option<f64>,
}

/// `psconform list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Folder (or file) of case files [default: ./cases when there is one, else the
    /// built-in suite, `(built-in)/cases`].
    #[arg(long, value_name = "DIR")]
    pub cases: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only cases whose name contains this.
    pub filter: Option<String>,
}

/// `psconform drift`.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The baseline contract set, such as a `--record` of the instance before an upgrade.
    pub old: PathBuf,
    /// The set to compare with it.
    pub new: PathBuf,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// Also write the comparison as a self-contained HTML page.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
}

/// `psconform validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Case files or folders [default: ./cases when there is one, else the built-in suite].
    pub paths: Vec<PathBuf>,
}

/// The largest `--max-body`.
pub const MAX_BODY_LIMIT: u64 = 1 << 30;

fn parse_secs(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && (0.1..=3600.0).contains(&n) => Ok(Duration::from_secs_f64(n)),
        _ => Err(format!("`{s}` is not a number of seconds between 0.1 and 3600")),
    }
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && (0.01..=10_000.0).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a number of requests per second between 0.01 and 10000")),
    }
}

/// Parses `16MiB`, `512KiB`, `10MB`, `1G` or a plain number of bytes, at most 1GiB.
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
        _ => return Err(format!("`{s}` has an unknown unit; use B, KiB, MiB, GiB, kB, MB or GB")),
    };
    n.checked_mul(mult)
        .filter(|n| (1..=MAX_BODY_LIMIT).contains(n))
        .ok_or_else(|| format!("`{s}` is out of range: between 1 byte and 1GiB"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_size("16MiB"), Ok(16 << 20));
        assert_eq!(parse_size("2 kb"), Ok(2000));
        assert!(parse_size("lots").is_err() && parse_size("0").is_err() && parse_size("100GB").is_err());
        assert!(parse_rate("1e-300").is_err() && parse_rate("NaN").is_err() && parse_rate("0.5").is_ok());
        assert!(parse_secs("0").is_err() && parse_secs("99999999").is_err() && parse_secs("2").is_ok());
    }
}
