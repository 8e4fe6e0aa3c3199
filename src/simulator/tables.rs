//! The simulator's one store: the records of every resource the catalog's models declare
//! (`resources:` in `catalog/models/*.yaml`), the links between records that no field holds
//! (`links:`), and beside each record its hidden part, the values no documented route shows
//! (a managed account's password, a secret's value, who owns a request). The table routes
//! (`resources`) and the coded behaviours read and write the same records, so `GET Workgroups`
//! and `GET Workgroups/{id}/ManagedSystems` can never disagree.
//!
//! Records are made from the documented models when a simulator starts (see `fill` for what
//! each data variant makes of them), after the demo records that `seed` plants; the state then
//! belongs to that one running simulator and is bounded: a resource holds at most
//! [`MAX_RECORDS`] records and a link as many pairs. Nothing here answers HTTP.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::data::DataVariant;
use super::fill::{self, Fit};
use crate::catalog::model::Resource;
use crate::catalog::{Catalog, Field, ModelRef, Term};
use crate::shape::StringFormat;

/// Most records one resource holds, and most pairs one link holds: a create past it is
/// refused, so a client in a loop cannot grow the simulator's memory without bound.
pub(crate) const MAX_RECORDS: usize = 10_000;

/// A resource or link by its file's slug and its name, as the catalog keys them.
pub(crate) type Key = (String, String);

/// A resource the coded behaviours name: its file's slug and its model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Res(pub &'static str, pub &'static str);

impl Res {
    pub(crate) fn key(self) -> Key {
        (self.0.to_owned(), self.1.to_owned())
    }

    pub(crate) fn model(self) -> ModelRef {
        ModelRef { area: Some(self.0.to_owned()), name: self.1.to_owned() }
    }
}

pub(crate) const WORKGROUP: Res = Res("workgroups", "Workgroup");
pub(crate) const ASSET: Res = Res("assets", "Asset");
pub(crate) const DATABASE: Res = Res("databases", "Database");
pub(crate) const DIRECTORY: Res = Res("directories", "Directory");
pub(crate) const MANAGED_SYSTEM: Res = Res("managed-systems", "ManagedSystem");
pub(crate) const MANAGED_ACCOUNT: Res = Res("managed-accounts", "ManagedAccount");
pub(crate) const USER: Res = Res("users", "User");
pub(crate) const USER_GROUP: Res = Res("user-groups", "UserGroup");
pub(crate) const FOLDER: Res = Res("folders", "Folder");
pub(crate) const SECRET: Res = Res("secrets", "Secret");
pub(crate) const REQUEST: Res = Res("requests", "Request");
pub(crate) const SESSION: Res = Res("sessions", "Session");
pub(crate) const KEYSTROKE: Res = Res("keystrokes", "Keystroke");
pub(crate) const SMART_RULE: Res = Res("smart-rules", "SmartRule");
pub(crate) const ACCESS_POLICY: Res = Res("access-policies", "AccessPolicy");
pub(crate) const ALIAS: Res = Res("aliases", "Alias");
pub(crate) const PASSWORD_RULE: Res = Res("password-rules", "PasswordRule");
pub(crate) const PLATFORM: Res = Res("platforms", "Platform");
pub(crate) const ROLE: Res = Res("roles", "Role");
pub(crate) const PERMISSION: Res = Res("permissions", "Permission");
pub(crate) const REQUEST_SET: Res = Res("request-sets", "RequestSet");
pub(crate) const USER_AUDIT: Res = Res("user-audits", "UserAudit");
pub(crate) const API_REGISTRATION: Res = Res("api-registrations", "ApiRegistration");
pub(crate) const ORGANIZATION: Res = Res("organizations", "Organization");

/// The resources whose records the demo data plants (`seed`) rather than the models: the ones
/// the release, Secrets Safe and lookup flows work on, whose records tests and cases name, and
/// those only a behaviour makes (requests and request sets start empty).
pub(crate) const SEEDED: &[Res] =
    &[WORKGROUP, ASSET, MANAGED_SYSTEM, MANAGED_ACCOUNT, USER, USER_GROUP, FOLDER, SECRET, REQUEST, REQUEST_SET];

/// Records per generated resource in each variant: enough for a list, a page and a lookup.
fn count(data: DataVariant) -> usize {
    match data {
        DataVariant::Standard => 3,
        DataVariant::Sparse => 2,
        DataVariant::Extended => 4,
    }
}

/// The field the extended variant adds to some records, as newer servers add fields the pages
/// do not list yet.
pub(crate) const UNDOCUMENTED: &str = "PsconformUndocumented";

/// Every resource's records, their hidden parts, and every link's pairs of ids.
#[derive(Debug, Clone, Default)]
pub(crate) struct Tables {
    records: BTreeMap<Key, Vec<Value>>,
    hidden: BTreeMap<(Key, String), Map<String, Value>>,
    links: BTreeMap<Key, Vec<(String, String)>>,
    /// The next id of each resource with a numeric id.
    next: BTreeMap<Key, u64>,
    /// The data variant the records were made in (how made-up values look).
    pub(crate) data: DataVariant,
}

impl Tables {
    /// An empty store for `data`: `seed` plants its records, then [`Tables::generate`] makes
    /// the rest.
    pub(crate) fn new(data: DataVariant) -> Tables {
        Tables { data, ..Tables::default() }
    }

    /// Records for every resource that has none yet and is not [`SEEDED`], made from the
    /// models, parents first so that a record's parent id names a record that exists; then
    /// the links, each record of a link's first end linked to two of the other's.
    pub(crate) fn generate(&mut self, catalog: &Catalog) {
        let resources: Vec<&Resource> = catalog.models.resources.values().collect();
        let mut done: Vec<Key> = SEEDED.iter().map(|r| r.key()).collect();
        // A parent that is not a resource (or a loop) does not hold a record up.
        for _ in 0..=resources.len() {
            for r in &resources {
                let k = key(&r.model);
                if done.contains(&k) {
                    continue;
                }
                let ready = r.parents.iter().all(|(p, _)| {
                    let pk = key(p);
                    pk == k || done.contains(&pk) || !catalog.models.resources.contains_key(&pk)
                });
                if ready {
                    self.make(catalog, r);
                    done.push(k);
                }
            }
        }
        for (lk, link) in &catalog.models.links {
            if self.links.get(lk).is_some_and(|p| !p.is_empty()) {
                continue;
            }
            let from = self.ids(catalog, &link.from);
            let to = self.ids(catalog, &link.to);
            let pairs: Vec<(String, String)> = from
                .iter()
                .enumerate()
                .flat_map(|(i, f)| to.iter().skip(i % 2).take(2).map(move |t| (f.clone(), t.clone())))
                .filter(|(f, t)| f != t || key(&link.from) != key(&link.to))
                .collect();
            self.links.insert(lk.clone(), pairs);
        }
    }

    /// The made-up records of one resource, added to those already planted.
    fn make(&mut self, catalog: &Catalog, r: &Resource) {
        let Some(model) = catalog.models.model(&r.model) else { return };
        let k = key(&r.model);
        let n_max = count(self.data);
        let mut rows = Vec::new();
        for n in 1..=n_max {
            let id = self.next_id(catalog, &r.model);
            let mut row = Map::new();
            row.insert(r.id.clone(), id);
            if let Some(name) = &r.name {
                row.insert(name.clone(), Value::String(format!("{}-{n}", fill::kebab(&model.name))));
            }
            for (parent, field) in &r.parents {
                let ids = self.ids_of(catalog, parent);
                if let Some(id) = ids.get((n - 1) % ids.len().max(1)) {
                    row.insert(field.clone(), id.clone());
                }
            }
            // Standard is a mix: its last record takes the sparse form.
            let sparse = match self.data {
                DataVariant::Sparse => true,
                DataVariant::Standard => n == n_max,
                DataVariant::Extended => false,
            };
            // The id always stays; a name or a parent stays unless the model lets it be null
            // (then the sparse form takes that freedom too).
            let nullable = |field: &str| model.fields.iter().any(|f| f.name == field && f.ty.nullable());
            let mut keep: Vec<&str> = row.keys().map(String::as_str).filter(|k| !(sparse && nullable(k))).collect();
            keep.push(r.id.as_str());
            let seed = fill::seed_of(&[&r.model.to_string(), &n.to_string(), self.data.name()]);
            let mut made = fill::fit(
                &catalog.models,
                &r.model,
                Value::Object(row.clone()),
                Fit::make(sparse).nulls(n % 2 == 0),
                &keep,
                None,
                seed,
            );
            if self.data == DataVariant::Extended
                && n % 2 == 0
                && let Some(o) = made.as_object_mut()
            {
                o.insert(UNDOCUMENTED.into(), Value::String("a field newer servers add".into()));
            }
            rows.push(made);
        }
        self.records.entry(k).or_default().extend(rows);
    }

    /// The records of a resource.
    pub(crate) fn rows(&self, r: Res) -> &[Value] {
        self.rows_of(&r.key())
    }

    pub(crate) fn rows_of(&self, k: &Key) -> &[Value] {
        self.records.get(k).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn rows_mut(&mut self, k: &Key) -> &mut Vec<Value> {
        self.records.entry(k.clone()).or_default()
    }

    /// The record of `r` whose id is `id` (compared as a server compares: text ignoring case,
    /// numbers by value).
    pub(crate) fn find(&self, catalog: &Catalog, r: Res, id: &str) -> Option<&Value> {
        self.find_key(catalog, &r.key(), id)
    }

    pub(crate) fn find_mut(&mut self, catalog: &Catalog, r: Res, id: &str) -> Option<&mut Value> {
        let idf = id_field(catalog, &r.key())?;
        self.rows_mut(&r.key()).iter_mut().find(|row| same(&row[idf.as_str()], id))
    }

    /// Adds a record, with a fresh id unless it has one; `None` when the resource is full.
    pub(crate) fn insert(&mut self, catalog: &Catalog, k: &Key, mut row: Value) -> Option<Value> {
        let idf = id_field(catalog, k)?;
        if self.rows_of(k).len() >= MAX_RECORDS {
            return None;
        }
        let model = ModelRef { area: Some(k.0.clone()), name: k.1.clone() };
        if row.get(&idf).is_none_or(Value::is_null) {
            let id = self.next_id(catalog, &model);
            if let Some(o) = row.as_object_mut() {
                o.insert(idf.clone(), id);
            }
        } else if let Some(n) = row[&idf].as_u64() {
            // A planted id: the next made-up one comes after it.
            let next = self.next.entry(k.clone()).or_insert(1);
            *next = (*next).max(n + 1);
        }
        self.rows_mut(k).push(row.clone());
        Some(row)
    }

    /// Removes the record of `k` whose id is `id`, with its hidden part and its links.
    pub(crate) fn remove(&mut self, catalog: &Catalog, k: &Key, id: &Value) {
        let Some(idf) = id_field(catalog, k) else { return };
        self.rows_mut(k).retain(|r| r.get(&idf) != Some(id));
        let id_text = text(id);
        self.hidden.remove(&(k.clone(), id_text.clone()));
        for (lk, l) in &catalog.models.links {
            if let Some(pairs) = self.links.get_mut(lk) {
                pairs.retain(|(f, t)| !((key(&l.from) == *k && *f == id_text) || (key(&l.to) == *k && *t == id_text)));
            }
        }
    }

    /// The hidden part of a record: what no documented route shows.
    pub(crate) fn hidden(&self, r: Res, id: &str) -> Option<&Map<String, Value>> {
        self.hidden.get(&(r.key(), id.to_owned()))
    }

    pub(crate) fn hidden_mut(&mut self, r: Res, id: &str) -> &mut Map<String, Value> {
        self.hidden_of_mut(&r.key(), id)
    }

    pub(crate) fn hidden_of_mut(&mut self, k: &Key, id: &str) -> &mut Map<String, Value> {
        self.hidden.entry((k.clone(), id.to_owned())).or_default()
    }

    /// The record of resource `k` whose id is `id`.
    pub(crate) fn find_key(&self, catalog: &Catalog, k: &Key, id: &str) -> Option<&Value> {
        let idf = id_field(catalog, k)?;
        self.rows_of(k).iter().find(|row| same(&row[idf.as_str()], id))
    }

    /// The pairs of a link (`from` id, `to` id).
    pub(crate) fn pairs(&self, link: &Key) -> &[(String, String)] {
        self.links.get(link).map_or(&[], Vec::as_slice)
    }

    pub(crate) fn pairs_mut(&mut self, link: &Key) -> &mut Vec<(String, String)> {
        self.links.entry(link.clone()).or_default()
    }

    /// The ids of a resource's records, as text.
    pub(crate) fn ids(&self, catalog: &Catalog, model: &ModelRef) -> Vec<String> {
        self.ids_of(catalog, model).iter().map(text).collect()
    }

    fn ids_of(&self, catalog: &Catalog, model: &ModelRef) -> Vec<Value> {
        let Some(idf) = id_field(catalog, &key(model)) else { return Vec::new() };
        self.rows_of(&key(model)).iter().map(|r| r[idf.as_str()].clone()).collect()
    }

    /// The id the next record of `model` gets: a number, or a GUID where the model says so.
    pub(crate) fn next_id(&mut self, catalog: &Catalog, model: &ModelRef) -> Value {
        let k = key(model);
        let n = self.next.entry(k.clone()).or_insert(1);
        let this = *n;
        *n += 1;
        let field = catalog
            .models
            .resources
            .get(&k)
            .and_then(|r| catalog.models.model(&r.model)?.fields.iter().find(|f| f.name == r.id).cloned());
        id_value(field.as_ref(), this)
    }

    /// The id of the record of `model` that a route segment names, by its id or (as some
    /// routes allow) by its name.
    pub(crate) fn id_named(&self, catalog: &Catalog, model: &ModelRef, given: &str) -> Option<Value> {
        let res = catalog.models.resources.get(&key(model))?;
        self.rows_of(&key(model))
            .iter()
            .find(|r| same(&r[&res.id], given) || res.name.as_ref().is_some_and(|n| same(&r[n.as_str()], given)))
            .map(|r| r[&res.id].clone())
    }
}

/// A model's key in the catalog.
pub(crate) fn key(r: &ModelRef) -> Key {
    (r.area.clone().unwrap_or_default(), r.name.clone())
}

/// The id field of a resource.
pub(crate) fn id_field(catalog: &Catalog, k: &Key) -> Option<String> {
    catalog.models.resources.get(k).map(|r| r.id.clone())
}

/// A value as a route segment or a link holds it.
pub(crate) fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whether a record's value is what a request names, as a server compares it: text ignoring
/// case (and a GUID with or without braces), numbers by value.
pub(crate) fn same(v: &Value, given: &str) -> bool {
    let given = given.trim();
    match v {
        Value::String(s) => s.eq_ignore_ascii_case(given) || s.eq_ignore_ascii_case(given.trim_matches(['{', '}'])),
        Value::Number(n) => n.to_string() == given,
        Value::Bool(b) => given.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

/// The `n`th id of a resource: a number, or a GUID or a text where the model says so.
fn id_value(f: Option<&Field>, n: u64) -> Value {
    let terms = f.map(|f| f.ty.0.as_slice()).unwrap_or_default();
    if terms.iter().any(|t| matches!(t, Term::String(Some(StringFormat::Guid)))) {
        Value::String(format!("5eed{n:04x}-0000-4000-8000-{:012x}", n * 7919))
    } else if terms.iter().any(|t| matches!(t, Term::String(_))) {
        Value::String(format!("id-{n}"))
    } else {
        Value::from(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_exist_for_every_generated_resource_and_parents_resolve() {
        let catalog = Catalog::builtin().expect("catalog");
        for data in DataVariant::ALL {
            let mut t = Tables::new(*data);
            t.generate(&catalog);
            for (k, res) in &catalog.models.resources {
                if SEEDED.iter().any(|s| s.key() == *k) {
                    continue;
                }
                assert!(!t.rows_of(k).is_empty(), "{k:?} has no record ({data:?})");
                for row in t.rows_of(k) {
                    for (parent, field) in &res.parents {
                        if SEEDED.iter().any(|s| s.key() == key(parent))
                            || !catalog.models.resources.contains_key(&key(parent))
                        {
                            continue;
                        }
                        // A nullable parent field may take its freedom; one that names a parent
                        // names one that exists.
                        if row.get(field).is_none_or(Value::is_null) {
                            continue;
                        }
                        let ids = t.ids_of(&catalog, parent);
                        assert!(ids.contains(&row[field.as_str()]), "{k:?}.{field} names no {parent}");
                    }
                }
            }
        }
    }

    #[test]
    fn ids_follow_planted_ones_and_the_cap_holds() {
        let catalog = Catalog::builtin().expect("catalog");
        let mut t = Tables::new(DataVariant::Standard);
        let k = WORKGROUP.key();
        t.insert(&catalog, &k, serde_json::json!({"ID": 41, "Name": "a", "OrganizationID": "o"})).expect("room");
        let made = t.insert(&catalog, &k, serde_json::json!({"Name": "b", "OrganizationID": "o"})).expect("room");
        assert_eq!(made["ID"], 42);
        assert!(t.find(&catalog, WORKGROUP, "42").is_some() && t.find(&catalog, WORKGROUP, "43").is_none());
        t.rows_mut(&k).resize(MAX_RECORDS, Value::Null);
        assert!(t.insert(&catalog, &k, serde_json::json!({"Name": "c"})).is_none(), "a full resource refuses more");
    }

    #[test]
    fn comparisons_as_a_server_makes_them() {
        assert!(same(&Value::from("AbC"), "abc"));
        assert!(same(&Value::from("6f1d0c3a-2b4e-4c8d-9a1f-3e5b7c9d1a20"), "{6F1D0C3A-2B4E-4C8D-9A1F-3E5B7C9D1A20}"));
        assert!(same(&Value::from(12), " 12"));
        assert!(!same(&Value::Null, "null"));
    }
}
