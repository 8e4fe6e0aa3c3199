//! `{{ name }}` templates, compiled once when a case is planned.
//!
//! A template is a list of literal text and variable references. Rendering gives two strings:
//! the value that is sent, and the value that is shown, where every secret variable is
//! replaced by the mask. So a request line shown in a report never holds a credential that a
//! template put there, in whatever encoding the URL later applies.
//!
//! Variables hold JSON values: target settings and built-ins are strings, captures keep the
//! JSON type they had in the response. A string that is exactly one template (`"{{ id }}"`)
//! renders to the variable's own value, so `equals: "{{ user_id }}"` compares an integer with
//! an integer; a template inside other text renders the value's text form.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::secret::MASK;

/// One variable in scope while a case runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    /// The value.
    pub value: Value,
    /// Whether the value is a credential: shown as the mask wherever a template puts it.
    pub secret: bool,
}

/// Variables in scope while a case runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vars(BTreeMap<String, Var>);

impl Vars {
    /// No variables.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a variable.
    pub fn insert(&mut self, name: impl Into<String>, value: Value, secret: bool) {
        self.0.insert(name.into(), Var { value, secret });
    }

    /// A variable, if it is defined.
    pub fn get(&self, name: &str) -> Option<&Var> {
        self.0.get(name)
    }

    /// A variable and its value as text (a string as it is, anything else as JSON), or why
    /// not.
    fn text(&self, name: &str) -> Result<(&Var, String), Undefined> {
        let var = self.get(name).ok_or_else(|| Undefined(name.to_owned()))?;
        let text = match &var.value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Ok((var, text))
    }

    /// Whether a variable is defined.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Every variable, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Var)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Built-in variables, always defined, with what each one holds.
pub const BUILTINS: &[(&str, &str)] = &[
    ("base_url", "the target's base URL, such as https://ps.example.com/BeyondTrust/api/public/v3"),
    ("uuid", "a fresh random GUID, new for each case"),
    ("random_key", "a fresh random 128-character hex string shaped like an API key, known to no server"),
    ("random_secret", "a fresh random 48-character string shaped like a password or client secret"),
    (
        "run_id",
        "this run's id (8 hex characters, the same in every case of the run): objects a case creates are named `psconform-{{ run_id }}-…`, so `psconform cleanup` can find what a run left",
    ),
];

/// This run's id: 8 hex characters, drawn once per process.
pub fn run_id() -> &'static str {
    static ID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let n: u32 = rand::random();
        format!("{n:08x}")
    });
    &ID
}

/// A variable a template uses that is not defined when it is rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("variable `{0}` is not defined")]
pub struct Undefined(pub String);

/// Why a text is not a valid template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed template at byte {offset}: {reason}")]
pub struct TemplateError {
    /// Byte offset of the `{{` that starts the problem.
    pub offset: usize,
    /// What is wrong.
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

/// A compiled string template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a request path could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A variable is not defined.
    #[error(transparent)]
    Undefined(#[from] Undefined),
    /// A variable's value would make its segment empty, `.` or `..`, which the URL drops or
    /// climbs instead of sending.
    #[error("the value of `{name}` is `{value}`, which would make its path segment `{value}`: the URL would {}", if value.is_empty() { "drop it" } else { "remove it and what comes before" })]
    Segment {
        /// The variable.
        name: String,
        /// Its value: empty, `.` or `..`.
        value: &'static str,
    },
}

/// A value encoded as one path segment: `/`, `?`, `#` and `%` cannot change the URL.
fn path_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, crate::secret::encodings::PATH_SEGMENT).to_string()
}

/// A value encoded for a query that a path spells out after its `?`: `&`, `=`, `+` and `;`
/// cannot add a parameter either.
fn query_part(text: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &crate::secret::encodings::PATH_SEGMENT.add(b'&').add(b'=').add(b'+').add(b';');
    percent_encoding::utf8_percent_encode(text, SET).to_string()
}

/// A rendered template: what is sent, and what may be shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendered {
    /// The text with every variable's value.
    pub value: String,
    /// The text with secret variables masked.
    pub shown: String,
    /// Whether a secret variable went into it.
    pub secret: bool,
}

impl Rendered {
    fn push_text(&mut self, text: &str) {
        self.value.push_str(text);
        self.shown.push_str(text);
    }

    /// A variable's text: sent as it is, shown as the mask when it is secret.
    fn push_var(&mut self, text: &str, secret: bool) {
        self.value.push_str(text);
        if secret {
            self.secret = true;
            self.shown.push_str(MASK);
        } else {
            self.shown.push_str(text);
        }
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Template {
    /// Compiles a string. Every `{{` must open a `{{ name }}` with a name of letters, digits
    /// and `_`; anything else is an error, wherever the string stands in a case file.
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let Some(end) = after.find("}}") else {
                return Err(TemplateError { offset: offset + start, reason: "`{{` is never closed by `}}`" });
            };
            let name = after[..end].trim();
            if !is_name(name) {
                return Err(TemplateError {
                    offset: offset + start,
                    reason: "a variable name is letters, digits and `_`, starting with a letter",
                });
            }
            parts.push(Part::Var(name.to_owned()));
            let used = start + 2 + end + 2;
            offset += used;
            rest = &rest[used..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// A template of plain text.
    pub fn literal(text: &str) -> Template {
        Template { parts: if text.is_empty() { Vec::new() } else { vec![Part::Text(text.to_owned())] } }
    }

    /// The variable names it uses, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(n) => Some(n.as_str()),
            Part::Text(_) => None,
        })
    }

    /// The variable name when the template is exactly one variable and nothing else.
    pub fn sole_var(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [Part::Var(n)] => Some(n),
            _ => None,
        }
    }

    /// Whether the template has literal text that is not whitespace.
    pub fn has_literal_text(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Text(t) if !t.trim().is_empty()))
    }

    /// The literal text when the template uses no variable.
    pub fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Var(_) => return None,
            }
        }
        Some(out)
    }

    /// Renders the template. Values that are not strings render as their JSON text.
    pub fn render(&self, vars: &Vars) -> Result<Rendered, Undefined> {
        let mut out = Rendered::default();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_text(t),
                Part::Var(name) => {
                    let (var, text) = vars.text(name)?;
                    out.push_var(&text, var.secret);
                }
            }
        }
        Ok(out)
    }
}

impl Template {
    /// Renders a request path. Literal text is as the case file writes it (checked when the
    /// plan is compiled: no dot segment, no escape of an unreserved character); each
    /// variable's value is percent-encoded as part of one segment, so `/`, `?`, `#`, `%` or
    /// `..` in a value cannot change the URL, and a segment a variable leaves empty, `.` or
    /// `..` is refused (the URL would drop or climb it). After a literal `?`, values are
    /// encoded as query text.
    pub fn render_path(&self, vars: &Vars) -> Result<Rendered, PathError> {
        let mut out = Rendered::default();
        let mut query = false;
        // The current segment: where it starts in the value, and its first variable, if any.
        let mut start = 0;
        let mut var: Option<&str> = None;
        let check = |segment: &str, var: Option<&str>| match (var, segment) {
            (Some(name), "" | "." | "..") => Err(PathError::Segment {
                name: name.to_owned(),
                value: match segment {
                    "" => "",
                    "." => ".",
                    _ => "..",
                },
            }),
            _ => Ok(()),
        };
        for p in &self.parts {
            match p {
                Part::Text(t) => {
                    for c in t.chars() {
                        if !query && matches!(c, '/' | '?' | '#') {
                            check(&out.value[start..], var)?;
                            start = out.value.len() + 1;
                            var = None;
                            query = c != '/';
                        }
                        out.push_text(c.encode_utf8(&mut [0; 4]));
                    }
                }
                Part::Var(name) => {
                    let (v, text) = vars.text(name)?;
                    // The segment is checked whole at its end: `.` is unreserved, so encoding
                    // keeps it, and `{{ a }}{{ b }}` may make `..` of two dots.
                    var = var.or(Some(name.as_str()));
                    out.push_var(&if query { query_part(&text) } else { path_segment(&text) }, v.secret);
                }
            }
        }
        if !query {
            check(&out.value[start..], var)?;
        }
        Ok(out)
    }
}

/// A JSON value whose strings (object keys included) are templates.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueTemplate {
    /// A value with no string in it.
    Plain(Value),
    /// A string template.
    Text(Template),
    /// An array.
    Array(Vec<ValueTemplate>),
    /// An object, keys in order.
    Object(Vec<(Template, ValueTemplate)>),
}

/// A rendered JSON value: what is sent or compared, and what may be shown.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedValue {
    /// The value.
    pub value: Value,
    /// The value with secret variables masked.
    pub shown: Value,
}

impl ValueTemplate {
    /// Compiles every string inside a value.
    pub fn compile(value: &Value) -> Result<ValueTemplate, TemplateError> {
        Ok(match value {
            Value::String(s) => ValueTemplate::Text(Template::parse(s)?),
            Value::Array(items) => {
                ValueTemplate::Array(items.iter().map(ValueTemplate::compile).collect::<Result<_, _>>()?)
            }
            Value::Object(map) => ValueTemplate::Object(
                map.iter()
                    .map(|(k, v)| Ok((Template::parse(k)?, ValueTemplate::compile(v)?)))
                    .collect::<Result<_, TemplateError>>()?,
            ),
            other => ValueTemplate::Plain(other.clone()),
        })
    }

    /// Every variable name used, keys included.
    pub fn names(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            ValueTemplate::Plain(_) => {}
            ValueTemplate::Text(t) => out.extend(t.names()),
            ValueTemplate::Array(items) => items.iter().for_each(|i| i.collect(out)),
            ValueTemplate::Object(fields) => fields.iter().for_each(|(k, v)| {
                out.extend(k.names());
                v.collect(out);
            }),
        }
    }

    /// Every string template inside, with the object key it is the value of (if any).
    pub fn strings(&self) -> Vec<(Option<&Template>, &Template)> {
        let mut out = Vec::new();
        self.collect_strings(None, &mut out);
        out
    }

    fn collect_strings<'a>(&'a self, key: Option<&'a Template>, out: &mut Vec<(Option<&'a Template>, &'a Template)>) {
        match self {
            ValueTemplate::Plain(_) => {}
            ValueTemplate::Text(t) => out.push((key, t)),
            ValueTemplate::Array(items) => items.iter().for_each(|i| i.collect_strings(key, out)),
            ValueTemplate::Object(fields) => fields.iter().for_each(|(k, v)| v.collect_strings(Some(k), out)),
        }
    }

    /// Renders the value. A string that is exactly one variable becomes the variable's value
    /// with its own JSON type.
    pub fn render(&self, vars: &Vars) -> Result<RenderedValue, Undefined> {
        Ok(match self {
            ValueTemplate::Plain(v) => RenderedValue { value: v.clone(), shown: v.clone() },
            ValueTemplate::Text(t) => match t.sole_var() {
                Some(name) => {
                    let var = vars.get(name).ok_or_else(|| Undefined(name.to_owned()))?;
                    let shown = if var.secret { Value::String(MASK.to_owned()) } else { var.value.clone() };
                    RenderedValue { value: var.value.clone(), shown }
                }
                None => {
                    let r = t.render(vars)?;
                    RenderedValue { value: Value::String(r.value), shown: Value::String(r.shown) }
                }
            },
            ValueTemplate::Array(items) => {
                let (mut value, mut shown) = (Vec::with_capacity(items.len()), Vec::with_capacity(items.len()));
                for item in items {
                    let r = item.render(vars)?;
                    value.push(r.value);
                    shown.push(r.shown);
                }
                RenderedValue { value: Value::Array(value), shown: Value::Array(shown) }
            }
            ValueTemplate::Object(fields) => {
                let (mut value, mut shown) = (serde_json::Map::new(), serde_json::Map::new());
                for (k, v) in fields {
                    let key = k.render(vars)?;
                    let r = v.render(vars)?;
                    value.insert(key.value, r.value);
                    shown.insert(key.shown, r.shown);
                }
                RenderedValue { value: Value::Object(value), shown: Value::Object(shown) }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars() -> Vars {
        let mut v = Vars::new();
        v.insert("runas", json!("svc"), false);
        v.insert("user_id", json!(7), false);
        v.insert("token", json!("t0k3n"), true);
        v
    }

    #[test]
    fn a_path_variable_is_one_encoded_segment() {
        let mut v = vars();
        for (name, value) in
            [("hash", "x#y"), ("slash", "a/b?c=d"), ("pct", "50%"), ("dots", ".."), ("dot", "."), ("none", "")]
        {
            v.insert(name, json!(value), false);
        }
        let path = |text: &str| t(text).render_path(&v);
        assert_eq!(path("Users/{{ hash }}/end").map(|r| r.value), Ok("Users/x%23y/end".into()));
        assert_eq!(path("Users/{{ slash }}/end").map(|r| r.value), Ok("Users/a%2Fb%3Fc=d/end".into()));
        assert_eq!(path("Users/{{ pct }}").map(|r| r.value), Ok("Users/50%25".into()));
        assert_eq!(path("Users/x{{ dots }}").map(|r| r.value), Ok("Users/x..".into()), "`..` inside a segment is text");
        assert_eq!(path("Users/{{ token }}").map(|r| r.shown), Ok(format!("Users/{MASK}")));
        for bad in ["Users/{{ dots }}/end", "Users/{{ dot }}", "Users/{{ none }}/x", "{{ dot }}{{ dot }}/x"] {
            assert!(matches!(path(bad), Err(PathError::Segment { .. })), "{bad}: {:?}", path(bad));
        }
        assert!(matches!(path("Users/{{ nope }}"), Err(PathError::Undefined(_))));
        // After a literal `?`, a value cannot add a parameter.
        assert_eq!(path("Users?q={{ slash }}&x={{ none }}").map(|r| r.value), Ok("Users?q=a%2Fb%3Fc%3Dd&x=".into()));
    }

    fn t(s: &str) -> Template {
        Template::parse(s).expect("a valid template")
    }

    #[test]
    fn renders_strings_and_numbers() {
        let r = t("runas={{runas}}; id={{ user_id }}").render(&vars()).expect("renders");
        assert_eq!(r.value, "runas=svc; id=7");
        assert!(!r.secret);
    }

    #[test]
    fn secrets_are_masked_in_the_shown_form_only() {
        let r = t("Bearer {{ token }}").render(&vars()).expect("renders");
        assert_eq!((r.value.as_str(), r.shown.as_str(), r.secret), ("Bearer t0k3n", "Bearer [REDACTED]", true));
        let v = ValueTemplate::compile(&json!({"t": "{{ token }}", "n": "{{ user_id }}"})).expect("compiles");
        let r = v.render(&vars()).expect("renders");
        assert_eq!(r.value, json!({"t": "t0k3n", "n": 7}));
        assert_eq!(r.shown, json!({"t": MASK, "n": 7}));
    }

    #[test]
    fn undefined_variable_is_an_error() {
        assert_eq!(t("{{ nope }}").render(&vars()), Err(Undefined("nope".into())));
    }

    #[test]
    fn sole_template_keeps_the_json_type() {
        let v = ValueTemplate::compile(&json!({"id": "{{ user_id }}", "s": "id {{ user_id }}"})).expect("compiles");
        assert_eq!(v.render(&vars()).map(|r| r.value), Ok(json!({"id": 7, "s": "id 7"})));
    }

    #[test]
    fn malformed_templates_are_errors_everywhere() {
        assert_eq!(t("ok {{ a }}").names().collect::<Vec<_>>(), vec!["a"]);
        assert_eq!(Template::parse("{{ user id }}").map_err(|e| e.offset), Err(0));
        assert_eq!(Template::parse("x {{ open").map_err(|e| e.offset), Err(2));
        assert!(ValueTemplate::compile(&json!({"a": ["{{ unterminated"]})).is_err());
        assert!(ValueTemplate::compile(&json!({"{{ 1x }}": 1})).is_err());
        assert!(Template::parse("}} alone is text").is_ok());
    }

    #[test]
    fn literal_text_is_told_apart() {
        assert!(!t("{{ a }}").has_literal_text());
        assert!(!t(" {{ a }} ").has_literal_text());
        assert!(t("pw-{{ a }}").has_literal_text());
        assert_eq!(t("plain").as_literal().as_deref(), Some("plain"));
        assert_eq!(t("{{ a }}").as_literal(), None);
    }
}

/// Templates as properties (issue #8): parsing never panics, rendering matches a plain
/// reference, a secret never shows, and a lone variable keeps its JSON type.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::arbitrary::{self, json};

    /// Literal text: anything without `{{`, and not ending in `{` (which would open the next
    /// variable's braces early).
    fn literal() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z0-9 {}.:/=&?%-]{1,10}", "\\PC{1,6}"]
            .prop_filter("literal text", |t| !t.contains("{{") && !t.ends_with('{'))
    }

    fn name() -> impl Strategy<Value = String> {
        "[A-Za-z_][A-Za-z0-9_]{0,8}"
    }

    /// A template's parts: literal text or a variable name, with how `{{ name }}` is spaced.
    #[derive(Debug, Clone)]
    enum Piece {
        Text(String),
        Var(String, &'static str, &'static str),
    }

    fn pieces() -> impl Strategy<Value = Vec<Piece>> {
        let piece = prop_oneof![
            literal().prop_map(Piece::Text),
            (name(), prop::sample::select(vec!["", " ", "  "]), prop::sample::select(vec!["", " ", "\t"]))
                .prop_map(|(n, l, r)| Piece::Var(n, l, r)),
        ];
        prop::collection::vec(piece, 0..6).prop_filter("no two texts in a row", |ps| {
            ps.windows(2).all(|w| !matches!(w, [Piece::Text(_), Piece::Text(_)]))
        })
    }

    fn source(pieces: &[Piece]) -> String {
        pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Var(n, l, r) => format!("{{{{{l}{n}{r}}}}}"),
            })
            .collect()
    }

    /// A secret value: upper case with a digit, so neither literal text (lower case), the
    /// mask nor a plain value can hold it.
    fn secret() -> impl Strategy<Value = String> {
        "[A-Z]{3,6}[0-9][A-Z0-9]{3,8}"
    }

    /// A plain value: lower-case text, a number, a boolean, null, or a small array.
    fn plain() -> impl Strategy<Value = Value> {
        prop_oneof![
            "[a-z0-9 ]{0,8}".prop_map(Value::String),
            any::<i32>().prop_map(Value::from),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
            prop::collection::vec("[a-z]{0,3}", 0..3).prop_map(|v| json!(v)),
        ]
    }

    /// Values for the names a template uses: each one secret or plain.
    fn vars_for(pieces: &[Piece]) -> impl Strategy<Value = Vars> + use<> {
        let names: Vec<String> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Var(n, ..) => Some(n.clone()),
                Piece::Text(_) => None,
            })
            .collect();
        let values = prop::collection::vec(
            prop_oneof![secret().prop_map(|s| (Value::String(s), true)), plain().prop_map(|v| (v, false))],
            names.len(),
        );
        values.prop_map(move |values| {
            let mut vars = Vars::new();
            for (n, (v, secret)) in names.iter().zip(values) {
                vars.insert(n.clone(), v, secret);
            }
            vars
        })
    }

    /// What rendering means, written out plainly.
    fn reference(pieces: &[Piece], vars: &Vars) -> (String, String) {
        let (mut value, mut shown) = (String::new(), String::new());
        for p in pieces {
            match p {
                Piece::Text(t) => {
                    value.push_str(t);
                    shown.push_str(t);
                }
                Piece::Var(n, ..) => {
                    let var = vars.get(n).expect("every name has a value");
                    let text = match &var.value {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    value.push_str(&text);
                    shown.push_str(if var.secret { MASK } else { &text });
                }
            }
        }
        (value, shown)
    }

    proptest! {
        #![proptest_config(arbitrary::config(256))]

        #[test]
        fn parsing_never_panics(text in prop_oneof![
            any::<String>(),
            prop::collection::vec(prop_oneof![Just("{{"), Just("}}"), Just("{"), Just("}"), Just(" "), Just("a"), Just("1"), Just("é")], 0..12)
                .prop_map(|p| p.concat()),
        ]) {
            if let Err(e) = Template::parse(&text) {
                prop_assert!(e.offset < text.len() && text[e.offset..].starts_with("{{"), "{e}");
            }
        }

        #[test]
        fn rendering_matches_the_reference(
            (pieces, vars) in pieces().prop_flat_map(|ps| { let vars = vars_for(&ps); (Just(ps), vars) })
        ) {
            let text = source(&pieces);
            let t = Template::parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
            let names: Vec<&str> = pieces.iter().filter_map(|p| match p { Piece::Var(n, ..) => Some(n.as_str()), Piece::Text(_) => None }).collect();
            prop_assert_eq!(t.names().collect::<Vec<_>>(), names);
            let r = t.render(&vars).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (value, shown) = reference(&pieces, &vars);
            prop_assert_eq!(&r.value, &value);
            prop_assert_eq!(&r.shown, &shown);
            let secrets: Vec<&str> = vars.iter().filter(|(_, v)| v.secret).filter_map(|(_, v)| v.value.as_str()).collect();
            prop_assert_eq!(r.secret, pieces.iter().any(|p| matches!(p, Piece::Var(n, ..) if vars.get(n).is_some_and(|v| v.secret))));
            for s in secrets {
                prop_assert!(!r.shown.contains(s), "{s} shows in {:?}", r.shown);
            }
        }

        #[test]
        fn a_lone_variable_keeps_its_json_type(
            value in json(),
            secret in any::<bool>(),
            spacing in prop::sample::select(vec!["{{x}}", "{{ x }}", "{{  x\t}}"]),
        ) {
            let mut vars = Vars::new();
            vars.insert("x", value.clone(), secret);
            let shown = if secret { Value::String(MASK.to_owned()) } else { value.clone() };
            let t = ValueTemplate::compile(&json!({"a": [spacing, {"b": spacing}], "c": 1})).expect("compiles");
            let r = t.render(&vars).expect("renders");
            prop_assert_eq!(r.value, json!({"a": [value.clone(), {"b": value}], "c": 1}));
            prop_assert_eq!(r.shown, json!({"a": [shown.clone(), {"b": shown}], "c": 1}));
        }

        #[test]
        fn a_value_without_templates_renders_as_itself(value in json()) {
            let text = value.to_string();
            prop_assume!(!text.contains("{{"));
            let r = ValueTemplate::compile(&value).expect("no template, nothing to refuse").render(&Vars::new());
            prop_assert_eq!(r.map(|r| (r.value, r.shown)), Ok((value.clone(), value)));
        }
    }
}
