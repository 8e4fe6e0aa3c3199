//! The shape contracts on the run page: per contract file, how many steps conformed, added to
//! or broke it, with each change once; whether contracts were compared at all; and the drift,
//! when the run wrote a drift report.

use std::collections::BTreeMap;

use super::{Html, plural};
use crate::report::ContractsMeta;
use crate::report::drift::severity;
use crate::shape::drift::DriftReport;
use crate::shape::{MAX_CHANGES, Severity, Verdict, VerdictStatus};

/// How the steps of a run fared against one contract file.
#[derive(Debug, Default)]
struct ContractTally {
    conforming: usize,
    additive: usize,
    breaking: usize,
    missing: usize,
    /// Each change once, with the number of steps that showed it.
    changes: BTreeMap<(std::cmp::Reverse<Severity>, String), usize>,
    /// Changes past the distinct ones listed ([`MAX_CHANGES`]), counted.
    more: usize,
}

/// Every contract file's tally, gathered as cases end (bounded by the contract files and
/// their distinct changes, not by the cases).
#[derive(Debug, Default)]
pub struct Tally {
    files: BTreeMap<String, ContractTally>,
}

impl Tally {
    /// Counts one step's verdict.
    pub fn add(&mut self, v: &Verdict) {
        let t = self.files.entry(v.contract.clone()).or_default();
        match v.status {
            VerdictStatus::Conforming => t.conforming += 1,
            VerdictStatus::Additive => t.additive += 1,
            VerdictStatus::Breaking => t.breaking += 1,
            VerdictStatus::Missing => t.missing += 1,
        }
        for c in &v.changes {
            let line = (std::cmp::Reverse(c.severity), c.line());
            if let Some(n) = t.changes.get_mut(&line) {
                *n += 1;
            } else if t.changes.len() < MAX_CHANGES {
                t.changes.insert(line, 1);
            } else {
                t.more += 1;
            }
        }
        t.more += v.more_changes;
    }

    /// Steps compared with a contract.
    pub fn steps(&self) -> usize {
        self.files.values().map(|t| t.conforming + t.additive + t.breaking + t.missing).sum()
    }

    /// Steps with this verdict.
    pub fn total(&self, status: VerdictStatus) -> usize {
        self.files
            .values()
            .map(|t| match status {
                VerdictStatus::Conforming => t.conforming,
                VerdictStatus::Additive => t.additive,
                VerdictStatus::Breaking => t.breaking,
                VerdictStatus::Missing => t.missing,
            })
            .sum()
    }
}

/// The contracts section.
pub(super) fn contracts(h: &mut Html, tally: &Tally, meta: &ContractsMeta, drift: Option<&DriftReport>) {
    h.raw("<section id=\"contracts\"><h2>Shape contracts</h2>");
    let tallies = &tally.files;
    if !meta.compared {
        h.el(
            "p",
            &[("class", "notice"), ("data-contracts", "not-compared")],
            "Contracts were not compared: the run was given --no-snapshots, so no response shape was checked.",
        );
    } else if tallies.is_empty() {
        h.el(
            "p",
            &[("class", "notice"), ("data-contracts", "none")],
            &format!("No response of this run was compared with the contracts in {}.", meta.set),
        );
    } else {
        let sum = |f: fn(&ContractTally) -> usize| tallies.values().map(f).sum::<usize>();
        h.el(
            "p",
            &[("data-contracts", "compared")],
            &format!(
                "Each response shape was compared with its contract in {}: {} conforming, {} additive, {} breaking, {} without a contract{}.",
                meta.set,
                plural(sum(|t| t.conforming), "step", "steps"),
                sum(|t| t.additive),
                sum(|t| t.breaking),
                sum(|t| t.missing),
                if meta.strict { " (--strict-shapes: additive changes and missing contracts fail)" } else { "; only breaking changes fail" }
            ),
        );
        let mut rows: Vec<(&str, &ContractTally)> = tallies.iter().map(|(k, v)| (k.as_str(), v)).collect();
        rows.sort_by_key(|(name, t)| (std::cmp::Reverse((t.breaking, t.additive, t.missing)), *name));
        let (differ, conform): (Vec<_>, Vec<_>) =
            rows.into_iter().partition(|(_, t)| t.breaking + t.additive + t.missing > 0 || !t.changes.is_empty());
        if !differ.is_empty() {
            contract_table(h, &differ);
        }
        if !conform.is_empty() {
            let steps: usize = conform.iter().map(|(_, t)| t.conforming).sum();
            let files = plural(conform.len(), "contract file", "contract files");
            let steps = plural(steps, "step", "steps");
            let what = if differ.is_empty() {
                format!("Every response conformed: {files}, {steps}")
            } else {
                format!("{files} more, every response conforming ({steps})")
            };
            h.open("details", &[("class", "conforming-contracts")]).el("summary", &[], &what);
            contract_table(h, &conform);
            h.raw("</details>");
        }
    }
    if let Some(d) = drift {
        h.raw("<div class=\"drift\" id=\"drift\"><h3>Drift against the set</h3>");
        let written =
            meta.drift_report.as_deref().map(|p| format!(" The drift report was written to {p}.")).unwrap_or_default();
        h.open(
            "p",
            &[("data-drift-breaking", &d.breaking.to_string()), ("data-drift-additive", &d.additive.to_string())],
        )
        .text(&format!(
            "{} breaking, {} additive, {} informational, in {} ({} compared).{written}",
            d.breaking,
            d.additive,
            d.info,
            plural(d.contracts.len(), "changed contract", "changed contracts"),
            d.compared
        ))
        .close("p");
        super::drift::changes(h, d);
        h.raw("</div>");
    }
    h.raw("</section>\n");
}

fn contract_table(h: &mut Html, rows: &[(&str, &ContractTally)]) {
    h.raw("<div class=\"scroll\"><table class=\"contracts\"><thead><tr><th>Contract file</th>")
        .raw("<th class=\"n\">Conforming</th><th class=\"n\">Additive</th><th class=\"n\">Breaking</th><th class=\"n\">No contract</th>")
        .raw("</tr></thead><tbody>");
    for (name, t) in rows {
        let status = if t.breaking > 0 {
            "breaking"
        } else if t.additive > 0 {
            "additive"
        } else if t.missing > 0 {
            "missing"
        } else {
            "conforming"
        };
        h.open("tr", &[("class", &format!("contract {status}")), ("data-contract", name)]);
        h.raw("<td>").el("code", &[], name);
        if !t.changes.is_empty() {
            h.raw("<ul class=\"changes\">");
            for ((sev, line), n) in &t.changes {
                let word = severity(sev.0);
                h.open("li", &[("class", &format!("change {word}"))])
                    .el("span", &[("class", "sev")], word)
                    .raw(" ")
                    .text(line)
                    .el("span", &[("class", "sub")], &format!(" in {}", plural(*n, "step", "steps")))
                    .close("li");
            }
            if t.more > 0 {
                h.el("li", &[("class", "change more")], &format!("and {} more", t.more));
            }
            h.raw("</ul>");
        }
        h.raw("</td>");
        for (class, n) in
            [("ok", t.conforming), ("additive", t.additive), ("breaking", t.breaking), ("missing", t.missing)]
        {
            let class = if n == 0 { "n zero".to_owned() } else { format!("n {class}") };
            h.el("td", &[("class", &class)], &n.to_string());
        }
        h.raw("</tr>");
    }
    h.raw("</tbody></table></div>");
}
