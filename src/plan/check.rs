//! Checks: one variant per matcher, compiled once, each evaluating itself against a response
//! into typed [`CheckOutcome`]s.
//!
//! A check never returns early on a failure: every expectation of a step is evaluated and
//! reported. What a check shows of the response is masked by position (credential fields,
//! credential headers, cookie values), redacted by value with what the case knows so far, and
//! only then cut to a preview, so a preview can never end inside a secret. Work is bounded: a
//! path that selects many values lists at most [`MAX_FAILURES`] failures, shown values are
//! cut, and the step's deadline is checked as the values are walked.

use std::time::Instant;

use regex::{Regex, RegexBuilder};
use serde_json::{Value, json};
use serde_json_path::JsonPath;

use super::template::{Template, ValueTemplate, Vars};
use crate::case::spec::{JsonType, LengthSpec, StatusSpec, TypeSet};
use crate::response::Response;
use crate::result::{CheckKind, CheckOutcome, Difference, DifferenceKind, Matcher, Note, Span};
use crate::seal::Redactor;
use crate::secret::{FieldPolicy, MASK, cut, show_header};
use crate::shape::StringFormat;

/// Failures listed per check; the rest are counted in one more outcome.
pub const MAX_FAILURES: usize = 10;
/// Characters of a string shown before it is cut.
pub const MAX_SHOWN_CHARS: usize = 1024;
/// Array elements and object members shown before the rest are counted.
const MAX_SHOWN_ITEMS: usize = 20;
/// Nesting shown before deeper values are elided.
const MAX_SHOWN_DEPTH: usize = 8;
/// How many values a path may select for failures to be named by their location.
const MAX_LOCATED: usize = 10_000;
/// Size limits of a compiled regular expression: enough for any pattern a case needs, small
/// enough that matching stays fast on a large body.
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;
const REGEX_DFA_SIZE_LIMIT: usize = 8 * 1024 * 1024;

/// A compiled regular expression with its source.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// As written in the case file.
    pub source: String,
    regex: Regex,
}

impl Pattern {
    /// Compiles a pattern within the size limits.
    pub fn compile(source: &str) -> Result<Pattern, String> {
        let regex = RegexBuilder::new(source)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
            .nest_limit(64)
            .build()
            .map_err(|e| {
                let text = e.to_string();
                let last = text.lines().last().unwrap_or("invalid").trim().to_owned();
                last.strip_prefix("error: ").unwrap_or(&last).to_owned()
            })?;
        Ok(Pattern { source: source.to_owned(), regex })
    }

    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// A compiled JSONPath with its source.
#[derive(Debug, Clone)]
pub struct PathPlan {
    /// As written in the case file.
    pub source: String,
    path: JsonPath,
    /// Whether it can select at most one value (RFC 9535 singular query).
    pub singular: bool,
}

impl PathPlan {
    /// Parses a JSONPath.
    pub fn compile(source: &str) -> Result<PathPlan, String> {
        let path = JsonPath::parse(source).map_err(|e| e.to_string())?;
        Ok(PathPlan { source: source.to_owned(), path, singular: is_singular(source) })
    }

    /// The values it selects.
    pub fn query<'v>(&self, doc: &'v Value) -> Vec<&'v Value> {
        self.path.query(doc).all()
    }

    /// The normalized locations of the values it selects, in the same order.
    pub fn locations(&self, doc: &Value) -> Vec<String> {
        self.path.query_located(doc).locations().map(|l| l.to_string()).collect()
    }
}

/// One expectation, with where it is in the case file.
#[derive(Debug, Clone)]
pub struct Check {
    /// Its place in the case file.
    pub span: Span,
    /// What it checks.
    pub test: Test,
}

/// What a check tests: one variant per matcher kind.
#[derive(Debug, Clone)]
pub enum Test {
    /// The status code.
    Status(StatusSpec),
    /// A response header, by name (case-insensitive). A header sent more than once passes
    /// when one of its values does.
    Header {
        /// The header name.
        name: String,
        /// How it is compared.
        matcher: TextMatcher,
    },
    /// That a header is absent (`true`) or present (`false`).
    HeaderAbsent {
        /// The header name.
        name: String,
        /// Absent or present.
        absent: bool,
    },
    /// A cookie the response sets.
    Cookie {
        /// The cookie name.
        name: String,
        /// What is checked.
        matcher: CookieMatcher,
    },
    /// The whole body is exactly this JSON value, or contains it.
    Body {
        /// The expected value.
        value: ValueTemplate,
        /// `true`: objects may have more keys, at every depth.
        partial: bool,
    },
    /// The body is empty (`true`) or not (`false`).
    BodyEmpty(bool),
    /// The body as text.
    BodyText(TextMatcher),
    /// The values a JSONPath selects.
    Path {
        /// The path.
        path: PathPlan,
        /// What every selected value must satisfy.
        matcher: PathMatcher,
    },
}

/// How a text is compared.
#[derive(Debug, Clone)]
pub enum TextMatcher {
    /// Exactly this (templates allowed).
    Equals(Template),
    /// Matching this regular expression.
    Matches(Pattern),
    /// Containing this (templates allowed).
    Contains(Template),
}

/// What is checked of a cookie.
#[derive(Debug, Clone)]
pub enum CookieMatcher {
    /// Set (`true`) or not set (`false`).
    Set(bool),
    /// The value matches; the value itself is never shown.
    ValueMatches(Pattern),
    /// `HttpOnly` present or absent.
    HttpOnly(bool),
    /// `Secure` present or absent.
    Secure(bool),
    /// The `Path` attribute.
    Path(String),
    /// The `SameSite` attribute, ignoring case.
    SameSite(String),
}

/// What a value selected by a JSONPath must satisfy.
#[derive(Debug, Clone)]
pub enum PathMatcher {
    /// The path selects something (`true`) or nothing (`false`).
    Exists(bool),
    /// Equal to this value (numbers by value).
    Equals(ValueTemplate),
    /// Of one of these JSON types.
    Type(TypeSet),
    /// A string matching this pattern.
    Matches(Pattern),
    /// Equal to one of these.
    OneOf(Vec<ValueTemplate>),
    /// A string, array or object of this length.
    Length(LengthSpec),
    /// A number at least this large.
    Min(f64),
    /// A number at most this large.
    Max(f64),
    /// A string in this format.
    Format(StringFormat),
}

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
    pub fields: FieldPolicy,
    /// The case's redactor, for values shown.
    pub redactor: &'a Redactor,
    /// When evaluation must stop.
    pub deadline: Instant,
    /// The start of the body as shown, made once.
    preview: std::cell::OnceCell<String>,
}

fn outcome(kind: CheckKind, matcher: Matcher, subject: impl Into<String>, span: Span) -> CheckOutcome {
    CheckOutcome {
        kind,
        matcher,
        subject: subject.into(),
        expected: Value::Null,
        actual: Value::Null,
        note: None,
        passed: false,
        span,
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
        fields: FieldPolicy,
        redactor: &'a Redactor,
        deadline: Instant,
    ) -> Self {
        Eval { resp, vars, fields, redactor, deadline, preview: std::cell::OnceCell::new() }
    }

    /// Why the body is not JSON, with its start as shown (redacted before it is cut).
    fn not_json(&self, why: &str) -> String {
        if self.fields.bare_body() || self.resp.body.is_empty() {
            return why.to_owned();
        }
        let start = self.preview.get_or_init(|| {
            let text = self.resp.text().replace(['\n', '\r'], " ");
            cut(&self.redactor.text(&text), 80)
        });
        format!("{why}; it starts with {start:?}")
    }

    /// A value fit to show: credential fields masked by position, secrets by value, long
    /// strings cut and long lists counted (in that order).
    pub fn show(&self, value: &Value) -> Value {
        let mut v = value.clone();
        self.redactor.value(&mut v, self.fields);
        bound(&v, 0)
    }

    /// A value at a JSONPath, fit to show; masked whole when the path names a credential.
    fn show_at(&self, path: &str, value: &Value) -> Value {
        if self.fields.is_sensitive_path(path) && !value.is_null() {
            Value::String(MASK.into())
        } else {
            self.show(value)
        }
    }

    /// A text fit to show: redacted, then cut.
    pub fn show_text(&self, text: &str) -> String {
        cut(&self.redactor.text(text), MAX_SHOWN_CHARS)
    }

    /// The body, fit to show.
    fn show_body(&self) -> Value {
        if self.fields.bare_body() && !self.resp.body.is_empty() {
            return Value::String(MASK.into());
        }
        match self.resp.json() {
            Ok(v) => self.show(v),
            Err(_) => Value::String(self.show_text(&self.resp.text().replace(['\n', '\r'], " "))),
        }
    }

    fn over(&self) -> bool {
        Instant::now() > self.deadline
    }
}

fn bound(v: &Value, depth: usize) -> Value {
    match v {
        Value::String(s) => Value::String(cut(s, MAX_SHOWN_CHARS)),
        _ if depth >= MAX_SHOWN_DEPTH && (v.is_array() || v.is_object()) => Value::String("…".into()),
        Value::Array(items) => {
            let mut out: Vec<Value> = items.iter().take(MAX_SHOWN_ITEMS).map(|i| bound(i, depth + 1)).collect();
            if items.len() > MAX_SHOWN_ITEMS {
                out.push(Value::String(format!("… {} more", items.len() - MAX_SHOWN_ITEMS)));
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out: serde_json::Map<String, Value> =
                map.iter().take(MAX_SHOWN_ITEMS).map(|(k, v)| (cut(k, 128), bound(v, depth + 1))).collect();
            if map.len() > MAX_SHOWN_ITEMS {
                out.insert("…".into(), Value::String(format!("{} more", map.len() - MAX_SHOWN_ITEMS)));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

impl Check {
    /// Evaluates the check, appending its outcomes.
    pub fn eval(&self, e: &Eval, out: &mut Vec<CheckOutcome>) -> Result<(), OverBudget> {
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
                let shown = Value::String(if e.fields.bare_body() { MASK.into() } else { e.show_text(&text) });
                let mut o = text_match(e, matcher, CheckKind::Body, "body", &[&text], span);
                o.actual = shown;
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

/// A JSON value on one line.
pub fn compact(v: &Value) -> String {
    v.to_string()
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
            let shown =
                if at == "$" && e.fields.bare_body() { Value::String(MASK.into()) } else { e.show_at(at, actual) };
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
    let (m, expected) = path_expected(e, matcher);
    let base = outcome(CheckKind::Path, m, &path.source, span).expect(expected.clone());
    let doc = match e.resp.json() {
        Ok(v) => v,
        Err(why) => {
            out.push(base.note(e.not_json(why)));
            return Ok(());
        }
    };
    let nodes = path.query(doc);
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
    let locations = if nodes.len() <= MAX_LOCATED { path.locations(doc) } else { Vec::new() };
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

/// What a path matcher expects, as shown, with its matcher kind.
fn path_expected(e: &Eval, matcher: &PathMatcher) -> (Matcher, Value) {
    match matcher {
        PathMatcher::Exists(b) => (Matcher::Exists, Value::Bool(*b)),
        PathMatcher::Equals(t) => (Matcher::Equals, t.render(e.vars).map_or(Value::Null, |r| bound(&r.shown, 0))),
        PathMatcher::Type(ts) => (Matcher::Type, json!(ts.0.iter().map(|t| t.as_str()).collect::<Vec<_>>())),
        PathMatcher::Matches(p) => (Matcher::Matches, Value::String(p.source.clone())),
        PathMatcher::OneOf(ts) => (
            Matcher::OneOf,
            Value::Array(ts.iter().map(|t| t.render(e.vars).map_or(Value::Null, |r| bound(&r.shown, 0))).collect()),
        ),
        PathMatcher::Length(l) => (
            Matcher::Length,
            match l {
                LengthSpec::Exact(n) => json!(n),
                LengthSpec::Range { min, max } => json!({"min": min, "max": max}),
            },
        ),
        PathMatcher::Min(n) => (Matcher::Min, number(*n)),
        PathMatcher::Max(n) => (Matcher::Max, number(*n)),
        PathMatcher::Format(f) => (Matcher::Format, Value::String(f.name().into())),
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

/// Whether a JSONPath can select at most one value (RFC 9535 singular query): no wildcard,
/// descendant, filter, slice or union outside quoted names.
pub fn is_singular(path: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for c in path.chars() {
        match quote {
            Some(q) if c == q && prev != '\\' => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if matches!(c, '*' | '?' | ':' | ',') => return false,
            None if c == '.' && prev == '.' => return false,
            None => {}
        }
        prev = c;
    }
    true
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

/// Where a captured value comes from.
#[derive(Debug, Clone)]
pub enum CaptureFrom {
    /// A JSONPath that selects exactly one value.
    Path(PathPlan),
    /// A response header.
    Header(String),
    /// A cookie the response sets.
    Cookie(String),
}

/// A value to keep for later steps.
#[derive(Debug, Clone)]
pub struct CapturePlan {
    /// The variable name.
    pub name: String,
    /// Where it comes from.
    pub from: CaptureFrom,
    /// Marked `secret: true` in the case file.
    pub secret: bool,
    /// Its place in the case file.
    pub span: Span,
}

impl CapturePlan {
    /// The captured value and whether it is a credential, or the outcome that says why there
    /// is none.
    pub fn eval(&self, resp: &Response, fields: FieldPolicy) -> Result<(Value, bool), Box<CheckOutcome>> {
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
                match p.query(doc).as_slice() {
                    [one] => ((*one).clone(), fields.is_sensitive_path(&p.source)),
                    other => return fail(format!("{} selects {} values, not exactly one", p.source, other.len())),
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
    fn singular_paths() {
        assert!(is_singular("$['a*b'].c") && is_singular("$.UserId") && is_singular("$[0]"));
        assert!(!is_singular("$..Id") && !is_singular("$[0:2]") && !is_singular("$[*].Id"));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(!json_eq(&json!(1), &json!("1")));
    }

    #[test]
    fn huge_patterns_are_refused_at_compile_time() {
        assert!(Pattern::compile(r"^\d+(\.\d+)+$").is_ok());
        assert!(Pattern::compile(r"^[\w.-]+@[\w-]+\.\w+$").is_ok());
        let huge = format!("({}){{1000}}", r"\w+\s?");
        assert!(
            Pattern::compile(&huge).is_err_and(|e| e.contains("size limit")),
            "{:?}",
            Pattern::compile(&huge).err()
        );
    }

    #[test]
    fn shown_values_are_bounded() {
        let many = Value::Array((0..100).map(|i| json!(i)).collect());
        assert_eq!(bound(&many, 0).as_array().map(Vec::len), Some(21));
    }
}
