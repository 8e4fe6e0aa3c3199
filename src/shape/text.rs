//! The text form of a shape: one line per fact, keys sorted, paths spelled out, so a contract
//! reads (and is edited) by hand and a change is a one-line diff. Parsing reads it back,
//! hand-widened unions included.
//!
//! ```text
//! status: 200
//! content-type: application/json
//! cookies: ASP.NET_SessionId, __RequestVerificationToken?
//! body: object
//!   .SID: string | null
//!   .Items: array
//!   .Items[]: object
//!   .Items[].Extra?: number
//!   .ById: map
//!   .ById{}: object
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;

use super::infer::{BodyShape, Field, NO_CONTENT_TYPE, Node, ResponseShape, StringFormat};

/// A shape text that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ShapeParseError {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl ShapeParseError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        ShapeParseError { line, message: message.into() }
    }
}

static PLAIN_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_$@-]+$").expect("the key pattern is a valid regex"));

/// A key as a path segment: `.Name`, or `["odd key"]`.
pub fn key_text(key: &str) -> String {
    if PLAIN_KEY.is_match(key) {
        format!(".{key}")
    } else {
        format!("[{}]", serde_json::to_string(key).unwrap_or_default())
    }
}

impl ResponseShape {
    /// The stable text form.
    pub fn render(&self) -> String {
        let mut out = format!("status: {}\n", self.status);
        let cts: Vec<&str> = self.content_types.iter().map(String::as_str).collect();
        let _ = writeln!(
            out,
            "content-type: {}",
            if cts.is_empty() { NO_CONTENT_TYPE.to_owned() } else { cts.join(" | ") }
        );
        let cookies: Vec<String> =
            self.cookies.iter().map(|(n, optional)| format!("{n}{}", if *optional { "?" } else { "" })).collect();
        let _ = writeln!(out, "cookies: {}", if cookies.is_empty() { "(none)".to_owned() } else { cookies.join(", ") });
        let mut kinds = Vec::new();
        if self.body.empty {
            kinds.push("empty".to_owned());
        }
        if self.body.text {
            kinds.push("text".to_owned());
        }
        if let Some(node) = &self.body.json {
            kinds.extend(node.kinds());
        }
        let _ = writeln!(out, "body: {}", kinds.join(" | "));
        if let Some(node) = &self.body.json {
            render_children(node, "", &mut out);
        }
        out
    }

    /// Parses the text form back.
    pub fn parse(text: &str) -> Result<ResponseShape, ShapeParseError> {
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
        let mut next = |key: &str| -> Result<(usize, String), ShapeParseError> {
            let (i, l) = lines.next().ok_or_else(|| ShapeParseError::new(0, format!("missing `{key}:` line")))?;
            let value = l
                .strip_prefix(key)
                .and_then(|r| r.strip_prefix(':'))
                .map(str::trim)
                .ok_or_else(|| ShapeParseError::new(i + 1, format!("expected `{key}: …`")))?;
            Ok((i + 1, value.to_owned()))
        };
        let (n, status) = next("status")?;
        let status = status.parse().map_err(|_| ShapeParseError::new(n, "status is not a number"))?;
        let (n, ct) = next("content-type")?;
        let content_types: BTreeSet<String> =
            ct.split('|').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
        // An empty list would admit no response at all, and renders back as `(none)`.
        if content_types.is_empty() {
            return Err(ShapeParseError::new(
                n,
                "no media type: list them, or write `(none)` for responses without one",
            ));
        }
        let (n, cookies) = next("cookies")?;
        let cookies = parse_cookies(&cookies, n)?;
        let (n, body_line) = next("body")?;
        let mut body = BodyShape::default();
        let mut json_kinds = Vec::new();
        for kind in body_line.split('|').map(str::trim) {
            match kind {
                "empty" => body.empty = true,
                "text" => body.text = true,
                other => json_kinds.push(other),
            }
        }
        if !json_kinds.is_empty() {
            let mut root = parse_kinds(&json_kinds.join(" | "), n)?;
            for (i, line) in lines {
                if let Some((at, n)) = omitted_line(line) {
                    let path = if at.is_empty() { Vec::new() } else { parse_line(&format!("{at}: object"), i + 1)?.0 };
                    node_at(&mut root, &path).map_err(|m| ShapeParseError::new(i + 1, m))?.omitted = n;
                    continue;
                }
                let (path, optional, kinds) = parse_line(line, i + 1)?;
                let node = parse_kinds(&kinds, i + 1)?;
                place(&mut root, &path, optional, node).map_err(|m| ShapeParseError::new(i + 1, m))?;
            }
            body.json = Some(root);
        } else if let Some((i, _)) = lines.next() {
            return Err(ShapeParseError::new(i + 1, "a field line, but the body is not JSON"));
        }
        Ok(ResponseShape { status, content_types, cookies, body })
    }
}

fn parse_cookies(text: &str, line: usize) -> Result<BTreeMap<String, bool>, ShapeParseError> {
    if text == "(none)" || text.is_empty() {
        return Ok(BTreeMap::new());
    }
    text.split(',')
        .map(str::trim)
        .map(|c| {
            let (name, optional) = match c.strip_suffix('?') {
                Some(n) => (n, true),
                None => (c, false),
            };
            if name.is_empty() {
                Err(ShapeParseError::new(line, "an empty cookie name"))
            } else {
                Ok((name.to_owned(), optional))
            }
        })
        .collect()
}

fn render_children(node: &Node, path: &str, out: &mut String) {
    // `*` is never a plain key (that one renders as `["*"]`), so the line cannot be a field's.
    if node.omitted > 0 {
        let _ = writeln!(out, "  {path}.*: {} more fields", node.omitted);
    }
    if let Some(fields) = &node.object {
        for (k, f) in fields {
            let p = format!("{path}{}", key_text(k));
            let _ = writeln!(out, "  {p}{}: {}", if f.optional { "?" } else { "" }, f.node.kinds().join(" | "));
            render_children(&f.node, &p, out);
        }
    }
    if let Some(values) = &node.map {
        let p = format!("{path}{{}}");
        let _ = writeln!(out, "  {p}: {}", values.kinds().join(" | "));
        render_children(values, &p, out);
    }
    if let Some(element) = &node.array {
        let p = format!("{path}[]");
        let _ = writeln!(out, "  {p}: {}", element.kinds().join(" | "));
        render_children(element, &p, out);
    }
}

fn parse_kinds(text: &str, line: usize) -> Result<Node, ShapeParseError> {
    let mut n = Node::default();
    for kind in text.split('|') {
        match kind.trim() {
            "object" => n.object = Some(BTreeMap::new()),
            "map" => n.map = Some(Box::default()),
            "array" => n.array = Some(Box::default()),
            "string" => n.string = Some(StringFormat::Plain),
            "integer" => n.integer = true,
            "number" => n.number = true,
            "boolean" => n.boolean = true,
            "null" => n.null = true,
            "any" => n.any = true,
            "unknown" => {}
            other => {
                let format =
                    other.strip_prefix("string(").and_then(|r| r.strip_suffix(')')).and_then(StringFormat::parse);
                match format {
                    Some(f) => n.string = Some(f),
                    None => {
                        return Err(ShapeParseError::new(
                            line,
                            format!(
                                "unknown kind `{other}`; kinds are any, object, map, array, string, string(guid), string(email), string(date-time), integer, number, boolean, null"
                            ),
                        ));
                    }
                }
            }
        }
    }
    if n.integer && n.number {
        n.integer = false;
    }
    Ok(n)
}

/// One step of a path in the text form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Elements,
    Values,
}

fn parse_line(line: &str, n: usize) -> Result<(Vec<Seg>, bool, String), ShapeParseError> {
    let mut rest = line.trim_start();
    let mut path = Vec::new();
    loop {
        if let Some(r) = rest.strip_prefix("[]") {
            path.push(Seg::Elements);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("{}") {
            path.push(Seg::Values);
            rest = r;
        } else if rest.starts_with("[\"") {
            // A quoted key: a JSON string inside brackets.
            let mut de = serde_json::Deserializer::from_str(&rest[1..]).into_iter::<String>();
            let key = match de.next() {
                Some(Ok(k)) => k,
                _ => return Err(ShapeParseError::new(n, "bad quoted key")),
            };
            let used = 1 + de.byte_offset();
            rest = rest[used..].strip_prefix(']').ok_or_else(|| ShapeParseError::new(n, "unclosed ["))?;
            path.push(Seg::Key(key));
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(|c: char| !(c.is_ascii_alphanumeric() || "_$@-".contains(c))).unwrap_or(r.len());
            if end == 0 {
                return Err(ShapeParseError::new(n, "empty key"));
            }
            path.push(Seg::Key(r[..end].to_owned()));
            rest = &r[end..];
        } else {
            break;
        }
    }
    let (optional, rest) = match rest.strip_prefix('?') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let kinds = rest
        .strip_prefix(':')
        .map(str::trim)
        .ok_or_else(|| ShapeParseError::new(n, "expected `: kinds` after the path"))?;
    if path.is_empty() {
        return Err(ShapeParseError::new(n, "expected a path such as `.Name`, `[]` or `{}`"));
    }
    Ok((path, optional, kinds.to_owned()))
}

/// `  PATH.*: N more fields`: an object's fields past what its shape keeps.
fn omitted_line(line: &str) -> Option<(&str, usize)> {
    let (at, n) = line.trim().strip_suffix(" more fields")?.rsplit_once(": ")?;
    Some((at.strip_suffix(".*")?, n.parse().ok()?))
}

/// The node at `path` (every segment already placed).
fn node_at<'n>(root: &'n mut Node, path: &[Seg]) -> Result<&'n mut Node, String> {
    let mut cur = root;
    for seg in path {
        cur = match seg {
            Seg::Elements => cur.array.as_deref_mut().ok_or("`[]` under a position that is not an array")?,
            Seg::Values => cur.map.as_deref_mut().ok_or("`{}` under a position that is not a map")?,
            Seg::Key(k) => {
                let fields = cur.object.as_mut().ok_or("a key under a position that is not an object")?;
                &mut fields.get_mut(k).ok_or_else(|| format!("field `{k}` appears before its parent"))?.node
            }
        };
    }
    Ok(cur)
}

fn place(root: &mut Node, path: &[Seg], optional: bool, node: Node) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty path")?;
    let cur = node_at(root, parents)?;
    match last {
        Seg::Elements => {
            let slot = cur.array.as_deref_mut().ok_or("`[]` under a position that is not an array")?;
            *slot = node;
        }
        Seg::Values => {
            let slot = cur.map.as_deref_mut().ok_or("`{}` under a position that is not a map")?;
            *slot = node;
        }
        Seg::Key(k) => {
            let fields = cur.object.as_mut().ok_or("a key under a position that is not an object")?;
            if fields.insert(k.clone(), Field { optional, node }).is_some() {
                return Err(format!("field `{k}` is listed twice"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn shape(body: Value) -> ResponseShape {
        ResponseShape::infer(
            200,
            Some("application/json; charset=utf-8"),
            ["ASP.NET_SessionId".to_owned()],
            body.to_string().as_bytes(),
        )
    }

    #[test]
    fn renders_fields_types_formats_optionality_and_maps() {
        let s = shape(json!({
            "UserId": 7, "SID": null, "EmailAddress": "a@b.example", "Name": "n",
            "Items": [{"Id": "0f6a3d2e-5b1c-4e8f-9a7d-2c3b4a5d6e7f", "When": "2024-12-10T08:57:45.9"}, {"Id": "x", "Extra": 1.5}],
            "Empty": [], "weird key": true, "ById": {"12": {"N": 1}, "13": {"N": 2.5}}
        }));
        insta::assert_snapshot!(s.render(), @r#"
        status: 200
        content-type: application/json
        cookies: ASP.NET_SessionId
        body: object
          .ById: map
          .ById{}: object
          .ById{}.N: number
          .EmailAddress: string(email)
          .Empty: array
          .Empty[]: unknown
          .Items: array
          .Items[]: object
          .Items[].Extra?: number
          .Items[].Id: string
          .Items[].When?: string(date-time)
          .Name: string
          .SID: null
          .UserId: integer
          ["weird key"]: boolean
        "#);
    }

    #[test]
    fn bare_values_empty_and_text_bodies() {
        assert_eq!(shape(json!("User not authenticated")).render().lines().last(), Some("body: string"));
        assert_eq!(shape(json!(4091)).render().lines().last(), Some("body: integer"));
        let empty = ResponseShape::infer(204, None, [], b"");
        assert!(empty.render().ends_with("content-type: (none)\ncookies: (none)\nbody: empty\n"));
        let html = ResponseShape::infer(500, Some("text/html"), [], b"<html>");
        assert!(html.render().ends_with("body: text\n"));
        let both = empty.clone().merge(ResponseShape::infer(204, Some("application/json"), [], b"{}"));
        assert!(both.render().contains("content-type: (none) | application/json\n"), "{}", both.render());
        assert!(both.render().ends_with("body: empty | object\n"), "{}", both.render());
    }

    #[test]
    fn text_form_parses_back() {
        for body in [
            json!({"a": [{"b": null}, {"b": 1, "c": {"d": ["x"]}}], "e f": {"g": "2024-01-01T00:00:00Z"}}),
            json!([1, 2.5, "s", null, true]),
            json!("bare"),
            json!([]),
            json!({"7": {"x": 1}}),
        ] {
            let s = shape(body);
            let text = s.render();
            assert_eq!(ResponseShape::parse(&text), Ok(s.clone()), "{text}");
        }
    }

    #[test]
    fn hand_widened_unions_read_back() {
        let text = "status: 200\ncontent-type: application/json\ncookies: A, B?\nbody: object\n  .SID: string | null\n  .N?: integer|number\n";
        let s = ResponseShape::parse(text).expect("parses");
        let fields = s.body.json.as_ref().and_then(|n| n.object.as_ref()).expect("object");
        assert!(fields["SID"].node.null && fields["SID"].node.string.is_some());
        assert!(fields["N"].optional && fields["N"].node.number && !fields["N"].node.integer);
        assert_eq!(s.cookies.get("B"), Some(&true));
    }

    #[test]
    fn parse_errors_name_the_line() {
        let e = ResponseShape::parse("status: 200\ncontent-type: (none)\ncookies: (none)\nbody: object\n  .A: strng\n");
        assert_eq!(e.map_err(|e| e.line), Err(5));
        let e = ResponseShape::parse(
            "status: 200\ncontent-type: (none)\ncookies: (none)\nbody: object\n  .A: string\n  .A: integer\n",
        );
        assert_eq!(e.map_err(|e| e.line), Err(6));
        // Found by a property: an empty list read as "no media type is allowed", which
        // rendered back as `(none)`, a different contract.
        let e = ResponseShape::parse("status: 401\ncontent-type:\ncookies: (none)\nbody: empty\n");
        assert_eq!(e.map_err(|e| e.line), Err(2));
    }
}

/// The text form as properties: it reads back every shape it renders, and reading any text,
/// rendered or not, returns a shape or an error with its line.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::arbitrary::{self, mutated, shape};

    /// A text made of lines that look like the format, and some that do not.
    fn shape_like_text() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            Just("status: 200".to_owned()),
            Just("content-type: application/json".to_owned()),
            Just("cookies: A, B?".to_owned()),
            Just("body: object | array".to_owned()),
            "  (\\.[A-Za-z?]{1,3}|\\[\\]|\\{\\}|\\[\"[^\"]{0,3}\"\\]){1,4}\\??: (object|map|array|string|string\\(guid\\)|integer|null|unknown|strng)( \\| (null|number))?",
            "\\PC{0,20}",
        ];
        prop::collection::vec(line, 0..10).prop_map(|lines| lines.join("\n"))
    }

    fn check_error_line(text: &str, result: Result<ResponseShape, ShapeParseError>) -> Result<(), TestCaseError> {
        if let Err(e) = result {
            prop_assert!(e.line <= text.lines().count(), "line {} of {} lines: {}", e.line, text.lines().count(), e);
            prop_assert!(!e.message.trim().is_empty());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(arbitrary::config(128))]

        #[test]
        fn every_rendered_shape_parses_back(s in shape()) {
            let text = s.render();
            prop_assert_eq!(ResponseShape::parse(&text), Ok(s), "{}", text);
        }

        #[test]
        fn parsing_any_text_gives_a_shape_or_a_located_error(text in prop_oneof![any::<String>(), shape_like_text()]) {
            check_error_line(&text, ResponseShape::parse(&text))?;
        }

        #[test]
        fn parsing_a_damaged_rendering_gives_a_shape_or_a_located_error(
            text in shape().prop_flat_map(|s| mutated(s.render()))
        ) {
            let parsed = ResponseShape::parse(&text);
            check_error_line(&text, parsed.clone())?;
            // What parses renders to a text that parses to the same shape.
            if let Ok(s) = parsed {
                prop_assert_eq!(ResponseShape::parse(&s.render()), Ok(s));
            }
        }
    }
}
