//! Drift reports: every shape change between two snapshot sets (or between a snapshot set and
//! a live run), classified and grouped by endpoint, as Markdown for a pull request and as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::shape::{Change, Severity, diff};
use crate::snapshot::SnapFile;

/// Exit code of `drift` when only additive changes were found.
pub const EXIT_ADDITIVE: u8 = 1;
/// Exit code of `drift` when a breaking change was found.
pub const EXIT_BREAKING: u8 = 4;

/// A change at one snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The snapshot's name (`auth__sign-app-in__api-key__1`).
    pub snapshot: String,
    /// The case file it records.
    pub case_file: String,
    /// The change.
    #[serde(flatten)]
    pub change: Change,
}

/// All changes, grouped by endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The baseline.
    pub old: String,
    /// What is compared with it.
    pub new: String,
    /// Snapshots present in both and compared.
    pub compared: usize,
    /// Snapshots only in the baseline (steps that no longer ran or produced no shape).
    pub only_old: Vec<String>,
    /// Snapshots only in the new set (new cases or steps).
    pub only_new: Vec<String>,
    /// Breaking changes.
    pub breaking: usize,
    /// Additive changes.
    pub additive: usize,
    /// Endpoint (`POST Auth/SignAppin`) to its changes.
    pub endpoints: BTreeMap<String, Vec<Entry>>,
}

impl Report {
    /// Compares two sets of snapshots by name.
    pub fn compare(
        old_name: &str,
        old: &BTreeMap<String, SnapFile>,
        new_name: &str,
        new: &BTreeMap<String, SnapFile>,
    ) -> Report {
        let mut r = Report {
            old: old_name.to_owned(),
            new: new_name.to_owned(),
            compared: 0,
            only_old: old.keys().filter(|k| !new.contains_key(*k)).cloned().collect(),
            only_new: new.keys().filter(|k| !old.contains_key(*k)).cloned().collect(),
            breaking: 0,
            additive: 0,
            endpoints: BTreeMap::new(),
        };
        for (name, o) in old {
            let Some(n) = new.get(name) else { continue };
            r.compared += 1;
            for change in diff(&o.shape, &n.shape) {
                match change.severity {
                    Severity::Breaking => r.breaking += 1,
                    Severity::Additive => r.additive += 1,
                }
                r.endpoints.entry(n.endpoint()).or_default().push(Entry {
                    snapshot: name.clone(),
                    case_file: n.source.clone(),
                    change,
                });
            }
        }
        r
    }

    /// The exit code `drift` uses: 0 nothing changed, 1 only additive, 4 breaking.
    pub fn exit_code(&self) -> u8 {
        if self.breaking > 0 {
            EXIT_BREAKING
        } else if self.additive > 0 {
            EXIT_ADDITIVE
        } else {
            0
        }
    }

    /// Markdown, ready for a pull-request comment.
    pub fn markdown(&self) -> String {
        let mut out = format!("# API drift: `{}` → `{}`\n\n", self.old, self.new);
        if self.breaking + self.additive == 0 {
            let _ = writeln!(out, "No shape changed ({} snapshots compared).", self.compared);
        } else {
            let _ = writeln!(
                out,
                "**{} breaking**, {} additive, in {} endpoint(s) ({} snapshots compared).",
                self.breaking,
                self.additive,
                self.endpoints.len(),
                self.compared
            );
        }
        for (endpoint, entries) in &self.endpoints {
            let _ = writeln!(out, "\n## {endpoint}\n\n| | where | change | snapshot |\n|---|---|---|---|");
            for e in entries {
                let detail = match (&e.change.before, &e.change.after) {
                    (Some(b), Some(a)) => format!("{}: `{b}` → `{a}`", e.change.what),
                    (Some(b), None) => format!("{} (was `{b}`)", e.change.what),
                    (None, Some(a)) => format!("{} (`{a}`)", e.change.what),
                    (None, None) => e.change.what.clone(),
                };
                let sev = match e.change.severity {
                    Severity::Breaking => "breaking",
                    Severity::Additive => "additive",
                };
                let _ = writeln!(out, "| {sev} | `{}` | {detail} | `{}` |", e.change.at, e.snapshot);
            }
        }
        for (title, names) in [("Only in the baseline", &self.only_old), ("New in this set", &self.only_new)] {
            if !names.is_empty() {
                let _ = writeln!(
                    out,
                    "\n{title}: {}.",
                    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                );
            }
        }
        out
    }

    /// JSON.
    pub fn json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::ResponseShape;

    fn snap(body: &str, cookies: &[&str]) -> SnapFile {
        SnapFile {
            source: "cases/auth/sign-app-in.yaml".into(),
            description: "auth::sign-app-in::api-key step 1: POST Auth/SignAppin".into(),
            shape: ResponseShape::infer(
                200,
                Some("application/json"),
                cookies.iter().map(|c| c.to_string()),
                body.as_bytes(),
            ),
        }
    }

    #[test]
    fn groups_by_endpoint_and_classifies() {
        let old = BTreeMap::from([("a__1".to_string(), snap(r#"{"SID": "S-1", "UserId": 7}"#, &["A", "B"]))]);
        let new = BTreeMap::from([("a__1".to_string(), snap(r#"{"SID": null, "UserId": 7, "New": "x"}"#, &["A"]))]);
        let r = Report::compare("old", &old, "new", &new);
        assert_eq!((r.breaking, r.additive, r.exit_code()), (2, 1, EXIT_BREAKING));
        insta::assert_snapshot!(r.markdown(), @r"
        # API drift: `old` → `new`

        **2 breaking**, 1 additive, in 1 endpoint(s) (1 snapshots compared).

        ## POST Auth/SignAppin

        | | where | change | snapshot |
        |---|---|---|---|
        | breaking | `.SID` | became nullable | `a__1` |
        | breaking | `cookie B` | cookie no longer set | `a__1` |
        | additive | `.New` | new field (`string`) | `a__1` |
        ");
        let same = Report::compare("old", &old, "old", &old);
        assert_eq!(same.exit_code(), 0);
        let additive = Report::compare(
            "old",
            &old,
            "new",
            &BTreeMap::from([("a__1".to_string(), snap(r#"{"SID": "S", "UserId": 1, "X": 1}"#, &["A", "B"]))]),
        );
        assert_eq!(additive.exit_code(), EXIT_ADDITIVE);
    }
}
