//! Before the cases, against a real target: sign in once each way the selected cases need
//! (PS-Auth, OAuth), probe the entry route of every area they call (the area's first catalog
//! `GET` without path parameters) with the first session that worked (PS-Auth first), and
//! sign out. What it finds is decided before any result is printed:
//!
//! - a sign-in that fails (no 200, or no answer) is one finding, a failed result of its own
//!   named `preflight::sign-in::<way>`; the cases that need that sign-in are blocked by it and
//!   not sent, instead of each failing the same way;
//! - an area whose entry answers 404 is not offered: its cases are ignored and never sent, and
//!   a 404 in a case of an offered area is a failure like any other.
//!
//! The requests are cases psconform carries in itself (`preflight.yaml`), run through the same
//! steps as any case: rendered, guarded, evaluated and sealed the same way. The built-in
//! simulator offers everything and needs no preflight.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use super::step::{self, At};
use super::{CaseRun, RunContext};
use crate::plan::effect::entry;
use crate::plan::template::Template;
use crate::plan::{CasePlan, Effect, Needs, SignIn, StepPlan};
use crate::result::{CaseResult, Endpoint, Outcome, Phase, StepResult};
use crate::seal::Redacted;
use crate::settings::Settings;

/// The preflight's requests, as a case file.
const PREFLIGHT: &str = include_str!("preflight.yaml");

/// What the preflight decided, which every case reads before it runs.
#[derive(Debug, Clone, Default)]
pub struct Gate {
    /// The areas the target does not offer, with the entry route that answered 404.
    pub not_offered: BTreeMap<&'static str, Endpoint>,
    /// The sign-ins that failed, with the name of the finding that says how.
    pub failed_sign_in: BTreeMap<SignIn, String>,
}

/// What the preflight found: the gate, and a failed result per sign-in that failed.
#[derive(Debug, Default)]
pub struct Preflight {
    /// What the cases read.
    pub gate: Gate,
    /// The findings, sealed, to report before the cases.
    pub findings: Vec<Redacted<CaseResult>>,
}

/// Whether `settings` allow signing in this way.
fn allowed(settings: &Settings, how: SignIn) -> bool {
    match how {
        SignIn::PsAuth => settings.api_key.is_some() && settings.runas.is_some(),
        SignIn::OAuth => settings.client_id.is_some() && settings.client_secret.is_some(),
    }
}

/// What to check when a sign-in answers 401.
fn settings_to_check(how: SignIn) -> &'static str {
    match how {
        SignIn::PsAuth => {
            "check PS_API_KEY, PS_RUNAS, PS_RUNAS_PASSWORD (when the registration has \"User Password Required\") and the source addresses the API registration allows"
        }
        SignIn::OAuth => "check PS_CLIENT_ID, PS_CLIENT_SECRET and the source addresses the API registration allows",
    }
}

/// The preflight's cases: one per way of signing in, and the sign-out.
fn plans() -> Result<Vec<CasePlan>, String> {
    crate::plan::compile::compile_text(Path::new("src/run/preflight.yaml"), "preflight", "sign-in", PREFLIGHT)
        .map_err(|d| d.iter().map(|d| d.render()).collect::<Vec<_>>().join("\n"))
}

/// A step that reads `route`: the sign-out step, turned into a probe.
fn probe(template: &StepPlan, route: &str) -> StepPlan {
    let mut s = template.clone();
    s.name = format!("GET {route}");
    s.request.method = crate::case::spec::Method::Get;
    s.request.path = Template::literal(route);
    s.request.route = route.to_owned();
    s.effect = crate::plan::effect::fit("GET", route).map_or(Effect::Read, |f| f.effect);
    s
}

/// Runs the preflight for cases that need `needs` (nothing against the built-in simulator).
pub async fn preflight<'a>(ctx: &RunContext, needs: impl Iterator<Item = &'a Needs>) -> Preflight {
    let mut found = Preflight::default();
    if ctx.target.builtin {
        return found;
    }
    let Ok(plans) = plans() else {
        // Compiled in and tested; without it the cases still run, unguarded by a preflight.
        tracing::warn!("the preflight could not be prepared (a bug); the cases run without it");
        return found;
    };
    let plan = |name: &str| plans.iter().find(|p| p.name.ends_with(&format!("::{name}")));
    let (Some(ps_auth), Some(oauth), Some(sign_out)) = (plan("ps-auth"), plan("oauth"), plan("sign-out")) else {
        return found;
    };
    let settings = &ctx.settings;
    let (mut needed, mut areas) = (BTreeSet::new(), BTreeSet::new());
    for n in needs {
        needed.extend(n.sign_in.iter().copied());
        areas.extend(n.areas.iter().copied());
    }
    let probes: Vec<(&'static str, &'static str)> =
        areas.iter().filter_map(|a| entry(a).map(|route| (*a, route))).collect();
    // One session serves both purposes: the first allowed way, API key first.
    let prober =
        [SignIn::PsAuth, SignIn::OAuth].into_iter().find(|s| allowed(settings, *s)).filter(|_| !probes.is_empty());
    let ways: BTreeSet<SignIn> = needed.into_iter().filter(|s| allowed(settings, *s)).chain(prober).collect();
    let mut sessions: Vec<(SignIn, CaseRun)> = Vec::new();
    for how in ways {
        let case = if how == SignIn::PsAuth { ps_auth } else { oauth };
        let mut run = case_run(ctx);
        let started = Instant::now();
        let mut steps = Vec::new();
        for (i, s) in case.steps.iter().enumerate() {
            let r = step::run(At { ctx, case, base: &ctx.target.base_url }, &mut run, s, Phase::Step, i + 1).await;
            let failed = r.failed();
            steps.push(r);
            if failed {
                break;
            }
        }
        if steps.iter().any(StepResult::failed) {
            if let Some(last) = steps.last_mut().filter(|s| s.status == Some(401)) {
                last.name = format!("{} (401: {})", last.name, settings_to_check(how));
            }
            found.gate.failed_sign_in.insert(how, case.name.clone());
            found.findings.push(run.redactor.seal(finding(case, steps, started.elapsed())));
        } else {
            sessions.push((how, run));
        }
    }
    let at = At { ctx, case: sign_out, base: &ctx.target.base_url };
    let session = sessions.iter().position(|(how, _)| Some(*how) == prober).or((!sessions.is_empty()).then_some(0));
    if let Some((_, run)) = session.and_then(|i| sessions.get_mut(i)) {
        for (area, route) in probes {
            let r = step::run(at, run, &probe(&sign_out.steps[0], route), Phase::Step, 1).await;
            if r.status == Some(404) {
                tracing::info!("{area} is not offered: GET {route} answered 404");
                found.gate.not_offered.insert(area, Endpoint { method: "GET".into(), route: route.to_owned() });
            }
        }
    }
    for (_, run) in &mut sessions {
        for (i, s) in sign_out.steps.iter().enumerate() {
            let _ = step::run(at, run, s, Phase::Step, i + 1).await;
        }
    }
    found
}

/// A fresh case's state: the settings and built-ins as variables, an empty jar.
fn case_run(ctx: &RunContext) -> CaseRun {
    CaseRun::new(ctx, super::trial::initial_vars(&ctx.settings, &ctx.target.base_url))
}

/// The finding of a failed sign-in: a failed result of its own.
fn finding(case: &CasePlan, steps: Vec<StepResult>, duration: Duration) -> CaseResult {
    CaseResult { outcome: Outcome::Failed, duration, steps, ..super::trial::empty_result(case) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preflight_cases_compile_and_need_their_sign_ins() {
        let plans = plans().unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = plans.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["preflight::sign-in::ps-auth", "preflight::sign-in::oauth", "preflight::sign-in::sign-out"]);
        assert_eq!(plans[0].sign_in, [SignIn::PsAuth]);
        assert_eq!(plans[1].sign_in, [SignIn::OAuth]);
    }
}
