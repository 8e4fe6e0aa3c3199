//! Shape contracts: one per endpoint response, the merge of every observation.
//!
//! A contract belongs to a method, a route template, a status and, where the API versions its
//! models, the `version` query. Route templates compare ignoring case and a trailing slash,
//! with ids as `{id}`, so `Auth/SignAppin`, `auth/signappin/` and `Auth/SignAppIn` are one
//! contract. Every step that hits the endpoint is checked against the same contract and adds
//! its case to the contract's list.
//!
//! On disk a contract is an insta-format `.snap` file with a readable name
//! (`get__credentials__{id}__200.snap`): a YAML header saying which endpoint and which cases,
//! then the shape's text form, which a reviewer may widen by hand (`string | null`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::compare::{Change, Mode, Severity, compare};
use super::infer::{Field, Node, ResponseShape};
use crate::seal::{Redact, Redacted, Redactor};

/// Which contract a response belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ContractKey {
    /// `GET`, `POST`, …
    pub method: String,
    /// The route template, lower case, without a trailing slash, ids as `{id}`.
    pub route: String,
    /// The status code.
    pub status: u16,
    /// The model version asked for with `?version=`, when not the default 3.0.
    pub version: Option<String>,
}

impl ContractKey {
    /// The key of a response to `method route_template` with `status`, asked for in model
    /// `version`.
    pub fn new(method: &str, route: &str, status: u16, version: Option<&str>) -> ContractKey {
        let version = version.map(str::trim).filter(|v| !v.is_empty() && *v != "3.0" && *v != "3").map(str::to_owned);
        ContractKey { method: method.to_ascii_uppercase(), route: normalize_route(route), status, version }
    }

    /// The file name of the contract, without a folder.
    pub fn file_name(&self) -> String {
        let route = self.route.replace('/', "__");
        let version = self.version.as_ref().map(|v| format!("__v{v}")).unwrap_or_default();
        let name = format!("{}__{route}__{}{version}.snap", self.method.to_ascii_lowercase(), self.status);
        // Nothing a file system would misread: route segments are URL path characters.
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "_-.{}@".contains(c) { c } else { '_' }).collect()
    }
}

impl fmt::Display for ContractKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.method, self.route, self.status)?;
        if let Some(v) = &self.version {
            write!(f, " (version {v})")?;
        }
        Ok(())
    }
}

/// A route template compared ignoring case and a trailing slash, every id segment as `{id}`.
pub fn normalize_route(route: &str) -> String {
    let path = route.split(['?', '#']).next().unwrap_or("");
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| if is_id_segment(s) { "{id}".to_owned() } else { s.to_ascii_lowercase() })
        .collect::<Vec<_>>()
        .join("/")
}

/// A segment that stands for an id: a `{param}`, a `{{ variable }}`, a number or a GUID.
fn is_id_segment(s: &str) -> bool {
    (s.starts_with('{') && s.ends_with('}'))
        || s.contains("{{")
        || s.bytes().all(|b| b.is_ascii_digit())
        || super::infer::StringFormat::of(s) == super::infer::StringFormat::Guid
}

/// The route template of a request path as a case file writes it: each segment that holds a
/// `{{ variable }}` becomes `{variable}`, each number or GUID `{id}`. The spelling is kept for
/// display.
pub fn route_of_path(path_template: &str) -> String {
    let path = path_template.split(['?', '#']).next().unwrap_or("");
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            if let Some(start) = s.find("{{") {
                let name = s[start + 2..].split("}}").next().unwrap_or("").trim();
                format!("{{{}}}", if name.is_empty() { "id" } else { name })
            } else if is_id_segment(s) && !(s.starts_with('{') && s.ends_with('}')) {
                "{id}".to_owned()
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// A contract: the merged shape of an endpoint's responses and the cases that saw them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// Which responses.
    pub key: ContractKey,
    /// The route as people write it: `Credentials/{requestId}`.
    pub route: String,
    /// The shape.
    pub shape: ResponseShape,
    /// The trial names of the cases that exercise it.
    pub cases: BTreeSet<String>,
}

impl Contract {
    /// A contract of one observation.
    pub fn observed(key: ContractKey, route: &str, shape: ResponseShape, case: &str) -> Contract {
        Contract { key, route: route.to_owned(), shape, cases: BTreeSet::from([case.to_owned()]) }
    }

    /// The endpoint as people write it: `GET Credentials/{requestId} 200`.
    pub fn title(&self) -> String {
        let version = self.key.version.as_ref().map(|v| format!(" (version {v})")).unwrap_or_default();
        format!("{} {} {}{version}", self.key.method, self.route, self.key.status)
    }

    /// Adds another observation of the same endpoint.
    pub fn merge(mut self, other: Contract) -> Contract {
        self.shape = self.shape.merge(other.shape);
        self.cases.extend(other.cases);
        self
    }
}

impl Redact for Contract {
    fn redact(&mut self, r: &Redactor) {
        self.route.redact(r);
        self.shape.redact(r);
        self.cases.redact(r);
    }
}

/// How a response compared with its contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The contract file.
    pub contract: String,
    /// Conforming, additive, breaking, or no contract yet.
    pub status: VerdictStatus,
    /// The differences, breaking first, at most [`super::compare::MAX_CHANGES`]; format hints
    /// are `info`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// How many more differences there are.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub more_changes: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The verdict's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictStatus {
    /// The response is inside the contract (format hints may differ).
    Conforming,
    /// The response adds to the contract (a new field): reported, failing only with
    /// `--strict-shapes`.
    Additive,
    /// The response breaks the contract.
    Breaking,
    /// There is no contract for this endpoint yet: reported, failing only with
    /// `--strict-shapes`.
    Missing,
}

/// The contract a response is compared with: the documented shape (from the endpoint's model
/// in the catalog) where there is one, with what recordings in the contract set add where the
/// documentation is silent (undocumented fields, cookies, other media types); else the
/// recorded contract alone. A recording never narrows or loosens a documented position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// What a verdict names: the model file and endpoint, and the contract file when one adds
    /// to it.
    pub name: String,
    /// The shape compared with.
    pub shape: ResponseShape,
}

impl Effective {
    /// The contract of a response: `documented` is the catalog's shape of the endpoint's
    /// status (with where it is written), `recorded` the contract file's.
    pub fn of(
        documented: Option<(String, ResponseShape)>,
        recorded: Option<&Contract>,
        file: &Path,
    ) -> Option<Effective> {
        match (documented, recorded) {
            (Some((name, doc)), Some(rec)) => {
                Some(Effective { name: format!("{name} (with {})", file.display()), shape: overlay(doc, &rec.shape) })
            }
            (Some((name, doc)), None) => Some(Effective { name, shape: doc }),
            (None, Some(rec)) => Some(Effective { name: file.display().to_string(), shape: rec.shape.clone() }),
            (None, None) => None,
        }
    }
}

/// The documented shape with what a recording adds where the documentation is silent.
pub fn overlay(documented: ResponseShape, recorded: &ResponseShape) -> ResponseShape {
    let mut out = documented;
    out.content_types.extend(recorded.content_types.iter().cloned());
    out.cookies = recorded.cookies.clone();
    out.body.empty |= recorded.body.empty;
    out.body.text |= recorded.body.text;
    out.body.json = match (out.body.json.take(), &recorded.body.json) {
        (Some(d), Some(r)) => Some(overlay_node(d, r)),
        (d, r) => d.or_else(|| r.clone()),
    };
    out
}

/// A documented node with the recorded fields it does not name (each optional: an
/// undocumented field may come and go), recursively; a documented position keeps its
/// documented kinds.
fn overlay_node(mut doc: Node, rec: &Node) -> Node {
    if doc.any {
        return doc;
    }
    if let (Some(fields), Some(seen)) = (doc.object.as_mut(), rec.object.as_ref()) {
        for (name, f) in seen {
            match fields.get_mut(name) {
                Some(d) => d.node = overlay_node(std::mem::take(&mut d.node), &f.node),
                None => {
                    fields.insert(name.clone(), Field { optional: true, node: f.node.clone() });
                }
            }
        }
    }
    if let (Some(a), Some(b)) = (doc.array.as_mut(), rec.array.as_deref()) {
        **a = overlay_node(std::mem::take(&mut **a), b);
    }
    if let (Some(a), Some(b)) = (doc.map.as_mut(), rec.map.as_deref()) {
        **a = overlay_node(std::mem::take(&mut **a), b);
    }
    doc
}

impl Verdict {
    /// Compares a response's shape with its effective contract.
    pub fn against(contract: Option<&Effective>, file: &Path, observed: &ResponseShape) -> Verdict {
        let Some(c) = contract else {
            return Verdict {
                contract: file.display().to_string(),
                status: VerdictStatus::Missing,
                changes: Vec::new(),
                more_changes: 0,
            };
        };
        let mut changes = compare(&c.shape, observed, Mode::Conform);
        let status = match changes.iter().map(|c| c.severity).max() {
            Some(Severity::Breaking) => VerdictStatus::Breaking,
            Some(Severity::Additive) => VerdictStatus::Additive,
            _ => VerdictStatus::Conforming,
        };
        let more_changes = super::compare::cap(&mut changes);
        Verdict { contract: c.name.clone(), status, changes, more_changes }
    }

    /// Whether the verdict fails the step.
    pub fn fails(&self, strict: bool) -> bool {
        match self.status {
            VerdictStatus::Conforming => false,
            VerdictStatus::Breaking => true,
            VerdictStatus::Additive | VerdictStatus::Missing => strict,
        }
    }
}

impl Redact for Verdict {
    fn redact(&mut self, r: &Redactor) {
        self.contract.redact(r);
        self.changes.redact(r);
    }
}

/// A contract file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{}{}: {}",
    crate::escape::controls(&path.display().to_string()),
    line.map(|l| format!(":{l}")).unwrap_or_default(),
    crate::escape::controls(message)
)]
pub struct ContractError {
    /// The file.
    pub path: PathBuf,
    /// The line, when the problem is on one.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "I: Deserialize<'de>"))]
struct Header<I> {
    #[serde(default)]
    info: Option<I>,
}

/// A header's `info`. `C` is what is read of its list of cases: every name, or nothing
/// ([`Unlisted`]) for a run that writes no contract and so never needs them (a large suite's
/// contract names every one of its cases: 20,000 names in each of the benchmark's two
/// contracts at N=20000, about 3 MB once read).
#[derive(Deserialize)]
struct Info<C> {
    method: String,
    route: String,
    status: u16,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    cases: C,
}

/// What a contract's list of cases is read as.
trait CaseNames: serde::de::DeserializeOwned + Default {
    fn into_names(self) -> Vec<String>;
}

impl CaseNames for Vec<String> {
    fn into_names(self) -> Vec<String> {
        self
    }
}

/// A list of case names checked as [`Vec<String>`] would be, and not kept: a file whose list
/// is broken is an error whether or not the run needs the names.
#[derive(Default)]
struct Unlisted;

impl CaseNames for Unlisted {
    fn into_names(self) -> Vec<String> {
        Vec::new()
    }
}

impl<'de> Deserialize<'de> for Unlisted {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// One name, checked and dropped.
        struct Name;
        impl<'de> Deserialize<'de> for Name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_string(NameVisitor)
            }
        }
        struct NameVisitor;
        impl serde::de::Visitor<'_> for NameVisitor {
            type Value = Name;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Name, E> {
                Ok(Name)
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Name, E> {
                std::str::from_utf8(v)
                    .map(|_| Name)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Bytes(v), &self))
            }
        }
        struct Names;
        impl<'de> serde::de::Visitor<'de> for Names {
            type Value = Unlisted;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Unlisted, A::Error> {
                while seq.next_element::<Name>()?.is_some() {}
                Ok(Unlisted)
            }
        }
        deserializer.deserialize_seq(Names)
    }
}

/// Largest contract file read: a contract is a shape of at most a few thousand lines (see
/// `infer::MAX_FIELDS`), and a link to `/dev/zero` must not read until memory runs out.
pub const MAX_CONTRACT_FILE: u64 = 8 * 1024 * 1024;

/// What of a contract file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// All of it.
    Whole,
    /// All but the names of the cases that exercise it (left empty): for a run that only
    /// compares.
    Shapes,
}

/// Reads one contract file of the folder `dir` with the bounded reader
/// ([`crate::files::read`]): a regular file, not reached through a link out of `dir`.
pub fn read(dir: &Path, path: &Path) -> Result<Contract, ContractError> {
    read_as(dir, path, Read::Whole)
}

fn read_as(dir: &Path, path: &Path, what: Read) -> Result<Contract, ContractError> {
    let err = |line: Option<usize>, message: String| ContractError { path: path.to_path_buf(), line, message };
    let text = match crate::suite::text(path) {
        Some(text) => text.to_owned(),
        None => crate::files::read(dir, path, MAX_CONTRACT_FILE).map_err(|e| err(None, e.to_string()))?,
    };
    parse_as(&text, what).map_err(|(line, message)| err(line, message))
}

/// Parses a contract file's text.
pub fn parse(text: &str) -> Result<Contract, (Option<usize>, String)> {
    parse_as(text, Read::Whole)
}

fn parse_as(text: &str, what: Read) -> Result<Contract, (Option<usize>, String)> {
    match what {
        Read::Whole => parse_with::<Vec<String>>(text),
        Read::Shapes => parse_with::<Unlisted>(text),
    }
}

fn parse_with<C: CaseNames>(text: &str) -> Result<Contract, (Option<usize>, String)> {
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("<<<<<<<") || line.starts_with(">>>>>>>") || line == "=======" {
            return Err((
                Some(i + 1),
                "merge-conflict markers: resolve the conflict (both sides' shapes may be merged by hand)".into(),
            ));
        }
    }
    let rest =
        text.strip_prefix("---\n").ok_or((Some(1), "not an insta snapshot: expected a `---` header".to_owned()))?;
    let end = rest.find("\n---\n").ok_or((Some(1), "the `---` header is never closed".to_owned()))?;
    let header_lines = rest[..end].lines().count();
    let invalid =
        |e: serde_saphyr::Error| (Some(2), format!("invalid header: {}", e.to_string().lines().next().unwrap_or("")));
    let info = serde_saphyr::from_str::<Header<Info<C>>>(&rest[..end]).map_err(invalid)?.info;
    let info =
        info.ok_or((Some(2), "the header has no `info` with the contract's method, route and status".to_owned()))?;
    let body_start = header_lines + 3;
    let shape = ResponseShape::parse(&rest[end + 5..]).map_err(|e| (Some(e.line + body_start - 1), e.message))?;
    if shape.status != info.status {
        return Err((
            Some(body_start),
            format!("the shape's status {} is not the header's {}", shape.status, info.status),
        ));
    }
    let key = ContractKey::new(&info.method, &info.route, info.status, info.version.as_deref());
    Ok(Contract { key, route: info.route, shape, cases: info.cases.into_names().into_iter().collect() })
}

/// The text of a contract file, in insta's format.
pub fn render(contract: &Contract) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::from("---\nsource: psconform contract\n");
    out.push_str(&format!("description: {}\n", q(&contract.title())));
    out.push_str("info:\n");
    out.push_str(&format!("  method: {}\n", contract.key.method));
    out.push_str(&format!("  route: {}\n", q(&contract.route)));
    out.push_str(&format!("  status: {}\n", contract.key.status));
    if let Some(v) = &contract.key.version {
        out.push_str(&format!("  version: {}\n", q(v)));
    }
    // An empty list is written `[]`: a bare `cases:` is YAML null, which reads back as an error.
    out.push_str(if contract.cases.is_empty() { "  cases: []\n" } else { "  cases:\n" });
    for c in &contract.cases {
        out.push_str(&format!("    - {}\n", q(c)));
    }
    out.push_str("---\n");
    out.push_str(&contract.shape.render());
    out
}

/// A folder of contracts, by file name.
#[derive(Debug, Clone, Default)]
pub struct ContractSet {
    /// The folder.
    pub dir: PathBuf,
    /// The contracts, by file name.
    pub contracts: BTreeMap<String, Contract>,
}

impl ContractSet {
    /// Reads every `.snap` in `dir`. A missing folder is an empty set; an unreadable or
    /// conflicted file is an error with its path, never "missing".
    pub fn load(dir: &Path) -> Result<ContractSet, Vec<ContractError>> {
        ContractSet::load_as(dir, Read::Whole)
    }

    /// [`ContractSet::load`], reading of each file what `what` says.
    pub fn load_as(dir: &Path, what: Read) -> Result<ContractSet, Vec<ContractError>> {
        let mut set = ContractSet { dir: dir.to_path_buf(), contracts: BTreeMap::new() };
        let builtin = crate::suite::is_builtin(dir).then(|| crate::suite::files_under(dir));
        let entries: Vec<String> = match builtin {
            // The built-in contracts, as file names in the one folder they sit in.
            Some(files) => {
                let names = files.iter().filter(|p| p.parent() == Some(dir)).filter_map(|p| p.file_name());
                names.map(|n| n.to_string_lossy().into_owned()).collect()
            }
            None => match Self::names(dir) {
                Ok(names) => names,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(set),
                Err(e) => {
                    return Err(vec![ContractError {
                        path: dir.to_path_buf(),
                        line: None,
                        message: format!("cannot list: {e}"),
                    }]);
                }
            },
        };
        let mut errors = Vec::new();
        let mut names: Vec<String> = entries.into_iter().filter(|n| n.ends_with(".snap")).collect();
        names.sort();
        for name in names {
            let path = dir.join(&name);
            match read_as(dir, &path, what) {
                Ok(c) if c.key.file_name() != name => errors.push(ContractError {
                    path,
                    line: None,
                    message: format!("the header describes {}, whose file is {}", c.key, c.key.file_name()),
                }),
                Ok(c) => {
                    set.contracts.insert(name, c);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() { Ok(set) } else { Err(errors) }
    }

    /// The names of the files in a folder on disk.
    fn names(dir: &Path) -> std::io::Result<Vec<String>> {
        Ok(std::fs::read_dir(dir)?.flatten().filter_map(|e| e.file_name().to_str().map(str::to_owned)).collect())
    }

    /// The contract for a key.
    pub fn get(&self, key: &ContractKey) -> Option<&Contract> {
        self.contracts.get(&key.file_name())
    }

    /// Where the contract for a key lives.
    pub fn path(&self, key: &ContractKey) -> PathBuf {
        self.dir.join(key.file_name())
    }
}

/// Writes contracts into `dir`, one file each. Returns the paths written.
pub fn write_all<'a>(
    dir: &Path,
    contracts: impl IntoIterator<Item = &'a Contract>,
) -> Result<Vec<PathBuf>, ContractError> {
    std::fs::create_dir_all(dir).map_err(|e| ContractError {
        path: dir.to_path_buf(),
        line: None,
        message: format!("cannot create: {e}"),
    })?;
    let mut written = Vec::new();
    for c in contracts {
        let path = dir.join(c.key.file_name());
        crate::files::write_bytes(&path, render(c).as_bytes()).map_err(|e| ContractError {
            path: path.clone(),
            line: None,
            message: format!("cannot write: {e}"),
        })?;
        written.push(path);
    }
    Ok(written)
}

/// Contract file names remembered when a run only compares: past this many distinct endpoints
/// (a target inventing routes), the "no case exercised" note is left out rather than memory
/// growing.
const MAX_SEEN: usize = 100_000;

/// The contracts a run observed, merged as they come in from parallel cases.
#[derive(Debug, Default)]
pub struct Observed {
    inner: Mutex<BTreeMap<ContractKey, Contract>>,
    /// The file names of every contract a response was compared with, kept or not.
    seen: Mutex<BTreeSet<ContractKey>>,
}

impl Observed {
    /// Adds one observation, sealed where it was made (with the secrets its case knew). A
    /// merge of sealed observations holds nothing new, so the set stays sealed.
    pub fn add(&self, observation: Redacted<Contract>) {
        let observation = observation.into_inner();
        if let Ok(mut map) = self.inner.lock() {
            let key = observation.key.clone();
            // Cases run in parallel: of the spellings seen, the first in sort order names the
            // contract, so the file is the same from run to run.
            match map.get_mut(&key) {
                // Most observations of an endpoint look like the ones before: no merge needed.
                Some(c) if c.shape == observation.shape => {
                    c.cases.extend(observation.cases);
                    if observation.route < c.route {
                        c.route = observation.route;
                    }
                }
                Some(c) => {
                    let route = c.route.clone().min(observation.route.clone());
                    let merged = std::mem::replace(c, observation.clone()).merge(observation);
                    *c = Contract { route, ..merged };
                }
                None => {
                    map.insert(key, observation);
                }
            }
        }
    }

    /// Notes that a response was compared with the contract of `key`, when the run writes
    /// nothing of what it observes (its shape is not kept).
    pub fn touch(&self, key: &ContractKey) {
        // Most responses belong to a contract already seen: the key is copied only for a new one.
        if let Ok(mut seen) = self.seen.lock()
            && seen.len() < MAX_SEEN
            && !seen.contains(key)
        {
            seen.insert(key.clone());
        }
    }

    /// The file names of every contract a response of the run belongs to.
    pub fn seen(&self) -> BTreeSet<String> {
        let mut seen: BTreeSet<String> =
            self.seen.lock().map(|s| s.iter().map(ContractKey::file_name).collect()).unwrap_or_default();
        if let Ok(m) = self.inner.lock() {
            seen.extend(m.keys().map(ContractKey::file_name));
        }
        seen
    }

    /// Everything observed, by file name.
    pub fn take(&self) -> BTreeMap<String, Contract> {
        self.inner
            .lock()
            .map(|mut m| std::mem::take(&mut *m).into_values().map(|c| (c.key.file_name(), c)).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_contract_for_every_spelling_of_a_route() {
        let a = ContractKey::new("post", "Auth/SignAppin", 200, None);
        let b = ContractKey::new("POST", "auth/signappin/", 200, Some("3.0"));
        let c = ContractKey::new("POST", "/Auth/SignAppIn", 200, None);
        assert_eq!((a.clone(), a.file_name()), (b, "post__auth__signappin__200.snap".to_owned()));
        assert_eq!(a, c);
        let id = ContractKey::new("GET", &route_of_path("Credentials/{{ request_id }}"), 200, None);
        assert_eq!(id, ContractKey::new("GET", "credentials/12", 200, None));
        assert_eq!(id.file_name(), "get__credentials__{id}__200.snap");
        let v = ContractKey::new("GET", "Secrets-Safe/Secrets", 200, Some("3.2"));
        assert_eq!(v.file_name(), "get__secrets-safe__secrets__200__v3.2.snap");
    }

    #[test]
    fn routes_keep_their_spelling_for_display() {
        assert_eq!(route_of_path("Credentials/{{ request_id }}"), "Credentials/{request_id}");
        assert_eq!(route_of_path("Users/7/"), "Users/{id}");
        assert_eq!(
            route_of_path("Secrets-Safe/Secrets/0f6a3d2e-5b1c-4e8f-9a7d-2c3b4a5d6e7f/text"),
            "Secrets-Safe/Secrets/{id}/text"
        );
    }

    fn sample() -> Contract {
        let shape = ResponseShape::infer(200, Some("application/json"), [], br#"{"UserId": 7, "SID": null}"#);
        Contract::observed(
            ContractKey::new("POST", "Auth/SignAppin", 200, None),
            "Auth/SignAppin",
            shape,
            "auth::sign-app-in::api-key",
        )
    }

    #[test]
    fn files_read_back_and_insta_reads_them() {
        let dir = tempfile::tempdir().expect("temp");
        let c = sample();
        let written = write_all(dir.path(), [&c]).expect("write");
        let back = read(dir.path(), &written[0]).expect("read");
        assert_eq!(back, c);
        let snap = insta::Snapshot::from_file(&written[0]).expect("insta reads it");
        assert_eq!(snap.metadata().description(), Some("POST Auth/SignAppin 200"));
        let set = ContractSet::load(dir.path()).expect("loads");
        assert_eq!(set.get(&c.key), Some(&c));
    }

    #[test]
    fn a_run_that_only_compares_reads_a_contract_without_its_cases() {
        let mut c = sample();
        c.cases.extend((0..3).map(|i| format!("auth::other::case-{i}")));
        let text = render(&c);
        let shapes = parse_as(&text, Read::Shapes).expect("reads");
        assert!(shapes.cases.is_empty());
        assert_eq!(Contract { cases: c.cases.clone(), ..shapes }, c, "everything else is read");
        assert_eq!(parse_as(&text, Read::Whole), Ok(c.clone()));
        // The rest of the header is checked as before.
        let broken = text.replace("status: 200", "status: two hundred");
        assert!(parse_as(&broken, Read::Shapes).is_err());
        // And so is the list of cases, which is not kept: a broken list is an error either way.
        let list = text.find("  cases:").expect("a list");
        let end = text[list..].find("---").map_or(text.len(), |e| list + e);
        for cases in
            ["  cases: 5\n", "  cases:\n", "  cases: { a: b }\n", "  cases:\n    - [a]\n", "  cases:\n    - { a: b }\n"]
        {
            let broken = format!("{}{cases}{}", &text[..list], &text[end..]);
            let (whole, shapes) = (parse_as(&broken, Read::Whole), parse_as(&broken, Read::Shapes));
            assert!(whole.is_err(), "{cases:?}: {whole:?}");
            assert_eq!(shapes.map(|_| ()), whole.map(|_| ()), "{cases:?}: the same error");
        }
        let dir = tempfile::tempdir().expect("temp");
        write_all(dir.path(), [&c]).expect("write");
        let set = ContractSet::load_as(dir.path(), Read::Shapes).expect("loads");
        assert_eq!(set.get(&c.key).map(|c| c.cases.len()), Some(0));
    }

    #[test]
    fn a_contract_without_cases_reads_back() {
        // Found by a property: `cases:` with no item after it is YAML null, not a list.
        let c = Contract { cases: BTreeSet::new(), ..sample() };
        assert_eq!(parse(&render(&c)), Ok(c));
    }

    #[test]
    fn broken_files_are_errors_with_their_place() {
        let text = render(&sample());
        let conflicted =
            text.replace(".SID: null\n", "<<<<<<< HEAD\n  .SID: null\n=======\n  .SID: string\n>>>>>>> other\n");
        assert!(matches!(parse(&conflicted), Err((Some(_), m)) if m.contains("merge-conflict")));
        let bad_kind = text.replace(".SID: null", ".SID: strnig");
        let e = parse(&bad_kind).expect_err("a bad kind");
        assert_eq!(e.0, Some(text.lines().position(|l| l.contains(".SID")).map_or(0, |i| i + 1)));
        assert!(parse("status: 200\n").is_err());
        let dir = tempfile::tempdir().expect("temp");
        std::fs::write(dir.path().join("post__auth__signappin__200.snap"), bad_kind).expect("write");
        let errors = ContractSet::load(dir.path()).expect_err("errors");
        assert!(errors[0].to_string().contains("post__auth__signappin__200.snap:"), "{}", errors[0]);
    }
}

/// Contract files as properties: every contract renders to a file that reads back as the same
/// contract, and reading any text gives a contract or an error on a line of that text.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary::{self, guid, mutated, shape_of};

    fn route() -> impl Strategy<Value = String> {
        let segment = prop_oneof![
            6 => prop::sample::select(vec![
                "Auth", "SignAppin", "signappin", "Secrets-Safe", "Secrets", "{id}", "Credentials", "{requestId}",
                "ManagedAccounts", "Requests", "Checkin", "file", "download",
            ])
            .prop_map(str::to_owned),
            1 => "[0-9]{1,4}",
            1 => guid(),
            1 => "\\PC{1,8}",
        ];
        (prop::collection::vec(segment, 1..5), any::<bool>()).prop_map(|(segments, slash)| {
            let route = segments.join("/");
            if slash { format!("{route}/") } else { route }
        })
    }

    fn contract() -> impl Strategy<Value = Contract> {
        let method = prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "get"]);
        let version = prop::option::of(prop::sample::select(vec!["3.1", "3.2", "3.0", "3.10"]));
        let cases = prop::collection::btree_set(
            prop_oneof![3 => "[a-z-]{1,8}::[a-z-]{1,8}::[a-z0-9.-]{1,8}", 1 => "\\PC{0,12}"],
            0..4,
        );
        (method, route(), prop::sample::select(vec![200u16, 201, 204, 401]), version, cases).prop_flat_map(
            |(method, route, status, version, cases)| {
                shape_of(status).prop_map(move |shape| Contract {
                    key: ContractKey::new(method, &route, status, version),
                    route: route.clone(),
                    shape,
                    cases: cases.clone(),
                })
            },
        )
    }

    fn check_error_line(text: &str, result: Result<Contract, (Option<usize>, String)>) -> Result<(), TestCaseError> {
        if let Err((line, message)) = result {
            let lines = text.lines().count();
            prop_assert!(line.is_none_or(|l| l >= 1 && l <= lines.max(1)), "line {line:?} of {lines}: {message}");
            prop_assert!(!message.trim().is_empty());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(arbitrary::config(128))]

        #[test]
        fn every_contract_file_reads_back_as_the_same_contract(c in contract()) {
            let text = render(&c);
            prop_assert_eq!(parse(&text), Ok(c), "{}", text);
        }

        #[test]
        fn reading_any_text_gives_a_contract_or_a_located_error(text in any::<String>()) {
            check_error_line(&text, parse(&text))?;
        }

        #[test]
        fn reading_a_damaged_file_gives_a_contract_or_a_located_error(
            text in contract().prop_flat_map(|c| mutated(render(&c)))
        ) {
            let parsed = parse(&text);
            check_error_line(&text, parsed.clone())?;
            if let Ok(c) = parsed {
                prop_assert_eq!(parse(&render(&c)), Ok(c));
            }
        }
    }

    proptest! {
        // Each case writes and lists a folder: fewer of them.
        #![proptest_config(arbitrary::config(16))]

        #[test]
        fn a_written_set_loads_back(cs in prop::collection::vec(contract(), 1..4)) {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let mut expected = BTreeMap::new();
            for c in cs {
                expected.insert(c.key.file_name(), c);
            }
            write_all(dir.path(), expected.values()).expect("written");
            let set = ContractSet::load(dir.path()).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(set.contracts, expected);
        }
    }
}
