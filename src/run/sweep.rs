//! The sweep: finding, and on request removing, what runs left on a target. Every object a
//! change case creates is named `psconform-<run id>-…`; a run that was killed (SIGKILL, a
//! lost machine) cannot tear down, so `psconform cleanup` lists every record so named in every
//! resource the catalog can list and delete, and deletes them once asked to. It finds only
//! what the catalog lets it list by name, and never deletes a record whose name is not
//! exactly of that form.

use std::collections::BTreeMap;

use reqwest_cookie_store::CookieStoreMutex;
use serde::Serialize;
use serde_json::Value;
use url::Url;

use super::http::{Http, Outgoing};
use crate::catalog::model::{Resource, ServeOp};
use crate::catalog::{Catalog, EndpointDoc, ModelRef};
use crate::settings::Settings;

/// The name every object a case creates starts with, before the run's id.
pub const PREFIX: &str = "psconform-";

/// Whether a name is one a run gives the objects it creates: `psconform-<run id>-…`, the run
/// id 8 hex characters. Nothing else is ever swept: a user or group an administrator named
/// `psconform-svc` is not a run's.
pub fn made_by_a_run(name: &str) -> bool {
    let Some(rest) = name.get(..PREFIX.len()).filter(|p| p.eq_ignore_ascii_case(PREFIX)).map(|_| &name[PREFIX.len()..])
    else {
        return false;
    };
    let b = rest.as_bytes();
    b.len() > 9 && b[..8].iter().all(u8::is_ascii_hexdigit) && b[8] == b'-'
}

/// One object a run left behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leftover {
    /// The area, as the catalog names it.
    pub area: String,
    /// The model of the record.
    pub model: String,
    /// Its name.
    pub name: String,
    /// Its id, as the API writes it.
    pub id: String,
    /// The request that deletes it: `DELETE route`, with the id in place.
    pub delete: String,
    /// How deep it sits (children are deleted before their parents).
    #[serde(skip)]
    depth: usize,
}

impl crate::seal::Redact for Leftover {
    fn redact(&mut self, r: &crate::seal::Redactor) {
        self.name.redact(r);
        self.id.redact(r);
        self.delete.redact(r);
    }
}

/// What a sweep could not do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SweepError {
    /// Signing in failed.
    #[error("cannot sign in: {0}")]
    SignIn(String),
    /// The target could not be reached.
    #[error("{0}")]
    Transport(String),
}

/// Signs in with the settings (an API key and run-as user; else OAuth client credentials).
pub async fn sign_in(http: &Http, base: &Url, settings: &Settings, jar: &CookieStoreMutex) -> Result<(), SweepError> {
    let url = join(base, "Auth/SignAppin");
    let header = match (
        settings.get("api_key"),
        settings.get("runas"),
        settings.get("client_id"),
        settings.get("client_secret"),
    ) {
        (Some(key), Some(runas), _, _) => {
            let pwd = settings.get("runas_password").map(|p| format!(" pwd=[{p}];")).unwrap_or_default();
            format!("PS-Auth key={key}; runas={runas};{pwd}")
        }
        (_, _, Some(id), Some(secret)) => {
            let body = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .append_pair("client_id", id)
                .append_pair("client_secret", secret)
                .finish();
            let out = Outgoing {
                method: reqwest::Method::POST,
                url: join(base, "Auth/Connect/Token"),
                headers: vec![("Content-Type".into(), "application/x-www-form-urlencoded".into())],
                body: Some(body.into_bytes()),
            };
            let resp = http.send(&out, jar).await.map_err(|e| SweepError::Transport(e.to_string()))?;
            let token: Value = serde_json::from_slice(&resp.body).unwrap_or_default();
            let Some(token) = token["access_token"].as_str() else {
                return Err(SweepError::SignIn(format!("Auth/Connect/Token answered {}", resp.status)));
            };
            format!("Bearer {token}")
        }
        _ => {
            return Err(SweepError::SignIn(
                "set PS_API_KEY and PS_RUNAS (and PS_RUNAS_PASSWORD where the registration requires it), or PS_CLIENT_ID and PS_CLIENT_SECRET".into(),
            ));
        }
    };
    let out =
        Outgoing { method: reqwest::Method::POST, url, headers: vec![("Authorization".into(), header)], body: None };
    let resp = http.send(&out, jar).await.map_err(|e| SweepError::Transport(e.to_string()))?;
    if resp.status == 200 {
        Ok(())
    } else {
        Err(SweepError::SignIn(format!(
            "Auth/SignAppin answered {}: check PS_API_KEY, PS_RUNAS and PS_RUNAS_PASSWORD",
            resp.status
        )))
    }
}

/// Signs out; a failure does not matter to the sweep.
pub async fn sign_out(http: &Http, base: &Url, jar: &CookieStoreMutex) {
    let out =
        Outgoing { method: reqwest::Method::POST, url: join(base, "Auth/Signout"), headers: Vec::new(), body: None };
    let _ = http.send(&out, jar).await;
}

fn join(base: &Url, path: &str) -> Url {
    let text = format!("{}/{}", base.as_str().trim_end_matches('/'), path);
    Url::parse(&text).unwrap_or_else(|_| base.clone())
}

fn key(m: &ModelRef) -> (String, String) {
    (m.area.clone().unwrap_or_default(), m.name.clone())
}

/// The endpoint that serves `op` for the model, with no more route parameters than `params`.
fn serving<'c>(catalog: &'c Catalog, model: &ModelRef, op: &ServeOp, params: usize) -> Option<&'c EndpointDoc> {
    catalog.models.endpoints.iter().find(|d| {
        d.serve.as_ref().is_some_and(|s| {
            // A list's filters are optional: without them it lists every record.
            s.op == *op && s.model.as_ref().is_some_and(|m| key(m) == key(model)) && s.link.is_none()
        }) && d.path.len() == params
    })
}

/// Every record of every listable, deletable resource whose name starts with [`PREFIX`].
pub async fn find(
    http: &Http,
    base: &Url,
    jar: &CookieStoreMutex,
    catalog: &Catalog,
) -> Result<Vec<Leftover>, SweepError> {
    let mut out = Vec::new();
    for (k, resource) in &catalog.models.resources {
        let Some(name_field) = &resource.name else { continue };
        let Some(delete) = serving(catalog, &resource.model, &ServeOp::Delete, 1) else { continue };
        let depth = resource.parents.len();
        // Listed at the top, or under each record of a parent listed at the top.
        let lists: Vec<String> = match serving(catalog, &resource.model, &ServeOp::List, 0) {
            Some(list) => vec![list.route.clone()],
            None => parent_lists(http, base, jar, catalog, resource).await?,
        };
        for route in lists {
            for record in records(http, base, jar, &route).await? {
                let Some(name) = record.get(name_field.as_str()).and_then(Value::as_str) else { continue };
                if !made_by_a_run(name) {
                    continue;
                }
                let id = match record.get(&resource.id) {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) if !v.is_null() => v.to_string(),
                    _ => continue,
                };
                let param = delete.path.first().map(|(p, _)| format!("{{{p}}}")).unwrap_or_default();
                let path = delete.route.replace(
                    &param,
                    &percent_encoding::utf8_percent_encode(&id, percent_encoding::NON_ALPHANUMERIC).to_string(),
                );
                let leftover = Leftover {
                    area: delete.area.clone(),
                    model: k.1.clone(),
                    name: name.to_owned(),
                    id,
                    delete: format!("DELETE {path}"),
                    depth,
                };
                if !out.contains(&leftover) {
                    out.push(leftover);
                }
            }
        }
    }
    // Children first, so a parent is never refused as in use by what the sweep removes next.
    out.sort_by(|a, b| b.depth.cmp(&a.depth).then_with(|| a.area.cmp(&b.area)).then_with(|| a.name.cmp(&b.name)));
    Ok(out)
}

/// The list routes of a resource listed only under a parent: one per record of the parent,
/// when the parent is listed at the top.
async fn parent_lists(
    http: &Http,
    base: &Url,
    jar: &CookieStoreMutex,
    catalog: &Catalog,
    resource: &Resource,
) -> Result<Vec<String>, SweepError> {
    let mut out = Vec::new();
    for (parent, _) in &resource.parents {
        let Some(under) = catalog.models.endpoints.iter().find(|d| {
            d.serve.as_ref().is_some_and(|s| {
                s.op == ServeOp::List
                    && s.model.as_ref().is_some_and(|m| key(m) == key(&resource.model))
                    && s.parent.as_ref().is_some_and(|p| key(p) == key(parent))
            }) && d.path.len() == 1
        }) else {
            continue;
        };
        let Some(parent_resource) = catalog.models.resources.get(&key(parent)) else { continue };
        let Some(top) = serving(catalog, parent, &ServeOp::List, 0) else { continue };
        for record in records(http, base, jar, &top.route).await? {
            let id = match record.get(&parent_resource.id) {
                Some(Value::String(s)) => s.clone(),
                Some(v) if !v.is_null() => v.to_string(),
                _ => continue,
            };
            let param = under.path.first().map(|(p, _)| format!("{{{p}}}")).unwrap_or_default();
            out.push(under.route.replace(&param, &id));
        }
    }
    Ok(out)
}

/// The records a list route answers: an array, the `Data` of a page, or one object.
async fn records(http: &Http, base: &Url, jar: &CookieStoreMutex, route: &str) -> Result<Vec<Value>, SweepError> {
    let out = Outgoing { method: reqwest::Method::GET, url: join(base, route), headers: Vec::new(), body: None };
    let resp = http.send(&out, jar).await.map_err(|e| SweepError::Transport(e.to_string()))?;
    if resp.status != 200 {
        // A list the target does not offer, or that the run-as user may not read: nothing
        // found there.
        return Ok(Vec::new());
    }
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or_default();
    Ok(match body {
        Value::Array(items) => items,
        Value::Object(mut o) => match o.remove("Data") {
            Some(Value::Array(items)) => items,
            _ => vec![Value::Object(o)],
        },
        _ => Vec::new(),
    })
}

/// Deletes each leftover, children first; returns each one with the status it got or why it
/// could not be removed.
pub async fn remove(
    http: &Http,
    base: &Url,
    jar: &CookieStoreMutex,
    leftovers: &[Leftover],
) -> Vec<(Leftover, Result<u16, String>)> {
    let mut out = Vec::new();
    for l in leftovers {
        let path = l.delete.trim_start_matches("DELETE ");
        let req = Outgoing { method: reqwest::Method::DELETE, url: join(base, path), headers: Vec::new(), body: None };
        let result = match http.send(&req, jar).await {
            Ok(r) if (200..300).contains(&r.status) => Ok(r.status),
            Ok(r) => Err(format!("answered {}", r.status)),
            Err(e) => Err(e.to_string()),
        };
        out.push((l.clone(), result));
    }
    out
}

/// The leftovers as a table: area, model, name, id, the delete request.
pub fn table(leftovers: &[Leftover]) -> String {
    let mut by_area: BTreeMap<&str, Vec<&Leftover>> = BTreeMap::new();
    for l in leftovers {
        by_area.entry(&l.area).or_default().push(l);
    }
    let mut out = String::new();
    for (area, items) in by_area {
        out.push_str(&format!("{area}\n"));
        for l in items {
            out.push_str(&format!("  {} {:?} (id {})  {}\n", l.model, l.name, l.id, l.delete));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_a_run_gives_are_swept() {
        for name in ["psconform-0a1b2c3d-folder", "PSCONFORM-DEADBEEF-x"] {
            assert!(made_by_a_run(name), "{name}");
        }
        for name in [
            "psconform-demo",
            "psconform-svc-account",
            "psconform-0a1b2c3d",
            "psconform-0a1b2c3g-x",
            "my-psconform-0a1b2c3d-x",
            "",
        ] {
            assert!(!made_by_a_run(name), "{name}");
        }
    }
}
