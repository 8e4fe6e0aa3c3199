//! Running a plan: one libtest-mimic trial per case on a shared tokio runtime and connection
//! pool, each case with its own cookie jar, variables and learned secrets.
//!
//! A case's steps run in order; the first failing step ends them, and the teardown steps run
//! whatever happened, an interruption (Ctrl-C) included. Each case's result is sealed by the
//! redaction point as soon as it ends; the trial's failure text and every report are rendered
//! from the sealed result.
//!
//! - `http`: a client per test thread, body caps, transport errors
//! - `step`: one step: render, send, evaluate, capture, contract, poll

pub mod http;
pub mod step;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::{Completion, Failed, Trial};
use rand::Rng as _;
use reqwest_cookie_store::CookieStoreMutex;
use serde_json::Value;
use url::Url;

use crate::case::spec::Effect;
use crate::plan::{CasePlan, Vars};
use crate::result::{CaseResult, IgnoreReason, Outcome, Phase, Skipped, StepError, StepResult};
use crate::seal::{Redacted, Redactor};
use crate::secret::SecretStore;
use crate::settings::{SETTINGS, Settings};
use crate::shape::{ContractSet, Observed};
use crate::simulator::{DataVariant, Fault, Listen, Profile, SimConfig, SimState, Simulator};
use http::Http;

/// What the runner needs to know about the target.
#[derive(Debug, Clone)]
pub struct Target {
    /// The base URL, such as `https://ps.example.com/BeyondTrust/api/public/v3`.
    pub base_url: Url,
    /// Whether it is the built-in simulator (started by this run).
    pub builtin: bool,
    /// Faults the built-in simulator runs with (also for the per-case simulators).
    pub faults: Vec<Fault>,
    /// The release the built-in simulator models (also for the per-case simulators).
    pub profile: Profile,
    /// The data the built-in simulator serves (also for the per-case simulators).
    pub data: DataVariant,
}

/// What a run is allowed to do to a real target.
#[derive(Debug, Clone, Copy, Default)]
pub struct Policy {
    /// Run `mutating` cases against a real target.
    pub allow_mutations: bool,
    /// Run cases that risk locking out the run-as user against a real target.
    pub allow_lockout_risk: bool,
    /// Run cases that release a managed account's credential against a real target.
    pub allow_credential_release: bool,
}

/// Contracts a run compares with and adds to.
#[derive(Debug, Default)]
pub struct Contracts {
    /// The set compared with.
    pub set: ContractSet,
    /// Compare at all (`--no-snapshots` with `--record` only records).
    pub compare: bool,
    /// Additive changes and missing contracts fail too.
    pub strict: bool,
    /// The run merges what it sees into the set (`--update-snapshots`): differences are
    /// reported, never failing.
    pub accepting: bool,
    /// What this run saw.
    pub observed: Observed,
}

/// Everything the trials share.
#[derive(Debug)]
pub struct RunContext {
    /// The runtime the trials block on.
    pub rt: tokio::runtime::Handle,
    /// The HTTP settings each test thread builds its client from, and the shared rate ceiling.
    pub http: Arc<Http>,
    /// The target.
    pub target: Target,
    /// Credentials.
    pub settings: Settings,
    /// The run's redactor: configured credentials.
    pub redactor: Redactor,
    /// What may run against a real target.
    pub policy: Policy,
    /// Sealed results, in completion order.
    pub records: Mutex<Vec<Redacted<CaseResult>>>,
    /// Contracts, when the run compares or records shapes.
    pub contracts: Option<Contracts>,
    /// How long evaluating one step's expectations may take.
    pub eval_budget: Duration,
    /// Set on Ctrl-C: no new step starts, teardowns still run.
    pub interrupted: Arc<AtomicBool>,
}

impl RunContext {
    /// The results recorded so far, sorted by case name.
    pub fn results(&self) -> Vec<Redacted<CaseResult>> {
        let mut r = self.records.lock().map(|r| r.clone()).unwrap_or_default();
        r.sort_by(|a, b| a.get().name.cmp(&b.get().name));
        r
    }

    fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }
}

/// One trial per case, in plan order.
pub fn trials(ctx: &Arc<RunContext>, cases: &[Arc<CasePlan>]) -> Vec<Trial> {
    cases
        .iter()
        .map(|case| {
            let ctx = Arc::clone(ctx);
            let case = Arc::clone(case);
            Trial::ignorable_test(case.name.clone(), move || {
                // A panic is a bug in psconform, but its message could still quote a value
                // from the response: catch it here so it is redacted like everything else.
                let run =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| block_on(&ctx, run_case(&ctx, &case))));
                let result = match run {
                    Ok(r) => r,
                    Err(payload) => {
                        let text = crate::logging::panic_text(payload.as_ref());
                        return Err(Failed::from(ctx.redactor.text(&format!("psconform panicked (a bug): {text}"))));
                    }
                };
                let outcome = result.get().outcome.clone();
                let message = (outcome == Outcome::Failed).then(|| crate::report::terminal::failure_text(result.get()));
                if let Ok(mut records) = ctx.records.lock() {
                    records.push(result);
                }
                match outcome {
                    Outcome::Passed => Ok(Completion::Completed),
                    Outcome::Ignored(reason) => Ok(Completion::ignored_with(reason.to_string())),
                    Outcome::Failed => Err(Failed::from(message.unwrap_or_default())),
                }
            })
        })
        .collect()
}

thread_local! {
    /// The runtime a trial thread runs its cases on.
    static RUNTIME: std::cell::RefCell<Option<tokio::runtime::Runtime>> = const { std::cell::RefCell::new(None) };
}

/// Runs a case's future on this thread's own single-threaded runtime (made on first use), so
/// its requests and their connections never wake another thread. Falls back to the run's
/// shared runtime if one cannot be made.
fn block_on<F: std::future::Future>(ctx: &RunContext, future: F) -> F::Output {
    RUNTIME.with(|slot| {
        let mut slot = slot.borrow_mut();
        if slot.is_none() {
            *slot = tokio::runtime::Builder::new_current_thread().enable_all().build().ok();
        }
        match slot.as_ref() {
            Some(rt) => rt.block_on(future),
            None => ctx.rt.block_on(future),
        }
    })
}

/// Why a case does not run against this target, if it does not.
pub fn skip_reason(case: &CasePlan, target: &Target, settings: &Settings, policy: Policy) -> Option<IgnoreReason> {
    if case.simulator_only && !target.builtin {
        return Some(IgnoreReason::SimulatorOnly { states: case.simulator_state.clone() });
    }
    let missing: Vec<String> = case
        .needs
        .iter()
        .filter(|n| settings.get(n).is_none())
        .map(|n| SETTINGS.iter().find(|s| s.var == n).map_or_else(|| n.clone(), |s| s.env.to_owned()))
        .collect();
    if !missing.is_empty() {
        return Some(IgnoreReason::MissingSettings { variables: missing });
    }
    let opt_in = |flag: &str, because: &str| {
        Some(IgnoreReason::NeedsOptIn { flag: flag.to_owned(), because: because.to_owned() })
    };
    if target.builtin {
        return None;
    }
    if case.effect == Effect::Mutating && !policy.allow_mutations {
        return opt_in("--allow-mutations", "mutating case");
    }
    if case.releases_credential && !policy.allow_credential_release {
        return opt_in(
            "--allow-credential-release",
            "releases a managed account's credential (audited, may need approval, check-in may rotate it)",
        );
    }
    if case.lockout_risk && !policy.allow_lockout_risk {
        return opt_in("--allow-lockout-risk", "may lock out the run-as user");
    }
    None
}

/// What one case carries from step to step.
pub struct CaseRun {
    /// Variables: settings, built-ins, captures.
    pub vars: Vars,
    /// Cookies.
    pub jar: CookieStoreMutex,
    /// Secrets this case learned.
    pub store: SecretStore,
    /// The run's redactor plus this case's secrets.
    pub redactor: Redactor,
    /// The case learned more secrets than a store keeps: nothing more from a body is shown.
    pub saturated: bool,
}

/// Runs one case to its end, teardown included, and seals the result.
pub async fn run_case(ctx: &RunContext, case: &CasePlan) -> Redacted<CaseResult> {
    let started = Instant::now();
    let mut result = CaseResult {
        name: case.name.clone(),
        file: case.file.display().to_string(),
        line: case.line,
        endpoint: case.endpoint.clone(),
        summary: case.summary.clone(),
        source: case.source.clone(),
        outcome: Outcome::Passed,
        duration: Duration::ZERO,
        steps: Vec::new(),
    };
    if let Some(reason) = skip_reason(case, &ctx.target, &ctx.settings, ctx.policy) {
        result.outcome = Outcome::Ignored(reason);
        return ctx.redactor.seal(result);
    }
    let store = SecretStore::new();
    let mut run = CaseRun {
        vars: Vars::new(),
        jar: CookieStoreMutex::default(),
        redactor: ctx.redactor.with(store.clone()),
        store,
        saturated: false,
    };
    if ctx.interrupted() {
        result.outcome = Outcome::Failed;
        let mut s = StepResult::new(Phase::Step, 0, "not started".into(), Default::default());
        s.error = Some(StepError::Interrupted);
        result.steps.push(s);
        return run.redactor.seal(result);
    }
    // A case that needs the simulator in a special state gets a simulator of its own, so the
    // state cannot disturb cases running in parallel.
    let own_sim = if case.simulator_state.is_empty() || !ctx.target.builtin {
        None
    } else {
        match start_own_simulator(ctx, case).await {
            Ok(sim) => Some(sim),
            Err(e) => {
                result.outcome = Outcome::Failed;
                let mut s = StepResult::new(Phase::Step, 0, "setup".into(), Default::default());
                s.error = Some(StepError::Setup(format!("could not start the simulator for this case: {e}")));
                result.steps.push(s);
                return run.redactor.seal(result);
            }
        }
    };
    let base = own_sim.as_ref().map_or_else(|| ctx.target.base_url.clone(), |s| s.base_url().clone());
    run.vars = initial_vars(&ctx.settings, &base);
    let mut failed = false;
    for (i, step) in case.steps.iter().enumerate() {
        if failed || ctx.interrupted() {
            let mut s = StepResult::new(Phase::Step, i + 1, step.name.clone(), step.span);
            s.skipped = Some(if failed { Skipped::AfterFailure } else { Skipped::Interrupted });
            if !failed {
                s.error = Some(StepError::Interrupted);
                failed = true;
            }
            result.steps.push(s);
            continue;
        }
        let r = step::run(ctx, case, &mut run, &base, step, Phase::Step, i + 1).await;
        failed = r.failed();
        result.steps.push(r);
    }
    for (i, step) in case.teardown.iter().enumerate() {
        let r = step::run(ctx, case, &mut run, &base, step, Phase::Teardown, i + 1).await;
        failed |= r.failed();
        result.steps.push(r);
    }
    if let Some(sim) = own_sim {
        sim.stop().await;
    }
    result.outcome = if failed { Outcome::Failed } else { Outcome::Passed };
    if failed
        && !ctx.target.builtin
        && let Some(endpoint) = not_offered(&result)
    {
        result.outcome = Outcome::Ignored(IgnoreReason::NotOffered { endpoint });
    }
    result.duration = started.elapsed();
    run.redactor.seal(result)
}

/// The endpoint a real target does not offer, when that is why the case failed: its first
/// failing step got 404 where it expected another status, and nothing else was wrong.
fn not_offered(result: &CaseResult) -> Option<String> {
    let step = result.steps.iter().find(|s| s.failed())?;
    let request = step.request.as_ref()?;
    let status_failed = step.outcomes.iter().any(|o| o.kind == crate::result::CheckKind::Status && !o.passed);
    let route = request.route.as_deref().unwrap_or(&request.path);
    let auth = route.to_ascii_lowercase().starts_with("auth/");
    (step.status == Some(404) && status_failed && !auth).then(|| format!("{} {route}", request.method))
}

async fn start_own_simulator(ctx: &RunContext, case: &CasePlan) -> Result<Simulator, String> {
    let state: SimState = SimState::from_names(&case.simulator_state)?;
    let config = SimConfig {
        settings: ctx.settings.clone(),
        state,
        faults: ctx.target.faults.clone(),
        profile: ctx.target.profile,
        data: ctx.target.data,
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    Simulator::start(config, addr, Listen::Plain).await.map_err(|e| e.to_string())
}

/// Target settings, derived values and built-ins: the variables every case starts with.
fn initial_vars(settings: &Settings, base: &Url) -> Vars {
    let mut vars = Vars::new();
    for s in SETTINGS {
        if let Some(v) = settings.get(s.var) {
            vars.insert(s.var, Value::String(v.to_owned()), s.secret);
        }
    }
    for (name, value) in settings.derived() {
        vars.insert(name, Value::String(value), false);
    }
    // One draw of random bytes for all three built-ins: they are made for every case.
    const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let bytes: [u8; 128] = rand::rng().random();
    let hex: String = bytes[..64]
        .iter()
        .flat_map(|b| [b >> 4, b & 15])
        .map(|n| char::from(b"0123456789abcdef"[usize::from(n)]))
        .collect();
    let secret: String =
        bytes[64..112].iter().map(|b| char::from(ALPHANUMERIC[usize::from(*b) % ALPHANUMERIC.len()])).collect();
    let mut id = [0u8; 16];
    id.copy_from_slice(&bytes[112..128]);
    vars.insert("base_url", Value::String(base.as_str().trim_end_matches('/').to_owned()), false);
    vars.insert("uuid", Value::String(uuid::Builder::from_random_bytes(id).into_uuid().to_string()), false);
    vars.insert("random_key", Value::String(hex), false);
    vars.insert("random_secret", Value::String(secret), false);
    vars
}

/// Registers the configured credentials with the run's store.
pub fn configured_store(settings: &Settings) -> SecretStore {
    SecretStore::configured(settings.secret_values())
}

/// Warns about configured credentials too short to be searched for in what a target sends
/// back (they are still masked wherever psconform puts them).
pub fn warn_short_secrets(settings: &Settings) {
    for info in SETTINGS.iter().filter(|s| s.secret) {
        if settings.get(info.var).is_some_and(|v| v.chars().count() < crate::secret::store::MIN_CONFIGURED) {
            tracing::warn!(
                "{} is shorter than {} characters: it is masked where psconform sends it, but not searched for in what the target sends back",
                info.env,
                crate::secret::store::MIN_CONFIGURED
            );
        }
    }
}
