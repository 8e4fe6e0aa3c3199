//! Response shapes: what a response looks like without its values, rendered as stable text,
//! parsed back, and compared.
//!
//! A shape keeps the status, the media type, the names of the cookies set, and the body's
//! structure: JSON kinds per field, whether a field was null somewhere (nullable), missing from
//! some array elements (optional), and a few string formats worth telling apart. Values never
//! enter a shape, so the shape of a credential response is safe to commit. Everything here is a
//! pure function: no I/O, no HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

/// String formats a shape tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StringFormat {
    /// Any other string.
    Plain,
    /// ISO 8601 date and time, with or without a zone (`2024-12-10T08:57:45.9` is what .NET
    /// writes without one).
    DateTime,
    /// A GUID, with or without braces.
    Guid,
    /// An email address.
    Email,
}

impl StringFormat {
    fn of(s: &str) -> StringFormat {
        static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
                .expect("the date-time pattern is a valid regex")
        });
        static GUID: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(r"^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$")
                .expect("the GUID pattern is a valid regex")
        });
        static EMAIL: LazyLock<Regex> =
            LazyLock::new(|| Regex::new(r"^[^@\s]+@[^@\s]+\.[^@\s]+$").expect("the email pattern is a valid regex"));
        // Cheap tests first: most strings are none of these, and a regex costs more.
        let b = s.as_bytes();
        if b.len() >= 16 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && DATE_TIME.is_match(s) {
            StringFormat::DateTime
        } else if (b.len() == 36 || b.len() == 38) && b.contains(&b'-') && GUID.is_match(s) {
            StringFormat::Guid
        } else if b.contains(&b'@') && EMAIL.is_match(s) {
            StringFormat::Email
        } else {
            StringFormat::Plain
        }
    }

    fn name(self) -> &'static str {
        match self {
            StringFormat::Plain => "string",
            StringFormat::DateTime => "string(date-time)",
            StringFormat::Guid => "string(guid)",
            StringFormat::Email => "string(email)",
        }
    }
}

/// The shape of a JSON value: the kinds seen at one position, merged over every observation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// `null` was seen.
    pub null: bool,
    /// `true` or `false` was seen.
    pub boolean: bool,
    /// A whole number was seen.
    pub integer: bool,
    /// A number with a fraction was seen.
    pub number: bool,
    /// Strings were seen; their common format (`Plain` when they differ).
    pub string: Option<StringFormat>,
    /// Arrays were seen; the merged shape of their elements (empty when every array was).
    pub array: Option<Box<Node>>,
    /// Objects were seen; their fields.
    pub object: Option<BTreeMap<String, Field>>,
}

/// A field of an object shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Missing from at least one object seen at this position.
    pub optional: bool,
    /// The value's shape.
    pub node: Node,
}

impl Node {
    /// The shape of one value.
    pub fn infer(value: &Value) -> Node {
        let mut n = Node::default();
        match value {
            Value::Null => n.null = true,
            Value::Bool(_) => n.boolean = true,
            Value::Number(x) if x.is_i64() || x.is_u64() => n.integer = true,
            Value::Number(_) => n.number = true,
            Value::String(s) => n.string = Some(StringFormat::of(s)),
            Value::Array(items) => {
                let element = items.iter().map(Node::infer).fold(Node::default(), Node::merge);
                n.array = Some(Box::new(element));
            }
            Value::Object(map) => {
                let fields =
                    map.iter().map(|(k, v)| (k.clone(), Field { optional: false, node: Node::infer(v) })).collect();
                n.object = Some(fields);
            }
        }
        n
    }

    /// The shape of a JSON document, read straight from its bytes: no `Value` tree is built,
    /// so memory stays proportional to the shape, not to the body.
    pub fn infer_slice(json: &[u8]) -> Result<Node, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let mut node = Node::default();
        serde::de::DeserializeSeed::deserialize(MergeSeed(&mut node), &mut de)?;
        de.end()?;
        Ok(node)
    }

    /// Whether nothing was ever seen here (the elements of arrays that were always empty).
    pub fn is_unknown(&self) -> bool {
        *self == Node::default()
    }

    /// The union of two shapes. Commutative and associative, with the empty node as identity.
    pub fn merge(self, other: Node) -> Node {
        if self.is_unknown() {
            return other;
        }
        if other.is_unknown() {
            return self;
        }
        Node {
            null: self.null || other.null,
            boolean: self.boolean || other.boolean,
            integer: self.integer || other.integer,
            number: self.number || other.number,
            string: match (self.string, other.string) {
                (Some(a), Some(b)) if a == b => Some(a),
                (Some(_), Some(_)) => Some(StringFormat::Plain),
                (a, b) => a.or(b),
            },
            array: match (self.array, other.array) {
                (Some(a), Some(b)) => Some(Box::new(a.merge(*b))),
                (a, b) => a.or(b),
            },
            object: match (self.object, other.object) {
                (Some(a), Some(b)) => Some(merge_fields(a, b)),
                (a, b) => a.or(b),
            },
        }
    }

    /// The kinds at this position, in a fixed order, as the text form spells them.
    fn kinds(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.object.is_some() {
            out.push("object".to_owned());
        }
        if self.array.is_some() {
            out.push("array".to_owned());
        }
        if let Some(f) = self.string {
            out.push(f.name().to_owned());
        }
        if self.integer {
            out.push("integer".to_owned());
        }
        if self.number {
            out.push("number".to_owned());
        }
        if self.boolean {
            out.push("boolean".to_owned());
        }
        if self.null {
            out.push("null".to_owned());
        }
        if out.is_empty() {
            out.push("unknown".to_owned());
        }
        out
    }
}

/// Merges each value into a [`Node`] while the JSON is parsed: array elements go straight into
/// the shape of their position, so no per-element tree is built.
struct MergeSeed<'n>(&'n mut Node);

impl<'de> serde::de::DeserializeSeed<'de> for MergeSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for MergeSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.null = true;
        Ok(())
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.0.boolean = true;
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.0.integer = true;
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.0.integer = true;
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.0.number = true;
        Ok(())
    }
    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        let f = StringFormat::of(s);
        self.0.string = Some(match self.0.string {
            Some(old) if old != f => StringFormat::Plain,
            _ => f,
        });
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let element = self.0.array.get_or_insert_with(Box::default);
        while seq.next_element_seed(MergeSeed(element))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // The first object at a position has every field it carries; after that, a field
        // that an object lacks, or that earlier objects lacked, is optional.
        let first = self.0.object.is_none();
        let fields = self.0.object.get_or_insert_with(BTreeMap::new);
        let known = fields.len();
        let mut seen: Vec<std::borrow::Cow<'de, str>> = Vec::new();
        let mut seen_known = 0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let field = match fields.get_mut(key.as_ref()) {
                Some(f) => {
                    if !seen.contains(&key) {
                        seen_known += 1;
                    }
                    f
                }
                None => {
                    fields.entry(key.clone().into_owned()).or_insert(Field { optional: !first, node: Node::default() })
                }
            };
            map.next_value_seed(MergeSeed(&mut field.node))?;
            seen.push(key);
        }
        if seen_known < known {
            for (k, f) in fields.iter_mut() {
                if !seen.iter().any(|s| s.as_ref() == k.as_str()) {
                    f.optional = true;
                }
            }
        }
        Ok(())
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> serde::de::DeserializeSeed<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(s.to_owned()))
    }
}

fn merge_fields(mut a: BTreeMap<String, Field>, mut b: BTreeMap<String, Field>) -> BTreeMap<String, Field> {
    let keys: BTreeSet<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.into_iter()
        .filter_map(|k| {
            let merged = match (a.remove(&k), b.remove(&k)) {
                (Some(x), Some(y)) => Field { optional: x.optional || y.optional, node: x.node.merge(y.node) },
                // Seen in one object and not the other: optional.
                (Some(x), None) | (None, Some(x)) => Field { optional: true, node: x.node },
                (None, None) => return None,
            };
            Some((k, merged))
        })
        .collect()
}

/// What a response looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseShape {
    /// Status code.
    pub status: u16,
    /// Media type, lower case, without parameters (`application/json`).
    pub content_type: Option<String>,
    /// Names of the cookies the response set.
    pub cookies: BTreeSet<String>,
    /// The body.
    pub body: BodyShape,
}

/// The body of a response shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyShape {
    /// No body.
    Empty,
    /// A body that is not JSON.
    Text,
    /// A JSON body, which may be a bare value.
    Json(Node),
}

impl ResponseShape {
    /// The shape of a response.
    pub fn infer(
        status: u16,
        content_type: Option<&str>,
        cookies: impl IntoIterator<Item = String>,
        body: &[u8],
    ) -> Self {
        let body = if body.is_empty() {
            BodyShape::Empty
        } else {
            match Node::infer_slice(body) {
                Ok(n) => BodyShape::Json(n),
                Err(_) => BodyShape::Text,
            }
        };
        ResponseShape {
            status,
            content_type: content_type.map(media_type),
            cookies: cookies.into_iter().collect(),
            body,
        }
    }

    /// The stable text form: one line per fact, keys sorted, paths spelled out.
    pub fn render(&self) -> String {
        let mut out = format!("status: {}\n", self.status);
        let _ = writeln!(out, "content-type: {}", self.content_type.as_deref().unwrap_or("(none)"));
        let cookies: Vec<&str> = self.cookies.iter().map(String::as_str).collect();
        let _ = writeln!(out, "cookies: {}", if cookies.is_empty() { "(none)".to_owned() } else { cookies.join(", ") });
        match &self.body {
            BodyShape::Empty => out.push_str("body: empty\n"),
            BodyShape::Text => out.push_str("body: text\n"),
            BodyShape::Json(node) => {
                let _ = writeln!(out, "body: {}", node.kinds().join(" | "));
                render_children(node, "", &mut out);
            }
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
                .and_then(|r| r.strip_prefix(": "))
                .ok_or_else(|| ShapeParseError::new(i + 1, format!("expected `{key}: …`")))?;
            Ok((i + 1, value.to_owned()))
        };
        let (n, status) = next("status")?;
        let status = status.parse().map_err(|_| ShapeParseError::new(n, "status is not a number"))?;
        let (_, ct) = next("content-type")?;
        let content_type = (ct != "(none)").then_some(ct);
        let (_, cookies) = next("cookies")?;
        let cookies =
            if cookies == "(none)" { BTreeSet::new() } else { cookies.split(", ").map(str::to_owned).collect() };
        let (n, body) = next("body")?;
        let body = match body.as_str() {
            "empty" => BodyShape::Empty,
            "text" => BodyShape::Text,
            kinds => {
                let mut root = parse_kinds(kinds, n)?;
                for (i, line) in lines {
                    let (path, optional, kinds) = parse_line(line, i + 1)?;
                    let node = parse_kinds(&kinds, i + 1)?;
                    place(&mut root, &path, optional, node).map_err(|m| ShapeParseError::new(i + 1, m))?;
                }
                BodyShape::Json(root)
            }
        };
        Ok(ResponseShape { status, content_type, cookies, body })
    }
}

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

fn media_type(ct: &str) -> String {
    ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// One path step in the text form.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Elements,
}

static PLAIN_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Za-z0-9_$@-]+$").expect("the key pattern is a valid regex"));

fn key_text(key: &str) -> String {
    if PLAIN_KEY.is_match(key) {
        format!(".{key}")
    } else {
        format!("[{}]", serde_json::to_string(key).unwrap_or_default())
    }
}

fn render_children(node: &Node, path: &str, out: &mut String) {
    if let Some(fields) = &node.object {
        for (k, f) in fields {
            let p = format!("{path}{}", key_text(k));
            let _ = writeln!(out, "  {p}{}: {}", if f.optional { "?" } else { "" }, f.node.kinds().join(" | "));
            render_children(&f.node, &p, out);
        }
    }
    if let Some(element) = &node.array {
        let p = format!("{path}[]");
        let _ = writeln!(out, "  {p}: {}", element.kinds().join(" | "));
        render_children(element, &p, out);
    }
}

fn parse_kinds(text: &str, line: usize) -> Result<Node, ShapeParseError> {
    let mut n = Node::default();
    for kind in text.split(" | ") {
        match kind.trim() {
            "object" => n.object = Some(BTreeMap::new()),
            "array" => n.array = Some(Box::default()),
            "string" => n.string = Some(StringFormat::Plain),
            "string(date-time)" => n.string = Some(StringFormat::DateTime),
            "string(guid)" => n.string = Some(StringFormat::Guid),
            "string(email)" => n.string = Some(StringFormat::Email),
            "integer" => n.integer = true,
            "number" => n.number = true,
            "boolean" => n.boolean = true,
            "null" => n.null = true,
            "unknown" => {}
            other => {
                return Err(ShapeParseError::new(line, format!("unknown kind `{other}`")));
            }
        }
    }
    Ok(n)
}

fn parse_line(line: &str, n: usize) -> Result<(Vec<Seg>, bool, String), ShapeParseError> {
    let mut rest = line.trim_start();
    let mut path = Vec::new();
    loop {
        if let Some(r) = rest.strip_prefix("[]") {
            path.push(Seg::Elements);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("[\"") {
            // A quoted key: a JSON string inside brackets.
            let mut de = serde_json::Deserializer::from_str(&rest[1..]).into_iter::<String>();
            let key = match de.next() {
                Some(Ok(k)) => k,
                _ => return Err(ShapeParseError::new(n, "bad quoted key")),
            };
            let used = 1 + de.byte_offset();
            rest = rest[used..].strip_prefix(']').ok_or_else(|| ShapeParseError::new(n, "unclosed ["))?;
            let _ = r;
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
    let kinds = rest.strip_prefix(": ").ok_or_else(|| ShapeParseError::new(n, "expected `: kinds` after the path"))?;
    if path.is_empty() {
        return Err(ShapeParseError::new(n, "expected a path such as `.Name` or `[]`"));
    }
    Ok((path, optional, kinds.to_owned()))
}

fn place(root: &mut Node, path: &[Seg], optional: bool, node: Node) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or("empty path")?;
    let mut cur = root;
    for seg in parents {
        cur = match seg {
            Seg::Elements => cur.array.as_deref_mut().ok_or("`[]` under a position that is not an array")?,
            Seg::Key(k) => {
                let fields = cur.object.as_mut().ok_or("a key under a position that is not an object")?;
                &mut fields.get_mut(k).ok_or_else(|| format!("field `{k}` appears before its parent"))?.node
            }
        };
    }
    match last {
        Seg::Elements => {
            let slot = cur.array.as_deref_mut().ok_or("`[]` under a position that is not an array")?;
            *slot = node;
        }
        Seg::Key(k) => {
            let fields = cur.object.as_mut().ok_or("a key under a position that is not an object")?;
            fields.insert(k.clone(), Field { optional, node });
        }
    }
    Ok(())
}

/// Whether a change can break a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A client that worked before keeps working (a new field, a new cookie).
    Additive,
    /// A client that worked before may break.
    Breaking,
}

/// One difference between two shapes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Where: `status`, `content-type`, `cookie NAME`, `body`, or a body path such as `.UserId`.
    pub at: String,
    /// What happened, in a few words: `field removed`, `retyped`, `became nullable`, …
    pub what: String,
    /// Before, when there was something.
    pub before: Option<String>,
    /// After, when there is something.
    pub after: Option<String>,
    /// Breaking or additive.
    pub severity: Severity,
}

impl Change {
    fn new(
        at: impl Into<String>,
        what: &str,
        before: Option<String>,
        after: Option<String>,
        severity: Severity,
    ) -> Self {
        Change { at: at.into(), what: what.to_owned(), before, after, severity }
    }

    /// One line, as a reviewer reads it.
    pub fn line(&self) -> String {
        let mut s = format!("{}: {}", self.at, self.what);
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => {
                let _ = write!(s, " ({b} -> {a})");
            }
            (Some(b), None) => {
                let _ = write!(s, " (was {b})");
            }
            (None, Some(a)) => {
                let _ = write!(s, " ({a})");
            }
            (None, None) => {}
        }
        s
    }
}

/// Every difference from `old` to `new`, breaking ones first, then by place.
pub fn diff(old: &ResponseShape, new: &ResponseShape) -> Vec<Change> {
    use Severity::{Additive, Breaking};
    let mut out = Vec::new();
    if old.status != new.status {
        out.push(Change::new(
            "status",
            "status changed",
            Some(old.status.to_string()),
            Some(new.status.to_string()),
            Breaking,
        ));
    }
    if old.content_type != new.content_type {
        let show = |c: &Option<String>| Some(c.clone().unwrap_or_else(|| "(none)".into()));
        out.push(Change::new(
            "content-type",
            "content type changed",
            show(&old.content_type),
            show(&new.content_type),
            Breaking,
        ));
    }
    for gone in old.cookies.difference(&new.cookies) {
        out.push(Change::new(format!("cookie {gone}"), "cookie no longer set", None, None, Breaking));
    }
    for added in new.cookies.difference(&old.cookies) {
        out.push(Change::new(format!("cookie {added}"), "new cookie", None, None, Additive));
    }
    match (&old.body, &new.body) {
        (BodyShape::Json(a), BodyShape::Json(b)) => diff_nodes(a, b, "", &mut out),
        (a, b) if a != b => {
            let name = |b: &BodyShape| match b {
                BodyShape::Empty => "empty".to_owned(),
                BodyShape::Text => "text".to_owned(),
                BodyShape::Json(n) => format!("JSON {}", n.kinds().join(" | ")),
            };
            out.push(Change::new("body", "body changed", Some(name(a)), Some(name(b)), Breaking));
        }
        _ => {}
    }
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.at.cmp(&b.at)));
    out
}

fn diff_nodes(old: &Node, new: &Node, path: &str, out: &mut Vec<Change>) {
    use Severity::{Additive, Breaking};
    let at = if path.is_empty() { "body".to_owned() } else { path.to_owned() };
    // Kinds other than null: a kind the client knew disappearing or a new one appearing both
    // mean the client meets a type it does not expect... except when kinds only narrow.
    let strip_null = |n: &Node| {
        let mut k = n.kinds();
        k.retain(|k| k != "null" && k != "unknown");
        k
    };
    let (ko, kn) = (strip_null(old), strip_null(new));
    // A position that is only ever null on one side is covered by the nullability lines.
    if !ko.is_empty() && !kn.is_empty() && ko != kn {
        let before = Some(ko.join(" | "));
        let after = Some(kn.join(" | "));
        let widened = kn.iter().any(|k| !ko.contains(k));
        if widened {
            out.push(Change::new(&at, "retyped", before, after, Breaking));
        } else {
            out.push(Change::new(&at, "narrowed", before, after, Additive));
        }
    }
    if !old.null && new.null && !old.is_unknown() {
        out.push(Change::new(&at, "became nullable", None, None, Breaking));
    }
    if old.null && !new.null && !new.is_unknown() {
        out.push(Change::new(&at, "no longer null", None, None, Additive));
    }
    if let (Some(a), Some(b)) = (&old.object, &new.object) {
        for (k, fa) in a {
            let p = format!("{path}{}", key_text(k));
            match b.get(k) {
                None => out.push(Change::new(&p, "field removed", Some(fa.node.kinds().join(" | ")), None, Breaking)),
                Some(fb) => {
                    if !fa.optional && fb.optional {
                        out.push(Change::new(&p, "became optional", None, None, Breaking));
                    }
                    if fa.optional && !fb.optional {
                        out.push(Change::new(&p, "now always present", None, None, Additive));
                    }
                    diff_nodes(&fa.node, &fb.node, &p, out);
                }
            }
        }
        for (k, fb) in b.iter().filter(|(k, _)| !a.contains_key(*k)) {
            let p = format!("{path}{}", key_text(k));
            out.push(Change::new(&p, "new field", None, Some(fb.node.kinds().join(" | ")), Additive));
        }
    }
    if let (Some(a), Some(b)) = (&old.array, &new.array) {
        diff_nodes(a, b, &format!("{path}[]"), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use serde_json::json;

    fn shape(body: Value) -> ResponseShape {
        ResponseShape::infer(
            200,
            Some("application/json; charset=utf-8"),
            ["ASP.NET_SessionId".to_owned()],
            body.to_string().as_bytes(),
        )
    }

    #[test]
    fn renders_fields_types_formats_and_optionality() {
        let s = shape(json!({
            "UserId": 7, "SID": null, "EmailAddress": "a@b.example", "Name": "n",
            "Items": [{"Id": "0f6a3d2e-5b1c-4e8f-9a7d-2c3b4a5d6e7f", "When": "2024-12-10T08:57:45.9"}, {"Id": "x", "Extra": 1.5}],
            "Empty": [], "weird key": true
        }));
        insta::assert_snapshot!(s.render(), @r#"
        status: 200
        content-type: application/json
        cookies: ASP.NET_SessionId
        body: object
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
        let empty = ResponseShape::infer(200, None, [], b"");
        assert!(empty.render().ends_with("content-type: (none)\ncookies: (none)\nbody: empty\n"));
        let html = ResponseShape::infer(500, Some("text/html"), [], b"<html>");
        assert!(html.render().ends_with("body: text\n"));
    }

    #[test]
    fn text_form_parses_back() {
        for body in [
            json!({"a": [{"b": null}, {"b": 1, "c": {"d": ["x"]}}], "e f": {"g": "2024-01-01T00:00:00Z"}}),
            json!([1, 2.5, "s", null, true]),
            json!("bare"),
            json!([]),
        ] {
            let s = shape(body);
            let text = s.render();
            assert_eq!(ResponseShape::parse(&text), Ok(s.clone()), "{text}");
        }
    }

    #[test]
    fn parse_errors_name_the_line() {
        let e = ResponseShape::parse("status: 200\ncontent-type: (none)\ncookies: (none)\nbody: object\n  .A: strng\n");
        assert_eq!(e.map_err(|e| e.line), Err(5));
    }

    #[test]
    fn a_review_reads_like_a_review() {
        let old = shape(json!({"UserId": 7, "SID": "S-1", "Name": "n", "Gone": 1}));
        let mut new = shape(json!({"UserId": "7", "SID": null, "Name": "n", "Added": true}));
        new.cookies.clear();
        let lines: Vec<String> = diff(&old, &new).iter().map(|c| format!("{:?} {}", c.severity, c.line())).collect();
        insta::assert_snapshot!(lines.join("\n"), @r"
        Breaking .Gone: field removed (was integer)
        Breaking .SID: became nullable
        Breaking .UserId: retyped (integer -> string)
        Breaking cookie ASP.NET_SessionId: cookie no longer set
        Additive .Added: new field (boolean)
        ");
    }

    /// A small generator of JSON values for property-style tests.
    fn arbitrary(rng: &mut rand::rngs::StdRng, depth: u32) -> Value {
        let pick = if depth == 0 { rng.random_range(0..5) } else { rng.random_range(0..7) };
        match pick {
            0 => Value::Null,
            1 => json!(rng.random_bool(0.5)),
            2 => json!(rng.random_range(-5..5)),
            3 => json!(rng.random_range(0.0..1.0)),
            4 => json!(
                ["x", "2024-12-10T08:57:45.9", "a@b.example", "0f6a3d2e-5b1c-4e8f-9a7d-2c3b4a5d6e7f"]
                    [rng.random_range(0..4)]
            ),
            5 => Value::Array((0..rng.random_range(0..4)).map(|_| arbitrary(rng, depth - 1)).collect()),
            _ => {
                let keys = ["A", "B", "C", "d e"];
                Value::Object(
                    (0..rng.random_range(0..4))
                        .map(|_| (keys[rng.random_range(0..4)].to_owned(), arbitrary(rng, depth - 1)))
                        .collect(),
                )
            }
        }
    }

    #[test]
    fn property_a_shape_diffed_with_itself_is_empty_and_round_trips() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..500 {
            let s = shape(arbitrary(&mut rng, 3));
            assert!(diff(&s, &s).is_empty());
            assert_eq!(ResponseShape::parse(&s.render()).as_ref(), Ok(&s));
        }
    }

    #[test]
    fn property_streaming_inference_equals_value_inference() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        for _ in 0..500 {
            let v = arbitrary(&mut rng, 4);
            assert_eq!(Node::infer_slice(v.to_string().as_bytes()).ok(), Some(Node::infer(&v)), "{v}");
        }
    }

    #[test]
    fn property_merge_is_commutative_and_associative() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for _ in 0..500 {
            let (a, b, c) = (
                Node::infer(&arbitrary(&mut rng, 3)),
                Node::infer(&arbitrary(&mut rng, 3)),
                Node::infer(&arbitrary(&mut rng, 3)),
            );
            assert_eq!(a.clone().merge(b.clone()), b.clone().merge(a.clone()));
            assert_eq!(a.clone().merge(b.clone()).merge(c.clone()), a.merge(b.merge(c)));
        }
    }

    #[test]
    fn property_inference_ignores_object_key_order() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(13);
        for _ in 0..200 {
            let v = arbitrary(&mut rng, 3);
            let text = v.to_string();
            // Re-serialise with keys reversed at every depth and infer again.
            fn reversed(v: &Value) -> String {
                match v {
                    Value::Object(m) => {
                        let parts: Vec<String> = m
                            .iter()
                            .rev()
                            .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), reversed(v)))
                            .collect();
                        format!("{{{}}}", parts.join(","))
                    }
                    Value::Array(a) => {
                        format!("[{}]", a.iter().map(reversed).collect::<Vec<_>>().join(","))
                    }
                    other => other.to_string(),
                }
            }
            let a = ResponseShape::infer(200, None, [], text.as_bytes());
            let b = ResponseShape::infer(200, None, [], reversed(&v).as_bytes());
            assert_eq!(a.render(), b.render());
        }
    }
}
