//! One case, start to end: why it does not run against this target (if it does not: a
//! setting, an opt-in, an area not offered, a failed sign-in, a target that stopped answering),
//! its own simulator when it needs the simulator in a state, its variables, its steps in order
//! (the first failing step ends them, and so does a stop of the run), its teardown whatever
//! happened, the releases it may have left open, and its result sealed as it ends. Each case
//! runs on its worker thread's own runtime; a panic is caught and reported as the case's
//! failure, redacted like everything else.

use std::time::{Duration, Instant};

use rand::Rng as _;
use serde_json::Value;
use url::Url;

use super::{CaseRun, Gate, Policy, RunContext, Target, step};
use crate::plan::{CasePlan, Vars};
use crate::result::{Blocker, CaseResult, IgnoreReason, Outcome, Phase, Skipped, StepError, StepResult};
use crate::seal::Redacted;
use crate::secret::Origin;
use crate::settings::{SETTINGS, Settings};
use crate::simulator::{Listen, SimConfig, SimState, Simulator};

/// Runs a case on this thread's runtime, catching a panic as the case's failure.
pub fn run(ctx: &RunContext, case: &CasePlan) -> Redacted<CaseResult> {
    // A panic is a bug in psconform, but its message could still quote a value from the
    // response: it becomes the case's failure, sealed like everything else.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| block_on(ctx, run_case(ctx, case))));
    run.unwrap_or_else(|payload| {
        let mut result = empty_result(case);
        result.outcome = Outcome::Failed;
        let mut s = StepResult::new(Phase::Step, 0, "psconform".into(), Default::default());
        s.error = Some(StepError::Bug(crate::logging::panic_text(payload.as_ref())));
        result.steps.push(s);
        ctx.redactor.seal(result)
    })
}

/// A case whose plan could not be made again (its file changed since it was checked): failed,
/// with why.
pub fn not_started(ctx: &RunContext, name: &str, why: String) -> Redacted<CaseResult> {
    let mut s = StepResult::new(Phase::Step, 0, "setup".into(), Default::default());
    s.error = Some(StepError::Setup(why));
    ctx.redactor.seal(CaseResult {
        name: name.to_owned(),
        file: String::new(),
        line: 0,
        endpoint: String::new(),
        summary: String::new(),
        source: None,
        outcome: Outcome::Failed,
        duration: Duration::ZERO,
        steps: vec![s],
        leftovers: Vec::new(),
    })
}

/// A case's result before anything has run: passed, with no steps.
pub(super) fn empty_result(case: &CasePlan) -> CaseResult {
    CaseResult {
        name: case.name.clone(),
        file: case.file.display().to_string(),
        line: case.line,
        endpoint: case.endpoint.clone(),
        summary: case.summary.clone(),
        source: case.source.clone(),
        outcome: Outcome::Passed,
        duration: Duration::ZERO,
        steps: Vec::new(),
        leftovers: Vec::new(),
    }
}

thread_local! {
    /// The runtime a trial thread runs its cases on.
    static RUNTIME: std::cell::RefCell<Option<tokio::runtime::Runtime>> = const { std::cell::RefCell::new(None) };
}

/// Runs a case's future on this thread's own single-threaded runtime (made on first use), so
/// its requests and their connections never wake another thread. Falls back to the run's
/// shared runtime if one cannot be made.
pub(super) fn block_on<F: std::future::Future>(ctx: &RunContext, future: F) -> F::Output {
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

/// Why a case does not run against this target, if it does not: in this order, a case only the
/// simulator can run, a missing setting, a missing opt-in (one for each effect the case has),
/// an area the target does not offer, and a sign-in that failed before the cases.
pub fn skip_reason(
    case: &CasePlan,
    target: &Target,
    settings: &Settings,
    policy: Policy,
    gate: &Gate,
) -> Option<IgnoreReason> {
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
    // The most consequential first: its flag is the one a reader must think about.
    if let Some((flag, because)) = case.effects.iter().rev().find_map(|e| policy.missing(*e)) {
        return opt_in(flag, because);
    }
    if case.lockout_risk && !policy.allow_lockout_risk {
        return opt_in("--allow-lockout-risk", "may lock out the run-as user");
    }
    if let Some((area, endpoint)) = case.areas.iter().find_map(|a| gate.not_offered.get(a).map(|e| (a, e))) {
        return Some(IgnoreReason::NotOffered { area: (*area).to_owned(), endpoint: endpoint.clone() });
    }
    if let Some(finding) = case.sign_in.iter().find_map(|s| gate.failed_sign_in.get(s)) {
        return Some(IgnoreReason::Blocked { by: Blocker::SignIn { finding: finding.clone() } });
    }
    None
}

/// Runs one case to its end, teardown included, and seals the result.
pub async fn run_case(ctx: &RunContext, case: &CasePlan) -> Redacted<CaseResult> {
    let started = Instant::now();
    let mut result = empty_result(case);
    if let Some(reason) = skip_reason(case, &ctx.target, &ctx.settings, ctx.policy, &ctx.gate) {
        result.outcome = Outcome::Ignored(reason);
        return ctx.redactor.seal(result);
    }
    if ctx.http.unreachable() {
        result.outcome = Outcome::Ignored(IgnoreReason::Blocked { by: Blocker::Unreachable });
        return ctx.redactor.seal(result);
    }
    let mut run = CaseRun::new(ctx, Vars::new());
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
    // The random secret becomes the password of what a case creates (a user, a secret): every
    // output masks it like a configured credential, in a case that uses it (registering one
    // was a fifth of a small case's bookkeeping, and a value never sent cannot come back).
    if case.random_secret
        && let Some(Value::String(secret)) = run.vars.get("random_secret").map(|v| v.value.clone())
    {
        run.store.add(&secret, Origin::Configured);
    }
    let at = step::At { ctx, case, base: &base };
    let mut failed = false;
    for (i, step) in case.steps.iter().enumerate() {
        if run.nothing_to_check.is_some() && !failed {
            let mut s = StepResult::new(Phase::Step, i + 1, step.name.clone(), step.span);
            s.skipped = Some(Skipped::NothingToCheck);
            result.steps.push(s);
            continue;
        }
        let unreachable = ctx.http.unreachable();
        if failed || ctx.interrupted() || unreachable {
            let mut s = StepResult::new(Phase::Step, i + 1, step.name.clone(), step.span);
            s.skipped = Some(if failed {
                Skipped::AfterFailure
            } else if unreachable {
                Skipped::Unreachable
            } else {
                Skipped::Interrupted
            });
            if !failed {
                s.error = Some(if unreachable { StepError::Unreachable } else { StepError::Interrupted });
                failed = true;
            }
            result.steps.push(s);
            continue;
        }
        let r = step::run(at, &mut run, step, Phase::Step, i + 1).await;
        failed = r.failed();
        result.steps.push(r);
    }
    for (i, step) in case.teardown.iter().enumerate() {
        let r = step::run(at, &mut run, step, Phase::Teardown, i + 1).await;
        failed |= r.failed();
        result.steps.push(r);
    }
    if let Some(sim) = own_sim {
        sim.stop().await;
    }
    // A release the case may have left open fails it, whatever its steps said: someone has to
    // check it in.
    result.leftovers = run.releases.leftovers(&case.name, &ctx.settings);
    failed |= !result.leftovers.is_empty();
    result.outcome = match (failed, run.nothing_to_check.take()) {
        (true, _) => Outcome::Failed,
        (false, Some(why)) => Outcome::Ignored(IgnoreReason::NothingToCheck { why }),
        (false, None) => Outcome::Passed,
    };
    result.duration = started.elapsed();
    run.redactor.seal(result)
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
pub(super) fn initial_vars(settings: &Settings, base: &Url) -> Vars {
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
    vars.insert("random_secret", Value::String(secret), true);
    vars.insert("run_id", Value::String(crate::plan::template::run_id().to_owned()), false);
    vars
}
