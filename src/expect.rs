//! Evaluating a step's expectations against a response.
//!
//! Every expectation is evaluated and yields a [`CheckResult`], passed or failed; failures are
//! data, never an early return, so a report shows everything that is wrong with a response at
//! once. Nothing here does I/O: the runner hands in a [`Response`] already read.

use std::sync::OnceLock;

use serde::Serialize;
use serde_json::Value;

use crate::case::spec::{BodyCheck, CookieCheck, ExpectSpec, HeaderCheck, PathCheck, Spanned};
use crate::secrets;
use crate::template::{self, Vars};

/// A response as the runner read it.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body bytes (bounded by `--max-body`).
    pub body: Vec<u8>,
    json: OnceLock<Result<Value, String>>,
    cookies: OnceLock<Vec<SetCookie>>,
}

/// One cookie from a `Set-Cookie` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    /// Cookie name.
    pub name: String,
    /// Cookie value (a secret: never shown).
    pub value: String,
    /// `HttpOnly` present.
    pub http_only: bool,
    /// `Secure` present.
    pub secure: bool,
    /// `Path` attribute.
    pub path: Option<String>,
    /// `SameSite` attribute as sent.
    pub same_site: Option<String>,
}

impl Response {
    /// A response from its parts.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        let headers = headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
        Response { status, headers, body, json: OnceLock::new(), cookies: OnceLock::new() }
    }

    /// Values of a header (case-insensitive name).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The first value of a header.
    pub fn header<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.header_values(name).next()
    }

    /// The cookies the response sets, parsed once.
    pub fn set_cookies(&self) -> &[SetCookie] {
        self.cookies.get_or_init(|| self.parse_cookies())
    }

    fn parse_cookies(&self) -> Vec<SetCookie> {
        self.header_values("set-cookie")
            .filter_map(|v| cookie::Cookie::parse(v.to_owned()).ok())
            .map(|c| SetCookie {
                name: c.name().to_owned(),
                value: c.value().to_owned(),
                http_only: c.http_only().unwrap_or(false),
                secure: c.secure().unwrap_or(false),
                path: c.path().map(str::to_owned),
                same_site: c.same_site().map(|s| s.to_string()),
            })
            .collect()
    }

    /// The body parsed as JSON, or why it is not JSON.
    pub fn json(&self) -> Result<&Value, &str> {
        self.json
            .get_or_init(|| {
                if self.body.is_empty() {
                    return Err("the body is empty".to_owned());
                }
                serde_json::from_slice(&self.body).map_err(|e| {
                    let start = String::from_utf8_lossy(&self.body[..self.body.len().min(80)]).replace('\n', " ");
                    format!("the body is not JSON ({e}); it starts with {start:?}")
                })
            })
            .as_ref()
            .map_err(String::as_str)
    }

    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The outcome of one expectation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// What was checked, such as `status` or `$.UserId type`.
    pub what: String,
    /// What the case expects, in words.
    pub expected: String,
    /// What the response had, in words (credentials masked).
    pub actual: String,
    /// Whether the expectation held.
    pub passed: bool,
    /// The line of the case file the expectation is on.
    pub line: usize,
}

struct Eval<'a> {
    resp: &'a Response,
    vars: &'a Vars,
    out: Vec<CheckResult>,
}

impl Eval<'_> {
    fn push(
        &mut self,
        line: usize,
        what: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
        passed: bool,
    ) {
        self.out.push(CheckResult {
            what: what.into(),
            expected: expected.into(),
            actual: actual.into(),
            passed,
            line,
        });
    }

    fn render(&self, text: &Spanned<String>) -> Result<String, String> {
        template::render(&text.value, self.vars).map_err(|e| e.to_string())
    }
}

fn line<T>(s: &Spanned<T>) -> usize {
    s.referenced.line() as usize
}

/// Evaluates every expectation of a step.
pub fn eval(spec: &ExpectSpec, resp: &Response, vars: &Vars) -> Vec<CheckResult> {
    let mut e = Eval { resp, vars, out: Vec::new() };
    if let Some(status) = &spec.status {
        let ok = status.value.accepts(resp.status);
        // A wrong status is easier to read with what the server said alongside it.
        let actual = if ok || resp.body.is_empty() {
            resp.status.to_string()
        } else {
            let body = match resp.json() {
                Ok(v) => show(v),
                Err(_) => preview(&resp.text().replace('\n', " ")),
            };
            format!("{} with body {body}", resp.status)
        };
        e.push(line(status), "status", status.value.to_string(), actual, ok);
    }
    for (name, check) in spec.headers.iter() {
        header(&mut e, name, check);
    }
    if !spec.cookies.is_empty() {
        let cookies = resp.set_cookies();
        for (name, check) in spec.cookies.iter() {
            cookie_check(&mut e, name, check, cookies);
        }
    }
    if let Some(body) = &spec.body {
        body_check(&mut e, body);
    }
    for (path, check) in spec.paths.iter() {
        path_check(&mut e, path, check);
    }
    e.out
}

/// Header checks compare the real values, but show credential headers masked. A header sent
/// more than once passes a check when one of its values does.
fn header(e: &mut Eval, name: &Spanned<String>, check: &HeaderCheck) {
    let l = line(name);
    let what = format!("header {}", name.value);
    let values: Vec<String> = e.resp.header_values(&name.value).map(str::to_owned).collect();
    let shown = if values.is_empty() {
        "(absent)".to_owned()
    } else {
        let masked: Vec<String> = values.iter().map(|v| secrets::show_header(&name.value, v)).collect();
        masked.join(" | ")
    };
    if let Some(absent) = check.absent {
        let expected = if absent { "absent" } else { "present" };
        let actual = if values.is_empty() { "absent" } else { "present" };
        e.push(l, what.clone(), expected, actual, values.is_empty() == absent);
    }
    if let Some(eq) = &check.equals {
        match e.render(eq) {
            Ok(want) => {
                let ok = values.contains(&want);
                let expected = if secrets::is_sensitive_header(&name.value) {
                    "equal to the expected value (not shown)".to_owned()
                } else {
                    format!("equal to {want:?}")
                };
                e.push(l, what.clone(), expected, shown.clone(), ok);
            }
            Err(err) => e.push(l, what.clone(), err, shown.clone(), false),
        }
    }
    if let Some(re) = &check.matches {
        let ok = crate::compiled::regex(&re.value).is_ok_and(|r| values.iter().any(|v| r.is_match(v)));
        e.push(l, what.clone(), format!("matching /{}/", re.value), shown.clone(), ok);
    }
    if let Some(c) = &check.contains {
        match e.render(c) {
            Ok(want) => {
                let ok = values.iter().any(|v| v.contains(&*want));
                e.push(l, what, format!("containing {want:?}"), shown, ok);
            }
            Err(err) => e.push(l, what, err, shown, false),
        }
    }
}

fn cookie_check(e: &mut Eval, name: &Spanned<String>, check: &CookieCheck, cookies: &[SetCookie]) {
    let l = line(name);
    let what = format!("cookie {}", name.value);
    let found = cookies.iter().rev().find(|c| c.name == name.value);
    let want_set = check.set.unwrap_or(true);
    let set_text = |b: bool| if b { "set" } else { "not set" };
    e.push(l, what.clone(), set_text(want_set), set_text(found.is_some()), found.is_some() == want_set);
    let Some(c) = found else { return };
    if let Some(re) = &check.value_matches {
        let ok = crate::compiled::regex(&re.value).is_ok_and(|r| r.is_match(&c.value));
        let actual = if ok { "a matching value" } else { "a value that does not match (not shown)" };
        e.push(l, format!("{what} value"), format!("matching /{}/", re.value), actual, ok);
    }
    let flag = |b: bool| if b { "present" } else { "absent" };
    if let Some(h) = check.http_only {
        e.push(l, format!("{what} HttpOnly"), flag(h), flag(c.http_only), c.http_only == h);
    }
    if let Some(s) = check.secure {
        e.push(l, format!("{what} Secure"), flag(s), flag(c.secure), c.secure == s);
    }
    if let Some(p) = &check.path {
        let actual = c.path.clone().unwrap_or_else(|| "(none)".into());
        e.push(l, format!("{what} Path"), p.clone(), actual, c.path.as_deref() == Some(p));
    }
    if let Some(s) = &check.same_site {
        let actual = c.same_site.clone().unwrap_or_else(|| "(none)".into());
        let ok = c.same_site.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(s));
        e.push(l, format!("{what} SameSite"), s.clone(), actual, ok);
    }
}

fn body_check(e: &mut Eval, body: &Spanned<BodyCheck>) {
    let l = line(body);
    match &body.value {
        BodyCheck::Empty(want_empty) => {
            let actual =
                if e.resp.body.is_empty() { "empty".to_owned() } else { format!("{} bytes", e.resp.body.len()) };
            let expected = if *want_empty { "empty" } else { "not empty" };
            e.push(l, "body", expected, actual, e.resp.body.is_empty() == *want_empty);
        }
        BodyCheck::Text(t) => {
            let text = e.resp.text();
            if let Some(eq) = &t.equals {
                match e.render(eq) {
                    Ok(want) => e.push(l, "body text", format!("equal to {want:?}"), preview(&text), text == want),
                    Err(err) => e.push(l, "body text", err, preview(&text), false),
                }
            }
            if let Some(re) = &t.matches {
                let ok = crate::compiled::regex(&re.value).is_ok_and(|r| r.is_match(&text));
                e.push(l, "body text", format!("matching /{}/", re.value), preview(&text), ok);
            }
            if let Some(c) = &t.contains {
                match e.render(c) {
                    Ok(want) => {
                        e.push(l, "body text", format!("containing {want:?}"), preview(&text), text.contains(&want))
                    }
                    Err(err) => e.push(l, "body text", err, preview(&text), false),
                }
            }
        }
        BodyCheck::Exact(want) | BodyCheck::Partial(want) => {
            let partial = matches!(body.value, BodyCheck::Partial(_));
            let mode = if partial { "partial" } else { "exact" };
            let want = match template::render_value(want, e.vars) {
                Ok(w) => w,
                Err(err) => return e.push(l, format!("body ({mode})"), err.to_string(), "", false),
            };
            let actual = match e.resp.json() {
                Ok(v) => v,
                Err(why) => {
                    return e.push(l, format!("body ({mode})"), show(&want), why.to_owned(), false);
                }
            };
            let mut diffs = Vec::new();
            compare(&want, actual, "$", partial, &mut diffs);
            let actual_text = if diffs.is_empty() { show(actual) } else { diffs.join("; ") };
            e.push(l, format!("body ({mode})"), show(&want), actual_text, diffs.is_empty());
        }
    }
}

fn path_check(e: &mut Eval, path: &Spanned<String>, check: &PathCheck) {
    let l = line(path);
    let p = &path.value;
    let doc = match e.resp.json() {
        Ok(v) => v,
        Err(why) => {
            return e.push(l, p.clone(), "a JSON body", why.to_owned(), false);
        }
    };
    let compiled = match crate::compiled::jsonpath(p) {
        Ok(c) => c,
        Err(err) => return e.push(l, p.clone(), "a valid JSONPath", err.to_string(), false),
    };
    let located = compiled.query_located(doc);
    let nodes: Vec<(String, &Value)> = located.iter().map(|n| (n.location().to_string(), n.node())).collect();
    if let Some(exists) = check.exists {
        let actual = if nodes.is_empty() { "nothing selected".to_owned() } else { format!("{} value(s)", nodes.len()) };
        let expected = if exists { "present" } else { "absent" };
        e.push(l, p.clone(), expected, actual, nodes.is_empty() != exists);
    }
    let has_value_checks = check.equals.is_some()
        || check.type_.is_some()
        || check.matches.is_some()
        || check.one_of.is_some()
        || check.length.is_some()
        || check.min.is_some()
        || check.max.is_some();
    if !has_value_checks {
        return;
    }
    // A singular path (`$.UserId`) names one place, which must be there. A path that selects
    // many (`$[*].Id`) checks every value it selects, and an empty list has none to fail:
    // `exists: true` says there must be at least one.
    if nodes.is_empty() {
        if is_singular(p) {
            e.push(l, p.clone(), "a value", "nothing selected", false);
        }
        return;
    }
    for (loc, node) in &nodes {
        let what = if nodes.len() == 1 { p.clone() } else { loc.clone() };
        let shown = show_at(&what, node);
        if let Some(t) = &check.type_ {
            e.push(
                l,
                format!("{what} type"),
                t.to_string(),
                crate::case::spec::JsonType::of(node).as_str(),
                t.admits(node),
            );
        }
        if let Some(want) = &check.equals {
            match template::render_value(want, e.vars) {
                Ok(w) => e.push(l, what.clone(), format!("equal to {}", show(&w)), shown.clone(), json_eq(&w, node)),
                Err(err) => e.push(l, what.clone(), err.to_string(), shown.clone(), false),
            }
        }
        if let Some(re) = &check.matches {
            let ok = node.as_str().is_some_and(|s| crate::compiled::regex(&re.value).is_ok_and(|r| r.is_match(s)));
            e.push(l, what.clone(), format!("a string matching /{}/", re.value), shown.clone(), ok);
        }
        if let Some(options) = &check.one_of {
            match options.iter().map(|o| template::render_value(o, e.vars)).collect::<Result<Vec<_>, _>>() {
                Ok(opts) => {
                    let ok = opts.iter().any(|o| json_eq(o, node));
                    let list: Vec<String> = opts.iter().map(show).collect();
                    e.push(l, what.clone(), format!("one of {}", list.join(", ")), shown.clone(), ok);
                }
                Err(err) => e.push(l, what.clone(), err.to_string(), shown.clone(), false),
            }
        }
        for (bound, limit) in [("at least", check.min), ("at most", check.max)] {
            let Some(limit) = limit else { continue };
            let ok = node.as_f64().is_some_and(|n| if bound == "at least" { n >= limit } else { n <= limit });
            e.push(l, what.clone(), format!("a number {bound} {limit}"), shown.clone(), ok);
        }
        if let Some(len) = &check.length {
            let n = match node {
                Value::String(s) => Some(s.chars().count() as u64),
                Value::Array(a) => Some(a.len() as u64),
                Value::Object(o) => Some(o.len() as u64),
                _ => None,
            };
            let actual = n.map_or_else(
                || format!("a {} has no length", crate::case::spec::JsonType::of(node).as_str()),
                |n| n.to_string(),
            );
            e.push(l, format!("{what} length"), len.to_string(), actual, n.is_some_and(|n| len.accepts(n)));
        }
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

/// Collects every difference between `want` and `actual`. In partial mode objects may carry
/// keys `want` does not list; the rule is the same at every depth.
fn compare(want: &Value, actual: &Value, at: &str, partial: bool, out: &mut Vec<String>) {
    match (want, actual) {
        (Value::Object(w), Value::Object(a)) => {
            for (k, wv) in w {
                let here = format!("{at}.{k}");
                match a.get(k) {
                    Some(av) => compare(wv, av, &here, partial, out),
                    None => out.push(format!("{here} is missing")),
                }
            }
            if !partial {
                for k in a.keys().filter(|k| !w.contains_key(*k)) {
                    out.push(format!("{at}.{k} is not expected"));
                }
            }
        }
        (Value::Array(w), Value::Array(a)) => {
            if w.len() != a.len() {
                out.push(format!("{at} has {} elements, expected {}", a.len(), w.len()));
                return;
            }
            for (i, (wv, av)) in w.iter().zip(a).enumerate() {
                compare(wv, av, &format!("{at}[{i}]"), partial, out);
            }
        }
        _ if json_eq(want, actual) => {}
        _ => out.push(format!("{at} is {}, expected {}", show_at(at, actual), show(want))),
    }
}

/// A JSON value shown in a message, credential fields masked, long values cut.
pub fn show(value: &Value) -> String {
    preview(&secrets::mask_json(value).to_string())
}

fn show_at(path: &str, value: &Value) -> String {
    if secrets::is_sensitive_path(path) { secrets::MASK.to_owned() } else { show(value) }
}

fn preview(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        return text.to_owned();
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}… ({} bytes in all)", text.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::load::parse;
    use serde_json::json;
    use std::path::Path;

    fn expect(yaml: &str) -> ExpectSpec {
        let src = format!(
            "endpoint: X\ncases:\n  - name: a\n    summary: s\n    effect: read\n    steps:\n      - request: {{ method: GET, path: X }}\n        expect:\n{}",
            yaml.lines().map(|l| format!("          {l}\n")).collect::<String>()
        );
        match parse(Path::new("t.yaml"), &src) {
            Ok(mut f) => f.cases.remove(0).steps.remove(0).expect,
            Err(d) => panic!("{}", d.render()),
        }
    }

    fn json_resp(status: u16, body: Value) -> Response {
        Response::new(status, vec![("Content-Type".into(), "application/json".into())], body.to_string().into_bytes())
    }

    fn failures(spec: &str, resp: &Response) -> Vec<CheckResult> {
        let vars = Vars::from([("runas".into(), json!("svc")), ("uid".into(), json!(7))]);
        eval(&expect(spec), resp, &vars).into_iter().filter(|c| !c.passed).collect()
    }

    #[test]
    fn status_forms() {
        let r = json_resp(401, json!("User not authenticated"));
        assert!(failures("status: 401", &r).is_empty());
        assert!(failures("status: 4xx", &r).is_empty());
        assert!(failures("status: [400, 401]", &r).is_empty());
        let f = failures("status: 200", &r);
        assert_eq!((f[0].expected.as_str(), f[0].actual.as_str()), ("200", "401 with body \"User not authenticated\""));
        assert_eq!(failures("status: 2xx", &r).len(), 1);
    }

    #[test]
    fn every_failure_is_reported_not_just_the_first() {
        let r = json_resp(200, json!({"UserId": "7", "UserName": "other"}));
        let f = failures(
            "status: 201\npaths:\n  $.UserId: { type: integer }\n  $.UserName: { equals: \"{{ runas }}\" }\n  $.SID: { exists: true }",
            &r,
        );
        assert_eq!(f.len(), 4, "{f:#?}");
    }

    #[test]
    fn headers_equal_match_contain_and_absent() {
        let r = Response::new(200, vec![("Content-Type".into(), "text/html".into())], b"<html>".to_vec());
        let f = failures(
            "headers:\n  Content-Type: { matches: \"^application/json\" }\n  X-Gone: { absent: false }\n  content-type: { contains: json }",
            &r,
        );
        assert_eq!(f.len(), 3, "{f:#?}");
        assert!(failures("headers:\n  content-type: { equals: text/html }\n  X-None: { absent: true }", &r).is_empty());
    }

    #[test]
    fn cookies_with_attributes_never_show_values() {
        let r = Response::new(
            200,
            vec![("Set-Cookie".into(), "ASP.NET_SessionId=s3cret; path=/; HttpOnly; SameSite=Lax".into())],
            vec![],
        );
        assert!(failures("cookies:\n  ASP.NET_SessionId: { http_only: true, secure: false, path: /, same_site: lax, value_matches: \"^[a-z0-9]+$\" }", &r).is_empty());
        let f = failures("cookies:\n  ASP.NET_SessionId: { secure: true, value_matches: \"^x\" }\n  Other: {}", &r);
        assert_eq!(f.len(), 3, "{f:#?}");
        assert!(f.iter().all(|c| !c.actual.contains("s3cret")));
        assert_eq!(failures("cookies:\n  ASP.NET_SessionId: { set: false }", &r).len(), 1);
    }

    #[test]
    fn exact_and_partial_bodies_including_bare_values() {
        let r = json_resp(401, json!("User not authenticated"));
        assert!(failures("body: { exact: \"User not authenticated\" }", &r).is_empty());
        assert_eq!(failures("body: { exact: \"other\" }", &r).len(), 1);
        let n = json_resp(409, json!(4091));
        assert!(failures("body: { exact: 4091 }", &n).is_empty());
        assert!(failures("paths: { $: { type: integer, equals: 4091 } }", &n).is_empty());

        let u = json_resp(200, json!({"UserId": 7, "Name": "n", "Nested": {"a": 1, "b": 2}}));
        assert!(failures("body: { partial: { UserId: \"{{ uid }}\", Nested: { a: 1 } } }", &u).is_empty());
        let f = failures("body: { exact: { UserId: 7, Nested: { a: 1 } } }", &u);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].actual.contains("$.Name is not expected") && f[0].actual.contains("$.Nested.b is not expected"),
            "{}",
            f[0].actual
        );
        assert_eq!(failures("body: { partial: { Missing: 1 } }", &u).len(), 1);
    }

    #[test]
    fn empty_text_and_non_json_bodies() {
        let empty = Response::new(200, vec![], vec![]);
        assert!(failures("body: { empty: true }", &empty).is_empty());
        let html = Response::new(500, vec![], b"<html><body>Server Error</body></html>".to_vec());
        assert_eq!(failures("body: { empty: true }", &html).len(), 1);
        let f = failures("paths: { $.UserId: { type: integer } }", &html);
        assert!(f[0].actual.contains("not JSON"), "{}", f[0].actual);
        assert!(failures("body: { text: { contains: Server Error, matches: \"^<html>\" } }", &html).is_empty());
    }

    #[test]
    fn path_matchers_fail_when_they_should() {
        let r = json_resp(200, json!({"SID": null, "Email": "a@b.c", "Tags": [1, 2], "Kind": "x", "T": "abc"}));
        assert!(failures("paths:\n  $.SID: { type: [string, null] }\n  $.Email: { matches: \"@\" }\n  $.Tags: { length: 2 }\n  $.Kind: { one_of: [x, y] }\n  $.T: { length: { min: 1, max: 3 } }\n  $.Nope: { exists: false }", &r).is_empty());
        let f = failures(
            "paths:\n  $.SID: { type: string }\n  $.Email: { matches: \"^x\" }\n  $.Tags: { length: 3 }\n  $.Kind: { one_of: [y, z] }\n  $.T: { length: { max: 2 } }\n  $['Kind']: { exists: false }\n  $.Nope: { equals: 1 }",
            &r,
        );
        assert_eq!(f.len(), 7, "{f:#?}");
    }

    #[test]
    fn credential_fields_are_masked_in_messages() {
        let r = json_resp(200, json!({"access_token": "tok-123", "token_type": "bearer"}));
        let f = failures("body: { exact: { token_type: Bearer } }", &r);
        assert!(!f[0].actual.contains("tok-123"), "{}", f[0].actual);
        let f = failures("paths: { $.access_token: { equals: x } }", &r);
        assert!(!f[0].actual.contains("tok-123"), "{}", f[0].actual);
    }

    #[test]
    fn many_valued_paths_check_every_value_and_may_select_none() {
        let empty = json_resp(200, json!([]));
        assert!(failures("paths: { \"$[*].Id\": { type: string } }", &empty).is_empty());
        assert_eq!(failures("paths: { \"$[*].Id\": { exists: true } }", &empty).len(), 1);
        assert_eq!(failures("paths: { \"$[0].Id\": { type: string } }", &empty).len(), 1);
        let two = json_resp(200, json!([{"Id": "a"}, {"Id": 2}]));
        let f = failures("paths: { \"$[*].Id\": { type: string } }", &two);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].what, "$[1]['Id'] type");
        assert!(is_singular("$['a*b'].c") && !is_singular("$..Id") && !is_singular("$[0:2]"));
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(!json_eq(&json!(1), &json!("1")));
    }
}
