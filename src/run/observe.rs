//! A response's shape against its endpoint's contract: the shape is inferred, sealed with
//! what the case knows, compared with the contract of its method, route, status and model
//! version, and added to the run's observations (which `shape::update` writes at the end).

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
        let file = contracts.set.path(&key);
        let effective = Effective::of(
            documented(&built.line.method, route, resp.status, &built.query),
            contracts.set.get(&key),
            &file,
        );
        Verdict::against(effective.as_ref(), &file, shape.get())
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
