//! Inferring the shape of a response: its status, media type, the cookies it sets, and the
//! body's structure (JSON kinds per position, nullability, optional fields, maps keyed by data,
//! string format hints), never a value. Bodies are shaped while they are parsed, so memory
//! follows the shape, not the body.
//!
//! A shape is bounded whatever the body: an object keeps at most [`MAX_FIELDS`] fields and a
//! body at most [`MAX_POSITIONS`] new positions; the fields past either are skipped unread and
//! counted (a 10 MB sign-in answer with 300,000 new fields made a 1 GiB run and 66 MB reports).

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use crate::seal::{Redact, Redactor};

/// String formats told apart. They are hints: a contract shows them, drift reports them as
/// information, and only a case that asserts a `format` fails on one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

/// The patterns of the formats, as regular expressions that JSON Schema's `pattern` reads
/// the same way (the OpenAPI document states each format by its pattern).
const DATE_TIME_PATTERN: &str = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$";
const GUID_PATTERN: &str = r"^\{?[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}?$";
const EMAIL_PATTERN: &str = r"^[^@\s]+@[^@\s]+\.[^@\s]+$";

// ASCII digits, as `\d` is in the JSON Schema (ECMA-262) reading of the pattern; Unicode's
// digit classes would also make the automaton several times larger.
static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| ascii(DATE_TIME_PATTERN));
static GUID: LazyLock<Regex> = LazyLock::new(|| ascii(GUID_PATTERN));

fn ascii(pattern: &str) -> Regex {
    regex::RegexBuilder::new(pattern).unicode(false).build().expect("the format patterns are valid ASCII regexes")
}

/// Whether `s` matches [`EMAIL_PATTERN`], read without a regex: its classes (anything but `@`
/// and white space) are all of Unicode, whose automaton took 320 KB to build.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    let part = |p: &str| !p.is_empty() && !p.contains(|c: char| c == '@' || c.is_whitespace());
    // `[^@\s]+\.[^@\s]+`: a dot with something on each side.
    part(local) && part(domain) && domain.char_indices().any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len())
}

impl StringFormat {
    /// The format of a string.
    pub fn of(s: &str) -> StringFormat {
        // Cheap tests first: most strings are none of these, and a regex costs more.
        let b = s.as_bytes();
        if b.len() >= 16 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && DATE_TIME.is_match(s) {
            StringFormat::DateTime
        } else if (b.len() == 36 || b.len() == 38) && b.contains(&b'-') && GUID.is_match(s) {
            StringFormat::Guid
        } else if is_email(s) {
            StringFormat::Email
        } else {
            StringFormat::Plain
        }
    }

    /// The name a case's `format:` and the text form use.
    pub fn name(self) -> &'static str {
        match self {
            StringFormat::Plain => "plain",
            StringFormat::DateTime => "date-time",
            StringFormat::Guid => "guid",
            StringFormat::Email => "email",
        }
    }

    /// The regular expression a string of this format matches, if it has one.
    pub fn pattern(self) -> Option<&'static str> {
        match self {
            StringFormat::Plain => None,
            StringFormat::DateTime => Some(DATE_TIME_PATTERN),
            StringFormat::Guid => Some(GUID_PATTERN),
            StringFormat::Email => Some(EMAIL_PATTERN),
        }
    }

    /// Every format a case can assert.
    pub const ASSERTABLE: &'static [StringFormat] = &[StringFormat::DateTime, StringFormat::Guid, StringFormat::Email];

    /// The format named `name`.
    pub fn parse(name: &str) -> Option<StringFormat> {
        [StringFormat::Plain, StringFormat::DateTime, StringFormat::Guid, StringFormat::Email]
            .into_iter()
            .find(|f| f.name() == name)
    }

    fn merge(a: Option<StringFormat>, b: Option<StringFormat>) -> Option<StringFormat> {
        match (a, b) {
            (Some(x), Some(y)) if x == y => Some(x),
            (Some(_), Some(_)) => Some(StringFormat::Plain),
            (x, y) => x.or(y),
        }
    }
}

/// Fields an object shape keeps; the rest are counted in [`Node::omitted`].
pub const MAX_FIELDS: usize = 1_000;
/// Positions (object fields) one body adds to a shape; the rest are counted where they are.
pub const MAX_POSITIONS: usize = 10_000;

/// The shape of the JSON values seen at one position, merged over every observation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Node {
    /// `null` was seen.
    pub null: bool,
    /// `true` or `false` was seen.
    pub boolean: bool,
    /// Whole numbers were seen, and no other number (`integer` and `number` merge to `number`).
    pub integer: bool,
    /// A number with a fraction was seen.
    pub number: bool,
    /// Strings were seen; their common format (`Plain` when they differ).
    pub string: Option<StringFormat>,
    /// Arrays were seen; the merged shape of their elements (unknown when every array was
    /// empty).
    pub array: Option<Box<Node>>,
    /// Objects were seen; their fields.
    pub object: Option<BTreeMap<String, Field>>,
    /// Objects whose keys are data (ids) were seen; the merged shape of their values.
    pub map: Option<Box<Node>>,
    /// Any JSON value is allowed here: a documented model that says nothing of a position
    /// (`any`). Nothing at or below it is compared.
    pub any: bool,
    /// An object whose fields the documentation does not list (a bare `object`): whatever
    /// fields it has are what the server chose, not news.
    pub open: bool,
    /// Fields an object here had beyond what the shape keeps ([`MAX_FIELDS`],
    /// [`MAX_POSITIONS`]): skipped, counted, the most of any one object. Never written to a
    /// contract file.
    pub omitted: usize,
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
        let mut n = Node::infer_raw(value);
        n.collapse_maps();
        n
    }

    /// As streaming inference does: array elements merge before any object becomes a map.
    fn infer_raw(value: &Value) -> Node {
        let mut n = Node::default();
        match value {
            Value::Null => n.null = true,
            Value::Bool(_) => n.boolean = true,
            Value::Number(x) if x.is_i64() || x.is_u64() => n.integer = true,
            Value::Number(_) => n.number = true,
            Value::String(s) => n.string = Some(StringFormat::of(s)),
            Value::Array(items) => {
                let element = items.iter().map(Node::infer_raw).fold(Node::default(), Node::merge_raw);
                n.array = Some(Box::new(element));
            }
            Value::Object(map) => {
                let fields =
                    map.iter().map(|(k, v)| (k.clone(), Field { optional: false, node: Node::infer_raw(v) })).collect();
                n.object = Some(fields);
            }
        }
        n
    }

    /// The shape of a JSON document, read straight from its bytes: no `Value` tree is built.
    pub fn infer_slice(json: &[u8]) -> Result<Node, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let mut node = Node::default();
        let left = Cell::new(MAX_POSITIONS);
        serde::de::DeserializeSeed::deserialize(MergeSeed(&mut node, &left), &mut de)?;
        de.end()?;
        node.collapse_maps();
        Ok(node)
    }

    /// Whether nothing was ever seen here (the elements of arrays that were always empty).
    pub fn is_unknown(&self) -> bool {
        *self == Node::default()
    }

    /// The union of two shapes: commutative, associative and idempotent, with the unknown
    /// node as identity.
    pub fn merge(self, other: Node) -> Node {
        let mut merged = self.merge_raw(other);
        merged.collapse_maps();
        merged
    }

    fn merge_raw(self, other: Node) -> Node {
        if self.is_unknown() {
            return other;
        }
        if other.is_unknown() {
            return self;
        }
        let number = self.number || other.number;
        Node {
            null: self.null || other.null,
            boolean: self.boolean || other.boolean,
            integer: !number && (self.integer || other.integer),
            number,
            string: StringFormat::merge(self.string, other.string),
            array: merge_boxed(self.array, other.array),
            object: match (self.object, other.object) {
                (Some(a), Some(b)) => Some(merge_fields(a, b)),
                (a, b) => a.or(b),
            },
            map: merge_boxed(self.map, other.map),
            any: self.any || other.any,
            open: self.open || other.open,
            omitted: self.omitted.max(other.omitted),
        }
    }

    /// Objects whose keys are all data (ids, GUIDs, dates, e-mail addresses) become maps: a
    /// list of accounts keyed by id is one shape however many ids it holds.
    fn collapse_maps(&mut self) {
        if let Some(fields) = &self.object
            && !fields.is_empty()
            && fields.keys().all(|k| is_data_key(k))
            && let Some(fields) = self.object.take()
        {
            let values = fields.into_values().map(|f| f.node).fold(Node::default(), Node::merge_raw);
            let map = self.map.take().map_or(Node::default(), |b| *b).merge_raw(values);
            self.map = Some(Box::new(map));
        }
        if let Some(a) = self.array.as_deref_mut() {
            a.collapse_maps();
        }
        if let Some(m) = self.map.as_deref_mut() {
            m.collapse_maps();
        }
        if let Some(fields) = self.object.as_mut() {
            for f in fields.values_mut() {
                f.node.collapse_maps();
            }
        }
    }

    /// The kinds at this position, in a fixed order, as the text form spells them; string
    /// formats included.
    pub fn kinds(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if self.any {
            out.push("any".to_owned());
        }
        if self.object.is_some() {
            out.push("object".to_owned());
        }
        if self.map.is_some() {
            out.push("map".to_owned());
        }
        if self.array.is_some() {
            out.push("array".to_owned());
        }
        match self.string {
            Some(StringFormat::Plain) => out.push("string".to_owned()),
            Some(f) => out.push(format!("string({})", f.name())),
            None => {}
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

    /// The kinds without formats and without `null`.
    pub fn base_kinds(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.object.is_some() {
            out.push("object");
        }
        if self.map.is_some() {
            out.push("map");
        }
        if self.array.is_some() {
            out.push("array");
        }
        if self.string.is_some() {
            out.push("string");
        }
        if self.integer {
            out.push("integer");
        }
        if self.number {
            out.push("number");
        }
        if self.boolean {
            out.push("boolean");
        }
        out
    }

    /// Every object key anywhere in the shape, for the redaction point.
    pub fn keys_mut(&mut self, f: &mut dyn FnMut(&str) -> Option<String>) {
        if let Some(fields) = self.object.take() {
            let mut renamed = BTreeMap::new();
            for (k, mut field) in fields {
                field.node.keys_mut(f);
                let key = f(&k).unwrap_or(k);
                match renamed.remove(&key) {
                    Some(Field { optional, node }) => {
                        let merged = Field { optional: optional || field.optional, node: node.merge(field.node) };
                        renamed.insert(key, merged);
                    }
                    None => {
                        renamed.insert(key, field);
                    }
                }
            }
            self.object = Some(renamed);
        }
        for child in [self.array.as_deref_mut(), self.map.as_deref_mut()].into_iter().flatten() {
            child.keys_mut(f);
        }
    }
}

fn merge_boxed(a: Option<Box<Node>>, b: Option<Box<Node>>) -> Option<Box<Node>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(Box::new(a.merge_raw(*b))),
        (a, b) => a.or(b),
    }
}

fn merge_fields(mut a: BTreeMap<String, Field>, mut b: BTreeMap<String, Field>) -> BTreeMap<String, Field> {
    let keys: BTreeSet<String> = a.keys().chain(b.keys()).cloned().collect();
    keys.into_iter()
        .filter_map(|k| {
            let merged = match (a.remove(&k), b.remove(&k)) {
                (Some(x), Some(y)) => Field { optional: x.optional || y.optional, node: x.node.merge_raw(y.node) },
                // Seen in one object and not the other: optional.
                (Some(x), None) | (None, Some(x)) => Field { optional: true, node: x.node },
                (None, None) => return None,
            };
            Some((k, merged))
        })
        .collect()
}

/// Whether an object key is data rather than a field name: an integer, a GUID, a date or an
/// e-mail address.
pub fn is_data_key(key: &str) -> bool {
    (!key.is_empty() && key.len() <= 20 && key.bytes().all(|b| b.is_ascii_digit()))
        || StringFormat::of(key) != StringFormat::Plain
}

/// Merges each value into a [`Node`] while the JSON is parsed: array elements go straight into
/// the shape of their position, so no per-element tree is built. The cell holds the positions
/// the body may still add.
struct MergeSeed<'n, 'l>(&'n mut Node, &'l Cell<usize>);

impl<'de> serde::de::DeserializeSeed<'de> for MergeSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for MergeSeed<'_, '_> {
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
        self.0.integer |= !self.0.number;
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.0.integer |= !self.0.number;
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.0.number = true;
        self.0.integer = false;
        Ok(())
    }
    fn visit_str<E>(self, s: &str) -> Result<(), E> {
        self.0.string = StringFormat::merge(self.0.string, Some(StringFormat::of(s)));
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let element = self.0.array.get_or_insert_with(Box::default);
        while seq.next_element_seed(MergeSeed(element, self.1))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // The first object at a position has every field it carries; after that, a field
        // that an object lacks, or that earlier objects lacked, is optional.
        let first = self.0.object.is_none();
        let fields = self.0.object.get_or_insert_with(BTreeMap::new);
        let known = fields.len();
        let mut seen: HashSet<std::borrow::Cow<'de, str>> = HashSet::new();
        let mut seen_known = 0;
        let mut omitted = 0;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let full = fields.len() >= MAX_FIELDS || self.1.get() == 0;
            let field = match fields.get_mut(key.as_ref()) {
                Some(f) => {
                    if !seen.contains(&key) {
                        seen_known += 1;
                    }
                    f
                }
                None if full => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    omitted += 1;
                    continue;
                }
                None => {
                    self.1.set(self.1.get() - 1);
                    fields.entry(key.clone().into_owned()).or_insert(Field { optional: !first, node: Node::default() })
                }
            };
            map.next_value_seed(MergeSeed(&mut field.node, self.1))?;
            seen.insert(key);
        }
        self.0.omitted = self.0.omitted.max(omitted);
        if seen_known < known {
            for (k, f) in fields.iter_mut() {
                if !seen.contains(k.as_str()) {
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

/// The body of a response shape: which forms were seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BodyShape {
    /// An empty body was seen.
    pub empty: bool,
    /// A body that is not JSON was seen.
    pub text: bool,
    /// JSON bodies were seen (a bare value counts).
    pub json: Option<Node>,
}

impl BodyShape {
    /// The union of two body shapes.
    pub fn merge(self, other: BodyShape) -> BodyShape {
        BodyShape {
            empty: self.empty || other.empty,
            text: self.text || other.text,
            json: match (self.json, other.json) {
                (Some(a), Some(b)) => Some(a.merge(b)),
                (a, b) => a.or(b),
            },
        }
    }
}

/// What responses of one endpoint looked like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseShape {
    /// Status code.
    pub status: u16,
    /// Media types, lower case, without parameters (`application/json`); `(none)` for a
    /// response without one.
    pub content_types: BTreeSet<String>,
    /// Names of the cookies set, with whether some responses did not set them.
    pub cookies: BTreeMap<String, bool>,
    /// The body.
    pub body: BodyShape,
}

/// The media type of a response without a Content-Type header.
pub const NO_CONTENT_TYPE: &str = "(none)";

/// A server may put a credential into a field name or a cookie name: both are masked by value,
/// like the content types.
impl Redact for ResponseShape {
    fn redact(&mut self, r: &Redactor) {
        self.cookies = std::mem::take(&mut self.cookies).into_iter().map(|(k, v)| (r.text(&k), v)).collect();
        if let Some(node) = self.body.json.as_mut() {
            node.keys_mut(&mut |k| {
                let masked = r.text(k);
                (masked != k).then_some(masked)
            });
        }
        self.content_types = std::mem::take(&mut self.content_types).into_iter().map(|c| r.text(&c)).collect();
    }
}

impl ResponseShape {
    /// The shape of one response.
    pub fn infer(
        status: u16,
        content_type: Option<&str>,
        cookies: impl IntoIterator<Item = String>,
        body: &[u8],
    ) -> Self {
        let body = if body.is_empty() {
            BodyShape { empty: true, ..BodyShape::default() }
        } else {
            match Node::infer_slice(body) {
                Ok(n) => BodyShape { json: Some(n), ..BodyShape::default() },
                Err(_) => BodyShape { text: true, ..BodyShape::default() },
            }
        };
        ResponseShape {
            status,
            content_types: BTreeSet::from([content_type.map_or_else(|| NO_CONTENT_TYPE.to_owned(), media_type)]),
            cookies: cookies.into_iter().map(|c| (c, false)).collect(),
            body,
        }
    }

    /// The union of two shapes of the same status: what either allows. A cookie only one of
    /// them sets is optional.
    pub fn merge(self, other: ResponseShape) -> ResponseShape {
        let names: BTreeSet<String> = self.cookies.keys().chain(other.cookies.keys()).cloned().collect();
        let cookies = names
            .into_iter()
            .map(|n| {
                let optional = match (self.cookies.get(&n), other.cookies.get(&n)) {
                    (Some(a), Some(b)) => *a || *b,
                    _ => true,
                };
                (n, optional)
            })
            .collect();
        ResponseShape {
            status: self.status,
            content_types: self.content_types.union(&other.content_types).cloned().collect(),
            cookies,
            body: self.body.merge(other.body),
        }
    }
}

fn media_type(ct: &str) -> String {
    ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_formats_are_read_as_their_patterns_say_in_json_schema() {
        // The email test is written by hand: it agrees with its pattern, read by a regex.
        let email = Regex::new(EMAIL_PATTERN).expect("valid");
        let samples = [
            "a@b.c",
            "jane.doe@example.com",
            "a@b.",
            "a@.b",
            "@b.c",
            "a@bc",
            "a@@b.c",
            "a@b@c.d",
            "a b@c.d",
            "a@b.c ",
            "a@b\u{a0}.c",
            "a@b\u{3000}c.d",
            "é@ü.ß",
            "a@b..c",
            "a@.b.c",
            "a@b.c.",
            "ab",
            "",
            "@",
            "a@b.c\n",
            "a\u{85}@b.c",
            "a@b.\u{feff}",
        ];
        for s in samples {
            assert_eq!(is_email(s), email.is_match(s), "{s:?}");
        }
        assert_eq!(StringFormat::of("jane.doe@example.com"), StringFormat::Email);
        assert_eq!(StringFormat::of("a@b"), StringFormat::Plain);
        // `\d` is an ASCII digit in JSON Schema's reading of a pattern: so it is here.
        assert_eq!(StringFormat::of("2024-12-10T08:57:45.9"), StringFormat::DateTime);
        assert_eq!(StringFormat::of("2024-12-10T08:5\u{0665}:45"), StringFormat::Plain);
        assert_eq!(StringFormat::of("{0F3B7D5E-1A2B-4C3D-8E9F-0A1B2C3D4E5F}"), StringFormat::Guid);
    }

    #[test]
    fn an_object_keeps_at_most_max_fields_and_counts_the_rest_in_its_contract() {
        let wide: serde_json::Map<String, Value> =
            (0..MAX_FIELDS + 500).map(|i| (format!("F{i:05}"), json!(i))).collect();
        let body = serde_json::to_vec(&Value::Object(wide)).expect("JSON");
        let shape = ResponseShape::infer(200, Some("application/json"), [], &body);
        let node = shape.body.json.as_ref().expect("JSON");
        assert_eq!((node.object.as_ref().map(BTreeMap::len), node.omitted), (Some(MAX_FIELDS), 500));
        let text = shape.render();
        assert!(text.contains("  .*: 500 more fields\n"), "{text:.300}");
        assert_eq!(ResponseShape::parse(&text), Ok(shape));
    }

    #[test]
    fn integers_and_numbers_merge_to_number() {
        let n = Node::infer(&json!([1, 2.5, 3]));
        let e = n.array.as_deref().expect("array");
        assert!(e.number && !e.integer);
        assert_eq!(Node::infer_slice(b"[1, 2.5, 3]").ok(), Some(n));
        let m = Node::infer(&json!(1)).merge(Node::infer(&json!(1.5)));
        assert_eq!(m.kinds(), vec!["number"]);
    }

    #[test]
    fn objects_keyed_by_data_become_maps() {
        let n = Node::infer(&json!({"12": {"Name": "a"}, "13": {"Name": "b", "Extra": 1}}));
        assert!(n.object.is_none());
        let values = n.map.as_deref().and_then(|m| m.object.as_ref()).expect("map of objects");
        assert!(values.get("Extra").is_some_and(|f| f.optional));
        let guids = Node::infer(&json!({"0f6a3d2e-5b1c-4e8f-9a7d-2c3b4a5d6e7f": true}));
        assert_eq!(guids.kinds(), vec!["map"]);
        assert_eq!(Node::infer(&json!({"Id": 1})).kinds(), vec!["object"]);
    }

    #[test]
    fn formats_are_hints_that_merge_to_plain() {
        let n = Node::infer(&json!("a@b.example")).merge(Node::infer(&json!("x")));
        assert_eq!(n.string, Some(StringFormat::Plain));
    }
}

/// The merge laws (issue #9) and streaming inference, as properties over generated JSON.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::arbitrary::{self, json};

    fn node() -> impl Strategy<Value = Node> {
        json().prop_map(|v| Node::infer(&v))
    }

    /// The shape of a merge of one to four observations: what a contract holds.
    fn merged_node() -> impl Strategy<Value = Node> {
        prop::collection::vec(node(), 1..4).prop_map(|ns| ns.into_iter().fold(Node::default(), Node::merge))
    }

    fn response_shape(status: u16) -> impl Strategy<Value = ResponseShape> {
        arbitrary::response(status)
            .prop_map(|r| ResponseShape::infer(r.status, r.content_type.as_deref(), r.cookies, &r.body))
    }

    /// Serialises with every object's keys in reverse order.
    fn reversed(v: &Value) -> String {
        match v {
            Value::Object(m) => {
                let parts: Vec<String> =
                    m.iter().rev().map(|(k, v)| format!("{}:{}", Value::String(k.clone()), reversed(v))).collect();
                format!("{{{}}}", parts.join(","))
            }
            Value::Array(a) => format!("[{}]", a.iter().map(reversed).collect::<Vec<_>>().join(",")),
            other => other.to_string(),
        }
    }

    proptest! {
        #![proptest_config(arbitrary::config(128))]

        #[test]
        fn streaming_inference_agrees_with_value_inference(v in json()) {
            let expected = Some(Node::infer(&v));
            prop_assert_eq!(Node::infer_slice(v.to_string().as_bytes()).ok(), expected.clone());
            let pretty = serde_json::to_string_pretty(&v).expect("a value serialises");
            prop_assert_eq!(Node::infer_slice(pretty.as_bytes()).ok(), expected);
        }

        #[test]
        fn inference_ignores_object_key_order(v in json()) {
            let a = Node::infer_slice(v.to_string().as_bytes()).ok();
            let b = Node::infer_slice(reversed(&v).as_bytes()).ok();
            prop_assert!(a.is_some());
            prop_assert_eq!(a, b);
        }

        #[test]
        fn node_merge_is_commutative(a in merged_node(), b in merged_node()) {
            prop_assert_eq!(a.clone().merge(b.clone()), b.merge(a));
        }

        #[test]
        fn node_merge_is_associative(a in merged_node(), b in merged_node(), c in merged_node()) {
            prop_assert_eq!(a.clone().merge(b.clone()).merge(c.clone()), a.merge(b.merge(c)));
        }

        #[test]
        fn node_merge_is_idempotent_with_the_unknown_node_as_identity(a in merged_node()) {
            prop_assert_eq!(a.clone().merge(a.clone()), a.clone());
            prop_assert_eq!(a.clone().merge(Node::default()), a.clone());
            prop_assert_eq!(Node::default().merge(a.clone()), a);
        }

        #[test]
        fn merging_a_set_does_not_depend_on_its_order(mut ns in prop::collection::vec(node(), 1..6), seed in any::<u64>()) {
            let forward = ns.iter().cloned().fold(Node::default(), Node::merge);
            // A rotation and a reversal: any order folds to the same contract.
            let len = ns.len();
            ns.rotate_left((seed as usize) % len);
            ns.reverse();
            prop_assert_eq!(ns.into_iter().fold(Node::default(), Node::merge), forward);
        }

        #[test]
        fn response_shape_merge_is_commutative_associative_and_idempotent(
            (a, b, c) in prop::sample::select(vec![200u16, 201, 401]).prop_flat_map(|s| (response_shape(s), response_shape(s), response_shape(s)))
        ) {
            prop_assert_eq!(a.clone().merge(b.clone()), b.clone().merge(a.clone()));
            prop_assert_eq!(a.clone().merge(b.clone()).merge(c.clone()), a.clone().merge(b.merge(c)));
            prop_assert_eq!(a.clone().merge(a.clone()), a.clone());
            prop_assert_eq!(a.body.clone().merge(BodyShape::default()), a.body);
        }
    }
}
