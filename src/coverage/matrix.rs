//! The coverage matrix: for each catalog endpoint, the cases that exercise it, the statuses
//! they assert, and (after a run) the statuses the target answered. Endpoints the cases call
//! that the catalog does not list are kept apart, not dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, key};
use crate::plan::CasePlan;
use crate::plan::suite::Exercised;
use crate::result::run::Observed;
use crate::seal::{Redact, Redactor};

/// One endpoint's coverage.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EndpointCoverage {
    /// The API area.
    pub area: String,
    /// The method.
    pub method: String,
    /// The route template.
    pub route: String,
    /// What it does to a server: `read`, `audited`, `change`, `release` or `irreversible`
    /// (empty for an endpoint the catalog does not list).
    pub effect: String,
    /// The statuses the documentation gives.
    pub documented: Vec<u16>,
    /// The model file that documents it (`catalog/models/users.yaml`), if one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The vendor pages and client sources its model cites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// No vendor page documents it; clients call it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unverified: bool,
    /// The query parameters the documentation gives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<String>,
    /// The documented query parameters the cases send.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub parameters_exercised: BTreeSet<String>,
    /// Query parameters the cases send that the documentation does not give, with the cases.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub undocumented_parameters: BTreeMap<String, BTreeSet<String>>,
    /// The cases that exercise it.
    pub cases: BTreeSet<String>,
    /// The statuses their steps assert (`200`, `4xx`).
    pub asserted: BTreeSet<String>,
    /// The statuses a run observed.
    pub observed: BTreeSet<u16>,
}

impl EndpointCoverage {
    /// Whether any case exercises it.
    pub fn covered(&self) -> bool {
        !self.cases.is_empty()
    }

    /// Whether it changes anything on the server (a change, a release, an irreversible
    /// change), as opposed to reading.
    pub fn changes(&self) -> bool {
        matches!(self.effect.as_str(), "change" | "release" | "irreversible")
    }
}

/// The whole matrix.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// Every catalog endpoint, in catalog order.
    pub endpoints: Vec<EndpointCoverage>,
    /// Endpoints cases call that the catalog does not list.
    pub uncatalogued: Vec<EndpointCoverage>,
    /// Catalog endpoints.
    pub total: usize,
    /// Catalog endpoints at least one case exercises.
    pub covered: usize,
    /// Catalog areas.
    pub areas: usize,
    /// Areas with at least one covered endpoint.
    pub areas_covered: usize,
    /// Endpoints that read (`read`, `audited`), and how many of them are covered.
    pub read: Count,
    /// Endpoints that change something (`change`, `release`, `irreversible`), and how many of
    /// them are covered.
    pub change: Count,
    /// Endpoints with a documented model.
    pub documented_models: usize,
}

/// A part of the catalog: how many endpoints, how many of them covered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// Endpoints.
    pub total: usize,
    /// Covered.
    pub covered: usize,
}

impl Redact for EndpointCoverage {
    fn redact(&mut self, r: &Redactor) {
        self.route.redact(r);
        self.cases.redact(r);
    }
}

impl Redact for Coverage {
    fn redact(&mut self, r: &Redactor) {
        self.endpoints.redact(r);
        self.uncatalogued.redact(r);
    }
}

/// Each request of each case, with the case's name: what [`Coverage::of_exercised`] reads.
pub fn requests<N: AsRef<str>, E: AsRef<[Exercised]>>(cases: &[(N, E)]) -> impl Iterator<Item = (&str, &Exercised)> {
    cases.iter().flat_map(|(name, steps)| steps.as_ref().iter().map(move |s| (name.as_ref(), s)))
}

impl Coverage {
    /// The matrix of a plan's cases, with the statuses a run observed, if any.
    pub fn of<'a>(
        catalog: &Catalog,
        cases: impl IntoIterator<Item = &'a CasePlan>,
        observed: impl IntoIterator<Item = &'a Observed>,
    ) -> Coverage {
        let exercised: Vec<(&str, Vec<Exercised>)> =
            cases.into_iter().map(|c| (c.name.as_str(), Exercised::of(c))).collect();
        Coverage::of_exercised(catalog, requests(&exercised), observed)
    }

    /// The matrix of what cases exercise (case name, request), with the statuses a run
    /// observed, if any.
    pub fn of_exercised<'e, 'o>(
        catalog: &Catalog,
        exercised: impl IntoIterator<Item = (&'e str, &'e Exercised)>,
        observed: impl IntoIterator<Item = &'o Observed>,
    ) -> Coverage {
        let listed: Vec<&crate::catalog::Endpoint> = catalog.endpoints.iter().chain(&catalog.unverified).collect();
        let mut rows: Vec<EndpointCoverage> = listed
            .iter()
            .map(|e| {
                let doc = catalog.models.endpoint(&e.method, &e.route);
                EndpointCoverage {
                    area: e.area.clone(),
                    method: e.method.clone(),
                    route: e.route.clone(),
                    effect: catalog.effect(&e.method, &e.route).map(|f| f.name().to_owned()).unwrap_or_default(),
                    documented: doc.map_or_else(|| e.statuses.clone(), |d| d.responses.keys().copied().collect()),
                    model: doc.map(|d| d.file.display().to_string()),
                    sources: doc
                        .map(|d| {
                            d.sources
                                .iter()
                                .filter_map(|id| catalog.models.source(&d.slug, id))
                                .map(|s| s.url.clone())
                                .collect()
                        })
                        .unwrap_or_default(),
                    unverified: doc.is_some_and(|d| d.unverified),
                    parameters: doc.map(|d| d.query.iter().map(|q| q.name.clone()).collect()).unwrap_or_default(),
                    ..Default::default()
                }
            })
            .collect();
        // Unverified endpoints follow their area's others.
        rows.sort_by_key(|r| catalog.areas().iter().position(|a| *a == r.area).unwrap_or(usize::MAX));
        let index: BTreeMap<(String, String), usize> =
            rows.iter().enumerate().map(|(i, r)| (key(&r.method, &r.route), i)).collect();
        let mut extra: BTreeMap<(String, String), EndpointCoverage> = BTreeMap::new();
        let mut touch = |method: &str, route: &str, f: &mut dyn FnMut(&mut EndpointCoverage)| {
            let k = key(method, route);
            match index.get(&k) {
                Some(i) => f(&mut rows[*i]),
                None => f(extra.entry(k).or_insert_with(|| EndpointCoverage {
                    area: "(not in the catalog)".into(),
                    method: method.to_ascii_uppercase(),
                    route: route.to_owned(),
                    ..Default::default()
                })),
            }
        };
        for (name, step) in exercised {
            touch(step.method, &step.route, &mut |row| {
                row.cases.insert(name.to_owned());
                row.asserted.extend(step.asserted.iter().cloned());
                for p in &step.params {
                    match row.parameters.iter().find(|d| d.eq_ignore_ascii_case(p)) {
                        Some(d) => {
                            row.parameters_exercised.insert(d.clone());
                        }
                        // `version` picks a model version on every endpoint that has one.
                        None if p.eq_ignore_ascii_case("version") => {}
                        None if !row.documented.is_empty() || row.model.is_some() => {
                            row.undocumented_parameters.entry(p.clone()).or_default().insert(name.to_owned());
                        }
                        None => {}
                    }
                }
            });
        }
        for o in observed {
            touch(&o.endpoint.method, &o.endpoint.route, &mut |row| {
                row.observed.insert(o.status);
            });
        }
        // The catalog's count is the documented endpoints; unverified ones are listed apart.
        let counted = || rows.iter().filter(|r| !r.unverified);
        let covered = counted().filter(|r| r.covered()).count();
        let areas = catalog.areas();
        let areas_covered = areas.iter().filter(|a| rows.iter().any(|r| r.area == **a && r.covered())).count();
        let count = |changes: bool| Count {
            total: counted().filter(|r| r.changes() == changes).count(),
            covered: counted().filter(|r| r.changes() == changes && r.covered()).count(),
        };
        Coverage {
            total: counted().count(),
            covered,
            areas: areas.len(),
            areas_covered,
            read: count(false),
            change: count(true),
            documented_models: counted().filter(|r| r.model.is_some()).count(),
            endpoints: rows,
            uncatalogued: extra.into_values().collect(),
        }
    }

    /// The rows grouped by area, in catalog order.
    pub fn by_area(&self) -> Vec<(&str, Vec<&EndpointCoverage>)> {
        let mut out: Vec<(&str, Vec<&EndpointCoverage>)> = Vec::new();
        for r in &self.endpoints {
            match out.last_mut() {
                Some((area, rows)) if *area == r.area => rows.push(r),
                _ => out.push((&r.area, vec![r])),
            }
        }
        out
    }

    /// The headline: how much of the catalog the cases exercise.
    pub fn headline(&self) -> String {
        format!(
            "{} of {} documented endpoints covered ({:.0} %): {} of {} that read, {} of {} that change; in {} of {} areas; {} with a documented model",
            self.covered,
            self.total,
            100.0 * self.covered as f64 / self.total.max(1) as f64,
            self.read.covered,
            self.read.total,
            self.change.covered,
            self.change.total,
            self.areas_covered,
            self.areas,
            self.documented_models,
        )
    }

    /// A table for the terminal: covered endpoints in full, then each area's uncovered
    /// endpoints by name, so what is not covered is said plainly.
    pub fn terminal(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{}\n", self.headline());
        let width = self.endpoints.iter().map(|r| r.method.len() + r.route.len() + 1).max().unwrap_or(20).min(72);
        for (area, rows) in self.by_area() {
            let covered = rows.iter().filter(|r| r.covered()).count();
            let _ = writeln!(out, "{area}  ({covered} of {})", rows.len());
            for r in rows {
                let endpoint = format!("{} {}", r.method, r.route);
                let tag = format!("{}{}", r.effect, if r.unverified { ", unverified" } else { "" });
                if r.covered() {
                    let _ = writeln!(
                        out,
                        "  {endpoint:<width$}  [{tag}]  {} case(s)  asserts {}{}{}",
                        r.cases.len(),
                        join(&r.asserted),
                        observed(r),
                        undocumented(r)
                    );
                } else {
                    let _ = writeln!(out, "  {endpoint:<width$}  [{tag}]  not covered");
                }
            }
        }
        if !self.uncatalogued.is_empty() {
            let _ = writeln!(out, "\nExercised but not in the catalog:");
            for r in &self.uncatalogued {
                let _ = writeln!(
                    out,
                    "  {} {}  {} case(s)  asserts {}{}",
                    r.method,
                    r.route,
                    r.cases.len(),
                    join(&r.asserted),
                    observed(r)
                );
            }
        }
        out
    }

    /// Markdown, for a pull request or a ticket.
    pub fn markdown(&self) -> String {
        use crate::escape::{cell, code, text};
        let mut out = format!("# API coverage\n\n{}.\n", self.headline());
        for (area, rows) in self.by_area() {
            let area = text(area);
            let covered = rows.iter().filter(|r| r.covered()).count();
            let _ = writeln!(
                out,
                "\n## {area} ({covered} of {})\n\n| endpoint | effect | cases | asserted | observed | documented | model |\n|---|---|---|---|---|---|---|",
                rows.len()
            );
            for r in rows {
                let cases = if r.covered() { r.cases.len().to_string() } else { "**not covered**".into() };
                let obs: Vec<String> = r.observed.iter().map(u16::to_string).collect();
                let doc: Vec<String> = r.documented.iter().map(u16::to_string).collect();
                let model = match (&r.model, r.sources.first()) {
                    (Some(file), Some(url)) => format!("[{}]({url})", text(file.rsplit('/').next().unwrap_or(file))),
                    (Some(file), None) => code(file),
                    _ => "–".into(),
                };
                let _ = writeln!(
                    out,
                    "| {}{} | {} | {cases} | {} | {} | {} | {} |",
                    cell(&code(&format!("{} {}", r.method, r.route))),
                    if r.unverified { " (unverified)" } else { "" },
                    r.effect,
                    cell(&text(&join(&r.asserted))),
                    if obs.is_empty() { "–".into() } else { obs.join(", ") },
                    if doc.is_empty() { "–".into() } else { doc.join(", ") },
                    cell(&model),
                );
            }
        }
        if !self.uncatalogued.is_empty() {
            let _ = writeln!(out, "\n## Exercised but not in the catalog\n");
            for r in &self.uncatalogued {
                let _ = writeln!(out, "- {}: {} case(s)", code(&format!("{} {}", r.method, r.route)), r.cases.len());
            }
        }
        out
    }
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() { "–".into() } else { set.iter().cloned().collect::<Vec<_>>().join(", ") }
}

/// The undocumented query parameters cases send, for a row.
fn undocumented(r: &EndpointCoverage) -> String {
    if r.undocumented_parameters.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = r.undocumented_parameters.keys().map(String::as_str).collect();
    format!("  sends undocumented {}", names.join(", "))
}

fn observed(r: &EndpointCoverage) -> String {
    if r.observed.is_empty() {
        String::new()
    } else {
        format!("  observed {}", r.observed.iter().map(u16::to_string).collect::<Vec<_>>().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(yaml: &str) -> Vec<CasePlan> {
        let dir = tempfile::tempdir().expect("temp");
        std::fs::write(dir.path().join("t.yaml"), yaml).expect("write");
        match crate::plan::compile(&[dir.path().to_path_buf()], &[]) {
            Ok(p) => p.cases,
            Err(d) => panic!("{d:?}"),
        }
    }

    #[test]
    fn cases_map_to_catalog_endpoints_with_their_asserted_statuses() {
        let cases = plan(
            r#"
endpoint: release
cases:
  - name: a
    summary: s
    effect: audited
    steps:
      - request: { method: GET, path: managedaccounts }
        expect: { status: [200, 404] }
      - request: { method: GET, path: "Credentials/{{ uuid }}" }
        expect: { status: 4xx }
      - request: { method: GET, path: Not/In/Catalog }
"#,
        );
        let catalog = Catalog::builtin().expect("catalog");
        let m = Coverage::of(&catalog, &cases, &[]);
        let row = |route: &str| m.endpoints.iter().find(|r| r.route == route).expect("a catalog row");
        assert_eq!(row("ManagedAccounts").asserted.iter().collect::<Vec<_>>(), ["200", "404"]);
        assert_eq!(row("Credentials/{requestId}").asserted.iter().collect::<Vec<_>>(), ["4xx"]);
        assert_eq!(m.covered, 2);
        assert_eq!(m.uncatalogued.len(), 1);
        assert!(m.terminal().contains("not covered"));
        assert!(m.headline().starts_with("2 of "));
    }
}
