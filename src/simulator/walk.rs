//! The proof that the simulator takes every documented freedom and no other: every read
//! endpoint of the catalog (`read` and `audited`), in every data variant, in every model
//! version it documents and in every response form a query condition selects, is asked with a
//! session, its answer checked against the documented contract (`catalog::documented`, no
//! breaking change), and every documented nullable position recorded as seen `null` and every
//! optional field as seen absent. A test, not a module the simulator runs.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::data::DataVariant;
use super::fill::{self, Fit};
use super::tables::{self, FOLDER, KEYSTROKE, REQUEST, SECRET, SESSION, Tables, key};
use super::testing::Client;
use crate::catalog::documented::{documented, documented_as_written};
use crate::catalog::model::{Effect, ServeOp};
use crate::catalog::{Body as Form, Catalog, EndpointDoc, ModelRef, RequestFacts};
use crate::shape::{Mode, Node, ResponseShape, Severity, compare};

/// What the walk knows it made, for routes that need it.
#[derive(Default)]
struct Made {
    request: String,
    alias_request: String,
    replay: String,
}

/// What the walk needs that no record holds at start: a release request, one by alias, a
/// request set, a session on the request and a replay of a session.
async fn setup(client: &Client) -> Made {
    client.setup_inner().await
}

impl Client {
    async fn setup_inner(&self) -> Made {
        let mut made = Made::default();
        let body = json!({"SystemID": 1, "AccountID": 10, "DurationMinutes": 60, "ConflictOption": "reuse"});
        let (s, _, id, _) = self.send("POST", "Requests", Some(body), None).await;
        assert!(s == 201 || s == 200, "POST Requests: {s} {id}");
        made.request = id.trim().to_owned();
        let (s, _, id, _) = self
            .send("POST", "Aliases/1/Requests", Some(json!({"DurationMinutes": 30, "AccessType": "RDP"})), None)
            .await;
        assert!(s == 201 || s == 200, "POST Aliases/1/Requests: {s} {id}");
        made.alias_request = id.trim().to_owned();
        let set = json!({"AccessTypes": ["SSH", "View"], "SystemID": 1, "AccountID": 10, "DurationMinutes": 30});
        let (s, _, text, _) = self.send("POST", "RequestSets", Some(set), None).await;
        assert_eq!(s, 201, "POST RequestSets: {text}");
        let path = format!("Requests/{}/Sessions", made.request);
        let (s, _, text, _) = self.send("POST", &path, Some(json!({"SessionType": "ssh"})), None).await;
        assert_eq!(s, 201, "POST {path}: {text}");
        let token = self.app.store().rows(SESSION).first().map(|s| text_of(&s["Token"])).unwrap_or_default();
        let start = json!({"id": token, "record_key": "k", "protocol": "ssh", "headless": true});
        let (s, _, text, _) = self.send("POST", "PBSM/Replay", Some(start), None).await;
        assert_eq!(s, 200, "POST PBSM/Replay: {text}");
        made.replay = serde_json::from_str::<Value>(&text).ok().map(|v| text_of(&v["id"])).unwrap_or_default();
        made
    }
}

fn text_of(v: &Value) -> String {
    tables::text(v)
}

/// The id a route parameter names, picked from the store: a record of the resource the
/// parameter is named after, of the kind the route's last segment asks for.
fn pick(catalog: &Catalog, tables: &Tables, doc: &EndpointDoc, name: &str, made: &Made) -> Option<String> {
    let route = doc.route.to_ascii_lowercase();
    let stem = name.to_ascii_lowercase().trim_end_matches("id").trim_end_matches("name").to_owned();
    let first_id = |r: &ModelRef, keep: &dyn Fn(&Value) -> bool| -> Option<String> {
        let res = catalog.models.resources.get(&key(r))?;
        let field = if name.to_ascii_lowercase().ends_with("name") { res.name.clone()? } else { res.id.clone() };
        tables.rows_of(&key(r)).iter().find(|row| keep(row)).map(|row| text_of(&row[field.as_str()]))
    };
    let any = |_: &Value| true;
    match stem.as_str() {
        "request" if route.starts_with("aliases/") => Some(made.alias_request.clone()),
        "request" => Some(made.request.clone()),
        "replay" => Some(made.replay.clone()),
        "alias" => Some("1".into()),
        "safe" => first_id(&FOLDER.model(), &|f| f["ParentId"] == fill::NO_GUID),
        "secret" if route.ends_with("/file") || route.ends_with("/download") => {
            first_id(&SECRET.model(), &|s| s["SecretType"] == "File")
        }
        "secret" if route.ends_with("/text") => first_id(&SECRET.model(), &|s| s["SecretType"] == "Text"),
        "folder" if route.ends_with("/file") || route.ends_with("/text") => {
            let kind = if route.ends_with("/file") { "File" } else { "Text" };
            tables.rows(SECRET).iter().find(|s| s["SecretType"] == kind).map(|s| text_of(&s["FolderId"]))
        }
        "session" if route.ends_with("/keystrokes") => tables.rows(KEYSTROKE).first().map(|k| text_of(&k["SessionID"])),
        "attribute" => {
            first_id(&ModelRef { area: Some("attributes".into()), name: "AttributeDefinition".into() }, &any)
        }
        "syncedaccount" | "directoryaccount" | "account" => first_id(&tables::MANAGED_ACCOUNT.model(), &any),
        "useraudit" => first_id(&tables::USER_AUDIT.model(), &any),
        _ => match catalog.models.resources.values().find(|r| r.model.name.to_ascii_lowercase() == stem) {
            Some(r) => first_id(&r.model, &any),
            // Nothing the simulator keeps records of (an EPM policy): any id will do.
            None => Some("1".into()),
        },
    }
}

/// The paths the walk asks an endpoint at: its first parameter naming each of up to six
/// records (so that every record's freedoms are seen), the others the first fitting one.
fn paths(
    catalog: &Catalog,
    tables: &Tables,
    doc: &EndpointDoc,
    made: &Made,
) -> Result<Vec<(Vec<String>, bool)>, String> {
    let encode = |id: &str| percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC).to_string();
    let params: Vec<&str> =
        doc.route.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect();
    let mut firsts = Vec::new();
    if let Some(first) = params.first() {
        let picked = pick(catalog, tables, doc, first, made).ok_or_else(|| (*first).to_owned())?;
        firsts.push(picked.clone());
        let stem = first.to_ascii_lowercase().trim_end_matches("id").to_owned();
        let resource = catalog.models.resources.values().find(|r| r.model.name.to_ascii_lowercase() == stem);
        if let (Some(r), false) = (resource, first.to_ascii_lowercase().ends_with("name")) {
            firsts.extend(
                tables
                    .rows_of(&key(&r.model))
                    .iter()
                    .map(|row| text_of(&row[r.id.as_str()]))
                    .filter(|id| *id != picked)
                    .take(5),
            );
        }
    } else {
        firsts.push(String::new());
    }
    let mut out = Vec::new();
    for first in firsts {
        let mut path = Vec::new();
        let mut n = 0;
        for segment in doc.route.split('/') {
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => {
                    let id = if n == 0 {
                        first.clone()
                    } else {
                        pick(catalog, tables, doc, name, made).ok_or_else(|| name.to_owned())?
                    };
                    path.push(encode(&id));
                    n += 1;
                }
                None => path.push(segment.to_owned()),
            }
        }
        let primary = out.is_empty();
        out.push((path, primary));
    }
    Ok(out)
}

/// The query that selects a documented response form (`limit`, `decrypt=true`, a name that
/// exists), or none for the plain form.
fn queries(doc: &EndpointDoc, tables: &Tables, catalog: &Catalog, sparse: bool) -> Vec<Vec<(String, String)>> {
    let mut out = vec![Vec::new()];
    let versions: Vec<String> = doc
        .query
        .iter()
        .find(|q| q.name.eq_ignore_ascii_case("version"))
        .map(|q| q.values.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    for v in versions {
        out.push(vec![("version".into(), v)]);
    }
    let mut conditions: Vec<crate::catalog::Condition> = Vec::new();
    for forms in doc.responses.values() {
        conditions.extend(forms.iter().filter_map(|f| f.when.clone()));
        for model in forms.iter().filter_map(|f| f.body.model()) {
            for field in catalog.models.model(model).map(|m| m.fields.clone()).unwrap_or_default() {
                if let crate::catalog::Presence::When(c) = field.presence {
                    conditions.push(c);
                }
            }
        }
    }
    let mut extra: Vec<Vec<(String, String)>> = Vec::new();
    for form in &conditions {
        {
            let mut q: Vec<(String, String)> = form.values.clone();
            for p in &form.present {
                // A value some record has, where the list filters by it; a known name otherwise.
                let field = doc
                    .serve
                    .as_ref()
                    .and_then(|s| s.filters.iter().find(|(k, _)| k.eq_ignore_ascii_case(p)))
                    .map(|(_, f)| f.clone());
                let model = doc.serve.as_ref().and_then(|s| s.model.clone());
                let param = doc.query.iter().find(|q| q.name.eq_ignore_ascii_case(p));
                let typed = param.and_then(|q| match q.ty.0.first() {
                    Some(crate::catalog::Term::Integer | crate::catalog::Term::Number) => Some("2"),
                    Some(crate::catalog::Term::Boolean) => Some("true"),
                    _ => None,
                });
                let value = match (field, model) {
                    _ if typed.is_some() => typed.unwrap_or_default().to_owned(),
                    (Some(f), Some(m)) => {
                        tables.rows_of(&key(&m)).first().map(|r| text_of(&r[f.as_str()])).unwrap_or_default()
                    }
                    _ => NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(p)).map_or("demo", |(_, v)| v).to_owned(),
                };
                // The other records' values too, so that each record's freedoms show in this form.
                if let (Some(f), Some(m)) = (
                    doc.serve
                        .as_ref()
                        .and_then(|s| s.filters.iter().find(|(k, _)| k.eq_ignore_ascii_case(p)))
                        .map(|(_, f)| f.clone()),
                    doc.serve.as_ref().and_then(|s| s.model.clone()),
                ) {
                    for r in tables.rows_of(&key(&m)).iter().skip(1).take(5) {
                        let mut other = q.clone();
                        other.push((p.clone(), text_of(&r[f.as_str()])));
                        extra.push(other);
                    }
                }
                q.push((p.clone(), value));
            }
            if let Some(v) = form.version {
                q.push(("version".into(), if v.admits((3, 2)) { "3.2" } else { "3.0" }.into()));
            }
            out.push(q);
        }
    }
    let _ = sparse;
    out.extend(extra);
    // A required parameter is in every query, with a value of its type.
    for q in doc.query.iter().filter(|q| q.required) {
        let value = match q.ty.0.first() {
            Some(crate::catalog::Term::Integer | crate::catalog::Term::Number) => "1",
            Some(crate::catalog::Term::Boolean) => "true",
            _ => "demo",
        };
        for query in &mut out {
            if !query.iter().any(|(k, _)| k.eq_ignore_ascii_case(&q.name)) {
                query.push((q.name.clone(), value.to_owned()));
            }
        }
    }
    out
}

/// Values of the query parameters that name one record of a coded list.
const NAMED: &[(&str, &str)] =
    &[("systemName", "demo-linux-01"), ("accountName", "svc-release"), ("name", "demo-alias")];

/// What the walk saw at one documented position.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    optional: bool,
    nullable: bool,
    absent: bool,
    null: bool,
}

/// Records, along the documented shape, which optional fields a value left out and which
/// nullable positions it held `null` in.
fn observe(node: &Node, value: &Value, path: &str, seen: &mut BTreeMap<String, Seen>) {
    if let (Some(fields), Value::Object(o)) = (&node.object, value) {
        for (name, f) in fields {
            let at = format!("{path}.{name}");
            let child = o.get(name);
            let s = seen.entry(at.clone()).or_default();
            s.optional |= f.optional;
            s.nullable |= documented_null(&f.node);
            s.absent |= child.is_none();
            s.null |= child.is_some_and(Value::is_null);
            if let Some(c) = child.filter(|c| !c.is_null()) {
                observe(&f.node, c, &at, seen);
            }
        }
    }
    if let (Some(inner), Value::Array(items)) = (&node.array, value) {
        // "One object or a list of them" is one model at one position, in either form.
        let union = node.object.is_some() && inner.object.is_some();
        for item in items {
            let at = if union { path.to_owned() } else { format!("{path}[]") };
            let s = seen.entry(at.clone()).or_default();
            s.nullable |= documented_null(inner);
            s.null |= item.is_null();
            if !item.is_null() {
                observe(inner, item, &at, seen);
            }
        }
    }
    if let (Some(inner), Value::Object(o)) = (&node.map, value) {
        for item in o.values().filter(|v| !v.is_null()) {
            observe(inner, item, &format!("{path}{{}}"), seen);
        }
    }
}

/// Whether a position's `null` is documented: a type with `| null`, not `any` (a page that says
/// nothing of a field allows every kind, null among them, without documenting it).
fn documented_null(node: &Node) -> bool {
    let any = node.boolean && node.number && node.string.is_some() && node.object.is_some() && node.array.is_some();
    node.null && !any
}

/// The read endpoints the walk asks.
fn reads(catalog: &Catalog) -> Vec<&EndpointDoc> {
    catalog.models.endpoints.iter().filter(|d| d.effect <= Effect::Audited && d.serve.is_some()).collect()
}

#[tokio::test]
async fn every_read_endpoint_answers_within_its_model_and_takes_every_freedom() {
    let catalog = Catalog::shared().expect("catalog");
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    let mut problems: Vec<String> = Vec::new();
    let mut answered: BTreeMap<String, u32> = BTreeMap::new();
    for data in DataVariant::ALL {
        let client = Client::new(*data).await;
        let made = setup(&client).await;
        for doc in reads(catalog) {
            let endpoint = format!("{} {}", doc.method, doc.route);
            let tables = client.app.store().clone();
            let paths = match paths(catalog, &tables, doc, &made) {
                Ok(p) => p,
                Err(name) => {
                    problems.push(format!("{data}: {endpoint}: no record for {{{name}}}"));
                    continue;
                }
            };
            let body = request_body(catalog, doc, &tables);
            let all_queries = queries(doc, &tables, catalog, data.sparse());
            for ((path, primary), query) in
                paths.iter().flat_map(|p| all_queries.iter().map(move |q| (p.clone(), q.clone())))
            {
                let qs: String = query
                    .iter()
                    .map(|(k, v)| {
                        format!("{k}={}", url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>())
                    })
                    .collect::<Vec<_>>()
                    .join("&");
                let target = if qs.is_empty() { path.join("/") } else { format!("{}?{qs}", path.join("/")) };
                let (status, _, text, media) = client.send(&doc.method, &target, body.clone(), None).await;
                // A record may well have nothing there (a variant's organization without quick
                // rules); an endpoint that never answers 2xx in any variant is reported below.
                if status == 404 {
                    let _ = primary;
                    continue;
                }
                if !(200..300).contains(&status) {
                    problems.push(format!(
                        "{data}: {endpoint} ({target}) answered {status}: {}",
                        text.chars().take(200).collect::<String>()
                    ));
                    continue;
                }
                *answered.entry(endpoint.clone()).or_default() += 1;
                let facts = RequestFacts { query: query.clone() };
                let Some(contract) = documented(&catalog.models, doc, status, facts.version()) else {
                    problems.push(format!("{data}: {endpoint} answered {status}, which its model does not document"));
                    continue;
                };
                let observed = ResponseShape::infer(status, media.as_deref(), Vec::<String>::new(), text.as_bytes());
                for change in
                    compare(&contract, &observed, Mode::Conform).iter().filter(|c| c.severity == Severity::Breaking)
                {
                    problems.push(format!("{data}: {endpoint} ({target}): {}", change.line()));
                }
                // The freedoms the data must take are the nullability the pages write; a null a
                // client-sourced field is only tolerated to take is not one.
                let written = documented_as_written(&catalog.models, doc, status, facts.version());
                let written = written.and_then(|w| w.body.json);
                if let (Some(node), Ok(value)) = (&written, serde_json::from_str::<Value>(&text)) {
                    let mut here = BTreeMap::new();
                    observe(node, &value, "", &mut here);
                    for (at, s) in here {
                        let e = seen.entry(format!("{endpoint} {at}")).or_default();
                        e.optional |= s.optional;
                        e.nullable |= s.nullable;
                        e.absent |= s.absent;
                        e.null |= s.null;
                    }
                }
            }
        }
    }
    for doc in reads(catalog) {
        let endpoint = format!("{} {}", doc.method, doc.route);
        if !answered.contains_key(&endpoint) {
            problems.push(format!("{endpoint}: never answered 2xx"));
        }
    }
    let mut untaken: Vec<String> = seen
        .iter()
        .filter(|(_, s)| (s.optional && !s.absent) || (s.nullable && !s.null))
        .map(|(at, s)| {
            let mut missing = Vec::new();
            if s.optional && !s.absent {
                missing.push("never absent");
            }
            if s.nullable && !s.null {
                missing.push("never null");
            }
            format!("{at}: {}", missing.join(", "))
        })
        .filter(|line| !EXEMPT.iter().any(|(prefix, _)| line.starts_with(prefix)))
        .filter(|line| !names_its_parent(catalog, line))
        .collect();
    untaken.sort();
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    // A walk that reached little proves little.
    let freedoms = seen.values().filter(|s| s.optional || s.nullable).count();
    assert!(answered.len() >= 120 && freedoms >= 500, "{} endpoints, {freedoms} freedoms", answered.len());
    eprintln!("walked {} read endpoints; {freedoms} documented freedoms taken", answered.len());
    assert!(untaken.is_empty(), "{} documented freedoms never taken:\n{}", untaken.len(), untaken.join("\n"));
}

/// Whether a position is the parent field of the records a route lists under that parent (the
/// systems of an asset all have that asset's id, however nullable `AssetID` is).
fn names_its_parent(catalog: &Catalog, line: &str) -> bool {
    catalog.models.endpoints.iter().any(|d| {
        let Some(serve) = d.serve.as_ref() else { return false };
        let (Some(parent), Some(model)) = (&serve.parent, &serve.model) else { return false };
        let Some(resource) = catalog.models.resources.get(&key(model)) else { return false };
        let prefix = format!("{} {} ", d.method, d.route);
        resource.parents.iter().filter(|(p, _)| p == parent).any(|(_, field)| {
            [".", "[].", ".Data[]."].iter().any(|at| line.starts_with(&format!("{prefix}{at}{field}:")))
        })
    })
}

/// Positions the walk cannot make take a freedom, each with the reason.
const EXEMPT: &[(&str, &str)] = &[
    (
        "GET ManagedAccounts .UserPrincipalName",
        "the lookup by system and account name the shipped case reads (it checks the field's type, so the \
         one account it names keeps it); the list form takes the freedom",
    ),
    (
        "GET Secrets-Safe/Folders/{folderId}/Secrets [].Owners[].",
        "the owners are one of two models (3.0 or 3.1); a field of one is optional only in their union",
    ),
    (
        "GET Secrets-Safe/Secrets .Data[].Owners[].",
        "the owners are one of two models (3.0 or 3.1); a field of one is optional only in their union",
    ),
];

/// A request body with what its documented model requires, for the reads that take one.
fn request_body(catalog: &Catalog, doc: &EndpointDoc, tables: &Tables) -> Option<Value> {
    let Some(Form::Object(m)) = doc.request.as_ref().and_then(|r| r.body.as_ref()) else {
        return (doc.method != "GET").then(|| json!({}));
    };
    let mut v = fill::fit(&catalog.models, m, Value::Null, Fit::answer(false), &[], None, 1);
    // Fields that name records name ones that exist.
    if let Some(o) = v.as_object_mut() {
        for (k, val) in o.iter_mut() {
            match k.to_ascii_lowercase().as_str() {
                "accountid" => *val = json!(10),
                "systemid" => *val = json!(1),
                "data" => *val = json!(""),
                _ => {}
            }
        }
        if doc.route.eq_ignore_ascii_case("Assets/Search") {
            o.clear();
            o.insert(
                "AssetName".into(),
                tables.rows(tables::ASSET).first().map_or(json!("x"), |a| a["AssetName"].clone()),
            );
        }
    }
    let _ = (REQUEST, ServeOp::List);
    Some(v)
}

/// Every change endpoint (create, update, delete, link, unlink, and the behaviours that change
/// state), asked once with a body its request model allows and ids of records that exist,
/// answers a status its page documents (or one every endpoint may answer) and never the "no
/// route" 404; most of them succeed.
#[tokio::test]
async fn every_change_endpoint_answers_a_documented_status() {
    let catalog = Catalog::shared().expect("catalog");
    let client = Client::new(DataVariant::Standard).await;
    let made = setup(&client).await;
    let mut problems = Vec::new();
    let mut succeeded = 0;
    let changes: Vec<&EndpointDoc> =
        catalog.models.endpoints.iter().filter(|d| d.effect > Effect::Audited && d.serve.is_some()).collect();
    // Deletes last, so that what they remove is not missing for the others.
    let (deletes, others): (Vec<&EndpointDoc>, Vec<&EndpointDoc>) = changes.iter().partition(|d| d.method == "DELETE");
    for doc in others.into_iter().chain(deletes) {
        let endpoint = format!("{} {}", doc.method, doc.route);
        let tables = client.app.store().clone();
        let Ok(paths) = paths(catalog, &tables, doc, &made) else {
            problems.push(format!("{endpoint}: no record for its route"));
            continue;
        };
        let Some((path, _)) = paths.first() else { continue };
        let body = request_body(catalog, doc, &tables).map(|b| unique(b, &endpoint));
        let (status, _, text, _) = client.send(&doc.method, &path.join("/"), body, None).await;
        let documented =
            doc.responses.is_empty() || doc.responses.contains_key(&status) || [400, 403, 404, 409].contains(&status);
        if text.contains("No HTTP resource was found") || status == 405 || !documented {
            problems.push(format!(
                "{endpoint} ({}) answered {status}: {}",
                path.join("/"),
                text.chars().take(160).collect::<String>()
            ));
        } else if (200..300).contains(&status) {
            succeeded += 1;
        } else if std::env::var_os("PSCONFORM_WALK_VERBOSE").is_some() {
            eprintln!(
                "{endpoint} ({}) answered {status}: {}",
                path.join("/"),
                text.chars().take(160).collect::<String>()
            );
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    eprintln!("{succeeded} of {} change endpoints succeeded", changes.len());
    assert!(succeeded * 10 >= changes.len() * 6, "only {succeeded} of {} change endpoints succeeded", changes.len());
}

/// A body whose names are new, so that a create does not meet a name it made before.
fn unique(mut body: Value, endpoint: &str) -> Value {
    if let Some(o) = body.as_object_mut() {
        for (k, v) in o.iter_mut() {
            if ["name", "title", "accountname", "assetname", "groupname", "username", "displayname", "shortname"]
                .contains(&k.to_ascii_lowercase().as_str())
                && v.is_string()
            {
                *v = Value::String(format!("psconform-{}", fill::seed_of(&[endpoint]) % 100_000));
            }
        }
    }
    body
}

/// Every route the third-party clients call (`README.md` in this folder, one table per
/// client; the official Python library's are the catalog's `PYLIB` entries), sent with a
/// session: a route the table marks `served` is answered by a documented endpoint (never the
/// "no route" 404, never 405); a client fault gets what a real server without the route gives.
#[tokio::test]
async fn every_route_the_clients_call_is_served() {
    let catalog = Catalog::shared().expect("catalog");
    let client = Client::new(DataVariant::Standard).await;
    let made = setup(&client).await;
    let mut rows: Vec<(String, String, String, String)> = Vec::new();
    for marker in ["<!-- client: bt-cli", "<!-- client: golib"] {
        let table = super::behaviours::tests::readme_rows(marker);
        assert!(table.len() > 30, "{marker}: the README lists the client's routes");
        rows.extend(table.into_iter().map(|r| {
            let cell = |i: usize| r.get(i).cloned().unwrap_or_default();
            (marker.to_owned(), cell(0), cell(1).trim_matches('`').to_owned(), cell(2))
        }));
    }
    let pylib = catalog.endpoints.iter().filter(|e| e.source.contains("PYLIB"));
    rows.extend(pylib.map(|e| ("pylib".to_owned(), e.method.clone(), e.route.clone(), "served".to_owned())));
    assert!(rows.len() > 400, "{}", rows.len());
    let mut problems = Vec::new();
    for (client_name, method, route, answer) in &rows {
        let tables = client.app.store().clone();
        // The client's spelling, with ids of records the documented endpoint's route names.
        let probe: Vec<String> =
            route.split('/').map(|s| if s.starts_with('{') { "1".to_owned() } else { s.to_owned() }).collect();
        let doc = catalog.doc_of(method, &probe.join("/"));
        let ids: Vec<String> = match doc.and_then(|d| paths(catalog, &tables, d, &made).ok()) {
            Some(p) => {
                let (path, _) = p.into_iter().next().unwrap_or_default();
                let template: Vec<&str> = doc.map(|d| d.route.split('/').collect()).unwrap_or_default();
                template.iter().zip(path).filter(|(t, _)| t.starts_with('{')).map(|(_, p)| p).collect()
            }
            None => Vec::new(),
        };
        let mut ids = ids.into_iter();
        let path: Vec<String> = route
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| if s.starts_with('{') { ids.next().unwrap_or_else(|| "1".to_owned()) } else { s.to_owned() })
            .collect();
        let body = doc.and_then(|d| request_body(catalog, d, &tables)).or_else(|| (method != "GET").then(|| json!({})));
        let (status, _, text, _) = client.send(method, &path.join("/"), body, None).await;
        let no_route = status == 404 && text.contains("No HTTP resource was found");
        let fine = match answer.as_str() {
            "served" => !no_route && status != 405,
            "405" => status == 405,
            "404" => no_route,
            other => {
                problems.push(format!("{client_name}: {method} {route}: unknown answer `{other}` in the README"));
                continue;
            }
        };
        if !fine {
            problems.push(format!(
                "{client_name}: {method} {route} ({}): expected {answer}, got {status} {}",
                path.join("/"),
                text.chars().take(120).collect::<String>()
            ));
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}
