//! The documented models, checked: every type parsed, every reference resolved, every endpoint
//! matched to the catalog. What `spec` reads becomes what the rest of psconform uses; a model
//! file that is wrong in any way is a list of diagnostics with `file:line:col`, never a model
//! that half-works.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::endpoints::{Endpoint, key};
use super::spec::{
    AreaSpec, BodySpec, ConditionSpec, Entries, FieldSpec, ModelKind, Optional, ParamSpec, QueryCondition,
    ResponseSpec, ResponsesSpec, SourceRefs, Spanned,
};
use super::types::{ModelRef, Term, TypeExpr};
use crate::case::Diagnostic;

/// What an endpoint does to the server, from least to most consequential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    /// Reads only.
    Read,
    /// Reads, but leaves an audit entry or a session, or reveals a credential's value.
    Audited,
    /// Creates, updates or deletes; the case's own teardown undoes it.
    Change,
    /// Releases a managed account's credential.
    Release,
    /// A change no teardown can undo.
    Irreversible,
}

impl Effect {
    /// Every effect, with its word.
    pub const ALL: &'static [(Effect, &'static str)] = &[
        (Effect::Read, "read"),
        (Effect::Audited, "audited"),
        (Effect::Change, "change"),
        (Effect::Release, "release"),
        (Effect::Irreversible, "irreversible"),
    ];

    /// The word a file uses.
    pub fn name(self) -> &'static str {
        Effect::ALL.iter().find(|(e, _)| *e == self).map_or("read", |(_, n)| n)
    }

    /// The effect a word names.
    pub fn parse(word: &str) -> Option<Effect> {
        Effect::ALL.iter().find(|(_, n)| *n == word).map(|(e, _)| *e)
    }

    /// The effect the generated catalog gives an endpoint (`read` or `change`), before a model
    /// file refines it.
    pub fn of_catalog(word: &str) -> Effect {
        if word == "read" { Effect::Read } else { Effect::Change }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A cited page or client file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// Its id in its file.
    pub id: String,
    /// Where it is.
    pub url: String,
    /// The release it documents.
    pub release: String,
    /// Its title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A comparison of model versions (`3.0`, `>=3.1`, `<3.2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionReq {
    op: VersionOp,
    version: (u32, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VersionOp {
    Eq,
    Ge,
    Gt,
    Le,
    Lt,
}

impl VersionReq {
    /// Parses `3.2`, `>=3.1`, `<3.2`, `=3.0`.
    pub fn parse(text: &str) -> Result<VersionReq, String> {
        let t = text.trim();
        let (op, rest) = [
            (">=", VersionOp::Ge),
            ("<=", VersionOp::Le),
            (">", VersionOp::Gt),
            ("<", VersionOp::Lt),
            ("=", VersionOp::Eq),
        ]
        .iter()
        .find_map(|(p, op)| t.strip_prefix(p).map(|r| (*op, r)))
        .unwrap_or((VersionOp::Eq, t));
        let version = parse_version(rest.trim())
            .ok_or_else(|| format!("`{text}` is not a model version: write 3.2, >=3.1 or <3.2"))?;
        Ok(VersionReq { op, version })
    }

    /// Whether a version (`3.1`) meets it.
    pub fn admits(&self, version: (u32, u32)) -> bool {
        match self.op {
            VersionOp::Eq => version == self.version,
            VersionOp::Ge => version >= self.version,
            VersionOp::Gt => version > self.version,
            VersionOp::Le => version <= self.version,
            VersionOp::Lt => version < self.version,
        }
    }
}

/// `3.1` as `(3, 1)`.
pub fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (a, b) = text.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

impl fmt::Display for VersionReq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = match self.op {
            VersionOp::Eq => "",
            VersionOp::Ge => ">=",
            VersionOp::Gt => ">",
            VersionOp::Le => "<=",
            VersionOp::Lt => "<",
        };
        write!(f, "{op}{}.{}", self.version.0, self.version.1)
    }
}

/// A condition on a request: every part must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Condition {
    /// Query parameters the request has.
    pub present: Vec<String>,
    /// Query parameters with the value they must have (compared ignoring case).
    pub values: Vec<(String, String)>,
    /// Query parameters the request lacks.
    pub absent: Vec<String>,
    /// The model version asked for.
    pub version: Option<VersionReq>,
}

/// What a condition is judged on: the request's query parameters and the model version.
#[derive(Debug, Clone, Default)]
pub struct RequestFacts {
    /// Query parameters, names as sent.
    pub query: Vec<(String, String)>,
}

impl RequestFacts {
    fn get(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The model version asked for (`version=`), `3.0` when absent or unreadable.
    pub fn version(&self) -> (u32, u32) {
        self.get("version").and_then(parse_version).unwrap_or((3, 0))
    }
}

impl Condition {
    /// Whether a request meets it.
    pub fn holds(&self, facts: &RequestFacts) -> bool {
        self.present.iter().all(|p| facts.get(p).is_some())
            && self.absent.iter().all(|p| facts.get(p).is_none())
            && self.values.iter().all(|(k, v)| facts.get(k).is_some_and(|got| got.eq_ignore_ascii_case(v)))
            && self.version.is_none_or(|r| r.admits(facts.version()))
    }

    /// The query parameters it names.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.present.iter().chain(&self.absent).chain(self.values.iter().map(|(k, _)| k)).map(String::as_str)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.present.iter().map(|p| format!("{p} given")).collect();
        parts.extend(self.values.iter().map(|(k, v)| format!("{k}={v}")));
        parts.extend(self.absent.iter().map(|p| format!("no {p}")));
        if let Some(v) = &self.version {
            parts.push(format!("version {v}"));
        }
        f.write_str(&parts.join(" and "))
    }
}

/// Whether a field is always there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    /// Always present (a request model's field: must be given).
    Required,
    /// May be absent; why, when the file says.
    Optional(Option<String>),
    /// Present only when the condition holds.
    When(Condition),
}

/// A field of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Its name, as the JSON spells it.
    pub name: String,
    /// Its type.
    pub ty: TypeExpr,
    /// Whether it is always there.
    pub presence: Presence,
    /// The model versions that carry it (all when `None`).
    pub versions: Option<VersionReq>,
    /// The product release that added it.
    pub since: Option<String>,
    /// An earlier name and the release that renamed it.
    pub renamed: Option<(String, String)>,
    /// Other spellings, each with the source that uses it.
    pub alternatives: Vec<(String, String)>,
    /// The source that shows `null` where the page does not say "can be null".
    pub nullable_by: Option<String>,
    /// The documented values.
    pub values: Vec<Value>,
    /// Carries a credential.
    pub secret: bool,
    /// A short phrase.
    pub description: Option<String>,
    /// Its sources, when not the model's.
    pub sources: Vec<String>,
    /// A value as the page shows it.
    pub example: Option<Value>,
    /// What a reader must know.
    pub note: Option<String>,
}

impl Field {
    /// Whether the field is part of a model version.
    pub fn in_version(&self, version: (u32, u32)) -> bool {
        self.versions.is_none_or(|r| r.admits(version))
    }
}

/// A model: an object with documented fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The area slug of its file.
    pub area: String,
    /// Its name.
    pub name: String,
    /// Response or request.
    pub kind: ModelKind,
    /// Its sources.
    pub sources: Vec<String>,
    /// Its fields, inherited ones first.
    pub fields: Vec<Field>,
    /// A sentence about it.
    pub description: Option<String>,
}

/// A body form.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// One object of a model.
    Object(ModelRef),
    /// An array of a model.
    Array(ModelRef),
    /// `{"TotalCount": integer, "Data": [M]}`.
    Paged(ModelRef),
    /// A bare JSON string.
    String,
    /// A bare JSON number (a new id, a sub-code).
    Integer,
    /// No body.
    Empty,
    /// Bytes, not JSON.
    Raw,
    /// Any JSON value.
    Any,
    /// A type expression.
    Type(TypeExpr),
}

impl Body {
    /// The media type the form has unless the file says otherwise.
    pub fn default_content_type(&self) -> Option<&'static str> {
        match self {
            Body::Empty => None,
            Body::Raw => Some("application/octet-stream"),
            _ => Some("application/json"),
        }
    }

    /// The model it answers, if any.
    pub fn model(&self) -> Option<&ModelRef> {
        match self {
            Body::Object(m) | Body::Array(m) | Body::Paged(m) => Some(m),
            _ => None,
        }
    }
}

/// One response form of a status.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseForm {
    /// When it applies (always when `None`).
    pub when: Option<Condition>,
    /// The body.
    pub body: Body,
    /// Its media type.
    pub content_type: Option<String>,
    /// What it means.
    pub description: Option<String>,
    /// The whole body is a credential.
    pub secret: bool,
}

/// How a query parameter pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Paging {
    /// How many records.
    Limit,
    /// How many to skip.
    Offset,
}

/// A documented query parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: TypeExpr,
    /// Its default.
    pub default: Option<Value>,
    /// The documented values.
    pub values: Vec<Value>,
    /// Must be given.
    pub required: bool,
    /// Whether it pages.
    pub paging: Option<Paging>,
    /// A short phrase.
    pub description: Option<String>,
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestBody {
    /// Its media type.
    pub content_type: String,
    /// Its form (a request model for inline fields).
    pub body: Option<Body>,
}

/// What the simulator does for an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeOp {
    /// Every record (filtered, paged).
    List,
    /// One record by id.
    Get,
    /// A new record.
    Create,
    /// A changed record.
    Update,
    /// A removed record.
    Delete,
    /// Links the route's two records.
    Link,
    /// Unlinks the route's records.
    Unlink,
    /// Code in the simulator, by name.
    Behaviour(String),
}

/// How the simulator answers an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Serve {
    /// What it does.
    pub op: ServeOp,
    /// The model of its records.
    pub model: Option<ModelRef>,
    /// The parent model whose id is a route parameter.
    pub parent: Option<ModelRef>,
    /// Query parameters that filter, each with the field it compares.
    pub filters: Vec<(String, String)>,
    /// Record fields a create's body gives under another name: (record field, body field). The
    /// record field takes the body field's value when the body does not give it by its own name.
    pub from: Vec<(String, String)>,
    /// Child models whose records a delete removes with the record (instead of refusing it).
    pub with: Vec<ModelRef>,
    /// The link a list follows, or that `Link`/`Unlink` change.
    pub link: Option<ModelRef>,
}

/// A relation between records of two resources that no field holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// One end.
    pub from: ModelRef,
    /// The other end.
    pub to: ModelRef,
}

/// A resource the simulator keeps records of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Its model.
    pub model: ModelRef,
    /// The field that is its id.
    pub id: String,
    /// The field that is its name.
    pub name: Option<String>,
    /// Parent models, each with the field that holds the parent's id.
    pub parents: Vec<(ModelRef, String)>,
}

/// An endpoint as its page documents it.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointDoc {
    /// Its area.
    pub area: String,
    /// The area slug of its file.
    pub slug: String,
    /// `GET`, `POST`, …
    pub method: String,
    /// The route template.
    pub route: String,
    /// No vendor page documents it.
    pub unverified: bool,
    /// One sentence.
    pub summary: Option<String>,
    /// What it does to the server.
    pub effect: Effect,
    /// Its sources.
    pub sources: Vec<String>,
    /// The permission or role the page names.
    pub permissions: Option<String>,
    /// Path parameters with their types, in route order.
    pub path: Vec<(String, TypeExpr)>,
    /// Query parameters.
    pub query: Vec<Param>,
    /// The request body.
    pub request: Option<RequestBody>,
    /// Per status, its forms in order.
    pub responses: BTreeMap<u16, Vec<ResponseForm>>,
    /// How the simulator answers it.
    pub serve: Option<Serve>,
    /// What a reader must know.
    pub note: Option<String>,
    /// Where it is written.
    pub file: PathBuf,
    /// Its line.
    pub line: usize,
}

impl EndpointDoc {
    /// The form a status takes for a request.
    pub fn form(&self, status: u16, facts: &RequestFacts) -> Option<&ResponseForm> {
        self.responses.get(&status)?.iter().find(|f| f.when.as_ref().is_none_or(|c| c.holds(facts)))
    }
}

/// Every documented model and endpoint.
#[derive(Debug, Clone, Default)]
pub struct Models {
    /// Sources by area slug, then id.
    pub sources: BTreeMap<String, BTreeMap<String, Source>>,
    /// Models by reference (area slug and name).
    pub models: BTreeMap<(String, String), Model>,
    /// Resources by model.
    pub resources: BTreeMap<(String, String), Resource>,
    /// Links by area slug and name.
    pub links: BTreeMap<(String, String), Link>,
    /// Endpoints, by file, then in file order.
    pub endpoints: Vec<EndpointDoc>,
    /// Fields of response models that a documented request creating or changing such a record
    /// may leave out (`Notes` of a new secret): a server has nothing to answer there but
    /// `null`, whatever the response model's page writes.
    pub optional_when_written: BTreeSet<((String, String), String)>,
    /// Fields that name a record: the id, name and parent fields of every resource.
    pub naming: BTreeSet<String>,
    /// The position in `endpoints` by matching key, made with them: a run looks an endpoint up
    /// for every step it sends, and comparing normalised routes one by one was a tenth of its
    /// CPU.
    by_key: std::collections::HashMap<(String, String), usize>,
}

impl Models {
    /// The model a reference names.
    pub fn model(&self, r: &ModelRef) -> Option<&Model> {
        let area = r.area.clone()?;
        self.models.get(&(area, r.name.clone()))
    }

    /// The documented endpoint of a method and route (template or path).
    pub fn endpoint(&self, method: &str, route: &str) -> Option<&EndpointDoc> {
        self.by_key.get(&key(method, route)).and_then(|&i| self.endpoints.get(i))
    }

    /// A source by the slug of the file that cites it and its id.
    pub fn source(&self, slug: &str, id: &str) -> Option<&Source> {
        self.sources.get(slug)?.get(id)
    }
}

/// One model file's text.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// Its path (as shown in diagnostics).
    pub path: PathBuf,
    /// Its text.
    pub text: String,
}

/// Reads and checks every model file against the catalog's endpoints.
pub fn load(files: &[ModelFile], catalog: &[Endpoint]) -> Result<Models, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut parsed = Vec::new();
    for f in files {
        match parse(&f.path, &f.text) {
            Ok(spec) => parsed.push((f, spec)),
            Err(d) => diags.push(d),
        }
    }
    let listed = catalog.iter().map(|e| (e.key(), e)).collect();
    let mut checker = Checker { diags, models: Models::default(), catalog, listed, seen: BTreeMap::new() };
    // Names first, so a reference may point at a model of a later file.
    let names: BTreeSet<(String, String)> = parsed
        .iter()
        .flat_map(|(f, spec)| {
            let slug = slug_of(&f.path);
            spec.models.0.iter().map(move |(n, _)| (slug.clone(), n.value.clone()))
        })
        .collect();
    let links: BTreeSet<(String, String)> = parsed
        .iter()
        .flat_map(|(f, spec)| {
            let slug = slug_of(&f.path);
            spec.links.0.iter().map(move |(n, _)| (slug.clone(), n.value.clone()))
        })
        .collect();
    for (f, spec) in &parsed {
        checker.area(f, spec, &names, &links);
    }
    checker.extends(&parsed);
    for (f, spec) in &parsed {
        checker.resources(f, spec, &names);
    }
    for (f, spec) in &parsed {
        checker.links(f, spec, &names);
    }
    if !checker.diags.is_empty() {
        return Err(checker.diags);
    }
    let mut models = checker.models;
    models.by_key = models.endpoints.iter().enumerate().map(|(i, e)| (key(&e.method, &e.route), i)).collect();
    models.optional_when_written = optional_when_written(&models);
    models.naming = models
        .resources
        .values()
        .flat_map(|r| {
            std::iter::once(r.id.clone()).chain(r.name.clone()).chain(r.parents.iter().map(|(_, f)| f.clone()))
        })
        .collect();
    Ok(models)
}

/// The text fields a documented create may leave out, by area: for each POST whose request
/// body is a model, every string field it does not require. In the same area, a response
/// model's text field of that name may be `null`: a .NET server answers a text it was never
/// given as `null` (a secret created without `Notes` or `Description`). A number or a flag it
/// was not given takes its default, and an update leaves what it does not name as it was.
fn optional_when_written(models: &Models) -> BTreeSet<((String, String), String)> {
    let text = |ty: &crate::catalog::TypeExpr| {
        ty.0.iter().any(|t| matches!(t, Term::String(_)))
            && ty.0.iter().all(|t| matches!(t, Term::String(_) | Term::Null))
    };
    let mut omissible: BTreeSet<(String, String)> = BTreeSet::new();
    for e in models.endpoints.iter().filter(|e| e.method == "POST") {
        let Some(Body::Object(req)) = e.request.as_ref().and_then(|r| r.body.as_ref()) else { continue };
        let Some(req) = models.model(req) else { continue };
        for f in req.fields.iter().filter(|f| f.presence != Presence::Required && text(&f.ty)) {
            omissible.insert((e.slug.clone(), f.name.to_ascii_lowercase()));
        }
    }
    let mut out = BTreeSet::new();
    for ((slug, name), m) in &models.models {
        if m.kind != crate::catalog::spec::ModelKind::Response {
            continue;
        }
        for f in m.fields.iter().filter(|f| text(&f.ty)) {
            if omissible.contains(&(slug.clone(), f.name.to_ascii_lowercase())) {
                out.insert(((slug.clone(), name.clone()), f.name.clone()));
            }
        }
    }
    out
}

/// The area slug of a file: its stem.
pub fn slug_of(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

fn parse(path: &Path, text: &str) -> Result<AreaSpec, Diagnostic> {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<AreaSpec>(text, options)
        .map_err(|err| crate::case::load::yaml_error(path, text, &err))
}

struct Checker<'a> {
    diags: Vec<Diagnostic>,
    models: Models,
    catalog: &'a [Endpoint],
    /// The catalog's endpoints by key: a model file documents one endpoint after another.
    listed: std::collections::HashMap<(String, String), &'a Endpoint>,
    /// Endpoint keys already documented, with where.
    seen: BTreeMap<(String, String), String>,
}

/// Where a diagnostic points: a file, its text, a line and column (0 for the file).
struct At<'f> {
    file: &'f ModelFile,
    line: usize,
    column: usize,
}

impl At<'_> {
    fn of<'f, T>(file: &'f ModelFile, s: &Spanned<T>) -> At<'f> {
        At { file, line: s.referenced.line() as usize, column: s.referenced.column() as usize }
    }
}

impl Checker<'_> {
    fn error(&mut self, at: &At<'_>, message: impl Into<String>) {
        let d = if at.line == 0 {
            Diagnostic::whole(&at.file.path, message)
        } else {
            Diagnostic::at(&at.file.path, &at.file.text, at.line, at.column, message)
        };
        self.diags.push(d);
    }

    fn area(
        &mut self,
        f: &ModelFile,
        spec: &AreaSpec,
        names: &BTreeSet<(String, String)>,
        links: &BTreeSet<(String, String)>,
    ) {
        let slug = slug_of(&f.path);
        let area = spec.area.value.clone();
        if !self.catalog.iter().any(|e| e.area == area) {
            let known: Vec<&str> = self.catalog.iter().map(|e| e.area.as_str()).collect();
            let hint = crate::case::diagnostic::closest(&area, known.iter().copied());
            self.error(&At::of(f, &spec.area), format!("`{area}` is not an area of the catalog{}", did_you_mean(hint)));
        }
        let mut sources = BTreeMap::new();
        for (id, s) in &spec.sources {
            if !(s.url.value.starts_with("https://") || s.url.value.starts_with("http://")) {
                self.error(&At::of(f, &s.url), format!("source `{id}`: `{}` is not a URL", s.url.value));
            }
            sources.insert(
                id.clone(),
                Source { id: id.clone(), url: s.url.value.clone(), release: s.release.clone(), title: s.title.clone() },
            );
        }
        let ctx = Ctx { file: f, slug: slug.clone(), sources: &sources, names, links };
        for (name, m) in &spec.models.0 {
            let at = At::of(f, name);
            if !name.value.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                self.error(&at, format!("model `{}`: a model's name starts with a capital letter", name.value));
            }
            let model_sources = self.sources(&ctx, &at, m.source.as_ref());
            let fields = self.fields(&ctx, &m.fields, m.kind);
            self.models.models.insert(
                (slug.clone(), name.value.clone()),
                Model {
                    area: slug.clone(),
                    name: name.value.clone(),
                    kind: m.kind,
                    sources: model_sources,
                    fields,
                    description: m.description.clone(),
                },
            );
        }
        for e in &spec.endpoints {
            self.endpoint(&ctx, &area, e);
        }
        self.models.sources.insert(slug, sources);
    }

    /// The resources of a file, checked against their models' fields once inheritance is in
    /// (so an id may come from the model a resource's model extends).
    fn resources(&mut self, f: &ModelFile, spec: &AreaSpec, names: &BTreeSet<(String, String)>) {
        let slug = slug_of(&f.path);
        let sources = BTreeMap::new();
        let ctx = Ctx { file: f, slug: slug.clone(), sources: &sources, names, links: &BTreeSet::new() };
        for (name, r) in &spec.resources.0 {
            let at = At::of(f, name);
            let Some(model) = self.model_ref(&ctx, &at, &name.value) else { continue };
            let fields: Vec<String> = self
                .models
                .models
                .get(&(model.area.clone().unwrap_or_default(), model.name.clone()))
                .map(|m| m.fields.iter().map(|f| f.name.clone()).collect())
                .unwrap_or_default();
            let check_field = |field: &Spanned<String>, what: &str, checker: &mut Self| {
                if !fields.is_empty() && !fields.contains(&field.value) {
                    checker.error(
                        &At::of(f, field),
                        format!("resource `{}`: its {what} `{}` is not a field of the model", name.value, field.value),
                    );
                }
            };
            check_field(&r.id, "id", self);
            if let Some(n) = &r.name {
                check_field(n, "name", self);
            }
            let mut parents = Vec::new();
            for (p, field) in &r.parents {
                check_field(field, "parent field", self);
                if let Some(pm) = self.model_ref(&ctx, &At::of(f, field), p) {
                    parents.push((pm, field.value.clone()));
                }
            }
            self.models.resources.insert(
                (slug.clone(), name.value.clone()),
                Resource { model, id: r.id.value.clone(), name: r.name.as_ref().map(|n| n.value.clone()), parents },
            );
        }
    }

    /// The links of a file, once every resource is known.
    fn links(&mut self, f: &ModelFile, spec: &AreaSpec, names: &BTreeSet<(String, String)>) {
        let slug = slug_of(&f.path);
        let sources = BTreeMap::new();
        let ctx = Ctx { file: f, slug: slug.clone(), sources: &sources, names, links: &BTreeSet::new() };
        for (name, l) in &spec.links.0 {
            let (from, to) = (
                self.model_ref(&ctx, &At::of(f, &l.from), &l.from.value),
                self.model_ref(&ctx, &At::of(f, &l.to), &l.to.value),
            );
            if let (Some(from), Some(to)) = (from, to) {
                for end in [&from, &to] {
                    if !self.models.resources.contains_key(&(end.area.clone().unwrap_or_default(), end.name.clone())) {
                        self.error(
                            &At::of(f, name),
                            format!("link `{}`: `{end}` is not a resource (declare it under `resources:`)", name.value),
                        );
                    }
                }
                self.models.links.insert((slug.clone(), name.value.clone()), Link { from, to });
            }
        }
    }

    /// A link's reference, checked against every file's links.
    fn link_ref(&mut self, ctx: &Ctx<'_>, at: &At<'_>, name: &str) -> Option<ModelRef> {
        let r = match name.split_once('.') {
            Some((a, n)) => ModelRef { area: Some(a.to_owned()), name: n.to_owned() },
            None => ModelRef { area: Some(ctx.slug.clone()), name: name.to_owned() },
        };
        if ctx.links.contains(&(r.area.clone().unwrap_or_default(), r.name.clone())) {
            Some(r)
        } else {
            self.error(at, format!("`{name}` is not a link any file declares (under `links:`)"));
            None
        }
    }

    fn sources(&mut self, ctx: &Ctx<'_>, at: &At<'_>, refs: Option<&SourceRefs>) -> Vec<String> {
        let mut out = Vec::new();
        for id in refs.map(SourceRefs::ids).unwrap_or_default() {
            if ctx.sources.contains_key(id) {
                out.push(id.clone());
            } else {
                let hint = crate::case::diagnostic::closest(id, ctx.sources.keys().map(String::as_str));
                self.error(at, format!("`{id}` is not a source of this file{}", did_you_mean(hint)));
            }
        }
        out
    }

    fn source_id(&mut self, ctx: &Ctx<'_>, at: &At<'_>, id: &Spanned<String>) -> Option<String> {
        let here = if id.referenced.line() == 0 {
            At { file: at.file, line: at.line, column: at.column }
        } else {
            At::of(ctx.file, id)
        };
        self.sources(ctx, &here, Some(&SourceRefs::One(id.value.clone()))).into_iter().next()
    }

    fn ty(&mut self, ctx: &Ctx<'_>, at: &At<'_>, text: &Spanned<String>) -> Option<TypeExpr> {
        let here = if text.referenced.line() == 0 {
            At { file: at.file, line: at.line, column: at.column }
        } else {
            At::of(ctx.file, text)
        };
        self.ty_at(ctx, &here, &text.value)
    }

    fn ty_at(&mut self, ctx: &Ctx<'_>, here: &At<'_>, text: &str) -> Option<TypeExpr> {
        match TypeExpr::parse(text) {
            Ok(mut t) => {
                let mut missing = None;
                resolve(&mut t, &ctx.slug, &mut |r| {
                    if !ctx.names.contains(&(r.area.clone().unwrap_or_default(), r.name.clone())) {
                        missing = Some(r.to_string());
                    }
                });
                if let Some(m) = missing {
                    self.error(here, format!("`{text}`: no file defines the model `{m}`"));
                    return None;
                }
                Some(t)
            }
            Err(e) => {
                self.error(here, e);
                None
            }
        }
    }

    fn model_ref(&mut self, ctx: &Ctx<'_>, at: &At<'_>, name: &str) -> Option<ModelRef> {
        match self.ty_at(ctx, at, name)?.0.as_slice() {
            [Term::Model(m)] => Some(m.clone()),
            _ => {
                self.error(at, format!("`{name}` is not a model name"));
                None
            }
        }
    }

    fn condition(&mut self, ctx: &Ctx<'_>, at: &At<'_>, c: &ConditionSpec) -> Condition {
        let mut out = Condition { absent: c.absent.clone(), ..Default::default() };
        match &c.query {
            Some(QueryCondition::One(p)) => out.present.push(p.clone()),
            Some(QueryCondition::All(ps)) => out.present.extend(ps.iter().cloned()),
            Some(QueryCondition::Values(map)) => {
                for (k, v) in map {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    out.values.push((k.clone(), v));
                }
            }
            None => {}
        }
        if let Some(v) = &c.version {
            match VersionReq::parse(&v.value) {
                Ok(r) => out.version = Some(r),
                Err(e) => {
                    let here = if v.referenced.line() == 0 {
                        At { file: at.file, line: at.line, column: at.column }
                    } else {
                        At::of(ctx.file, v)
                    };
                    self.error(&here, e);
                }
            }
        }
        out
    }

    fn fields(&mut self, ctx: &Ctx<'_>, fields: &Entries<FieldSpec>, kind: ModelKind) -> Vec<Field> {
        let mut out = Vec::new();
        for (name, spec) in &fields.0 {
            let at = At::of(ctx.file, name);
            let default_presence =
                if kind == ModelKind::Request { Presence::Optional(None) } else { Presence::Required };
            let field = match spec {
                FieldSpec::Type(t) => {
                    let Some(ty) = self.ty_at(ctx, &at, t) else { continue };
                    Field {
                        name: name.value.clone(),
                        ty,
                        presence: default_presence,
                        versions: None,
                        since: None,
                        renamed: None,
                        alternatives: Vec::new(),
                        nullable_by: None,
                        values: Vec::new(),
                        secret: false,
                        description: None,
                        sources: Vec::new(),
                        example: None,
                        note: None,
                    }
                }
                FieldSpec::Full(full) => {
                    let Some(mut ty) = self.ty(ctx, &at, &full.ty) else { continue };
                    let presence = match (&full.when, &full.optional, full.required) {
                        (Some(_), Some(_), _) => {
                            self.error(
                                &at,
                                format!(
                                    "field `{}`: `when` already makes it optional; leave out `optional`",
                                    name.value
                                ),
                            );
                            default_presence
                        }
                        (Some(c), None, _) => Presence::When(self.condition(ctx, &at, c)),
                        (None, Some(Optional::Flag(true)), _) => Presence::Optional(None),
                        (None, Some(Optional::Because(why)), _) => Presence::Optional(Some(why.clone())),
                        (None, Some(Optional::Flag(false)), _) => Presence::Required,
                        (None, None, true) => Presence::Required,
                        (None, None, false) => default_presence,
                    };
                    if full.required && kind != ModelKind::Request {
                        self.error(&at, format!("field `{}`: `required` is for request models (kind: request); a response field is required unless it says `optional`", name.value));
                    }
                    let versions = full.versions.as_ref().and_then(|v| match VersionReq::parse(&v.value) {
                        Ok(r) => Some(r),
                        Err(e) => {
                            self.error(&at, e);
                            None
                        }
                    });
                    let nullable_by = full.nullable_by.as_ref().and_then(|s| self.source_id(ctx, &at, s));
                    if nullable_by.is_some() {
                        if ty.nullable() {
                            self.error(
                                &at,
                                format!(
                                    "field `{}`: `nullable_by` adds null to the type; leave `null` out of `type`",
                                    name.value
                                ),
                            );
                        } else {
                            ty.0.push(Term::Null);
                        }
                    }
                    let mut alternatives = Vec::new();
                    for a in &full.alternatives {
                        if let Some(s) = self.source_id(ctx, &at, &a.source) {
                            alternatives.push((a.name.clone(), s));
                        }
                    }
                    let sources = self.sources(ctx, &at, full.source.as_ref());
                    Field {
                        name: name.value.clone(),
                        ty,
                        presence,
                        versions,
                        since: full.since.clone(),
                        renamed: full.renamed.as_ref().map(|r| (r.from.clone(), r.release.clone())),
                        alternatives,
                        nullable_by,
                        values: full.values.clone(),
                        secret: full.secret,
                        description: full.description.clone(),
                        sources,
                        example: full.example.clone(),
                        note: full.note.clone(),
                    }
                }
            };
            if out.iter().any(|f: &Field| f.name.eq_ignore_ascii_case(&field.name)) {
                self.error(&at, format!("field `{}` is written twice (names compare ignoring case)", field.name));
                continue;
            }
            out.push(field);
        }
        out
    }

    fn body(&mut self, ctx: &Ctx<'_>, at: &At<'_>, spec: &BodySpec) -> Option<Body> {
        match spec {
            BodySpec::Word(w) => {
                let body = match w.as_str() {
                    "string" => Body::String,
                    "integer" => Body::Integer,
                    "empty" => Body::Empty,
                    "raw" => Body::Raw,
                    "any" => Body::Any,
                    other => {
                        self.error(at, format!("`{other}` is not a body: write string, integer, empty, raw, any, or {{ object | array | paged: Model }} or {{ type: T }}"));
                        return None;
                    }
                };
                Some(body)
            }
            BodySpec::Form(form) => {
                let given: Vec<(&str, &Spanned<String>)> = [
                    ("object", form.object.as_ref()),
                    ("array", form.array.as_ref()),
                    ("paged", form.paged.as_ref()),
                    ("type", form.ty.as_ref()),
                ]
                .into_iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
                let [(kind, value)] = given.as_slice() else {
                    self.error(at, "a body names exactly one of object, array, paged or type");
                    return None;
                };
                if *kind == "type" {
                    return self.ty(ctx, at, value).map(Body::Type);
                }
                let m = self.model_ref(ctx, at, &value.value)?;
                Some(match *kind {
                    "object" => Body::Object(m),
                    "array" => Body::Array(m),
                    _ => Body::Paged(m),
                })
            }
        }
    }

    fn endpoint(&mut self, ctx: &Ctx<'_>, area: &str, e: &super::spec::EndpointSpec) {
        let at = At::of(ctx.file, &e.method);
        let method = e.method.value.to_ascii_uppercase();
        if !["GET", "POST", "PUT", "DELETE", "PATCH"].contains(&method.as_str()) {
            self.error(&at, format!("`{}` is not an HTTP method of this API", e.method.value));
        }
        let route = e.route.value.trim_matches('/').to_owned();
        let k = key(&method, &route);
        let here = format!("{}:{}", ctx.file.path.display(), e.method.referenced.line());
        if let Some(prev) = self.seen.insert(k.clone(), here) {
            self.error(&at, format!("{method} {route} is already documented at {prev}"));
        }
        let listed = self.listed.get(&k).copied();
        match (listed, e.unverified) {
            (None, false) => self.error(
                &At::of(ctx.file, &e.route),
                format!("{method} {route} is not in catalog/endpoints.yaml: check the route, or mark it `unverified: true` and cite the clients that call it"),
            ),
            (Some(_), true) => self.error(&at, format!("{method} {route} is in the catalog: it is not unverified")),
            (Some(c), false) if c.area != area => self.error(
                &at,
                format!("{method} {route} belongs to the area `{}` in the catalog, not `{area}`", c.area),
            ),
            _ => {}
        }
        let effect = match Effect::parse(&e.effect.value) {
            Some(eff) => eff,
            None => {
                self.error(
                    &At::of(ctx.file, &e.effect),
                    format!(
                        "`{}` is not an effect: write read, audited, change, release or irreversible",
                        e.effect.value
                    ),
                );
                Effect::Read
            }
        };
        if let Some(c) = listed
            && Effect::of_catalog(&c.effect) == Effect::Change
            && effect < Effect::Change
        {
            self.error(
                &At::of(ctx.file, &e.effect),
                format!("{method} {route} changes data by the catalog: its effect cannot be `{effect}`"),
            );
        }
        if e.source.is_none() {
            self.error(&at, format!("{method} {route}: cite the page it comes from (`source:`)"));
        }
        let sources = self.sources(ctx, &at, e.source.as_ref());
        let route_params: Vec<String> = route
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        for name in e.path.keys() {
            if !route_params.contains(name) {
                self.error(&at, format!("path parameter `{name}` is not in the route {route}"));
            }
        }
        let path = route_params
            .iter()
            .map(|p| {
                let ty = e.path.get(p).and_then(|t| self.ty(ctx, &at, t)).unwrap_or(TypeExpr(vec![Term::Integer]));
                (p.clone(), ty)
            })
            .collect();
        let mut query = Vec::new();
        for (name, p) in &e.query.0 {
            let pat = At::of(ctx.file, name);
            let param = match p {
                ParamSpec::Type(t) => self.ty_at(ctx, &pat, t).map(|ty| Param {
                    name: name.value.clone(),
                    ty,
                    default: None,
                    values: Vec::new(),
                    required: false,
                    paging: None,
                    description: None,
                }),
                ParamSpec::Full(full) => {
                    let paging = full.paging.as_ref().and_then(|p| match p.value.as_str() {
                        "limit" => Some(Paging::Limit),
                        "offset" => Some(Paging::Offset),
                        other => {
                            self.error(&pat, format!("`paging: {other}`: write limit or offset"));
                            None
                        }
                    });
                    self.ty(ctx, &pat, &full.ty).map(|ty| Param {
                        name: name.value.clone(),
                        ty,
                        default: full.default.clone(),
                        values: full.values.clone(),
                        required: full.required,
                        paging,
                        description: full.description.clone(),
                    })
                }
            };
            query.extend(param);
        }
        let request = e.request.as_ref().map(|r| {
            let content_type = r.content_type.clone().unwrap_or_else(|| "application/json".into());
            let body = match (&r.body, r.fields.0.is_empty()) {
                (Some(_), false) => {
                    self.error(&at, "a request has `body` or `fields`, not both");
                    None
                }
                (Some(b), true) => self.body(ctx, &at, b),
                (None, false) => {
                    let fields = self.fields(ctx, &r.fields, ModelKind::Request);
                    let name = format!("{method} {route} request");
                    let slug = ctx.slug.clone();
                    self.models.models.insert(
                        (slug.clone(), name.clone()),
                        Model {
                            area: slug.clone(),
                            name: name.clone(),
                            kind: ModelKind::Request,
                            sources: sources.clone(),
                            fields,
                            description: None,
                        },
                    );
                    Some(Body::Object(ModelRef { area: Some(slug), name }))
                }
                (None, true) => None,
            };
            RequestBody { content_type, body }
        });
        let mut responses = BTreeMap::new();
        for (status, forms) in &e.responses.0 {
            let sat = At::of(ctx.file, status);
            if !(100..=599).contains(&status.value) {
                self.error(&sat, format!("{} is not an HTTP status", status.value));
                continue;
            }
            let specs: Vec<&ResponseSpec> = match forms {
                ResponsesSpec::One(f) => vec![f.as_ref()],
                ResponsesSpec::Forms(fs) => fs.iter().collect(),
            };
            let mut out = Vec::new();
            for (i, f) in specs.iter().enumerate() {
                let when = f.when.as_ref().map(|c| self.condition(ctx, &sat, c));
                if when.is_none() && i + 1 < specs.len() {
                    self.error(
                        &sat,
                        format!(
                            "{}: a form without `when` must come last (the first form that holds applies)",
                            status.value
                        ),
                    );
                }
                if let Some(c) = &when {
                    for p in c.params() {
                        if !query.iter().any(|q: &Param| q.name.eq_ignore_ascii_case(p))
                            && !p.eq_ignore_ascii_case("version")
                        {
                            self.error(&sat, format!("{}: the condition names `{p}`, which is not a documented query parameter of {method} {route}", status.value));
                        }
                    }
                }
                let body = match &f.body {
                    Some(b) => self.body(ctx, &sat, b),
                    None => Some(Body::Any),
                };
                if let Some(body) = body {
                    out.push(ResponseForm {
                        when,
                        content_type: f.content_type.clone().or_else(|| body.default_content_type().map(str::to_owned)),
                        body,
                        description: f.description.clone(),
                        secret: f.secret,
                    });
                }
            }
            responses.insert(status.value, out);
        }
        let serve = e.serve.as_ref().and_then(|s| {
            let ops: Vec<(ServeOp, &Spanned<String>)> = [
                (ServeOp::List, s.list.as_ref()),
                (ServeOp::Get, s.get.as_ref()),
                (ServeOp::Create, s.create.as_ref()),
                (ServeOp::Update, s.update.as_ref()),
                (ServeOp::Delete, s.delete.as_ref()),
                (ServeOp::Link, s.link.as_ref()),
                (ServeOp::Unlink, s.unlink.as_ref()),
            ]
            .into_iter()
            .filter_map(|(op, v)| v.map(|v| (op, v)))
            .collect();
            let (op, model, link) = match (ops.as_slice(), &s.behaviour) {
                ([(op @ (ServeOp::Link | ServeOp::Unlink), l)], None) => {
                    (op.clone(), None, Some(self.link_ref(ctx, &at, &l.value)?))
                }
                ([(op, m)], None) => {
                    let via = match &s.via {
                        Some(v) if *op == ServeOp::List => Some(self.link_ref(ctx, &at, &v.value)?),
                        Some(_) => {
                            self.error(&at, "`via` goes with `list`");
                            None
                        }
                        None => None,
                    };
                    (op.clone(), self.model_ref(ctx, &at, &m.value), via)
                }
                ([], Some(b)) => (ServeOp::Behaviour(b.value.clone()), None, None),
                _ => {
                    self.error(
                        &at,
                        "`serve` names exactly one of list, get, create, update, delete, link, unlink or behaviour",
                    );
                    return None;
                }
            };
            let parent = s.parent.as_ref().and_then(|p| self.model_ref(ctx, &at, &p.value));
            if !s.from.is_empty() && op != ServeOp::Create {
                self.error(&at, "`from` goes with `create`");
            }
            if !s.with.is_empty() && op != ServeOp::Delete {
                self.error(&at, "`with` goes with `delete`");
            }
            let with = s.with.iter().filter_map(|w| self.model_ref(ctx, &at, &w.value)).collect();
            for q in s.filters.keys() {
                if !query.iter().any(|p: &Param| p.name.eq_ignore_ascii_case(q)) {
                    self.error(&at, format!("`serve` filters by `{q}`, which is not a documented query parameter"));
                }
            }
            Some(Serve {
                op,
                model,
                parent,
                filters: s.filters.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                from: s.from.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                with,
                link,
            })
        });
        self.models.endpoints.push(EndpointDoc {
            area: area.to_owned(),
            slug: ctx.slug.clone(),
            method,
            route,
            unverified: e.unverified,
            summary: e.summary.clone(),
            effect,
            sources,
            permissions: e.permissions.clone(),
            path,
            query,
            request,
            responses,
            serve,
            note: e.note.clone(),
            file: ctx.file.path.clone(),
            line: e.method.referenced.line() as usize,
        });
    }

    /// Puts each `extends` model's fields before the model's own, refusing loops.
    fn extends(&mut self, parsed: &[(&ModelFile, AreaSpec)]) {
        let mut edges: BTreeMap<(String, String), ((String, String), At<'_>)> = BTreeMap::new();
        for (f, spec) in parsed {
            let slug = slug_of(&f.path);
            for (name, m) in &spec.models.0 {
                let Some(parent) = &m.extends else { continue };
                let (area, pname) = match parent.value.split_once('.') {
                    Some((a, n)) => (a.to_owned(), n.to_owned()),
                    None => (slug.clone(), parent.value.clone()),
                };
                if !self.models.models.contains_key(&(area.clone(), pname.clone())) {
                    self.error(
                        &At::of(f, parent),
                        format!("`{}` extends `{}`, which no file defines", name.value, parent.value),
                    );
                    continue;
                }
                edges.insert((slug.clone(), name.value.clone()), ((area, pname), At::of(f, parent)));
            }
        }
        let keys: Vec<(String, String)> = edges.keys().cloned().collect();
        for k in keys {
            let mut chain = vec![k.clone()];
            let mut cur = k.clone();
            let mut looped = false;
            while let Some((next, _)) = edges.get(&cur) {
                if chain.contains(next) {
                    looped = true;
                    break;
                }
                chain.push(next.clone());
                cur = next.clone();
            }
            if looped {
                if let Some((_, at)) = edges.get(&k) {
                    let at = At { file: at.file, line: at.line, column: at.column };
                    self.error(
                        &at,
                        format!(
                            "`{}` extends itself through {}",
                            k.1,
                            chain.iter().map(|c| c.1.as_str()).collect::<Vec<_>>().join(" -> ")
                        ),
                    );
                }
                continue;
            }
            // Inherited fields, farthest ancestor first.
            let mut inherited: Vec<Field> = Vec::new();
            for ancestor in chain.iter().skip(1).rev() {
                if let Some(m) = self.models.models.get(ancestor) {
                    for f in &m.fields {
                        if !inherited.iter().any(|g| g.name == f.name) {
                            inherited.push(f.clone());
                        }
                    }
                }
            }
            if let Some(m) = self.models.models.get_mut(&k) {
                let own = std::mem::take(&mut m.fields);
                inherited.retain(|f| !own.iter().any(|o| o.name == f.name));
                inherited.extend(own);
                m.fields = inherited;
            }
        }
    }
}

/// The file being checked, and what its references resolve against.
struct Ctx<'a> {
    file: &'a ModelFile,
    slug: String,
    sources: &'a BTreeMap<String, Source>,
    names: &'a BTreeSet<(String, String)>,
    links: &'a BTreeSet<(String, String)>,
}

/// Gives every model reference its area (the file's, when it names none) and shows it to `f`.
fn resolve(t: &mut TypeExpr, slug: &str, f: &mut dyn FnMut(&ModelRef)) {
    fn walk(t: &mut Term, slug: &str, f: &mut dyn FnMut(&ModelRef)) {
        match t {
            Term::Model(m) => {
                if m.area.is_none() {
                    m.area = Some(slug.to_owned());
                }
                f(m);
            }
            Term::Array(inner) | Term::Map(inner) => walk(inner, slug, f),
            _ => {}
        }
    }
    for term in &mut t.0 {
        walk(term, slug, f);
    }
}

fn did_you_mean(hint: Option<&str>) -> String {
    hint.map(|h| format!("; did you mean `{h}`?")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Vec<Endpoint> {
        let e = |area: &str, method: &str, route: &str, effect: &str| Endpoint {
            area: area.into(),
            method: method.into(),
            route: route.into(),
            effect: effect.into(),
            statuses: vec![200],
            source: "test".into(),
            note: None,
        };
        vec![
            e("Things", "GET", "Things", "read"),
            e("Things", "GET", "Things/{thingId}", "read"),
            e("Things", "POST", "Things", "change"),
            e("Other", "GET", "Others", "read"),
        ]
    }

    const HEAD: &str = "area: Things\nsources:\n  page: { url: https://example.com/things.htm, release: \"24.3\" }\n";

    fn check(files: &[(&str, &str)]) -> Result<Models, Vec<Diagnostic>> {
        let files: Vec<ModelFile> =
            files.iter().map(|(p, t)| ModelFile { path: PathBuf::from(p), text: (*t).to_owned() }).collect();
        load(&files, &catalog())
    }

    fn errors(text: &str) -> Vec<String> {
        match check(&[("things.yaml", text)]) {
            Ok(_) => panic!("expected problems in:\n{text}"),
            Err(d) => d.iter().map(|d| format!("{}:{}: {}", d.line, d.column, d.message)).collect(),
        }
    }

    #[test]
    fn a_whole_file_loads_with_references_conditions_and_inheritance() {
        let text = format!(
            "{HEAD}models:
  Base:
    source: page
    fields:
      Id: integer
  Thing:
    source: page
    extends: Base
    fields:
      Name: string
      Port: {{ type: integer | null, since: \"23.1\" }}
      Text: {{ type: string, when: {{ query: {{ decrypt: true }} }}, secret: true }}
      Tags: \"[string]\"
      Owner: {{ type: other.Owner, versions: \">=3.1\" }}
resources:
  Thing: {{ id: Id, name: Name }}
endpoints:
  - method: GET
    route: Things
    effect: read
    source: page
    query:
      decrypt: boolean
      limit: {{ type: integer, paging: limit }}
    responses:
      200:
        - when: {{ query: limit }}
          body: {{ paged: Thing }}
        - body: {{ array: Thing }}
  - method: POST
    route: Things
    effect: change
    source: page
    request:
      fields:
        Name: {{ type: string, required: true }}
    responses:
      201: {{ body: integer }}
"
        );
        let other = "area: Other\nsources:\n  p: { url: https://example.com/o.htm, release: current }\nmodels:\n  Owner:\n    source: p\n    fields:\n      UserId: integer\n";
        let models = match check(&[("things.yaml", &text), ("other.yaml", other)]) {
            Ok(m) => m,
            Err(d) => panic!("{d:#?}"),
        };
        let thing = models.model(&ModelRef { area: Some("things".into()), name: "Thing".into() }).expect("Thing");
        let names: Vec<&str> = thing.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["Id", "Name", "Port", "Text", "Tags", "Owner"]);
        assert!(thing.fields[2].ty.nullable());
        assert!(matches!(thing.fields[3].presence, Presence::When(_)) && thing.fields[3].secret);
        assert!(!thing.fields[5].in_version((3, 0)) && thing.fields[5].in_version((3, 2)));
        let list = models.endpoint("get", "things/").expect("GET Things");
        let paged = RequestFacts { query: vec![("Limit".into(), "5".into())] };
        assert!(matches!(list.form(200, &paged).map(|f| &f.body), Some(Body::Paged(_))));
        assert!(matches!(list.form(200, &RequestFacts::default()).map(|f| &f.body), Some(Body::Array(_))));
        let create = models.endpoint("POST", "Things").expect("POST Things");
        let Some(Body::Object(req)) = create.request.as_ref().and_then(|r| r.body.clone()) else {
            panic!("inline request")
        };
        let req = models.model(&req).expect("the request model");
        assert_eq!(req.fields[0].presence, Presence::Required);
        let thing_ref = ("things".to_owned(), "Thing".to_owned());
        assert_eq!(models.resources[&thing_ref].id, "Id", "an id inherited through extends");
    }

    #[test]
    fn every_kind_of_mistake_is_located() {
        let cases: &[(&str, &str)] = &[
            ("area: Thangs\n", "`Thangs` is not an area of the catalog; did you mean `Things`?"),
            (
                "models:\n  Thing:\n    source: pag\n    fields: { Id: integer }\n",
                "`pag` is not a source of this file; did you mean `page`?",
            ),
            ("models:\n  Thing:\n    fields: { Id: Missing }\n", "no file defines the model `things.Missing`"),
            ("models:\n  Thing:\n    fields: { Id: \"[integer\" }\n", "a bracket is not closed"),
            (
                "endpoints:\n  - { method: GET, route: Nope, effect: read, source: page }\n",
                "GET Nope is not in catalog/endpoints.yaml",
            ),
            (
                "endpoints:\n  - { method: POST, route: Things, effect: read, source: page }\n",
                "changes data by the catalog: its effect cannot be `read`",
            ),
            (
                "endpoints:\n  - { method: GET, route: Others, effect: read, source: page }\n",
                "belongs to the area `Other`",
            ),
            (
                "endpoints:\n  - { method: GET, route: Things, effect: read, source: page }\n  - { method: get, route: things/, effect: read, source: page }\n",
                "is already documented at things.yaml:5",
            ),
            (
                "endpoints:\n  - method: GET\n    route: Things\n    effect: read\n    source: page\n    responses:\n      200:\n        - body: string\n        - { when: { query: limit }, body: string }\n",
                "a form without `when` must come last",
            ),
            (
                "endpoints:\n  - method: GET\n    route: Things\n    effect: read\n    source: page\n    responses:\n      200:\n        - { when: { query: limit }, body: string }\n",
                "`limit`, which is not a documented query parameter",
            ),
            (
                "endpoints:\n  - { method: GET, route: Things, effect: reads, source: page }\n",
                "`reads` is not an effect",
            ),
            (
                "models:\n  A: { source: page, extends: B, fields: { X: integer } }\n  B: { source: page, extends: A, fields: { Y: integer } }\n",
                "extends itself",
            ),
            ("models:\n  Thing:\n    fields: { Id: { type: integer, colour: red } }\n", "unknown field `colour`"),
            (
                "models:\n  Thing: { source: page, fields: { Id: integer } }\nresources:\n  Thing: { id: ID }\n",
                "its id `ID` is not a field of the model",
            ),
            ("endpoints:\n  - { method: GET, route: Things, effect: read }\n", "cite the page it comes from"),
        ];
        for (body, expected) in cases {
            let text =
                if body.starts_with("area:") { format!("{body}sources: {{}}\n") } else { format!("{HEAD}{body}") };
            let errs = errors(&text);
            assert!(errs.iter().any(|e| e.contains(expected)), "{body}\nexpected `{expected}`, got {errs:#?}");
            assert!(errs.iter().all(|e| !e.starts_with("0:")), "{body}: unlocated: {errs:#?}");
        }
    }
}
