//! Where the ids a case changes come from. A case that runs against a real instance may update
//! or delete only what it made. A `PUT`, `PATCH` or `DELETE` that the catalog says changes data
//! passes when its path is, as written, the path of an earlier `POST` of the same case (it
//! updates or undoes what that POST made: a link, a child), or when every id in its path is
//! either exactly one variable captured from an earlier `POST` step of the case (its create)
//! or a name the run gives (`psconform-{{ run_id }}-…`, which no object outside this run can
//! carry), or a fresh random id (`{{ uuid }}`: an unknown-id case, which only a refusal can
//! answer). A literal id, or an id taken from a list of what is already there, would let a case
//! file change an administrator's objects. Cases that run only against the built-in simulator
//! are exempt. This module finds the problems; the compiler turns them into diagnostics.

use std::collections::BTreeSet;

use crate::case::spec::{CaseSpec, Method, StepSpec};
use crate::catalog::{Catalog, Effect};
use crate::plan::template::Template;

/// One step that changes an object the case did not make.
#[derive(Debug, PartialEq, Eq)]
pub struct Problem {
    /// `steps` or `teardown`, and the step's index there (from 0).
    pub teardown: bool,
    /// The step's index.
    pub index: usize,
    /// What is wrong.
    pub message: String,
}

/// The steps (teardown or not, index from 0) that delete, or update in place, an object the
/// case itself made: a `DELETE`, or a `PUT`/`PATCH` of a route ending in the object's id, whose
/// ids all pass the rule above. The catalog calls deleting or rewriting a user, a group or a
/// registration irreversible because the object may be someone's; one the case made is not, so
/// such a step counts as a `change` (see `plan::effect`).
pub fn own_objects(case: &CaseSpec, catalog: &Catalog) -> BTreeSet<(bool, usize)> {
    let mut made = Made::default();
    let mut out = BTreeSet::new();
    let phases = [(false, &case.steps), (true, &case.teardown)];
    for (teardown, steps) in phases {
        for (index, step) in steps.iter().enumerate() {
            let request = &step.request.value;
            let in_place = match request.method {
                Method::Delete => true,
                Method::Put | Method::Patch => catalog
                    .endpoint_of(request.method.as_str(), &request.path.value)
                    .and_then(|e| e.route.rsplit('/').next().map(|last| last.starts_with('{')))
                    .unwrap_or(false),
                _ => false,
            };
            if in_place
                && catalog.endpoint_of(request.method.as_str(), &request.path.value).is_some()
                && problem(step, &made, catalog).is_none()
            {
                out.insert((teardown, index));
            }
            if !teardown && request.method == Method::Post {
                made.vars.extend(step.capture.iter().map(|(name, _)| name.value.clone()));
                made.paths.insert(normal(&request.path.value));
            }
        }
    }
    out
}

/// The problems of a case; none for a simulator-only case.
pub fn problems(case: &CaseSpec, catalog: &Catalog) -> Vec<Problem> {
    if case.simulator_only {
        return Vec::new();
    }
    let mut made = Made::default();
    let mut out = Vec::new();
    for (index, step) in case.steps.iter().enumerate() {
        if let Some(message) = problem(step, &made, catalog) {
            out.push(Problem { teardown: false, index, message });
        }
        if step.request.value.method == Method::Post {
            made.vars.extend(step.capture.iter().map(|(name, _)| name.value.clone()));
            made.paths.insert(normal(&step.request.value.path.value));
        }
    }
    for (index, step) in case.teardown.iter().enumerate() {
        if let Some(message) = problem(step, &made, catalog) {
            out.push(Problem { teardown: true, index, message });
        }
    }
    out
}

/// Built-in variables fresh for every use: no object that exists can have such an id, so a
/// change aimed at one can only be refused (the unknown-id cases).
const FRESH: &[&str] = &["uuid", "random_key"];

/// What the case's earlier `POST` steps made: the variables they captured and their paths.
#[derive(Default)]
struct Made {
    vars: BTreeSet<String>,
    paths: BTreeSet<String>,
}

/// A path as compared: without a query, slashes at the ends or case.
fn normal(path: &str) -> String {
    path.split(['?', '#']).next().unwrap_or("").trim_matches('/').to_ascii_lowercase()
}

/// A name only this run gives: `psconform-{{ run_id }}-…`.
fn run_named(segment: &str) -> bool {
    let compact: String = segment.chars().filter(|c| !c.is_whitespace()).collect();
    compact.to_ascii_lowercase().starts_with("psconform-{{run_id}}-")
}

/// What is wrong with one step, given what earlier creates made.
fn problem(step: &StepSpec, made: &Made, catalog: &Catalog) -> Option<String> {
    let request = &step.request.value;
    if !matches!(request.method, Method::Put | Method::Patch | Method::Delete) {
        return None;
    }
    let method = request.method.as_str();
    let path = request.path.value.as_str();
    let route = request.route.as_ref().map(|r| r.value.as_str());
    let endpoint = catalog.endpoint_of(method, route.unwrap_or(path))?;
    if matches!(catalog.effect(&endpoint.method, &endpoint.route), Some(Effect::Read | Effect::Audited))
        || made.paths.contains(&normal(path))
    {
        return None;
    }
    let ids: Vec<&str> = if route.is_some() {
        vec![path]
    } else {
        endpoint
            .route
            .split('/')
            .filter(|s| !s.is_empty())
            .zip(path.split(['?', '#']).next().unwrap_or("").split('/').filter(|s| !s.is_empty()))
            .filter(|(r, _)| r.starts_with('{') && r.ends_with('}'))
            .map(|(_, p)| p)
            .collect()
    };
    for id in ids {
        if run_named(id) {
            continue;
        }
        let var = Template::parse(id).ok().and_then(|t| t.sole_var().map(str::to_owned));
        let why = match var {
            Some(v) if made.vars.contains(&v) || FRESH.contains(&v.as_str()) => continue,
            Some(v) => format!("`{{{{ {v} }}}}` is not captured from an earlier POST (create) step of this case"),
            None => format!("`{id}` is not a variable captured from this case's own create step"),
        };
        return Some(format!("{method} {} changes an object this case did not make: {why}", endpoint.route));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(yaml: &str) -> CaseSpec {
        let text = format!("endpoint: test\ncases:\n{yaml}");
        let file = crate::case::load::parse(std::path::Path::new("t.yaml"), &text).expect("case file");
        file.cases.into_iter().next().expect("one case")
    }

    fn messages(yaml: &str) -> Vec<String> {
        let catalog = Catalog::shared().expect("catalog");
        problems(&case(yaml), catalog).into_iter().map(|p| p.message).collect()
    }

    const CREATE: &str = r#"
      - request: { method: POST, path: Users, body: { json: { UserName: "psconform-{{ run_id }}-u" } } }
        capture: { user: { path: $.UserID } }
"#;

    #[test]
    fn ids_from_the_case_own_create_pass() {
        let yaml = format!(
            "  - name: flow\n    summary: s\n    effect: mutating\n    steps:{CREATE}      - request: {{ method: PUT, path: \"Users/{{{{ user }}}}\" }}\n    teardown:\n      - request: {{ method: DELETE, path: \"Users/{{{{ user }}}}\" }}\n"
        );
        assert_eq!(messages(&yaml), Vec::<String>::new());
    }

    #[test]
    fn a_literal_id_or_one_from_a_list_is_refused() {
        let literal = "  - name: flow\n    summary: s\n    effect: mutating\n    steps:\n      - request: { method: DELETE, path: Users/42 }\n";
        assert_eq!(
            messages(literal),
            vec![
                "DELETE Users/{userId} changes an object this case did not make: `42` is not a variable captured from this case's own create step"
            ]
        );
        let listed = "  - name: flow\n    summary: s\n    effect: mutating\n    steps:\n      - request: { method: GET, path: Users }\n        capture: { user: { path: \"$[0].UserID\" } }\n      - request: { method: PUT, path: \"Users/{{ user }}\" }\n";
        assert_eq!(
            messages(listed),
            vec![
                "PUT Users/{userId} changes an object this case did not make: `{{ user }}` is not captured from an earlier POST (create) step of this case"
            ]
        );
    }

    #[test]
    fn undoing_what_a_post_made_and_run_names_pass() {
        let link = "  - name: flow\n    summary: s\n    effect: mutating\n    steps:\n      - request: { method: GET, path: UserGroups }\n        capture: { group: { path: \"$[0].GroupID\" } }\n      - request: { method: POST, path: \"UserGroups/{{ group }}/Users/{{ group }}\" }\n    teardown:\n      - request: { method: DELETE, path: \"/usergroups/{{ group }}/users/{{ group }}\" }\n";
        assert_eq!(messages(link), Vec::<String>::new());
        let fresh = "  - name: flow\n    summary: s\n    effect: mutating\n    steps:\n      - request: { method: DELETE, path: \"Secrets-Safe/Secrets/{{ uuid }}\" }\n";
        assert_eq!(messages(fresh), Vec::<String>::new());
        let named = "  - name: flow\n    summary: s\n    effect: mutating\n    steps:\n      - request: { method: DELETE, path: \"Workgroups/psconform-{{run_id}}-wg/Assets\" }\n";
        assert_eq!(messages(named), Vec::<String>::new());
    }

    #[test]
    fn simulator_only_cases_and_reads_are_exempt() {
        let sim = "  - name: flow\n    summary: s\n    effect: mutating\n    simulator_only: true\n    steps:\n      - request: { method: DELETE, path: Users/42 }\n";
        assert!(messages(sim).is_empty());
        let read = "  - name: flow\n    summary: s\n    effect: read\n    steps:\n      - request: { method: GET, path: Users/42 }\n";
        assert!(messages(read).is_empty());
    }
}
