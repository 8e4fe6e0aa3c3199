//! One step: render the request from the plan, learn the secrets the response carries,
//! evaluate every expectation within the step's budget, capture values, and log what may be
//! shown. A teardown step that undoes something (a check-in) and meets a transport error or a
//! 5xx is tried again, a few times with a growing pause: it is what checks a credential in. Sending it, once or until it holds,
//! is `poll`'s; its contract is `observe`'s.

use std::time::{Duration, Instant};

use serde_json::Value;
use url::Url;

use super::http::Outgoing;
use super::{CaseRun, RunContext};
use crate::plan::check::{Eval, captured};
use crate::plan::{AuthPlan, BodyPlan, CasePlan, PwdPlan, StepPlan};
use crate::response::Response;
use crate::result::{Attempt, CheckOutcome, Phase, RequestLine, Skipped, StepError, StepResult};
use crate::seal::ShownBody;
use crate::secret::{Added, FieldPolicy, MASK, Origin, show_header};

/// Outcomes kept per step; the rest are counted.
pub const MAX_OUTCOMES: usize = 200;

/// The pauses before each new try of a teardown step that met a transport error or a 5xx.
pub const TEARDOWN_RETRIES: [Duration; 3] =
    [Duration::from_millis(500), Duration::from_secs(1), Duration::from_secs(2)];

/// A request ready to send, with what may be shown of it.
pub(super) struct Built {
    pub(super) outgoing: Outgoing,
    pub(super) line: RequestLine,
    /// The path as sent, relative to the base URL (it may hold a secret: never shown).
    pub(super) path: String,
    /// The URL as it may be logged: secret variables masked.
    pub(super) shown_url: String,
    /// The `version` query, for the contract key.
    pub(super) version: Option<String>,
    /// Which fields of the request and its answer are credentials, by the URL as sent.
    pub(super) fields: FieldPolicy,
    /// The query as sent, for the documented form of the answer.
    pub(super) query: Vec<(String, String)>,
}

/// Where a step runs: the run, the case, and the base URL requests go to (the target's, or
/// the case's own simulator's).
#[derive(Clone, Copy)]
pub struct At<'a> {
    /// The run.
    pub ctx: &'a RunContext,
    /// The case.
    pub case: &'a CasePlan,
    /// The base URL.
    pub base: &'a Url,
}

/// Runs one step: skipped when it is a teardown step with nothing to undo, after its `wait`
/// (which a stop of the run ends at once, and then the step is not sent), then once or polled
/// (`poll`); a teardown step that undoes something again after a transport error or a 5xx.
pub async fn run(at: At<'_>, run: &mut CaseRun, step: &StepPlan, phase: Phase, index: usize) -> StepResult {
    let mut r = StepResult::new(phase, index, step.name.clone(), step.span);
    // A teardown step that needs a value no step captured has nothing to undo: a check-in
    // of a request that was never made.
    if phase == Phase::Teardown && !defined(step, run) {
        r.skipped = Some(Skipped::NothingToUndo);
        return r;
    }
    if let Some(wait) = step.wait {
        match phase {
            Phase::Step if !at.ctx.stop.sleep(wait).await => {
                r.skipped = Some(Skipped::Interrupted);
                r.error = Some(StepError::Interrupted);
                return r;
            }
            Phase::Step => {}
            // A teardown waits what it asks for: it undoes the case.
            Phase::Teardown => tokio::time::sleep(wait).await,
        }
    }
    let mut earlier: Vec<Attempt> = Vec::new();
    for pause in TEARDOWN_RETRIES.iter().copied().map(Some).chain([None]) {
        let mut tried = super::poll::run(at, run, step, r.clone()).await;
        // Only a teardown step that undoes something (a check-in, a delete: effect `change` or
        // more) is worth the wait; a sign-out that fails leaves a session that expires alone.
        let again = phase == Phase::Teardown
            && step.effect >= crate::plan::Effect::Change
            && !at.ctx.http.unreachable()
            && (matches!(tried.error, Some(StepError::Transport(_))) || tried.status.is_some_and(|s| s >= 500));
        match pause {
            Some(pause) if again => {
                tracing::info!("{}: {}; trying again in {} ms", step.name, what_failed(&tried), pause.as_millis());
                earlier.append(&mut tried.attempts);
                earlier.push(Attempt {
                    status: tried.status,
                    duration: tried.duration,
                    failed: tried.outcomes.into_iter().filter(|o| !o.passed).take(MAX_OUTCOMES).collect(),
                    error: tried.error,
                });
                tokio::time::sleep(pause).await;
            }
            _ => {
                earlier.append(&mut tried.attempts);
                tried.attempts = earlier;
                return tried;
            }
        }
    }
    r
}

/// What made a teardown step worth another try, for the log.
fn what_failed(r: &StepResult) -> String {
    match (&r.error, r.status) {
        (Some(e), _) => e.to_string(),
        (None, Some(status)) => format!("answered {status}"),
        (None, None) => "no answer".to_owned(),
    }
}

/// Whether every variable the step's request uses is defined.
fn defined(step: &StepPlan, run: &CaseRun) -> bool {
    let req = &step.request;
    let mut names: Vec<&str> = req.path.names().collect();
    for (k, v) in &req.query {
        names.extend(k.names().chain(v.names()));
    }
    for (_, v) in &req.headers {
        names.extend(v.names());
    }
    match &req.body {
        Some(BodyPlan::Json(v)) => names.extend(v.names()),
        Some(BodyPlan::Form(f)) => f.iter().for_each(|(k, v)| names.extend(k.names().chain(v.names()))),
        Some(BodyPlan::Text(t)) => names.extend(t.names()),
        None => {}
    }
    if let AuthPlan::Bearer(t) = &req.auth {
        names.extend(t.names());
    }
    names.into_iter().all(|n| run.vars.contains(n))
}

/// Renders the request a step describes.
pub(super) fn build(ctx: &RunContext, run: &CaseRun, base: &Url, step: &StepPlan) -> Result<Built, StepError> {
    let req = &step.request;
    let vars = &run.vars;
    let undefined = |u: crate::plan::template::Undefined| StepError::Undefined(u.0);
    let path = req.path.render_path(vars).map_err(|e| match e {
        crate::plan::template::PathError::Undefined(u) => undefined(u),
        other => StepError::InvalidRequest(other.to_string()),
    })?;
    let join = |p: &str| format!("{}/{}", base.as_str().trim_end_matches('/'), p.trim_start_matches('/'));
    let mut url = Url::parse(&join(&path.value))
        .map_err(|e| StepError::InvalidRequest(format!("the path `{}` does not make a valid URL: {e}", path.shown)))?;
    let mut shown_url = Url::parse(&join(&path.shown)).map_or_else(|_| join(&path.shown), |u| u.to_string());
    let mut version = None;
    if !req.query.is_empty() {
        let mut shown = url::form_urlencoded::Serializer::new(String::new());
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &req.query {
            let (k, v) = (k.render(vars).map_err(undefined)?, v.render(vars).map_err(undefined)?);
            if k.value.eq_ignore_ascii_case("version") {
                version = Some(v.value.clone());
            }
            pairs.append_pair(&k.value, &v.value);
            shown.append_pair(&k.shown, &v.shown);
        }
        drop(pairs);
        shown_url = format!("{shown_url}?{}", shown.finish());
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in &req.headers {
        let v = v.render(vars).map_err(undefined)?;
        headers.push((k.clone(), v.value));
    }
    // The configured credentials are the run's already; only what this case made up (a
    // captured token, a random key) is new to it.
    let secret = |value: &str| {
        if !run.redactor.knows(value) {
            run.store.add(value, Origin::Configured);
        }
    };
    match &req.auth {
        AuthPlan::None => {}
        AuthPlan::Bearer(t) => {
            let token = t.render(vars).map_err(undefined)?;
            secret(&token.value);
            headers.push(("Authorization".into(), format!("Bearer {}", token.value)));
        }
        AuthPlan::PsAuth { key, runas, pwd, compact } => {
            let key = key.render(vars).map_err(undefined)?.value;
            let runas = runas.render(vars).map_err(undefined)?.value;
            let pwd = match pwd {
                PwdPlan::Default => ctx.settings.get("runas_password").map(str::to_owned),
                PwdPlan::Omit => None,
                PwdPlan::Value(t) => Some(t.render(vars).map_err(undefined)?.value),
            };
            secret(&key);
            let sep = if *compact { ";" } else { "; " };
            let mut value = format!("PS-Auth key={key}{sep}runas={runas};");
            if let Some(pwd) = pwd {
                secret(&pwd);
                value.push_str(&format!("{}pwd=[{pwd}];", if *compact { "" } else { " " }));
            }
            headers.push(("Authorization".into(), value));
        }
    }
    for (k, v) in &headers {
        if v.contains(['\r', '\n', '\0']) {
            return Err(StepError::InvalidRequest(format!(
                "the value of header {k} holds a line break or NUL after its variables were filled in"
            )));
        }
    }
    let has = |headers: &[(String, String)], name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    // The endpoint the request reaches, decided from the URL as sent (dot segments removed,
    // unreserved escapes decoded), not from how the case spells it.
    let fields = crate::catalog::fields::of_request(req.method.as_str(), base.path(), url.path());
    let body = match &req.body {
        None => None,
        Some(BodyPlan::Json(v)) => {
            let v = v.render(vars).map_err(undefined)?;
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            let mut found = Vec::new();
            fields.secrets_in(&v.value, None, &mut found);
            found.iter().for_each(|s| secret(s));
            Some(serde_json::to_vec(&v.value).map_err(|e| StepError::InvalidRequest(e.to_string()))?)
        }
        Some(BodyPlan::Form(form)) => {
            let mut ser = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in form {
                let (k, v) = (k.render(vars).map_err(undefined)?, v.render(vars).map_err(undefined)?);
                if fields.is_sensitive(&k.value) || v.secret {
                    secret(&v.value);
                }
                ser.append_pair(&k.value, &v.value);
            }
            if !has(&headers, "content-type") {
                headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
            }
            Some(ser.finish().into_bytes())
        }
        Some(BodyPlan::Text(t)) => Some(t.render(vars).map_err(undefined)?.value.into_bytes()),
    };
    let method = reqwest::Method::from_bytes(req.method.as_str().as_bytes())
        .map_err(|e| StepError::InvalidRequest(e.to_string()))?;
    let shown_path = path.shown.trim_start_matches('/').to_owned();
    let query = url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    Ok(Built {
        line: RequestLine { method: req.method.as_str().to_owned(), path: shown_path, route: Some(req.route.clone()) },
        path: path.value.trim_start_matches('/').to_owned(),
        outgoing: Outgoing { method, url, headers, body },
        shown_url,
        version,
        fields,
        query,
    })
}

/// Registers every credential a response carries, before anything about it is shown. Values
/// too short to match globally stay masked where they stand; past the store's bound the case
/// is saturated and shows nothing more from bodies.
pub(super) fn learn(run: &mut CaseRun, resp: &Response, fields: &FieldPolicy) {
    let mut found: Vec<String> = resp.set_cookies().iter().map(|c| c.value.clone()).collect();
    match resp.json() {
        Ok(json) => fields.secrets_in(json, Some(resp.status), &mut found),
        // A body serde rejects (a BOM, a `NaN`, trailing garbage, a bad byte) still holds its
        // credentials where it always does: read leniently, as it will be shown. A raw
        // credential body (a file download) is never shown; only a small one is learned.
        Err(_) if fields.bare_body(resp.status) || fields.reads_leniently(&resp.body) => {
            found.extend(fields.lenient(&resp.body, resp.status).map(|read| read.found).unwrap_or_default());
        }
        Err(_) => {}
    }
    for f in found {
        if run.store.add(&f, Origin::Learned) == Added::Full {
            run.saturated = true;
        }
    }
}

/// Evaluates every expectation within the budget.
pub(super) fn evaluate(
    ctx: &RunContext,
    run: &CaseRun,
    step: &StepPlan,
    resp: &Response,
    fields: &FieldPolicy,
) -> (Vec<CheckOutcome>, Option<StepError>) {
    let mut e = Eval::new(resp, &run.vars, fields, &run.redactor, Instant::now() + ctx.eval_budget);
    e.strict = ctx.strict;
    let mut out = Vec::new();
    for check in &step.checks {
        if check.eval(&e, &mut out).is_err() {
            return (out, Some(StepError::Budget { secs: ctx.eval_budget.as_secs_f64() }));
        }
    }
    (out, None)
}

pub(super) fn capture(
    run: &mut CaseRun,
    step: &StepPlan,
    resp: &Response,
    fields: &FieldPolicy,
    outcomes: &mut Vec<CheckOutcome>,
) {
    for cap in &step.captures {
        match cap.eval(resp, fields) {
            Ok((value, secret)) => {
                if secret {
                    let text = match &value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    run.store.add(&text, Origin::Configured);
                }
                run.vars.insert(cap.name.clone(), value, secret);
                outcomes.push(captured(cap));
            }
            Err(o) => match &cap.if_missing {
                // Nothing to capture on this target: the case has nothing to check, which is
                // not a failure of the target.
                // Several captures of one step may each find nothing; the first reason stands.
                Some(reason) => {
                    let mut o = *o;
                    o.passed = true;
                    o.note = Some(crate::result::Note::Text(format!("nothing to check: {reason}")));
                    outcomes.push(o);
                    run.nothing_to_check.get_or_insert_with(|| reason.clone());
                }
                _ => outcomes.push(*o),
            },
        }
    }
}

pub(super) fn log_request_details(run: &CaseRun, out: &Outgoing, fields: &FieldPolicy) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    for (k, v) in &out.headers {
        tracing::debug!("{}", run.redactor.text(&format!("> {k}: {}", show_header(k, v))));
    }
    if let Some(body) = &out.body {
        let json = serde_json::from_slice::<Value>(body);
        tracing::debug!(
            "> {}",
            show_body(run.redactor.body(body, json.as_ref().map_err(|_| "not JSON"), None, fields), LOGGED)
        );
    }
}

pub(super) fn log_response(run: &CaseRun, resp: &Response, fields: &FieldPolicy, took: Duration) {
    tracing::info!("< {} ({} bytes, {} ms)", resp.status, resp.body.len(), took.as_millis());
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    for (k, v) in &resp.headers {
        tracing::debug!("{}", run.redactor.text(&format!("< {k}: {}", show_header(k, v))));
    }
    if !resp.body.is_empty() {
        let shown = if run.saturated {
            MASK.to_owned()
        } else {
            show_body(run.redactor.body(&resp.body, resp.json(), Some(resp.status), fields), LOGGED)
        };
        tracing::debug!("< {shown}");
    }
}

/// The most of a body `-vv` logs.
const LOGGED: usize = 2048;
/// The most of a failed step's body a report shows.
const EXCERPT: usize = 600;

/// The start of a failed step's body for the reports, masked as the log masks it (nothing of
/// it when the response carried more secrets than are tracked).
pub(super) fn excerpt(run: &CaseRun, resp: &Response, fields: &FieldPolicy) -> String {
    if run.saturated {
        return MASK.to_owned();
    }
    show_body(run.redactor.body(&resp.body, resp.json(), Some(resp.status), fields), EXCERPT)
}

/// A body fit for the log ([`crate::seal::Redactor::body`]: masked by position, then by value),
/// and only then cut to `max` characters.
fn show_body(shown: ShownBody, max: usize) -> String {
    match shown {
        ShownBody::Empty => String::new(),
        ShownBody::Credential => MASK.to_owned(),
        ShownBody::Json(v) => crate::secret::cut(&v.to_string(), max),
        ShownBody::Text(text) => crate::secret::cut(&text, max),
        ShownBody::Unreadable => ShownBody::UNREADABLE.to_owned(),
    }
}
