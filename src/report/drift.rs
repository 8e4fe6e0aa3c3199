//! Drift between two contract sets (two recordings of instances, or a baseline and a live
//! run): per contract, one row per change, with the number of cases that saw the endpoint,
//! as Markdown for a ticket or pull request and as JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::result::Exit;
use crate::seal::{Redact, Redacted, Redactor};
use crate::shape::{Change, Contract, Mode, Severity, compare};

/// The changes of one contract.
#[derive(Debug, Clone, Serialize)]
pub struct ContractDrift {
    /// The contract file name.
    pub contract: String,
    /// The endpoint, as `GET Credentials/{requestId} 200`.
    pub title: String,
    /// How many cases exercise it in the newer set.
    pub cases: usize,
    /// Every change, breaking first.
    pub changes: Vec<Change>,
}

/// A drift report.
#[derive(Debug, Clone, Serialize)]
pub struct DriftReport {
    /// The baseline.
    pub old: String,
    /// What is compared with it.
    pub new: String,
    /// Contracts present in both and compared.
    pub compared: usize,
    /// Endpoints only in the baseline.
    pub only_old: Vec<String>,
    /// Endpoints only in the newer set.
    pub only_new: Vec<String>,
    /// Breaking changes.
    pub breaking: usize,
    /// Additive changes.
    pub additive: usize,
    /// Information (format hints, variety not seen again).
    pub info: usize,
    /// The contracts that changed.
    pub contracts: Vec<ContractDrift>,
}

impl DriftReport {
    /// Compares two sets of contracts by file name.
    pub fn compare(
        old_name: &str,
        old: &BTreeMap<String, Contract>,
        new_name: &str,
        new: &BTreeMap<String, Contract>,
        redactor: &Redactor,
    ) -> Redacted<DriftReport> {
        let mut r = DriftReport {
            old: old_name.to_owned(),
            new: new_name.to_owned(),
            compared: 0,
            only_old: old.iter().filter(|(k, _)| !new.contains_key(*k)).map(|(_, c)| c.title()).collect(),
            only_new: new.iter().filter(|(k, _)| !old.contains_key(*k)).map(|(_, c)| c.title()).collect(),
            breaking: 0,
            additive: 0,
            info: 0,
            contracts: Vec::new(),
        };
        for (name, o) in old {
            let Some(n) = new.get(name) else { continue };
            r.compared += 1;
            let changes = compare(&o.shape, &n.shape, Mode::Drift);
            for c in &changes {
                match c.severity {
                    Severity::Breaking => r.breaking += 1,
                    Severity::Additive => r.additive += 1,
                    Severity::Info => r.info += 1,
                }
            }
            if !changes.is_empty() {
                r.contracts.push(ContractDrift {
                    contract: name.clone(),
                    title: n.title(),
                    cases: n.cases.len(),
                    changes,
                });
            }
        }
        redactor.seal(r)
    }

    /// The exit code `drift` uses: 0 nothing changed (or only information), 1 only additive,
    /// 4 breaking.
    pub fn exit(&self) -> Exit {
        if self.breaking > 0 {
            Exit::Breaking
        } else if self.additive > 0 {
            Exit::Failed
        } else {
            Exit::Passed
        }
    }

    /// What [`DriftReport::exit`] means for a comparison.
    pub fn exit_meaning(&self) -> &'static str {
        match self.exit() {
            Exit::Breaking => "a breaking shape change",
            Exit::Failed => "additive changes only",
            _ => "no contract changed",
        }
    }
}

impl Redact for DriftReport {
    fn redact(&mut self, r: &Redactor) {
        self.old.redact(r);
        self.new.redact(r);
        self.only_old.redact(r);
        self.only_new.redact(r);
        for c in &mut self.contracts {
            c.contract.redact(r);
            c.title.redact(r);
            c.changes.redact(r);
        }
    }
}

/// A severity's word, as every report writes it.
pub fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Breaking => "breaking",
        Severity::Additive => "additive",
        Severity::Info => "info",
    }
}

/// Markdown, ready for a pull-request comment or a change ticket.
pub fn markdown(report: &Redacted<DriftReport>) -> String {
    let r = report.get();
    let mut out = format!("# API drift: `{}` → `{}`\n\n", r.old, r.new);
    if r.breaking + r.additive == 0 {
        let _ = writeln!(
            out,
            "No contract changed ({} compared{}).",
            r.compared,
            if r.info > 0 { format!(", {} informational notes", r.info) } else { String::new() }
        );
    } else {
        let _ = writeln!(
            out,
            "**{} breaking**, {} additive, {} informational, in {} contract(s) ({} compared).",
            r.breaking,
            r.additive,
            r.info,
            r.contracts.len(),
            r.compared
        );
    }
    for c in &r.contracts {
        let _ = writeln!(
            out,
            "\n## {}\n\n`{}`, exercised by {} case(s)\n\n| | where | change |\n|---|---|---|",
            c.title, c.contract, c.cases
        );
        for ch in &c.changes {
            let detail = match (&ch.before, &ch.after) {
                (Some(b), Some(a)) => format!("{}: `{b}` → `{a}`", ch.what),
                (Some(b), None) => format!("{} (was `{b}`)", ch.what),
                (None, Some(a)) => format!("{} (`{a}`)", ch.what),
                (None, None) => ch.what.clone(),
            };
            let _ = writeln!(out, "| {} | `{}` | {detail} |", severity(ch.severity), ch.at);
        }
    }
    for (title, names) in [("Only in the baseline", &r.only_old), ("New in this set", &r.only_new)] {
        if !names.is_empty() {
            let _ =
                writeln!(out, "\n{title}: {}.", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "));
        }
    }
    out
}

/// JSON.
pub fn json(report: &Redacted<DriftReport>) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::{ContractKey, ResponseShape};
    use std::collections::BTreeSet;

    fn contract(body: &str, cases: &[&str]) -> Contract {
        Contract {
            key: ContractKey::new("POST", "Auth/SignAppin", 200, None),
            route: "Auth/SignAppin".into(),
            shape: ResponseShape::infer(200, Some("application/json"), ["A".to_owned()], body.as_bytes()),
            cases: cases.iter().map(|c| (*c).to_owned()).collect::<BTreeSet<_>>(),
        }
    }

    #[test]
    fn one_row_per_change_per_contract() {
        let name = "post__auth__signappin__200.snap".to_owned();
        let old = BTreeMap::from([(name.clone(), contract(r#"{"SID": "S-1", "UserId": 7, "Gone": 1}"#, &["a", "b"]))]);
        let new = BTreeMap::from([(name, contract(r#"{"SID": null, "UserId": 7, "New": "x"}"#, &["a", "b", "c"]))]);
        let r = DriftReport::compare("old", &old, "new", &new, &Redactor::default());
        assert_eq!((r.get().breaking, r.get().additive, r.get().exit()), (2, 1, Exit::Breaking));
        insta::assert_snapshot!(markdown(&r), @r"
        # API drift: `old` → `new`

        **2 breaking**, 1 additive, 0 informational, in 1 contract(s) (1 compared).

        ## POST Auth/SignAppin 200

        `post__auth__signappin__200.snap`, exercised by 3 case(s)

        | | where | change |
        |---|---|---|
        | breaking | `.Gone` | required field missing (was `integer`) |
        | breaking | `.SID` | became nullable |
        | additive | `.New` | new field (`string`) |
        ");
    }
}
