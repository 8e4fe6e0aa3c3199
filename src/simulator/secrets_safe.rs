//! Secrets Safe as behaviour: the secret list and lookup by `path`, `title` and `separator` in
//! the models 3.0 to 3.2 (values only with `decrypt=true` in the 24.3 profile), one secret by
//! id in its credential, text or file model, the raw file download, creating (JSON, or
//! multipart for a file), updating, moving, sharing and marking secrets as favourites; the
//! folder list with its filters, moving folders and importing a CSV into one; safes, which are
//! root folders (a `ParentId` of the empty GUID), and their permissions.
//!
//! Secrets and folders are records of the one store; a secret's value (a password, a text, a
//! file's content) lives in its hidden part, drawn fresh at every start. A Text secret's value
//! is read from `Password` as well as `Text`: both official clients and bt-cli read it there
//! (the decision and its sources are on `Secret.Password` in `catalog/models/secrets.yaml`).

use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::app::App;
use super::call::Call;
use super::fault::Fault;
use super::fill::{self, Fit, NO_GUID};
use super::profile::Profile;
use super::reply::{self, Refusal};
use super::resources::{body_object, documented_body, get_ci, list_answer, missing_required};
use super::seed::{OWNER, file_hash, folder_path};
use super::tables::{FOLDER, SECRET, Tables, same, text};
use crate::catalog::ModelRef;

/// The user id of every demo owner.
const OWNER_ID: i64 = 7;

fn model(name: &str) -> ModelRef {
    ModelRef { area: Some("secrets".into()), name: name.into() }
}

/// The link between secrets and the folders they are shared into.
fn shares_link() -> super::tables::Key {
    ("secrets".into(), "SecretShares".into())
}

/// The model version a request asks for: 0, 1 or 2 for 3.0 to 3.2. A version the release does
/// not know is answered as 3.0 (what clients would survive; the pages leave it open).
fn minor_version(profile: Profile, call: &Call) -> u8 {
    let minor = match call.query.text("version") {
        Some("3.1") => 1,
        Some("3.2") => 2,
        _ => 0,
    };
    if minor > profile.newest_secrets_version() { 0 } else { minor }
}

/// The secret's value.
fn value_of(tables: &Tables, id: &str) -> String {
    tables.hidden(SECRET, id).and_then(|h| h.get("Value")).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn is_favorite(tables: &Tables, r: super::tables::Res, id: &str) -> bool {
    tables.hidden(r, id).and_then(|h| h.get("IsFavorite")).and_then(Value::as_bool).unwrap_or(false)
}

/// The fields every secret model shares, in the model version asked for: 3.0 has the obsolete
/// owner properties, 3.1 the Owners collection and IsFavorite, 3.2 adds SecretValueModifiedOn.
fn common(app: &App, tables: &Tables, s: &Value, minor: u8) -> Map<String, Value> {
    let id = text(&s["Id"]);
    let folder_id = text(&s["FolderId"]);
    let folder = tables.rows(FOLDER).iter().find(|f| same(&f["Id"], &folder_id));
    let email = if app.data.sparse() { Value::Null } else { Value::from(format!("{OWNER}@example.com")) };
    let mut m = s.as_object().cloned().unwrap_or_default();
    for k in ["Username", "FileName", "FileHash", "SecretType", "Password", "Text"] {
        m.remove(k);
    }
    m.insert("Folder".into(), folder.map_or(Value::from(""), |f| f["Name"].clone()));
    m.insert("FolderPath".into(), Value::from(folder_path(tables, &folder_id).unwrap_or_default()));
    if minor == 0 {
        m.insert("OwnerId".into(), json!(OWNER_ID));
        m.insert("Owner".into(), json!(OWNER));
        m.insert("OwnerType".into(), json!("User"));
        let email = email.as_str().unwrap_or_default().to_owned();
        m.insert("Owners".into(), json!([{ "OwnerId": OWNER_ID, "Owner": OWNER, "Email": email }]));
    } else {
        m.insert("Owners".into(), json!([{ "GroupId": null, "UserId": OWNER_ID, "Name": OWNER, "Email": email }]));
        m.insert("IsFavorite".into(), json!(is_favorite(tables, SECRET, &id)));
    }
    if minor == 2 {
        m.insert("SecretValueModifiedOn".into(), s["ModifiedOn"].clone());
    }
    m
}

/// A secret in one of its documented models, in the requested version.
fn view(app: &App, m: Map<String, Value>, name: &str, minor: u8, id: &str) -> Value {
    let seed = fill::seed_of(&[name, id]);
    // In the sparse variant a secret takes its model's freedoms, except its value when asked for.
    let how = Fit::view(app.data.sparse(), seed.is_multiple_of(2));
    let keep = ["Password", "Text"];
    fill::fit(&app.catalog.models, &model(name), Value::Object(m), how, &keep, Some((3, u32::from(minor))), seed)
}

// ---------------------------------------------------------------------------------------------
// GET Secrets-Safe/Secrets

pub(crate) fn list_secrets(app: &App, call: &Call) -> Response {
    let q = &call.query;
    let minor = minor_version(app.profile, call);
    let decrypt = match q.bool("decrypt") {
        Ok(d) => d.unwrap_or_else(|| app.profile.decrypt_by_default()),
        Err(refusal) => return refusal.into(),
    };
    let paging = match q.paging() {
        Ok(p) => p,
        Err(refusal) => return refusal.into(),
    };
    let separator = q.get("separator").filter(|s| !s.is_empty()).unwrap_or("/");
    if separator.chars().count() != 1 {
        return reply::bad_value(separator, "separator");
    }
    // `path` is the folder path from the safe down, written with `separator`.
    let path = q.text("path").map(|p| p.split(separator).filter(|s| !s.is_empty()).collect::<Vec<_>>().join("/"));
    let after = match q.text("afterdate") {
        None => None,
        Some(d) if is_date(d) => Some(d.get(..19).unwrap_or(d).to_owned()),
        Some(d) => return reply::bad_value(d, "afterdate"),
    };
    let title = q.get("title").filter(|t| !t.is_empty()).filter(|_| !app.has(Fault::SecretsTitleIgnored));
    let tables = app.store();
    let matching: Vec<Value> = tables
        .rows(SECRET)
        .iter()
        .filter(|s| {
            path.as_deref().is_none_or(|p| {
                folder_path(&tables, &text(&s["FolderId"])).is_some_and(|fp| fp.eq_ignore_ascii_case(p))
            })
        })
        // The title matches whole, not as a part.
        .filter(|s| title.is_none_or(|t| same(&s["Title"], t)))
        .filter(|s| {
            after.as_deref().is_none_or(|a| s["ModifiedOn"].as_str().is_some_and(|m| m.get(..19).unwrap_or(m) >= a))
        })
        .map(|s| list_model(app, &tables, s, minor, decrypt))
        .collect();
    let total = matching.len();
    let page = paging.page(matching, 1000);
    // 3.0 and 3.1 answer a bare array, 3.2 wraps it.
    let wrapped = minor == 2 && !app.has(Fault::SecretsUnwrapped);
    reply::ok(&reply::list(page, total, wrapped))
}

/// `yyyy-MM-ddTHH:mm:ss` with an optional zone or fraction.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 19
        && b.iter().take(19).enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T' || *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
}

/// The list model: every kind of secret, its value only when decrypted; a text secret's value
/// in `Password` as well as in `Text`. A file's content is never inline.
fn list_model(app: &App, tables: &Tables, s: &Value, minor: u8, decrypt: bool) -> Value {
    let id = text(&s["Id"]);
    let kind = s["SecretType"].as_str().unwrap_or("Credential");
    let mut m = common(app, tables, s, minor);
    m.insert("Username".into(), s["Username"].clone());
    m.insert("FileName".into(), s["FileName"].clone());
    m.insert("FileHash".into(), s["FileHash"].clone());
    m.insert("SecretType".into(), Value::from(kind));
    if decrypt && kind != "File" {
        let value = value_of(tables, &id);
        if kind == "Text" {
            m.insert("Text".into(), Value::from(value.clone()));
        }
        m.insert("Password".into(), Value::from(value));
    }
    view(app, m, "Secret", minor, &id)
}

// ---------------------------------------------------------------------------------------------
// GET Secrets-Safe/Secrets/{id}, /Text, /File and /File/Download

/// Which model a route under `Secrets-Safe/Secrets/{id}` answers.
fn route_kind(call: &Call) -> &'static str {
    let route = call.doc.map(|d| d.route.to_ascii_lowercase()).unwrap_or_default();
    if route.ends_with("/text") {
        "Text"
    } else if route.ends_with("/file") {
        "File"
    } else {
        "Credential"
    }
}

/// A secret in the model of its route: the credential model (any kind; a text secret's value
/// in `Password`, a file's empty), the text model or the file model (404 for another kind).
fn secret_view(app: &App, tables: &Tables, call: &Call, s: &Value, as_kind: &str) -> Option<Value> {
    let id = text(&s["Id"]);
    let kind = s["SecretType"].as_str().unwrap_or("Credential");
    let minor = minor_version(app.profile, call);
    let mut m = common(app, tables, s, minor);
    match as_kind {
        "Text" if kind == "Text" => {
            m.insert("Text".into(), Value::from(value_of(tables, &id)));
            Some(view(app, m, "TextSecret", minor, &id))
        }
        "File" if kind == "File" => {
            m.insert("FileName".into(), s["FileName"].clone());
            m.insert("FileHash".into(), s["FileHash"].clone());
            Some(view(app, m, "FileSecret", minor, &id))
        }
        "Credential" => {
            m.insert("Username".into(), s["Username"].clone());
            let password = if kind == "File" { String::new() } else { value_of(tables, &id) };
            m.insert("Password".into(), Value::from(password));
            Some(view(app, m, "CredentialSecret", minor, &id))
        }
        _ => None,
    }
}

pub(crate) fn view_secret(app: &App, call: &Call) -> Response {
    let tables = app.store();
    let as_kind = route_kind(call);
    let Some(s) = tables.find(app.catalog, SECRET, call.param(0)) else {
        return reply::not_found("Secret");
    };
    match secret_view(app, &tables, call, s, as_kind) {
        Some(v) => reply::ok(&v),
        None => reply::not_found(&format!("{as_kind} secret")),
    }
}

pub(crate) fn download_file(app: &App, call: &Call) -> Response {
    let tables = app.store();
    let Some(s) = tables.find(app.catalog, SECRET, call.param(0)).filter(|s| s["SecretType"] == "File") else {
        return reply::not_found("File secret");
    };
    let content = value_of(&tables, &text(&s["Id"]));
    if app.has(Fault::FileDownloadJson) {
        return reply::ok(&Value::from(content));
    }
    // The raw bytes, with their length; axum sets Content-Length from the body.
    let mut response = reply::bytes(StatusCode::OK, content.into_bytes(), "application/octet-stream");
    let name = s["FileName"].as_str().filter(|n| !n.is_empty()).unwrap_or("secret");
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename={name}")) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

// ---------------------------------------------------------------------------------------------
// Creating and updating secrets

/// A secret body: JSON, or for a file secret a multipart form with the JSON metadata in the
/// part `secretmetadata` and the content in the part `file` (as both official clients send it).
struct SecretBody {
    fields: Map<String, Value>,
    file: Option<(String, Vec<u8>)>,
}

fn secret_body(call: &Call) -> Result<SecretBody, Refusal> {
    let Some(parts) = multipart(call)? else {
        return body_object(call).map(|fields| SecretBody { fields, file: None });
    };
    let mut fields = Map::new();
    let mut file = None;
    for part in parts {
        let (head, content) = part;
        let name = disposition_value(&head, "name").unwrap_or_default();
        if name.eq_ignore_ascii_case("secretmetadata") {
            match serde_json::from_slice::<Value>(&content) {
                Ok(Value::Object(m)) => fields = m,
                _ => return Err(Refusal::new(StatusCode::BAD_REQUEST, "secretmetadata is not a JSON object.")),
            }
        } else if file.is_none() && is_file_part(&name, &head) {
            file = Some((disposition_value(&head, "filename").unwrap_or_else(|| "file".into()), content));
        }
    }
    Ok(SecretBody { fields, file })
}

/// One part of a multipart body: its header text and its content.
type Part = (String, Vec<u8>);

/// The parts of a `multipart/form-data` body, or `None` for a body of another type.
fn multipart(call: &Call) -> Result<Option<Vec<Part>>, Refusal> {
    let content_type = call.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.to_ascii_lowercase().starts_with("multipart/form-data") {
        return Ok(None);
    }
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"').to_owned())
        .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "The multipart body has no boundary."))?;
    Ok(Some(multipart_parts(call.body.as_deref().unwrap_or_default(), &boundary)))
}

/// Whether a multipart part carries the file: the page names the part `form-data`, the
/// official library `files`, other clients `file`; any part with a file name carries one.
fn is_file_part(name: &str, head: &str) -> bool {
    ["file", "files", "form-data"].iter().any(|n| name.eq_ignore_ascii_case(n))
        || disposition_value(head, "filename").is_some()
}

/// The parts of a multipart body: each one's header text and content.
fn multipart_parts(body: &[u8], boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + d.len() <= body.len() {
        if &body[i..i + d.len()] == d {
            starts.push(i);
            i += d.len();
        } else {
            i += 1;
        }
    }
    starts
        .windows(2)
        .filter_map(|w| {
            let part = &body[w[0] + d.len()..w[1]];
            let part = part.strip_prefix(b"\r\n").unwrap_or(part);
            let split = part.windows(4).position(|x| x == b"\r\n\r\n")?;
            let head = String::from_utf8_lossy(&part[..split]).into_owned();
            let content = &part[split + 4..];
            let content = content.strip_suffix(b"\r\n").unwrap_or(content);
            Some((head, content.to_vec()))
        })
        .collect()
}

/// A parameter of a part's `Content-Disposition` header (`name`, `filename`).
fn disposition_value(head: &str, key: &str) -> Option<String> {
    let line = head.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))?;
    line.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case(key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The record fields a secret body writes: title, description, notes, URLs, username.
fn write_fields(row: &mut Map<String, Value>, fields: &Map<String, Value>) {
    for (name, field) in [
        ("Title", "Title"),
        ("Description", "Description"),
        ("Notes", "Notes"),
        ("Username", "Username"),
        ("FileName", "FileName"),
    ] {
        if let Some(v) = get_ci(fields, field).filter(|v| v.is_string()) {
            row.insert(name.into(), v.clone());
        }
    }
    if let Some(Value::Array(urls)) = get_ci(fields, "Urls") {
        row.insert("Urls".into(), Value::Array(urls.clone()));
    }
}

pub(crate) fn create_secret(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let kind = route_kind_of_create(call);
    let body = match secret_body(call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    if let Some(missing) = missing_required(app.catalog, doc, &body.fields) {
        return reply::message(StatusCode::BAD_REQUEST, &format!("The {missing} field is required."));
    }
    if kind == "File" && body.file.is_none() {
        return reply::message(StatusCode::BAD_REQUEST, "The file part is required.");
    }
    let mut tables = app.store();
    let Some(folder) = tables.find(app.catalog, FOLDER, call.param(0)).cloned() else {
        return reply::not_found("Folder");
    };
    let folder_id = text(&folder["Id"]);
    let title = get_ci(&body.fields, "Title").map(text).unwrap_or_default();
    if tables.rows(SECRET).iter().any(|s| same(&s["FolderId"], &folder_id) && same(&s["Title"], &title)) {
        return reply::message(
            StatusCode::CONFLICT,
            &format!("A secret titled '{title}' already exists in the folder."),
        );
    }
    let id = uuid::Uuid::new_v4().to_string();
    let mut row = Map::new();
    row.insert("Id".into(), Value::from(id.clone()));
    row.insert("FolderId".into(), Value::from(folder_id));
    row.insert("SecretType".into(), Value::from(kind));
    for (k, v) in [("Description", ""), ("Notes", ""), ("Username", ""), ("FileName", ""), ("FileHash", "")] {
        row.insert(k.into(), Value::from(v));
    }
    row.insert("Urls".into(), json!([]));
    for k in ["CreatedOn", "ModifiedOn"] {
        row.insert(k.into(), Value::from(fill::now()));
    }
    for k in ["CreatedBy", "ModifiedBy"] {
        row.insert(k.into(), Value::from(OWNER));
    }
    write_fields(&mut row, &body.fields);
    let value = match kind {
        "Text" => get_ci(&body.fields, "Text").map(text).unwrap_or_default(),
        "File" => {
            let (name, content) = body.file.clone().unwrap_or_default();
            if row["FileName"].as_str().is_none_or(str::is_empty) {
                row.insert("FileName".into(), Value::from(name));
            }
            row.insert("FileHash".into(), Value::from(file_hash(&content)));
            String::from_utf8_lossy(&content).into_owned()
        }
        _ => get_ci(&body.fields, "Password")
            .and_then(Value::as_str)
            .map_or_else(|| super::config::random_alphanumeric(&mut rand::rng(), 24), str::to_owned),
    };
    let row = fill::fit(&app.catalog.models, &SECRET.model(), Value::Object(row), Fit::answer(false), &[], None, 1);
    if tables.insert(app.catalog, &SECRET.key(), row.clone()).is_none() {
        return reply::message(StatusCode::BAD_REQUEST, "The simulator holds no more secrets.");
    }
    tables.hidden_mut(SECRET, &id).insert("Value".into(), Value::from(value));
    let as_kind = if kind == "Credential" { "Credential" } else { kind };
    match secret_view(app, &tables, call, &row, as_kind) {
        Some(v) => reply::json(StatusCode::CREATED, &v),
        None => reply::empty(StatusCode::CREATED),
    }
}

/// Which kind a create route makes: `.../Secrets` a credential, `/Secrets/Text`, `/Secrets/File`.
fn route_kind_of_create(call: &Call) -> &'static str {
    match route_kind(call) {
        "Credential" => "Credential",
        other => other,
    }
}

pub(crate) fn update_secret(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let as_kind = route_kind(call);
    let body = match secret_body(call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    if let Some(missing) = missing_required(app.catalog, doc, &body.fields) {
        return reply::message(StatusCode::BAD_REQUEST, &format!("The {missing} field is required."));
    }
    let mut tables = app.store();
    let Some(current) = tables.find(app.catalog, SECRET, call.param(0)).cloned() else {
        return reply::not_found("Secret");
    };
    let kind = current["SecretType"].as_str().unwrap_or("Credential").to_owned();
    if kind != as_kind {
        return reply::not_found(&format!("{as_kind} secret"));
    }
    let id = text(&current["Id"]);
    let folder_id = get_ci(&body.fields, "FolderId").map(text).unwrap_or_else(|| text(&current["FolderId"]));
    if tables.find(app.catalog, FOLDER, &folder_id).is_none() {
        return reply::not_found("Folder");
    }
    let title = get_ci(&body.fields, "Title").map(text).unwrap_or_else(|| text(&current["Title"]));
    let clash = tables
        .rows(SECRET)
        .iter()
        .any(|s| same(&s["FolderId"], &folder_id) && same(&s["Title"], &title) && !same(&s["Id"], &id));
    if clash {
        return reply::message(
            StatusCode::CONFLICT,
            &format!("A secret titled '{title}' already exists in the folder."),
        );
    }
    let value = match kind.as_str() {
        "Text" => get_ci(&body.fields, "Text").map(text),
        "File" => body.file.as_ref().map(|(_, c)| String::from_utf8_lossy(c).into_owned()),
        _ => get_ci(&body.fields, "Password").and_then(Value::as_str).map(str::to_owned),
    };
    let Some(Value::Object(row)) = tables.find_mut(app.catalog, SECRET, &id) else { return reply::not_found("Secret") };
    write_fields(row, &body.fields);
    row.insert("FolderId".into(), Value::from(folder_id));
    row.insert("ModifiedOn".into(), Value::from(fill::now()));
    if let Some((_, content)) = &body.file {
        row.insert("FileHash".into(), Value::from(file_hash(content)));
    }
    let row = Value::Object(row.clone());
    if let Some(value) = value {
        tables.hidden_mut(SECRET, &id).insert("Value".into(), Value::from(value));
    }
    let (status, _) = super::resources::success(doc, &call.facts(), false, &SECRET.model());
    if status == StatusCode::NO_CONTENT {
        return reply::empty(status);
    }
    match secret_view(app, &tables, call, &row, as_kind) {
        Some(v) => reply::json(status, &v),
        None => reply::empty(status),
    }
}

/// `PUT .../{id}/Favorite` for secrets and folders: `{"Favorite": true|false}`.
pub(crate) fn favorite(app: &App, call: &Call) -> Response {
    let body = match body_object(call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let Some(flag) = get_ci(&body, "Favorite").and_then(Value::as_bool) else {
        return reply::message(StatusCode::BAD_REQUEST, "The Favorite field is required.");
    };
    let route = call.doc.map(|d| d.route.to_ascii_lowercase()).unwrap_or_default();
    let r = if route.starts_with("secrets-safe/folders/") { FOLDER } else { SECRET };
    let mut tables = app.store();
    let Some(found) = tables.find(app.catalog, r, call.param(0)) else { return reply::not_found(r.1) };
    let id = text(&found["Id"]);
    tables.hidden_mut(r, &id).insert("IsFavorite".into(), Value::Bool(flag));
    if r == FOLDER
        && let Some(Value::Object(f)) = tables.find_mut(app.catalog, FOLDER, &id)
    {
        f.insert("IsFavorite".into(), Value::Bool(flag));
    }
    reply::empty(StatusCode::NO_CONTENT)
}

/// `PUT Secrets-Safe/Secrets/Move`: secrets into another folder, with what to do about a title
/// taken there (`Stop`, `Rename`, `Skip`).
pub(crate) fn move_secrets(app: &App, call: &Call) -> Response {
    let body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let ids = |name: &str| -> Vec<String> {
        get_ci(&body, name).and_then(Value::as_array).map(|a| a.iter().map(text).collect()).unwrap_or_default()
    };
    let (secrets, shares) = (ids("SecretIds"), ids("ShareIds"));
    let destination = get_ci(&body, "DestinationFolderId").map(text).unwrap_or_default();
    let action = get_ci(&body, "DuplicateNameAction").map(text).unwrap_or_default().to_ascii_lowercase();
    if !matches!(action.as_str(), "stop" | "rename" | "skip") {
        return reply::bad_value(&action, "DuplicateNameAction");
    }
    let mut tables = app.store();
    if tables.find(app.catalog, FOLDER, &destination).is_none() {
        return reply::not_found("Folder");
    }
    let (mut moved, mut renamed, mut skipped, mut missing) = (0, Vec::new(), Vec::new(), Vec::new());
    for id in &secrets {
        let Some(s) = tables.find(app.catalog, SECRET, id).cloned() else {
            missing.push(id.clone());
            continue;
        };
        let mut title = text(&s["Title"]);
        let taken = |t: &Tables, title: &str| {
            t.rows(SECRET)
                .iter()
                .any(|x| same(&x["FolderId"], &destination) && same(&x["Title"], title) && !same(&x["Id"], id))
        };
        if taken(&tables, &title) {
            match action.as_str() {
                "stop" => {
                    return reply::message(StatusCode::CONFLICT, &format!("A secret titled '{title}' already exists."));
                }
                "skip" => {
                    skipped.push(id.clone());
                    continue;
                }
                _ => {
                    let mut n = 1;
                    while taken(&tables, &format!("{title} ({n})")) {
                        n += 1;
                    }
                    title = format!("{title} ({n})");
                    renamed.push(id.clone());
                }
            }
        }
        if let Some(Value::Object(row)) = tables.find_mut(app.catalog, SECRET, id) {
            row.insert("FolderId".into(), Value::from(destination.clone()));
            row.insert("Title".into(), Value::from(title));
            moved += 1;
        }
    }
    let result = json!({
        "Errors": [], "DestinationFolderId": destination, "SecretsCount": secrets.len(), "SharesCount": shares.len(),
        "SecretsMovedCount": moved, "SharesMovedCount": 0, "SecretsRenamed": renamed, "SecretsSkipped": skipped,
        "SecretsFailedValidation": [], "SecretsNotFound": missing, "SharesFailedValidation": [], "SharesNotFound": shares,
        "SharesNotMovedToDifferentSafe": [], "SharesRemoved": [],
    });
    reply::ok(&result)
}

/// `Secrets-Safe/Secrets/{id}/Shares`: `GET` the folders a secret is shared into, `POST .../{folderId}`
/// shares it, `DELETE .../{folderId}` unshares it, `DELETE` unshares it everywhere.
pub(crate) fn shares(app: &App, call: &Call) -> Response {
    let method = call.doc.map(|d| d.method.as_str()).unwrap_or_default();
    let mut tables = app.store();
    let Some(secret) = tables.find(app.catalog, SECRET, call.param(0)).cloned() else {
        return reply::not_found("Secret");
    };
    let id = text(&secret["Id"]);
    let link = shares_link();
    match (method, call.params.get(1)) {
        ("GET", _) => {
            let rows: Vec<Value> = tables
                .pairs(&link)
                .iter()
                .filter(|(s, _)| *s == id)
                .map(|(_, f)| json!({ "SecretId": id, "FolderId": f, "FolderPath": folder_path(&tables, f).unwrap_or_default(), "SecretName": secret["Title"] }))
                .collect();
            reply::ok(&Value::Array(rows))
        }
        ("POST", Some(folder)) => {
            let Some(f) = tables.find(app.catalog, FOLDER, folder) else { return reply::not_found("Folder") };
            let f = text(&f["Id"]);
            if same(&secret["FolderId"], &f) || tables.pairs(&link).contains(&(id.clone(), f.clone())) {
                return reply::message(StatusCode::CONFLICT, "The secret is already in that folder.");
            }
            tables.pairs_mut(&link).push((id.clone(), f.clone()));
            reply::json(
                StatusCode::CREATED,
                &json!({ "SecretId": id, "FolderId": f, "FolderPath": folder_path(&tables, &f).unwrap_or_default(), "SecretName": secret["Title"] }),
            )
        }
        ("DELETE", Some(folder)) => {
            let pairs = tables.pairs_mut(&link);
            let before = pairs.len();
            pairs.retain(|(s, f)| !(*s == id && same(&Value::from(f.as_str()), folder)));
            if pairs.len() == before {
                return reply::not_found("Share");
            }
            reply::empty(StatusCode::NO_CONTENT)
        }
        ("DELETE", None) => {
            tables.pairs_mut(&link).retain(|(s, _)| *s != id);
            reply::empty(StatusCode::NO_CONTENT)
        }
        _ => reply::no_route(),
    }
}

// ---------------------------------------------------------------------------------------------
// Folders

pub(crate) fn list_folders(app: &App, call: &Call) -> Response {
    let Some(doc) = call.doc else { return reply::no_route() };
    let q = &call.query;
    let flag = |name: &str| -> Result<Option<bool>, Refusal> {
        // The deviation accepts only the lower-case spellings, refusing Python's `True`.
        if app.has(Fault::FoldersBoolCaseSensitive)
            && let Some(v) = q.text(name)
            && v != "true"
            && v != "false"
        {
            return Err(Refusal::bad_value(v, name));
        }
        q.bool(name)
    };
    let (include_subfolders, root_only) = match (flag("includeSubfolders"), flag("rootOnly")) {
        (Ok(i), Ok(r)) => (i.unwrap_or(true), r.unwrap_or(false)),
        (Err(refusal), _) | (_, Err(refusal)) => return refusal.into(),
    };
    if let Err(refusal) = q.paging() {
        return refusal.into();
    }
    let separator = q.get("separator").filter(|s| !s.is_empty()).unwrap_or("/");
    let base = q.text("folderPath").map(|p| p.split(separator).filter(|s| !s.is_empty()).collect::<Vec<_>>().join("/"));
    let tables = app.store();
    let rows: Vec<Value> = tables
        .rows(FOLDER)
        .iter()
        .filter(|f| !root_only || f["ParentId"] == NO_GUID)
        // `folderName` matches a part of the name.
        .filter(|f| {
            q.text("folderName")
                .is_none_or(|n| f["Name"].as_str().is_some_and(|name| name.to_lowercase().contains(&n.to_lowercase())))
        })
        // `folderPath` selects that folder and its children: all descendants with
        // includeSubfolders (the default), the direct children only without.
        .filter(|f| {
            base.as_deref().is_none_or(|b| {
                let lower = folder_path(&tables, &text(&f["Id"])).unwrap_or_default().to_lowercase();
                let b = b.to_lowercase();
                let below = lower.strip_prefix(&format!("{b}/"));
                lower == b || below.is_some_and(|rest| include_subfolders || !rest.contains('/'))
            })
        })
        .filter(|f| {
            q.text("folderOwnerId").is_none_or(|o| safe_of(&tables, f).is_some_and(|s| s.eq_ignore_ascii_case(o)))
        })
        .cloned()
        .collect();
    drop(tables);
    list_answer(app, call, doc, &FOLDER.model(), rows)
}

/// The safe (root folder) a folder belongs to.
fn safe_of(tables: &Tables, folder: &Value) -> Option<String> {
    let mut current = folder.clone();
    for _ in 0..=tables.rows(FOLDER).len() {
        if current["ParentId"] == NO_GUID {
            return Some(text(&current["Id"]));
        }
        let parent = text(&current["ParentId"]);
        current = tables.rows(FOLDER).iter().find(|f| same(&f["Id"], &parent))?.clone();
    }
    None
}

/// `GET Secrets-Safe/Folders/{folderId}/Secrets`: the folder's secrets as the secret list shows
/// them (folder, path and owners), without their values.
pub(crate) fn folder_secrets(app: &App, call: &Call) -> Response {
    let minor = minor_version(app.profile, call);
    let tables = app.store();
    let Some(folder) = tables.find(app.catalog, FOLDER, call.param(0)) else { return reply::not_found("Folder") };
    let id = text(&folder["Id"]);
    let rows: Vec<Value> = tables
        .rows(SECRET)
        .iter()
        .filter(|s| same(&s["FolderId"], &id))
        .map(|s| list_model(app, &tables, s, minor, false))
        .collect();
    reply::ok(&Value::Array(rows))
}

/// `GET Secrets-Safe/Folders/{folderId}/Text` and `/File`, which a client library declares but
/// no page describes: the folder's text (or file) secrets, in their models.
pub(crate) fn folder_secrets_by_type(app: &App, call: &Call) -> Response {
    let kind = route_kind(call);
    let tables = app.store();
    let Some(folder) = tables.find(app.catalog, FOLDER, call.param(0)) else { return reply::not_found("Folder") };
    let id = text(&folder["Id"]);
    let rows: Vec<Value> = tables
        .rows(SECRET)
        .iter()
        .filter(|s| same(&s["FolderId"], &id) && s["SecretType"] == kind)
        .filter_map(|s| secret_view(app, &tables, call, s, kind))
        .collect();
    reply::ok(&Value::Array(rows))
}

/// `PUT Secrets-Safe/Folders/{folderId}/Move`: under another folder, with what to do about a
/// name taken there.
pub(crate) fn move_folder(app: &App, call: &Call) -> Response {
    let body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let destination = get_ci(&body, "DestinationFolderId").map(text).unwrap_or_default();
    let action = get_ci(&body, "DuplicateNameAction").map(text).unwrap_or_default().to_ascii_lowercase();
    let mut tables = app.store();
    let Some(folder) = tables.find(app.catalog, FOLDER, call.param(0)).cloned() else {
        return reply::not_found("Folder");
    };
    if tables.find(app.catalog, FOLDER, &destination).is_none() {
        return reply::not_found("Folder");
    }
    let id = text(&folder["Id"]);
    // A folder cannot move into itself or below itself.
    if folder_path(&tables, &destination).is_some_and(|d| {
        let own = folder_path(&tables, &id).unwrap_or_default();
        d == own || d.starts_with(&format!("{own}/"))
    }) {
        return reply::message(StatusCode::BAD_REQUEST, "A folder cannot move below itself.");
    }
    let old_name = text(&folder["Name"]);
    let mut name = old_name.clone();
    let taken =
        |t: &Tables, n: &str| t.rows(FOLDER).iter().any(|f| same(&f["ParentId"], &destination) && same(&f["Name"], n));
    if taken(&tables, &name) {
        match action.as_str() {
            "rename" => {
                let mut n = 1;
                while taken(&tables, &format!("{old_name} ({n})")) {
                    n += 1;
                }
                name = format!("{old_name} ({n})");
            }
            _ => {
                return reply::message(StatusCode::CONFLICT, &format!("A folder named '{name}' already exists there."));
            }
        }
    }
    let old_parent = folder["ParentId"].clone();
    if let Some(Value::Object(f)) = tables.find_mut(app.catalog, FOLDER, &id) {
        f.insert("ParentId".into(), Value::from(destination.clone()));
        f.insert("Name".into(), Value::from(name.clone()));
    }
    let secrets = tables.rows(SECRET).iter().filter(|s| same(&s["FolderId"], &id)).count();
    reply::ok(&json!({ "FolderId": id, "ParentId": destination, "OldParentId": old_parent, "FolderCount": 1,
        "SecretCount": secrets, "ShareCount": 0, "NewFolderName": name, "OldFolderName": old_name }))
}

/// `POST Secrets-Safe/Folders/{folderId}/Upload`: a CSV of credential secrets imported into a
/// folder. The CSV is the multipart body's file part (the page's `form-data`), or the whole
/// body when it is not multipart; its header row names the columns (`name` or `title`,
/// `username`, `password`, `url`, `description`, `notes`, in any order and case). A line
/// without a title or a password, or whose title is taken, is reported as an error.
pub(crate) fn import_folder(app: &App, call: &Call) -> Response {
    let csv = match upload_csv(call) {
        Ok(c) => c,
        Err(r) => return r.into(),
    };
    let mut tables = app.store();
    let Some(folder) = tables.find(app.catalog, FOLDER, call.param(0)).cloned() else {
        return reply::not_found("Folder");
    };
    let folder_id = text(&folder["Id"]);
    let mut lines = csv.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let header: Vec<String> =
        lines.next().map(|(_, h)| h.split(',').map(|c| c.trim().to_ascii_lowercase()).collect()).unwrap_or_default();
    let column = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let (title_at, user_at, password_at) = (column(&["name", "title"]), column(&["username"]), column(&["password"]));
    let (url_at, description_at, notes_at) = (column(&["url"]), column(&["description"]), column(&["notes"]));
    let (mut total, mut ok, mut errors) = (0, 0, Vec::new());
    for (n, line) in lines {
        total += 1;
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let at = |i: Option<usize>| i.and_then(|i| cols.get(i).copied()).unwrap_or("");
        let line_number = n + 1;
        let (title, password) = (at(title_at), at(password_at));
        if title.is_empty() || password.is_empty() {
            errors.push(json!({ "lineNumber": line_number, "error": "a line needs a name and a password" }));
            continue;
        }
        if tables.rows(SECRET).iter().any(|s| same(&s["FolderId"], &folder_id) && same(&s["Title"], title)) {
            errors.push(json!({ "lineNumber": line_number, "error": "the title is taken" }));
            continue;
        }
        let id = uuid::Uuid::new_v4().to_string();
        let urls = match at(url_at) {
            "" => json!([]),
            url => json!([{ "Id": uuid::Uuid::new_v4().to_string(), "CredentialId": id, "Url": url }]),
        };
        let now = fill::now();
        let row = json!({ "Id": id, "Title": title, "Username": at(user_at), "Description": at(description_at),
            "FolderId": folder_id, "SecretType": "Credential", "FileName": "", "FileHash": "", "Notes": at(notes_at),
            "Urls": urls, "CreatedOn": now, "ModifiedOn": now, "CreatedBy": OWNER, "ModifiedBy": OWNER });
        let row = fill::fit(&app.catalog.models, &SECRET.model(), row, Fit::answer(false), &[], None, 1);
        if tables.insert(app.catalog, &SECRET.key(), row).is_none() {
            errors.push(json!({ "lineNumber": line_number, "error": "the simulator holds no more secrets" }));
            continue;
        }
        tables.hidden_mut(SECRET, &id).insert("Value".into(), Value::from(password));
        ok += 1;
    }
    reply::json(StatusCode::CREATED, &json!({ "totalNumber": total, "errors": errors, "successfulImport": ok }))
}

/// The CSV an upload carries: its multipart file part, or the whole body.
fn upload_csv(call: &Call) -> Result<String, Refusal> {
    let Some(parts) = multipart(call)? else {
        return Ok(String::from_utf8_lossy(call.body.as_deref().unwrap_or_default()).into_owned());
    };
    parts
        .into_iter()
        .find(|(head, _)| is_file_part(&disposition_value(head, "name").unwrap_or_default(), head))
        .map(|(_, content)| String::from_utf8_lossy(&content).into_owned())
        .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, "The multipart body has no file part."))
}

// ---------------------------------------------------------------------------------------------
// Safes: root folders

fn safe_model(f: &Value) -> Value {
    json!({ "Id": f["Id"], "Name": f["Name"], "Description": f["Description"] })
}

fn find_safe<'t>(app: &App, tables: &'t Tables, id: &str) -> Option<&'t Value> {
    tables.find(app.catalog, FOLDER, id).filter(|f| f["ParentId"] == NO_GUID)
}

pub(crate) fn list_safes(app: &App, _call: &Call) -> Response {
    let tables = app.store();
    let safes: Vec<Value> = tables.rows(FOLDER).iter().filter(|f| f["ParentId"] == NO_GUID).map(safe_model).collect();
    reply::ok(&Value::Array(safes))
}

pub(crate) fn view_safe(app: &App, call: &Call) -> Response {
    match find_safe(app, &app.store(), call.param(0)) {
        Some(f) => reply::ok(&safe_model(f)),
        None => reply::not_found("Safe"),
    }
}

fn safe_body(app: &App, call: &Call) -> Result<(String, String), Refusal> {
    let body = body_object(call)?;
    if let Some(missing) = call.doc.and_then(|doc| missing_required(app.catalog, doc, &body)) {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, &format!("The {missing} field is required.")));
    }
    let name = get_ci(&body, "Name").map(text).unwrap_or_default();
    let description = get_ci(&body, "Description").filter(|d| !d.is_null()).map(text).unwrap_or_default();
    Ok((name, description))
}

pub(crate) fn create_safe(app: &App, call: &Call) -> Response {
    let (name, description) = match safe_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let mut tables = app.store();
    if tables.rows(FOLDER).iter().any(|f| f["ParentId"] == NO_GUID && same(&f["Name"], &name)) {
        return reply::message(StatusCode::CONFLICT, &format!("A safe named '{name}' already exists."));
    }
    let row = json!({ "Id": uuid::Uuid::new_v4().to_string(), "Name": name, "Description": description,
        "ParentId": NO_GUID, "UserGroupId": 0, "UserId": OWNER_ID, "IsFavorite": false });
    match tables.insert(app.catalog, &FOLDER.key(), row) {
        Some(row) => reply::json(StatusCode::CREATED, &safe_model(&row)),
        None => reply::message(StatusCode::BAD_REQUEST, "The simulator holds no more safes."),
    }
}

pub(crate) fn update_safe(app: &App, call: &Call) -> Response {
    let (name, description) = match safe_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let mut tables = app.store();
    let Some(id) = find_safe(app, &tables, call.param(0)).map(|f| text(&f["Id"])) else {
        return reply::not_found("Safe");
    };
    if tables.rows(FOLDER).iter().any(|f| f["ParentId"] == NO_GUID && same(&f["Name"], &name) && !same(&f["Id"], &id)) {
        return reply::message(StatusCode::CONFLICT, &format!("A safe named '{name}' already exists."));
    }
    if let Some(Value::Object(f)) = tables.find_mut(app.catalog, FOLDER, &id) {
        f.insert("Name".into(), Value::from(name));
        f.insert("Description".into(), Value::from(description));
    }
    reply::empty(StatusCode::NO_CONTENT)
}

pub(crate) fn delete_safe(app: &App, call: &Call) -> Response {
    let mut tables = app.store();
    let Some(id) = find_safe(app, &tables, call.param(0)).map(|f| f["Id"].clone()) else {
        return reply::not_found("Safe");
    };
    let holds = tables.rows(FOLDER).iter().any(|f| f["ParentId"] == id)
        || tables.rows(SECRET).iter().any(|s| s["FolderId"] == id);
    if holds {
        return reply::message(StatusCode::CONFLICT, "The safe is not empty and cannot be deleted.");
    }
    tables.remove(app.catalog, &FOLDER.key(), &id);
    reply::empty(StatusCode::NO_CONTENT)
}

/// `Secrets-Safe/Safes/{safeId}/Safe-Permissions`: `GET` the grants on a safe (the owner's
/// first), `PUT` grants a principal (replacing its grant), `DELETE` revokes one.
pub(crate) fn safe_permissions(app: &App, call: &Call) -> Response {
    let method = call.doc.map(|d| d.method.as_str()).unwrap_or_default();
    let mut tables = app.store();
    let Some(id) = find_safe(app, &tables, call.param(0)).map(|f| text(&f["Id"])) else {
        return reply::not_found("Safe");
    };
    let flags = if app.data.sparse() { Value::Null } else { json!(["Read", "Write", "Manage"]) };
    let owner = json!({ "PrincipalType": 0, "PrincipalID": OWNER_ID, "PermissionFlags": flags, "ExpiresOn": null });
    let grants = tables.hidden_mut(FOLDER, &id).entry("Permissions").or_insert_with(|| json!([owner])).clone();
    let mut grants: Vec<Value> = grants.as_array().cloned().unwrap_or_default();
    if method == "GET" {
        let m = ModelRef { area: Some("safe-permissions".into()), name: "SafePermission".into() };
        let out: Vec<Value> = grants
            .iter()
            .map(|g| fill::fit(&app.catalog.models, &m, g.clone(), Fit::answer(app.data.sparse()), &[], None, 1))
            .collect();
        return reply::ok(&Value::Array(out));
    }
    let body = match documented_body(app, call) {
        Ok(b) => b,
        Err(r) => return r.into(),
    };
    let principal = |g: &Value| (g["PrincipalType"].as_i64(), g["PrincipalID"].as_i64());
    let wanted =
        (get_ci(&body, "PrincipalType").and_then(Value::as_i64), get_ci(&body, "PrincipalID").and_then(Value::as_i64));
    if method == "PUT" {
        grants.retain(|g| principal(g) != wanted);
        grants.push(json!({ "PrincipalType": wanted.0, "PrincipalID": wanted.1,
            "PermissionFlags": get_ci(&body, "PermissionFlags").cloned().unwrap_or(Value::Null),
            "ExpiresOn": get_ci(&body, "ExpiresOn").cloned().unwrap_or(Value::Null) }));
    } else {
        let before = grants.len();
        grants.retain(|g| principal(g) != wanted);
        if grants.len() == before {
            return reply::not_found("Safe permission");
        }
    }
    tables.hidden_mut(FOLDER, &id).insert("Permissions".into(), Value::Array(grants));
    reply::empty(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert!(is_date("2024-12-10T08:57:45Z"));
        assert!(is_date("2024-12-10T08:57:45.9"));
        assert!(!is_date("2024-12-10"));
        assert!(!is_date("yesterday at noon, more or less"));
    }

    #[test]
    fn multipart_bodies_read_as_the_clients_send_them() {
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\"secretmetadata\"\r\nContent-Type: application/json\r\n\r\n{\"Title\":\"t\"}\r\n--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pem\"\r\n\r\nCONTENT\r\n--xyz--\r\n";
        let parts = multipart_parts(body, "xyz");
        assert_eq!(parts.len(), 2);
        assert_eq!(disposition_value(&parts[0].0, "name").as_deref(), Some("secretmetadata"));
        assert_eq!(parts[0].1, b"{\"Title\":\"t\"}");
        assert_eq!(disposition_value(&parts[1].0, "filename").as_deref(), Some("a.pem"));
        assert_eq!(parts[1].1, b"CONTENT");
    }

    use crate::simulator::data::DataVariant;
    use crate::simulator::testing::Client;

    const TEXT_SECRET: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";

    #[tokio::test]
    async fn a_text_secret_by_id_carries_its_value_in_password() {
        let me = Client::new(DataVariant::Standard).await;
        let (status, secret) = me.json("GET", &format!("Secrets-Safe/Secrets/{TEXT_SECRET}"), None).await;
        assert_eq!(status, 200);
        let (_, text) = me.json("GET", &format!("Secrets-Safe/Secrets/{TEXT_SECRET}/Text"), None).await;
        assert!(secret["Password"].is_string() && secret["Password"] == text["Text"], "{secret} {text}");
        assert_eq!(secret["Username"], "", "a string, as the model says, never null");
    }

    #[tokio::test]
    async fn secrets_are_created_updated_moved_shared_and_deleted() {
        let me = Client::new(DataVariant::Standard).await;
        let folder = crate::simulator::seed::folder_by_path(&me.app.store(), "psconform/demo").expect("demo folder");
        let nested = crate::simulator::seed::folder_by_path(&me.app.store(), "psconform/demo/nested").expect("nested");
        let create = json!({"Title": "psconform-new", "Username": "u", "Password": "p4ss", "Notes": null});
        let (status, made) =
            me.json("POST", &format!("Secrets-Safe/Folders/{folder}/Secrets"), Some(create.clone())).await;
        assert_eq!(status, 201, "{made}");
        let id = made["Id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(made["Password"], "p4ss");
        assert_eq!(
            me.json("POST", &format!("Secrets-Safe/Folders/{folder}/Secrets"), Some(create)).await.0,
            409,
            "a taken title"
        );
        assert_eq!(
            me.json("POST", &format!("Secrets-Safe/Folders/{folder}/Secrets"), Some(json!({"Title": "t"}))).await.0,
            400,
            "no Username"
        );
        assert_eq!(
            me.json(
                "POST",
                "Secrets-Safe/Folders/00000000-0000-4000-8000-000000000001/Secrets",
                Some(json!({"Title": "t", "Username": "u"}))
            )
            .await
            .0,
            404
        );
        let update = json!({"Title": "psconform-renamed", "Username": "u2", "Password": "n3w"});
        assert_eq!(me.json("PUT", &format!("Secrets-Safe/Secrets/{id}"), Some(update)).await.0, 204);
        let (_, read) = me.json("GET", &format!("Secrets-Safe/Secrets/{id}"), None).await;
        assert_eq!((read["Title"].clone(), read["Password"].clone()), (json!("psconform-renamed"), json!("n3w")));
        let by_path = me
            .json("GET", "Secrets-Safe/Secrets?path=psconform/demo&title=psconform-renamed&decrypt=true", None)
            .await
            .1;
        assert_eq!(by_path[0]["Password"], "n3w");

        let mv =
            json!({"SecretIds": [id], "ShareIds": [], "DestinationFolderId": nested, "DuplicateNameAction": "Rename"});
        let (status, moved) = me.json("PUT", "Secrets-Safe/Secrets/Move", Some(mv)).await;
        assert_eq!((status, moved["SecretsMovedCount"].clone()), (200, json!(1)), "{moved}");
        assert_eq!(me.json("GET", &format!("Secrets-Safe/Secrets/{id}"), None).await.1["FolderId"], nested.as_str());
        assert_eq!(me.json("POST", &format!("Secrets-Safe/Secrets/{id}/Shares/{folder}"), None).await.0, 201);
        let (_, shares) = me.json("GET", &format!("Secrets-Safe/Secrets/{id}/Shares"), None).await;
        assert!(shares.as_array().is_some_and(|s| s.iter().any(|x| x["FolderId"] == folder.as_str())), "{shares}");
        assert_eq!(me.json("DELETE", &format!("Secrets-Safe/Secrets/{id}/Shares"), None).await.0, 204);
        assert_eq!(me.json("GET", &format!("Secrets-Safe/Secrets/{id}/Shares"), None).await.1, json!([]));
        assert_eq!(
            me.json("PUT", &format!("Secrets-Safe/Secrets/{id}/Favorite"), Some(json!({"Favorite": true}))).await.0,
            204
        );
        assert_eq!(me.json("GET", &format!("Secrets-Safe/Secrets/{id}?version=3.1"), None).await.1["IsFavorite"], true);
        assert_eq!(me.json("DELETE", &format!("Secrets-Safe/Secrets/{id}"), None).await.0, 204);
        assert_eq!(me.json("GET", &format!("Secrets-Safe/Secrets/{id}"), None).await.0, 404);
    }

    #[tokio::test]
    async fn a_file_secret_is_created_from_a_multipart_form_and_downloaded() {
        let me = Client::new(DataVariant::Standard).await;
        let folder = crate::simulator::seed::folder_by_path(&me.app.store(), "psconform/demo").expect("demo folder");
        let form = b"--b\r\nContent-Disposition: form-data; name=\"secretmetadata\"\r\n\r\n{\"Title\":\"psconform-file\"}\r\n--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: application/octet-stream\r\n\r\nfile content\r\n--b--\r\n";
        let (status, made) = me
            .send_raw(
                "POST",
                &format!("Secrets-Safe/Folders/{folder}/Secrets/File"),
                form.to_vec(),
                "multipart/form-data; boundary=b",
            )
            .await;
        assert_eq!(status, 201, "{made}");
        assert_eq!((made["FileName"].clone(), made["Title"].clone()), (json!("a.txt"), json!("psconform-file")));
        let id = made["Id"].as_str().unwrap_or_default();
        let (status, _, content, media) =
            me.send("GET", &format!("Secrets-Safe/Secrets/{id}/File/Download"), None, None).await;
        assert_eq!(
            (status, content.as_str(), media.as_deref()),
            (200, "file content", Some("application/octet-stream"))
        );
    }

    #[tokio::test]
    async fn safes_are_root_folders_with_permissions() {
        let me = Client::new(DataVariant::Standard).await;
        let (status, safe) = me.json("POST", "Secrets-Safe/Safes", Some(json!({"Name": "psconform-safe"}))).await;
        assert_eq!(status, 201, "{safe}");
        let id = safe["Id"].as_str().unwrap_or_default().to_owned();
        assert_eq!(me.json("POST", "Secrets-Safe/Safes", Some(json!({"Name": "PSCONFORM-SAFE"}))).await.0, 409);
        assert_eq!(me.json("GET", &format!("Secrets-Safe/Folders/{id}"), None).await.1["ParentId"], NO_GUID);
        let grant = json!({"PrincipalType": 1, "PrincipalID": 2, "PermissionFlags": ["Read"]});
        assert_eq!(me.json("PUT", &format!("Secrets-Safe/Safes/{id}/Safe-Permissions"), Some(grant)).await.0, 204);
        let (_, grants) = me.json("GET", &format!("Secrets-Safe/Safes/{id}/Safe-Permissions"), None).await;
        assert!(grants.as_array().is_some_and(|g| g.iter().any(|x| x["PrincipalID"] == 2)), "{grants}");
        let revoke = json!({"PrincipalType": 1, "PrincipalID": 2});
        assert_eq!(
            me.json("DELETE", &format!("Secrets-Safe/Safes/{id}/Safe-Permissions"), Some(revoke.clone())).await.0,
            204
        );
        assert_eq!(me.json("DELETE", &format!("Secrets-Safe/Safes/{id}/Safe-Permissions"), Some(revoke)).await.0, 404);
        let (_, folder) = me.json("POST", "Secrets-Safe/Folders", Some(json!({"Name": "f", "ParentId": id}))).await;
        assert_eq!(
            me.json("DELETE", &format!("Secrets-Safe/Safes/{id}"), None).await.0,
            409,
            "a safe that holds a folder"
        );
        let folder_id = folder["Id"].as_str().unwrap_or_default();
        assert_eq!(me.json("DELETE", &format!("Secrets-Safe/Folders/{folder_id}"), None).await.0, 204);
        assert_eq!(me.json("DELETE", &format!("Secrets-Safe/Safes/{id}"), None).await.0, 204);
        assert_eq!(me.json("GET", &format!("Secrets-Safe/Safes/{id}"), None).await.0, 404);
    }
}
