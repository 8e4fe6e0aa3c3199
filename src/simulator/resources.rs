//! The table-driven part of the simulator: records of every resource the catalog's models
//! declare, made from the documented models when a simulator starts, and the documented
//! routes over them (`serve:` in `catalog/models/*.yaml`): lists (filtered by the documented
//! query parameters, paged by `limit`/`offset`, in the form the page gives), records by id,
//! the records under a parent or linked to a record, and the state changes: create (required
//! fields, a duplicate name is 409, a missing parent 404), update, delete (a record still in
//! use is 409), link and unlink. Behaviour (signing in, releases, Secrets Safe decryption,
//! approvals) is code in the area modules; their routes come first.
//!
//! The state belongs to one running simulator (a restart of `serve` starts over) and is
//! bounded: a resource holds at most [`MAX_RECORDS`] records.
//!
//! The records take the data variant's freedoms: `standard` fills every field, `sparse` puts
//! `null` in every nullable field and leaves every optional field out, `extended` adds an
//! undocumented field, as newer servers do.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use serde_json::{Map, Value};

use super::call::Call;
use super::data::DataVariant;
use super::reply::{self, Refusal};
use crate::catalog::documented::model_shape;
use crate::catalog::model::{Paging, Resource, ServeOp};
use crate::catalog::{Body, Catalog, EndpointDoc, Field, ModelRef, Presence, RequestFacts, Term};
use crate::fixture::instance;
use crate::shape::StringFormat;

/// Records per resource in each variant: enough for a list, a page and a lookup.
fn count(data: DataVariant) -> usize {
    match data {
        DataVariant::Standard => 3,
        DataVariant::Sparse => 2,
        DataVariant::Extended => 4,
    }
}

/// Most records one resource holds; a create past it is refused, so a client in a loop
/// cannot grow the simulator's memory without bound.
pub(crate) const MAX_RECORDS: usize = 10_000;

/// Every resource's records, by model, and every link's pairs of ids.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tables {
    records: BTreeMap<(String, String), Vec<Value>>,
    links: BTreeMap<(String, String), Vec<(String, String)>>,
    /// The next id of each resource with a numeric id.
    next: BTreeMap<(String, String), u64>,
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
                    tables.next.insert(k.clone(), rows.len() as u64 + 1);
                    tables.records.insert(k.clone(), rows);
                    done.push(k);
                }
            }
        }
        // Each record of a link's first end is linked to the first records of the other.
        for (lk, link) in &catalog.models.links {
            let from = tables.ids(catalog, &link.from);
            let to = tables.ids(catalog, &link.to);
            let pairs = from
                .iter()
                .enumerate()
                .flat_map(|(i, f)| to.iter().skip(i % 2).take(2).map(move |t| (f.clone(), t.clone())))
                .collect();
            tables.links.insert(lk.clone(), pairs);
        }
        tables
    }

    /// The ids of a resource's records, as text.
    fn ids(&self, catalog: &Catalog, model: &ModelRef) -> Vec<String> {
        self.ids_of(catalog, model).iter().map(text).collect()
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
    pub(crate) fn answer(&mut self, catalog: &Catalog, doc: &EndpointDoc, path: &str, call: &Call) -> Option<Response> {
        let serve = doc.serve.as_ref()?;
        if let Some(refusal) = check_query(doc, call) {
            return Some(refusal);
        }
        let params = route_params(&doc.route, path);
        if matches!(serve.op, ServeOp::Link | ServeOp::Unlink) {
            return self.relink(catalog, doc, serve.op == ServeOp::Link, serve.link.as_ref()?, &params);
        }
        let model = serve.model.as_ref()?;
        let resource = catalog.models.resources.get(&key(model))?;
        let facts = RequestFacts { query: call.query.pairs().to_vec() };
        match serve.op {
            ServeOp::Create => return Some(self.create(catalog, doc, resource, serve.parent.as_ref(), &params, call)),
            ServeOp::Update => return Some(self.update(catalog, doc, resource, &params, call)),
            ServeOp::Delete => return Some(self.delete(catalog, doc, resource, &params)),
            _ => {}
        }
        let rows = self.records.get(&key(model))?;
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
                if let Some(link) = &serve.link {
                    let given = params.first()?;
                    let l = catalog.models.links.get(&key(link))?;
                    let pairs = self.links.get(&key(link))?;
                    // The route names the other end; which end that is, the model tells.
                    let ours_from = key(&l.from) == key(model);
                    let other = if ours_from { &l.to } else { &l.from };
                    let Some(other_id) = self.parent_id(catalog, other, given) else {
                        return Some(reply::not_found(&other.name));
                    };
                    let other_id = text(&other_id);
                    let linked: Vec<&String> = pairs
                        .iter()
                        .filter_map(|(f, t)| {
                            if ours_from { (*t == other_id).then_some(f) } else { (*f == other_id).then_some(t) }
                        })
                        .collect();
                    selected.retain(|r| linked.iter().any(|id| same(&r[&resource.id], id)));
                }
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
            _ => None,
        }
    }

    /// A new record from the request body: the documented required fields must be there, a
    /// name already taken (under the same parent) is 409, a parent that does not exist 404.
    fn create(
        &mut self,
        catalog: &Catalog,
        doc: &EndpointDoc,
        resource: &Resource,
        parent: Option<&ModelRef>,
        params: &[String],
        call: &Call,
    ) -> Response {
        let k = key(&resource.model);
        let body = match body_object(call) {
            Ok(b) => b,
            Err(r) => return r.into(),
        };
        if let Some(missing) = missing_required(catalog, doc, &body) {
            return reply::message(StatusCode::BAD_REQUEST, &format!("The {missing} field is required."));
        }
        let parent_link = match (parent, params.first()) {
            (Some(p), Some(given)) => match self.parent_id(catalog, p, given) {
                Some(id) => resource.parents.iter().find(|(m, _)| m == p).map(|(_, f)| (f.clone(), id)),
                None => return reply::not_found(&p.name),
            },
            _ => None,
        };
        let rows = self.records.entry(k.clone()).or_default();
        if rows.len() >= MAX_RECORDS {
            return reply::message(StatusCode::BAD_REQUEST, "The simulator holds no more records of this kind.");
        }
        if let Some(name_field) = &resource.name
            && let Some(name) = get_ci(&body, name_field)
        {
            let clash = rows.iter().any(|r| {
                same(&r[name_field.as_str()], &text(name))
                    && parent_link.as_ref().is_none_or(|(f, id)| r.get(f) == Some(id))
            });
            if clash {
                return reply::message(
                    StatusCode::CONFLICT,
                    &format!("A {} named '{}' already exists.", resource.model.name, text(name)),
                );
            }
        }
        let Some(model) = catalog.models.model(&resource.model) else { return reply::no_route() };
        let node = model_shape(&catalog.models, &resource.model, (3, 0));
        let n = self.next.entry(k.clone()).or_insert(1);
        let mut rng = StdRng::seed_from_u64(*n);
        let mut row = Map::new();
        for f in &model.fields {
            let value = if f.name == resource.id {
                id_value(f, usize::try_from(*n).unwrap_or(usize::MAX))
            } else if let Some((_, id)) = parent_link.as_ref().filter(|(pf, _)| *pf == f.name) {
                id.clone()
            } else if let Some(v) = get_ci(&body, &f.name) {
                v.clone()
            } else if f.presence == Presence::Required {
                let fnode =
                    node.object.as_ref().and_then(|o| o.get(&f.name)).map(|x| x.node.clone()).unwrap_or_default();
                if fnode.null { Value::Null } else { instance::value(&fnode, &mut rng, false) }
            } else {
                continue;
            };
            row.insert(f.name.clone(), value);
        }
        *n += 1;
        let row = Value::Object(row);
        let id = row[&resource.id].clone();
        self.records.entry(k).or_default().push(row.clone());
        shaped(doc, &row, &id)
    }

    /// Changes a record's fields to the body's; 404 when there is no such record.
    fn update(
        &mut self,
        catalog: &Catalog,
        doc: &EndpointDoc,
        resource: &Resource,
        params: &[String],
        call: &Call,
    ) -> Response {
        let body = match body_object(call) {
            Ok(b) => b,
            Err(r) => return r.into(),
        };
        let Some(given) = params.last() else { return reply::no_route() };
        let name_field = resource.name.clone();
        let rows = self.records.entry(key(&resource.model)).or_default();
        if let Some(nf) = &name_field
            && let Some(name) = get_ci(&body, nf)
            && rows.iter().any(|r| same(&r[nf.as_str()], &text(name)) && !same(&r[&resource.id], given))
        {
            return reply::message(
                StatusCode::CONFLICT,
                &format!("A {} named '{}' already exists.", resource.model.name, text(name)),
            );
        }
        let Some(row) = rows.iter_mut().find(|r| same(&r[&resource.id], given)) else {
            return reply::not_found(&resource.model.name);
        };
        let fields: Vec<String> = catalog
            .models
            .model(&resource.model)
            .map(|m| m.fields.iter().map(|f| f.name.clone()).collect())
            .unwrap_or_default();
        if let Value::Object(map) = row {
            for f in fields.iter().filter(|f| **f != resource.id) {
                if let Some(v) = get_ci(&body, f) {
                    map.insert(f.clone(), v.clone());
                }
            }
        }
        let row = row.clone();
        let id = row[&resource.id].clone();
        shaped(doc, &row, &id)
    }

    /// Removes a record; 409 while another record names it as its parent.
    fn delete(&mut self, catalog: &Catalog, doc: &EndpointDoc, resource: &Resource, params: &[String]) -> Response {
        let Some(given) = params.last() else { return reply::no_route() };
        let k = key(&resource.model);
        let Some(row) = self.records.get(&k).and_then(|rows| rows.iter().find(|r| same(&r[&resource.id], given)))
        else {
            return reply::not_found(&resource.model.name);
        };
        let id = row[&resource.id].clone();
        for (child_key, child) in &catalog.models.resources {
            for (parent, field) in &child.parents {
                if key(parent) == k
                    && self.records.get(child_key).is_some_and(|rows| rows.iter().any(|r| r.get(field) == Some(&id)))
                {
                    return reply::message(
                        StatusCode::CONFLICT,
                        &format!(
                            "The {} is in use by a {} and cannot be deleted.",
                            resource.model.name, child.model.name
                        ),
                    );
                }
            }
        }
        if let Some(rows) = self.records.get_mut(&k) {
            rows.retain(|r| r[&resource.id] != id);
        }
        let id_text = text(&id);
        for (lk, l) in &catalog.models.links {
            if let Some(pairs) = self.links.get_mut(lk) {
                pairs.retain(|(f, t)| !((key(&l.from) == k && *f == id_text) || (key(&l.to) == k && *t == id_text)));
            }
        }
        shaped(doc, &Value::Null, &id)
    }

    /// Links (or unlinks) the two records a route names, in either order.
    fn relink(
        &mut self,
        catalog: &Catalog,
        doc: &EndpointDoc,
        add: bool,
        link: &ModelRef,
        params: &[String],
    ) -> Option<Response> {
        let l = catalog.models.links.get(&key(link))?.clone();
        let find = |tables: &Tables, m: &ModelRef, given: &str| tables.parent_id(catalog, m, given).map(|v| text(&v));
        let pair = match params {
            [a, b] => match (find(self, &l.from, a), find(self, &l.to, b)) {
                (Some(f), Some(t)) => Some((f, t)),
                _ => match (find(self, &l.from, b), find(self, &l.to, a)) {
                    (Some(f), Some(t)) => Some((f, t)),
                    _ => None,
                },
            },
            [a] if !add => {
                // One record in the route: remove all its links.
                let (f, t) = (find(self, &l.from, a), find(self, &l.to, a));
                let pairs = self.links.entry(key(link)).or_default();
                pairs.retain(|(pf, pt)| Some(pf) != f.as_ref() && Some(pt) != t.as_ref());
                return Some(shaped(doc, &Value::Null, &Value::Null));
            }
            _ => None,
        };
        let Some(pair) = pair else { return Some(reply::not_found(&format!("{} or {}", l.from.name, l.to.name))) };
        let pairs = self.links.entry(key(link)).or_default();
        if add {
            if pairs.contains(&pair) {
                return Some(reply::message(StatusCode::CONFLICT, "The link already exists."));
            }
            if pairs.len() >= MAX_RECORDS {
                return Some(reply::message(
                    StatusCode::BAD_REQUEST,
                    "The simulator holds no more links of this kind.",
                ));
            }
            pairs.push(pair);
        } else if let Some(i) = pairs.iter().position(|p| *p == pair) {
            pairs.remove(i);
        } else {
            return Some(reply::not_found("link"));
        }
        Some(shaped(doc, &Value::Null, &Value::Null))
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

/// The answer of a state change in the form its first documented success status takes: the
/// record, its id, or nothing.
fn shaped(doc: &EndpointDoc, row: &Value, id: &Value) -> Response {
    let Some((status, forms)) = doc.responses.iter().find(|(s, _)| (200..300).contains(*s)) else {
        return reply::empty(StatusCode::NO_CONTENT);
    };
    let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::OK);
    match forms.first().map(|f| &f.body) {
        Some(Body::Object(_)) if !row.is_null() => reply::json(code, row),
        Some(Body::Array(_)) if !row.is_null() => reply::json(code, &Value::Array(vec![row.clone()])),
        Some(Body::Integer) if !id.is_null() => reply::json(code, id),
        Some(Body::String) if !id.is_null() => reply::json(code, &Value::String(text(id))),
        _ => reply::empty(code),
    }
}

/// The request body as a JSON object, or 400.
fn body_object(call: &Call) -> Result<Map<String, Value>, Refusal> {
    let bytes = call.body.as_deref().unwrap_or_default();
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) | Err(_) if bytes.iter().all(u8::is_ascii_whitespace) => {
            Err(Refusal::new(StatusCode::BAD_REQUEST, "The request body is required."))
        }
        _ => Err(Refusal::new(StatusCode::BAD_REQUEST, "The request body is not a JSON object.")),
    }
}

/// A body field by name, ignoring case, as ASP.NET binds them.
fn get_ci<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// The first required field of the documented request body that the body lacks.
fn missing_required(catalog: &Catalog, doc: &EndpointDoc, body: &Map<String, Value>) -> Option<String> {
    let Some(Body::Object(m)) = doc.request.as_ref().and_then(|r| r.body.as_ref()) else { return None };
    let model = catalog.models.model(m)?;
    model
        .fields
        .iter()
        .find(|f| f.presence == Presence::Required && get_ci(body, &f.name).is_none_or(Value::is_null))
        .map(|f| f.name.clone())
}

/// 400 for a documented query parameter whose value its type does not read (ASP.NET's model
/// binding answers so), or a required one that is missing.
fn check_query(doc: &EndpointDoc, call: &Call) -> Option<Response> {
    for p in &doc.query {
        let value = call.query.get(&p.name);
        match value {
            None if p.required => {
                return Some(reply::message(
                    StatusCode::BAD_REQUEST,
                    &format!("The {} parameter is required.", p.name),
                ));
            }
            None => {}
            Some(v) => {
                let v = v.trim();
                let ok = p.ty.0.iter().any(|t| match t {
                    Term::Integer => v.parse::<i64>().is_ok(),
                    Term::Number => v.parse::<f64>().is_ok_and(f64::is_finite),
                    Term::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
                    Term::String(Some(StringFormat::Guid)) => StringFormat::of(v) == StringFormat::Guid,
                    Term::String(Some(StringFormat::DateTime)) => StringFormat::of(v) == StringFormat::DateTime,
                    Term::Null => v.is_empty(),
                    _ => true,
                });
                if !ok {
                    return Some(reply::bad_value(v, &p.name));
                }
            }
        }
    }
    None
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
    use crate::catalog::model::{ModelFile, load};
    use crate::simulator::app::Principal;
    use crate::simulator::call::Query;

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

    const SHOP: &str = r#"
area: Things
sources:
  p: { url: https://example.com/things.htm, release: current }
models:
  Box: { source: p, fields: { BoxID: integer, Name: string } }
  Thing: { source: p, fields: { ThingID: integer, BoxID: integer, Name: string, Colour: string | null } }
  Tag: { source: p, fields: { TagID: integer, Label: string } }
resources:
  Box: { id: BoxID, name: Name }
  Thing: { id: ThingID, name: Name, parents: { Box: BoxID } }
  Tag: { id: TagID, name: Label }
links:
  Tagged: { from: Thing, to: Tag }
endpoints:
  - { method: GET, route: Things, effect: read, source: p, query: { limit: { type: integer, paging: limit } }, responses: { 200: { body: { array: Thing } } }, serve: { list: Thing } }
  - { method: GET, route: "Things/{thingId}", effect: read, source: p, responses: { 200: { body: { object: Thing } } }, serve: { get: Thing } }
  - method: POST
    route: Boxes/{boxId}/Things
    effect: change
    source: p
    request: { fields: { Name: { type: string, required: true }, Colour: string } }
    responses: { 201: { body: { object: Thing } } }
    serve: { create: Thing, parent: Box }
  - { method: PUT, route: "Things/{thingId}", effect: change, source: p, responses: { 204: { body: empty } }, serve: { update: Thing } }
  - { method: DELETE, route: "Things/{thingId}", effect: change, source: p, responses: { 200: { body: empty } }, serve: { delete: Thing } }
  - { method: DELETE, route: "Boxes/{boxId}", effect: change, source: p, responses: { 200: { body: empty } }, serve: { delete: Box } }
  - { method: POST, route: "Things/{thingId}/Tags/{tagId}", effect: change, source: p, responses: { 200: { body: empty } }, serve: { link: Tagged } }
  - { method: DELETE, route: "Tags/{tagId}/Things/{thingId}", effect: change, source: p, responses: { 200: { body: empty } }, serve: { unlink: Tagged } }
  - { method: GET, route: "Tags/{tagId}/Things", effect: read, source: p, responses: { 200: { body: { array: Thing } } }, serve: { list: Thing, via: Tagged } }
"#;

    fn shop() -> Catalog {
        let e = |method: &str, route: &str, effect: &str| crate::catalog::Endpoint {
            area: "Things".into(),
            method: method.into(),
            route: route.into(),
            effect: effect.into(),
            statuses: vec![],
            source: "test".into(),
            note: None,
        };
        let endpoints = vec![
            e("GET", "Things", "read"),
            e("GET", "Things/{thingId}", "read"),
            e("POST", "Boxes/{boxId}/Things", "change"),
            e("PUT", "Things/{thingId}", "change"),
            e("DELETE", "Things/{thingId}", "change"),
            e("DELETE", "Boxes/{boxId}", "change"),
            e("POST", "Things/{thingId}/Tags/{tagId}", "change"),
            e("DELETE", "Tags/{tagId}/Things/{thingId}", "change"),
            e("GET", "Tags/{tagId}/Things", "read"),
        ];
        let files = [ModelFile { path: "things.yaml".into(), text: SHOP.into() }];
        let models = load(&files, &endpoints).unwrap_or_else(|d| panic!("{d:#?}"));
        Catalog::new(endpoints, Vec::new(), models)
    }

    fn call(query: &str, body: &str) -> Call {
        Call {
            headers: Default::default(),
            version: axum::http::Version::HTTP_11,
            query: Query::parse(Some(query)),
            params: Vec::new(),
            body: Some(axum::body::Bytes::from(body.to_owned())),
            principal: Principal::RunAs,
        }
    }

    async fn send(t: &mut Tables, c: &Catalog, method: &str, path: &str, query: &str, body: &str) -> (u16, Value) {
        let doc = c.doc_of(method, path).expect("documented");
        let r = t.answer(c, doc, path, &call(query, body)).expect("served");
        let status = r.status().as_u16();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn create_read_update_conflict_delete_and_links() {
        let c = shop();
        let mut t = Tables::build(&c, DataVariant::Standard);
        let (s, list) = send(&mut t, &c, "GET", "Things", "", "").await;
        assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(3)));
        assert_eq!(
            send(&mut t, &c, "GET", "Things", "limit=x", "").await.0,
            400,
            "an integer parameter that is not one"
        );
        let (s, made) =
            send(&mut t, &c, "POST", "Boxes/1/Things", "", r#"{"name": "psconform-x", "Colour": "red"}"#).await;
        assert_eq!(s, 201, "{made}");
        assert_eq!(
            (made["Name"].clone(), made["BoxID"].clone(), made["ThingID"].clone()),
            (Value::from("psconform-x"), Value::from(1), Value::from(4))
        );
        assert_eq!(
            send(&mut t, &c, "POST", "Boxes/1/Things", "", r#"{"Name": "PSCONFORM-X"}"#).await.0,
            409,
            "a duplicate name"
        );
        assert_eq!(
            send(&mut t, &c, "POST", "Boxes/99/Things", "", r#"{"Name": "y"}"#).await.0,
            404,
            "a missing parent"
        );
        assert_eq!(
            send(&mut t, &c, "POST", "Boxes/1/Things", "", r#"{"Colour": "y"}"#).await.0,
            400,
            "a missing required field"
        );
        assert_eq!(send(&mut t, &c, "PUT", "Things/4", "", r#"{"Colour": "blue"}"#).await.0, 204);
        assert_eq!(send(&mut t, &c, "GET", "Things/4", "", "").await.1["Colour"], "blue");
        assert_eq!(send(&mut t, &c, "DELETE", "Boxes/1", "", "").await.0, 409, "a box still holding things");
        assert_eq!(send(&mut t, &c, "POST", "Things/4/Tags/1", "", "").await.0, 200);
        assert_eq!(send(&mut t, &c, "POST", "Things/4/Tags/1", "", "").await.0, 409);
        let tagged = send(&mut t, &c, "GET", "Tags/1/Things", "", "").await.1;
        assert!(tagged.as_array().is_some_and(|a| a.iter().any(|x| x["ThingID"] == 4)), "{tagged}");
        assert_eq!(send(&mut t, &c, "DELETE", "Tags/1/Things/4", "", "").await.0, 200);
        let tagged = send(&mut t, &c, "GET", "Tags/1/Things", "", "").await.1;
        assert!(tagged.as_array().is_some_and(|a| a.iter().all(|x| x["ThingID"] != 4)), "{tagged}");
        assert_eq!(send(&mut t, &c, "DELETE", "Things/4", "", "").await.0, 200);
        assert_eq!(send(&mut t, &c, "GET", "Things/4", "", "").await.0, 404);
        assert_eq!(send(&mut t, &c, "DELETE", "Things/4", "", "").await.0, 404);
    }
}
