//! `RunConfig`: the command line of `run`, checked and resolved once, before anything runs.
//! Commands read this, never the clap structs: ranges are checked, the target's scheme and
//! opt-ins are decided, outputs are resolved to paths that can be written, and what the
//! contract layer may write is settled.

use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use super::args::{HttpArgs, Requirement, RunArgs};
use crate::run::Policy;
use crate::run::http::HttpOptions;
use crate::shape::update::{ContractConfig, Update};
use crate::simulator::{DataVariant, Fault, Profile};

/// Where a run sends its requests.
#[derive(Debug, Clone)]
pub enum TargetConfig {
    /// A real instance.
    Real(Url),
    /// The built-in simulator, started by the run.
    Simulator {
        /// The release it models.
        profile: Profile,
        /// Deliberate deviations.
        faults: Vec<Fault>,
        /// The data it serves.
        data: DataVariant,
        /// The seed of the model-driven fixture put in front of it, if any.
        vary: Option<u64>,
    },
}

/// Report files.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// JUnit XML.
    pub junit: Option<PathBuf>,
    /// The JSON report.
    pub report: Option<PathBuf>,
    /// The HTML page.
    pub html: Option<PathBuf>,
}

/// Everything `run` needs, checked.
#[derive(Debug)]
pub struct RunConfig {
    /// The target.
    pub target: TargetConfig,
    /// The cases folder or file.
    pub cases: PathBuf,
    /// Report files.
    pub outputs: Outputs,
    /// Contracts.
    pub contracts: ContractConfig,
    /// What may be done to a real target.
    pub policy: Policy,
    /// Settings the run must have (`--require`).
    pub require: Vec<Requirement>,
    /// The HTTP client's settings.
    pub http: HttpOptions,
    /// libtest's options (filters, threads, format).
    pub harness: libtest_mimic::Arguments,
    /// How long evaluating one step's expectations may take.
    pub eval_budget: Duration,
    /// Observed expectations fail their case (`--strict`).
    pub strict: bool,
    /// What changes what ran, for the header of a report.
    pub described: Vec<String>,
}

/// A usage problem, found before anything runs (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The most `--test-threads`.
pub const MAX_THREADS: usize = 1024;

impl RunConfig {
    /// Checks and resolves the arguments of `run`.
    pub fn from_args(args: RunArgs) -> Result<RunConfig, UsageError> {
        let usage = |m: String| Err(UsageError(m));
        if let Some(t) = &args.target {
            match t.scheme() {
                "https" => {}
                "http" if is_loopback(t) || args.allow_plain_http => {}
                "http" => {
                    return usage(format!(
                        "refusing to send credentials over plain http:// to {}; use https, or pass --allow-plain-http",
                        t.host_str().unwrap_or("the target")
                    ));
                }
                other => return usage(format!("--target must be an http:// or https:// URL, not {other}://")),
            }
            if !t.username().is_empty() || t.password().is_some() {
                return usage("--target must not carry credentials; they come from PS_* variables".into());
            }
            if !t.path().to_ascii_lowercase().contains("/api/public/v3") {
                tracing::warn!(
                    "the target's path does not contain /api/public/v3; a Password Safe base URL usually ends in /BeyondTrust/api/public/v3"
                );
            }
            if args.sim_profile != Profile::default() {
                return usage("--sim-profile applies to the built-in simulator; leave out --target to use it".into());
            }
            if !args.sim_faults.is_empty() {
                return usage("--sim-fault applies to the built-in simulator; leave out --target to use it".into());
            }
            if args.sim_data != DataVariant::default() {
                return usage("--sim-data applies to the built-in simulator; leave out --target to use it".into());
            }
            if args.sim_vary.is_some() {
                return usage("--sim-vary applies to the built-in simulator; leave out --target to use it".into());
            }
        }
        if let Some(refusal) = plain_http_proxy(args.target.as_ref(), args.http.proxy.as_ref(), args.allow_plain_http) {
            return usage(refusal);
        }
        if let Some(n) = args.harness.test_threads
            && !(1..=MAX_THREADS).contains(&n)
        {
            return usage(format!("--test-threads {n}: give a number between 1 and {MAX_THREADS}"));
        }
        let shapes = &args.shapes;
        let cases = args.cases.clone().unwrap_or_else(crate::suite::default_cases);
        let dir = shapes.snapshots.clone().unwrap_or_else(|| default_snapshot_dir(&cases));
        let update = if shapes.update_snapshots {
            Update::Merge
        } else if shapes.replace_snapshots {
            Update::Replace
        } else {
            Update::None
        };
        let contracts = ContractConfig {
            dir,
            compare: !shapes.no_snapshots,
            strict: shapes.strict_shapes || args.strict,
            update,
            record: shapes.record.clone(),
            pending: shapes.pending.clone(),
            drift_report: shapes.drift_report.clone(),
        };
        let outputs = Outputs { junit: args.junit.clone(), report: args.report.clone(), html: args.html.clone() };
        for path in [&outputs.junit, &outputs.report, &outputs.html, &contracts.drift_report].into_iter().flatten() {
            writable_file(path)?;
        }
        let updated = (contracts.update != Update::None).then_some(&contracts.dir);
        for dir in [&contracts.record, &contracts.pending].into_iter().flatten().chain(updated) {
            if crate::suite::is_builtin(dir) {
                return usage(format!(
                    "{} is built into psconform and cannot be written; `psconform init DIR` writes the suite out to edit, or give --snapshots DIR",
                    dir.display()
                ));
            }
            writable_dir(dir)?;
        }
        let http = http_options(&args.http, args.target.as_ref());
        let policy = Policy {
            allow_mutations: args.allow_mutations,
            allow_lockout_risk: args.allow_lockout_risk,
            allow_credential_release: args.allow_credential_release,
            allow_irreversible: args.allow_irreversible,
        };
        let mut described = Vec::new();
        for (on, flag) in [
            (policy.allow_mutations, "--allow-mutations"),
            (policy.allow_lockout_risk, "--allow-lockout-risk"),
            (policy.allow_credential_release, "--allow-credential-release"),
            (policy.allow_irreversible, "--allow-irreversible"),
            (args.strict, "--strict"),
            (contracts.strict && !args.strict, "--strict-shapes"),
            (!contracts.compare, "--no-snapshots"),
            (args.harness.exact, "--exact"),
            (args.harness.ignored, "--ignored"),
            (args.harness.include_ignored, "--include-ignored"),
        ] {
            if on {
                described.push(flag.to_owned());
            }
        }
        if !args.require.is_empty() {
            let names: Vec<&str> = args.require.iter().map(|r| r.name()).collect();
            described.push(format!("--require {}", names.join(",")));
        }
        if let Some(f) = &args.harness.filter {
            described.push(format!("filter `{f}`"));
        }
        for s in &args.harness.skip {
            described.push(format!("--skip `{s}`"));
        }
        if let Some(r) = args.http.rate {
            described.push(format!("--rate {r}"));
        }
        if let Some(t) = args.harness.test_threads {
            described.push(format!("--test-threads {t}"));
        }
        if shapes.snapshots.is_some() {
            described.push(format!("--snapshots {}", contracts.dir.display()));
        }
        if let Some(seed) = args.sim_vary {
            described.push(format!("--sim-vary {seed}"));
        }
        let strict = args.strict;
        let target = match args.target {
            Some(url) => TargetConfig::Real(url),
            None => TargetConfig::Simulator {
                profile: args.sim_profile,
                faults: args.sim_faults,
                data: args.sim_data,
                vary: args.sim_vary,
            },
        };
        Ok(RunConfig {
            strict,
            target,
            cases,
            outputs,
            contracts,
            policy,
            require: args.require,
            eval_budget: http.timeout,
            http,
            harness: args.harness,
            described,
        })
    }
}

/// Why a plain-http proxy may not carry the requests, if it may not. Every hop counts: a
/// plain-http proxy off loopback sees a plain-http request whole, credentials included,
/// whatever the target's host (an https:// target is only tunnelled through it). `target`
/// `None` is the built-in simulator, a plain-http target too.
pub fn plain_http_proxy(target: Option<&Url>, proxy: Option<&Url>, allowed: bool) -> Option<String> {
    let proxy = proxy.filter(|p| p.scheme() == "http" && !is_loopback(p))?;
    (!allowed && target.is_none_or(|t| t.scheme() == "http")).then(|| {
        format!(
            "refusing to send credentials over plain http:// through the proxy {}; use an https:// target (which the proxy only tunnels), a proxy on loopback, or pass --allow-plain-http",
            proxy.host_str().unwrap_or("given")
        )
    })
}

/// The HTTP client's options from the HTTP arguments of `run` and `cleanup`.
pub fn http_options(http: &HttpArgs, target: Option<&Url>) -> HttpOptions {
    HttpOptions {
        insecure: http.insecure,
        ca_cert: http.ca_cert.clone(),
        client_identity: http.client_cert.clone().zip(http.client_key.clone()),
        proxy: http.proxy.clone(),
        timeout: http.timeout,
        connect_timeout: http.timeout.min(Duration::from_secs(10)),
        max_body: http.max_body,
        rate: http.rate,
        plain_http_only: target.is_none_or(|t| t.scheme() == "http"),
    }
}

pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `snapshots` beside the cases folder: `cases` → `snapshots`, `x/cases` → `x/snapshots`.
pub fn default_snapshot_dir(cases: &Path) -> PathBuf {
    let file = cases.is_file() || crate::suite::text(cases).is_some();
    let base = if file { cases.parent().and_then(Path::parent) } else { cases.parent() };
    base.unwrap_or(Path::new("")).join("snapshots")
}

/// Proves a folder can be written into (creating it), with a probe file created exclusively
/// under a random name and removed at once.
fn writable_dir(dir: &Path) -> Result<(), UsageError> {
    let fail = |e: std::io::Error| UsageError(format!("cannot write into {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(fail)?;
    crate::files::probe(dir).map_err(fail)
}

/// Proves a report file can be written: its folder exists and takes a file, and the path is
/// not a folder.
pub fn writable_file(path: &Path) -> Result<(), UsageError> {
    if path.is_dir() {
        return Err(UsageError(format!("cannot write {}: it is a folder", path.display())));
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !parent.is_dir() {
        return Err(UsageError(format!(
            "cannot write {}: the folder {} does not exist",
            path.display(),
            parent.display()
        )));
    }
    crate::files::probe(parent).map_err(|e| UsageError(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::{Cli, Command};
    use clap::Parser as _;

    fn config(args: &[&str]) -> Result<RunConfig, UsageError> {
        let mut all = vec!["psconform", "run"];
        all.extend(args);
        match Cli::try_parse_from(all) {
            Ok(Cli { command: Command::Run(a), .. }) => RunConfig::from_args(*a),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        assert!(config(&["--target", "http://ps.example.com/BeyondTrust/api/public/v3"]).is_err());
        assert!(config(&["--target", "http://127.0.0.1:9/BeyondTrust/api/public/v3"]).is_ok());
        assert!(config(&["--allow-plain-http", "--target", "http://ps.example.com/x/api/public/v3"]).is_ok());
    }

    #[test]
    fn plain_http_through_a_proxy_off_loopback_is_refused_too() {
        let local = "http://127.0.0.1:9/BeyondTrust/api/public/v3";
        let Err(err) = config(&["--target", local, "--proxy", "http://corp-proxy.test:3128"]) else {
            panic!("a plain-http proxy off loopback is refused")
        };
        assert!(err.0.contains("through the proxy corp-proxy.test"), "{err}");
        assert!(config(&["--proxy", "http://corp-proxy.test:3128"]).is_err(), "the built-in simulator is plain http");
        assert!(config(&["--target", local, "--proxy", "http://127.0.0.1:3128"]).is_ok());
        assert!(config(&["--target", local, "--proxy", "http://corp-proxy.test:3128", "--allow-plain-http"]).is_ok());
        let tls = "https://ps.example.com/BeyondTrust/api/public/v3";
        assert!(config(&["--target", tls, "--proxy", "http://corp-proxy.test:3128"]).is_ok(), "only tunnelled");
    }

    #[test]
    fn thread_counts_and_outputs_are_checked() {
        assert!(config(&["--test-threads", "0"]).is_err());
        assert!(config(&["--test-threads", "1"]).is_ok());
        assert!(config(&["--junit", "/nonexistent-folder/junit.xml"]).is_err());
        assert!(config(&["--html", "/nonexistent-folder/report.html"]).is_err());
        assert!(config(&["--html", "/tmp"]).is_err(), "a folder is not a page");
        assert!(config(&["--record", "/proc/psconform-record"]).is_err());
    }

    #[test]
    fn the_built_in_suite_has_its_contracts_beside_it_and_is_never_written() {
        let c = config(&["--cases", "(built-in)/cases"]).expect("valid");
        assert_eq!(c.contracts.dir, Path::new("(built-in)/snapshots"));
        for write in [["--update-snapshots", ""], ["--record", "(built-in)/mine"]] {
            let args: Vec<&str> =
                ["--cases", "(built-in)/cases"].into_iter().chain(write).filter(|a| !a.is_empty()).collect();
            let e = config(&args).expect_err("the built-in suite is read-only");
            assert!(e.0.contains("psconform init"), "{e}");
        }
        assert!(!Path::new("(built-in)").exists(), "nothing was created on disk");
    }

    #[test]
    fn libtest_options_parse_as_cargo_test_users_know_them() {
        let c = config(&["auth::", "--exact", "--skip", "oauth", "--test-threads", "1", "--format", "json"])
            .expect("valid");
        assert_eq!(c.harness.filter.as_deref(), Some("auth::"));
        assert!(c.harness.exact);
        assert_eq!(c.harness.skip, vec!["oauth".to_string()]);
        assert_eq!(c.harness.test_threads, Some(1));
    }
}
