//! The page of a run: what ran against what, the counts and the exit code, then the coverage
//! (`coverage`) and the contracts (`contracts`), then every case by area and endpoint with each
//! step's request, status, expectations and contract verdict. Failed cases come first in their
//! group and are open; passed ones are closed. The words for each expectation are
//! `report::terminal`'s.
//!
//! The page is written in pieces so that it never holds the whole run: each case is rendered
//! as it ends ([`case`]), what the head of the page shows beside the cases is tallied as they
//! come ([`PageTally`]), and [`write_run_page`] puts the head, the groups and the cases in order.

use std::io::{self, Write};

use super::{Html, page_close, page_open, plural, shown_date, shown_duration};
use crate::coverage::Coverage;
use crate::report::RunMeta;
use crate::report::drift::severity;
use crate::report::terminal::{actual, expected, explain, failure_words, subject};
use crate::result::run::{CauseKey, NAMED_PER_CAUSE, Summary};
use crate::result::{CaseResult, CheckKind, CheckOutcome, Outcome, Phase, RunResult, Skipped, StepResult};
use crate::shape::drift::DriftReport;
use crate::shape::{Change, VerdictStatus};

/// Characters of one expected or actual value before it is cut (values are redacted already).
const MAX_VALUE: usize = 2000;

/// What the head of the page shows of the cases, tallied as they end: the contract verdicts,
/// and the failures by cause (each cause once: its words, the endpoint, the cases).
#[derive(Debug, Default)]
pub struct PageTally {
    pub(super) contracts: super::contracts::Tally,
    causes: std::collections::BTreeMap<CauseKey, Failures>,
}

/// The failed cases of one cause.
#[derive(Debug, Default)]
struct Failures {
    /// The first failure, in words, with the endpoint it met.
    words: String,
    /// The first cases, by name (at most [`NAMED_PER_CAUSE`]).
    names: Vec<String>,
    /// How many.
    count: usize,
}

impl PageTally {
    /// Tallies a final case.
    pub fn add(&mut self, c: &CaseResult) {
        for v in c.steps.iter().filter_map(|s| s.contract.as_ref()) {
            self.contracts.add(v);
        }
        if let Some(key) = CauseKey::of(c).filter(|_| c.failed()) {
            let f = self.causes.entry(key).or_insert_with(|| {
                let step = c.steps.iter().find(|s| s.failed()).and_then(|s| s.request.as_ref());
                let at = step.map(|l| format!("{} {}: ", l.method, l.route.as_deref().unwrap_or(&l.path)));
                let words = c.first_failure().map(failure_words).unwrap_or_default();
                Failures { words: format!("{}{words}", at.unwrap_or_default()), ..Failures::default() }
            });
            f.count += 1;
            if f.names.len() < NAMED_PER_CAUSE {
                f.names.push(c.name.clone());
            }
        }
    }
}

/// Everything the page shows besides its cases.
#[derive(Debug, Clone, Copy)]
pub struct PageHead<'a> {
    /// The run.
    pub meta: &'a RunMeta,
    /// Its counts, exit code, leftovers and what it could not check.
    pub run: &'a RunResult,
    /// The coverage matrix.
    pub coverage: Option<&'a Coverage>,
    /// The drift report the run wrote, if any.
    pub drift: Option<&'a DriftReport>,
    /// What the cases showed.
    pub tally: &'a PageTally,
}

/// Where a case goes on the page: its area, its file, and its place in the file's group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Group {
    /// The area: the first part of the name.
    pub area: String,
    /// The case file.
    pub file: String,
    /// Failed first, then ignored, then passed.
    pub rank: u8,
    /// The case's name.
    pub name: String,
    /// The endpoint or flow the file covers.
    pub endpoint: String,
}

impl Group {
    /// The place of a case.
    pub fn of(c: &CaseResult) -> Group {
        Group {
            area: c.name.split("::").next().unwrap_or(&c.name).to_owned(),
            file: c.file.clone(),
            rank: match c.outcome {
                Outcome::Failed => 0,
                Outcome::Ignored(_) => 1,
                Outcome::Passed => 2,
            },
            name: c.name.clone(),
            endpoint: c.endpoint.clone(),
        }
    }
}

/// Writes the page: the head, then each case of `groups` (sorted) under its area and file,
/// fetching each case's fragment (see [`case`]) by its index in `groups`.
pub fn write_run_page(
    out: &mut dyn Write,
    head: &PageHead<'_>,
    groups: &[Group],
    fragment: &mut dyn FnMut(usize) -> io::Result<String>,
) -> io::Result<()> {
    let s = &head.run.summary;
    let title = format!("psconform: {} passed, {} failed, {} ignored", s.passed, s.failed, s.ignored);
    let mut h = Html::new();
    page_open(&mut h, &title);
    header(&mut h, head.meta, s);
    h.raw("\n<main>\n");
    summary(&mut h, head);
    if let Some(c) = head.coverage {
        super::coverage::coverage(&mut h, c);
    }
    super::contracts::contracts(&mut h, &head.tally.contracts, &head.meta.contracts, head.drift);
    h.raw("<section id=\"results\"><h2>Results by area and endpoint</h2>");
    h.raw("<form id=\"filters\" class=\"filters\" hidden role=\"search\">")
        .raw("<label><input type=\"checkbox\" name=\"failed\"> failed only</label>")
        .raw("<label>filter <input type=\"search\" name=\"q\" placeholder=\"case, endpoint, JSONPath…\" autocomplete=\"off\"></label>")
        .raw("<output></output></form>");
    out.write_all(std::mem::take(&mut h.out).as_bytes())?;
    let mut i = 0;
    while i < groups.len() {
        let area = &groups[i].area;
        let end = groups[i..].iter().position(|g| &g.area != area).map_or(groups.len(), |n| i + n);
        area_open(&mut h, area, &groups[i..end]);
        let mut j = i;
        while j < end {
            let file = &groups[j].file;
            let file_end = groups[j..end].iter().position(|g| &g.file != file).map_or(end, |n| j + n);
            h.open("div", &[("class", "endpoint"), ("data-file", file)])
                .raw("<h4>")
                .text(&groups[j].endpoint)
                .raw(" ")
                .el("span", &[("class", "file")], file)
                .raw("</h4>");
            out.write_all(std::mem::take(&mut h.out).as_bytes())?;
            for k in j..file_end {
                out.write_all(fragment(k)?.as_bytes())?;
            }
            h.raw("</div>");
            j = file_end;
        }
        h.raw("</section>\n");
        i = end;
    }
    h.raw("</section>\n");
    h.raw("\n</main>\n<footer>");
    h.text(&format!(
        "psconform {} · this page is self-contained: it loads nothing and reads the same offline",
        head.meta.psconform
    ));
    h.raw("</footer>");
    page_close(&mut h);
    out.write_all(h.out.as_bytes())
}

/// A value of the header: `<div><dt>name</dt><dd>value</dd></div>`.
fn meta_item(h: &mut Html, name: &str, key: &'static str, value: &str) {
    h.open("div", &[("data-meta", key)]).el("dt", &[], name).el("dd", &[], value).close("div");
}

fn header(h: &mut Html, m: &RunMeta, s: &Summary) {
    let verdict = if s.failed > 0 {
        "failed"
    } else if s.passed > 0 {
        "passed"
    } else {
        "ignored"
    };
    h.open("header", &[("class", "page-header"), ("data-verdict", verdict)]);
    h.raw("<p class=\"kicker\">").el("span", &[("data-meta", "psconform")], &format!("psconform {}", m.psconform));
    h.raw(" conformance report</p>");
    // The answer a reader looks for first, before what ran against what.
    let said = match verdict {
        "failed" => format!("Failed: {} of {}", plural(s.failed, "case", "cases"), s.passed + s.failed + s.ignored),
        "passed" => format!("Passed: {}", plural(s.passed, "case", "cases")),
        _ => "Nothing passed or failed: every case was ignored".to_owned(),
    };
    h.el("p", &[("class", &format!("verdict-line {verdict}")), ("data-verdict-line", verdict)], &said);
    h.raw("<h1>BeyondTrust Password Safe API v3</h1>");
    h.open("dl", &[("class", "meta")]);
    // A URL may break after a slash, not inside a word.
    h.raw("<div data-meta=\"target\"><dt>Target</dt><dd>");
    for (i, part) in m.target.split('/').enumerate() {
        if i > 0 {
            h.raw("/<wbr>");
        }
        h.text(part);
    }
    if m.simulator.is_some() {
        h.raw(" (the built-in simulator)");
    }
    h.raw("</dd></div>");
    let version =
        m.product_version.clone().unwrap_or_else(|| "not read (no case read GET Configuration/Version)".into());
    meta_item(h, "Product version", "product-version", &version);
    if let Some(sim) = &m.simulator {
        meta_item(h, "Simulator", "simulator", sim);
    }
    meta_item(h, "Started", "started", &format!("{}, took {}", shown_date(&m.started), shown_duration(m.duration)));
    let options =
        if m.options.is_empty() { "none: every case, the defaults".to_owned() } else { m.options.join(" · ") };
    meta_item(h, "Options", "options", &options);
    let contracts = if m.contracts.compared {
        format!("compared with {}{}", m.contracts.set, if m.contracts.strict { " (--strict-shapes)" } else { "" })
    } else {
        "not compared (--no-snapshots)".to_owned()
    };
    meta_item(h, "Shape contracts", "contracts", &contracts);
    h.close("dl");
    h.raw("<nav class=\"toc\"><a href=\"#summary\">Summary</a><a href=\"#coverage\">Coverage</a>")
        .raw("<a href=\"#contracts\">Shape contracts</a><a href=\"#results\">Results</a></nav>");
    h.close("header");
}

fn summary(h: &mut Html, head: &PageHead<'_>) {
    let run = head.run;
    let s = &run.summary;
    let exit = run.exit();
    h.raw("<section id=\"summary\"><h2>Summary</h2>");
    leftovers(h, run);
    h.raw("<div class=\"tiles\">");
    for (class, attr, n, label) in [
        ("tile passed", "data-summary-passed", s.passed, "passed"),
        ("tile failed", "data-summary-failed", s.failed, "failed"),
        ("tile ignored", "data-summary-ignored", s.ignored, "ignored"),
    ] {
        h.tile(class, attr, n, label);
    }
    let code = (exit as u8).to_string();
    h.open("div", &[("class", &format!("tile exit code-{code}")), ("data-exit-code", &code)])
        .el("span", &[("class", "n")], &format!("exit {code}"))
        .el("span", &[("class", "label")], exit.meaning())
        .close("div");
    h.raw("</div>");
    let total = s.passed + s.failed + s.ignored;
    if total > 0 {
        let label = format!(
            "{} passed, {} failed, {} ignored of {}",
            s.passed,
            s.failed,
            s.ignored,
            plural(total, "case", "cases")
        );
        h.open("div", &[("class", "bar"), ("role", "img"), ("aria-label", &label), ("title", &label)]);
        for (class, n) in [("passed", s.passed), ("failed", s.failed), ("ignored", s.ignored)] {
            if n > 0 {
                h.open("span", &[("class", class), ("style", &format!("flex-grow:{n}"))]).close("span");
            }
        }
        h.close("div");
    }
    if !s.ignored_by_reason.is_empty() {
        h.raw("<ul class=\"reasons\">");
        for (reason, n) in &s.ignored_by_reason {
            h.open("li", &[("data-ignored-reason", reason)])
                .text(&format!("{}: ignored, {reason}", plural(*n, "case", "cases")))
                .close("li");
        }
        h.raw("</ul>");
    }
    if !run.blocked.is_empty() {
        h.raw("<ul class=\"blocked\">");
        for (by, n) in &run.blocked {
            h.open("li", &[("data-blocked-by", by)])
                .text(&format!("blocked by {by}: {} not sent", plural(*n, "case", "cases")))
                .close("li");
        }
        h.raw("</ul>");
    }
    let unchecked = run.unchecked();
    if !unchecked.is_empty() {
        h.raw("<div class=\"warning unchecked\"><h3>Not checked: settings missing</h3><p>These cases were ignored for missing settings, so the run did not check them; <code>--require</code> makes that an error before anything is sent.</p><ul>");
        for u in &unchecked {
            let nothing = if u.nothing() { " (the area checked nothing)" } else { "" };
            h.open("li", &[("data-unchecked-area", &u.area)])
                .text(&format!(
                    "{}: {} of {}{nothing}; set {}",
                    u.area,
                    u.cases,
                    plural(u.of, "case", "cases"),
                    u.variables.join(", ")
                ))
                .close("li");
        }
        h.raw("</ul></div>");
    }
    let mut facts = Vec::new();
    if let Some(c) = head.coverage {
        facts.push(c.headline());
    }
    let t = &head.tally.contracts;
    if head.meta.contracts.compared && t.steps() > 0 {
        facts.push(format!(
            "{} compared with their contracts: {} breaking, {} additive",
            plural(t.steps(), "response shape", "response shapes"),
            t.total(VerdictStatus::Breaking),
            t.total(VerdictStatus::Additive)
        ));
    }
    if !facts.is_empty() {
        h.raw("<ul class=\"facts\">");
        for f in &facts {
            h.el("li", &[], f);
        }
        h.raw("</ul>");
    }
    let mut causes: Vec<&Failures> = head.tally.causes.values().collect();
    if !causes.is_empty() {
        // Each cause once, the most cases first: one wrong field in the sign-in answer is one
        // line here, not one per case.
        causes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.names.cmp(&b.names)));
        let cases: usize = causes.iter().map(|f| f.count).sum();
        let heading = format!("Failed cases ({cases}) by cause ({})", plural(causes.len(), "cause", "causes"));
        h.open("div", &[("class", "failures")]).el("h3", &[], &heading).raw("<ol>");
        for f in causes {
            let count = f.count.to_string();
            h.open("li", &[("data-cause-cases", &count)]);
            h.el("span", &[("class", "first")], &f.words).raw(" ");
            h.el("span", &[("class", "count")], &format!("({})", plural(f.count, "case", "cases"))).raw(": ");
            for (i, name) in f.names.iter().enumerate() {
                if i > 0 {
                    h.raw(", ");
                }
                h.open("a", &[("href", &format!("#{name}"))]).text(name).close("a");
            }
            if f.count > f.names.len() {
                h.text(&format!(" and {} more", f.count - f.names.len()));
            }
            h.raw("</li>");
        }
        h.raw("</ol></div>");
    }
    h.raw("</section>\n");
}

/// The releases the run may have left open, first and loud: someone has to check them in.
fn leftovers(h: &mut Html, run: &RunResult) {
    if run.leftovers.is_empty() {
        return;
    }
    let heading = format!(
        "{} may still be open on the target: check {} in",
        plural(run.leftovers.len(), "credential release", "credential releases"),
        if run.leftovers.len() == 1 { "it" } else { "them" }
    );
    h.open("div", &[("class", "leftovers"), ("role", "alert"), ("data-leftovers", &run.leftovers.len().to_string())])
        .el("h3", &[], &heading)
        .raw("<ul>");
    for l in &run.leftovers {
        h.open("li", &[("data-leftover-case", &l.case)])
            .el("strong", &[], &l.case)
            .text(&format!(": {}. ", l.what()))
            .text(&l.todo())
            .close("li");
    }
    h.raw("</ul></div>");
}

/// An area's heading with its counts.
fn area_open(h: &mut Html, area: &str, cases: &[Group]) {
    let failed = cases.iter().filter(|g| g.rank == 0).count();
    let ignored = cases.iter().filter(|g| g.rank == 1).count();
    let class = if failed > 0 { "area has-failed" } else { "area" };
    h.open("section", &[("class", class), ("id", &format!("area-{area}")), ("data-area", area)]);
    h.raw("<h3>").text(area).raw(" <span class=\"counts\">");
    h.text(&format!("{} passed", cases.len() - failed - ignored));
    if failed > 0 {
        h.raw(" · ").el("span", &[("class", "failed")], &format!("{failed} failed"));
    }
    if ignored > 0 {
        h.text(&format!(" · {ignored} ignored"));
    }
    h.raw("</span></h3>");
}

/// One case, as the page shows it.
pub fn case(c: &CaseResult) -> String {
    let mut h = Html::new();
    case_into(&mut h, c);
    h.out
}

fn outcome_word(o: &Outcome) -> &'static str {
    match o {
        Outcome::Passed => "passed",
        Outcome::Failed => "failed",
        Outcome::Ignored(_) => "ignored",
    }
}

fn case_into(h: &mut Html, c: &CaseResult) {
    let word = outcome_word(&c.outcome);
    let class = format!("case {word}");
    let mut attrs: Vec<(&'static str, &str)> =
        vec![("class", &class), ("id", &c.name), ("data-outcome", word), ("data-name", &c.name)];
    if c.failed() {
        attrs.push(("open", ""));
    }
    h.open("details", &attrs);
    let short = c.name.rsplit("::").next().unwrap_or(&c.name);
    h.raw("<summary>")
        .el("span", &[("class", &format!("badge {word}"))], word)
        .el("code", &[("class", "name")], short)
        .el("span", &[("class", "case-summary")], &c.summary)
        .el("span", &[("class", "dur")], &shown_duration(c.duration))
        .raw("</summary><div class=\"case-body\">");
    h.raw("<p class=\"where\">")
        .el("code", &[], &c.name)
        .raw(" in ")
        .el("code", &[], &format!("{}:{}", c.file, c.line))
        .raw("</p>");
    if let Some(source) = &c.source {
        h.raw("<p class=\"source\"><span class=\"label\">source</span> ").text(source).raw("</p>");
    }
    if let Outcome::Ignored(reason) = &c.outcome {
        h.open("p", &[("class", "reason"), ("data-ignored-reason", reason.kind())])
            .raw("<span class=\"label\">ignored</span> ")
            .text(&reason.to_string())
            .close("p");
    }
    if !c.steps.is_empty() {
        h.raw("<ol class=\"steps\">");
        for s in &c.steps {
            step(h, s);
        }
        h.raw("</ol>");
    }
    h.raw("</div></details>\n");
}

fn step(h: &mut Html, s: &StepResult) {
    let state = if s.failed() {
        "failed"
    } else if s.skipped.is_some() {
        "skipped"
    } else {
        "passed"
    };
    let phase = match s.phase {
        Phase::Step => "step",
        Phase::Teardown => "teardown",
    };
    h.open("li", &[("class", &format!("step {state}")), ("data-phase", phase)]);
    h.raw("<div class=\"step-head\">").el("span", &[("class", "phase")], &format!("{phase} {}", s.index));
    let (method, path) = s.request.as_ref().map_or(("", ""), |l| (l.method.as_str(), l.path.as_str()));
    if !s.name.starts_with(&format!("{method} ")) || method.is_empty() {
        h.el("span", &[("class", "step-name")], &s.name);
    }
    if let Some(line) = &s.request {
        let route = line.route.as_deref().unwrap_or("");
        h.open("code", &[("class", "request"), ("title", route)]).text(&format!("{method} {path}")).close("code");
    }
    if let Some(code) = s.status {
        let class = format!("status s{}xx", code / 100);
        h.raw("<span class=\"arrow\">→</span>").el("span", &[("class", &class)], &code.to_string());
        h.el("span", &[("class", "dur")], &shown_duration(s.duration));
    }
    if s.span.line > 0 {
        h.el("span", &[("class", "line")], &format!("line {}", s.span.line));
    }
    h.raw("</div>");
    if let Some(skipped) = s.skipped {
        let why = match skipped {
            Skipped::AfterFailure => "not run: an earlier step failed",
            Skipped::NothingToUndo => "not run: nothing to undo (an earlier step captured nothing to clean up)",
            Skipped::Interrupted => "not run: the run was interrupted",
            Skipped::Unreachable => "not run: the target stopped answering",
            Skipped::NothingToCheck => "not run: an earlier step found nothing to check on this target",
        };
        h.el("p", &[("class", "skipped")], why);
    }
    if !s.attempts.is_empty() {
        h.raw("<ol class=\"attempts\">");
        for (i, a) in s.attempts.iter().enumerate() {
            let status = a.status.map_or_else(|| "no response".to_owned(), |c| c.to_string());
            let what = match (&a.error, a.failed.first()) {
                (Some(e), _) => e.to_string(),
                (None, Some(_)) => a.failed.iter().map(explain).collect::<Vec<_>>().join("; "),
                (None, None) => "did not hold".into(),
            };
            h.raw("<li>")
                .el("span", &[("class", "label")], &format!("attempt {}", i + 1))
                .raw(" ")
                .text(&format!("{status} after {}: {what}", shown_duration(a.duration)))
                .raw("</li>");
        }
        h.raw("</ol>");
    }
    if let Some(e) = &s.error {
        h.open("p", &[("class", "error outcome failed"), ("data-kind", e.kind())])
            .el("span", &[("class", "label")], e.kind())
            .raw(" ")
            .text(&e.to_string())
            .close("p");
    }
    let shown: Vec<&CheckOutcome> = s.outcomes.iter().filter(|o| o.kind != CheckKind::Contract).collect();
    if !shown.is_empty() {
        h.raw("<table class=\"outcomes\"><thead><tr><th class=\"mark\"></th><th>expectation</th><th>expected</th><th>actual</th><th class=\"line\">line</th></tr></thead><tbody>");
        for o in shown {
            outcome(h, o);
        }
        h.raw("</tbody></table>");
    }
    if s.outcomes_omitted > 0 {
        h.el(
            "p",
            &[("class", "omitted")],
            &format!("… {} more not listed", plural(s.outcomes_omitted, "outcome", "outcomes")),
        );
    }
    if let Some(body) = &s.body_excerpt {
        h.raw("<div class=\"excerpt\"><span class=\"label\">response body</span>").el("pre", &[], body).raw("</div>");
    }
    if s.body_masked {
        h.el(
            "p",
            &[("class", "masked")],
            "The response carried more secrets than psconform keeps track of, so nothing taken from its body is shown.",
        );
    }
    if let Some(v) = &s.contract {
        let failed = s.outcomes.iter().any(|o| o.kind == CheckKind::Contract && !o.passed);
        let status = match v.status {
            VerdictStatus::Conforming => "conforming",
            VerdictStatus::Additive => "additive",
            VerdictStatus::Breaking => "breaking",
            VerdictStatus::Missing => "missing",
        };
        let class = if failed { format!("verdict {status} outcome failed") } else { format!("verdict {status}") };
        h.open("div", &[("class", &class), ("data-contract", &v.contract)])
            .el("span", &[("class", "label")], "contract")
            .raw(" ");
        h.el("code", &[], &v.contract).raw(" ");
        let word = if v.status == VerdictStatus::Missing { "no contract yet" } else { status };
        h.el("span", &[("class", "sev")], word);
        changes_list(h, &v.changes, v.more_changes);
        h.raw("</div>");
    }
    h.raw("</li>");
}

fn changes_list(h: &mut Html, changes: &[Change], more: usize) {
    if changes.is_empty() {
        return;
    }
    h.raw("<ul class=\"changes\">");
    for c in changes {
        let word = severity(c.severity);
        h.open("li", &[("class", &format!("change {word}"))])
            .el("span", &[("class", "sev")], word)
            .raw(" ")
            .text(&c.line())
            .close("li");
    }
    if more > 0 {
        h.el("li", &[("class", "change more")], &format!("and {more} more"));
    }
    h.raw("</ul>");
}

fn cut(s: String) -> String {
    crate::secret::cut(&s, MAX_VALUE)
}

fn outcome(h: &mut Html, o: &CheckOutcome) {
    let (class, mark) = match (o.passed, o.fails()) {
        (true, _) => ("outcome passed", "✓"),
        (false, true) => ("outcome failed", "✗"),
        // An observed expectation that did not hold, without --strict: shown, not failing.
        (false, false) => ("outcome observed", "!"),
    };
    let kind = serde_json::to_value(o.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    let matcher = serde_json::to_value(o.matcher).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    h.open("tr", &[("class", class), ("data-kind", &kind), ("data-matcher", &matcher)])
        .el("td", &[("class", "mark")], mark)
        .raw("<td class=\"subject\">")
        .el("code", &[], &subject(o));
    if let Some(obs) = &o.observed {
        h.el("span", &[("class", "observed"), ("title", &format!("observed on {}", obs.on))], "observed");
    }
    h.raw("</td>")
        .el("td", &[("class", "expected")], &cut(expected(o)))
        .el("td", &[("class", "actual")], &cut(actual(o)))
        .el("td", &[("class", "line")], &o.span.line.to_string())
        .close("tr");
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::report::{ContractsMeta, RunMeta};
    use crate::result::{Attempt, IgnoreReason, Matcher, RequestLine, RunResult, Span};
    use crate::seal::Redactor;
    use crate::shape::Verdict;

    fn outcome(
        subject: &str,
        matcher: Matcher,
        expected: serde_json::Value,
        actual: serde_json::Value,
    ) -> CheckOutcome {
        let passed = expected == actual || (matcher == Matcher::Type && expected[0] == actual);
        CheckOutcome {
            kind: if subject == "status" { CheckKind::Status } else { CheckKind::Path },
            matcher,
            subject: subject.into(),
            expected,
            actual,
            note: None,
            passed,
            span: Span { line: 12, column: 9 },
            observed: None,
        }
    }

    fn step(outcomes: Vec<CheckOutcome>) -> StepResult {
        let mut s = StepResult::new(Phase::Step, 1, "POST Auth/SignAppin".into(), Span { line: 10, column: 7 });
        s.request = Some(RequestLine { method: "POST".into(), path: "Auth/SignAppin".into(), route: None });
        s.status = Some(200);
        s.outcomes = outcomes;
        s
    }

    fn case(name: &str, outcome: Outcome, steps: Vec<StepResult>) -> CaseResult {
        CaseResult {
            name: name.into(),
            file: "cases/auth/sign-app-in.yaml".into(),
            line: 3,
            endpoint: "POST Auth/SignAppin".into(),
            summary: format!("summary of {name}"),
            source: Some("reference §1.1".into()),
            outcome,
            duration: Duration::from_millis(3),
            steps,
            leftovers: Vec::new(),
        }
    }

    /// The page of `cases`, as a run writes it.
    fn report(cases: Vec<CaseResult>, compared: bool) -> String {
        let meta = RunMeta {
            psconform: "0.1.0".into(),
            target: "https://ps.example.com/BeyondTrust/api/public/v3".into(),
            product_version: Some("24.3.0.0".into()),
            simulator: None,
            started: "2026-12-01T16:33:42Z".into(),
            duration: Duration::from_secs(2),
            options: vec!["--rate 2".into()],
            contracts: ContractsMeta { compared, set: "snapshots".into(), strict: false, drift_report: None },
        };
        let mut run = RunResult::new(false, 0);
        let mut tally = PageTally::default();
        let mut placed: Vec<(Group, String)> = Vec::new();
        for c in cases {
            let done = run.record(Redactor::default().seal(c));
            let c = done.case.get();
            tally.add(c);
            placed.push((Group::of(c), super::case(c)));
        }
        placed.sort_by(|a, b| a.0.cmp(&b.0));
        let groups: Vec<Group> = placed.iter().map(|(g, _)| g.clone()).collect();
        let head = PageHead { meta: &meta, run: &run, coverage: None, drift: None, tally: &tally };
        let mut out = Vec::new();
        write_run_page(&mut out, &head, &groups, &mut |i| Ok(placed[i].1.clone())).expect("written to memory");
        String::from_utf8(out).expect("UTF-8")
    }

    fn sample() -> String {
        let good = outcome("status", Matcher::Status, json!(200), json!(200));
        let bad = outcome("$.UserId", Matcher::Type, json!(["integer"]), json!("string"));
        let mut failing = step(vec![good.clone(), bad]);
        failing.contract = Some(Verdict {
            contract: "snapshots/post__auth__signappin__200.snap".into(),
            status: VerdictStatus::Conforming,
            changes: Vec::new(),
            more_changes: 0,
        });
        let ignored = case(
            "auth::sign-app-in::oauth",
            Outcome::Ignored(IgnoreReason::MissingSettings { variables: vec!["PS_CLIENT_ID".into()] }),
            Vec::new(),
        );
        report(
            vec![
                case("auth::sign-app-in::a-pass", Outcome::Passed, vec![step(vec![good])]),
                case("auth::sign-app-in::b-fail", Outcome::Failed, vec![failing]),
                ignored,
            ],
            true,
        )
    }

    #[test]
    fn the_verdict_comes_first_and_a_failed_step_shows_its_body_escaped() {
        let mut bad = step(vec![outcome("status", Matcher::Status, json!(200), json!(500))]);
        bad.body_excerpt = Some(r#"{"Name":"<b>x</b>","Password":"***"}"#.into());
        let page = report(vec![case("a::b::failed", Outcome::Failed, vec![bad])], true);
        let verdict = page.find("data-verdict-line=\"failed\"").expect("a verdict line");
        assert!(
            verdict < page.find("data-meta=\"target\"").expect("the target"),
            "the verdict comes before the target"
        );
        assert!(page.contains("Failed: 1 case of 1"), "{page}");
        assert!(
            page.contains("<pre>{&quot;Name&quot;:&quot;&lt;b&gt;x&lt;/b&gt;&quot;"),
            "the excerpt is shown, escaped"
        );
    }

    #[test]
    fn counts_exit_code_and_header_are_shown() {
        let page = sample();
        assert!(page.contains(r#"data-summary-passed="1""#), "{page}");
        assert!(page.contains(r#"data-summary-failed="1""#));
        assert!(page.contains(r#"data-summary-ignored="1""#));
        assert!(page.contains(r#"data-exit-code="1""#) && page.contains("at least one case failed"));
        assert!(page.contains(r#"data-ignored-reason="settings not provided""#));
        assert!(
            page.contains("https:/<wbr>/<wbr>ps.example.com/<wbr>BeyondTrust/<wbr>api/<wbr>public/<wbr>v3")
                && page.contains("24.3.0.0")
        );
        assert!(page.contains("--rate 2") && page.contains("2026-12-01 16:33:42 UTC"));
    }

    #[test]
    fn a_failed_case_comes_first_and_open_with_expected_and_actual_in_terminal_words() {
        let page = sample();
        let failed = page.find(r#"id="auth::sign-app-in::b-fail""#).expect("the failed case");
        let ignored = page.find(r#"id="auth::sign-app-in::oauth""#).expect("the ignored case");
        let passed = page.find(r#"id="auth::sign-app-in::a-pass""#).expect("the passed case");
        assert!(failed < ignored && ignored < passed, "failed, then ignored, then passed");
        let open_tag = |at: usize| {
            let start = page[..at].rfind("<details").unwrap_or(at);
            let end = page[at..].find('>').map_or(page.len(), |e| at + e + 1);
            &page[start..end]
        };
        assert!(open_tag(failed).contains(" open>"), "{}", open_tag(failed));
        assert!(!open_tag(passed).contains(" open>"), "{}", open_tag(passed));
        assert!(page.contains(
            r#"<tr class="outcome failed" data-kind="path" data-matcher="type"><td class="mark">✗</td><td class="subject"><code>$.UserId type</code></td><td class="expected">integer</td><td class="actual">string</td>"#
        ), "{page}");
        assert!(page.contains("needs PS_CLIENT_ID, which is not set"));
        assert!(page.contains(r##"<a href="#auth::sign-app-in::b-fail">"##), "the failure list links to the case");
    }

    #[test]
    fn every_text_is_escaped_and_nothing_is_loaded() {
        let mut bad = case(
            "auth::x::y",
            Outcome::Failed,
            vec![step(vec![outcome(
                "$.Name",
                Matcher::Equals,
                json!("<script>alert('x')</script>"),
                json!("a & b \"c\""),
            )])],
        );
        bad.summary = "<img src=x onerror=alert(1)>".into();
        let page = report(vec![bad], true);
        assert!(!page.contains("<img src=x") && !page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
        assert!(page.contains("&quot;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;"));
        assert!(page.contains("&quot;a &amp; b \\&quot;c\\&quot;&quot;"), "{page}");
        let refs = regex::Regex::new(r#"\b(?:href|src|action|srcset)\s*=\s*"([^"]*)""#).expect("regex");
        for r in refs.captures_iter(&page) {
            assert!(r[1].starts_with('#'), "an outside reference: {}", &r[0]);
        }
        for tag in ["<img", "<link", "<iframe", "<object", "<embed", "url(", "@import"] {
            assert!(!page.contains(tag), "{tag} in the page");
        }
        assert_eq!(page.matches("<script>").count(), 1, "one inline script, the filter");
    }

    #[test]
    fn contracts_not_compared_are_said_to_be_so() {
        let page = report(vec![case("a::b::c", Outcome::Passed, vec![])], false);
        assert!(page.contains(r#"data-contracts="not-compared""#) && page.contains("--no-snapshots"), "{page}");
        let page = sample();
        assert!(page.contains(r#"data-contracts="compared""#), "{page}");
        assert!(page.contains("Every response conformed: 1 contract file, 1 step"), "{page}");
    }

    #[test]
    fn earlier_attempts_of_a_polled_step_are_listed() {
        let mut s = step(vec![outcome("status", Matcher::Status, json!(200), json!(200))]);
        s.attempts = vec![Attempt {
            status: Some(403),
            duration: Duration::from_millis(2),
            failed: vec![outcome("status", Matcher::Status, json!(200), json!(403))],
            error: None,
        }];
        let page = report(vec![case("a::b::c", Outcome::Passed, vec![s])], true);
        assert!(page.contains("attempt 1</span> 403 after 2 ms: status: expected 200, got 403"), "{page}");
    }
}
