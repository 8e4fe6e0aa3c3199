//! Type expressions of the documented models: `integer | null`, `string(date-time)`,
//! `[Owner]`, `{integer}`, `Secrets.Owner`. Parsed once when the catalog loads; a model
//! reference is resolved later, against every model of the catalog.

use std::fmt;

use crate::shape::StringFormat;

/// One alternative of a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// A string, with a format hint.
    String(Option<StringFormat>),
    /// `true` or `false`.
    Boolean,
    /// `null`.
    Null,
    /// Any object (the page gives no fields).
    Object,
    /// Any JSON value (the page says nothing).
    Any,
    /// A model, by name: `Owner` (this file's) or `secrets.Owner` (another file's, by its name).
    Model(ModelRef),
    /// An array of this.
    Array(Box<Term>),
    /// An object whose keys are data, each value this.
    Map(Box<Term>),
}

/// A reference to a model: its area (`None`: the area of the file that names it) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModelRef {
    /// The area slug (`secrets`), when the reference names another file's model.
    pub area: Option<String>,
    /// The model's name.
    pub name: String,
}

impl fmt::Display for ModelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.area {
            Some(a) => write!(f, "{a}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A type: one or more alternatives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeExpr(pub Vec<Term>);

impl TypeExpr {
    /// Whether `null` is one of the alternatives.
    pub fn nullable(&self) -> bool {
        self.0.contains(&Term::Null)
    }

    /// Every model this type names, at any depth.
    pub fn models(&self) -> Vec<&ModelRef> {
        fn walk<'a>(t: &'a Term, out: &mut Vec<&'a ModelRef>) {
            match t {
                Term::Model(m) => out.push(m),
                Term::Array(inner) | Term::Map(inner) => walk(inner, out),
                _ => {}
            }
        }
        let mut out = Vec::new();
        for t in &self.0 {
            walk(t, &mut out);
        }
        out
    }

    /// Parses a type expression.
    pub fn parse(text: &str) -> Result<TypeExpr, String> {
        let mut terms = Vec::new();
        for part in split_top(text, '|')? {
            let term = Term::parse(part.trim())?;
            if terms.contains(&term) {
                return Err(format!("`{}` is written twice", part.trim()));
            }
            terms.push(term);
        }
        Ok(TypeExpr(terms))
    }
}

impl fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{t}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Integer => f.write_str("integer"),
            Term::Number => f.write_str("number"),
            Term::String(None) => f.write_str("string"),
            Term::String(Some(fmt)) => write!(f, "string({})", fmt.name()),
            Term::Boolean => f.write_str("boolean"),
            Term::Null => f.write_str("null"),
            Term::Object => f.write_str("object"),
            Term::Any => f.write_str("any"),
            Term::Model(m) => write!(f, "{m}"),
            Term::Array(inner) => write!(f, "[{inner}]"),
            Term::Map(inner) => write!(f, "{{{inner}}}"),
        }
    }
}

/// The words a page uses for a type, and what they are in JSON.
const ALIASES: &[(&str, Term)] = &[
    ("integer", Term::Integer),
    ("int", Term::Integer),
    ("short", Term::Integer),
    ("long", Term::Integer),
    ("number", Term::Number),
    ("decimal", Term::Number),
    ("double", Term::Number),
    ("boolean", Term::Boolean),
    ("bool", Term::Boolean),
    ("null", Term::Null),
    ("object", Term::Object),
    ("any", Term::Any),
];

impl Term {
    fn parse(text: &str) -> Result<Term, String> {
        if text.is_empty() {
            return Err("an empty alternative (two `|` in a row, or one at an end)".into());
        }
        if let Some(inner) = text.strip_prefix('[') {
            let inner = inner.strip_suffix(']').ok_or_else(|| format!("`{text}`: `[` without its `]`"))?;
            return Ok(Term::Array(Box::new(Term::parse(inner.trim())?)));
        }
        if let Some(inner) = text.strip_prefix('{') {
            let inner = inner.strip_suffix('}').ok_or_else(|| format!("`{text}`: `{{` without its `}}`"))?;
            return Ok(Term::Map(Box::new(Term::parse(inner.trim())?)));
        }
        if let Some(rest) = text.strip_prefix("string") {
            let rest = rest.trim();
            if rest.is_empty() {
                return Ok(Term::String(None));
            }
            let name = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("`{text}`: a format is written `string(date-time)`"))?
                .trim();
            return match StringFormat::parse(name).filter(|f| *f != StringFormat::Plain) {
                Some(f) => Ok(Term::String(Some(f))),
                None => Err(format!("`{name}` is not a string format (date-time, guid, email)")),
            };
        }
        if let Some((_, t)) = ALIASES.iter().find(|(w, _)| *w == text) {
            return Ok(t.clone());
        }
        if text == "guid" {
            return Ok(Term::String(Some(StringFormat::Guid)));
        }
        if text == "datetime" || text == "date-time" || text == "date" {
            return Ok(Term::String(Some(StringFormat::DateTime)));
        }
        let (area, name) = match text.split_once('.') {
            Some((a, n)) => (Some(a.to_owned()), n),
            None => (None, text),
        };
        let is_name = |s: &str| {
            s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        if !is_name(name) || area.as_deref().is_some_and(|a| !is_name(a)) {
            return Err(format!(
                "`{text}` is not a type: write integer, number, string, string(format), boolean, null, object, any, a model name, [T] or {{T}}"
            ));
        }
        if name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            return Err(format!("`{text}` is not a type; a model's name starts with a capital letter"));
        }
        Ok(Term::Model(ModelRef { area, name: name.to_owned() }))
    }
}

/// Splits at `sep` outside brackets.
fn split_top(text: &str, sep: char) -> Result<Vec<&str>, String> {
    let mut depth = 0i32;
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '[' | '{' | '(' => depth += 1,
            ']' | '}' | ')' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
        if depth < 0 {
            return Err(format!("`{text}`: a closing bracket without its opening one"));
        }
    }
    if depth != 0 {
        return Err(format!("`{text}`: a bracket is not closed"));
    }
    parts.push(&text[start..]);
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_and_prints_it_back() {
        for text in [
            "integer",
            "integer | null",
            "string(date-time) | null",
            "[Owner]",
            "{integer}",
            "Secrets.Owner | null",
            "[[string]]",
            "object | any",
        ] {
            let t = TypeExpr::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(t.to_string(), text);
        }
        assert_eq!(TypeExpr::parse("int|bool").map(|t| t.to_string()), Ok("integer | boolean".into()));
        assert_eq!(TypeExpr::parse("guid").map(|t| t.to_string()), Ok("string(guid)".into()));
        assert!(TypeExpr::parse("short | null").is_ok_and(|t| t.nullable()));
    }

    #[test]
    fn refuses_what_is_not_a_type() {
        for bad in ["", "integer |", "[Owner", "string(colour)", "owner", "int | int", "a b", "{x]"] {
            assert!(TypeExpr::parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn lists_the_models_it_names() {
        let t = TypeExpr::parse("[Owner] | {Other.Thing} | null").expect("parses");
        let names: Vec<String> = t.models().iter().map(|m| m.to_string()).collect();
        assert_eq!(names, ["Owner", "Other.Thing"]);
    }
}
