//! The table-driven routes: what `serve:` in `catalog/models/*.yaml` says an endpoint does to
//! the records of the one store (`tables`), answered in the form its page documents. Lists are
//! filtered by the documented query parameters, scoped to a parent named in the route or to
//! the records a link ties to it, paged by `limit`/`offset`; a record is found by id (or, where
//! a route allows, by name); creates check the required fields (400), a taken name under the
//! same parent (409) and the parent (404); updates write the body's documented fields; deletes
//! refuse a record still in use (409) and may name their records by a filter or a parent; links
//! and unlinks tie two records. Every record leaves through [`present`], projected onto the
//! documented model of the form and fitted to it.
//!
//! Behaviour (signing in, releases, Secrets Safe decryption, approvals) is code in the
//! behaviour modules, which use [`list_answer`] and [`record_answer`] to answer the same way.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use super::app::App;
use super::call::Call;
use super::fill::{self, Fit};
use super::reply::{self, Refusal};
use super::tables::{self, Key, Tables, key, same, text};
use crate::catalog::model::{Paging, Resource, Serve, ServeOp};
use crate::catalog::{Body, Catalog, EndpointDoc, ModelRef, Presence, RequestFacts, Term};
use crate::shape::StringFormat;

/// The answer of a table-served endpoint.
pub(crate) fn answer(app: &App, doc: &EndpointDoc, call: &Call) -> Response {
    let Some(serve) = doc.serve.as_ref() else { return super::behaviours::documented(app, call) };
    if let Some(refusal) = check_query(doc, call) {
        return refusal;
    }
    let catalog = app.catalog;
    let mut tables = app.store();
    match &serve.op {
        ServeOp::Link | ServeOp::Unlink => relink(app, &mut tables, doc, serve, call),
        op => {
            let Some(model) = serve.model.as_ref() else { return reply::no_route() };
            let Some(resource) = catalog.models.resources.get(&key(model)) else { return reply::no_route() };
            match op {
                ServeOp::List => list(app, &tables, doc, serve, resource, call),
                ServeOp::Get => get(app, &tables, doc, resource, call),
                ServeOp::Create => create(app, &mut tables, doc, serve, resource, call),
                ServeOp::Update => update(app, &mut tables, doc, resource, call),
                ServeOp::Delete => delete(app, &mut tables, doc, serve, resource, call),
                _ => reply::no_route(),
            }
        }
    }
}

fn list(app: &App, tables: &Tables, doc: &EndpointDoc, serve: &Serve, resource: &Resource, call: &Call) -> Response {
    let catalog = app.catalog;
    let k = key(&resource.model);
    let mut selected: Vec<&Value> = tables.rows_of(&k).iter().collect();
    if let Some(link) = &serve.link {
        let Some(given) = call.params.first() else { return reply::no_route() };
        match linked(catalog, tables, link, &resource.model, given) {
            Ok(ids) => selected.retain(|r| ids.iter().any(|id| same(&r[&resource.id], id))),
            Err(missing) => return reply::not_found(&missing),
        }
    }
    if let Some(parent) = &serve.parent {
        let Some(field) = resource.parents.iter().find(|(p, _)| p == parent).map(|(_, f)| f.as_str()) else {
            return reply::no_route();
        };
        let Some(given) = call.params.first() else { return reply::no_route() };
        let Some(parent_id) = tables.id_named(catalog, parent, given) else { return reply::not_found(&parent.name) };
        selected.retain(|r| same(&r[field], &text(&parent_id)));
    }
    for (param, field) in &serve.filters {
        if let Some(wanted) = call.query.text(param) {
            selected.retain(|r| same(&r[field.as_str()], wanted));
        }
    }
    let rows: Vec<Value> = selected.into_iter().cloned().collect();
    list_answer(app, call, doc, &resource.model, rows)
}

fn get(app: &App, tables: &Tables, doc: &EndpointDoc, resource: &Resource, call: &Call) -> Response {
    let Some(id) = call.params.last() else { return reply::no_route() };
    match tables.rows_of(&key(&resource.model)).iter().find(|r| same(&r[&resource.id], id)) {
        Some(row) => record_answer(app, call, doc, &resource.model, row),
        None => reply::not_found(&resource.model.name),
    }
}

/// The ids of the records of `ours` that `link` ties to the record a route segment names.
fn linked(
    catalog: &Catalog,
    tables: &Tables,
    link: &ModelRef,
    ours: &ModelRef,
    given: &str,
) -> Result<Vec<String>, String> {
    let Some(l) = catalog.models.links.get(&key(link)) else { return Err(link.name.clone()) };
    // The route names the other end; a link between records of one resource is followed from
    // its first end (`ManagedAccounts/{id}/SyncedAccounts`: the accounts synced to that one).
    let ours_from = key(&l.from) == key(ours) && key(&l.to) != key(ours);
    let other = if ours_from { &l.to } else { &l.from };
    let Some(other_id) = tables.id_named(catalog, other, given) else { return Err(other.name.clone()) };
    let other_id = text(&other_id);
    Ok(tables
        .pairs(&key(link))
        .iter()
        .filter_map(
            |(f, t)| if ours_from { (*t == other_id).then(|| f.clone()) } else { (*f == other_id).then(|| t.clone()) },
        )
        .collect())
}

/// A new record from the request body: the documented required fields must be there, a name
/// already taken (under the same parent) is 409, a parent that does not exist 404. The body's
/// credential fields (`secret: true` in the request model) go into the record's hidden part.
fn create(
    app: &App,
    tables: &mut Tables,
    doc: &EndpointDoc,
    serve: &Serve,
    resource: &Resource,
    call: &Call,
) -> Response {
    let catalog = app.catalog;
    let body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let parent_link = match (&serve.parent, call.params.first()) {
        (Some(p), Some(given)) => match tables.id_named(catalog, p, given) {
            Some(id) => resource.parents.iter().find(|(m, _)| m == p).map(|(_, f)| (f.clone(), id)),
            None => return reply::not_found(&p.name),
        },
        _ => None,
    };
    match insert_from_body(app, tables, doc, resource, &body, parent_link) {
        Ok(row) => record_answer(app, call, doc, &resource.model, &row),
        Err(r) => r.into(),
    }
}

/// Inserts a record made from a request body (and, when given, its parent field): 409 for a
/// taken name, 400 when the resource is full.
pub(crate) fn insert_from_body(
    app: &App,
    tables: &mut Tables,
    doc: &EndpointDoc,
    resource: &Resource,
    body: &Map<String, Value>,
    parent_link: Option<(String, Value)>,
) -> Result<Value, Refusal> {
    let catalog = app.catalog;
    let k = key(&resource.model);
    // The fields the body gives under another name (`serve: { from: … }`) count as given.
    let mut body = body.clone();
    for (field, given_as) in doc.serve.iter().flat_map(|s| &s.from) {
        if get_ci(&body, field).is_none_or(Value::is_null)
            && let Some(v) = get_ci(&body, given_as).cloned()
        {
            body.insert(field.clone(), v);
        }
    }
    // A parent the body names (a folder's `ParentId`) must exist, and scopes the name like a
    // parent the route names; an empty value (`""`, `0`) names none.
    let mut parent_link = parent_link;
    for (parent, field) in &resource.parents {
        if parent_link.as_ref().is_some_and(|(f, _)| f == field) {
            continue;
        }
        let Some(given) = get_ci(&body, field).filter(|v| !matches!(text(v).as_str(), "" | "0")) else {
            body.retain(|k, _| !k.eq_ignore_ascii_case(field));
            continue;
        };
        let Some(id) = tables.id_named(catalog, parent, &text(given)) else {
            return Err(Refusal::not_found(&parent.name));
        };
        parent_link.get_or_insert((field.clone(), id));
    }
    let body = &body;
    if let Some(name_field) = &resource.name
        && let Some(name) = get_ci(body, name_field)
    {
        let clash = tables.rows_of(&k).iter().any(|r| {
            same(&r[name_field.as_str()], &text(name))
                && parent_link.as_ref().is_none_or(|(f, id)| r.get(f) == Some(id))
        });
        if clash {
            return Err(Refusal::new(
                StatusCode::CONFLICT,
                &format!("A {} named '{}' already exists.", resource.model.name, text(name)),
            ));
        }
    }
    let Some(model) = catalog.models.model(&resource.model) else {
        return Err(Refusal::new(StatusCode::NOT_FOUND, "No such resource."));
    };
    let mut row = Map::new();
    row.insert(resource.id.clone(), tables.next_id(catalog, &resource.model));
    for f in &model.fields {
        if f.name == resource.id {
            continue;
        }
        if let Some((_, id)) = parent_link.as_ref().filter(|(pf, _)| *pf == f.name) {
            row.insert(f.name.clone(), id.clone());
        } else if let Some(v) = get_ci(body, &f.name).filter(|v| fill::writable(f, v)) {
            row.insert(f.name.clone(), v.clone());
        } else if !f.ty.nullable() && f.ty.0.contains(&Term::String(Some(StringFormat::DateTime))) {
            // A date the record must carry (its creation, its last update or processing) is
            // the moment it was made, not `DateTime.MinValue`, which means "never".
            row.insert(f.name.clone(), Value::String(fill::now()));
        }
    }
    let seed = fill::seed_of(&[&k.1, &body.len().to_string(), &tables.rows_of(&k).len().to_string()]);
    let row = fill::fit(&catalog.models, &resource.model, Value::Object(row), Fit::defaults(), &[], None, seed);
    let Some(row) = tables.insert(catalog, &k, row) else {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, "The simulator holds no more records of this kind."));
    };
    let id = text(&row[&resource.id]);
    stash_secrets(catalog, tables, doc, &k, &id, body);
    Ok(row)
}

/// The body's credential fields, kept where no documented route shows them.
fn stash_secrets(
    catalog: &Catalog,
    tables: &mut Tables,
    doc: &EndpointDoc,
    k: &Key,
    id: &str,
    body: &Map<String, Value>,
) {
    let Some(Body::Object(m)) = doc.request.as_ref().and_then(|r| r.body.as_ref()) else { return };
    let Some(request) = catalog.models.model(m) else { return };
    let secrets: Vec<(String, Value)> = request
        .fields
        .iter()
        .filter(|f| f.secret)
        .filter_map(|f| get_ci(body, &f.name).filter(|v| !v.is_null()).map(|v| (f.name.clone(), v.clone())))
        .collect();
    if secrets.is_empty() {
        return;
    }
    tables.hidden_of_mut(k, id).extend(secrets);
}

/// Changes a record's fields to the body's: 400 when the body lacks a field the request model
/// requires, 404 when there is no such record, 409 when the new name is another record's.
fn update(app: &App, tables: &mut Tables, doc: &EndpointDoc, resource: &Resource, call: &Call) -> Response {
    let catalog = app.catalog;
    let body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let Some(given) = call.params.last() else { return reply::no_route() };
    let k = key(&resource.model);
    if let Some(nf) = &resource.name
        && let Some(name) = get_ci(&body, nf)
        && tables.rows_of(&k).iter().any(|r| same(&r[nf.as_str()], &text(name)) && !same(&r[&resource.id], given))
    {
        return reply::message(
            StatusCode::CONFLICT,
            &format!("A {} named '{}' already exists.", resource.model.name, text(name)),
        );
    }
    let model_fields: Vec<crate::catalog::Field> =
        catalog.models.model(&resource.model).map(|m| m.fields.clone()).unwrap_or_default();
    let Some(row) = tables.rows_mut(&k).iter_mut().find(|r| same(&r[&resource.id], given)) else {
        return reply::not_found(&resource.model.name);
    };
    if let Value::Object(map) = row {
        for f in model_fields.iter().filter(|f| f.name != resource.id) {
            if let Some(v) = get_ci(&body, &f.name).filter(|v| fill::writable(f, v)) {
                map.insert(f.name.clone(), v.clone());
            }
        }
    }
    let row = row.clone();
    let id = text(&row[&resource.id]);
    stash_secrets(catalog, tables, doc, &k, &id, &body);
    record_answer(app, call, doc, &resource.model, &row)
}

/// Removes records: the one the route names (by id or name), or, where the route names only a
/// parent or nothing, every record of that parent that the query's filters select. 404 when
/// none is there; 409 while another record names one of them as its parent.
fn delete(
    app: &App,
    tables: &mut Tables,
    doc: &EndpointDoc,
    serve: &Serve,
    resource: &Resource,
    call: &Call,
) -> Response {
    let catalog = app.catalog;
    let k = key(&resource.model);
    let mut params = call.params.iter();
    let mut selected: Vec<Value> = tables.rows_of(&k).to_vec();
    if let Some(parent) = &serve.parent {
        let (Some(field), Some(given)) =
            (resource.parents.iter().find(|(p, _)| p == parent).map(|(_, f)| f.clone()), params.next())
        else {
            return reply::no_route();
        };
        let Some(parent_id) = tables.id_named(catalog, parent, given) else { return reply::not_found(&parent.name) };
        selected.retain(|r| r.get(&field) == Some(&parent_id));
    }
    if let Some(given) = params.last() {
        selected.retain(|r| {
            same(&r[&resource.id], given) || resource.name.as_ref().is_some_and(|n| same(&r[n.as_str()], given))
        });
    }
    let mut filtered = false;
    for (param, field) in &serve.filters {
        if let Some(wanted) = call.query.text(param) {
            filtered = true;
            selected.retain(|r| same(&r[field.as_str()], wanted));
        }
    }
    if call.params.is_empty() && !filtered {
        return reply::message(StatusCode::BAD_REQUEST, "Name the records to delete.");
    }
    if selected.is_empty() {
        return reply::not_found(&resource.model.name);
    }
    // The children that go with it (`serve: { with: … }`: a group's addresses) do not count.
    let goes_with = |child: &Resource| serve.with.iter().any(|w| key(w) == key(&child.model));
    for row in &selected {
        let id = &row[&resource.id];
        for (child_key, child) in catalog.models.resources.iter().filter(|(_, c)| !goes_with(c)) {
            for (_, field) in child.parents.iter().filter(|(p, _)| key(p) == k) {
                // A child that goes with it (a folder deleted with its subfolders) does not count.
                let in_use = tables.rows_of(child_key).iter().any(|r| {
                    r.get(field) == Some(id)
                        && !(*child_key == k && selected.iter().any(|s| s[&resource.id] == r[&child.id]))
                });
                if in_use {
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
    }
    for row in &selected {
        let id = &row[&resource.id];
        for child in catalog.models.resources.values().filter(|c| goes_with(c)) {
            let child_key = key(&child.model);
            for (_, field) in child.parents.iter().filter(|(p, _)| key(p) == k) {
                let gone: Vec<Value> = tables
                    .rows_of(&child_key)
                    .iter()
                    .filter(|r| r.get(field) == Some(id))
                    .map(|r| r[&child.id].clone())
                    .collect();
                for child_id in &gone {
                    tables.remove(catalog, &child_key, child_id);
                }
            }
        }
        tables.remove(catalog, &k, id);
    }
    let last = selected.last().cloned().unwrap_or(Value::Null);
    empty_or_id_answer(doc, call, &last[&resource.id])
}

/// Links (or unlinks) the two records a route names, in either order; `unlink` with one record
/// removes all its links. A link answers the record it attached, in the documented form.
fn relink(app: &App, tables: &mut Tables, doc: &EndpointDoc, serve: &Serve, call: &Call) -> Response {
    let catalog = app.catalog;
    let add = serve.op == ServeOp::Link;
    let Some(link) = serve.link.as_ref() else { return reply::no_route() };
    let Some(l) = catalog.models.links.get(&key(link)).cloned() else { return reply::no_route() };
    let find = |t: &Tables, m: &ModelRef, given: &str| t.id_named(catalog, m, given).map(|v| text(&v));
    let pair = match call.params.as_slice() {
        [a, b] => match (find(tables, &l.from, a), find(tables, &l.to, b)) {
            (Some(f), Some(t)) => Some((f, t)),
            _ => match (find(tables, &l.from, b), find(tables, &l.to, a)) {
                (Some(f), Some(t)) => Some((f, t)),
                _ => None,
            },
        },
        [a] if !add => {
            let (f, t) = (find(tables, &l.from, a), find(tables, &l.to, a));
            if f.is_none() && t.is_none() {
                return reply::not_found(&l.from.name);
            }
            let self_link = key(&l.from) == key(&l.to);
            tables.pairs_mut(&key(link)).retain(|(pf, pt)| {
                if self_link { Some(pf) != f.as_ref() } else { Some(pf) != f.as_ref() && Some(pt) != t.as_ref() }
            });
            return empty_or_id_answer(doc, call, &Value::Null);
        }
        _ => None,
    };
    let Some(pair) = pair else { return reply::not_found(&format!("{} or {}", l.from.name, l.to.name)) };
    let pairs = tables.pairs_mut(&key(link));
    // Where the page documents 201 for a new link and 200 for one already there (a managed
    // account's propagation action), a link made again is that 200, not a conflict.
    let again_ok = doc.responses.contains_key(&200) && doc.responses.contains_key(&201);
    let mut status = None;
    if add {
        if pairs.contains(&pair) {
            if !again_ok {
                return reply::message(StatusCode::CONFLICT, "The link already exists.");
            }
            status = Some(StatusCode::OK);
        } else if again_ok {
            status = Some(StatusCode::CREATED);
        }
        if pairs.len() >= tables::MAX_RECORDS {
            return reply::message(StatusCode::BAD_REQUEST, "The simulator holds no more links of this kind.");
        }
        if status != Some(StatusCode::OK) {
            pairs.push(pair.clone());
        }
    } else if let Some(i) = pairs.iter().position(|p| *p == pair) {
        pairs.remove(i);
        return empty_or_id_answer(doc, call, &Value::Null);
    } else {
        return reply::not_found("link");
    }
    // The record the route attached is the one it names last.
    let attached = call.params.last().map(String::as_str).unwrap_or_default();
    let (end, id) =
        if find(tables, &l.to, attached).as_ref() == Some(&pair.1) { (&l.to, &pair.1) } else { (&l.from, &pair.0) };
    let mut answer = match tables.find_key(catalog, &key(end), id) {
        Some(row) => {
            let row = row.clone();
            record_answer(app, call, doc, end, &row)
        }
        None => empty_or_id_answer(doc, call, &Value::Null),
    };
    if let Some(status) = status {
        *answer.status_mut() = status;
    }
    answer
}

// ---------------------------------------------------------------------------------------------
// Answers in the documented form

/// How a response form answers records.
#[derive(Debug)]
pub(crate) enum Form {
    /// One object of the model.
    One(ModelRef),
    /// An array of the model.
    Many(ModelRef),
    /// `{TotalCount, Data}` of the model.
    Paged(ModelRef),
    /// "One object or an array of them" (the record a name names): the array form when `many`.
    Either(ModelRef, bool),
    /// Another body (a bare id, nothing, bytes, any value).
    Other(Body),
}

/// The first documented success status of an endpoint for a request, with its form. Where a
/// form is "one object or an array of them", the sparse variant takes the array, the others
/// the object.
pub(crate) fn success(doc: &EndpointDoc, facts: &RequestFacts, sparse: bool, own: &ModelRef) -> (StatusCode, Form) {
    let found = doc
        .responses
        .iter()
        .filter(|(s, _)| (200..300).contains(*s))
        .find_map(|(s, _)| doc.form(*s, facts).map(|f| (*s, f)));
    let Some((status, form)) = found else { return (StatusCode::NO_CONTENT, Form::Other(Body::Empty)) };
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let form = match &form.body {
        Body::Object(m) => Form::One(m.clone()),
        Body::Array(m) => Form::Many(m.clone()),
        Body::Paged(m) => Form::Paged(m.clone()),
        Body::Type(t) => {
            let one = t.0.iter().find_map(|t| if let Term::Model(m) = t { Some(m.clone()) } else { None });
            let many = t.0.iter().find_map(|t| match t {
                Term::Array(inner) => match inner.as_ref() {
                    Term::Model(m) => Some(m.clone()),
                    Term::Object | Term::Any => Some(own.clone()),
                    _ => None,
                },
                _ => None,
            });
            match (one, many) {
                (Some(m), Some(_)) => Form::Either(m, sparse),
                (Some(m), _) => Form::One(m),
                (None, Some(m)) => Form::Many(m),
                (None, None) => Form::Other(form.body.clone()),
            }
        }
        other => Form::Other(other.clone()),
    };
    (code, form)
}

/// A record in the documented model `to`: the fields of the record's own model that `to` does
/// not have are dropped (fields neither documents stay, as a newer server's would), then it is
/// fitted to `to` in the requested model version.
pub(crate) fn present(app: &App, call: &Call, from: &ModelRef, to: &ModelRef, record: &Value) -> Value {
    let models = &app.catalog.models;
    let mut value = record.clone();
    if key(from) != key(to)
        && let (Some(src), Some(dst), Some(obj)) = (models.model(from), models.model(to), value.as_object_mut())
    {
        obj.retain(|k, _| dst.fields.iter().any(|f| f.name == *k) || !src.fields.iter().any(|f| f.name == *k));
    }
    let id = models.resources.get(&key(from)).map(|r| text(&record[r.id.as_str()])).unwrap_or_default();
    let seed = fill::seed_of(&[&to.name, &id]);
    // A record shown in another model (a managed account as a linked account) is a view: in
    // the sparse variant it takes that model's freedoms, every other record leaving out rather
    // than nulling what may be both.
    let how = if key(from) == key(to) {
        Fit::answer(app.data.sparse())
    } else {
        let even = id.parse::<u64>().map_or(seed, |n| n).is_multiple_of(2);
        Fit::view(app.data.sparse(), even)
    };
    let keep: Vec<&str> = models
        .resources
        .get(&key(from))
        .map(|r| std::iter::once(r.id.as_str()).chain(r.name.as_deref()).collect())
        .unwrap_or_default();
    fill::fit(models, to, value, how, &keep, Some(call.facts().version()), seed)
}

/// A list of records of model `from`, paged by the endpoint's documented paging parameters and
/// answered in its documented form.
pub(crate) fn list_answer(app: &App, call: &Call, doc: &EndpointDoc, from: &ModelRef, rows: Vec<Value>) -> Response {
    let limit_name = doc.query.iter().find(|q| q.paging == Some(Paging::Limit)).map(|q| q.name.as_str());
    let offset_name = doc.query.iter().find(|q| q.paging == Some(Paging::Offset)).map(|q| q.name.as_str());
    let limit = limit_name.and_then(|n| call.query.text(n)).map(|v| v.parse::<usize>());
    let offset = offset_name.and_then(|n| call.query.text(n)).map(|v| v.parse::<usize>());
    let (limit, offset) = match (limit, offset) {
        (Some(Err(_)), _) => return reply::bad_value(limit_name.unwrap_or("limit"), "limit"),
        (_, Some(Err(_))) => return reply::bad_value(offset_name.unwrap_or("offset"), "offset"),
        (l, o) => (l.and_then(Result::ok), o.and_then(Result::ok).unwrap_or(0)),
    };
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(offset).take(limit.unwrap_or(usize::MAX)).collect();
    let (status, form) = success(doc, &call.facts(), app.data.sparse(), from);
    let status = if status.is_success() && status != StatusCode::NO_CONTENT { status } else { StatusCode::OK };
    let each = |m: &ModelRef, rows: Vec<Value>| -> Vec<Value> {
        rows.iter().map(|r| present(app, call, from, m, r)).collect()
    };
    match form {
        Form::Paged(m) => reply::json(status, &reply::list(each(&m, page), total, true)),
        Form::Many(m) => reply::json(status, &Value::Array(each(&m, page))),
        // "One or many" of a parent's records with none to show: the empty list.
        Form::Either(_, _)
            if page.is_empty() && doc.form(status.as_u16(), &call.facts()).is_some_and(|f| f.when.is_none()) =>
        {
            reply::json(status, &Value::Array(Vec::new()))
        }
        Form::One(m) | Form::Either(m, false) => match page.into_iter().next() {
            Some(one) => reply::json(status, &present(app, call, from, &m, &one)),
            None => reply::not_found(&from.name),
        },
        // The array form of a record a query names (`?name=`): still 404 when nothing has that
        // name; a parent's records in that form are simply none.
        Form::Either(_, true)
            if page.is_empty() && doc.form(status.as_u16(), &call.facts()).is_some_and(|f| f.when.is_some()) =>
        {
            reply::not_found(&from.name)
        }
        Form::Either(m, true) => reply::json(status, &Value::Array(each(&m, page))),
        Form::Other(_) => reply::json(status, &Value::Array(page)),
    }
}

/// One record of model `from` answered in the endpoint's first documented success form: the
/// record, a one-element list of it, its bare id, or nothing.
pub(crate) fn record_answer(app: &App, call: &Call, doc: &EndpointDoc, from: &ModelRef, record: &Value) -> Response {
    let (status, form) = success(doc, &call.facts(), app.data.sparse(), from);
    let id = app.catalog.models.resources.get(&key(from)).map(|r| record[&r.id].clone()).unwrap_or(Value::Null);
    match form {
        Form::One(m) | Form::Either(m, false) => reply::json(status, &present(app, call, from, &m, record)),
        Form::Many(m) | Form::Either(m, true) => {
            reply::json(status, &Value::Array(vec![present(app, call, from, &m, record)]))
        }
        Form::Paged(m) => reply::json(status, &reply::list(vec![present(app, call, from, &m, record)], 1, true)),
        Form::Other(body) => other_answer(status, &body, record, &id),
    }
}

/// An answer with no record to show: nothing, or the bare id where the page documents one.
pub(crate) fn empty_or_id_answer(doc: &EndpointDoc, call: &Call, id: &Value) -> Response {
    let own = ModelRef { area: None, name: String::new() };
    let (status, form) = success(doc, &call.facts(), false, &own);
    match form {
        Form::Other(body) => other_answer(status, &body, &Value::Null, id),
        _ => reply::empty(status),
    }
}

fn other_answer(status: StatusCode, body: &Body, record: &Value, id: &Value) -> Response {
    match body {
        Body::Integer if !id.is_null() => reply::json(status, id),
        Body::String if !id.is_null() => reply::json(status, &Value::String(text(id))),
        Body::Any | Body::Type(_) if !record.is_null() => reply::json(status, record),
        Body::Empty | Body::Raw => reply::empty(status),
        _ => reply::empty(status),
    }
}

// ---------------------------------------------------------------------------------------------
// Reading requests

/// The request body as a JSON object, or 400.
pub(crate) fn body_object(call: &Call) -> Result<Map<String, Value>, Refusal> {
    let Some(bytes) = call.body.as_deref() else {
        return Err(Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, "The request body is too large."));
    };
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) | Err(_) if bytes.iter().all(u8::is_ascii_whitespace) => {
            Err(Refusal::new(StatusCode::BAD_REQUEST, "The request body is required."))
        }
        _ => Err(Refusal::new(StatusCode::BAD_REQUEST, "The request body is not a JSON object.")),
    }
}

/// The request body as a JSON object with every field its documented request model requires,
/// or the 400 that says what is wrong.
pub(crate) fn documented_body(app: &App, call: &Call) -> Result<Map<String, Value>, Refusal> {
    let body = body_object(call)?;
    if let Some(missing) = call.doc.and_then(|doc| missing_required(app.catalog, doc, &body)) {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, &format!("The {missing} field is required.")));
    }
    Ok(body)
}

/// A body field by name, ignoring case, as ASP.NET binds them.
pub(crate) fn get_ci<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    body.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// The first required field of the documented request body that the body lacks.
pub(crate) fn missing_required(catalog: &Catalog, doc: &EndpointDoc, body: &Map<String, Value>) -> Option<String> {
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
pub(crate) fn check_query(doc: &EndpointDoc, call: &Call) -> Option<Response> {
    for p in &doc.query {
        match call.query.get(&p.name) {
            None if p.required => {
                return Some(reply::message(
                    StatusCode::BAD_REQUEST,
                    &format!("The {} parameter is required.", p.name),
                ));
            }
            None => {}
            Some(v) => {
                let v = v.trim();
                let ok = v.is_empty()
                    || p.ty.0.iter().any(|t| match t {
                        Term::Integer => v.parse::<i64>().is_ok(),
                        Term::Number => v.parse::<f64>().is_ok_and(f64::is_finite),
                        Term::Boolean => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
                        Term::String(Some(StringFormat::Guid)) => StringFormat::of(v) == StringFormat::Guid,
                        Term::String(Some(StringFormat::DateTime)) => StringFormat::of(v) == StringFormat::DateTime,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::model::{ModelFile, load};

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
  - { method: GET, route: Things, effect: read, source: p, query: { limit: { type: integer, paging: limit }, colour: string }, responses: { 200: { body: { array: Thing } } }, serve: { list: Thing } }
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
  - { method: DELETE, route: "Things", effect: change, source: p, query: { colour: string }, responses: { 200: { body: empty } }, serve: { delete: Thing, filters: { colour: Colour } } }
  - { method: DELETE, route: "Boxes/{boxId}", effect: change, source: p, responses: { 200: { body: empty } }, serve: { delete: Box } }
  - { method: POST, route: "Things/{thingId}/Tags/{tagId}", effect: change, source: p, responses: { 201: { body: { object: Tag } } }, serve: { link: Tagged } }
  - { method: DELETE, route: "Tags/{tagId}/Things/{thingId}", effect: change, source: p, responses: { 200: { body: empty } }, serve: { unlink: Tagged } }
  - { method: GET, route: "Tags/{tagId}/Things", effect: read, source: p, responses: { 200: { body: { array: Thing } } }, serve: { list: Thing, via: Tagged } }
"#;

    fn shop() -> &'static Catalog {
        static SHOP_CATALOG: std::sync::LazyLock<Catalog> = std::sync::LazyLock::new(|| {
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
                e("DELETE", "Things", "change"),
                e("DELETE", "Boxes/{boxId}", "change"),
                e("POST", "Things/{thingId}/Tags/{tagId}", "change"),
                e("DELETE", "Tags/{tagId}/Things/{thingId}", "change"),
                e("GET", "Tags/{tagId}/Things", "read"),
            ];
            let files = [ModelFile { path: "things.yaml".into(), text: SHOP.into() }];
            let models = load(&files, &endpoints).unwrap_or_else(|d| panic!("{d:#?}"));
            Catalog::new(endpoints, Vec::new(), models)
        });
        &SHOP_CATALOG
    }

    fn app() -> App {
        let mut app = App::new(
            crate::simulator::SimConfig::new(crate::settings::Settings::default()),
            crate::simulator::config::Approver::demo(),
            false,
        );
        app.catalog = shop();
        let mut t = Tables::new(app.data);
        t.generate(shop());
        *app.store() = t;
        app
    }

    async fn send(app: &App, method: &str, path: &str, query: &str, body: &str) -> (u16, Value) {
        let doc = app.catalog.doc_of(method, path).expect("documented");
        let call = Call {
            headers: Default::default(),
            version: axum::http::Version::HTTP_11,
            query: super::super::call::Query::parse(Some(query)),
            params: super::super::routes::route_params(&doc.route, path),
            body: Some(axum::body::Bytes::from(body.to_owned())),
            principal: super::super::app::Principal::RunAs,
            doc: Some(doc),
        };
        let r = answer(app, doc, &call);
        let status = r.status().as_u16();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 20).await.expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn create_read_update_conflict_delete_and_links() {
        let app = app();
        let (s, list) = send(&app, "GET", "Things", "", "").await;
        assert_eq!((s, list.as_array().map(Vec::len)), (200, Some(3)));
        assert_eq!(send(&app, "GET", "Things", "limit=x", "").await.0, 400, "an integer parameter that is not one");
        let (s, made) = send(&app, "POST", "Boxes/1/Things", "", r#"{"name": "psconform-x", "Colour": "red"}"#).await;
        assert_eq!(s, 201, "{made}");
        assert_eq!(
            (made["Name"].clone(), made["BoxID"].clone(), made["ThingID"].clone()),
            (Value::from("psconform-x"), Value::from(1), Value::from(4))
        );
        assert_eq!(
            send(&app, "POST", "Boxes/1/Things", "", r#"{"Name": "PSCONFORM-X"}"#).await.0,
            409,
            "a duplicate name"
        );
        assert_eq!(send(&app, "POST", "Boxes/99/Things", "", r#"{"Name": "y"}"#).await.0, 404, "a missing parent");
        assert_eq!(
            send(&app, "POST", "Boxes/1/Things", "", r#"{"Colour": "y"}"#).await.0,
            400,
            "a missing required field"
        );
        assert_eq!(send(&app, "PUT", "Things/4", "", r#"{"Colour": "blue"}"#).await.0, 204);
        assert_eq!(send(&app, "GET", "Things/4", "", "").await.1["Colour"], "blue");
        assert_eq!(send(&app, "DELETE", "Boxes/1", "", "").await.0, 409, "a box still holding things");
        let (s, tag) = send(&app, "POST", "Things/4/Tags/1", "", "").await;
        assert_eq!((s, tag["TagID"].clone()), (201, Value::from(1)), "a link answers the record it attached");
        assert_eq!(send(&app, "POST", "Things/4/Tags/1", "", "").await.0, 409);
        let tagged = send(&app, "GET", "Tags/1/Things", "", "").await.1;
        assert!(tagged.as_array().is_some_and(|a| a.iter().any(|x| x["ThingID"] == 4)), "{tagged}");
        assert_eq!(send(&app, "DELETE", "Tags/1/Things/4", "", "").await.0, 200);
        let tagged = send(&app, "GET", "Tags/1/Things", "", "").await.1;
        assert!(tagged.as_array().is_some_and(|a| a.iter().all(|x| x["ThingID"] != 4)), "{tagged}");
        assert_eq!(send(&app, "DELETE", "Things", "", "").await.0, 400, "a delete that names nothing");
        assert_eq!(send(&app, "DELETE", "Things", "colour=green", "").await.0, 404);
        assert_eq!(send(&app, "DELETE", "Things", "colour=BLUE", "").await.0, 200, "deleted by a filter");
        assert_eq!(send(&app, "GET", "Things/4", "", "").await.0, 404);
        assert_eq!(send(&app, "DELETE", "Things/4", "", "").await.0, 404);
        assert_eq!(send(&app, "DELETE", "Things/thing-1", "", "").await.0, 200, "by name where the route allows");
    }
}
