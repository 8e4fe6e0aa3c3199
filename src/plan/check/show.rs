//! What an outcome may show of a response: credential fields masked by position, secrets
//! redacted by value with what the case knows so far, and only then long strings cut and long
//! lists counted, so a preview can never end inside a secret.

use serde_json::Value;

use super::Eval;
use crate::seal::ShownBody;
use crate::secret::{MASK, cut};

/// Characters of a string shown before it is cut.
pub const MAX_SHOWN_CHARS: usize = 1024;
/// Array elements and object members shown before the rest are counted.
const MAX_SHOWN_ITEMS: usize = 20;
/// Nesting shown before deeper values are elided.
const MAX_SHOWN_DEPTH: usize = 8;

impl Eval<'_> {
    /// The body as it may be shown ([`crate::seal::Redactor::body`]), decided once per
    /// response.
    fn shown(&self) -> &ShownBody {
        self.shown
            .get_or_init(|| self.redactor.body(&self.resp.body, self.resp.json(), Some(self.resp.status), self.fields))
    }

    /// Why the body is not JSON, with its start as shown (masked before it is cut), or why
    /// nothing of it is shown.
    pub(super) fn not_json(&self, why: &str) -> String {
        match self.shown() {
            ShownBody::Text(text) => format!("{why}; it starts with {:?}", cut(&one_line(text), 80)),
            ShownBody::Unreadable => format!("{why}; {}", ShownBody::UNREADABLE),
            _ => why.to_owned(),
        }
    }

    /// A value fit to show: credential fields masked by position, secrets by value, long
    /// strings cut and long lists counted (in that order).
    pub fn show(&self, value: &Value) -> Value {
        let mut v = value.clone();
        self.redactor.value(&mut v, self.fields);
        bound(&v, 0)
    }

    /// A value at a JSONPath, fit to show; masked whole when the path names a credential.
    pub(super) fn show_at(&self, path: &str, value: &Value) -> Value {
        if self.fields.is_sensitive_path(path, self.resp.status) && !value.is_null() {
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
    pub(super) fn show_body(&self) -> Value {
        match self.shown() {
            ShownBody::Empty => Value::String(String::new()),
            ShownBody::Credential => Value::String(MASK.into()),
            ShownBody::Json(v) => bound(v, 0),
            ShownBody::Text(text) => Value::String(cut(&one_line(text), MAX_SHOWN_CHARS)),
            ShownBody::Unreadable => Value::String(ShownBody::UNREADABLE.into()),
        }
    }

    /// The body as text, fit to show: what a text check saw.
    pub(super) fn show_body_text(&self) -> Value {
        match self.show_body() {
            Value::String(s) => Value::String(s),
            json => Value::String(cut(&json.to_string(), MAX_SHOWN_CHARS)),
        }
    }
}

/// A text on one line, for a preview.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

pub(super) fn bound(v: &Value, depth: usize) -> Value {
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

/// A JSON value on one line.
pub fn compact(v: &Value) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shown_values_are_bounded() {
        let many = Value::Array((0..100).map(|i| json!(i)).collect());
        assert_eq!(bound(&many, 0).as_array().map(Vec::len), Some(21));
    }
}
