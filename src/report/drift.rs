//! Drift between two contract sets (two recordings of instances, or a baseline and a live
//! run), as `shape::drift` computes it: per contract, one row per change, with the number of
//! cases that saw the endpoint, as Markdown for a ticket or pull request and as JSON.

use std::fmt::Write as _;

use crate::escape::{cell, code, text};
use crate::result::Exit;
use crate::seal::Redacted;
use crate::shape::Severity;
use crate::shape::drift::DriftReport;

/// The exit code `drift` uses: 0 nothing changed (or only information), 1 only additive, 4
/// breaking.
pub fn exit(r: &DriftReport) -> Exit {
    if r.breaking > 0 {
        Exit::Breaking
    } else if r.additive > 0 {
        Exit::Failed
    } else {
        Exit::Passed
    }
}

/// What [`exit`] means for a comparison.
pub fn exit_meaning(r: &DriftReport) -> &'static str {
    match exit(r) {
        Exit::Breaking => "a breaking shape change",
        Exit::Failed => "additive changes only",
        _ => "no contract changed",
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

/// Markdown, ready for a pull-request comment or a change ticket. Every name a server or a
/// file chose is in a code span that it cannot close, and every cell escapes `|` (see
/// `crate::escape`), so a report pasted into a pull request renders no image, link or cell
/// that a name put there.
pub fn markdown(report: &Redacted<DriftReport>) -> String {
    let r = report.get();
    let mut out = format!("# API drift: {} → {}\n\n", code(&r.old), code(&r.new));
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
            "\n## {}\n\n{}, exercised by {} case(s)\n\n| | where | change |\n|---|---|---|",
            text(&c.title),
            code(&c.contract),
            c.cases
        );
        for ch in &c.changes {
            let detail = match (&ch.before, &ch.after) {
                (Some(b), Some(a)) => format!("{}: {} → {}", ch.what, code(b), code(a)),
                (Some(b), None) => format!("{} (was {})", ch.what, code(b)),
                (None, Some(a)) => format!("{} ({})", ch.what, code(a)),
                (None, None) => ch.what.to_string(),
            };
            let _ = writeln!(out, "| {} | {} | {} |", severity(ch.severity), cell(&code(&ch.at)), cell(&detail));
        }
        if c.more > 0 {
            let _ = writeln!(out, "| | | and {} more changes |", c.more);
        }
    }
    for (title, names) in [("Only in the baseline", &r.only_old), ("New in this set", &r.only_new)] {
        if !names.is_empty() {
            let _ = writeln!(out, "\n{title}: {}.", names.iter().map(|n| code(n)).collect::<Vec<_>>().join(", "));
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
    use crate::seal::Redactor;
    use crate::shape::{Contract, ContractKey, ResponseShape};
    use std::collections::{BTreeMap, BTreeSet};

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
        assert_eq!((r.get().breaking, r.get().additive, exit(r.get())), (2, 1, Exit::Breaking));
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
