//! The sealing point: everything psconform writes (the terminal, logs at any verbosity, JUnit,
//! the JSON and HTML reports, contracts, the record set, drift reports, `list`, `coverage`,
//! `validate` diagnostics, panic messages) is made of values that passed through here first.
//!
//! A [`Redactor`] uses the secret layer (`crate::secret`: stores, encodings, field policy) on
//! typed values before any serializer runs, so what a serializer adds (XML or JSON escapes, URL
//! encoding) cannot carry a secret past it. [`Redacted`] marks a value fit to write; only a
//! redactor makes one, and every reporter takes one, so the compiler sees the promise.
//!
//! This module imports nothing above the secret layer: each type that reaches an output walks
//! itself ([`Redact`]), beside its definition (`result`, `shape`, `case::diagnostic`, the report
//! types), importing this module downward. A value is sealed once, where it is made: a case's
//! result when the case ends, a contract when it is observed.

use serde::Serialize;
use serde_json::Value;

use crate::secret::{FieldPolicy, MASK, SecretStore, store};

/// A value that passed the sealing point. Only a [`Redactor`] makes one, and every reporter
/// takes one, so nothing is written that was not redacted.
#[derive(Debug, Clone)]
pub struct Redacted<T>(T);

impl<T> Redacted<T> {
    /// The redacted value.
    pub fn get(&self) -> &T {
        &self.0
    }

    /// The redacted value, owned.
    pub fn into_inner(self) -> T {
        self.0
    }

    /// Puts a new part into a sealed value (a case's final outcome). The part is sealed on its
    /// way in, so the value stays fit to write without being walked again.
    pub fn amend<P: Redact>(&mut self, r: &Redactor, mut part: P, put: impl FnOnce(&mut T, P)) {
        part.redact(r);
        put(&mut self.0, part);
    }
}

impl<T: Serialize> Serialize for Redacted<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// A response body as it may be shown: the one decision every place that shows a body (a
/// failure's note, a preview, a text check, the `-vv` log) reads.
#[derive(Debug, Clone, PartialEq)]
pub enum ShownBody {
    /// There is none.
    Empty,
    /// The whole body is a credential: shown as the mask.
    Credential,
    /// Strict JSON, credential fields masked by position and secrets by value.
    Json(Value),
    /// Text: a body that is almost JSON with its credential positions masked (see
    /// `crate::secret::lenient`), or a body that neither is nor looks like JSON from an
    /// endpoint that answers no credential; secrets masked by value. Not cut yet.
    Text(String),
    /// A body that may hold a credential and could not be read for where: nothing of it is
    /// shown.
    Unreadable,
}

impl ShownBody {
    /// What is said in place of a body that is not shown.
    pub const UNREADABLE: &'static str =
        "(not shown: the body is not JSON and could not be read for where its credentials are)";
}

/// Something the sealing point knows how to walk: every string, every JSON value (keys
/// included), every name a server chose.
pub trait Redact {
    /// Masks every secret in place.
    fn redact(&mut self, r: &Redactor);
}

/// Redacts with the run's configured secrets and, during a case, the secrets that case
/// learned. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    stores: Vec<SecretStore>,
}

impl Redactor {
    /// A redactor over these stores (the run's, then a case's).
    pub fn new(stores: Vec<SecretStore>) -> Redactor {
        Redactor { stores }
    }

    /// A redactor that also knows `store`.
    pub fn with(&self, store: SecretStore) -> Redactor {
        let mut stores = self.stores.clone();
        stores.push(store);
        Redactor { stores }
    }

    /// Whether one of the stores already matches this value.
    pub fn knows(&self, secret: &str) -> bool {
        self.stores.iter().any(|s| s.contains(secret))
    }

    /// Masks every secret in a text, by value. Fails closed: a store that cannot be read
    /// masks the whole text.
    pub fn text(&self, text: &str) -> String {
        let mut ranges = Vec::new();
        for s in &self.stores {
            if s.find(text, &mut ranges).is_err() {
                return MASK.to_owned();
            }
        }
        store::mask_ranges(text, ranges, MASK)
    }

    /// Masks a text in place.
    pub fn text_mut(&self, text: &mut String) {
        let out = self.text(text);
        if out != *text {
            *text = out;
        }
    }

    /// Masks every secret in a JSON value: object keys and strings by value, and the values
    /// of credential fields by position.
    pub fn value(&self, value: &mut Value, fields: &FieldPolicy) {
        fields.mask(value);
        self.value_by_value(value);
    }

    fn value_by_value(&self, value: &mut Value) {
        match value {
            Value::String(s) => self.text_mut(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.value_by_value(v)),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (k, mut v) in old {
                    self.value_by_value(&mut v);
                    map.insert(self.text(&k), v);
                }
            }
            _ => {}
        }
    }

    /// What of a body (`json`: its strict parse) may be shown: an answer's with `status`, or
    /// a request's (`None`), to an endpoint whose credential fields `fields` says. A body that
    /// serde rejects is never shown as it came when the endpoint can answer a credential or
    /// the body looks like JSON: it is read leniently, masked by position, then by value;
    /// where that fails, nothing of it is shown. A form body has its credential fields masked.
    pub fn body(
        &self,
        body: &[u8],
        json: Result<&Value, &str>,
        status: Option<u16>,
        fields: &FieldPolicy,
    ) -> ShownBody {
        if body.is_empty() {
            return ShownBody::Empty;
        }
        if status.is_some_and(|s| fields.bare_body(s)) {
            return ShownBody::Credential;
        }
        if let Ok(v) = json {
            let mut v = v.clone();
            self.value(&mut v, fields);
            return ShownBody::Json(v);
        }
        if fields.reads_leniently(body) {
            return match fields.lenient(body, status.unwrap_or(0)) {
                Some(read) => ShownBody::Text(self.text(&read.masked)),
                None => ShownBody::Unreadable,
            };
        }
        let text = String::from_utf8_lossy(body);
        match fields.mask_form(&text) {
            Some(form) => ShownBody::Text(self.text(&form)),
            None => ShownBody::Text(self.text(&text)),
        }
    }

    /// Seals a value: redacts it and marks it fit to write.
    pub fn seal<T: Redact>(&self, mut value: T) -> Redacted<T> {
        value.redact(self);
        Redacted(value)
    }
}

impl Redact for String {
    fn redact(&mut self, r: &Redactor) {
        r.text_mut(self);
    }
}

impl Redact for Value {
    fn redact(&mut self, r: &Redactor) {
        r.value(self, &FieldPolicy::default());
    }
}

impl<T: Redact> Redact for Vec<T> {
    fn redact(&mut self, r: &Redactor) {
        self.iter_mut().for_each(|v| v.redact(r));
    }
}

impl<T: Redact> Redact for Option<T> {
    fn redact(&mut self, r: &Redactor) {
        if let Some(v) = self {
            v.redact(r);
        }
    }
}

impl Redact for std::collections::BTreeSet<String> {
    fn redact(&mut self, r: &Redactor) {
        *self = std::mem::take(self).into_iter().map(|s| r.text(&s)).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Origin;
    use serde_json::json;

    #[test]
    fn a_body_is_shown_masked_by_position_or_not_at_all() {
        let r = Redactor::default();
        let secrets = FieldPolicy::documented(["Text".to_owned()], [], true);
        let credential = FieldPolicy::documented([], [200], false);
        let plain = FieldPolicy::floor(false);
        let shown = |body: &[u8], status: u16, fields: &FieldPolicy| {
            let json = serde_json::from_slice::<Value>(body);
            r.body(body, json.as_ref().map_err(|_| "not JSON"), Some(status), fields)
        };
        assert_eq!(shown(b"\"p@ss\"", 200, &credential), ShownBody::Credential);
        assert_eq!(
            shown(b"\"User not authenticated\"", 401, &credential),
            ShownBody::Json(json!("User not authenticated"))
        );
        let bom = b"\xef\xbb\xbf[{\"Password\": \"pw-canary-1\", \"Title\": \"t\"}]";
        assert_eq!(shown(bom, 200, &secrets), ShownBody::Text(r#"[{"Password": "[REDACTED]", "Title": "t"}]"#.into()));
        assert_eq!(shown(b"[{\"Text\": \"x\"}}", 200, &secrets), ShownBody::Unreadable, "brackets that do not match");
        assert_eq!(shown(b"<html>error</html>", 500, &secrets), ShownBody::Unreadable, "not JSON-shaped, may hold one");
        assert_eq!(shown(b"<html>error</html>", 500, &plain), ShownBody::Text("<html>error</html>".into()));
        assert_eq!(shown(b"a=1&password=x", 200, &plain), ShownBody::Text(format!("a=1&password={MASK}")));
    }

    #[test]
    fn keys_and_values_are_redacted_by_value() {
        let store = SecretStore::new();
        store.add("key-0123456789abcdef-canary", Origin::Configured);
        let r = Redactor::new(vec![store]);
        let mut v = json!({"key-0123456789abcdef-canary": "x", "y": "pre key-0123456789abcdef-canary post"});
        r.value(&mut v, &FieldPolicy::default());
        assert_eq!(v, json!({MASK: "x", "y": "pre [REDACTED] post"}));
    }
}
