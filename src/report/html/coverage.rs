//! The coverage of the documented API on the run page: one square per catalog endpoint, by
//! area, marked covered or not and called or not in this run, with the statuses in its
//! tooltip; then the covered endpoints as a table, and the uncovered ones by name.

use super::{Html, plural};
use crate::coverage::{Coverage, EndpointCoverage};

/// Cases of an endpoint listed by name before the list is folded away.
const MAX_CASES_SHOWN: usize = 8;

fn statuses(set: impl IntoIterator<Item = String>) -> String {
    let v: Vec<String> = set.into_iter().collect();
    if v.is_empty() { "–".into() } else { v.join(", ") }
}

/// Whether a case asserts a status the endpoint answered (`404` or `4xx`).
fn asserted(row: &EndpointCoverage, code: u16) -> bool {
    row.asserted.contains(&code.to_string()) || row.asserted.contains(&format!("{}xx", code / 100))
}

fn endpoint_id(row: &EndpointCoverage) -> String {
    format!("ep-{}-{}", row.method, row.route.replace(char::is_whitespace, "_"))
}

fn cell_title(row: &EndpointCoverage) -> String {
    let documented = statuses(row.documented.iter().map(u16::to_string));
    if !row.covered() {
        return format!("{} {}\nnot covered · documented {documented}", row.method, row.route);
    }
    let observed = if row.observed.is_empty() {
        "not called in this run".to_owned()
    } else {
        format!("observed {}", statuses(row.observed.iter().map(u16::to_string)))
    };
    format!(
        "{} {}\n{} · asserts {} · {observed}\ndocumented {documented}",
        row.method,
        row.route,
        plural(row.cases.len(), "case", "cases"),
        statuses(row.asserted.iter().cloned())
    )
}

/// The coverage section.
pub(super) fn coverage(h: &mut Html, c: &Coverage) {
    // Folded: the grid is reference material, and open it would push the results a screen
    // or more down the page.
    h.raw("<section id=\"coverage\"><details class=\"coverage\"><summary><h2>Coverage of the documented API</h2> ");
    h.open(
        "span",
        &[("class", "headline"), ("data-covered", &c.covered.to_string()), ("data-total", &c.total.to_string())],
    )
    .text(&c.headline())
    .close("span")
    .raw("</summary>");
    h.el(
        "p",
        &[],
        "One square per endpoint of the catalog (the endpoints the official clients call); hover a square for its statuses.",
    );
    h.raw("<ul class=\"legend\"><li><span class=\"cell covered observed\"></span>covered, called in this run</li>")
        .raw("<li><span class=\"cell covered\"></span>covered by a case not run this time</li>")
        .raw("<li><span class=\"cell uncovered\"></span>not covered</li>")
        .raw("<li><span class=\"cell covered observed change\"></span>changes data</li></ul>");
    h.raw("<div class=\"grid\">");
    for (area, rows) in c.by_area() {
        let covered = rows.iter().filter(|r| r.covered()).count();
        let class = if covered > 0 { "area-tile some" } else { "area-tile none" };
        h.open("div", &[("class", class), ("data-area", area)])
            .raw("<div class=\"area-head\">")
            .el("span", &[("class", "area-name")], area)
            .el("span", &[("class", "area-count")], &format!("{covered}/{}", rows.len()))
            .raw("</div><div class=\"cells\">");
        for row in rows {
            let mut class = String::from("cell");
            class.push_str(if row.covered() { " covered" } else { " uncovered" });
            if !row.observed.is_empty() {
                class.push_str(" observed");
            }
            if row.effect == "change" {
                class.push_str(" change");
            }
            let endpoint = format!("{} {}", row.method, row.route);
            let title = cell_title(row);
            if row.covered() {
                let href = format!("#{}", endpoint_id(row));
                h.open("a", &[("class", &class), ("href", &href), ("title", &title), ("data-endpoint", &endpoint)])
                    .close("a");
            } else {
                h.open("span", &[("class", &class), ("title", &title), ("data-endpoint", &endpoint)]).close("span");
            }
        }
        h.raw("</div></div>");
    }
    h.raw("</div>");
    let covered: Vec<&EndpointCoverage> = c.endpoints.iter().filter(|r| r.covered()).collect();
    if !covered.is_empty() || !c.uncatalogued.is_empty() {
        h.raw("<h3>Covered endpoints</h3><div class=\"scroll\"><table class=\"endpoints\"><thead><tr>")
            .raw("<th>Endpoint</th><th>Effect</th><th>Cases</th><th>Asserted</th><th>Observed</th><th>Documented</th>")
            .raw("</tr></thead><tbody>");
        for row in covered.iter().copied().chain(&c.uncatalogued) {
            endpoint_row(h, row);
        }
        h.raw("</tbody></table></div>");
    }
    let uncovered = c.total - c.covered;
    if uncovered > 0 {
        h.open("details", &[("class", "uncovered-list")])
            .el("summary", &[], &format!("Not covered: {}", plural(uncovered, "endpoint", "endpoints")))
            .raw("<dl>");
        for (area, rows) in c.by_area() {
            let names: Vec<String> =
                rows.iter().filter(|r| !r.covered()).map(|r| format!("{} {}", r.method, r.route)).collect();
            if !names.is_empty() {
                h.el("dt", &[], area).el("dd", &[], &names.join(" · "));
            }
        }
        h.raw("</dl></details>");
    }
    h.raw("</details></section>\n");
}

fn endpoint_row(h: &mut Html, row: &EndpointCoverage) {
    h.open("tr", &[("id", &endpoint_id(row))]).raw("<td>").el("code", &[], &format!("{} {}", row.method, row.route));
    h.el("div", &[("class", "sub")], &row.area).raw("</td>");
    h.el("td", &[], if row.effect.is_empty() { "–" } else { &row.effect });
    // A long list of cases (every case signs in) is one click away.
    let many = row.cases.len() > MAX_CASES_SHOWN;
    h.raw("<td>");
    if many {
        h.raw("<details class=\"sub\"><summary>").num(row.cases.len()).raw(" cases</summary>");
    } else {
        h.num(row.cases.len()).raw("<div class=\"sub\">");
    }
    for (i, name) in row.cases.iter().enumerate() {
        if i > 0 {
            h.raw(", ");
        }
        h.open("a", &[("href", &format!("#{name}"))]).text(name).close("a");
    }
    h.raw(if many { "</details></td>" } else { "</div></td>" });
    h.el("td", &[], &statuses(row.asserted.iter().cloned()));
    h.raw("<td>");
    if row.observed.is_empty() {
        h.raw("–");
    }
    for (i, code) in row.observed.iter().enumerate() {
        if i > 0 {
            h.raw(", ");
        }
        if asserted(row, *code) {
            h.text(&code.to_string());
        } else {
            h.el("span", &[("class", "unasserted"), ("title", "no case asserts this status")], &code.to_string());
        }
    }
    h.raw("</td>");
    h.el("td", &[], &statuses(row.documented.iter().map(u16::to_string)));
    h.raw("</tr>");
}
