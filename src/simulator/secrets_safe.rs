//! Secrets Safe (reference §3, §7.10 to §7.12): the secret list and lookup by `path`, `title`
//! and `separator` in the models 3.0 to 3.2, one secret by id with its `/text`, `/file` and
//! `/file/download` variants, folders with their filters, and safes. Owns the fixture safes,
//! folders and secrets (credentials, a text and a file secret in nested folders) and their
//! random values.

use axum::body::Body;
use axum::http::header::{self, HeaderValue};
use axum::response::Response;
use rand::Rng as _;
use serde_json::{Map, Value, json};

use super::app::App;
use super::call::Call;
use super::config::random_alphanumeric;
use super::data::DataVariant;
use super::fault::Fault;
use super::profile::Profile;
use super::reply::{self, Refusal};
use crate::settings::Settings;

/// The owner of every fixture secret and folder.
const OWNER: &str = "psconform-demo";
const OWNER_ID: i64 = 7;

/// What kind of value a secret holds (`SecretType`, reference §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretKind {
    Credential,
    Text,
    File,
}

impl SecretKind {
    fn name(self) -> &'static str {
        match self {
            SecretKind::Credential => "Credential",
            SecretKind::Text => "Text",
            SecretKind::File => "File",
        }
    }
}

/// A folder; a folder without parent is a safe (the 24.3+ name for a root folder).
#[derive(Debug, Clone)]
pub(crate) struct Folder {
    pub id: String,
    pub name: String,
    pub parent: Option<String>,
    pub description: String,
    /// The `/`-joined names from the safe down to this folder.
    pub path: String,
}

/// A secret and its value.
#[derive(Debug, Clone)]
pub(crate) struct Secret {
    pub id: String,
    pub title: String,
    pub kind: SecretKind,
    pub folder_id: String,
    pub description: Option<String>,
    pub username: Option<String>,
    /// The password, the text, or the file's content.
    pub value: String,
    pub file_name: Option<String>,
    pub file_hash: Option<String>,
    pub notes: String,
    pub url: Option<String>,
    pub modified_on: &'static str,
}

/// The safes, folders and secrets of one simulator.
#[derive(Debug)]
pub(crate) struct Data {
    pub folders: Vec<Folder>,
    pub secrets: Vec<Secret>,
}

impl Data {
    /// The fixtures: safe `psconform` with folder `demo` (two credentials, one of them
    /// `DEMO_SECRET`) and its subfolder `nested` (a text and a file secret), and a second safe;
    /// plus the secret `PS_SECRET` names when it is not one of them. Values are drawn fresh.
    pub(crate) fn build(variant: DataVariant, settings: &Settings) -> Data {
        let mut rng = rand::rng();
        let mut data = Data { folders: Vec::new(), secrets: Vec::new() };
        let second_safe = if variant.sparse() { "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9" } else { "team-vault" };
        for path in ["psconform/demo/nested", second_safe] {
            data.ensure_folders(path, variant);
        }
        let demo = data.folder_id("psconform/demo").unwrap_or_default();
        let nested = data.folder_id("psconform/demo/nested").unwrap_or_default();
        let password = random_alphanumeric(&mut rng, 24);
        let credential = |id: &str, title: &str, user: &str, password: String| Secret {
            id: id.into(),
            title: title.into(),
            kind: SecretKind::Credential,
            folder_id: demo.clone(),
            description: variant.text(&format!("Demo credential {title}")),
            username: Some(user.into()),
            value: password,
            file_name: None,
            file_hash: None,
            notes: variant.or_empty("Rotated by the demo pipeline"),
            url: None,
            modified_on: "2024-12-12T10:24:26.323Z",
        };
        data.secrets.push(Secret {
            url: (!variant.sparse()).then(|| "https://db.example.com".to_owned()),
            ..credential("6f1d0c3a-2b4e-4c8d-9a1f-3e5b7c9d1a20", "demo-database", "svc-database", password.clone())
        });
        data.secrets.push(credential("0b9e8d7c-6a5f-4e3d-8c2b-1a0f9e8d7c6b", "demo-webserver", "svc-web", password));
        data.secrets.push(Secret {
            id: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d".into(),
            title: "demo-note".into(),
            kind: SecretKind::Text,
            folder_id: nested.clone(),
            description: None,
            username: None,
            value: random_alphanumeric(&mut rng, 32),
            file_name: None,
            file_hash: None,
            notes: String::new(),
            url: None,
            modified_on: "2024-12-10T08:57:45.9",
        });
        let content =
            format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", random_alphanumeric(&mut rng, 64));
        let hash: String = (0..32).map(|_| format!("{:02X}", rng.random::<u8>())).collect();
        data.secrets.push(Secret {
            id: "3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f".into(),
            title: "demo-certificate".into(),
            kind: SecretKind::File,
            folder_id: nested,
            description: variant.text("Demo certificate file"),
            username: None,
            value: content,
            file_name: Some("demo-certificate.pem".into()),
            file_hash: Some(hash),
            notes: String::new(),
            url: None,
            modified_on: "2024-12-12T10:24:26.323Z",
        });
        if let Some((folder, title)) = settings.secret_path.as_deref().and_then(|p| p.rsplit_once('/')) {
            data.ensure_secret(folder, title, variant);
        }
        data
    }

    /// Creates every folder of `path` that does not exist yet.
    fn ensure_folders(&mut self, path: &str, variant: DataVariant) -> String {
        let mut parent: Option<String> = None;
        let mut so_far = String::new();
        for name in path.split('/').filter(|n| !n.is_empty()) {
            if !so_far.is_empty() {
                so_far.push('/');
            }
            so_far.push_str(name);
            let id = match self.folder_id(&so_far) {
                Some(id) => id,
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    let description = if parent.is_none() { "Safe" } else { "Folder" };
                    self.folders.push(Folder {
                        id: id.clone(),
                        name: name.to_owned(),
                        parent: parent.clone(),
                        description: variant.or_empty(&format!("{description} {name}")),
                        path: so_far.clone(),
                    });
                    id
                }
            };
            parent = Some(id);
        }
        parent.unwrap_or_default()
    }

    /// Adds a credential secret `title` in `folder` unless one exists.
    fn ensure_secret(&mut self, folder: &str, title: &str, variant: DataVariant) {
        let folder_id = self.ensure_folders(folder, variant);
        if self.secrets.iter().any(|s| s.folder_id == folder_id && s.title.eq_ignore_ascii_case(title)) {
            return;
        }
        self.secrets.push(Secret {
            id: uuid::Uuid::new_v4().to_string(),
            title: title.to_owned(),
            kind: SecretKind::Credential,
            folder_id,
            description: variant.text("Secret named by PS_SECRET"),
            username: Some("psconform".into()),
            value: random_alphanumeric(&mut rand::rng(), 24),
            file_name: None,
            file_hash: None,
            notes: String::new(),
            url: None,
            modified_on: "2024-12-12T10:24:26.323Z",
        });
    }

    fn folder_id(&self, path: &str) -> Option<String> {
        self.folders.iter().find(|f| f.path.eq_ignore_ascii_case(path)).map(|f| f.id.clone())
    }

    fn folder(&self, id: &str) -> Option<&Folder> {
        self.folders.iter().find(|f| f.id.eq_ignore_ascii_case(id))
    }

    fn secret(&self, id: &str) -> Option<&Secret> {
        self.secrets.iter().find(|s| s.id.eq_ignore_ascii_case(id.trim_matches(|c| c == '{' || c == '}')))
    }

    /// The safe a folder belongs to.
    fn safe_of(&self, folder: &Folder) -> String {
        let root = folder.path.split('/').next().unwrap_or_default();
        self.folder_id(root).unwrap_or_default()
    }
}

/// The model version a request asks for (reference §4): 0, 1 or 2 for 3.0 to 3.2. A version the
/// release does not know is answered as 3.0 (reference §8.11 leaves this open; falling back is
/// what the official clients would survive).
fn minor_version(profile: Profile, call: &Call) -> u8 {
    let minor = match call.query.text("version") {
        Some("3.1") => 1,
        Some("3.2") => 2,
        _ => 0,
    };
    if minor > profile.newest_secrets_version() { 0 } else { minor }
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
    let data = &app.secrets;
    let matching: Vec<Value> = data
        .secrets
        .iter()
        .filter(|s| {
            let folder = data.folder(&s.folder_id);
            path.as_deref().is_none_or(|p| folder.is_some_and(|f| f.path.eq_ignore_ascii_case(p)))
        })
        // The title matches whole, not as a part (reference §3.1: exact title).
        .filter(|s| title.is_none_or(|t| s.title.eq_ignore_ascii_case(t)))
        .filter(|s| after.as_deref().is_none_or(|a| s.modified_on.get(..19).unwrap_or(s.modified_on) >= a))
        .map(|s| list_model(app, s, minor, decrypt))
        .collect();
    let total = matching.len();
    let page = paging.page(matching, 1000);
    // 3.0 and 3.1 answer a bare array, 3.2 wraps it (reference §3.1, §6.5).
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

/// The fields every secret model shares, in the model version asked for (reference §3.1:
/// 3.0 has the obsolete owner properties, 3.1 the Owners collection and IsFavorite, 3.2 adds
/// SecretValueModifiedOn).
fn common(app: &App, s: &Secret, minor: u8) -> Map<String, Value> {
    let folder = app.secrets.folder(&s.folder_id);
    let email = if app.data.sparse() { String::new() } else { format!("{OWNER}@example.com") };
    let mut m = Map::new();
    m.insert("Id".into(), json!(s.id));
    m.insert("Title".into(), json!(s.title));
    m.insert("Description".into(), json!(s.description));
    m.insert("FolderId".into(), json!(s.folder_id));
    m.insert("Folder".into(), json!(folder.map(|f| f.name.clone())));
    m.insert("FolderPath".into(), json!(folder.map(|f| f.path.clone())));
    m.insert("CreatedOn".into(), json!("2024-12-10T08:57:45.9"));
    m.insert("CreatedBy".into(), json!(OWNER));
    m.insert("ModifiedOn".into(), json!(s.modified_on));
    m.insert("ModifiedBy".into(), json!(OWNER));
    m.insert("Notes".into(), json!(s.notes));
    let urls = match &s.url {
        Some(url) => json!([{ "Id": "7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b", "CredentialId": s.id, "Url": url }]),
        None => json!([]),
    };
    m.insert("Urls".into(), urls);
    if minor == 0 {
        m.insert("OwnerId".into(), json!(OWNER_ID));
        m.insert("Owner".into(), json!(OWNER));
        m.insert("OwnerType".into(), json!("User"));
        m.insert("Owners".into(), json!([{ "OwnerId": OWNER_ID, "Owner": OWNER, "Email": email }]));
    } else {
        m.insert("Owners".into(), json!([{ "GroupId": null, "UserId": OWNER_ID, "Name": OWNER, "Email": email }]));
        m.insert("IsFavorite".into(), json!(false));
    }
    if minor == 2 {
        m.insert("SecretValueModifiedOn".into(), json!(s.modified_on));
    }
    m
}

/// The list model: every kind of secret, its value only when decrypted. Both official clients
/// read a text secret's value from `Password` (reference §3.1, §8.6), so a decrypted text
/// secret carries it in `Password` as well as in `Text`. A file's content is never inline.
fn list_model(app: &App, s: &Secret, minor: u8, decrypt: bool) -> Value {
    let mut m = common(app, s, minor);
    m.insert("Username".into(), json!(s.username));
    m.insert("FileName".into(), json!(s.file_name));
    m.insert("FileHash".into(), json!(s.file_hash));
    let text = (s.kind == SecretKind::Text && decrypt).then(|| s.value.clone());
    m.insert("Text".into(), json!(text));
    m.insert("SecretType".into(), json!(s.kind.name()));
    if decrypt && s.kind != SecretKind::File {
        m.insert("Password".into(), json!(s.value));
    }
    Value::Object(m)
}

// ---------------------------------------------------------------------------------------------
// GET Secrets-Safe/Secrets/{id} and its typed variants

pub(crate) fn get_secret(app: &App, call: &Call) -> Response {
    let Some(s) = app.secrets.secret(call.param(0)) else {
        return reply::not_found("Secret");
    };
    // The credential model (reference §3.2): the list model without FileName, FileHash, Text
    // and SecretType; the value is in Password for a credential, null for the other kinds.
    let mut m = common(app, s, minor_version(app.profile, call));
    m.insert("Username".into(), json!(s.username));
    let password = (s.kind == SecretKind::Credential).then(|| s.value.clone());
    m.insert("Password".into(), json!(password));
    reply::ok(&Value::Object(m))
}

pub(crate) fn get_text(app: &App, call: &Call) -> Response {
    let Some(s) = app.secrets.secret(call.param(0)).filter(|s| s.kind == SecretKind::Text) else {
        return reply::not_found("Text secret");
    };
    let mut m = common(app, s, minor_version(app.profile, call));
    m.insert("Text".into(), json!(s.value));
    reply::ok(&Value::Object(m))
}

pub(crate) fn get_file(app: &App, call: &Call) -> Response {
    let Some(s) = app.secrets.secret(call.param(0)).filter(|s| s.kind == SecretKind::File) else {
        return reply::not_found("File secret");
    };
    // Metadata only (reference §3.2): the content is the download's.
    let mut m = common(app, s, minor_version(app.profile, call));
    m.insert("FileName".into(), json!(s.file_name));
    m.insert("FileHash".into(), json!(s.file_hash));
    reply::ok(&Value::Object(m))
}

pub(crate) fn download_file(app: &App, call: &Call) -> Response {
    let Some(s) = app.secrets.secret(call.param(0)).filter(|s| s.kind == SecretKind::File) else {
        return reply::not_found("File secret");
    };
    if app.has(Fault::FileDownloadJson) {
        return reply::ok(&Value::from(s.value.clone()));
    }
    // The raw bytes (reference §3.4), with their length; axum sets Content-Length from the body.
    let mut response = Response::new(Body::from(s.value.clone().into_bytes()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    let name = s.file_name.clone().unwrap_or_else(|| "secret".into());
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename={name}")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    response
}

// ---------------------------------------------------------------------------------------------
// GET Secrets-Safe/Folders and Secrets-Safe/Safes

pub(crate) fn list_folders(app: &App, call: &Call) -> Response {
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
    let paging = match q.paging() {
        Ok(p) => p,
        Err(refusal) => return refusal.into(),
    };
    let data = &app.secrets;
    let base = q.text("folderPath").map(|p| p.trim_matches('/').to_owned());
    let matching: Vec<Value> = data
        .folders
        .iter()
        .filter(|f| !root_only || f.parent.is_none())
        // `folderName` matches a part of the name (reference §3.5).
        .filter(|f| q.text("folderName").is_none_or(|n| f.name.to_lowercase().contains(&n.to_lowercase())))
        // `folderPath` selects that folder and its children: all descendants with
        // includeSubfolders (the default), the direct children only without.
        .filter(|f| {
            base.as_deref().is_none_or(|b| {
                let lower = f.path.to_lowercase();
                let b = b.to_lowercase();
                let below = lower.strip_prefix(&format!("{b}/"));
                lower == b || below.is_some_and(|rest| include_subfolders || !rest.contains('/'))
            })
        })
        .filter(|f| q.text("folderOwnerId").is_none_or(|o| data.safe_of(f).eq_ignore_ascii_case(o)))
        .map(|f| folder_model(app, f))
        .collect();
    // A bare array, with or without `limit` (reference §8.10 leaves the wrapper open).
    reply::ok(&Value::Array(paging.page(matching, 1000)))
}

pub(crate) fn get_folder(app: &App, call: &Call) -> Response {
    match app.secrets.folder(call.param(0)) {
        Some(f) => reply::ok(&folder_model(app, f)),
        None => reply::not_found("Folder"),
    }
}

/// The folder model (reference §3.5).
fn folder_model(app: &App, f: &Folder) -> Value {
    json!({
        "Id": f.id,
        "Name": f.name,
        "Description": f.description,
        "ParentId": f.parent,
        "UserGroupId": Value::Null,
        "UserId": OWNER_ID,
        "FolderOwnerId": app.secrets.safe_of(f),
        "IsFavorite": false,
    })
}

pub(crate) fn list_safes(app: &App, _call: &Call) -> Response {
    let safes: Vec<Value> = app.secrets.folders.iter().filter(|f| f.parent.is_none()).map(safe_model).collect();
    reply::ok(&Value::Array(safes))
}

pub(crate) fn get_safe(app: &App, call: &Call) -> Response {
    match app.secrets.folder(call.param(0)).filter(|f| f.parent.is_none()) {
        Some(f) => reply::ok(&safe_model(f)),
        None => reply::not_found("Safe"),
    }
}

/// The safe model: `Id`, `Name`, `Description` (reference §3.5; the Python library's mapping).
fn safe_model(f: &Folder) -> Value {
    json!({ "Id": f.id, "Name": f.name, "Description": f.description })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_secret_and_nested_folders_exist_in_every_variant() {
        for variant in DataVariant::ALL {
            let data = Data::build(*variant, &Settings::default());
            let (folder, title) = crate::simulator::DEMO_SECRET.rsplit_once('/').expect("folder/title");
            let id = data.folder_id(folder).expect("demo folder");
            assert!(data.secrets.iter().any(|s| s.folder_id == id && s.title == title), "{variant}");
            assert!(data.folder_id("psconform/demo/nested").is_some());
            assert_eq!(data.folders.iter().filter(|f| f.parent.is_none()).count(), 2, "two safes");
            let kinds: Vec<SecretKind> = data.secrets.iter().map(|s| s.kind).collect();
            assert!(kinds.contains(&SecretKind::Text) && kinds.contains(&SecretKind::File));
        }
    }

    #[test]
    fn the_configured_secret_gets_its_folders() {
        let settings = Settings { secret_path: Some("ops/prod/db/app-login".into()), ..Settings::default() };
        let data = Data::build(DataVariant::Standard, &settings);
        let id = data.folder_id("ops/prod/db").expect("created");
        assert!(data.secrets.iter().any(|s| s.folder_id == id && s.title == "app-login"));
        let prod = data.folder(&data.folder_id("ops/prod").expect("parent")).expect("folder");
        assert_eq!(prod.parent, data.folder_id("ops"));
    }

    #[test]
    fn dates() {
        assert!(is_date("2024-12-10T08:57:45Z"));
        assert!(is_date("2024-12-10T08:57:45.9"));
        assert!(!is_date("2024-12-10"));
        assert!(!is_date("yesterday at noon, more or less"));
    }
}
