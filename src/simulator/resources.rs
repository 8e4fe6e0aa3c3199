//! The table-driven part of the simulator: records of every resource the catalog's models
//! declare, made from the documented models when a simulator starts, and the documented
//! routes over them (`serve:` in `catalog/models/*.yaml`): lists (filtered by the documented
//! query parameters, paged by `limit`/`offset`, in the form the page gives), records by id,
//! and the records under a parent. Behaviour (signing in, releases, Secrets Safe decryption,
//! approvals) is code in the area modules; their routes come first.
//!
//! The records take the data variant's freedoms: `standard` fills every field, `sparse` puts
//! `null` in every nullable field and leaves every optional field out, `extended` adds an
//! undocumented field, as newer servers do.

use std::collections::BTreeMap;

use axum::response::Response;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::call::Call;
use super::data::DataVariant;
use super::reply;
use crate::catalog::model::{Paging, Resource, ServeOp};
use crate::catalog::{Body, Catalog, EndpointDoc, Field, ModelRef, Presence, RequestFacts, Term};
use crate::fixture::instance;
use crate::shape::StringFormat;
use crate::shape::documented::model_shape;

/// Records per resource in each variant: enough for a list, a page and a lookup.
fn count(data: DataVariant) -> usize {
    match data {
        DataVariant::Standard => 3,
        DataVariant::Sparse => 2,
        DataVariant::Extended => 4,
    }
}

/// Every resource's records, by model.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tables {
    records: BTreeMap<(String, String), Vec<Value>>,
}

fn key(r: &ModelRef) -> (String, String) {
    (r.area.clone().unwrap_or_default(), r.name.clone())
}

impl Tables {
    /// The records of every resource, made from the models: parents first, so a record's
    /// parent id names a parent that exists.
    pub(crate) fn build(catalog: &Catalog, data: DataVariant) -> Tables {
        let mut tables = Tables::default();
        let resources: Vec<&Resource> = catalog.models.resources.values().collect();
        let mut done: Vec<(String, String)> = Vec::new();
        // Parents first; a parent that is not a resource (or a loop) does not hold a record up.
        for _ in 0..resources.len() + 1 {
            for r in &resources {
                let k = key(&r.model);
                if done.contains(&k) {
                    continue;
                }
                let ready = r.parents.iter().all(|(p, _)| {
                    done.contains(&key(p)) || !catalog.models.resources.contains_key(&key(p)) || key(p) == k
                });
                if ready {
                    let rows = tables.make(catalog, r, data);
                    tables.records.insert(k.clone(), rows);
                    done.push(k);
                }
            }
        }
        tables
    }

    fn make(&self, catalog: &Catalog, r: &Resource, data: DataVariant) -> Vec<Value> {
        let Some(model) = catalog.models.model(&r.model) else { return Vec::new() };
        let node = model_shape(&catalog.models, &r.model, (3, 0));
        let seed =
            r.model.name.bytes().fold(u64::from(data as u8), |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        let mut rng = StdRng::seed_from_u64(seed);
        let mut rows = Vec::new();
        for n in 1..=count(data) {
            let mut row = Map::new();
            for f in &model.fields {
                let fnode =
                    node.object.as_ref().and_then(|o| o.get(&f.name)).map(|x| x.node.clone()).unwrap_or_default();
                let optional = f.presence != Presence::Required || f.since.is_some();
                if f.name == r.id {
                    row.insert(f.name.clone(), id_value(f, n));
                    continue;
                }
                if r.name.as_deref() == Some(f.name.as_str()) {
                    row.insert(f.name.clone(), Value::String(format!("{}-{n}", kebab(&model.name))));
                    continue;
                }
                if let Some((parent, _)) = r.parents.iter().find(|(_, field)| *field == f.name) {
                    let ids: Vec<Value> = self.ids_of(catalog, parent);
                    if let Some(id) = ids.get((n - 1) % ids.len().max(1)) {
                        row.insert(f.name.clone(), id.clone());
                        continue;
                    }
                }
                let value = match data {
                    DataVariant::Sparse if optional => continue,
                    DataVariant::Sparse if fnode.null => Value::Null,
                    DataVariant::Sparse => sparse(&fnode, &mut rng),
                    _ => f
                        .example
                        .clone()
                        .filter(|e| !looks_secret(f, e))
                        .unwrap_or_else(|| instance::value(&fnode, &mut rng, false)),
                };
                row.insert(f.name.clone(), value);
            }
            if data == DataVariant::Extended && n % 2 == 0 {
                row.insert("PsconformUndocumented".into(), Value::String("a field newer servers add".into()));
            }
            rows.push(Value::Object(row));
        }
        rows
    }

    fn ids_of(&self, catalog: &Catalog, parent: &ModelRef) -> Vec<Value> {
        let Some(res) = catalog.models.resources.get(&key(parent)) else { return Vec::new() };
        self.records.get(&key(parent)).map_or_else(Vec::new, |rows| rows.iter().map(|r| r[&res.id].clone()).collect())
    }

    /// The answer to a call the catalog says the tables serve, or `None` when they do not
    /// serve it (the caller answers as a server without the route would).
    pub(crate) fn answer(&self, catalog: &Catalog, doc: &EndpointDoc, path: &str, call: &Call) -> Option<Response> {
        let serve = doc.serve.as_ref()?;
        let model = serve.model.as_ref()?;
        let resource = catalog.models.resources.get(&key(model))?;
        let rows = self.records.get(&key(model))?;
        let params = route_params(&doc.route, path);
        let facts = RequestFacts { query: call.query.pairs().to_vec() };
        match serve.op {
            ServeOp::Get => {
                let id = params.last()?;
                Some(match rows.iter().find(|r| same(&r[&resource.id], id)) {
                    Some(row) => reply::ok(row),
                    None => reply::not_found(&model.name),
                })
            }
            ServeOp::List => {
                let mut selected: Vec<&Value> = rows.iter().collect();
                if let Some(parent) = &serve.parent {
                    let field = resource.parents.iter().find(|(p, _)| p == parent).map(|(_, f)| f.as_str())?;
                    let given = params.first()?;
                    let parent_id = self.parent_id(catalog, parent, given);
                    let Some(parent_id) = parent_id else { return Some(reply::not_found(&parent.name)) };
                    selected.retain(|r| same(&r[field], &text(&parent_id)));
                }
                for (param, field) in &serve.filters {
                    if let Some(wanted) = call.query.text(param) {
                        selected.retain(|r| same(&r[field.as_str()], wanted));
                    }
                }
                let total = selected.len();
                let limit_name = doc.query.iter().find(|q| q.paging == Some(Paging::Limit)).map(|q| q.name.as_str());
                let offset_name = doc.query.iter().find(|q| q.paging == Some(Paging::Offset)).map(|q| q.name.as_str());
                let limit = limit_name.and_then(|n| call.query.text(n)).map(|v| v.parse::<usize>());
                let offset = offset_name.and_then(|n| call.query.text(n)).map(|v| v.parse::<usize>());
                let (limit, offset) = match (limit, offset) {
                    (Some(Err(_)), _) => return Some(reply::bad_value(limit_name.unwrap_or("limit"), "limit")),
                    (_, Some(Err(_))) => return Some(reply::bad_value(offset_name.unwrap_or("offset"), "offset")),
                    (l, o) => (l.and_then(Result::ok), o.and_then(Result::ok).unwrap_or(0)),
                };
                let page: Vec<Value> =
                    selected.into_iter().skip(offset).take(limit.unwrap_or(usize::MAX)).cloned().collect();
                let form = doc.form(200, &facts).map(|f| &f.body);
                Some(match form {
                    Some(Body::Paged(_)) => reply::ok(&reply::list(page, total, true)),
                    Some(Body::Object(_)) => match page.into_iter().next() {
                        Some(one) => reply::ok(&one),
                        None => reply::not_found(&model.name),
                    },
                    _ => reply::ok(&Value::Array(page)),
                })
            }
            ServeOp::Create | ServeOp::Update | ServeOp::Delete | ServeOp::Behaviour(_) => None,
        }
    }

    /// A parent's id from a route segment that holds its id, or (as some routes allow) its name.
    fn parent_id(&self, catalog: &Catalog, parent: &ModelRef, given: &str) -> Option<Value> {
        let res = catalog.models.resources.get(&key(parent))?;
        let rows = self.records.get(&key(parent))?;
        rows.iter()
            .find(|r| same(&r[&res.id], given) || res.name.as_ref().is_some_and(|n| same(&r[n.as_str()], given)))
            .map(|r| r[&res.id].clone())
    }
}

/// The values of a route's `{param}` segments in a path.
fn route_params(template: &str, path: &str) -> Vec<String> {
    template
        .split('/')
        .zip(path.split('/').filter(|s| !s.is_empty()))
        .filter(|(t, _)| t.starts_with('{'))
        .map(|(_, p)| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned())
        .collect()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a record's value is what a request names, as a server compares it: text ignoring
/// case, numbers by value.
fn same(v: &Value, given: &str) -> bool {
    match v {
        Value::String(s) => s.eq_ignore_ascii_case(given),
        Value::Number(n) => n.to_string() == given.trim(),
        Value::Bool(b) => given.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

/// The `n`th id of a resource: a number, or a GUID where the model says so.
fn id_value(f: &Field, n: usize) -> Value {
    let guid = f.ty.0.iter().any(|t| matches!(t, Term::String(Some(StringFormat::Guid))));
    let string = f.ty.0.iter().any(|t| matches!(t, Term::String(_)));
    if guid {
        Value::String(format!("5eed{n:04x}-0000-4000-8000-{:012x}", n * 7919))
    } else if string {
        Value::String(format!("id-{n}"))
    } else {
        Value::from(n)
    }
}

/// A sparse value: the emptiest the type allows (an empty string, zero, an empty list).
fn sparse(node: &crate::shape::Node, rng: &mut StdRng) -> Value {
    if node.string == Some(StringFormat::Plain) {
        Value::String(String::new())
    } else if node.array.is_some() {
        Value::Array(Vec::new())
    } else {
        instance::value(node, rng, false)
    }
}

/// `ManagedSystem` as `managed-system`.
fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// A page's example of a credential field is never served: the simulator's secrets are its
/// own, random per start.
fn looks_secret(f: &Field, _example: &Value) -> bool {
    f.secret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_exist_for_every_resource_and_parents_resolve() {
        let catalog = Catalog::builtin().expect("catalog");
        for data in DataVariant::ALL {
            let t = Tables::build(&catalog, *data);
            assert_eq!(t.records.len(), catalog.models.resources.len(), "{data:?}");
            for (k, res) in &catalog.models.resources {
                for row in &t.records[k] {
                    for (parent, field) in &res.parents {
                        let Some(pres) = catalog.models.resources.get(&key(parent)) else { continue };
                        let ids: Vec<&Value> = t.records[&key(parent)].iter().map(|r| &r[&pres.id]).collect();
                        assert!(ids.contains(&&row[field.as_str()]), "{k:?}.{field} names no {parent}");
                    }
                }
            }
        }
    }
}
