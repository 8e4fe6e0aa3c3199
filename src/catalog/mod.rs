//! The catalog: the one source of what the API is. `endpoints` lists the documented endpoints
//! (generated from the official client library); `model` adds, per endpoint, what the vendor's
//! pages document (parameters, response models, effects, sources), read from
//! `catalog/models/*.yaml` (`spec` is what those files say, `types` their type expressions).
//! Effects, contracts, which fields are credentials (`fields`), the simulator's data, coverage
//! and the OpenAPI document all come from here. It reads only its own files; it knows nothing of cases, runs or reports.

pub mod documented;
pub mod endpoints;
pub mod fields;
pub mod model;
pub mod spec;
pub mod types;

use std::path::{Path, PathBuf};

pub use endpoints::{Endpoint, key};
pub use model::{Body, Condition, Effect, EndpointDoc, Field, Model, Models, Presence, RequestFacts};
pub use types::{ModelRef, Term, TypeExpr};

use crate::case::Diagnostic;

/// The catalog: every endpoint, and the documented models of those that have one.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Every endpoint, in the file's order (by area, then route).
    pub endpoints: Vec<Endpoint>,
    /// Endpoints no vendor page documents but clients call (from the model files).
    pub unverified: Vec<Endpoint>,
    /// The documented models and endpoints.
    pub models: Models,
    /// Which fields are credentials, per documented endpoint (by its matching key).
    fields: std::collections::BTreeMap<(String, String), crate::secret::FieldPolicy>,
    /// `endpoints` by matching key.
    by_key: std::collections::HashMap<(String, String), usize>,
    /// `endpoints` then `unverified`, by upper-case method and number of segments: the only
    /// templates a request path can fit.
    by_shape: std::collections::HashMap<(String, usize), Vec<usize>>,
}

impl Catalog {
    /// The compiled-in catalog. An error here is a bug in the shipped files (the tests load it).
    pub fn builtin() -> Result<Catalog, String> {
        let files: Vec<model::ModelFile> = crate::suite::MODEL_FILES
            .iter()
            .map(|(path, text)| model::ModelFile { path: PathBuf::from(path), text: (*text).to_owned() })
            .collect();
        Catalog::from_files(endpoints::CATALOG, &files).map_err(|diags| render(&diags))
    }

    /// The compiled-in catalog, read once per process (the simulator starts many times in a
    /// run, once per case that needs a state of its own).
    pub fn shared() -> Result<&'static Catalog, &'static str> {
        static SHARED: std::sync::LazyLock<Result<Catalog, String>> = std::sync::LazyLock::new(Catalog::builtin);
        SHARED.as_ref().map_err(String::as_str)
    }

    /// The catalog with its models read from a folder (`coverage --catalog DIR`), to check
    /// model files while writing them.
    pub fn with_models_from(dir: &Path) -> Result<Catalog, Vec<Diagnostic>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| vec![Diagnostic::whole(dir, format!("cannot read the catalog folder: {e}"))])?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        paths.sort();
        let mut files = Vec::new();
        let mut diags = Vec::new();
        for p in paths {
            match crate::case::load::read_capped(dir, &p) {
                Ok(text) => files.push(model::ModelFile { path: p, text }),
                Err(d) => diags.push(d),
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        Catalog::from_files(endpoints::CATALOG, &files)
    }

    fn from_files(endpoints_text: &str, files: &[model::ModelFile]) -> Result<Catalog, Vec<Diagnostic>> {
        let endpoints = endpoints::parse(endpoints_text)
            .map_err(|e| vec![Diagnostic::whole(Path::new("catalog/endpoints.yaml"), e)])?;
        let models = model::load(files, &endpoints)?;
        let unverified = models
            .endpoints
            .iter()
            .filter(|d| d.unverified)
            .map(|d| Endpoint {
                area: d.area.clone(),
                method: d.method.clone(),
                route: d.route.clone(),
                effect: if d.effect >= Effect::Change { "change".into() } else { "read".into() },
                statuses: d.responses.keys().copied().collect(),
                source: d.sources.join("; "),
                note: Some("unverified: no vendor page documents it; clients call it".into()),
            })
            .collect();
        Ok(Catalog::new(endpoints, unverified, models))
    }

    /// A catalog of these endpoints and models, with what follows from them.
    pub fn new(endpoints: Vec<Endpoint>, unverified: Vec<Endpoint>, models: Models) -> Catalog {
        let fields = fields::policies(&models);
        let by_key = endpoints.iter().enumerate().map(|(i, e)| (e.key(), i)).collect();
        let mut by_shape: std::collections::HashMap<(String, usize), Vec<usize>> = Default::default();
        for (i, e) in endpoints.iter().chain(&unverified).enumerate() {
            by_shape.entry((e.method.to_ascii_uppercase(), endpoints::segments(&e.route).count())).or_default().push(i);
        }
        Catalog { endpoints, unverified, models, fields, by_key, by_shape }
    }

    /// The entry a method and route (template or path) belong to.
    pub fn find(&self, method: &str, route: &str) -> Option<&Endpoint> {
        self.by_key.get(&key(method, route)).and_then(|&i| self.endpoints.get(i))
    }

    /// The endpoint a request path (as sent, relative to the base URL) belongs to: the
    /// template that fits it with the most literal segments (see [`endpoints::fit`]).
    pub fn endpoint_of(&self, method: &str, path: &str) -> Option<&Endpoint> {
        let candidates = self.by_shape.get(&(method.to_ascii_uppercase(), endpoints::segments(path).count()))?;
        candidates
            .iter()
            .filter_map(|&i| self.endpoints.get(i).or_else(|| self.unverified.get(i - self.endpoints.len())))
            .filter_map(|e| endpoints::fit(&e.route, path).map(|n| (n, e)))
            .max_by_key(|(n, _)| *n)
            .map(|(_, e)| e)
    }

    /// The documented endpoint a request path belongs to, if its page is transcribed.
    pub fn doc_of(&self, method: &str, path: &str) -> Option<&EndpointDoc> {
        let e = self.endpoint_of(method, path)?;
        self.models.endpoint(&e.method, &e.route)
    }

    /// The areas, in order.
    pub fn areas(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for e in &self.endpoints {
            if !out.contains(&e.area.as_str()) {
                out.push(&e.area);
            }
        }
        out
    }

    /// What an endpoint does to the server: its model's effect, else the generated catalog's
    /// (`read` or `change`); `None` for an endpoint neither knows.
    pub fn effect(&self, method: &str, route: &str) -> Option<Effect> {
        match self.models.endpoint(method, route) {
            Some(doc) => Some(doc.effect),
            None => self.find(method, route).map(|e| Effect::of_catalog(&e.effect)),
        }
    }
}

fn render(diags: &[Diagnostic]) -> String {
    diags.iter().map(Diagnostic::render).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_models_load_without_a_problem() {
        if let Err(e) = Catalog::builtin() {
            panic!("the shipped model files have problems:\n{e}");
        }
    }
}
