//! What a step may send, decided again on the request as it is about to go out, and the
//! releases a case opens and closes. The plan says what a step does (`plan::effect`); this is
//! the defence in depth behind it:
//!
//! - the path as rendered must name an endpoint no more consequential than the step was
//!   checked for, and one whose opt-in the run has (a variable cannot turn a read into a
//!   release);
//! - the lookup of `PS_ACCOUNT` must answer that very account (system and account, ignoring
//!   case), or the case stops before anything is released;
//! - a release must name the ids that verified lookup answered, or it is not sent;
//! - every release is tracked until a check-in answers 2xx or 404 (no such request any more):
//!   one whose answer never came, or that was never checked in, is a leftover the run reports.
//!
//! It decides and records; sending and evaluating are `poll`'s.

use serde_json::Value;

use super::RunContext;
use crate::plan::effect::fit;
use crate::plan::{Effect, Role, StepPlan, Vars};
use crate::response::Response;
use crate::result::{Leftover, LeftoverWhy, Refusal, TransportError};
use crate::settings::Settings;

/// A case's credential releases.
#[derive(Debug, Clone, Default)]
pub struct Releases {
    /// `SystemId` and `AccountId` as the verified lookup of `PS_ACCOUNT` answered them.
    verified: Option<(Value, Value)>,
    /// Request ids the case opened and no check-in has closed yet, with whether a check-in of
    /// it was tried.
    open: Vec<(String, bool)>,
    /// Releases that may be open without an id psconform knows.
    unknown: Vec<LeftoverWhy>,
}

/// A JSON value as an id is written in a path: a number or a string, as it is.
fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The value of the key of `object` spelled `name` in any case.
fn field<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// The one account an answer of the lookup holds: the object, or an array of exactly one.
fn the_account(body: &Value) -> Option<&Value> {
    match body {
        Value::Object(_) => Some(body),
        Value::Array(items) if items.len() == 1 => items.first().filter(|v| v.is_object()),
        _ => None,
    }
}

/// Whether two ids are the same, whether written as numbers or strings.
fn same_id(a: &Value, b: &Value) -> bool {
    id_text(a).trim() == id_text(b).trim()
}

/// Checks a request before it is sent: its endpoint, as rendered, against the step's checked
/// effect and the run's opt-ins, and a release's ids against the verified lookup.
pub fn before_send(
    ctx: &RunContext,
    step: &StepPlan,
    releases: &Releases,
    path: &str,
    body: Option<&[u8]>,
) -> Result<(), Refusal> {
    let method = step.request.method.as_str();
    let found = fit(method, path).map_err(|_| Refusal::MoreThanChecked {
        endpoint: format!("{method} {path}"),
        effect: "unknown (the catalog does not load)".to_owned(),
        allowed: step.effect.to_string(),
    })?;
    let endpoint = || format!("{method} {}", found.route().unwrap_or(path));
    // Deleting or rewriting the case's own object: the catalog's `irreversible` is for objects
    // the run did not make, and the compiler proved these ids are the case's own.
    let own = matches!(step.role, Some(Role::OwnObject)) && found.effect == Effect::Irreversible;
    if found.effect > step.effect && !own {
        return Err(Refusal::MoreThanChecked {
            endpoint: endpoint(),
            effect: found.effect.to_string(),
            allowed: step.effect.to_string(),
        });
    }
    // A check-in of the case's own release is part of that release: the release's opt-in
    // covers it, or a run with only `--allow-credential-release` would release a credential
    // and then refuse to check it in.
    let needs = match step.role {
        Some(Role::CheckIn { .. } | Role::OwnObject) => step.effect,
        _ => found.effect,
    };
    if !ctx.target.builtin
        && let Some((flag, _)) = ctx.policy.missing(needs)
    {
        return Err(Refusal::NeedsOptIn { endpoint: endpoint(), flag });
    }
    if let Some(Role::Release { .. }) = &step.role {
        let Some((system, account)) = &releases.verified else { return Err(Refusal::NoLookup) };
        let sent: Value = body.and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        for (name, looked_up) in [("SystemID", system), ("AccountID", account)] {
            let given = field(&sent, name);
            if !given.is_some_and(|v| same_id(v, looked_up)) {
                return Err(Refusal::OtherIds {
                    field: name,
                    sent: given.map_or_else(|| "nothing".to_owned(), id_text),
                    looked_up: id_text(looked_up),
                });
            }
        }
    }
    Ok(())
}

impl Releases {
    /// Learns from the final answer of a step (or its transport error): the lookup is verified,
    /// a release opened, a check-in closes one. `vars` holds the step's captures already. An
    /// error means the lookup answered another account: the case must stop.
    pub fn after(
        &mut self,
        step: &StepPlan,
        settings: &Settings,
        vars: &Vars,
        answer: Result<&Response, &TransportError>,
    ) -> Result<(), Refusal> {
        let var = |name: &str| vars.get(name).map(|v| id_text(&v.value));
        match (&step.role, answer) {
            (Some(Role::Lookup), Ok(resp)) if (200..300).contains(&resp.status) => {
                let wanted = settings.account.clone().unwrap_or_default();
                let (system, name) = wanted.split_once('/').unwrap_or((wanted.as_str(), ""));
                let body = resp.json().ok().and_then(the_account);
                let text = |key: &str| body.and_then(|b| field(b, key)).and_then(Value::as_str).unwrap_or("");
                let (got_system, got_name) = (text("SystemName"), text("AccountName"));
                if !got_system.eq_ignore_ascii_case(system) || !got_name.eq_ignore_ascii_case(name) {
                    self.verified = None;
                    return Err(Refusal::WrongAccount { wanted, answered: format!("{got_system}/{got_name}") });
                }
                let id = |key: &str| body.and_then(|b| field(b, key)).cloned().unwrap_or(Value::Null);
                self.verified = Some((id("SystemId"), id("AccountId")));
            }
            (Some(Role::Release { request_id }), Ok(resp)) if (200..300).contains(&resp.status) => {
                match var(request_id) {
                    Some(id) if !self.open.iter().any(|(o, _)| *o == id) => self.open.push((id, false)),
                    Some(_) => {}
                    None => self.unknown.push(LeftoverWhy::NoRequestId),
                }
            }
            // Nothing reached the target: no request can have been made.
            (Some(Role::Release { .. }), Err(TransportError::Connect { .. } | TransportError::Tls { .. })) => {}
            (Some(Role::Release { .. }), Err(_)) => self.unknown.push(LeftoverWhy::NoAnswer),
            (Some(Role::CheckIn { request_id }), answer) => {
                let Some(id) = var(request_id) else { return Ok(()) };
                let closed = answer.is_ok_and(|r| (200..300).contains(&r.status) || r.status == 404);
                if closed {
                    self.open.retain(|(o, _)| *o != id);
                } else if let Some(entry) = self.open.iter_mut().find(|(o, _)| *o == id) {
                    entry.1 = true;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// What the case leaves open on the target, when it ends.
    pub fn leftovers(&self, case: &str, settings: &Settings) -> Vec<Leftover> {
        let account = settings.account.clone().unwrap_or_else(|| "PS_ACCOUNT".to_owned());
        let open = self.open.iter().map(|(id, tried)| Leftover {
            case: case.to_owned(),
            account: account.clone(),
            request_id: Some(id.clone()),
            why: if *tried { LeftoverWhy::CheckInFailed } else { LeftoverWhy::NotCheckedIn },
        });
        let unknown = self.unknown.iter().map(|why| Leftover {
            case: case.to_owned(),
            account: account.clone(),
            request_id: None,
            why: *why,
        });
        open.chain(unknown).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_account_is_one_object_or_an_array_of_one() {
        let a = json!({"SystemName": "s"});
        assert_eq!(the_account(&a), Some(&a));
        assert_eq!(the_account(&json!([a.clone()])), Some(&a));
        assert_eq!(the_account(&json!([a.clone(), a])), None, "two accounts are not the one looked up");
        assert_eq!(the_account(&json!("s")), None);
    }

    #[test]
    fn ids_compare_as_written_whatever_their_json_type() {
        assert!(same_id(&json!(12), &json!("12")));
        assert!(!same_id(&json!(12), &json!(120)));
        assert_eq!(field(&json!({"systemId": 3}), "SystemID"), Some(&json!(3)));
    }
}
