//! A compiled check against one response: every expectation of it evaluated into typed
//! outcomes (never stopping at the first failure), within the step's deadline; and a
//! capture's value. What an outcome shows of the response goes through `show`.

use std::time::Instant;

use serde_json::{Value, json};

use super::query::{DocStats, OverVisits};
use super::show::bound;
use super::{CaptureFrom, CapturePlan, Check, CookieMatcher, MAX_FAILURES, PathMatcher, PathPlan, Test, TextMatcher};
use crate::case::spec::{JsonType, LengthSpec, StatusSpec};
use crate::plan::template::{ValueTemplate, Vars};
use crate::response::Response;
use crate::result::{CheckKind, CheckOutcome, Difference, DifferenceKind, Matcher, Note, Observed, Span};
use crate::seal::Redactor;
use crate::secret::{FieldPolicy, MASK, show_header};
use crate::shape::StringFormat;

/// How many values a path may select for failures to be named by their location.
const MAX_LOCATED: usize = 10_000;

/// Evaluating a step's checks ran past its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverBudget;

/// What checks are evaluated against.
pub struct Eval<'a> {
    /// The response.
    pub resp: &'a Response,
    /// The case's variables.
    pub vars: &'a Vars,
    /// Which fields of this endpoint are credentials.
    pub fields: &'a FieldPolicy,
    /// The case's redactor, for values shown.
    pub redactor: &'a Redactor,
    /// When evaluation must stop.
    pub deadline: Instant,
    /// The body as it may be shown, decided once.
    pub(super) shown: std::cell::OnceCell<crate::seal::ShownBody>,
    /// The body's size, width and depth, for the JSONPath budget, measured once.
    stats: std::cell::OnceCell<DocStats>,
    /// Whether an observed expectation that fails fails its step (`--strict`).
    pub strict: bool,
}

pub(super) fn outcome(kind: CheckKind, matcher: Matcher, subject: impl Into<String>, span: Span) -> CheckOutcome {
    CheckOutcome {
        kind,
        matcher,
        subject: subject.into(),
        expected: Value::Null,
        actual: Value::Null,
        note: None,
        passed: false,
        span,
        observed: None,
    }
}

impl CheckOutcome {
    fn expect(mut self, v: Value) -> Self {
        self.expected = v;
        self
    }
    fn got(mut self, v: Value) -> Self {
        self.actual = v;
        self
    }
    fn note(mut self, n: impl Into<String>) -> Self {
        self.note = Some(Note::Text(n.into()));
        self
    }
    fn passed(mut self, p: bool) -> Self {
        self.passed = p;
        self
    }
}

impl<'a> Eval<'a> {
    /// What checks of one response are evaluated against.
    pub fn new(
        resp: &'a Response,
        vars: &'a Vars,
        fields: &'a FieldPolicy,
        redactor: &'a Redactor,
        deadline: Instant,
    ) -> Self {
        Eval {
            resp,
            vars,
            fields,
            redactor,
            deadline,
            strict: false,
            shown: std::cell::OnceCell::new(),
            stats: std::cell::OnceCell::new(),
        }
    }

    pub(super) fn over(&self) -> bool {
        Instant::now() > self.deadline
    }
}

impl Check {
    /// Evaluates the check, appending its outcomes.
    pub fn eval(&self, e: &Eval, out: &mut Vec<CheckOutcome>) -> Result<(), OverBudget> {
        let start = out.len();
        let result = self.eval_test(e, out);
        if let Some(on) = &self.observed {
            for o in &mut out[start..] {
                o.observed = Some(Observed { on: on.to_string(), fails: e.strict });
            }
        }
        result
    }

    fn eval_test(&self, e: &Eval, out: &mut Vec<CheckOutcome>) -> Result<(), OverBudget> {
        if e.over() {
            return Err(OverBudget);
        }
        let span = self.span;
        match &self.test {
            Test::Status(spec) => out.push(status(e, spec, span)),
            Test::Header { name, matcher } => out.push(header(e, name, matcher, span)),
            Test::HeaderAbsent { name, absent } => {
                let present = e.resp.header(name).is_some();
                out.push(
                    outcome(CheckKind::Header, Matcher::Absent, name, span)
                        .expect(Value::Bool(*absent))
                        .got(Value::Bool(!present))
                        .passed(present != *absent),
                );
            }
            Test::Cookie { name, matcher } => out.extend(cookie(e, name, matcher, span)),
            Test::BodyEmpty(want) => {
                let empty = e.resp.body.is_empty();
                let mut o = outcome(CheckKind::Body, Matcher::Empty, "body", span)
                    .expect(Value::Bool(*want))
                    .got(Value::Bool(empty))
                    .passed(empty == *want);
                if !empty {
                    o = o.note(format!("{} bytes", e.resp.body.len()));
                }
                out.push(o);
            }
            Test::BodyText(matcher) => {
                let text = e.resp.text();
                let mut o = text_match(e, matcher, CheckKind::Body, "body", &[&text], span);
                o.actual = e.show_body_text();
                out.push(o);
            }
            Test::Body { value, partial } => out.push(body(e, value, *partial, span)),
            Test::Path { path, matcher } => path_check(e, path, matcher, span, out)?,
        }
        Ok(())
    }
}

fn status_value(spec: &StatusSpec) -> Value {
    match spec {
        StatusSpec::Code(c) => json!(c),
        StatusSpec::AnyOf(cs) => json!(cs),
        StatusSpec::Class(c) => json!(format!("{c}xx")),
    }
}

fn status(e: &Eval, spec: &StatusSpec, span: Span) -> CheckOutcome {
    let ok = spec.accepts(e.resp.status);
    let mut o = outcome(CheckKind::Status, Matcher::Status, "status", span)
        .expect(status_value(spec))
        .got(json!(e.resp.status))
        .passed(ok);
    // A wrong status is easier to read with what the server said alongside it.
    if !ok && !e.resp.body.is_empty() {
        o.note = Some(Note::ResponseBody(e.show_body()));
    }
    o
}

fn header(e: &Eval, name: &str, matcher: &TextMatcher, span: Span) -> CheckOutcome {
    let values: Vec<&str> = e.resp.header_values(name).collect();
    let shown: Vec<Value> = values.iter().map(|v| Value::String(e.show_text(&show_header(name, v)))).collect();
    let actual = match shown.len() {
        0 => Value::Null,
        1 => shown.into_iter().next().unwrap_or(Value::Null),
        _ => Value::Array(shown),
    };
    let mut o = text_match(e, matcher, CheckKind::Header, name, &values, span).got(actual);
    if values.is_empty() {
        o = o.note("absent");
    }
    if crate::secret::is_sensitive_header(name) && matches!(matcher, TextMatcher::Equals(_) | TextMatcher::Contains(_))
    {
        o.expected = Value::String(MASK.into());
    }
    o
}

/// Compares texts; passes when one of them matches. The expected value is the shown form.
fn text_match(
    e: &Eval,
    matcher: &TextMatcher,
    kind: CheckKind,
    subject: &str,
    texts: &[&str],
    span: Span,
) -> CheckOutcome {
    let (m, rendered) = match matcher {
        TextMatcher::Equals(t) => (Matcher::Equals, Some(t.render(e.vars))),
        TextMatcher::Contains(t) => (Matcher::Contains, Some(t.render(e.vars))),
        TextMatcher::Matches(p) => {
            let ok = texts.iter().any(|t| p.is_match(t));
            return outcome(kind, Matcher::Matches, subject, span).expect(Value::String(p.source.clone())).passed(ok);
        }
    };
    let o = outcome(kind, m, subject, span);
    match rendered {
        Some(Ok(r)) => {
            let ok = match matcher {
                TextMatcher::Equals(_) => texts.contains(&r.value.as_str()),
                _ => texts.iter().any(|t| t.contains(&r.value)),
            };
            o.expect(Value::String(r.shown)).passed(ok)
        }
        Some(Err(undefined)) => o.note(undefined.to_string()),
        None => o,
    }
}

fn cookie(e: &Eval, name: &str, matcher: &CookieMatcher, span: Span) -> Option<CheckOutcome> {
    let found = e.resp.set_cookies().iter().rev().find(|c| c.name == name);
    let flag = |m: Matcher, want: bool, got: bool| {
        outcome(CheckKind::Cookie, m, name, span).expect(Value::Bool(want)).got(Value::Bool(got)).passed(want == got)
    };
    if let CookieMatcher::Set(want) = matcher {
        return Some(flag(Matcher::Set, *want, found.is_some()));
    }
    // Without the cookie, its `set` check has failed already; its attributes say nothing.
    let c = found?;
    Some(match matcher {
        CookieMatcher::Set(_) => return None,
        CookieMatcher::ValueMatches(p) => {
            let ok = p.is_match(&c.value);
            outcome(CheckKind::Cookie, Matcher::ValueMatches, name, span)
                .expect(Value::String(p.source.clone()))
                .got(Value::Bool(ok))
                .note("the cookie's value is never shown")
                .passed(ok)
        }
        CookieMatcher::HttpOnly(want) => flag(Matcher::HttpOnly, *want, c.http_only),
        CookieMatcher::Secure(want) => flag(Matcher::Secure, *want, c.secure),
        CookieMatcher::Path(p) => outcome(CheckKind::Cookie, Matcher::CookiePath, name, span)
            .expect(Value::String(p.clone()))
            .got(c.path.clone().map_or(Value::Null, Value::String))
            .passed(c.path.as_deref() == Some(p)),
        CookieMatcher::SameSite(s) => outcome(CheckKind::Cookie, Matcher::SameSite, name, span)
            .expect(Value::String(s.clone()))
            .got(c.same_site.clone().map_or(Value::Null, Value::String))
            .passed(c.same_site.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(s))),
    })
}

fn body(e: &Eval, value: &ValueTemplate, partial: bool, span: Span) -> CheckOutcome {
    let m = if partial { Matcher::Partial } else { Matcher::Exact };
    let o = outcome(CheckKind::Body, m, "body", span);
    let want = match value.render(e.vars) {
        Ok(w) => w,
        Err(undefined) => return o.note(undefined.to_string()),
    };
    let o = o.expect(bound(&want.shown, 0));
    let actual = match e.resp.json() {
        Ok(v) => v,
        Err(why) => return o.note(e.not_json(why)),
    };
    let mut diffs = Vec::new();
    let mut count = 0;
    compare_values(e, &want.value, actual, "$", partial, &mut diffs, &mut count);
    if count == 0 {
        return o.got(e.show_body()).passed(true);
    }
    let more = count - diffs.len();
    CheckOutcome { note: Some(Note::Differences { listed: diffs, more }), ..o }
}

/// Collects differences between `want` and `actual` (at most [`MAX_FAILURES`] described,
/// all counted). In partial mode objects may carry keys `want` does not list; the rule is the
/// same at every depth.
fn compare_values(
    e: &Eval,
    want: &Value,
    actual: &Value,
    at: &str,
    partial: bool,
    out: &mut Vec<Difference>,
    count: &mut usize,
) {
    match (want, actual) {
        (Value::Object(w), Value::Object(a)) => {
            for (k, wv) in w {
                let here = format!("{at}.{k}");
                match a.get(k) {
                    Some(av) => compare_values(e, wv, av, &here, partial, out, count),
                    None => note_diff(out, count, Difference { at: e.show_text(&here), kind: DifferenceKind::Missing }),
                }
            }
            if !partial {
                for k in a.keys().filter(|k| !w.contains_key(*k)) {
                    let at = e.show_text(&format!("{at}.{k}"));
                    note_diff(out, count, Difference { at, kind: DifferenceKind::Unexpected });
                }
            }
        }
        (Value::Array(w), Value::Array(a)) => {
            if w.len() != a.len() {
                let kind = DifferenceKind::Length { actual: a.len(), expected: w.len() };
                note_diff(out, count, Difference { at: at.to_owned(), kind });
                return;
            }
            for (i, (wv, av)) in w.iter().zip(a).enumerate() {
                compare_values(e, wv, av, &format!("{at}[{i}]"), partial, out, count);
            }
        }
        _ if json_eq(want, actual) => {}
        _ => {
            let shown = if at == "$" && e.fields.bare_body(e.resp.status) {
                Value::String(MASK.into())
            } else {
                e.show_at(at, actual)
            };
            let kind = DifferenceKind::Value { actual: shown, expected: e.show_at(at, want) };
            note_diff(out, count, Difference { at: e.show_text(at), kind })
        }
    }
}

fn note_diff(out: &mut Vec<Difference>, count: &mut usize, s: Difference) {
    *count += 1;
    if out.len() < MAX_FAILURES {
        out.push(s);
    }
}

fn path_check(
    e: &Eval,
    path: &PathPlan,
    matcher: &PathMatcher,
    span: Span,
    out: &mut Vec<CheckOutcome>,
) -> Result<(), OverBudget> {
    let (m, expected) = (matcher.matcher(), path_expected(e, matcher));
    let base = outcome(CheckKind::Path, m, &path.source, span).expect(expected.clone());
    let doc = match e.resp.json() {
        Ok(v) => v,
        Err(why) => {
            out.push(base.note(e.not_json(why)));
            return Ok(());
        }
    };
    let nodes = match path.query(doc, || *e.stats.get_or_init(|| DocStats::of(doc)), Some(e.deadline)) {
        Ok(nodes) => nodes,
        Err(OverVisits::Deadline) => return Err(OverBudget),
        Err(over) => {
            out.push(base.note(over.to_string()));
            return Ok(());
        }
    };
    if let PathMatcher::Exists(want) = matcher {
        let mut o = base.got(Value::Bool(!nodes.is_empty())).passed(nodes.is_empty() != *want);
        if nodes.len() > 1 {
            o = o.note(format!("{} values", nodes.len()));
        }
        out.push(o);
        return Ok(());
    }
    // A singular path (`$.UserId`) names one place, which must be there. A path that selects
    // many (`$[*].Id`) checks every value it selects, and an empty list has none to fail:
    // `exists: true` says there must be at least one.
    if nodes.is_empty() {
        out.push(if path.singular { base.note("nothing selected") } else { base.passed(true).note("selects nothing") });
        return Ok(());
    }
    let rendered = render_expected(e, matcher);
    if let Err(undefined) = &rendered {
        out.push(base.note(undefined.clone()));
        return Ok(());
    }
    let wants: &[Value] = rendered.as_deref().unwrap_or(&[]);
    if let [node] = nodes.as_slice() {
        let (actual, note) = actual_of(e, &path.source, matcher, node);
        let mut o = base.got(actual).passed(test_node(matcher, wants, node));
        o.note = note.map(Note::Text);
        out.push(o);
        return Ok(());
    }
    let mut failures: Vec<usize> = Vec::new();
    let mut failed = 0usize;
    for (i, node) in nodes.iter().enumerate() {
        if i % 4096 == 4095 && e.over() {
            return Err(OverBudget);
        }
        if !test_node(matcher, wants, node) {
            failed += 1;
            if failures.len() < MAX_FAILURES {
                failures.push(i);
            }
        }
    }
    if failed == 0 {
        out.push(base.passed(true).note(format!("all {} selected values", nodes.len())));
        return Ok(());
    }
    let locations = if nodes.len() <= MAX_LOCATED { path.locations(doc, Some(e.deadline)) } else { Vec::new() };
    for i in failures {
        let (actual, note) = actual_of(e, &path.source, matcher, nodes[i]);
        let subject = locations
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("{} (value {} of {})", path.source, i + 1, nodes.len()));
        let mut o = outcome(CheckKind::Path, m, e.show_text(&subject), span).expect(expected.clone()).got(actual);
        o.note = note.map(Note::Text);
        out.push(o);
    }
    if failed > MAX_FAILURES {
        out.push(base.note(format!("and {} more of {} selected values failed", failed - MAX_FAILURES, nodes.len())));
    }
    Ok(())
}

/// What a path matcher expects, as shown.
fn path_expected(e: &Eval, matcher: &PathMatcher) -> Value {
    match matcher {
        PathMatcher::Exists(b) => Value::Bool(*b),
        PathMatcher::Equals(t) => t.render(e.vars).map_or(Value::Null, |r| bound(&r.shown, 0)),
        PathMatcher::Type(ts) => json!(ts.0.iter().map(|t| t.as_str()).collect::<Vec<_>>()),
        PathMatcher::Matches(p) => Value::String(p.source.clone()),
        PathMatcher::OneOf(ts) => {
            Value::Array(ts.iter().map(|t| t.render(e.vars).map_or(Value::Null, |r| bound(&r.shown, 0))).collect())
        }
        PathMatcher::Length(LengthSpec::Exact(n)) => json!(n),
        PathMatcher::Length(LengthSpec::Range { min, max }) => json!({"min": min, "max": max}),
        PathMatcher::Min(n) => number(*n),
        PathMatcher::Max(n) => number(*n),
        PathMatcher::Format(f) => Value::String(f.name().into()),
    }
}

/// The values templates in the matcher render to, once per check.
fn render_expected(e: &Eval, matcher: &PathMatcher) -> Result<Vec<Value>, String> {
    match matcher {
        PathMatcher::Equals(t) => t.render(e.vars).map(|r| vec![r.value]).map_err(|u| u.to_string()),
        PathMatcher::OneOf(ts) => {
            ts.iter().map(|t| t.render(e.vars).map(|r| r.value).map_err(|u| u.to_string())).collect()
        }
        _ => Ok(Vec::new()),
    }
}

/// A bound as JSON: whole numbers stay integers, so `min: 0` shows as `0`.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 { json!(n as i64) } else { json!(n) }
}

/// Whether one selected value satisfies the matcher; cheap, so a path that selects millions
/// of values is walked quickly.
fn test_node(matcher: &PathMatcher, wants: &[Value], node: &Value) -> bool {
    match matcher {
        PathMatcher::Exists(_) => true,
        PathMatcher::Equals(_) | PathMatcher::OneOf(_) => wants.iter().any(|w| json_eq(w, node)),
        PathMatcher::Type(ts) => ts.admits(node),
        PathMatcher::Matches(p) => node.as_str().is_some_and(|s| p.is_match(s)),
        PathMatcher::Length(l) => length(node).is_some_and(|n| l.accepts(n)),
        PathMatcher::Min(lim) => node.as_f64().is_some_and(|n| n >= *lim),
        PathMatcher::Max(lim) => node.as_f64().is_some_and(|n| n <= *lim),
        PathMatcher::Format(f) => node.as_str().map(StringFormat::of) == Some(*f),
    }
}

fn length(node: &Value) -> Option<u64> {
    match node {
        Value::String(s) => Some(s.chars().count() as u64),
        Value::Array(a) => Some(a.len() as u64),
        Value::Object(o) => Some(o.len() as u64),
        _ => None,
    }
}

/// What a report shows of one selected value, and a note when the value itself says little.
fn actual_of(e: &Eval, path: &str, matcher: &PathMatcher, node: &Value) -> (Value, Option<String>) {
    match matcher {
        PathMatcher::Type(_) => (Value::String(JsonType::of(node).as_str().into()), None),
        PathMatcher::Length(_) => match length(node) {
            Some(n) => (json!(n), None),
            None => (Value::Null, Some(format!("a {} has no length", JsonType::of(node).as_str()))),
        },
        PathMatcher::Format(f) => {
            let got = node.as_str().map(StringFormat::of).filter(|g| g != f);
            (e.show_at(path, node), got.map(|g| format!("a {} string", g.name())))
        }
        _ => (e.show_at(path, node), None),
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`).
pub fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(i), Some(j), _, _) => i == j,
            (_, _, Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| json_eq(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

impl CapturePlan {
    /// The captured value and whether it is a credential, or the outcome that says why there
    /// is none.
    pub fn eval(&self, resp: &Response, fields: &FieldPolicy) -> Result<(Value, bool), Box<CheckOutcome>> {
        let fail = |why: String| {
            Err(Box::new(
                outcome(CheckKind::Capture, Matcher::Captured, &self.name, self.span)
                    .expect(Value::Bool(true))
                    .got(Value::Bool(false))
                    .note(why),
            ))
        };
        let (value, sensitive) = match &self.from {
            CaptureFrom::Path(p) => {
                let doc = match resp.json() {
                    Ok(d) => d,
                    Err(why) => return fail(why.to_owned()),
                };
                match p.query(doc, || DocStats::of(doc), None).as_deref() {
                    Ok([one]) => ((*one).clone(), fields.is_sensitive_path(&p.source, resp.status)),
                    Ok(other) => return fail(format!("{} selects {} values, not exactly one", p.source, other.len())),
                    Err(over) => return fail(over.to_string()),
                }
            }
            CaptureFrom::Header(h) => match resp.header(h) {
                Some(v) => (Value::String(v.to_owned()), crate::secret::is_sensitive_header(h)),
                None => return fail(format!("no {h} header")),
            },
            CaptureFrom::Cookie(c) => match resp.set_cookies().iter().rev().find(|k| &k.name == c) {
                Some(k) => (Value::String(k.value.clone()), true),
                None => return fail(format!("the response does not set cookie {c}")),
            },
        };
        Ok((value, self.secret || sensitive))
    }
}

/// The outcome of a capture that worked: no value is shown.
pub fn captured(plan: &CapturePlan) -> CheckOutcome {
    outcome(CheckKind::Capture, Matcher::Captured, &plan.name, plan.span)
        .expect(Value::Bool(true))
        .got(Value::Bool(true))
        .passed(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(!json_eq(&json!(1), &json!("1")));
    }
}
