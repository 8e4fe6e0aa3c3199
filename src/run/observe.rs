//! A response's shape against its endpoint's contract: the shape is inferred, sealed with
//! what the case knows, compared with the contract of its method, route, status and model
//! version, and added to the run's observations (which `shape::update` writes at the end).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::step::Built;
use super::{CaseRun, RunContext};
use crate::plan::{CasePlan, StepPlan};
use crate::response::Response;
use crate::result::{CheckKind, CheckOutcome, Matcher, Note, StepResult};
use crate::shape::contract::Effective;
use crate::shape::{ContractKey, ResponseShape, Verdict};

/// The documented shape of an endpoint's status for a request (its query decides the form and
/// the model version), with where it is written: `catalog/models/users.yaml: GET Users 200`.
fn documented(method: &str, route: &str, status: u16, query: &[(String, String)]) -> Option<(String, ResponseShape)> {
    let catalog = crate::catalog::Catalog::shared().ok()?;
    let doc = catalog.doc_of(method, route)?;
    let facts = crate::catalog::RequestFacts { query: query.to_vec() };
    let shape = crate::catalog::documented::documented_for(&catalog.models, doc, status, &facts)?;
    Some((format!("{}: {} {} {status}", doc.file.display(), doc.method, doc.route), shape))
}

/// What a response's shape is compared with: the contract's file and the effective contract.
type Compared = (PathBuf, Option<Arc<Effective>>);

/// What decides the contract a response is compared with: method, route template, status and
/// the query sent.
type Which = (String, String, u16, Vec<(String, String)>);

/// The effective contracts a run has compared with, by what decides one: the method, the
/// route template, the status, and the query sent (its form and model version). Making one
/// reads the documented model and overlays the recorded contract, which cost as much as the
/// rest of a step; a suite asks for the same few again and again.
#[derive(Debug, Default)]
pub struct EffectiveCache(Mutex<HashMap<Which, Compared>>);

impl EffectiveCache {
    /// The most kept: queries that carry ids make a key per id.
    const MAX: usize = 4096;

    fn get(&self, key: Which, make: impl FnOnce() -> Compared) -> Compared {
        if let Ok(cache) = self.0.lock()
            && let Some(found) = cache.get(&key)
        {
            return found.clone();
        }
        let made = make();
        if let Ok(mut cache) = self.0.lock()
            && cache.len() < Self::MAX
        {
            cache.insert(key, made.clone());
        }
        made
    }
}

/// Checks the response's shape against its endpoint's contract and adds the observation.
pub(super) fn contract(
    ctx: &RunContext,
    case: &CasePlan,
    run: &CaseRun,
    step: &StepPlan,
    built: &Built,
    resp: &Response,
    r: &mut StepResult,
) -> Option<CheckOutcome> {
    let contracts = ctx.contracts.as_ref()?;
    if !step.contract.unwrap_or((200..300).contains(&resp.status)) {
        return None;
    }
    let cookies = resp.set_cookies().iter().map(|c| c.name.clone());
    // A server may put a credential into a field name or a cookie name: the shape is sealed
    // before it is compared or kept.
    let shape = ResponseShape::infer(resp.status, resp.header("content-type"), cookies, &resp.body);
    let route = &step.request.route;
    let key = ContractKey::new(&built.line.method, route, resp.status, built.version.as_deref());
    let shape = run.redactor.seal(shape);
    // Compared before it is handed to the observations, so the shape is moved, not copied.
    let verdict = contracts.compare.then(|| {
        let which = (built.line.method.clone(), route.clone(), resp.status, built.query.clone());
        let (file, effective) = contracts.effective.get(which, || {
            let file = contracts.set.path(&key);
            let documented = documented(&built.line.method, route, resp.status, &built.query);
            let effective = Effective::of(documented, contracts.set.get(&key), &file);
            (file, effective.map(Arc::new))
        });
        Verdict::against(effective.as_deref(), &file, shape.get())
    });
    if contracts.keep {
        let observed = crate::shape::Contract::observed(key, route, shape.into_inner(), &case.name);
        // The shape was sealed; the route and the case's name come from the plan.
        contracts.observed.add(run.redactor.seal(observed));
    } else {
        contracts.observed.touch(&key);
    }
    let verdict = verdict?;
    let fails = verdict.fails(contracts.strict) && !contracts.accepting;
    let outcome = CheckOutcome {
        kind: CheckKind::Contract,
        matcher: Matcher::Conforms,
        subject: verdict.contract.clone(),
        expected: Value::String("conforming".into()),
        actual: serde_json::to_value(verdict.status).unwrap_or(Value::Null),
        note: (!verdict.changes.is_empty())
            .then(|| Note::Changes { listed: verdict.changes.clone(), more: verdict.more_changes }),
        passed: !fails,
        span: step.span,
        observed: None,
    };
    r.contract = Some(verdict);
    Some(outcome)
}
