//! The page of a drift comparison (`psconform drift OLD NEW --html PATH`), and the table of
//! changed contracts that the run page shows too when the run wrote a drift report.

use super::{Html, page, plural};
use crate::report::drift::severity;
use crate::seal::Redacted;
use crate::shape::Severity;
use crate::shape::drift::{ContractDrift, DriftReport};

/// The page of a drift report.
pub fn drift_page(report: &Redacted<DriftReport>, psconform: &str, generated: &str) -> String {
    let r = report.get();
    let title = format!("psconform drift: {} breaking, {} additive", r.breaking, r.additive);
    page(&title, |h| {
        let verdict = if r.breaking > 0 {
            "failed"
        } else if r.additive > 0 {
            "ignored"
        } else {
            "passed"
        };
        h.open("header", &[("class", "page-header"), ("data-verdict", verdict)])
            .raw("<p class=\"kicker\">")
            .el("span", &[("data-meta", "psconform")], &format!("psconform {psconform}"))
            .raw(" drift report</p><h1>API drift between two contract sets</h1><dl class=\"meta\">");
        let generated = super::shown_date(generated);
        for (name, key, value) in [
            ("Baseline", "old", r.old.as_str()),
            ("Compared with it", "new", r.new.as_str()),
            ("Generated", "started", generated.as_str()),
        ] {
            h.open("div", &[("data-meta", key)])
                .el("dt", &[], name)
                .raw("<dd>")
                .el("code", &[], value)
                .raw("</dd></div>");
        }
        h.raw("</dl></header>\n<main>\n<section id=\"summary\"><h2>Summary</h2><div class=\"tiles\">");
        for (class, attr, n, label) in [
            ("tile failed", "data-drift-breaking", r.breaking, "breaking"),
            ("tile ignored", "data-drift-additive", r.additive, "additive"),
            ("tile neutral", "data-drift-info", r.info, "informational"),
            ("tile neutral", "data-drift-compared", r.compared, "contracts compared"),
        ] {
            h.tile(class, attr, n, label);
        }
        let exit = crate::report::drift::exit(r);
        let code = (exit as u8).to_string();
        h.open("div", &[("class", &format!("tile exit code-{code}")), ("data-exit-code", &code)])
            .el("span", &[("class", "n")], &format!("exit {code}"))
            .el("span", &[("class", "label")], crate::report::drift::exit_meaning(r))
            .close("div");
        h.raw("</div></section>\n<section id=\"contracts\"><h2>Changed contracts</h2>");
        changes(h, r);
        h.raw("</section>\n</main>\n<footer>");
        h.text(&format!(
            "psconform {psconform} · this page is self-contained: it loads nothing and reads the same offline"
        ));
        h.raw("</footer>");
    })
}

/// Each changed contract with one row per change, then the endpoints only one side has.
pub(super) fn changes(h: &mut Html, r: &DriftReport) {
    if r.contracts.is_empty() {
        h.el("p", &[("class", "notice")], &format!("No contract changed ({} compared).", r.compared));
    }
    // Contracts with notes only (a format hint, a variety not seen again) are folded away.
    let (changed, notes): (Vec<_>, Vec<_>) =
        r.contracts.iter().partition(|c| c.changes.iter().any(|ch| ch.severity != Severity::Info));
    for c in changed {
        contract(h, c);
    }
    if !notes.is_empty() {
        h.open("details", &[("class", "drift-notes")]).el(
            "summary",
            &[],
            &format!("{} with informational notes only", plural(notes.len(), "contract", "contracts")),
        );
        for c in notes {
            contract(h, c);
        }
        h.raw("</details>");
    }
    for (title, names) in [("Only in the baseline", &r.only_old), ("New in this set", &r.only_new)] {
        if !names.is_empty() {
            h.open("p", &[("class", "only")]).el("span", &[("class", "label")], title).raw(" ");
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    h.raw(", ");
                }
                h.el("code", &[], n);
            }
            h.raw("</p>");
        }
    }
}

fn contract(h: &mut Html, c: &ContractDrift) {
    let worst = c.changes.iter().map(|c| c.severity).max().unwrap_or(Severity::Info);
    h.open("div", &[("class", &format!("drift-contract {}", severity(worst))), ("data-contract", &c.contract)])
        .raw("<h4>")
        .text(&c.title)
        .raw(" ")
        .el("span", &[("class", "file")], &format!("{}, exercised by {}", c.contract, plural(c.cases, "case", "cases")))
        .raw("</h4><div class=\"scroll\"><table class=\"drift-changes\"><thead><tr><th></th><th>where</th><th>change</th><th>before</th><th>after</th></tr></thead><tbody>");
    for ch in &c.changes {
        let word = severity(ch.severity);
        h.open("tr", &[("class", &format!("change {word}"))])
            .raw("<td>")
            .el("span", &[("class", "sev")], word)
            .raw("</td><td>")
            .el("code", &[], &ch.at)
            .raw("</td>")
            .el("td", &[], ch.what.words())
            .raw("<td>")
            .el("code", &[], ch.before.as_deref().unwrap_or(""))
            .raw("</td><td>")
            .el("code", &[], ch.after.as_deref().unwrap_or(""))
            .raw("</td></tr>");
    }
    if c.more > 0 {
        h.raw("<tr class=\"change more\"><td></td><td></td>")
            .el("td", &[], &format!("and {} more changes", c.more))
            .raw("<td></td><td></td></tr>");
    }
    h.raw("</tbody></table></div></div>");
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::seal::Redactor;
    use crate::shape::{Contract, ContractKey, ResponseShape};

    fn contract(body: &str) -> Contract {
        Contract {
            key: ContractKey::new("POST", "Auth/SignAppin", 200, None),
            route: "Auth/SignAppin".into(),
            shape: ResponseShape::infer(200, Some("application/json"), ["A".to_owned()], body.as_bytes()),
            cases: BTreeSet::from(["auth::sign-app-in::api-key".to_owned()]),
        }
    }

    #[test]
    fn the_drift_page_shows_counts_and_one_row_per_change() {
        let name = "post__auth__signappin__200.snap".to_owned();
        let old = BTreeMap::from([(name.clone(), contract(r#"{"SID": "S-1", "UserId": 7}"#))]);
        let new = BTreeMap::from([(name, contract(r#"{"SID": null, "UserId": 7, "New": "<b>"}"#))]);
        let r = DriftReport::compare("before/", &old, "after/", &new, &Redactor::default());
        let page = drift_page(&r, "0.1.0", "2026-12-01T16:33:42Z");
        assert!(page.contains(r#"data-drift-breaking="1""#) && page.contains(r#"data-drift-additive="1""#), "{page}");
        assert!(page.contains(r#"data-exit-code="4""#) && page.contains("a breaking shape change"));
        assert!(page.contains("<code>.SID</code></td><td>became nullable</td>"), "{page}");
        assert!(page.contains("<h4>POST Auth/SignAppin 200 "));
        assert!(page.contains("<code>before/</code>") && page.contains("<code>after/</code>"));
    }
}
