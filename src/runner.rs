//! Running cases: one libtest-mimic trial per case on a shared tokio runtime and connection
//! pool, each case with its own cookie jar and variables.
//!
//! A case's steps run in order; the first failing step ends them, and the teardown steps run
//! whatever happened. Results are recorded as plain data for the reporters; the trial's
//! failure message is rendered from the same data and filtered through the secret store.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use libtest_mimic::{Completion, Failed, Trial};
use rand::Rng as _;
use reqwest_cookie_store::CookieStoreMutex;
use serde_json::Value;
use url::Url;

use std::collections::BTreeMap;

use crate::case::spec::{AuthSpec, BodySpec, Effect, PwdSpec, StepSpec};
use crate::case::validate::parse_duration;
use crate::case::{Case, Suite};
use crate::expect::{self, CheckResult, Response};
use crate::http::{Http, Outgoing};
use crate::result::{CaseResult, Outcome, Phase, StepResult};
use crate::secrets::{self, SecretStore};
use crate::settings::{SETTINGS, Settings};
use crate::shape::ResponseShape;
use crate::simulator::{DataVariant, Fault, Listen, Profile, SimConfig, SimState, Simulator};
use crate::snapshot::{SnapFile, SnapshotOutcome, Snapshots};
use crate::template::{self, Vars};

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
    /// The data variant of the built-in simulator (also for the per-case simulators).
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

/// Everything the trials share.
#[derive(Debug)]
pub struct RunContext {
    /// The runtime the trials block on.
    pub rt: tokio::runtime::Handle,
    /// The shared client.
    pub http: Arc<Http>,
    /// The target.
    pub target: Target,
    /// Credentials.
    pub settings: Settings,
    /// Every secret known so far; every output passes through it.
    pub secrets: SecretStore,
    /// What may run against a real target.
    pub policy: Policy,
    /// Results, in completion order.
    pub records: Mutex<Vec<CaseResult>>,
    /// Requests that got a response.
    pub responses: AtomicUsize,
    /// Requests that never reached the target (refused, DNS, TLS).
    pub unreachable: AtomicUsize,
    /// Shape snapshots, when the run compares them.
    pub snapshots: Option<Snapshots>,
    /// The shapes this run saw, by snapshot name, kept only for `--drift-report`.
    pub shapes: Option<Mutex<BTreeMap<String, SnapFile>>>,
}

impl RunContext {
    /// The results recorded so far, sorted by case name.
    pub fn results(&self) -> Vec<CaseResult> {
        let mut r = self.records.lock().map(|r| r.clone()).unwrap_or_default();
        r.sort_by(|a, b| a.name.cmp(&b.name));
        r
    }
}

/// One trial per case, in suite order.
pub fn trials(ctx: &Arc<RunContext>, suite: &Suite) -> Vec<Trial> {
    suite
        .cases
        .iter()
        .map(|case| {
            let ctx = Arc::clone(ctx);
            let case = case.clone();
            Trial::ignorable_test(case.name.clone(), move || {
                // A panic is a bug in psconform, but its message could still quote a value
                // from the response: catch it here so it is redacted like everything else.
                let run =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.rt.block_on(run_case(&ctx, &case))));
                let result = match run {
                    Ok(r) => r,
                    Err(payload) => {
                        let text = crate::logging::panic_text(payload.as_ref());
                        return Err(Failed::from(ctx.secrets.redact(&format!("psconform panicked (a bug): {text}"))));
                    }
                };
                let outcome = result.outcome.clone();
                let message = match outcome {
                    Outcome::Failed => Some(ctx.secrets.redact(&crate::report::failure_text(&result))),
                    _ => None,
                };
                if let Ok(mut records) = ctx.records.lock() {
                    records.push(result);
                }
                match outcome {
                    Outcome::Passed => Ok(Completion::Completed),
                    Outcome::Ignored(reason) => Ok(Completion::ignored_with(reason)),
                    Outcome::Failed => Err(Failed::from(message.unwrap_or_default())),
                }
            })
        })
        .collect()
}

/// Why a case does not run against this target, if it does not.
pub fn skip_reason(case: &Case, target: &Target, settings: &Settings, policy: Policy) -> Option<String> {
    let spec = case.spec();
    if spec.simulator_only && !target.builtin {
        let states: Vec<&str> = spec.simulator_state.iter().map(|s| s.value.as_str()).collect();
        return Some(if states.is_empty() {
            "runs only against the built-in simulator (simulator_only; the case file says why)".to_owned()
        } else {
            format!("checks a condition only the built-in simulator can be put in ({})", states.join(", "))
        });
    }
    let missing: Vec<String> = case
        .needs
        .iter()
        .filter(|n| settings.get(n).is_none())
        .map(|n| SETTINGS.iter().find(|s| s.var == n).map_or_else(|| n.clone(), |s| s.env.to_owned()))
        .collect();
    if !missing.is_empty() {
        return Some(format!("needs {}, which is not set", missing.join(", ")));
    }
    if !target.builtin && spec.effect == Effect::Mutating && !policy.allow_mutations {
        return Some("mutating case: runs against a real target only with --allow-mutations".into());
    }
    if !target.builtin && spec.releases_credential && !policy.allow_credential_release {
        return Some(
            "releases a managed account's credential (audited, may need approval, check-in may rotate it): runs against a real target only with --allow-credential-release".into(),
        );
    }
    if !target.builtin && spec.lockout_risk && !policy.allow_lockout_risk {
        return Some("may lock out the run-as user: runs against a real target only with --allow-lockout-risk".into());
    }
    None
}

/// Runs one case to its end, teardown included.
pub async fn run_case(ctx: &RunContext, case: &Case) -> CaseResult {
    let spec = case.spec();
    let started = Instant::now();
    let mut result = CaseResult {
        name: case.name.clone(),
        file: case.file.path.display().to_string(),
        line: spec.name.referenced.line() as usize,
        outcome: Outcome::Passed,
        duration: Duration::ZERO,
        steps: Vec::new(),
    };
    if let Some(reason) = skip_reason(case, &ctx.target, &ctx.settings, ctx.policy) {
        result.outcome = Outcome::Ignored(reason);
        return result;
    }
    // A case that needs the simulator in a special state gets a simulator of its own, so the
    // state cannot disturb cases running in parallel.
    let own_sim = if spec.simulator_state.is_empty() || !ctx.target.builtin {
        None
    } else {
        match start_own_simulator(ctx, case).await {
            Ok(sim) => Some(sim),
            Err(e) => {
                result.outcome = Outcome::Failed;
                result.steps.push(setup_failure(format!("could not start the simulator for this case: {e}")));
                return result;
            }
        }
    };
    let base = own_sim.as_ref().map_or_else(|| ctx.target.base_url.clone(), |s| s.base_url().clone());
    let mut vars = initial_vars(&ctx.settings, &base);
    let jar = CookieStoreMutex::default();
    let mut failed = false;
    for (i, step) in spec.steps.iter().enumerate() {
        if failed {
            result.steps.push(skipped(step, Phase::Step, i + 1));
            continue;
        }
        let r = run_step(ctx, case, &base, step, Phase::Step, i + 1, &mut vars, &jar).await;
        failed = r.failed();
        result.steps.push(r);
    }
    for (i, step) in spec.teardown.iter().enumerate() {
        let r = run_step(ctx, case, &base, step, Phase::Teardown, i + 1, &mut vars, &jar).await;
        failed |= r.failed();
        result.steps.push(r);
    }
    if let Some(sim) = own_sim {
        sim.stop().await;
    }
    result.outcome = if failed { Outcome::Failed } else { Outcome::Passed };
    result.duration = started.elapsed();
    result
}

async fn start_own_simulator(ctx: &RunContext, case: &Case) -> Result<Simulator, String> {
    let state: SimState = SimState::from_names(&case.simulator_state())?;
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

fn setup_failure(error: String) -> StepResult {
    StepResult {
        phase: Phase::Step,
        index: 0,
        name: "setup".into(),
        line: 0,
        method: String::new(),
        path: String::new(),
        status: None,
        duration: Duration::ZERO,
        checks: Vec::new(),
        error: Some(error),
        skipped: false,
        snapshot: None,
    }
}

/// Target settings and built-ins, the variables every case starts with.
fn initial_vars(settings: &Settings, base: &Url) -> Vars {
    let mut vars = Vars::new();
    for s in SETTINGS {
        if let Some(v) = settings.get(s.var) {
            vars.insert(s.var.to_owned(), Value::String(v.to_owned()));
        }
    }
    for (name, value) in settings.derived() {
        vars.insert(name.to_owned(), Value::String(value));
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
    vars.insert("base_url".into(), Value::String(base.as_str().trim_end_matches('/').to_owned()));
    vars.insert("uuid".into(), Value::String(uuid::Builder::from_random_bytes(id).into_uuid().to_string()));
    vars.insert("random_key".into(), Value::String(hex));
    vars.insert("random_secret".into(), Value::String(secret));
    vars
}

fn step_name(step: &StepSpec) -> String {
    step.name
        .clone()
        .unwrap_or_else(|| format!("{} {}", step.request.value.method.as_str(), step.request.value.path.value))
}

fn skipped(step: &StepSpec, phase: Phase, index: usize) -> StepResult {
    StepResult {
        phase,
        index,
        name: step_name(step),
        line: step.request.referenced.line() as usize,
        method: step.request.value.method.as_str().to_owned(),
        path: step.request.value.path.value.clone(),
        status: None,
        duration: Duration::ZERO,
        checks: Vec::new(),
        error: None,
        skipped: true,
        snapshot: None,
    }
}

#[expect(clippy::too_many_arguments, reason = "the step's whole context, passed down once")]
async fn run_step(
    ctx: &RunContext,
    case: &Case,
    base: &Url,
    step: &StepSpec,
    phase: Phase,
    index: usize,
    vars: &mut Vars,
    jar: &CookieStoreMutex,
) -> StepResult {
    let mut r = skipped(step, phase, index);
    r.skipped = false;
    if let Some(wait) = step.wait.as_ref().and_then(|w| parse_duration(&w.value)) {
        tokio::time::sleep(wait).await;
    }
    let out = match build_request(ctx, base, step, vars) {
        Ok(o) => o,
        Err(e) => {
            r.error = Some(e);
            return r;
        }
    };
    r.path = out.url.path().strip_prefix(base.path()).unwrap_or(out.url.path()).trim_start_matches('/').to_owned();
    log_request(&out);
    let started = Instant::now();
    let resp = ctx.http.send(&out, jar).await;
    r.duration = started.elapsed();
    let resp = match resp {
        Ok(resp) => resp,
        Err(e) => {
            if e.unreachable() {
                ctx.unreachable.fetch_add(1, Ordering::Relaxed);
            }
            tracing::info!("{} {}: {e}", out.method, out.url);
            r.error = Some(e.to_string());
            return r;
        }
    };
    ctx.responses.fetch_add(1, Ordering::Relaxed);
    learn_secrets(&ctx.secrets, &r.path, &resp);
    log_response(&resp, r.duration);
    r.status = Some(resp.status);
    r.checks = expect::eval(&step.expect, &resp, vars);
    if let Some(loc) = resp.header("location").filter(|_| (300..400).contains(&resp.status)) {
        let loc = loc.to_owned();
        for c in r.checks.iter_mut().filter(|c| c.what == "status" && !c.passed) {
            c.actual = format!(
                "{} (a redirect to {loc}; psconform does not follow redirects: point --target at the final URL)",
                c.actual
            );
        }
    }
    capture(ctx, step, &resp, vars, &mut r.checks);
    let wanted = ctx.snapshots.is_some() || ctx.shapes.is_some();
    if wanted && step.snapshot.unwrap_or((200..300).contains(&resp.status)) {
        snapshot(ctx, case, step, &resp, &mut r);
    }
    r
}

/// Records the response's shape and compares it with the step's snapshot.
fn snapshot(ctx: &RunContext, case: &Case, step: &StepSpec, resp: &Response, r: &mut StepResult) {
    let name = crate::snapshot::name(&case.name, r.phase == Phase::Teardown, r.index);
    let cookies = resp.set_cookies().iter().map(|c| c.name.clone());
    let shape = ResponseShape::infer(resp.status, resp.header("content-type"), cookies, &resp.body);
    let source = case.file.path.display().to_string();
    let description = format!(
        "{} step {}: {} {}",
        case.name,
        r.index,
        step.request.value.method.as_str(),
        step.request.value.path.value
    );
    if let Some(Ok(mut shapes)) = ctx.shapes.as_ref().map(Mutex::lock) {
        let file = SnapFile { source: source.clone(), description: description.clone(), shape: shape.clone() };
        shapes.insert(name.clone(), file);
    }
    let Some(snaps) = &ctx.snapshots else { return };
    let Some(outcome) = snaps.observe(&name, &source, &description, &shape) else { return };
    if outcome.fails(snaps.strict) {
        let (expected, actual) = match &outcome {
            SnapshotOutcome::Changed { changes, .. } => (
                format!("the shape in {}", snaps.dir.join(format!("{name}.snap")).display()),
                changes.iter().map(|c| c.line()).collect::<Vec<_>>().join("; "),
            ),
            _ => (format!("a snapshot {name}.snap (--strict-shapes)"), "none recorded".to_owned()),
        };
        r.checks.push(CheckResult { what: "shape".into(), expected, actual, passed: false, line: r.line });
    }
    r.snapshot = Some(outcome);
}

/// The request a step describes, rendered with the case's variables.
fn build_request(ctx: &RunContext, base: &Url, step: &StepSpec, vars: &Vars) -> Result<Outgoing, String> {
    let req = &step.request.value;
    let render = |t: &str| template::render(t, vars).map_err(|e| e.to_string());
    let path = render(&req.path.value)?;
    let mut url = Url::parse(&format!("{}/{}", base.as_str().trim_end_matches('/'), path.trim_start_matches('/')))
        .map_err(|e| format!("the path `{path}` does not make a valid URL: {e}"))?;
    if !req.query.is_empty() {
        let pairs: Vec<(String, String)> =
            req.query.iter().map(|(k, v)| Ok((render(&k.value)?, render(&v.value)?))).collect::<Result<_, String>>()?;
        url.query_pairs_mut().extend_pairs(pairs);
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in req.headers.iter() {
        headers.push((k.value.clone(), render(&v.value)?));
    }
    match &req.auth {
        AuthSpec::None => {}
        AuthSpec::Bearer(t) => {
            let token = render(&t.value)?;
            ctx.secrets.add(&token);
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        AuthSpec::PsAuth(p) => {
            let key = render(p.key.as_ref().map_or("{{ api_key }}", |k| k.value.as_str()))?;
            let runas = render(p.runas.as_ref().map_or("{{ runas }}", |r| r.value.as_str()))?;
            let pwd = match &p.pwd {
                None => ctx.settings.get("runas_password").map(str::to_owned),
                Some(PwdSpec::Omit) => None,
                Some(PwdSpec::Value(v)) => Some(render(&v.value)?),
            };
            ctx.secrets.add(&key);
            let sep = if p.compact { ";" } else { "; " };
            let mut value = format!("PS-Auth key={key}{sep}runas={runas};");
            if let Some(pwd) = pwd {
                ctx.secrets.add(&pwd);
                value.push_str(&format!("{}pwd=[{pwd}];", if p.compact { "" } else { " " }));
            }
            headers.push(("Authorization".into(), value));
        }
    }
    let has = |headers: &[(String, String)], name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let body = match &req.body {
        None => None,
        Some(BodySpec::Json(v)) => {
            let v = template::render_value(v, vars).map_err(|e| e.to_string())?;
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            Some(serde_json::to_vec(&v).map_err(|e| e.to_string())?)
        }
        Some(BodySpec::Form(fields)) => {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in fields.iter() {
                let value = render(&v.value)?;
                if secrets::is_sensitive_field(&k.value) {
                    ctx.secrets.add(&value);
                }
                ser.append_pair(&render(&k.value)?, &value);
            }
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
            }
            Some(ser.finish().into_bytes())
        }
        Some(BodySpec::Text(t)) => Some(render(&t.value)?.into_bytes()),
    };
    let method = reqwest::Method::from_bytes(req.method.as_str().as_bytes()).map_err(|e| e.to_string())?;
    Ok(Outgoing { method, url, headers, body })
}

/// Registers every credential a response carries, before anything about it is shown.
fn learn_secrets(store: &SecretStore, path: &str, resp: &Response) {
    for c in resp.set_cookies() {
        store.add(&c.value);
    }
    if let Ok(json) = resp.json() {
        let mut found = Vec::new();
        secrets::sensitive_values(json, &mut found);
        if secrets::path_returns_credential(path)
            && let Value::String(s) = json
        {
            found.push(s.clone());
        }
        for f in found {
            store.add(&f);
        }
    }
}

fn capture(ctx: &RunContext, step: &StepSpec, resp: &Response, vars: &mut Vars, checks: &mut Vec<CheckResult>) {
    for (name, cap) in step.capture.iter() {
        let mut fail = |why: String| {
            checks.push(CheckResult {
                what: format!("capture {}", name.value),
                expected: "a value to capture".into(),
                actual: why,
                passed: false,
                line: name.referenced.line() as usize,
            });
        };
        let (value, sensitive) = if let Some(p) = &cap.path {
            let doc = match resp.json() {
                Ok(d) => d,
                Err(why) => {
                    fail(why.to_owned());
                    continue;
                }
            };
            let Ok(path) = crate::compiled::jsonpath(&p.value) else {
                fail(format!("invalid JSONPath {}", p.value));
                continue;
            };
            match path.query(doc).exactly_one() {
                Ok(v) => (v.clone(), secrets::is_sensitive_path(&p.value)),
                Err(_) => {
                    fail(format!("{} does not select exactly one value", p.value));
                    continue;
                }
            }
        } else if let Some(h) = &cap.header {
            match resp.header(h) {
                Some(v) => (Value::String(v.to_owned()), secrets::is_sensitive_header(h)),
                None => {
                    fail(format!("no {h} header"));
                    continue;
                }
            }
        } else if let Some(c) = &cap.cookie {
            match resp.set_cookies().iter().rev().find(|k| &k.name == c) {
                Some(k) => (Value::String(k.value.clone()), true),
                None => {
                    fail(format!("the response does not set cookie {c}"));
                    continue;
                }
            }
        } else {
            continue;
        };
        if cap.secret || sensitive {
            match &value {
                Value::String(s) => ctx.secrets.add(s),
                other => ctx.secrets.add(&other.to_string()),
            }
        }
        vars.insert(name.value.clone(), value);
    }
}

fn log_request(out: &Outgoing) {
    tracing::info!("> {} {}", out.method, out.url);
    if tracing::enabled!(tracing::Level::DEBUG) {
        for (k, v) in &out.headers {
            tracing::debug!("> {k}: {}", secrets::show_header(k, v));
        }
        if let Some(body) = &out.body {
            tracing::debug!("> {}", show_body(body));
        }
    }
}

fn log_response(resp: &Response, took: Duration) {
    tracing::info!("< {} ({} bytes, {} ms)", resp.status, resp.body.len(), took.as_millis());
    if tracing::enabled!(tracing::Level::DEBUG) {
        for (k, v) in &resp.headers {
            tracing::debug!("< {k}: {}", secrets::show_header(k, v));
        }
        if !resp.body.is_empty() {
            tracing::debug!("< {}", show_body(&resp.body));
        }
    }
}

/// A body fit for the log: JSON with credential fields masked, form bodies likewise, other
/// text cut short.
fn show_body(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return expect::show(&v);
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(2048)]).into_owned();
    if text.contains('=') && !text.contains(' ') {
        return url::form_urlencoded::parse(text.as_bytes())
            .map(
                |(k, v)| {
                    if secrets::is_sensitive_field(&k) { format!("{k}={}", secrets::MASK) } else { format!("{k}={v}") }
                },
            )
            .collect::<Vec<_>>()
            .join("&");
    }
    text
}
